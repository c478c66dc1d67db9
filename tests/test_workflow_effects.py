"""Transition effects: a workflow binds reserve, release and consume to its transitions, the
default workflow uses the same mechanism, and a host's approval workflow reserves on approval
with no code beyond its definition — on the memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from salesorders.domain.order import Order
from salesorders.domain.plan import AllocationPlan
from salesorders.domain.snapshot import IncomingStock
from salesorders.domain.warehouse import Warehouse
from salesorders.domain.workflow import (
    CONSUME,
    EFFECTS,
    NOTHING_SHIPPED,
    RELEASE,
    RESERVE,
    WorkflowBuilder,
    default_workflow,
)
from salesorders.errors import (
    InsufficientStockError,
    InvalidTransitionError,
    ValidationError,
    WorkflowDefinitionError,
)
from salesorders.service import (
    BackorderedLine,
    CancelOrder,
    ConfirmOrder,
    ExpectStock,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
    ShipLine,
    ShipOrder,
    TransitionOrder,
    bootstrap,
)
from support.stores import STORE_KINDS, fresh_store
from test_fulfilment import T0, _refused, _types
from test_service_support import line, new_order

#: A host's approval workflow: placed → awaiting_approval → confirmed, reserving on approval.
APPROVAL = (
    default_workflow()
    .extend("approved-order", version=1)
    .add_state("awaiting_approval")
    .remove_transition("confirm", "placed")
    .add_transition("submit", "placed", "awaiting_approval")
    .add_transition("approve", "awaiting_approval", "confirmed", effects=[RESERVE])
    .add_transition("reject", "awaiting_approval", "cancelled", effects=[RELEASE])
    .build()
)

#: A host that lets a partly shipped order be cancelled: what has not shipped is cancelled.
SHORT_CANCEL = (
    default_workflow()
    .extend("short-cancel-order", version=1)
    .remove_transition("cancel")
    .add_transition(
        "cancel", ["draft", "placed", "confirmed", "on_hold"], "cancelled", effects=[RELEASE]
    )
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
def service(store: Any, clock: ManualClock) -> SalesService:
    """SKU-A 3 in W1 and 10 in W2, SKU-B 5 in W1, with the host workflows."""
    built = bootstrap(
        store=store, clock=clock, workflows=[APPROVAL, SHORT_CANCEL], sleep=lambda _s: None
    )
    built.handle(RegisterWarehouse(warehouse=Warehouse("W1", priority=1)))
    built.handle(RegisterWarehouse(warehouse=Warehouse("W2", priority=2)))
    built.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=3, reason="PO-1"))
    built.handle(ReceiveStock(sku="SKU-A", warehouse_id="W2", quantity=10, reason="PO-2"))
    built.handle(ReceiveStock(sku="SKU-B", warehouse_id="W1", quantity=5, reason="PO-1"))
    return built


def _reserved(store: Any, order_id: str) -> Decimal:
    with store.unit_of_work() as uow:
        return sum((r.open for r in uow.stock.reservations(order_id)), Decimal(0))


# --------------------------------------------------------------------------- definitions


def test_the_default_workflow_binds_its_stock_effects_by_name() -> None:
    effects = {(t.source, t.event): t.effects for t in default_workflow().transitions}
    assert effects[("placed", "confirm")] == (RESERVE,)
    assert effects[("confirmed", "ship")] == (CONSUME,)
    for source in ("draft", "placed", "confirmed", "on_hold"):
        assert effects[(source, "cancel")] == (RELEASE,)
    assert effects[("on_hold", "resume")] == ()
    assert set(EFFECTS) == {RESERVE, RELEASE, CONSUME}
    cancel = next(t for t in default_workflow().transitions if t.event == "cancel")
    assert cancel.guards == (NOTHING_SHIPPED,)


def test_unknown_and_contradictory_effects_are_build_errors() -> None:
    builder = (
        WorkflowBuilder("bad-effects")
        .add_state("open", initial=True)
        .add_state("done", final=True)
        .add_transition("finish", "open", "done", effects=["teleport", RESERVE, RELEASE])
        .add_transition("close", "open", "done", effects=[RESERVE, RESERVE])
    )
    with pytest.raises(WorkflowDefinitionError) as caught:
        builder.build()
    problems = caught.value.problems
    assert any(
        "unknown effect 'teleport'" in p and "reserve, release, consume" in p for p in problems
    )
    assert any("both reserves and releases" in p for p in problems)
    assert any("names an effect twice" in p for p in problems)


def test_nothing_shipped_is_a_built_in_guard_name() -> None:
    with pytest.raises(WorkflowDefinitionError, match="built in"):
        default_workflow().extend("mine").guard(NOTHING_SHIPPED, lambda _o: True).build()


def test_effects_survive_extend_and_show_in_the_diagram() -> None:
    assert APPROVAL.transition("awaiting_approval", "approve", object()).effects == (RESERVE,)
    assert "awaiting_approval --> confirmed : approve / reserve" in APPROVAL.to_mermaid()
    assert APPROVAL.event_with("confirmed", CONSUME) == "ship"
    assert APPROVAL.event_with("placed", CONSUME) is None


def test_a_plan_on_a_transition_that_does_not_reserve_is_refused() -> None:
    order = Order.create("O-1", "C-1", "EUR", T0, workflow=APPROVAL)
    order.add_line("SKU-A", 1, Decimal("1.00"), T0)
    order.place("N-1", T0)
    before = (order.state, order.lines, order.audit)
    with pytest.raises(ValidationError) as caught:
        order.transition("submit", T0, plan=AllocationPlan("O-1"))
    assert caught.value.field == "plan"
    assert "does not reserve stock" in str(caught.value)
    assert (order.state, order.lines, order.audit) == before


# --------------------------------------------------------------------------- approval, end to end


def test_an_approval_workflow_reserves_on_approval_and_runs_to_completion(
    service: SalesService, store: Any
) -> None:
    placed = service.handle(
        new_order(line("SKU-A", 4), line("SKU-B", 1), workflow="approved-order")
    )
    assert placed.state == "placed"
    refused = _refused(
        service, store, placed.order_id, ConfirmOrder(order_id=placed.order_id), Exception
    )
    assert isinstance(refused, InvalidTransitionError)
    submitted = service.handle(TransitionOrder(order_id=placed.order_id, event="submit"))
    assert (submitted.state, submitted.allocation_status) == ("awaiting_approval", "unallocated")
    assert _reserved(store, placed.order_id) == 0

    approved = service.handle(
        TransitionOrder(
            order_id=placed.order_id, event="approve", reason="credit ok", actor="mgr:ana"
        )
    )
    assert (approved.state, approved.allocation_status) == ("confirmed", "allocated")
    assert _reserved(store, placed.order_id) == 5
    assert _types(store, placed.order_id)[-2:] == ["OrderTransitioned", "OrderAllocationChanged"]
    order = service.get_order(placed.order_id)
    assert order.audit[-1].actor == "mgr:ana"
    assert [(ln.allocated, ln.backordered) for ln in order.lines] == [(4, 0), (1, 0)]

    shipped = service.handle(ShipOrder(order_id=placed.order_id))
    assert shipped.state == "shipped"
    assert len(shipped.shipment_ids) == 2  # SKU-A from W1 and W2
    assert _reserved(store, placed.order_id) == 0


def test_rejection_releases_and_approval_can_backorder_with_its_expected_date(
    service: SalesService, store: Any
) -> None:
    eta = dt.date(2026, 3, 20)
    service.handle(ExpectStock(incoming=IncomingStock("PO-9", "SKU-B", "W1", Decimal(10), eta)))
    order_id = service.handle(new_order(line("SKU-B", 8), workflow="approved-order")).order_id
    service.handle(TransitionOrder(order_id=order_id, event="submit"))
    all_or_nothing = TransitionOrder(order_id=order_id, event="approve", all_or_nothing=True)
    _refused(service, store, order_id, all_or_nothing, InsufficientStockError)

    approved = service.handle(TransitionOrder(order_id=order_id, event="approve"))
    assert approved.allocation_status == "partially_allocated"
    assert approved.backorders == (BackorderedLine("L1", "SKU-B", Decimal(3), eta),)
    with store.unit_of_work() as uow:
        changed = uow.outbox.messages(order_id)[-1]
    assert changed.event_type == "OrderAllocationChanged"
    assert [list(b) for b in changed.payload["backorders"]] == [["L1", "3", "2026-03-20"]]

    other = service.handle(new_order(line("SKU-A", 2), workflow="approved-order")).order_id
    service.handle(TransitionOrder(order_id=other, event="submit"))
    rejected = service.handle(TransitionOrder(order_id=other, event="reject", reason="no credit"))
    assert (rejected.state, _reserved(store, other)) == ("cancelled", 0)


def test_confirmation_records_when_backordered_stock_is_expected(
    service: SalesService, store: Any
) -> None:
    early, late = dt.date(2026, 3, 10), dt.date(2026, 3, 25)
    service.handle(ExpectStock(incoming=IncomingStock("PO-1", "SKU-A", "W1", Decimal(4), early)))
    service.handle(ExpectStock(incoming=IncomingStock("PO-2", "SKU-A", "W2", Decimal(20), late)))
    result = service.handle(new_order(line("SKU-A", 20), confirm=True))
    assert result.allocation_status == "partially_allocated"
    # 13 on hand; of the 7 backordered, 4 come on the 10th and 3 on the 25th: complete on the 25th
    assert result.backorders == (BackorderedLine("L1", "SKU-A", Decimal(7), late),)
    assert service.get_order(result.order_id).lines[0].backorder_expected == late
    with store.unit_of_work() as uow:
        confirmed = [
            m for m in uow.outbox.messages(result.order_id) if m.event_type == "OrderConfirmed"
        ]
    assert [list(b) for b in confirmed[0].payload["backorders"]] == [["L1", "7", "2026-03-25"]]


# --------------------------------------------------------------------------- generic firing


def test_transition_order_runs_the_default_effects_too(service: SalesService, store: Any) -> None:
    placed = service.handle(new_order(line("SKU-A", 2)))
    confirmed = service.handle(TransitionOrder(order_id=placed.order_id, event="confirm"))
    assert (confirmed.state, _reserved(store, placed.order_id)) == ("confirmed", 2)
    cancelled = service.handle(TransitionOrder(order_id=placed.order_id, event="cancel"))
    assert (cancelled.state, _reserved(store, placed.order_id)) == ("cancelled", 0)

    other = service.handle(new_order(line("SKU-A", 2), confirm=True)).order_id
    shipped = service.handle(TransitionOrder(order_id=other, event="ship", actor="wh:li"))
    assert (shipped.state, _reserved(store, other)) == ("shipped", 0)
    assert service.get_order(other).shipments[0].lines[0].quantity == 2


def test_the_default_workflow_refuses_to_cancel_a_partly_shipped_order(
    service: SalesService, store: Any
) -> None:
    order_id = service.handle(new_order(line("SKU-A", 5), confirm=True)).order_id
    service.handle(ShipOrder(order_id=order_id, lines=(ShipLine("L1", 1),)))
    error = _refused(
        service, store, order_id, CancelOrder(order_id=order_id, reason="late"), Exception
    )
    assert getattr(error, "guard", None) == NOTHING_SHIPPED
    assert "CancelLines" in str(error)


def test_a_workflow_without_the_guard_cancels_only_what_has_not_shipped(
    service: SalesService, store: Any
) -> None:
    order_id = service.handle(
        new_order(
            line("SKU-A", 5), line("SKU-B", 2, "4.00"), confirm=True, workflow="short-cancel-order"
        )
    ).order_id
    service.handle(ShipOrder(order_id=order_id, lines=(ShipLine("L1", 3),)))
    cancelled = service.handle(CancelOrder(order_id=order_id, reason="customer left"))
    assert cancelled.state == "cancelled"
    assert _reserved(store, order_id) == 0
    order = service.get_order(order_id)
    assert [(ln.cancelled, ln.open_quantity, ln.allocated) for ln in order.lines] == [
        (2, 3, 3),
        (2, 0, 0),
    ]
    assert order.totals.grand_total == Decimal("30.00")  # the 3 shipped at 10.00


def test_place_and_confirm_in_one_command_follows_the_workflow_effects(
    store: Any, clock: ManualClock
) -> None:
    no_reserve = (
        default_workflow()
        .extend("reserve-on-release", version=1)
        .remove_transition("confirm", "placed")
        .add_transition("confirm", "placed", "confirmed")
        .build()
    )
    service = bootstrap(store=store, clock=clock, workflows=[no_reserve], sleep=lambda _s: None)
    result = service.handle(
        PlaceOrder(
            customer_id="C-1",
            currency="USD",
            lines=(line("SKU-Z", 1),),
            confirm=True,
            workflow="reserve-on-release",
        )
    )
    assert (result.state, result.allocation_status) == ("confirmed", "unallocated")
    assert _reserved(store, result.order_id) == 0
