"""Retention figures over the customer records: how many customers of each tier bought again,
who is lapsing, and what the loyalty points still owed are worth.

:func:`retention_of` is the definition, over records and their orders; the service answers
:class:`RetentionQuery` with it on every store (``service.retention(query)``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

import attrs

from salesorders.domain.checks import aware_time
from salesorders.domain.customers import Customer
from salesorders.domain.loyalty import LoyaltyProgram
from salesorders.domain.order import Order
from salesorders.errors import ValidationError

__all__ = [
    "LapsingCustomer",
    "RetentionQuery",
    "RetentionReport",
    "TierRetention",
    "retention_of",
]


def _lapse(value: object) -> dt.timedelta:
    if not isinstance(value, dt.timedelta) or value <= dt.timedelta(0):
        raise ValidationError("lapse_after", value, "must be a positive timedelta", "e.g. 90 days")
    return value


def _at(value: object) -> dt.datetime:
    return aware_time(value, "at")


@attrs.frozen(slots=True)
class RetentionQuery:
    """Retention at ``at``: a customer who ordered before but not in the last ``lapse_after``
    is lapsing."""

    at: dt.datetime = attrs.field(converter=_at)
    lapse_after: dt.timedelta = attrs.field(default=dt.timedelta(days=90), converter=_lapse)


@attrs.frozen(slots=True)
class TierRetention:
    """One tier's customers (with a record), those who placed an order, those who placed two
    or more, and the repeat-purchase rate (repeat buyers over buyers; ``None`` without
    buyers)."""

    tier: str
    customers: int
    buyers: int
    repeat_buyers: int

    @property
    def repeat_rate(self) -> Decimal | None:
        if self.buyers == 0:
            return None
        return (Decimal(self.repeat_buyers) / self.buyers).quantize(Decimal("0.0001"))


@attrs.frozen(slots=True)
class LapsingCustomer:
    """A customer whose last order was placed ``days`` days before the query's time."""

    customer_id: str
    tier: str
    last_order_at: dt.datetime
    days: int


@attrs.frozen(slots=True)
class RetentionReport:
    """Retention per tier (by tier name), the lapsing customers (longest quiet first), and the
    loyalty points customers hold with what they are worth (``None`` without a program)."""

    at: dt.datetime
    tiers: tuple[TierRetention, ...]
    lapsing: tuple[LapsingCustomer, ...]
    points_outstanding: int
    points_liability: Decimal | None
    currency: str | None


def _placed(orders: Sequence[Order]) -> list[dt.datetime]:
    return sorted(o.placed_at for o in orders if o.placed_at is not None and o.state != "cancelled")


def retention_of(
    customers: Iterable[tuple[Customer, Sequence[Order]]],
    query: RetentionQuery,
    program: LoyaltyProgram | None,
) -> RetentionReport:
    """The report over ``customers``, each record with its orders. Anonymized customers count
    in their tier's figures but are not listed as lapsing."""
    counts: dict[str, list[int]] = {}
    lapsing: list[LapsingCustomer] = []
    held = 0
    for record, orders in customers:
        placed = [at for at in _placed(orders) if at <= query.at]
        tally = counts.setdefault(record.tier, [0, 0, 0])
        tally[0] += 1
        tally[1] += 1 if placed else 0
        tally[2] += 1 if len(placed) >= 2 else 0
        held += max(record.points_balance, 0)
        if placed and record.anonymized_at is None and query.at - placed[-1] > query.lapse_after:
            days = (query.at - placed[-1]).days
            lapsing.append(LapsingCustomer(record.id, record.tier, placed[-1], days))
    lapsing.sort(key=lambda c: (-c.days, c.customer_id))
    tiers = tuple(TierRetention(t, *counts[t]) for t in sorted(counts))
    worth = None if program is None else program.value_of(held)
    currency = None if program is None else program.currency
    return RetentionReport(query.at, tiers, tuple(lapsing), held, worth, currency)
