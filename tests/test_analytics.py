"""Analytics through the service on every store: what each measure counts on a known set of
orders (returns, changes, cancellations, backorders, deliveries), listing orders by SKU, the
answers as JSON, the schema-9 backfill, and bad queries refused with the field named."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money

from salesorders.adapters.sqlite import SQLiteStore
from salesorders.analytics import (
    BottleneckQuery,
    ReferenceAnalytics,
    Report,
    ReportQuery,
    TurnoverQuery,
    analytics_of,
)
from salesorders.domain.changes import ChangeAction
from salesorders.domain.order import Order
from salesorders.errors import ExchangeRateUnavailableError, ValidationError
from salesorders.ports import OrderQuery
from salesorders.serialization import Serializer
from salesorders.service import (
    AllocateBackorders,
    ApproveChange,
    CancelChange,
    CancelOrder,
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RequestChange,
    RequestReturn,
    ReturnItem,
    SalesService,
)
from salesorders.testing.fakes import FakePaymentGateway
from support.returns import DAY, T0, delivered_order, returns_service
from support.stores import STORE_KINDS, fresh_store

START = T0.replace(day=1, hour=0)
END = START + dt.timedelta(days=31)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


def _line(sku: str, quantity: int, price: str = "10.00") -> LineSpec:
    return LineSpec(sku, quantity, Money(price, "USD"))


def _place(service: SalesService, *lines: LineSpec, customer: str = "C-1") -> str:
    placed = service.handle(
        PlaceOrder(customer_id=customer, currency="USD", lines=lines, confirm=True)
    )
    return str(placed.order_id)


@pytest.fixture
def known(store: Any) -> tuple[SalesService, dict[str, str]]:
    """Five orders in March: two delivered and returned (wrong item; defective), one changed
    after placement, one cancelled, and one of customer C-2 backordered (150 of 100 in stock)."""
    clock = ManualClock(T0)
    service = returns_service(store, clock, FakePaymentGateway())
    ids = {
        "wrong": delivered_order(service, clock, (_line("SKU-A", 2),)),
        "defective": delivered_order(service, clock, (_line("SKU-B", 1, "30.00"),)),
    }
    for name, reason in (("wrong", "wrong_item"), ("defective", "defective")):
        service.handle(RequestReturn(order_id=ids[name], lines=(ReturnItem("L1", 1, reason),)))
    ids["changed"] = _place(service, _line("SKU-A", 1), _line("SKU-C", 3, "5.00"))
    service.handle(
        RequestChange(
            order_id=ids["changed"],
            actions=(ChangeAction.set_quantity("L1", 2),),
            reason="customer called",
            actor="ann",
            change_id="C-1",
        )
    )
    ids["cancelled"] = _place(service, _line("SKU-C", 1, "7.50"))
    service.handle(CancelOrder(order_id=ids["cancelled"], reason="customer asked"))
    clock.advance(DAY)
    ids["backordered"] = _place(service, _line("SKU-A", 150, "1.00"), customer="C-2")
    return service, ids


def test_the_monthly_report_counts_every_measure_as_defined(known: Any) -> None:
    service, _ = known
    report = service.report(ReportQuery(START, END, reporting_currency="USD"))
    [row] = report.rows
    assert row.period == dt.date(2026, 3, 1) and row.group is None
    assert row.orders == 5
    # 20 + 30 + (10 + 15, the change still awaiting review) + 7.50 + 150
    assert row.values == (Money("232.50", "USD"),)
    assert row.value == Money("232.50", "USD")
    assert row.average_value == Money("46.50", "USD")
    assert (row.cancelled, row.backordered, row.returned, row.corrected) == (1, 1, 2, 2)
    assert row.cancellation_rate == Decimal("0.2000")
    assert row.return_rate == Decimal("0.4000")
    assert row.error_rate == Decimal("0.4000")  # the wrong item and the change, not the defect
    assert row.backorder_rate == Decimal("0.2000")
    assert (row.delivered_with_promise, row.on_time_rate) == (0, None)  # nothing was promised
    assert (row.customers, row.repeat_customers, row.repeat_purchase_rate) == (
        2,
        1,
        Decimal("0.5000"),
    )


def test_an_order_that_waited_for_stock_stays_backordered_once_served(known: Any) -> None:
    service, ids = known
    waiting = service.get_order(ids["backordered"])
    assert waiting.backordered_at is not None
    service.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=100, reason="PO-2"))
    service.handle(AllocateBackorders(sku="SKU-A"))
    served = service.get_order(ids["backordered"])
    assert all(line.backordered == 0 for line in served.lines)
    assert served.backordered_at == waiting.backordered_at
    [row] = service.report(ReportQuery(START, END)).rows
    assert (row.backordered, row.backorder_rate) == (1, Decimal("0.2000"))
    assert service.get_order(ids["wrong"]).backordered_at is None


def test_groups_split_the_rows_and_sku_groups_hold_the_lines_value(known: Any) -> None:
    service, _ = known
    by_customer = service.report(ReportQuery(START, END, group_by="customer"))
    assert [(r.group, r.orders) for r in by_customer.rows] == [("C-1", 4), ("C-2", 1)]
    by_sku = service.report(ReportQuery(START, END, "day", "sku"))
    assert [(r.period.day, r.group, r.orders, r.values) for r in by_sku.rows] == [
        (2, "SKU-A", 1, (Money("20.00", "USD"),)),
        (3, "SKU-B", 1, (Money("30.00", "USD"),)),
        (4, "SKU-A", 1, (Money("10.00", "USD"),)),  # the lines' net, not the order's total
        (4, "SKU-C", 2, (Money("22.50", "USD"),)),
        (5, "SKU-A", 1, (Money("150.00", "USD"),)),
    ]
    by_warehouse = service.report(ReportQuery(START, END, group_by="warehouse"))
    assert [(r.group, r.orders) for r in by_warehouse.rows] == [("", 3), ("W1", 2)]


def test_rankings_lead_times_turnover_and_bottlenecks(known: Any) -> None:
    service, _ = known
    query = ReportQuery(START, END, limit=2)
    assert [(s.sku, s.quantity, s.orders) for s in service.top_skus(query)] == [
        ("SKU-A", Decimal(153), 3),
        ("SKU-C", Decimal(4), 2),
    ]
    assert [(c.customer_id, c.orders) for c in service.top_customers(query)] == [
        ("C-1", 4),
        ("C-2", 1),
    ]
    lead = service.lead_time_percentiles(query)
    stages = {(r.stage, r.count, r.p50) for r in lead.rows}
    assert ("shipped_to_delivered", 2, Decimal(86400)) in stages  # delivered a day later
    assert ("placed_to_confirmed", 5, Decimal(0)) in stages
    turnover = service.stock_turnover(TurnoverQuery(START, END, sku="SKU-B"))
    assert [(t.warehouse_id, t.opening, t.closing, t.shipped) for t in turnover] == [
        ("W1", 0, 99, 1)
    ]
    assert turnover[0].turnover == Decimal("0.0202")  # 1 / ((0 + 99) / 2)
    assert turnover[0].days_of_cover == Decimal("3069.00")  # 99 / (1 / 31 days)
    report = service.bottlenecks(BottleneckQuery(START, T0, T0, END))
    assert report.rows == () and report.worst is None  # nothing shipped before T0


def test_orders_are_listed_by_sku(known: Any) -> None:
    service, ids = known
    listed = service.list_orders(OrderQuery(sku="SKU-C", with_total=True))
    assert sorted(o.id for o in listed.orders) == sorted([ids["changed"], ids["cancelled"]])
    assert listed.total == 2
    assert service.list_orders(OrderQuery(sku="SKU-Z")).orders == ()
    first = service.list_orders(OrderQuery(sku="SKU-A", limit=1, newest_first=True))
    assert [o.id for o in first.orders] == [ids["backordered"]]
    rest = service.list_orders(OrderQuery(sku="SKU-A", after=first.next_cursor, newest_first=True))
    assert [o.id for o in rest.orders] == [ids["changed"], ids["wrong"]]


def test_the_answers_are_json_through_the_serializer(known: Any) -> None:
    service, _ = known
    report = service.report(ReportQuery(START, END, reporting_currency="USD"))
    data = Serializer().dump(report)
    assert data["rows"][0]["value"] == {"amount": "232.50", "currency": "USD"}
    assert data["rows"][0]["error_rate"] == "0.4000"
    assert Serializer().load(data, Report) == report


def test_a_reporting_currency_without_a_rate_is_refused_naming_both(known: Any) -> None:
    service, _ = known
    with pytest.raises(ExchangeRateUnavailableError) as refused:
        service.report(ReportQuery(START, END, reporting_currency="EUR"))
    assert "USD" in str(refused.value) and "EUR" in str(refused.value)
    converted = service.report(
        ReportQuery(START, END, reporting_currency="EUR", rates={"USD": "0.5"})
    )
    assert converted.rows[0].value == Money("116.25", "EUR")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"end": START}, "end"),
        ({"end": START - DAY}, "end"),
        ({"start": dt.datetime(2026, 3, 1)}, "start"),
        ({"period": "year"}, "period"),
        ({"group_by": "region"}, "group_by"),
        ({"reporting_currency": "XXY"}, "reporting_currency"),
        ({"rates": {"EUR": "1.1"}}, "reporting_currency"),
        ({"reporting_currency": "USD", "rates": {"EUR": "-1"}}, "rates.EUR"),
        ({"reporting_currency": "USD", "rates": {"EUR": 1.1}}, "rates.EUR"),
        ({"reporting_currency": "USD", "rates": "EUR"}, "rates"),
        ({"limit": 0}, "limit"),
    ],
)
def test_a_bad_query_is_refused_naming_its_field(fields: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {"start": START, "end": END, **fields}
    with pytest.raises(ValidationError) as refused:
        ReportQuery(**arguments)
    assert refused.value.field == field


def test_bad_bottleneck_and_turnover_queries_name_their_field() -> None:
    with pytest.raises(ValidationError) as refused:
        BottleneckQuery(START, END, END, START)
    assert refused.value.field == "after_end"
    with pytest.raises(ValidationError) as refused:
        BottleneckQuery(START, T0, T0, END, by="region")
    assert refused.value.field == "by"
    with pytest.raises(ValidationError) as refused:
        TurnoverQuery(START, END, sku="")
    assert refused.value.field == "sku"


def test_the_service_refuses_a_query_of_the_wrong_kind(known: Any) -> None:
    service, _ = known
    with pytest.raises(ValidationError) as refused:
        service.report(TurnoverQuery(START, END))  # type: ignore[arg-type]
    assert refused.value.field == "query"


def test_an_upgraded_database_is_backfilled_with_its_facts(tmp_path: Path) -> None:
    from test_migrations import ORDER, SHIPPED, WAITING, _sqlite_at_version

    path = tmp_path / "v5.db"
    _sqlite_at_version(path, 5)  # upgraded through 6 (lead times) to 9 (analytics facts)
    query = ReportQuery(START - dt.timedelta(days=90), END + dt.timedelta(days=90), "day", "sku")
    reference = ReferenceAnalytics([ORDER, SHIPPED, WAITING])
    with SQLiteStore(path) as store, store.read() as uow:
        analytics = analytics_of(uow)
        assert analytics.report(query) == reference.report(query)
        assert analytics.report(query).rows  # the stored orders count
        assert analytics.lead_time_percentiles(query) == reference.lead_time_percentiles(query)
        assert analytics.top_skus(query) == reference.top_skus(query)
        with_a = [o.id for o in (ORDER, SHIPPED, WAITING) if any(x.sku == "SKU-A" for x in o.lines)]
        assert with_a and len(with_a) < 3
        assert [o.id for o in uow.orders.list(OrderQuery(sku="SKU-A")).orders] == with_a


def test_saves_keep_the_line_facts_current(known: Any, store: Any) -> None:
    """An approved change (a quantity up, a line removed) and a draft's removed line reach the
    SKU figures and the SKU listing of every store."""
    service, ids = known
    service.handle(CancelChange(order_id=ids["changed"], change_id="C-1", actor="ann"))
    service.handle(
        RequestChange(
            order_id=ids["changed"],
            actions=(ChangeAction.set_quantity("L1", 3), ChangeAction.remove_line("L2")),
            reason="customer called again",
            actor="ann",
            change_id="C-2",
        )
    )
    service.handle(
        ApproveChange(
            order_id=ids["changed"], change_id="C-2", actor="bob", on_shortage="backorder"
        )
    )
    query = ReportQuery(START, END)
    assert {s.sku: (s.quantity, s.orders) for s in service.top_skus(query)} == {
        "SKU-A": (Decimal(155), 3),  # 2 + 3 + 150
        "SKU-B": (Decimal(1), 1),
        "SKU-C": (Decimal(1), 1),  # the cancelled order's line; the changed order's is gone
    }
    assert [o.id for o in service.list_orders(OrderQuery(sku="SKU-C")).orders] == [ids["cancelled"]]
    draft = Order.create("D-1", "C-9", "USD", T0)
    draft.add_line("SKU-X", 1, Decimal("1.00"), T0)
    draft.add_line("SKU-Y", 1, Decimal("1.00"), T0)
    with store.unit_of_work() as uow:
        uow.orders.add(draft)
        uow.commit()
    assert [o.id for o in service.list_orders(OrderQuery(sku="SKU-Y")).orders] == ["D-1"]
    with store.unit_of_work() as uow:
        stored = uow.orders.get("D-1")
        stored.remove_line("L2", T0)
        uow.orders.save(stored)
        uow.commit()
    assert service.list_orders(OrderQuery(sku="SKU-Y")).orders == ()
    assert [o.id for o in service.list_orders(OrderQuery(sku="SKU-X")).orders] == ["D-1"]
