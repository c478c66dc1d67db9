"""Logistics figures: the domain's definitions, the service's queries on every store, what a save
costs in statements, and the backfill of orders stored before schema version 6.

The listings themselves are proven equal to the domain's reference answers on every store by
the contract suite (``salesorders.testing.contracts.LogisticsContract``).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from salesorders.adapters._sql.dialect import SQLiteDialect
from salesorders.adapters._sql.schema import MIGRATIONS, render_migration
from salesorders.adapters.sqlite import SQLiteStore
from salesorders.domain.fulfilment import Shipment, ShipmentStatus, ShippedLine, TrackingEvent
from salesorders.domain.logistics import (
    LateShipment,
    LeadTime,
    OpenShipment,
    is_open,
    late_shipment,
    lead_time,
    open_shipments_of,
)
from salesorders.domain.logistics_queries import (
    LeadTimeQuery,
    ShipmentQuery,
    select_lead_times,
    select_open_shipments,
)
from salesorders.domain.order import Order
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import ValidationError
from salesorders.serialization import Serializer
from salesorders.service import (
    DeliverOrder,
    ManualClock,
    ReceiveStock,
    RecordShipmentEvent,
    RegisterWarehouse,
    SalesService,
    ShipOrder,
    bootstrap,
)
from salesorders.testing.contracts import sample_order
from support.stores import STORE_KINDS, fresh_store
from test_service_support import line, new_order

T0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
S = ShipmentStatus


def _confirmed(order_id: str = "O-1", quantity: int = 2) -> Order:
    order = sample_order(order_id, at=T0, lines=(("SKU-A", quantity, "10.00"),))
    order.place(f"SO-{order_id}", T0)
    order.confirm(T0 + H)
    return order


def _shipment(order: Order, number: int, at: dt.datetime, quantity: int = 1) -> Shipment:
    shipment = Shipment(
        f"{order.id}-S{number}",
        "W1",
        (ShippedLine("L1", "SKU-A", Decimal(quantity)),),
        at,
        promised_date=T0.date(),
    )
    order.add_shipment(shipment)
    return shipment


def _tracked(order: Order, shipment_id: str, *reports: tuple[ShipmentStatus, int]) -> Shipment:
    for status, hours in reports:
        order.track(shipment_id, TrackingEvent(status, T0 + hours * H))
    return order.shipment(shipment_id)


# --------------------------------------------------------------------------- the definitions


@pytest.mark.parametrize(
    ("reports", "expected"),
    [
        ((), True),
        (((S.IN_TRANSIT, 3), (S.OUT_FOR_DELIVERY, 4)), True),
        (((S.FAILED_ATTEMPT, 3),), True),
        (((S.EXCEPTION, 3),), True),
        (((S.DELIVERED, 5),), False),
        (((S.DELIVERED, 5), (S.RETURNED_TO_SENDER, 9)), False),
        (((S.RETURNED_TO_SENDER, 5),), False),
        (((S.RETURNED_TO_SENDER, 5), (S.IN_TRANSIT, 9)), True),  # taken on again
        # reported out of order: in transit at 9, then delivered at 5; the delivery closes it
        (((S.IN_TRANSIT, 9), (S.DELIVERED, 5)), False),
    ],
)
def test_a_shipment_is_open_until_delivered_or_returned(
    reports: tuple[tuple[ShipmentStatus, int], ...], expected: bool
) -> None:
    order = _confirmed()
    _shipment(order, 1, T0 + 2 * H)
    shipment = _tracked(order, "O-1-S1", *reports)
    assert is_open(shipment) is expected
    assert len(open_shipments_of(order)) == int(expected)


def test_a_shipment_is_late_from_the_day_after_its_promise() -> None:
    order = _confirmed()
    shipment = OpenShipment.of(order.id, order.number, _shipment(order, 1, T0 + 2 * H))
    day = T0.date()
    assert late_shipment(shipment, day) is None
    assert late_shipment(shipment, day + dt.timedelta(days=1)) == LateShipment(
        shipment, day + dt.timedelta(days=1), 1
    )
    assert late_shipment(shipment, day + dt.timedelta(days=9)).days_late == 9  # type: ignore[union-attr]
    unpromised = attrs.evolve(shipment, promised_date=None)
    assert late_shipment(unpromised, day + dt.timedelta(days=9)) is None


def test_lead_times_follow_placement_confirmation_shipments_and_delivery() -> None:
    draft = sample_order("O-9")
    assert lead_time(draft) is None
    order = _confirmed(quantity=3)
    assert lead_time(order) == LeadTime("O-1", "SO-O-1", T0, T0 + H)
    _shipment(order, 1, T0 + 2 * H, quantity=2)
    assert lead_time(order) == LeadTime("O-1", "SO-O-1", T0, T0 + H, T0 + 2 * H)
    _shipment(order, 2, T0 + 5 * H)
    _tracked(order, "O-1-S2", (S.DELIVERED, 20))
    _tracked(order, "O-1-S1", (S.DELIVERED, 30))
    lead = lead_time(order)
    assert lead == LeadTime("O-1", "SO-O-1", T0, T0 + H, T0 + 2 * H, T0 + 5 * H, T0 + 30 * H)
    assert (lead.placed_to_confirmed, lead.placed_to_shipped) == (H, 5 * H)
    assert (lead.shipped_to_delivered, lead.placed_to_delivered) == (25 * H, 30 * H)
    assert order.state == "delivered"


def test_a_shipment_returned_after_delivery_undoes_the_delivery_of_the_order() -> None:
    order = _confirmed(quantity=1)
    _shipment(order, 1, T0 + 2 * H)
    _tracked(order, "O-1-S1", (S.DELIVERED, 10), (S.RETURNED_TO_SENDER, 40))
    lead = lead_time(order)
    assert lead is not None
    assert (lead.last_shipped_at, lead.delivered_at) == (T0 + 2 * H, None)
    assert lead.shipped_to_delivered is None


# --------------------------------------------------------------------------- the service


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def service(store: Any, clock: ManualClock) -> SalesService:
    built = bootstrap(store=store, clock=clock, sleep=lambda _seconds: None)
    built.handle(RegisterWarehouse(warehouse=Warehouse("W1", priority=1)))
    built.handle(RegisterWarehouse(warehouse=Warehouse("W2", priority=2)))
    built.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=3, reason="PO-1"))
    built.handle(ReceiveStock(sku="SKU-A", warehouse_id="W2", quantity=10, reason="PO-2"))
    return built


def _promise(store: Any, order_id: str, day: dt.date) -> None:
    with store.unit_of_work() as uow:
        order = uow.orders.get(order_id)
        order.promise(day)
        uow.orders.save(order)
        uow.commit()


def test_the_service_answers_the_logistics_queries(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    order_id = service.handle(new_order(line("SKU-A", 5), confirm=True)).order_id
    _promise(store, order_id, dt.date(2026, 6, 2))
    clock.advance(2 * H)
    service.handle(ShipOrder(order_id=order_id, carrier="swift", tracking_number=None))
    s1, s2 = f"{order_id}-S1", f"{order_id}-S2"
    page = service.open_shipments()
    assert [(s.shipment_id, s.warehouse_id, s.carrier) for s in page.items] == [
        (s1, "W1", "swift"),
        (s2, "W2", "swift"),
    ]
    assert service.open_shipments(warehouse_id="W2").items == (page.items[1],)
    assert service.late_shipments().items == ()  # June 1: promised for June 2
    clock.set(dt.datetime(2026, 6, 3, 12, 0, tzinfo=dt.UTC))
    service.handle(RecordShipmentEvent(order_id=order_id, shipment_id=s1, status="delivered"))
    late = service.late_shipments()
    assert [(x.shipment.shipment_id, x.on, x.days_late) for x in late.items] == [
        (s2, dt.date(2026, 6, 3), 1)
    ]
    assert service.late_shipments(dt.date(2026, 6, 2)).items == ()
    first = service.open_shipments(limit=1)
    assert len(first.items) == 1 and first.next_cursor is None
    clock.advance(H)
    service.handle(DeliverOrder(order_id=order_id))
    assert service.open_shipments().items == ()
    (lead,) = service.lead_times(placed_from=T0, placed_to=T0 + H).items
    assert lead.order_id == order_id
    assert (lead.placed_at, lead.confirmed_at, lead.first_shipped_at) == (T0, T0, T0 + 2 * H)
    assert lead.placed_to_delivered == dt.datetime(2026, 6, 3, 13, 0, tzinfo=dt.UTC) - T0
    assert service.lead_times(placed_from=T0 + H).items == ()


@pytest.mark.parametrize(
    ("field", "ask"),
    [
        ("limit", lambda service: service.open_shipments(limit=0)),
        ("carrier", lambda service: service.open_shipments(carrier=7)),
        ("warehouse_id", lambda service: service.late_shipments(warehouse_id="")),
        ("on", lambda service: service.late_shipments(T0)),
        ("after", lambda service: service.lead_times(after="no-such-cursor")),
        ("placed_from", lambda service: service.lead_times(placed_from="2026-06-01")),
        ("placed_to", lambda service: service.lead_times(placed_from=T0, placed_to=T0 - H)),
    ],
)
def test_the_service_refuses_bad_queries_naming_the_field(
    service: SalesService, field: str, ask: Any
) -> None:
    with pytest.raises(ValidationError) as caught:
        ask(service)
    assert caught.value.field == field


# --------------------------------------------------------------------------- statements


@pytest.fixture(params=STORE_KINDS[1:])
def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


def test_a_save_writes_shipment_rows_only_when_shipments_changed(sql_store: Any) -> None:
    store = sql_store
    order = _confirmed()
    _shipment(order, 1, T0 + 2 * H)

    def statements(work: Any) -> int:
        before = store.statements
        with store.unit_of_work() as uow:
            work(uow)
            uow.commit()
        return int(store.statements - before)

    assert statements(lambda uow: uow.orders.add(order)) == 3  # the order, its shipment, its lines

    def save(change: Any) -> Any:
        def work(uow: Any) -> None:
            stored = uow.orders.get("O-1")
            change(stored)
            uow.orders.save(stored)

        return work

    assert statements(save(lambda o: o.hold(T0 + 3 * H))) == 2  # read, update
    assert statements(save(lambda o: o.resume(T0 + 4 * H))) == 2
    assert statements(save(lambda o: _tracked(o, "O-1-S1", (S.IN_TRANSIT, 5)))) == 3
    with store.unit_of_work() as uow:
        (shipment,) = uow.orders.open_shipments(ShipmentQuery()).items
    assert shipment.status is S.IN_TRANSIT


# --------------------------------------------------------------------------- the backfill


def test_sqlite_backfills_every_order_stored_before_version_6_batch_by_batch(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v5.db"
    dialect = SQLiteDialect()
    serializer = Serializer()
    orders = []
    for n in range(1203):
        order = _confirmed(f"O-{n:05d}", quantity=1)
        if n % 3:
            _shipment(order, 1, T0 + (n % 7) * H)
        if n % 3 == 2:
            _tracked(order, f"O-{n:05d}-S1", (S.DELIVERED, 30))
        order.pull_events()
        orders.append(order)
    with sqlite3.connect(path) as raw:
        for migration in MIGRATIONS[:5]:
            for statement in render_migration(dialect, migration):
                raw.execute(statement)
        raw.executemany(
            "INSERT INTO orders (id, number, customer_id, state, currency, created_at, "
            "placed_at, version, doc) VALUES (?, ?, 'C-1', ?, 'USD', ?, ?, 1, ?)",
            [
                (
                    o.id,
                    o.number,
                    o.state,
                    dialect.time(T0),
                    dialect.time(T0),
                    json.dumps(serializer.dump(o)),
                )
                for o in orders
            ],
        )
    raw.close()
    with SQLiteStore(path) as store, store.unit_of_work() as uow:
        query = ShipmentQuery(limit=10_000)
        assert len(uow.orders.open_shipments(query).items) == 401
        assert uow.orders.open_shipments(query) == select_open_shipments(orders, query)
        leads = LeadTimeQuery(limit=10_000)
        assert uow.orders.lead_times(leads) == select_lead_times(orders, leads)
        delivered = [x for x in uow.orders.lead_times(leads).items if x.delivered_at is not None]
        assert len(delivered) == 401
