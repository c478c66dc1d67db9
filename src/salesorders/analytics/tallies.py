"""Counts and sums per period, group, currency and rate (tallies), and the report built from them.

Every store reduces the orders of a query to the same tallies — the memory store in Python,
the SQL stores with ``GROUP BY`` — and :func:`build_report` turns them into the
:class:`~salesorders.analytics.measures.Report`, so the arithmetic of money, averages and rates
is written once.

Money in a reporting currency: orders are summed per currency and conversion (the rate frozen
on them, or the host's rate for their currency); each sum is converted exactly, the converted
sums are added, and the result is rounded once to the reporting currency's minor unit (half
up). An order in the reporting currency converts at 1.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Final

import attrs
from moneyed import Money

from salesorders.analytics.facts import (
    BACKORDERED,
    CANCELLED,
    CORRECTED,
    ON_TIME,
    PROMISED,
    RETURNED,
)
from salesorders.analytics.measures import Report, ReportQuery, ReportRow
from salesorders.domain.money import currency_exponent
from salesorders.errors import ExchangeRateUnavailableError

__all__ = [
    "FLAG_ORDER",
    "CustomerTally",
    "Tally",
    "TallyKey",
    "build_report",
    "money_of",
    "next_period",
    "period_start",
    "periods",
    "ratio",
]

#: The flags counted by a tally, in the order of :attr:`Tally.counts`.
FLAG_ORDER: Final = (CANCELLED, BACKORDERED, RETURNED, CORRECTED, PROMISED, ON_TIME)
_RATE_PLACES: Final = Decimal("0.0001")
_WIDE: Final = decimal.Context(prec=80, rounding=ROUND_HALF_EVEN)

#: (period, group, currency, frozen rate base, frozen rate)
TallyKey = tuple[dt.date, str | None, str, str | None, Decimal | None]


@attrs.frozen(slots=True)
class Tally:
    """The orders of one key: how many, their value (minor units) and how many have each flag
    of :data:`FLAG_ORDER`."""

    key: TallyKey
    orders: int
    value: int
    counts: tuple[int, int, int, int, int, int]


@attrs.frozen(slots=True)
class CustomerTally:
    """Per period and group: customers who ordered, and those who ordered twice or more."""

    period: dt.date
    group: str | None
    customers: int
    repeat_customers: int


def period_start(at: dt.datetime, period: str) -> dt.date:
    """The first day (UTC) of the ``period`` holding the instant ``at``."""
    day = at.astimezone(dt.UTC).date()
    if period == "month":
        return day.replace(day=1)
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    return day


def next_period(day: dt.date, period: str) -> dt.date:
    """The first day of the period after the one starting on ``day``."""
    if period == "month":
        return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return day + dt.timedelta(days=7 if period == "week" else 1)


def periods(
    start: dt.datetime, end: dt.datetime, period: str
) -> list[tuple[dt.date, dt.datetime, dt.datetime]]:
    """Each period meeting ``[start, end)``: its first day, and the part of the window it
    covers (from, to) as UTC instants."""
    found: list[tuple[dt.date, dt.datetime, dt.datetime]] = []
    day = period_start(start, period)
    while True:
        lower = dt.datetime.combine(day, dt.time(), dt.UTC)
        if lower >= end:
            return found
        following = next_period(day, period)
        upper = dt.datetime.combine(following, dt.time(), dt.UTC)
        found.append((day, max(lower, start), min(upper, end)))
        day = following


def ratio(part: int, whole: int) -> Decimal | None:
    """``part / whole`` to four places (half even); ``None`` when ``whole`` is 0."""
    if whole == 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(_RATE_PLACES, ROUND_HALF_EVEN)


def money_of(minor: int | Decimal, currency: str) -> Money:
    """A sum of minor units as ``Money``."""
    return Money(Decimal(minor).scaleb(-currency_exponent(currency)), currency)


def _rounded(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-currency_exponent(currency)), ROUND_HALF_UP)


def _converted(tally: Tally, query: ReportQuery, table: Mapping[str, Decimal]) -> Decimal:
    """The tally's value in the reporting currency, exact (unrounded)."""
    target = query.reporting_currency
    assert target is not None
    _, _, currency, base, rate = tally.key
    amount = Decimal(tally.value).scaleb(-currency_exponent(currency))
    if currency == target:
        return amount
    if query.rates:
        if currency not in table:
            raise ExchangeRateUnavailableError(currency, target)
        return _WIDE.multiply(amount, table[currency])
    if base == target and rate is not None:
        return _WIDE.divide(amount, rate)
    raise ExchangeRateUnavailableError(currency, target)


def build_report(
    query: ReportQuery, tallies: Iterable[Tally], customers: Iterable[CustomerTally]
) -> Report:
    """The report of ``query`` from the tallies of its orders (in any order)."""
    rows: dict[tuple[dt.date, str | None], list[Tally]] = {}
    for tally in sorted(tallies, key=_sort_key):
        rows.setdefault((tally.key[0], tally.key[1]), []).append(tally)
    people = {(c.period, c.group): c for c in customers}
    table = query.rate_table
    built = []
    for (period, group), parts in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        built.append(_row(query, period, group, parts, people.get((period, group)), table))
    return Report(query, tuple(built))


def _sort_key(tally: Tally) -> tuple[dt.date, str, str, str, Decimal]:
    period, group, currency, base, rate = tally.key
    return (period, group or "", currency, base or "", rate or Decimal(0))


def _row(
    query: ReportQuery,
    period: dt.date,
    group: str | None,
    parts: list[Tally],
    people: CustomerTally | None,
    table: Mapping[str, Decimal],
) -> ReportRow:
    orders = sum(t.orders for t in parts)
    counts = [sum(t.counts[i] for t in parts) for i in range(len(FLAG_ORDER))]
    cancelled, backordered, returned, corrected, promised, on_time = counts
    per_currency: dict[str, tuple[int, int]] = {}
    for t in parts:
        count, total = per_currency.get(t.key[2], (0, 0))
        per_currency[t.key[2]] = (count + t.orders, total + t.value)
    values = tuple(money_of(v, c) for c, (_, v) in sorted(per_currency.items()))
    averages = tuple(
        Money(_rounded(Decimal(v).scaleb(-currency_exponent(c)) / n, c), c)
        for c, (n, v) in sorted(per_currency.items())
    )
    value: Money | None = None
    average: Money | None = None
    target = query.reporting_currency
    if target is not None:
        exact = sum((_converted(t, query, table) for t in parts), Decimal(0))
        value = Money(_rounded(exact, target), target)
        average = Money(_rounded(_WIDE.divide(exact, Decimal(orders)), target), target)
    buyers = people.customers if people else 0
    repeat = people.repeat_customers if people else 0
    return ReportRow(
        period=period,
        group=group,
        orders=orders,
        values=values,
        average_values=averages,
        value=value,
        average_value=average,
        cancelled=cancelled,
        backordered=backordered,
        returned=returned,
        corrected=corrected,
        delivered_with_promise=promised,
        on_time=on_time,
        customers=buyers,
        repeat_customers=repeat,
        cancellation_rate=ratio(cancelled, orders),
        backorder_rate=ratio(backordered, orders),
        return_rate=ratio(returned, orders),
        error_rate=ratio(corrected, orders),
        on_time_rate=ratio(on_time, promised),
        repeat_purchase_rate=ratio(repeat, buyers),
    )
