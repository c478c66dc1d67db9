"""The reference answers: every measure computed in plain Python over orders held in memory.

This module is the definition each store's answer must equal (the memory store answers with it;
the SQL stores are checked against it by a property test). Orders count in the period of their
placement (UTC); drafts never count.

Percentiles are **nearest rank**: of ``n`` durations sorted ascending, the p-th percentile is
the one at rank ``ceil(p * n / 100)`` (1-based), so it is always a duration that happened.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

from salesorders.analytics.facts import (
    QUANTITY_PLACES,
    OrderFacts,
    from_scaled,
    line_facts,
    order_facts,
)
from salesorders.analytics.measures import (
    PERCENTILES,
    STAGES,
    Bottleneck,
    BottleneckQuery,
    BottleneckReport,
    LeadTimeReport,
    Report,
    ReportQuery,
    StagePercentiles,
    StockTurnover,
    TopCustomer,
    TopSku,
    TurnoverQuery,
)
from salesorders.analytics.tallies import (
    FLAG_ORDER,
    CustomerTally,
    Tally,
    build_report,
    money_of,
    period_start,
)
from salesorders.domain.logistics import lead_time
from salesorders.domain.order import Order
from salesorders.domain.stock import LedgerEntry, Movement

__all__ = [
    "ReferenceAnalytics",
    "bottleneck_report",
    "micros",
    "nearest_rank",
    "plain",
    "seconds",
    "turnover_of",
]

_MICRO: Final = dt.timedelta(microseconds=1)
_TURNOVER_PLACES: Final = Decimal("0.0001")
_DAY_PLACES: Final = Decimal("0.01")


def micros(start: dt.datetime, end: dt.datetime) -> int:
    """Whole microseconds from ``start`` to ``end``."""
    return (end - start) // _MICRO


def seconds(microseconds: int) -> Decimal:
    return Decimal(microseconds).scaleb(-6)


def nearest_rank(ordered: Sequence[int], percentile: int) -> int:
    """The ``percentile`` of the ascending ``ordered`` values, by nearest rank."""
    rank = max(1, (percentile * len(ordered) + 99) // 100)
    return ordered[rank - 1]


def _stages(order: Order) -> dict[str, int]:
    """The durations (microseconds) of the stages ``order`` passed."""
    lead = lead_time(order)
    found: dict[str, int] = {}
    if lead is None:
        return found
    if lead.confirmed_at is not None:
        found["placed_to_confirmed"] = micros(lead.placed_at, lead.confirmed_at)
        if lead.last_shipped_at is not None:
            found["confirmed_to_shipped"] = micros(lead.confirmed_at, lead.last_shipped_at)
    if lead.last_shipped_at is not None and lead.delivered_at is not None:
        found["shipped_to_delivered"] = micros(lead.last_shipped_at, lead.delivered_at)
    return found


def _shipment_stages(order: Order, by: str) -> Iterable[tuple[str, str, int]]:
    """(key, stage, microseconds) of each shipment of ``order``: the order's confirmation,
    from confirmation to this shipment leaving, and from leaving to its delivery."""
    lead = lead_time(order)
    if lead is None:
        return
    for shipment in order.shipments:
        key = shipment.warehouse_id if by == "warehouse" else shipment.carrier
        if lead.confirmed_at is not None:
            yield key, "placed_to_confirmed", micros(lead.placed_at, lead.confirmed_at)
            yield key, "confirmed_to_shipped", micros(lead.confirmed_at, shipment.shipped_at)
        delivered = shipment.delivered_at
        if delivered is not None:
            yield key, "shipped_to_delivered", micros(shipment.shipped_at, delivered)


def bottleneck_report(
    query: BottleneckQuery,
    before: Mapping[tuple[str, str], tuple[int, int]],
    after: Mapping[tuple[str, str], tuple[int, int]],
) -> BottleneckReport:
    """The report from the median (microseconds) and count of each (key, stage) in each
    period; only pairs measured in both periods are compared."""
    rows = []
    for key_stage in before.keys() & after.keys():
        (median_before, count_before), (median_after, count_after) = (
            before[key_stage],
            after[key_stage],
        )
        rows.append(
            Bottleneck(
                key_stage[0],
                key_stage[1],
                seconds(median_before),
                seconds(median_after),
                seconds(median_after - median_before),
                count_before,
                count_after,
            )
        )
    rows.sort(key=lambda b: (-b.growth, b.key, STAGES.index(b.stage)))
    return BottleneckReport(query, tuple(rows))


def plain(number: Decimal) -> Decimal:
    """``number`` without trailing zeros after its point (``30.000`` is ``30``)."""
    if number == number.to_integral_value():
        return number.quantize(Decimal(1))
    return number.normalize()


def turnover_of(
    sku: str,
    warehouse_id: str,
    opening: Decimal,
    closing: Decimal,
    shipped: Decimal,
    query: TurnoverQuery,
) -> StockTurnover:
    """One item's turnover and days of cover from its three figures."""
    average = (opening + closing) / 2
    turnover = None if average <= 0 else (shipped / average).quantize(_TURNOVER_PLACES)
    days = Decimal((query.end - query.start) // _MICRO).scaleb(-6) / 86400
    cover = None
    if shipped > 0:
        cover = (closing * days / shipped).quantize(_DAY_PLACES, ROUND_HALF_EVEN)
    return StockTurnover(
        sku, warehouse_id, plain(opening), plain(closing), plain(shipped), turnover, cover
    )


class ReferenceAnalytics:
    """Every measure over ``orders`` (and the stock ``ledger``), in plain Python."""

    def __init__(
        self, orders: Iterable[Order], ledger: Callable[[], Sequence[LedgerEntry]] = tuple
    ) -> None:
        self._orders = orders
        self._ledger = ledger

    def _placed(self, start: dt.datetime, end: dt.datetime) -> list[tuple[Order, OrderFacts]]:
        found = []
        for order in self._orders:
            facts = order_facts(order)
            if facts is not None and start <= facts.placed_at < end:
                found.append((order, facts))
        return found

    def report(self, query: ReportQuery) -> Report:
        sums: dict[tuple[object, ...], list[int]] = defaultdict(lambda: [0] * 8)
        buyers: dict[tuple[dt.date, str | None], Counter[str]] = defaultdict(Counter)
        for order, facts in self._placed(query.start, query.end):
            period = period_start(facts.placed_at, query.period)
            for group, value in _groups(order, facts, query.group_by):
                key = (period, group, facts.currency, facts.rate_base, facts.rate)
                tally = sums[key]
                tally[0] += 1
                tally[1] += value
                for i, flag in enumerate(FLAG_ORDER):
                    tally[2 + i] += 1 if facts.flags & flag else 0
                buyers[(period, group)][facts.customer_id] += 1
        tallies = [
            Tally(key, t[0], t[1], (t[2], t[3], t[4], t[5], t[6], t[7]))  # type: ignore[arg-type]
            for key, t in sums.items()
        ]
        customers = [
            CustomerTally(p, g, len(c), sum(1 for n in c.values() if n >= 2))
            for (p, g), c in buyers.items()
        ]
        return build_report(query, tallies, customers)

    def lead_time_percentiles(self, query: ReportQuery) -> LeadTimeReport:
        samples: dict[tuple[dt.date, str], list[int]] = defaultdict(list)
        for order, facts in self._placed(query.start, query.end):
            period = period_start(facts.placed_at, query.period)
            for stage, duration in _stages(order).items():
                samples[(period, stage)].append(duration)
        periods = sorted({period for period, _ in samples})
        rows = []
        for period in periods:
            for stage in STAGES:
                ordered = sorted(samples.get((period, stage), ()))
                marks = [
                    seconds(nearest_rank(ordered, p)) if ordered else None for p in PERCENTILES
                ]
                rows.append(StagePercentiles(period, stage, len(ordered), *marks))
        return LeadTimeReport(query, tuple(rows))

    def top_skus(self, query: ReportQuery) -> tuple[TopSku, ...]:
        quantity: Counter[str] = Counter()
        orders: Counter[str] = Counter()
        values: dict[str, Counter[str]] = defaultdict(Counter)
        for order, facts in self._placed(query.start, query.end):
            for sku in {line.sku for line in order.lines}:
                orders[sku] += 1
            for line in line_facts(order):
                quantity[line.sku] += line.quantity
                values[line.sku][facts.currency] += line.net
        ranked = sorted(orders, key=lambda s: (-quantity[s], s))[: query.limit]
        return tuple(
            TopSku(
                sku,
                from_scaled(quantity[sku], QUANTITY_PLACES),
                orders[sku],
                tuple(money_of(v, c) for c, v in sorted(values[sku].items())),
            )
            for sku in ranked
        )

    def top_customers(self, query: ReportQuery) -> tuple[TopCustomer, ...]:
        orders: Counter[str] = Counter()
        values: dict[str, Counter[str]] = defaultdict(Counter)
        for _, facts in self._placed(query.start, query.end):
            orders[facts.customer_id] += 1
            values[facts.customer_id][facts.currency] += facts.grand_total
        ranked = sorted(orders, key=lambda c: (-orders[c], c))[: query.limit]
        return tuple(
            TopCustomer(c, orders[c], tuple(money_of(v, k) for k, v in sorted(values[c].items())))
            for c in ranked
        )

    def bottlenecks(self, query: BottleneckQuery) -> BottleneckReport:
        periods = (
            (query.before_start, query.before_end),
            (query.after_start, query.after_end),
        )
        found: list[dict[tuple[str, str], tuple[int, int]]] = []
        for start, end in periods:
            durations: dict[tuple[str, str], list[int]] = defaultdict(list)
            for order, _ in self._placed(start, end):
                for key, stage, duration in _shipment_stages(order, query.by):
                    durations[(key, stage)].append(duration)
            found.append({k: (nearest_rank(sorted(v), 50), len(v)) for k, v in durations.items()})
        return bottleneck_report(query, found[0], found[1])

    def stock_turnover(self, query: TurnoverQuery) -> tuple[StockTurnover, ...]:
        figures: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
        for entry in self._ledger():
            if entry.at >= query.end or (query.sku is not None and entry.sku != query.sku):
                continue
            item = figures[(entry.sku, entry.warehouse_id)]
            if entry.at < query.start:
                item[0] += entry.on_hand_delta
            item[1] += entry.on_hand_delta
            if entry.at >= query.start and entry.movement is Movement.SHIPMENT:
                item[2] -= entry.on_hand_delta
        return tuple(
            turnover_of(sku, warehouse, item[0], item[1], item[2], query)
            for (sku, warehouse), item in sorted(figures.items())
        )


def _groups(order: Order, facts: OrderFacts, group_by: str | None) -> list[tuple[str | None, int]]:
    """The groups ``order`` counts in, each with the value it brings there (minor units)."""
    if group_by is None:
        return [(None, facts.grand_total)]
    if group_by == "customer":
        return [(facts.customer_id, facts.grand_total)]
    if group_by == "customer_group":
        return [(facts.customer_group or "", facts.grand_total)]
    if group_by == "currency":
        return [(facts.currency, facts.grand_total)]
    if group_by == "warehouse":
        warehouses = sorted({s.warehouse_id for s in order.shipments}) or [""]
        return [(w, facts.grand_total) for w in warehouses]
    per_sku: Counter[str] = Counter()
    for line in line_facts(order):
        per_sku[line.sku] += line.net
    return sorted(per_sku.items())
