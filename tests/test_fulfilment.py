"""Fulfilment through commands alone, the same on the memory, SQLite and PostgreSQL stores:
shipping from several warehouses, partial shipments, tracking (with a carrier's own codes),
delivery, completion, host workflow events, and refusals that change nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from salesorders.domain.fulfilment import ShipmentStatus
from salesorders.domain.stock import Movement
from salesorders.domain.warehouse import Warehouse
from salesorders.domain.workflow import default_workflow
from salesorders.errors import (
    InvalidTransitionError,
    NotFoundError,
    OperationalError,
    OrderError,
    ValidationError,
)
from salesorders.service import (
    CancelOrder,
    CompleteOrder,
    ConfirmOrder,
    CreateDraft,
    DeliverOrder,
    ManualClock,
    PlaceDraft,
    ReceiveStock,
    RecordShipmentEvent,
    RegisterWarehouse,
    SalesService,
    ShipLine,
    ShipOrder,
    TransitionOrder,
    bootstrap,
)
from salesorders.testing.fakes import DEFAULT_STATUS_CODES, FakeCarrier
from support.stores import STORE_KINDS, fresh_store
from test_service_support import line, new_order

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)

#: A host's workflow: a confirmed order waits for a release approval before it may ship.
RELEASE_APPROVED = (
    default_workflow()
    .extend("release-approved-order", version=1)
    .add_state("release_approved")
    .remove_transition("ship", "confirmed")
    .add_transition("approve_release", "confirmed", "release_approved")
    .add_transition("ship", "release_approved", "shipped")
    .add_transition("cancel", "release_approved", "cancelled")
    .build()
)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def carrier() -> FakeCarrier:
    return FakeCarrier("swift", prefix="SW")


@pytest.fixture
def service(store: Any, clock: ManualClock, carrier: FakeCarrier) -> SalesService:
    """Warehouses W1 (priority 1) and W2 (priority 2): SKU-A 3 in W1 and 10 in W2, SKU-B 5 in
    W1; the carrier ``swift`` and the host workflow ``release-approved-order``."""
    built = bootstrap(
        store=store,
        clock=clock,
        carriers=[carrier],
        workflows=[RELEASE_APPROVED],
        sleep=lambda _seconds: None,
    )
    built.handle(RegisterWarehouse(warehouse=Warehouse("W1", priority=1)))
    built.handle(RegisterWarehouse(warehouse=Warehouse("W2", priority=2)))
    built.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=3, reason="PO-1"))
    built.handle(ReceiveStock(sku="SKU-A", warehouse_id="W2", quantity=10, reason="PO-2"))
    built.handle(ReceiveStock(sku="SKU-B", warehouse_id="W1", quantity=5, reason="PO-1"))
    return built


def _confirmed(service: SalesService, *lines: Any, **fields: Any) -> str:
    """A confirmed order of 5 SKU-A (3 from W1, 2 from W2) and 2 SKU-B (W1) unless told."""
    chosen = lines or (line("SKU-A", 5), line("SKU-B", 2, "4.00"))
    return service.handle(new_order(*chosen, confirm=True, **fields)).order_id


def _types(store: Any, order_id: str) -> list[str]:
    with store.unit_of_work() as uow:
        return [m.event_type for m in uow.outbox.messages(order_id)]


def _state(store: Any, order_id: str) -> tuple[object, ...]:
    """Everything a fulfilment command may change."""
    with store.unit_of_work() as uow:
        return (
            uow.orders.get(order_id),
            {(i.sku, i.warehouse_id): (i.on_hand, i.reserved) for i in uow.stock.items()},
            uow.stock.ledger(),
            uow.stock.reservations(),
            [(m.event_id, m.event_type, m.payload) for m in uow.outbox.messages()],
        )


def _refused(
    service: SalesService, store: Any, order_id: str, command: Any, error: type[Exception]
) -> Any:
    """Run ``command``, expect ``error``, and check nothing changed; returns the error."""
    before = _state(store, order_id)
    with pytest.raises(error) as caught:
        service.handle(command)
    assert _state(store, order_id) == before
    return caught.value


# --------------------------------------------------------------------------- the full path


@pytest.mark.parametrize("deliver_with", ["tracking", "command"])
def test_an_order_goes_from_draft_to_completed_through_commands(
    service: SalesService, store: Any, clock: ManualClock, carrier: FakeCarrier, deliver_with: str
) -> None:
    draft = service.handle(
        CreateDraft(
            customer_id="C-1", currency="USD", lines=(line("SKU-A", 5), line("SKU-B", 2, "4.00"))
        )
    )
    order_id = draft.order_id
    assert service.handle(PlaceDraft(order_id=order_id)).state == "placed"
    confirmed = service.handle(ConfirmOrder(order_id=order_id))
    assert (confirmed.state, confirmed.fulfilment_status) == ("confirmed", "unfulfilled")

    clock.advance(HOUR)
    shipped = service.handle(
        ShipOrder(order_id=order_id, carrier="swift", service_level="express", actor="wh:li")
    )
    s1, s2 = f"{order_id}-S1", f"{order_id}-S2"
    assert (shipped.state, shipped.fulfilment_status, shipped.shipment_ids) == (
        "shipped",
        "shipped",
        (s1, s2),
    )
    order = service.get_order(order_id)
    assert [
        (s.warehouse_id, [(x.line_id, x.sku, x.quantity) for x in s.lines]) for s in order.shipments
    ] == [
        ("W1", [("L1", "SKU-A", Decimal(3)), ("L2", "SKU-B", Decimal(2))]),
        ("W2", [("L1", "SKU-A", Decimal(2))]),
    ]
    assert [(s.tracking_number, s.label_ref) for s in order.shipments] == [
        ("SW0000000001", "label:SW0000000001"),
        ("SW0000000002", "label:SW0000000002"),
    ]
    assert all(
        (s.carrier, s.service_level, s.shipped_at, s.status)
        == ("swift", "express", T0 + HOUR, ShipmentStatus.SHIPPED)
        for s in order.shipments
    )
    assert [b.shipment.id for b in carrier.booked] == [s1, s2]

    with store.unit_of_work() as uow:
        shipments = [e for e in uow.stock.ledger() if e.movement is Movement.SHIPMENT]
    assert sorted(
        (e.sku, e.warehouse_id, e.on_hand_delta, e.reserved_delta, e.order_id, e.line_id)
        for e in shipments
    ) == [
        ("SKU-A", "W1", Decimal(-3), Decimal(-3), order_id, "L1"),
        ("SKU-A", "W2", Decimal(-2), Decimal(-2), order_id, "L1"),
        ("SKU-B", "W1", Decimal(-2), Decimal(-2), order_id, "L2"),
    ]
    by_warehouse = {"W1": s1, "W2": s2}
    assert all(e.reason == f"shipment {by_warehouse[e.warehouse_id]}" for e in shipments)
    assert all(e.actor == "wh:li" for e in shipments)
    assert {(i.sku, i.warehouse_id): (i.on_hand, i.reserved) for i in service.stock_items()} == {
        ("SKU-A", "W1"): (Decimal(0), Decimal(0)),
        ("SKU-A", "W2"): (Decimal(8), Decimal(0)),
        ("SKU-B", "W1"): (Decimal(3), Decimal(0)),
    }
    assert all(r.open == 0 for r in service.reservations(order_id))

    clock.advance(HOUR)
    tracked = service.handle(
        RecordShipmentEvent(order_id=order_id, shipment_id=s1, carrier_code="IT", location="Hub")
    )
    assert (tracked.state, tracked.fulfilment_status) == ("shipped", "shipped")
    clock.advance(HOUR)
    first = service.handle(
        RecordShipmentEvent(order_id=order_id, shipment_id=s1, status="delivered")
    )
    assert (first.state, first.fulfilment_status) == ("shipped", "partially_delivered")
    clock.advance(HOUR)
    if deliver_with == "tracking":
        delivered = service.handle(
            RecordShipmentEvent(order_id=order_id, shipment_id=s2, status="delivered")
        )
    else:
        delivered = service.handle(DeliverOrder(order_id=order_id, reason="signed for"))
    assert (delivered.state, delivered.fulfilment_status) == ("delivered", "delivered")
    order = service.get_order(order_id)
    assert [s.delivered_at for s in order.shipments] == [T0 + 3 * HOUR, T0 + 4 * HOUR]
    assert order.delivered_quantities() == {"L1": Decimal(5), "L2": Decimal(2)}

    clock.advance(HOUR)
    assert service.handle(CompleteOrder(order_id=order_id)).state == "completed"
    assert _types(store, order_id) == [
        "OrderPlaced",
        "OrderConfirmed",
        "ShipmentDispatched",
        "ShipmentDispatched",
        "OrderShipped",
        "ShipmentTracked",
        "ShipmentTracked",
        "ShipmentTracked",
        "OrderDelivered",
        "OrderCompleted",
    ]
    with store.unit_of_work() as uow:
        dispatched = [m for m in uow.outbox.messages(order_id) if m.event_type.startswith("Ship")]
    assert [m.payload["shipment_id"] for m in dispatched] == [s1, s2, s1, s1, s2]
    assert service.reconcile_stock() == ()


def test_delivering_by_command_records_every_shipment_not_yet_delivered(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    order_id = _confirmed(service)
    service.handle(ShipOrder(order_id=order_id))
    clock.advance(HOUR)
    result = service.handle(DeliverOrder(order_id=order_id))
    assert result.state == "delivered"
    order = service.get_order(order_id)
    assert [(s.status, s.delivered_at) for s in order.shipments] == [
        (ShipmentStatus.DELIVERED, T0 + HOUR),
        (ShipmentStatus.DELIVERED, T0 + HOUR),
    ]
    assert _types(store, order_id)[-3:] == ["ShipmentTracked", "ShipmentTracked", "OrderDelivered"]


# --------------------------------------------------------------------------- partial shipments


def test_partial_shipments_move_the_fulfilment_status_step_by_step(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    order_id = _confirmed(service)
    first = service.handle(
        ShipOrder(order_id=order_id, lines=(ShipLine("L1", 1), ShipLine("L2", None)))
    )
    assert (first.state, first.fulfilment_status) == ("confirmed", "partially_shipped")
    order = service.get_order(order_id)
    assert order.shipped_quantities() == {"L1": Decimal(1), "L2": Decimal(2)}
    assert order.delivered_quantities() == {}
    (only,) = order.shipments
    assert only.warehouse_id == "W1"

    clock.advance(HOUR)
    rest = service.handle(ShipOrder(order_id=order_id, lines=(ShipLine("L1"),)))
    assert (rest.state, rest.fulfilment_status) == ("shipped", "shipped")
    order = service.get_order(order_id)
    assert order.shipped_quantities() == {"L1": Decimal(5), "L2": Decimal(2)}
    assert [(s.id, s.warehouse_id) for s in order.shipments] == [
        (f"{order_id}-S1", "W1"),
        (f"{order_id}-S2", "W1"),
        (f"{order_id}-S3", "W2"),
    ]
    assert [[(x.line_id, x.quantity) for x in s.lines] for s in order.shipments] == [
        [("L1", Decimal(1)), ("L2", Decimal(2))],
        [("L1", Decimal(2))],
        [("L1", Decimal(2))],
    ]

    clock.advance(HOUR)
    part = service.handle(
        RecordShipmentEvent(order_id=order_id, shipment_id=f"{order_id}-S1", status="delivered")
    )
    assert (part.state, part.fulfilment_status) == ("shipped", "partially_delivered")
    assert service.get_order(order_id).delivered_quantities() == {
        "L1": Decimal(1),
        "L2": Decimal(2),
    }
    for shipment_id in (f"{order_id}-S2", f"{order_id}-S3"):
        done = service.handle(
            RecordShipmentEvent(order_id=order_id, shipment_id=shipment_id, status="delivered")
        )
    assert (done.state, done.fulfilment_status) == ("delivered", "delivered")
    assert service.get_order(order_id).delivered_quantities() == {
        "L1": Decimal(5),
        "L2": Decimal(2),
    }
    assert _types(store, order_id).count("OrderShipped") == 1
    assert service.reconcile_stock() == ()


# --------------------------------------------------------------------------- carriers


def test_a_carrier_translates_its_own_codes_and_refuses_unknown_ones(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    order_id = _confirmed(service, line("SKU-B", 1))
    service.handle(ShipOrder(order_id=order_id, carrier="swift"))
    shipment_id = f"{order_id}-S1"
    for code in ("IT", "OD", "FA", "EX"):
        clock.advance(HOUR)
        service.handle(
            RecordShipmentEvent(order_id=order_id, shipment_id=shipment_id, carrier_code=code)
        )
        assert (
            service.get_order(order_id).shipment(shipment_id).status is DEFAULT_STATUS_CODES[code]
        )

    error = _refused(
        service,
        store,
        order_id,
        RecordShipmentEvent(order_id=order_id, shipment_id=shipment_id, carrier_code="ZZ"),
        ValidationError,
    )
    assert error.field == "carrier_code"
    error = _refused(
        service,
        store,
        order_id,
        RecordShipmentEvent(
            order_id=order_id, shipment_id=shipment_id, carrier_code="DL", status="delivered"
        ),
        ValidationError,
    )
    assert error.field == "carrier_code"

    clock.advance(HOUR)
    done = service.handle(
        RecordShipmentEvent(order_id=order_id, shipment_id=shipment_id, carrier_code="DL")
    )
    assert done.state == "delivered"
    events = service.get_order(order_id).shipment(shipment_id).events
    assert [e.status.value for e in events] == [
        "in_transit",
        "out_for_delivery",
        "failed_attempt",
        "exception",
        "delivered",
    ]


def test_carrier_codes_need_the_shipments_carrier(service: SalesService, store: Any) -> None:
    order_id = _confirmed(service, line("SKU-B", 1))
    service.handle(ShipOrder(order_id=order_id, carrier="slowboat", tracking_number="SB-1"))
    shipment = service.get_order(order_id).shipment(f"{order_id}-S1")
    assert (shipment.carrier, shipment.tracking_number, shipment.label_ref) == (
        "slowboat",
        "SB-1",
        None,
    )
    error = _refused(
        service,
        store,
        order_id,
        RecordShipmentEvent(order_id=order_id, shipment_id=shipment.id, carrier_code="IT"),
        ValidationError,
    )
    assert error.field == "carrier_code"


def test_a_tracking_number_given_skips_the_carriers_booking(
    service: SalesService, carrier: FakeCarrier
) -> None:
    order_id = _confirmed(service, line("SKU-B", 1))
    service.handle(ShipOrder(order_id=order_id, carrier="swift", tracking_number="OWN-1"))
    assert service.get_order(order_id).shipments[0].tracking_number == "OWN-1"
    assert (carrier.booked, carrier.attempts) == ([], 0)


@pytest.mark.parametrize("fails_after", [0, 1])
def test_a_failed_booking_changes_nothing(
    service: SalesService, store: Any, carrier: FakeCarrier, fails_after: int
) -> None:
    order_id = _confirmed(service)
    refusal = ValidationError("shipping_address", None, "is not served by swift")
    carrier.fail_next(after=fails_after, error=refusal)
    error = _refused(
        service, store, order_id, ShipOrder(order_id=order_id, carrier="swift"), ValidationError
    )
    assert error is refusal
    assert carrier.booked == []  # what was booked before the refusal was cancelled
    assert len(carrier.cancelled) == fails_after
    assert service.reconcile_stock() == ()

    carrier.fail_always()  # a transient failure: retried, then surfaced
    attempts = carrier.attempts
    _refused(
        service, store, order_id, ShipOrder(order_id=order_id, carrier="swift"), OperationalError
    )
    assert carrier.attempts == attempts + 6  # the first try and five retries

    carrier.recover()
    result = service.handle(ShipOrder(order_id=order_id, carrier="swift"))
    assert result.shipment_ids == (f"{order_id}-S1", f"{order_id}-S2")
    assert service.reconcile_stock() == ()


def test_a_transient_booking_failure_is_retried(
    service: SalesService, carrier: FakeCarrier
) -> None:
    order_id = _confirmed(service, line("SKU-B", 1))
    carrier.fail_next()
    result = service.handle(ShipOrder(order_id=order_id, carrier="swift"))
    assert result.state == "shipped"
    assert carrier.attempts == 2
    assert carrier.tracking_numbers() == ("SW0000000001",)


def test_the_fake_carrier_checks_its_own_settings() -> None:
    with pytest.raises(ValidationError) as caught:
        FakeCarrier("")
    assert caught.value.field == "name"
    with pytest.raises(ValidationError) as caught:
        FakeCarrier(status_codes={"XX": "teleported"})
    assert caught.value.field == "status_codes['XX']"
    with pytest.raises(ValidationError) as caught:
        FakeCarrier().fail_next(0)
    assert caught.value.field == "times"
    custom = FakeCarrier("own", status_codes={"D": "delivered"})
    assert custom.status_of("D") is ShipmentStatus.DELIVERED
    with pytest.raises(ValidationError) as caught:
        custom.status_of("IT")
    assert caught.value.field == "carrier_code"


# --------------------------------------------------------------------------- refusals


def test_shipping_refuses_bad_lines_and_changes_nothing(service: SalesService, store: Any) -> None:
    order_id = _confirmed(service, line("SKU-A", 5), line("SKU-C", 2))  # SKU-C: backordered
    cases: list[tuple[tuple[ShipLine, ...], str]] = [
        ((ShipLine("L9", 1),), "lines[0].line_id"),
        ((ShipLine("L1", 1), ShipLine("L1", 5)), "lines[1].quantity"),
        ((ShipLine("L1", 6),), "lines[0].quantity"),
        ((ShipLine("L1", 0),), "lines[0].quantity"),
        ((ShipLine("L2", 1),), "lines[0].quantity"),  # nothing of it is reserved
        ((ShipLine("L1", 1.5),), "lines[0].quantity"),  # type: ignore[arg-type]
    ]
    for lines, field in cases:
        error = _refused(
            service, store, order_id, ShipOrder(order_id=order_id, lines=lines), ValidationError
        )
        assert error.field == field, lines
    error = _refused(service, store, order_id, ShipOrder(order_id=order_id), ValidationError)
    assert error.field == "lines"  # the backordered line is not reserved


def test_shipping_an_unconfirmed_order_is_refused(service: SalesService, store: Any) -> None:
    order_id = service.handle(new_order(line("SKU-B", 1))).order_id
    error = _refused(service, store, order_id, ShipOrder(order_id=order_id), InvalidTransitionError)
    assert (error.state, error.event) == ("placed", "ship")


def test_a_tracking_number_shared_by_two_warehouses_is_refused(
    service: SalesService, store: Any
) -> None:
    order_id = _confirmed(service)
    error = _refused(
        service,
        store,
        order_id,
        ShipOrder(order_id=order_id, tracking_number="ONE-FOR-ALL"),
        ValidationError,
    )
    assert error.field == "tracking_number"
    one = service.handle(
        ShipOrder(order_id=order_id, lines=(ShipLine("L2"),), tracking_number="ONE-FOR-W1")
    )
    assert one.fulfilment_status == "partially_shipped"


def test_tracking_refusals_change_nothing(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    order_id = _confirmed(service, line("SKU-B", 1))
    clock.advance(HOUR)
    service.handle(ShipOrder(order_id=order_id))
    shipment_id = f"{order_id}-S1"

    error = _refused(
        service,
        store,
        order_id,
        RecordShipmentEvent(order_id=order_id, shipment_id="nope", status="in_transit"),
        NotFoundError,
    )
    assert (error.kind, error.key) == ("shipment", "nope")
    for status in ("teleported", None):
        error = _refused(
            service,
            store,
            order_id,
            RecordShipmentEvent(order_id=order_id, shipment_id=shipment_id, status=status),
            ValidationError,
        )
        assert error.field == "status"
    _refused(
        service,
        store,
        order_id,
        RecordShipmentEvent(
            order_id=order_id, shipment_id=shipment_id, status="in_transit", occurred_at=T0
        ),
        ValidationError,
    )  # before the shipment left
    clock.advance(HOUR)
    service.handle(
        RecordShipmentEvent(order_id=order_id, shipment_id=shipment_id, status="delivered")
    )
    error = _refused(
        service,
        store,
        order_id,
        RecordShipmentEvent(order_id=order_id, shipment_id=shipment_id, status="in_transit"),
        ValidationError,
    )
    assert error.field == "status"  # nothing but a return follows a delivery
    error = _refused(
        service,
        store,
        order_id,
        RecordShipmentEvent(order_id="no-such-order", shipment_id=shipment_id, status="delivered"),
        NotFoundError,
    )


@pytest.mark.parametrize("occurred_at", [T0, dt.datetime(2026, 3, 2, 12, 0)])
def test_a_bad_tracking_time_is_refused_naming_occurred_at(
    service: SalesService, store: Any, clock: ManualClock, occurred_at: dt.datetime
) -> None:
    order_id = _confirmed(service, line("SKU-B", 1))
    clock.advance(HOUR)
    service.handle(ShipOrder(order_id=order_id))
    error = _refused(
        service,
        store,
        order_id,
        RecordShipmentEvent(
            order_id=order_id,
            shipment_id=f"{order_id}-S1",
            status="in_transit",
            occurred_at=occurred_at,  # before the shipment left, or without a time zone
        ),
        ValidationError,
    )
    assert error.field == "occurred_at"


def test_an_order_partly_shipped_cannot_be_cancelled(service: SalesService, store: Any) -> None:
    order_id = _confirmed(service)
    service.handle(ShipOrder(order_id=order_id, lines=(ShipLine("L2"),)))
    _refused(
        service, store, order_id, CancelOrder(order_id=order_id, reason="changed mind"), OrderError
    )


def test_completing_or_delivering_too_early_is_refused(service: SalesService, store: Any) -> None:
    order_id = _confirmed(service, line("SKU-B", 1))
    for command in (CompleteOrder(order_id=order_id), DeliverOrder(order_id=order_id)):
        error = _refused(service, store, order_id, command, InvalidTransitionError)
        assert error.state == "confirmed"


# --------------------------------------------------------------------------- idempotency


def test_a_replayed_ship_order_ships_once(
    service: SalesService, store: Any, carrier: FakeCarrier
) -> None:
    order_id = _confirmed(service)
    command = ShipOrder(order_id=order_id, carrier="swift", idempotency_key="ship-1")
    first = service.handle(command)
    after = _state(store, order_id)
    again = service.handle(command)
    assert again == first
    assert _state(store, order_id) == after
    assert len(carrier.booked) == 2
    assert _types(store, order_id).count("ShipmentDispatched") == 2


# --------------------------------------------------------------------------- host workflow events


def test_a_host_workflow_event_runs_through_transition_order(
    service: SalesService, store: Any
) -> None:
    order_id = _confirmed(service, line("SKU-B", 1), workflow="release-approved-order")
    error = _refused(service, store, order_id, ShipOrder(order_id=order_id), InvalidTransitionError)
    assert error.allowed == ("approve_release", "cancel", "hold")
    error = _refused(
        service,
        store,
        order_id,
        TransitionOrder(order_id=order_id, event="teleport"),
        InvalidTransitionError,
    )
    assert error.event == "teleport"
    error = _refused(
        service, store, order_id, TransitionOrder(order_id=order_id, event="place"), ValidationError
    )
    assert error.field == "event"
    for not_now in ("confirm", "ship", "deliver"):  # run their effects, but not from here
        error = _refused(
            service,
            store,
            order_id,
            TransitionOrder(order_id=order_id, event=not_now),
            InvalidTransitionError,
        )
        assert error.event == not_now

    approved = service.handle(
        TransitionOrder(order_id=order_id, event="approve_release", reason="QA ok", actor="qa:mo")
    )
    assert approved.state == "release_approved"
    assert service.get_order(order_id).audit[-1].actor == "qa:mo"
    with store.unit_of_work() as uow:
        last = uow.outbox.messages(order_id)[-1]
    assert last.event_type == "OrderTransitioned"
    assert (last.payload["event"], last.payload["target"]) == (
        "approve_release",
        "release_approved",
    )
    assert service.handle(ShipOrder(order_id=order_id)).state == "shipped"


# --------------------------------------------------------------------------- promised dates


def _promise(store: Any, order_id: str, day: dt.date) -> None:
    with store.unit_of_work() as uow:
        order = uow.orders.get(order_id)
        order.promise(day)
        uow.orders.save(order)
        uow.commit()


def test_a_shipment_is_on_time_when_delivered_by_the_promised_date(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    order_id = _confirmed(service)
    _promise(store, order_id, dt.date(2026, 3, 4))
    assert service.get_order(order_id).promised_date == dt.date(2026, 3, 4)
    service.handle(ShipOrder(order_id=order_id))
    s1, s2 = f"{order_id}-S1", f"{order_id}-S2"
    order = service.get_order(order_id)
    assert [(s.promised_date, s.on_time) for s in order.shipments] == [
        (dt.date(2026, 3, 4), None),
        (dt.date(2026, 3, 4), None),
    ]
    clock.set(dt.datetime(2026, 3, 4, 23, 0, tzinfo=dt.UTC))
    service.handle(RecordShipmentEvent(order_id=order_id, shipment_id=s1, status="delivered"))
    clock.set(dt.datetime(2026, 3, 5, 8, 0, tzinfo=dt.UTC))
    service.handle(RecordShipmentEvent(order_id=order_id, shipment_id=s2, status="delivered"))
    assert [s.on_time for s in service.get_order(order_id).shipments] == [True, False]


def test_without_a_promise_on_time_is_unknown(service: SalesService, clock: ManualClock) -> None:
    order_id = _confirmed(service, line("SKU-B", 1))
    service.handle(ShipOrder(order_id=order_id))
    clock.advance(HOUR)
    service.handle(DeliverOrder(order_id=order_id))
    (shipment,) = service.get_order(order_id).shipments
    assert (shipment.promised_date, shipment.on_time) == (None, None)
