"""Every stock command through ``service.handle``, the same on the memory, SQLite and PostgreSQL
stores: results, idempotent replays, low-stock alerts in the outbox, and refused input."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from salesorders.domain.snapshot import IncomingStock
from salesorders.domain.stock import LowStock, Movement
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import (
    FloatNotAllowedError,
    NotFoundError,
    SalesOrdersError,
    UnknownWarehouseError,
    ValidationError,
)
from salesorders.serialization import Serializer
from salesorders.service import (
    ExpectStock,
    ManualClock,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
    SetStockLevels,
    bootstrap,
)
from salesorders.service.commands import (
    AdjustStock,
    ReceiveExpected,
    TransferStock,
    WriteOffStock,
)
from support.stores import STORE_KINDS, fresh_store
from test_service_support import line, new_order

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
LATER = dt.date(2026, 6, 1)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


@pytest.fixture
def service(store: Any) -> SalesService:
    """A service with warehouses W1 and W2, 10 SKU-A and a batch of 6 MILK in W1."""
    built = bootstrap(store=store, clock=ManualClock(T0))
    built.handle(RegisterWarehouse(warehouse=Warehouse("W1", priority=1)))
    built.handle(RegisterWarehouse(warehouse=Warehouse("W2", priority=2)))
    built.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=10, reason="PO-1"))
    built.handle(
        ReceiveStock(sku="MILK", warehouse_id="W1", quantity=6, batch_id="L-1", expiry=LATER)
    )
    return built


def _state(store: Any) -> tuple[object, ...]:
    """Everything a stock command may change."""
    with store.unit_of_work() as uow:
        return (
            {(i.sku, i.warehouse_id): (i.on_hand, i.reserved) for i in uow.stock.items()},
            uow.stock.ledger(),
            uow.stock.reservations(),
            sorted(uow.stock.incoming(), key=lambda i: i.id),
            [(m.event_id, m.event_type, m.payload) for m in uow.outbox.messages()],
        )


def _figures(service: SalesService) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    return {(i.sku, i.warehouse_id): (i.on_hand, i.reserved) for i in service.stock_items()}


def _incoming(store: Any) -> dict[str, IncomingStock]:
    with store.unit_of_work() as uow:
        return {i.id: i for i in uow.stock.incoming()}


# --------------------------------------------------------------------------- results


def test_receive_stock_returns_its_receipt_and_keeps_the_batch(service: SalesService) -> None:
    entry = service.handle(
        ReceiveStock(
            sku="MILK", warehouse_id="W1", quantity="4", batch_id="L-1", expiry=LATER, actor="ann"
        )
    )
    assert (entry.movement, entry.on_hand_delta, entry.batch_id, entry.actor) == (
        Movement.RECEIPT,
        Decimal(4),
        "L-1",
        "ann",
    )
    assert _figures(service)[("MILK", "W1")] == (Decimal(10), Decimal(0))
    (milk,) = [i for i in service.stock_items() if i.sku == "MILK"]
    assert (milk.batches["L-1"].expiry, milk.batches["L-1"].on_hand) == (LATER, Decimal(10))
    assert service.reconcile_stock() == ()


def test_expected_stock_arrives_in_parts(service: SalesService, store: Any) -> None:
    incoming = IncomingStock("IN-1", "SKU-A", "W2", Decimal(30), dt.date(2026, 3, 9))
    assert service.handle(ExpectStock(incoming=incoming)) is None
    assert _incoming(store) == {"IN-1": incoming}
    part = service.handle(ReceiveExpected(incoming_id="IN-1", quantity=20))
    assert (part.movement, part.warehouse_id, part.on_hand_delta, part.reason) == (
        Movement.RECEIPT,
        "W2",
        Decimal(20),
        "incoming IN-1",
    )
    assert _incoming(store)["IN-1"].quantity == Decimal(10)
    rest = service.handle(ReceiveExpected(incoming_id="IN-1"))
    assert rest.on_hand_delta == Decimal(10)
    assert _incoming(store) == {}
    assert _figures(service)[("SKU-A", "W2")] == (Decimal(30), Decimal(0))
    assert service.reconcile_stock() == ()


def test_a_count_adjusts_and_may_release_the_newest_reservations(service: SalesService) -> None:
    entry = service.handle(AdjustStock(sku="SKU-A", warehouse_id="W1", counted=9, reason="count"))
    assert (entry.movement, entry.on_hand_delta) == (Movement.ADJUSTMENT, Decimal(-1))
    first = service.handle(new_order(line("SKU-A", 4), confirm=True))
    second = service.handle(new_order(line("SKU-A", 3), confirm=True))
    with pytest.raises(ValidationError) as caught:
        service.handle(AdjustStock(sku="SKU-A", warehouse_id="W1", counted=5, reason="flood"))
    assert caught.value.field == "counted"
    assert _figures(service)[("SKU-A", "W1")] == (Decimal(9), Decimal(7))
    entry = service.handle(
        AdjustStock(sku="SKU-A", warehouse_id="W1", counted=5, reason="flood", release_excess=True)
    )
    assert (entry.movement, entry.on_hand_delta) == (Movement.ADJUSTMENT, Decimal(-4))
    assert _figures(service)[("SKU-A", "W1")] == (Decimal(5), Decimal(5))
    assert [r.open for r in service.reservations(first.order_id)] == [Decimal(4)]
    assert [r.open for r in service.reservations(second.order_id)] == [Decimal(1)]  # newest
    assert service.reconcile_stock() == ()


def test_a_write_off_takes_unreserved_stock_only(service: SalesService) -> None:
    entry = service.handle(
        WriteOffStock(sku="MILK", warehouse_id="W1", quantity=2, reason="crushed", batch_id="L-1")
    )
    assert (entry.movement, entry.on_hand_delta, entry.batch_id, entry.reason) == (
        Movement.WRITE_OFF,
        Decimal(-2),
        "L-1",
        "crushed",
    )
    service.handle(new_order(line("SKU-A", 8), confirm=True))
    with pytest.raises(SalesOrdersError):
        service.handle(WriteOffStock(sku="SKU-A", warehouse_id="W1", quantity=3, reason="lost"))
    assert _figures(service) == {
        ("MILK", "W1"): (Decimal(4), Decimal(0)),
        ("SKU-A", "W1"): (Decimal(10), Decimal(8)),
    }
    assert service.reconcile_stock() == ()


def test_a_transfer_travels_then_arrives_with_its_batch(service: SalesService, store: Any) -> None:
    (out,) = service.handle(
        TransferStock(
            sku="MILK",
            from_warehouse="W1",
            to_warehouse="W2",
            quantity=4,
            transfer_id="T-1",
            batch_id="L-1",
        )
    )
    assert (out.movement, out.on_hand_delta, out.transfer_id) == (
        Movement.TRANSFER_OUT,
        Decimal(-4),
        "T-1",
    )
    moving = _incoming(store)["T-1"]
    assert (moving.warehouse_id, moving.transfer_from, moving.batch_id, moving.expiry) == (
        "W2",
        "W1",
        "L-1",
        LATER,
    )
    arrived = service.handle(ReceiveExpected(incoming_id="T-1"))
    assert (arrived.movement, arrived.warehouse_id, arrived.batch_id) == (
        Movement.TRANSFER_IN,
        "W2",
        "L-1",
    )
    (there,) = [i for i in service.stock_items() if i.key == ("MILK", "W2")]
    assert (there.on_hand, there.batches["L-1"].expiry) == (Decimal(4), LATER)
    assert _incoming(store) == {}
    assert service.reconcile_stock() == ()


def test_a_transfer_can_move_in_one_step(service: SalesService, store: Any) -> None:
    entries = service.handle(
        TransferStock(
            sku="SKU-A",
            from_warehouse="W1",
            to_warehouse="W2",
            quantity=3,
            transfer_id="T-2",
            in_transit=False,
        )
    )
    assert [(e.movement, e.warehouse_id, e.on_hand_delta) for e in entries] == [
        (Movement.TRANSFER_OUT, "W1", Decimal(-3)),
        (Movement.TRANSFER_IN, "W2", Decimal(3)),
    ]
    assert _incoming(store) == {}
    assert service.reconcile_stock() == ()


# --------------------------------------------------------------------------- idempotency

REPLAYS = [
    pytest.param(lambda: ReceiveStock(sku="SKU-A", warehouse_id="W2", quantity=5), id="receive"),
    pytest.param(
        lambda: ExpectStock(
            incoming=IncomingStock("IN-9", "SKU-A", "W2", Decimal(5), dt.date(2026, 3, 9))
        ),
        id="expect",
    ),
    pytest.param(
        lambda: SetStockLevels(sku="SKU-A", warehouse_id="W1", reorder_point=12),
        id="set-levels",
    ),
    pytest.param(
        lambda: AdjustStock(sku="SKU-A", warehouse_id="W1", counted=7, reason="count"),
        id="adjust",
    ),
    pytest.param(
        lambda: WriteOffStock(sku="SKU-A", warehouse_id="W1", quantity=1, reason="broken"),
        id="write-off",
    ),
    pytest.param(
        lambda: TransferStock(
            sku="SKU-A", from_warehouse="W1", to_warehouse="W2", quantity=2, transfer_id="T-9"
        ),
        id="transfer",
    ),
    pytest.param(
        lambda: RegisterWarehouse(warehouse=Warehouse("W3", priority=3)), id="register-warehouse"
    ),
]


@pytest.mark.parametrize("make", REPLAYS)
def test_a_replay_with_the_same_key_returns_the_same_result_and_changes_nothing(
    service: SalesService, store: Any, make: Any
) -> None:
    command = attrs.evolve(make(), idempotency_key="key-1")
    first = service.handle(command)
    after = _state(store)
    assert service.handle(command) == first
    assert _state(store) == after


def test_a_replayed_arrival_is_not_received_twice(service: SalesService, store: Any) -> None:
    incoming = IncomingStock("IN-1", "SKU-A", "W2", Decimal(8), dt.date(2026, 3, 9))
    service.handle(ExpectStock(incoming=incoming))
    command = ReceiveExpected(incoming_id="IN-1", quantity=5, idempotency_key="arrival-1")
    first = service.handle(command)
    after = _state(store)
    assert service.handle(command) == first
    assert _state(store) == after
    assert _incoming(store)["IN-1"].quantity == Decimal(3)


# --------------------------------------------------------------------------- alerts


def test_low_stock_alerts_reach_the_outbox_once_per_crossing(
    service: SalesService, store: Any
) -> None:
    service.handle(
        SetStockLevels(sku="SKU-A", warehouse_id="W1", reorder_point=6, reorder_quantity=20)
    )
    service.handle(WriteOffStock(sku="SKU-A", warehouse_id="W1", quantity=3, reason="broken"))
    service.handle(AdjustStock(sku="SKU-A", warehouse_id="W1", counted=6, reason="count"))
    service.handle(AdjustStock(sku="SKU-A", warehouse_id="W1", counted=5, reason="count"))
    service.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=10))
    service.handle(
        TransferStock(
            sku="SKU-A", from_warehouse="W1", to_warehouse="W2", quantity=10, transfer_id="T-1"
        )
    )
    with store.unit_of_work() as uow:
        messages = uow.outbox.messages("stock:SKU-A:W1")
    assert [(m.event_id, m.event_type, m.sequence) for m in messages] == [
        ("stock:SKU-A:W1:1", "LowStock", 1),
        ("stock:SKU-A:W1:2", "LowStock", 2),
    ]
    alerts = [Serializer().load(m.payload, LowStock) for m in messages]
    assert alerts == [
        LowStock("SKU-A", "W1", Decimal(6), Decimal(6), Decimal(20), T0),
        LowStock("SKU-A", "W1", Decimal(5), Decimal(6), Decimal(20), T0),
    ]
    assert all(m.occurred_at == T0 for m in messages)


# --------------------------------------------------------------------------- refused input

REFUSALS = [
    pytest.param(
        lambda: ReceiveStock(sku="SKU-A", warehouse_id="W9", quantity=1),
        UnknownWarehouseError,
        "W9",
        id="receive-unknown-warehouse",
    ),
    pytest.param(
        lambda: ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=1.5),
        FloatNotAllowedError,
        "quantity",
        id="receive-float",
    ),
    pytest.param(
        lambda: ReceiveStock(
            sku="MILK", warehouse_id="W1", quantity=1, batch_id="L-1", expiry=dt.date(2026, 7, 1)
        ),
        ValidationError,
        "expiry",
        id="receive-other-expiry",
    ),
    pytest.param(
        lambda: AdjustStock(sku="SKU-A", warehouse_id="W1", counted=2.0, reason="count"),
        FloatNotAllowedError,
        "counted",
        id="adjust-float",
    ),
    pytest.param(
        lambda: AdjustStock(sku="SKU-A", warehouse_id="W1", counted=2, reason=""),
        ValidationError,
        "reason",
        id="adjust-no-reason",
    ),
    pytest.param(
        lambda: WriteOffStock(sku="SKU-A", warehouse_id="W1", quantity=1, reason=""),
        ValidationError,
        "reason",
        id="write-off-no-reason",
    ),
    pytest.param(
        lambda: WriteOffStock(sku="SKU-A", warehouse_id="W1", quantity=0.5, reason="lost"),
        FloatNotAllowedError,
        "quantity",
        id="write-off-float",
    ),
    pytest.param(
        lambda: TransferStock(
            sku="SKU-A", from_warehouse="W1", to_warehouse="W9", quantity=1, transfer_id="T-1"
        ),
        UnknownWarehouseError,
        "W9",
        id="transfer-unknown-warehouse",
    ),
    pytest.param(
        lambda: TransferStock(
            sku="SKU-A", from_warehouse="W1", to_warehouse="W2", quantity=1.0, transfer_id="T-1"
        ),
        FloatNotAllowedError,
        "quantity",
        id="transfer-float",
    ),
    pytest.param(
        lambda: ExpectStock(
            incoming=IncomingStock("IN-1", "SKU-A", "W9", Decimal(1), dt.date(2026, 3, 9))
        ),
        UnknownWarehouseError,
        "W9",
        id="expect-unknown-warehouse",
    ),
    pytest.param(
        lambda: ReceiveExpected(incoming_id="IN-404"),
        NotFoundError,
        "IN-404",
        id="receive-expected-unknown",
    ),
    pytest.param(
        lambda: SetStockLevels(sku="SKU-A", warehouse_id="W1", reorder_point=1.5),
        FloatNotAllowedError,
        "reorder_point",
        id="set-levels-float",
    ),
]


@pytest.mark.parametrize(("make", "error", "names"), REFUSALS)
def test_bad_input_raises_a_typed_error_naming_the_field_and_changes_nothing(
    service: SalesService, store: Any, make: Any, error: type[Exception], names: str
) -> None:
    before = _state(store)
    with pytest.raises(error) as caught:
        service.handle(make())
    assert isinstance(caught.value, SalesOrdersError)
    if isinstance(caught.value, ValidationError):
        assert caught.value.field == names
    else:
        assert names in str(caught.value)
    assert _state(store) == before
