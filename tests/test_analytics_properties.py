"""The SQL stores' analytics equal the reference's on generated orders: every report (each
period and grouping, with and without a reporting currency), the lead-time percentiles, the top
SKUs and customers, the bottlenecks and the stock turnover — on SQLite always, on PostgreSQL
when SALESORDERS_TEST_POSTGRES_DSN is set."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesorders.adapters.memory import MemoryStore
from salesorders.analytics import (
    GROUPS,
    PERIODS,
    BottleneckQuery,
    ReferenceAnalytics,
    ReportQuery,
    TurnoverQuery,
    analytics_of,
)
from salesorders.domain.order import Order
from salesorders.domain.plan import Allocation, AllocationPlan, Backorder
from salesorders.domain.pricing import ExchangeRate
from salesorders.domain.stock import LedgerEntry, Movement, StockChange
from salesorders.errors import ExchangeRateUnavailableError
from salesorders.testing.order_strategies import _hours, _ship
from support.stores import fresh_store

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SKUS = ("SKU-A", "SKU-B", "SKU-C")
RATES = (Decimal("1.1"), Decimal("0.92"), Decimal("7.3"))


@st.composite
def analysed_orders(draw: st.DrawFn, number: int) -> tuple[Order, Order]:
    """An order of a few customers, groups and currencies (some with a rate frozen from EUR),
    at any step: draft, placed, confirmed (partly backordered), shipped and delivered,
    cancelled, or short-shipped (lines cancelled)."""
    oid = f"O-{number:04d}"
    currency = draw(st.sampled_from(["USD", "JPY", "EUR"]))
    created = _hours(draw, EPOCH, 24 * 70)
    order = Order.create(
        oid,
        draw(st.sampled_from(["C-1", "C-2", "C-3", "C-10"])),
        currency,
        created,
        customer_group=draw(st.sampled_from([None, "retail", "trade"])),
    )
    if currency != "EUR" and draw(st.booleans()):
        order.use_exchange_rate(
            ExchangeRate("EUR", currency, draw(st.sampled_from(RATES)), EPOCH), created
        )
    for _ in range(draw(st.integers(1, 3))):
        price = Decimal(draw(st.integers(1, 500))) * (1 if currency == "JPY" else Decimal("0.25"))
        order.add_line(draw(st.sampled_from(SKUS)), draw(st.integers(1, 4)), price, created)
    draft = copy.deepcopy(order)
    step = draw(
        st.sampled_from(["draft", "placed", "confirmed", "cancelled", "shipped", "shipped"])
    )
    if step == "draft":
        return draft, order
    order.place(f"SO-{oid}", _hours(draw, created, 30))
    if step == "placed":
        return draft, order
    if step == "cancelled":
        order.cancel(_hours(draw, order.updated_at, 30))
        return draft, order
    assert order.placed_at is not None
    plan = None
    if draw(st.booleans()):
        line = order.lines[0]
        short = Decimal(draw(st.integers(1, int(line.quantity))))
        plan = AllocationPlan(
            oid,
            tuple(
                Allocation(x.line_id, x.sku, "W1", x.quantity - (short if x is line else 0))
                for x in order.lines
                if x.quantity - (short if x is line else 0) > 0
            ),
            (Backorder(line.line_id, line.sku, short),),
        )
    order.confirm(_hours(draw, order.placed_at, 40), plan=plan)
    if step == "shipped":
        _ship(draw, order)
        shipped = order.shipped_quantities()
        rest = [x.line_id for x in order.lines if x.open_quantity > shipped.get(x.line_id, 0)]
        if order.state == "confirmed" and rest and draw(st.booleans()):
            order.cancel_lines(dict.fromkeys(rest), order.updated_at, reason="short")
    order.pull_events()
    return draft, order


def ledger_entries(draw: st.DrawFn) -> list[LedgerEntry]:
    entries = []
    for _ in range(draw(st.integers(0, 12))):
        movement = draw(st.sampled_from([Movement.RECEIPT, Movement.SHIPMENT, Movement.ADJUSTMENT]))
        quantity = Decimal(draw(st.integers(1, 5000))).scaleb(-draw(st.integers(0, 3)))
        delta = -quantity if movement is Movement.SHIPMENT else quantity
        entries.append(
            LedgerEntry(
                sequence=0,
                movement=movement,
                sku=draw(st.sampled_from(SKUS)),
                warehouse_id=draw(st.sampled_from(["W1", "W2"])),
                on_hand_delta=delta,
                reserved_delta=Decimal(0),
                at=_hours(draw, EPOCH, 24 * 70),
                reason="generated",
            )
        )
    return entries


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[tuple[Order, Order]], list[LedgerEntry]]:
    """Orders as first stored (drafts) and as last saved, and stock movements."""
    count = draw(st.integers(0, 14))
    return [draw(analysed_orders(n)) for n in range(count)], ledger_entries(draw)


STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as store:
        yield store


def _store_history(
    store: Any, orders: list[tuple[Order, Order]], ledger: list[LedgerEntry]
) -> None:
    with store.unit_of_work() as uow:
        uow.orders._session.run(uow.orders._d.render("DELETE FROM {p}order_lines"))
        uow.orders._session.run(uow.orders._d.render("DELETE FROM {p}shipments"))
        uow.orders._session.run(uow.orders._d.render("DELETE FROM {p}orders"))
        uow.orders._session.run(uow.orders._d.render("DELETE FROM {p}stock_ledger"))
        for draft, _ in orders:
            uow.orders.add(copy.deepcopy(draft))
        uow.commit()
    with store.unit_of_work() as uow:  # saved as a command would: read, then changed
        for _, order in orders:
            uow.orders.get(order.id)
            saved = copy.deepcopy(order)
            saved.version = 1
            uow.orders.save(saved)
        uow.commit()
    if ledger:
        with store.unit_of_work() as uow:
            uow.stock.apply(StockChange(ledger=tuple(ledger)))
            uow.commit()


def _queries() -> list[Any]:
    start, end = EPOCH, EPOCH + dt.timedelta(days=75)
    queries: list[Any] = [
        ReportQuery(start, end, period, group)
        for period, group in itertools.product(PERIODS, (None, *GROUPS))
    ]
    queries += [
        ReportQuery(start, end, "month", None, reporting_currency="EUR"),
        ReportQuery(
            start,
            end,
            "week",
            "currency",
            reporting_currency="USD",
            rates={"EUR": "1.08", "JPY": "0.0067"},
        ),
        ReportQuery(
            EPOCH + dt.timedelta(days=20), EPOCH + dt.timedelta(days=40), "day", "sku", limit=2
        ),
    ]
    odd_start, odd_end = (
        EPOCH + dt.timedelta(days=10, hours=5),
        EPOCH + dt.timedelta(days=60, hours=3),
    )
    queries += [ReportQuery(odd_start, odd_end, period, "customer_group") for period in PERIODS]
    return queries


def _answers(analytics: Any, queries: list[Any]) -> list[Any]:
    found: list[Any] = []
    for query in queries:
        try:
            found.append(analytics.report(query))
        except ExchangeRateUnavailableError as error:
            found.append(("no rate", str(error)))
        found.append(analytics.lead_time_percentiles(query))
        found.append(analytics.top_skus(query))
        found.append(analytics.top_customers(query))
    middle = EPOCH + dt.timedelta(days=35)
    for by in ("warehouse", "carrier"):
        found.append(
            analytics.bottlenecks(
                BottleneckQuery(EPOCH, middle, middle, middle + dt.timedelta(days=40), by)
            )
        )
    for sku in (None, "SKU-B"):
        found.append(
            analytics.stock_turnover(
                TurnoverQuery(EPOCH + dt.timedelta(days=10), EPOCH + dt.timedelta(days=50), sku)
            )
        )
    return found


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories())
def test_sql_analytics_equal_the_reference(sql_store: Any, history: Any) -> None:
    orders, ledger = history
    _store_history(sql_store, orders, ledger)
    queries = _queries()
    reference = ReferenceAnalytics([order for _, order in orders], lambda: ledger)
    with sql_store.read() as uow:
        stored = _answers(uow.orders.analytics, queries)
    assert stored == _answers(reference, queries)


@settings(max_examples=25)
@given(history=histories())
def test_the_memory_store_answers_as_the_reference(history: Any) -> None:
    orders, ledger = history
    store = MemoryStore()
    with store.unit_of_work() as uow:
        for _, order in orders:
            uow.orders.add(order)
        if ledger:
            uow.stock.apply(StockChange(ledger=tuple(ledger)))
        uow.commit()
    queries = _queries()
    with store.read() as uow:
        stored = _answers(analytics_of(uow), queries)
    final = [order for _, order in orders]
    assert stored == _answers(ReferenceAnalytics(final, lambda: ledger), queries)
