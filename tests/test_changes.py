"""Order changes through the service on every store: request with a preview, approval applied in
one unit of work (re-priced, stock reserved and released, revision n → n+1), decline, cancel, the
review query, idempotent decisions, and bad input refused naming the field and changing nothing."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money

from salesorders.domain.changes import ChangeAction, ChangeStatus, SkuQuantity
from salesorders.domain.order import Order
from salesorders.domain.order_values import Address
from salesorders.domain.pricing import Discount
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import (
    CurrencyMismatchError,
    InsufficientStockError,
    InvalidQuantityError,
    OrderError,
    OrderNotEditableError,
    ValidationError,
)
from salesorders.service import (
    ApproveChange,
    CancelChange,
    CancelOrder,
    ChangeResult,
    ConfirmOrder,
    DeclineChange,
    ManualClock,
    ReceiveStock,
    RegisterWarehouse,
    RequestChange,
    SalesService,
    ShipLine,
    ShipOrder,
    bootstrap,
)
from support.stores import STORE_KINDS, fresh_store
from test_fulfilment import HOUR, T0, _refused, _types
from test_service_support import line, new_order

HOME = Address("Ann", "1 Main St", "Springfield", "US", region="west")


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def _service(store: Any, clock: ManualClock, **options: Any) -> SalesService:
    built = bootstrap(store=store, clock=clock, sleep=lambda _s: None, **options)
    built.handle(RegisterWarehouse(warehouse=Warehouse("W1", priority=1)))
    built.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=10, reason="PO-1"))
    built.handle(ReceiveStock(sku="SKU-B", warehouse_id="W1", quantity=4, reason="PO-1"))
    return built


@pytest.fixture
def service(store: Any, clock: ManualClock) -> SalesService:
    return _service(store, clock, distinct_approver=True)


def _order(service: SalesService, confirm: bool = True) -> str:
    """An order of 2 × SKU-A at 10.00 and 1 × SKU-B at 5.55: grand total 25.55 USD."""
    placed = service.handle(new_order(line("SKU-A", 2), line("SKU-B", 1, "5.55"), confirm=confirm))
    return placed.order_id


def _usd(amount: str) -> Money:
    return Money(amount, "USD")


def _reserved(service: SalesService, order_id: str) -> dict[str, Decimal]:
    """Open reserved quantity per line of the order."""
    held: dict[str, Decimal] = {}
    for reservation in service.reservations(order_id):
        if reservation.open:
            held[reservation.line_id] = held.get(reservation.line_id, Decimal(0)) + reservation.open
    return held


def _request(service: SalesService, order_id: str, *actions: ChangeAction) -> ChangeResult:
    return service.handle(
        RequestChange(order_id=order_id, actions=actions, reason="customer called", actor="ann")
    )


# --------------------------------------------------------------------------- the whole path


def test_a_change_is_previewed_reviewed_and_applied_as_a_new_revision(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    order_id = _order(service)
    requested = _request(
        service,
        order_id,
        ChangeAction.set_quantity("L1", 5),
        ChangeAction.remove_line("L2"),
        ChangeAction.add_line("SKU-B", 2, _usd("3.25")),
    )
    preview = requested.preview
    assert requested.change_id == "C1"
    assert requested.status is ChangeStatus.PENDING_REVIEW
    assert preview.grand_total == _usd("56.50")
    assert preview.difference == _usd("30.95")
    assert (preview.balance_due_before, preview.balance_due) == (Decimal("25.55"), Decimal("56.50"))
    assert preview.stock_needed == (
        SkuQuantity("SKU-A", Decimal(3)),
        SkuQuantity("SKU-B", Decimal(2)),
    )
    assert preview.stock_freed == (SkuQuantity("SKU-B", Decimal(1)),)
    # Nothing moved yet: the order and its reservations are as placed.
    order = service.get_order(order_id)
    assert (order.revision, order.totals.grand_total) == (1, Decimal("25.55"))
    assert _reserved(service, order_id) == {"L1": Decimal(2), "L2": Decimal(1)}
    waiting = service.changes_awaiting_review()
    assert [(w.order_id, w.change.id) for w in waiting] == [(order_id, "C1")]

    clock.advance(HOUR)
    approved = service.handle(
        ApproveChange(order_id=order_id, change_id="C1", actor="bob", reason="agreed")
    )
    assert approved.status is ChangeStatus.APPROVED
    assert approved.order.grand_total == _usd("56.50")
    assert approved.order.balance_due == _usd("56.50")
    order = service.get_order(order_id)
    assert order.revision == 2
    assert [(ln.line_id, ln.quantity, ln.allocated) for ln in order.lines] == [
        ("L1", Decimal(5), Decimal(5)),
        ("L3", Decimal(2), Decimal(2)),
    ]
    assert _reserved(service, order_id) == {"L1": Decimal(5), "L3": Decimal(2)}
    change = order.change("C1")
    assert (change.decided_by, change.decided_at, change.decision_reason) == (
        "bob",
        T0 + HOUR,
        "agreed",
    )
    assert change.revision == 2
    first = order.at_revision(1)
    assert [ln.line_id for ln in first.lines] == ["L1", "L2"]
    assert first.totals.grand_total == Decimal("25.55")
    assert (first.change_id, first.ended_at) == ("C1", T0 + HOUR)
    assert order.at_revision(2).totals == order.totals
    assert service.changes_awaiting_review() == ()
    assert _types(store, order_id)[-2:] == ["ChangeRequested", "ChangeApproved"]
    with store.unit_of_work() as uow:
        stock = {(i.sku, i.warehouse_id): i.reserved for i in uow.stock.items()}
    assert stock == {("SKU-A", "W1"): Decimal(5), ("SKU-B", "W1"): Decimal(2)}


def test_prices_discounts_address_and_shipping_change_together(service: SalesService) -> None:
    order_id = _order(service)
    _request(
        service,
        order_id,
        ChangeAction.change_unit_price("L1", "9.00", "price match"),
        ChangeAction.change_discounts([Discount.percentage(10, "loyalty")]),
        ChangeAction.ship_to(HOME),
        ChangeAction.shipping_charge(_usd("4.99")),
    )
    result = service.handle(ApproveChange(order_id=order_id, change_id="C1", actor="bob"))
    order = service.get_order(order_id)
    # (18.00 + 5.55) less 10 % = 21.195 → 21.20 (half up), plus 4.99 shipping.
    assert order.totals.grand_total == Decimal("26.18")
    assert result.order.grand_total == _usd("26.18")
    assert order.line("L1").price_source == "changed: price match"
    assert order.shipping_address == HOME
    assert order.order_discounts == (Discount.percentage(10, "loyalty"),)
    assert _reserved(service, order_id) == {"L1": Decimal(2), "L2": Decimal(1)}
    before = order.at_revision(1)
    assert (before.shipping, before.shipping_address, before.order_discounts) == (None, None, ())


def test_a_placed_order_changes_without_moving_stock_and_confirms_the_new_lines(
    service: SalesService,
) -> None:
    order_id = _order(service, confirm=False)
    requested = _request(service, order_id, ChangeAction.set_quantity("L1", 3))
    assert requested.preview.stock_needed == ()
    service.handle(ApproveChange(order_id=order_id, change_id="C1", actor="bob"))
    assert service.reservations(order_id) == ()
    service.handle(ConfirmOrder(order_id=order_id))
    assert _reserved(service, order_id) == {"L1": Decimal(3), "L2": Decimal(1)}


def test_an_increase_the_stock_cannot_serve_is_refused_or_backordered(
    service: SalesService, store: Any
) -> None:
    order_id = _order(service)
    _request(service, order_id, ChangeAction.set_quantity("L2", 6))  # 4 on hand, 1 reserved
    refused = _refused(
        service,
        store,
        order_id,
        ApproveChange(order_id=order_id, change_id="C1", actor="bob"),
        InsufficientStockError,
    )
    assert [(s.sku, s.requested, s.available) for s in refused.shortages] == [
        ("SKU-B", Decimal(5), Decimal(3))
    ]
    result = service.handle(
        ApproveChange(order_id=order_id, change_id="C1", actor="bob", on_shortage="backorder")
    )
    assert result.order.allocation_status == "partially_allocated"
    assert [(b.line_id, b.quantity) for b in result.order.backorders] == [("L2", Decimal(2))]
    assert _reserved(service, order_id) == {"L1": Decimal(2), "L2": Decimal(4)}
    # Lowering it again takes the backorder back first, then releases.
    _request(service, order_id, ChangeAction.set_quantity("L2", 3))
    service.handle(ApproveChange(order_id=order_id, change_id="C2", actor="bob"))
    order = service.get_order(order_id)
    assert (order.line("L2").allocated, order.line("L2").backordered) == (Decimal(3), Decimal(0))
    assert _reserved(service, order_id) == {"L1": Decimal(2), "L2": Decimal(3)}


def test_shipped_units_stay_and_the_rest_can_change(service: SalesService, store: Any) -> None:
    order_id = _order(service)
    service.handle(ShipOrder(order_id=order_id, lines=(ShipLine("L1", 1),)))
    _request(service, order_id, ChangeAction.set_quantity("L1", 1))
    service.handle(ApproveChange(order_id=order_id, change_id="C1", actor="bob"))
    order = service.get_order(order_id)
    assert order.line("L1").quantity == Decimal(1)
    assert order.totals.grand_total == Decimal("15.55")
    assert _reserved(service, order_id) == {"L2": Decimal(1)}
    with store.unit_of_work() as uow:
        stock = {(i.sku, i.warehouse_id): (i.on_hand, i.reserved) for i in uow.stock.items()}
    assert stock[("SKU-A", "W1")] == (Decimal(9), Decimal(0))


# --------------------------------------------------------------------------- decisions


def test_decline_needs_a_reason_and_keeps_the_order(service: SalesService, store: Any) -> None:
    order_id = _order(service)
    _request(service, order_id, ChangeAction.set_quantity("L1", 3))
    error = _refused(
        service,
        store,
        order_id,
        DeclineChange(order_id=order_id, change_id="C1", reason=" ", actor="bob"),
        ValidationError,
    )
    assert error.field == "reason"
    declined = service.handle(
        DeclineChange(order_id=order_id, change_id="C1", reason="price list closed", actor="bob")
    )
    assert declined.status is ChangeStatus.DECLINED
    assert (declined.change.decided_by, declined.change.decision_reason) == (
        "bob",
        "price list closed",
    )
    order = service.get_order(order_id)
    assert (order.revision, order.totals.grand_total) == (1, Decimal("25.55"))
    _refused(
        service,
        store,
        order_id,
        ApproveChange(order_id=order_id, change_id="C1", actor="bob"),
        OrderError,
    )
    assert _types(store, order_id)[-1] == "ChangeDeclined"


def test_only_the_requester_cancels_and_the_requester_may_not_decide(
    service: SalesService, store: Any
) -> None:
    order_id = _order(service)
    _request(service, order_id, ChangeAction.set_quantity("L1", 3))
    own = _refused(
        service,
        store,
        order_id,
        ApproveChange(order_id=order_id, change_id="C1", actor="ann"),
        ValidationError,
    )
    assert own.field == "actor"
    other = _refused(
        service,
        store,
        order_id,
        CancelChange(order_id=order_id, change_id="C1", actor="bob"),
        ValidationError,
    )
    assert other.field == "actor"
    cancelled = service.handle(CancelChange(order_id=order_id, change_id="C1", actor="ann"))
    assert cancelled.status is ChangeStatus.CANCELLED
    assert _types(store, order_id)[-1] == "ChangeCancelled"


def test_the_requester_may_approve_when_the_workflow_allows(store: Any, clock: ManualClock) -> None:
    service = _service(store, clock)
    order_id = _order(service)
    _request(service, order_id, ChangeAction.set_quantity("L1", 3))
    approved = service.handle(ApproveChange(order_id=order_id, change_id="C1", actor="ann"))
    assert approved.order.grand_total == _usd("35.55")


def test_a_change_requested_on_an_older_revision_is_refused(
    service: SalesService, store: Any
) -> None:
    order_id = _order(service)
    _request(service, order_id, ChangeAction.set_quantity("L1", 3))
    _request(service, order_id, ChangeAction.set_quantity("L1", 4))
    service.handle(ApproveChange(order_id=order_id, change_id="C2", actor="bob"))
    _refused(
        service,
        store,
        order_id,
        ApproveChange(order_id=order_id, change_id="C1", actor="bob"),
        OrderError,
    )


def test_a_repeated_approval_with_its_key_applies_once(service: SalesService, store: Any) -> None:
    order_id = _order(service)
    _request(service, order_id, ChangeAction.set_quantity("L1", 3))
    command = ApproveChange(order_id=order_id, change_id="C1", actor="bob", idempotency_key="k1")
    first = service.handle(command)
    again = service.handle(command)
    assert again == first
    assert _types(store, order_id).count("ChangeApproved") == 1
    assert _reserved(service, order_id) == {"L1": Decimal(3), "L2": Decimal(1)}


def test_drafts_are_edited_directly_and_placed_orders_point_at_request_change(
    service: SalesService,
) -> None:
    placed = service.get_order(service.handle(new_order(line("SKU-A", 1))).order_id)
    with pytest.raises(OrderNotEditableError, match="RequestChange"):
        placed.add_line("SKU-A", 1, "1.00", T0)
    draft = Order.create("D-1", "C-1", "USD", T0)
    draft.add_line("SKU-A", 1, "1.00", T0)
    with pytest.raises(OrderError, match="draft"):
        draft.request_change([ChangeAction.set_quantity("L1", 2)], T0, actor="a", reason="r")
    assert draft.changes == ()


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("action", "error", "field"),
    [
        (ChangeAction.set_quantity("L1", 0), InvalidQuantityError, "actions[0].quantity"),
        (ChangeAction.set_quantity("L1", -2), InvalidQuantityError, "actions[0].quantity"),
        (ChangeAction.set_quantity("L9", 2), ValidationError, "actions[0].line_id"),
        (ChangeAction.remove_line("L9"), ValidationError, "actions[0].line_id"),
        (
            ChangeAction.add_line("SKU-B", 1, Money("1.00", "EUR")),
            CurrencyMismatchError,
            "actions[0].unit_price",
        ),
        (
            ChangeAction.change_unit_price("L2", Money("1.00", "EUR"), "deal"),
            CurrencyMismatchError,
            "actions[0].unit_price",
        ),
        (
            ChangeAction.shipping_charge(Money("1.00", "EUR")),
            CurrencyMismatchError,
            "actions[0].amount",
        ),
        (ChangeAction.change_unit_price("L2", "4.00", ""), ValidationError, "actions[0].note"),
        (ChangeAction.shipping_charge("-1.00"), ValidationError, "actions[0].amount"),
        (
            ChangeAction.add_line("SKU-B", "1.5", "1.00"),
            InvalidQuantityError,
            "actions[0].quantity",
        ),
        # Below what has shipped (L1 shipped 1), a price change of a shipped line, removing it.
        (ChangeAction.set_quantity("L1", "0.5"), InvalidQuantityError, "actions[0].quantity"),
        (ChangeAction.change_unit_price("L1", "9", "deal"), ValidationError, "actions[0].line_id"),
        (ChangeAction.remove_line("L1"), ValidationError, "actions[0].line_id"),
    ],
)
def test_bad_changes_are_refused_naming_the_field_and_change_nothing(
    service: SalesService, store: Any, action: ChangeAction, error: type[Exception], field: str
) -> None:
    order_id = _order(service)
    service.handle(ShipOrder(order_id=order_id, lines=(ShipLine("L1", 1),)))
    refused = _refused(
        service,
        store,
        order_id,
        RequestChange(order_id=order_id, actions=(action,), reason="r", actor="ann"),
        error,
    )
    assert refused.field == field


def test_a_change_to_a_shipped_quantity_is_refused(service: SalesService, store: Any) -> None:
    order_id = _order(service)
    service.handle(ShipOrder(order_id=order_id, lines=(ShipLine("L1", 2),)))
    refused = _refused(
        service,
        store,
        order_id,
        RequestChange(
            order_id=order_id,
            actions=(ChangeAction.set_quantity("L1", 1),),
            reason="r",
            actor="ann",
        ),
        ValidationError,
    )
    assert refused.field == "actions[0].quantity"
    assert "already shipped" in str(refused)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"actions": ()}, "actions"),
        ({"reason": ""}, "reason"),
        ({"actor": ""}, "actor"),
        ({"actions": (ChangeAction.set_quantity("L1", 2),)}, "actions[0].quantity"),
        ({"actions": ("L1",)}, "actions[0]"),
        (
            {"actions": (ChangeAction.set_quantity("L1", 3), ChangeAction.set_quantity("L1", 4))},
            "actions[1].line_id",
        ),
        (
            {"actions": (ChangeAction.remove_line("L1"), ChangeAction.remove_line("L2"))},
            "actions",
        ),
    ],
)
def test_bad_requests_are_refused(
    service: SalesService, store: Any, fields: dict[str, Any], field: str
) -> None:
    order_id = _order(service)
    base: dict[str, Any] = {
        "order_id": order_id,
        "actions": (ChangeAction.set_quantity("L1", 3),),
        "reason": "r",
        "actor": "ann",
    }
    refused = _refused(
        service, store, order_id, RequestChange(**{**base, **fields}), ValidationError
    )
    assert refused.field == field


def test_bad_decisions_are_refused(service: SalesService, store: Any) -> None:
    order_id = _order(service)
    _request(service, order_id, ChangeAction.set_quantity("L1", 3))
    for command, field in [
        (ApproveChange(order_id=order_id, change_id="C9", actor="bob"), "change_id"),
        (ApproveChange(order_id=order_id, change_id="C1", actor=""), "actor"),
        (
            ApproveChange(order_id=order_id, change_id="C1", actor="bob", on_shortage="wait"),
            "on_shortage",
        ),
    ]:
        assert _refused(service, store, order_id, command, ValidationError).field == field


def test_cancelling_the_order_withdraws_its_pending_changes(store: Any, clock: ManualClock) -> None:
    service = bootstrap(store=store, clock=clock, sleep=lambda _s: None)
    service.handle(RegisterWarehouse(warehouse=Warehouse("W1")))
    service.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=20))
    order_id = service.handle(new_order(line("SKU-A", 2, "5.00"), confirm=True)).order_id
    service.handle(
        RequestChange(
            order_id=order_id,
            actions=(ChangeAction.set_quantity("L1", 3),),
            reason="one more",
            actor="sales",
        )
    )
    assert [r.change.id for r in service.changes_awaiting_review()] == ["C1"]
    service.handle(CancelOrder(order_id=order_id, reason="customer left", actor="cs"))
    change = service.get_order(order_id).changes[0]
    assert change.status is ChangeStatus.CANCELLED
    assert (change.decided_by, change.decision_reason) == ("cs", "the order was cancelled")
    assert service.changes_awaiting_review() == ()
    assert service.reconcile_stock() == ()
    assert _types(store, order_id)[-2:] == ["OrderCancelled", "ChangeCancelled"]
