"""The questions analytics answers (queries, checked when built) and its answers (frozen values).

Every answer is a frozen attrs value of exact numbers: money as ``Money``, counts as ``int``,
rates as ``Decimal`` fractions (0 to 1, four places, ``None`` when nothing was counted) and
durations as ``Decimal`` seconds (exact to the microsecond). They dump to JSON with the
library's :class:`~salesorders.serialization.Serializer`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

import attrs
from moneyed import Money

from salesorders.domain.checks import aware_time, optional_id
from salesorders.domain.money import check_currency, to_decimal
from salesorders.errors import ValidationError

__all__ = [
    "GROUPS",
    "PERCENTILES",
    "PERIODS",
    "STAGES",
    "Bottleneck",
    "BottleneckQuery",
    "BottleneckReport",
    "LeadTimeReport",
    "Report",
    "ReportQuery",
    "ReportRow",
    "StagePercentiles",
    "StockTurnover",
    "TopCustomer",
    "TopSku",
    "TurnoverQuery",
]

#: How a report cuts time: UTC calendar days, ISO weeks (from Monday) or calendar months.
PERIODS: Final = ("day", "week", "month")
#: What a report may group its rows by (``None``: one row per period).
GROUPS: Final = ("customer", "customer_group", "sku", "warehouse", "currency")
#: The lead-time stages, in the order an order passes them.
STAGES: Final = ("placed_to_confirmed", "confirmed_to_shipped", "shipped_to_delivered")
#: The percentiles of a lead-time report (nearest rank).
PERCENTILES: Final = (50, 90, 99)
_MAX_TOP: Final = 1000
_MAX_SPAN: Final = dt.timedelta(days=3660)


def _aware(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    aware_time(value, attribute.name)


def _window(start: dt.datetime, end: dt.datetime, field: str = "end") -> None:
    if end <= start:
        raise ValidationError(field, end, "must be after start", "give an end later than start")
    if end - start > _MAX_SPAN:
        raise ValidationError(field, end, "must be at most ten years after start")


def _period(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in PERIODS:
        raise ValidationError(attribute.name, value, "is not a period", "use day, week or month")


def _group(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and value not in GROUPS:
        raise ValidationError(
            attribute.name, value, "is not a grouping", "use None or one of " + ", ".join(GROUPS)
        )


def _optional_currency(value: object) -> str | None:
    return None if value is None else check_currency(value, "reporting_currency")


def _rate_table(value: object) -> tuple[tuple[str, Decimal], ...]:
    """A host's rate table, ``{currency: rate}`` (one unit of currency is ``rate`` units of the
    reporting currency), as sorted pairs."""
    if value is None:
        return ()
    items: Any = value.items() if isinstance(value, Mapping) else value
    try:
        pairs = [(k, r) for k, r in items]
    except (TypeError, ValueError):
        raise ValidationError(
            "rates", value, "must map currency codes to rates", 'pass {"EUR": Decimal("1.08")}'
        ) from None
    table: dict[str, Decimal] = {}
    for code, rate in pairs:
        currency = check_currency(code, "rates")
        number = to_decimal(rate, f"rates.{currency}")
        if not number > 0:
            raise ValidationError(f"rates.{currency}", rate, "must be a positive rate")
        table[currency] = number
    return tuple(sorted(table.items()))


def _limit(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_TOP:
        raise ValidationError(attribute.name, value, f"must be an int from 1 to {_MAX_TOP}")


@attrs.frozen(slots=True)
class ReportQuery:
    """Orders placed from ``start`` (inclusive) to ``end`` (exclusive), cut by ``period`` and
    grouped by ``group_by``; values also in ``reporting_currency`` when given, converted with
    ``rates`` (``{currency: rate}``) when given, else with the rate frozen on each order.

    ``limit`` bounds the rows of :meth:`~salesorders.service.SalesService.top_skus` and
    :meth:`~salesorders.service.SalesService.top_customers`. A bad field raises
    :class:`~salesorders.errors.ValidationError` naming it, when the query is built.
    """

    start: dt.datetime = attrs.field(validator=_aware)
    end: dt.datetime = attrs.field(validator=_aware)
    period: str = attrs.field(default="month", validator=_period)
    group_by: str | None = attrs.field(default=None, validator=_group)
    reporting_currency: str | None = attrs.field(default=None, converter=_optional_currency)
    rates: tuple[tuple[str, Decimal], ...] = attrs.field(default=(), converter=_rate_table)
    limit: int = attrs.field(default=10, validator=_limit)

    def __attrs_post_init__(self) -> None:
        _window(self.start, self.end)
        if self.rates and self.reporting_currency is None:
            raise ValidationError(
                "reporting_currency", None, "is required with rates", "name the currency"
            )

    @property
    def rate_table(self) -> dict[str, Decimal]:
        return dict(self.rates)


@attrs.frozen(slots=True)
class ReportRow:
    """The figures of one period (and one group, when the report is grouped).

    ``period`` is the first day of the period; ``group`` the group's key (``""`` for orders
    without one, such as orders with no customer group). ``values`` and ``average_values`` hold
    one ``Money`` per order currency; ``value`` and ``average_value`` are in the reporting
    currency (``None`` without one). The Analytics guide defines each figure.
    """

    period: dt.date
    group: str | None
    orders: int
    values: tuple[Money, ...]
    average_values: tuple[Money, ...]
    value: Money | None
    average_value: Money | None
    cancelled: int
    backordered: int
    returned: int
    corrected: int
    delivered_with_promise: int
    on_time: int
    customers: int
    repeat_customers: int
    cancellation_rate: Decimal | None
    backorder_rate: Decimal | None
    return_rate: Decimal | None
    error_rate: Decimal | None
    on_time_rate: Decimal | None
    repeat_purchase_rate: Decimal | None


@attrs.frozen(slots=True)
class Report:
    """The rows of a :class:`ReportQuery`, by period then group."""

    query: ReportQuery
    rows: tuple[ReportRow, ...]


@attrs.frozen(slots=True)
class StagePercentiles:
    """One lead-time stage in one period: how many orders passed it and the p50, p90 and p99
    of how long it took them, in seconds (nearest rank); ``None`` when no order passed it."""

    period: dt.date
    stage: str
    count: int
    p50: Decimal | None
    p90: Decimal | None
    p99: Decimal | None


@attrs.frozen(slots=True)
class LeadTimeReport:
    """Lead-time percentiles per period and stage (periods in order, stages as :data:`STAGES`)."""

    query: ReportQuery
    rows: tuple[StagePercentiles, ...]


@attrs.frozen(slots=True)
class TopSku:
    """A SKU's sales: units ordered (net of cancellations), orders, and net value per currency."""

    sku: str
    quantity: Decimal
    orders: int
    values: tuple[Money, ...]


@attrs.frozen(slots=True)
class TopCustomer:
    """A customer's orders and their value per currency."""

    customer_id: str
    orders: int
    values: tuple[Money, ...]


def _by(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in ("warehouse", "carrier"):
        raise ValidationError(
            attribute.name, value, "is not a bottleneck key", "use warehouse or carrier"
        )


@attrs.frozen(slots=True)
class BottleneckQuery:
    """Compare orders placed in ``[before_start, before_end)`` with orders placed in
    ``[after_start, after_end)``, stage by stage, per warehouse or carrier (``by``)."""

    before_start: dt.datetime = attrs.field(validator=_aware)
    before_end: dt.datetime = attrs.field(validator=_aware)
    after_start: dt.datetime = attrs.field(validator=_aware)
    after_end: dt.datetime = attrs.field(validator=_aware)
    by: str = attrs.field(default="warehouse", validator=_by)

    def __attrs_post_init__(self) -> None:
        _window(self.before_start, self.before_end, "before_end")
        _window(self.after_start, self.after_end, "after_end")


@attrs.frozen(slots=True)
class Bottleneck:
    """One stage at one warehouse (or carrier): its median in each period (seconds, nearest
    rank), how many shipments each median is of, and how much it grew (negative: shrank)."""

    key: str
    stage: str
    before: Decimal
    after: Decimal
    growth: Decimal
    before_count: int
    after_count: int


@attrs.frozen(slots=True)
class BottleneckReport:
    """Every (key, stage) measured in both periods, the largest growth first."""

    query: BottleneckQuery
    rows: tuple[Bottleneck, ...]

    @property
    def worst(self) -> Bottleneck | None:
        """The stage that grew most, if any grew."""
        return self.rows[0] if self.rows and self.rows[0].growth > 0 else None


@attrs.frozen(slots=True)
class TurnoverQuery:
    """Stock movements from ``start`` (inclusive) to ``end`` (exclusive), per SKU and warehouse
    (only ``sku`` when given)."""

    start: dt.datetime = attrs.field(validator=_aware)
    end: dt.datetime = attrs.field(validator=_aware)
    sku: str | None = attrs.field(default=None, validator=lambda _i, a, v: optional_id(v, a.name))

    def __attrs_post_init__(self) -> None:
        _window(self.start, self.end)


@attrs.frozen(slots=True)
class StockTurnover:
    """One SKU in one warehouse over a :class:`TurnoverQuery`: on hand at the start and at the
    end, units shipped in between, the turnover (shipped ÷ average of start and end on hand)
    and the days of cover (end on hand ÷ shipped per day); ``None`` where a divisor is zero."""

    sku: str
    warehouse_id: str
    opening: Decimal
    closing: Decimal
    shipped: Decimal
    turnover: Decimal | None
    days_of_cover: Decimal | None
