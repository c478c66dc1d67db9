"""CancelLines, the short ship: remaining quantities are cancelled, what was reserved for them is
released, the order is repriced, and a fully shipped rest ships the order — on every store."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from salesorders.domain.stock import Movement
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import OrderError, ValidationError
from salesorders.service import (
    CancelLine,
    CancelLines,
    CancelOrder,
    ConfirmOrder,
    CreateDraft,
    ManualClock,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
    ShipLine,
    ShipOrder,
    bootstrap,
)
from support.stores import STORE_KINDS, fresh_store
from test_fulfilment import T0, _refused, _types
from test_service_support import line, new_order


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


@pytest.fixture
def service(store: Any) -> SalesService:
    """SKU-A 3 in W1 and 10 in W2, SKU-B 5 in W1."""
    built = bootstrap(store=store, clock=ManualClock(T0), sleep=lambda _s: None)
    built.handle(RegisterWarehouse(warehouse=Warehouse("W1", priority=1)))
    built.handle(RegisterWarehouse(warehouse=Warehouse("W2", priority=2)))
    built.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=3, reason="PO-1"))
    built.handle(ReceiveStock(sku="SKU-A", warehouse_id="W2", quantity=10, reason="PO-2"))
    built.handle(ReceiveStock(sku="SKU-B", warehouse_id="W1", quantity=5, reason="PO-1"))
    return built


def _open(store: Any, order_id: str) -> dict[str, Decimal]:
    """Open reservations per warehouse."""
    held: dict[str, Decimal] = {}
    with store.unit_of_work() as uow:
        for r in uow.stock.reservations(order_id):
            held[r.warehouse_id] = held.get(r.warehouse_id, Decimal(0)) + r.open
    return {w: q for w, q in held.items() if q}


def test_a_short_ship_releases_the_rest_reprices_and_ships_the_order(
    service: SalesService, store: Any
) -> None:
    order_id = service.handle(
        new_order(line("SKU-A", 5), line("SKU-B", 2, "4.00"), confirm=True)
    ).order_id
    assert _open(store, order_id) == {"W1": 5, "W2": 2}
    service.handle(ShipOrder(order_id=order_id, lines=(ShipLine("L1", 3), ShipLine("L2"))))
    result = service.handle(
        CancelLines(
            order_id=order_id,
            lines=(CancelLine("L1"),),
            reason="W2 count was short",
            actor="wh:li",
        )
    )
    assert result.state == "shipped"
    assert _open(store, order_id) == {}
    order = service.get_order(order_id)
    assert [(ln.quantity, ln.cancelled, ln.open_quantity) for ln in order.lines] == [
        (5, 2, 3),
        (2, 0, 2),
    ]
    assert order.totals.grand_total == Decimal("38.00")  # 3 x 10.00 + 2 x 4.00
    with store.unit_of_work() as uow:
        released = [e for e in uow.stock.ledger() if e.movement is Movement.RELEASE]
        cancelled = next(
            m for m in uow.outbox.messages(order_id) if m.event_type == "OrderLinesCancelled"
        )
    assert [(e.warehouse_id, e.reserved_delta, e.line_id) for e in released] == [("W2", -2, "L1")]
    assert [list(x) for x in cancelled.payload["lines"]] == [["L1", "2", "3"]]
    assert (cancelled.payload["grand_total_before"], cancelled.payload["grand_total"]) == (
        "58.00",
        "38.00",
    )
    assert cancelled.payload["reason"] == "W2 count was short"
    assert _types(store, order_id)[-1] == "OrderShipped"


def test_the_backordered_part_is_cancelled_before_what_is_reserved(
    service: SalesService, store: Any
) -> None:
    order_id = service.handle(new_order(line("SKU-B", 8), confirm=True)).order_id
    assert service.get_order(order_id).lines[0].backordered == 3
    result = service.handle(
        CancelLines(order_id=order_id, lines=(CancelLine("L1", 4),), reason="customer asked")
    )
    assert result.state == "confirmed"
    assert result.backorders == ()
    line_now = service.get_order(order_id).lines[0]
    assert (line_now.allocated, line_now.backordered, line_now.cancelled) == (4, 0, 4)
    assert _open(store, order_id) == {"W1": 4}
    assert service.get_order(order_id).totals.grand_total == Decimal("40.00")


def test_lines_cancelled_before_confirmation_are_not_allocated(
    service: SalesService, store: Any
) -> None:
    order_id = service.handle(new_order(line("SKU-A", 5), line("SKU-B", 1))).order_id
    service.handle(CancelLines(order_id=order_id, lines=(CancelLine("L1", 4),), reason="typo"))
    confirmed = service.handle(ConfirmOrder(order_id=order_id))
    assert confirmed.allocation_status == "allocated"
    assert _open(store, order_id) == {"W1": 2}
    shipped = service.handle(ShipOrder(order_id=order_id))
    assert shipped.state == "shipped"


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ((CancelLine("L9"),), "lines[0].line_id"),
        ((CancelLine("L1", 0),), "lines[0].quantity"),
        ((CancelLine("L1", -1),), "lines[0].quantity"),
        ((CancelLine("L1", 6),), "lines[0].quantity"),
        ((CancelLine("L1", "0.5"),), "lines[0].quantity"),
        ((CancelLine("L2", 1), CancelLine("L2", 1)), "lines[1].line_id"),
        ((CancelLine("L1"), CancelLine("L2")), "lines"),
        ((), "lines"),
    ],
)
def test_bad_cancellations_are_refused_and_change_nothing(
    service: SalesService, store: Any, lines: tuple[CancelLine, ...], field: str
) -> None:
    order_id = service.handle(new_order(line("SKU-A", 5), line("SKU-B", 2), confirm=True)).order_id
    command = CancelLines(order_id=order_id, lines=lines, reason="why")
    error = _refused(service, store, order_id, command, ValidationError)
    assert error.field == field


def test_a_reason_is_required_and_shipped_goods_cannot_be_cancelled(
    service: SalesService, store: Any
) -> None:
    order_id = service.handle(new_order(line("SKU-A", 2), line("SKU-B", 1), confirm=True)).order_id
    blank = CancelLines(order_id=order_id, lines=(CancelLine("L1", 1),), reason=" ")
    assert _refused(service, store, order_id, blank, ValidationError).field == "reason"
    service.handle(ShipOrder(order_id=order_id, lines=(ShipLine("L1"),)))
    shipped = CancelLines(order_id=order_id, lines=(CancelLine("L1"),), reason="late")
    assert _refused(service, store, order_id, shipped, ValidationError).field == "lines[0].line_id"


def test_drafts_and_finished_orders_refuse_line_cancellation(
    service: SalesService, store: Any
) -> None:
    draft = service.handle(
        CreateDraft(customer_id="C-1", currency="USD", lines=(line("SKU-A", 1),))
    ).order_id
    command = CancelLines(order_id=draft, lines=(CancelLine("L1"),), reason="x")
    assert "draft" in str(_refused(service, store, draft, command, OrderError))
    done = service.handle(new_order(line("SKU-A", 1), line("SKU-B", 1))).order_id
    service.handle(CancelOrder(order_id=done, reason="gone"))
    command = CancelLines(order_id=done, lines=(CancelLine("L1"),), reason="x")
    assert "cancelled" in str(_refused(service, store, done, command, OrderError))
