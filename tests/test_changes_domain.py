"""The change verbs of the Order aggregate, without a store: the preview leaves the order as it
is, approval keeps every earlier revision, a refused verb changes nothing, the events say what
happened, and a changed order survives a round trip through the serializer."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moneyed import Money

from salesorders.domain import events as ev
from salesorders.domain.changes import ChangeAction, ChangeKind, ChangeStatus
from salesorders.domain.order import Order
from salesorders.domain.plan import Allocation, AllocationPlan
from salesorders.errors import (
    InsufficientStockError,
    OrderError,
    SalesOrdersError,
    ValidationError,
)
from salesorders.serialization import Serializer
from salesorders.testing import strategies as sst
from test_fulfilment import HOUR, T0


def _placed() -> Order:
    order = Order.create("O-1", "C-1", "EUR", T0)
    order.add_line("TEA", 2, "4.20", T0)
    order.add_line("CUP", 1, "9.99", T0)
    order.place("SO-1", T0)
    order.pull_events()
    return order


def _confirmed() -> Order:
    order = Order.create("O-1", "C-1", "EUR", T0)
    order.add_line("TEA", 2, "4.20", T0)
    plan = AllocationPlan("O-1", (Allocation("L1", "TEA", "W1", Decimal(2)),))
    order.place("SO-1", T0)
    order.confirm(T0, plan=plan)
    order.pull_events()
    return order


def test_the_preview_is_exact_and_the_order_is_untouched_until_approval() -> None:
    order = _placed()
    before = copy.deepcopy(order)
    change = order.request_change(
        [ChangeAction.set_quantity("L1", 5)], T0, actor="ann", reason="more tea"
    )
    assert change.preview.grand_total == Money("30.99", "EUR")
    assert change.preview.difference == Money("12.60", "EUR")
    assert (order.lines, order.totals, order.revision) == (before.lines, before.totals, 1)
    assert [type(e) for e in order.pull_events()] == [ev.ChangeRequested]


def test_approval_keeps_every_revision_and_at_revision_reads_them() -> None:
    order = _placed()
    order.request_change([ChangeAction.set_quantity("L1", 3)], T0, actor="ann", reason="r")
    order.approve_change("C1", T0 + HOUR, actor="bob")
    order.request_change([ChangeAction.remove_line("L2")], T0, actor="ann", reason="r")
    order.approve_change("C2", T0 + 2 * HOUR, actor="bob", reason="ok")
    assert order.revision == 3
    totals = [order.at_revision(n).totals.grand_total for n in (1, 2, 3)]
    assert totals == [Decimal("18.39"), Decimal("22.59"), Decimal("12.60")]
    assert [r.change_id for r in order.revisions] == ["C1", "C2"]
    assert order.change(order.revisions[1].change_id).actions == (ChangeAction.remove_line("L2"),)
    assert [ln.line_id for ln in order.at_revision(2).lines] == ["L1", "L2"]
    with pytest.raises(ValidationError) as caught:
        order.at_revision(4)
    assert caught.value.field == "revision"
    events = order.pull_events()
    approved = [e for e in events if isinstance(e, ev.ChangeApproved)]
    assert [(e.change_id, e.revision, e.grand_total, e.difference) for e in approved] == [
        ("C1", 2, "22.59", "4.20"),
        ("C2", 3, "12.60", "-9.99"),
    ]


def test_a_refused_verb_leaves_the_order_as_it_was() -> None:
    order = _placed()
    order.request_change([ChangeAction.set_quantity("L1", 3)], T0, actor="ann", reason="r")
    order.pull_events()
    before = copy.deepcopy(order)
    for attempt in (
        lambda: order.request_change(
            [ChangeAction.set_quantity("L1", 4), ChangeAction.set_quantity("X", 1)],
            T0,
            actor="ann",
            reason="r",
        ),
        lambda: order.approve_change("C1", T0, actor="ann", distinct_approver=True),
        lambda: order.decline_change("C1", T0, actor="bob", reason=""),
        lambda: order.cancel_change("C1", T0, actor="bob"),
        lambda: order.approve_change("C1", T0, actor="bob", on_shortage="later"),
    ):
        with pytest.raises(ValidationError):
            attempt()
        assert order == before
        assert order.pull_events() == []


def test_an_increase_of_a_confirmed_order_needs_its_plan_or_a_backorder() -> None:
    order = _confirmed()
    order.request_change([ChangeAction.set_quantity("L1", 5)], T0, actor="ann", reason="r")
    demand = order.change_demand("C1", actor="bob")
    assert [(d.line_id, d.sku, d.quantity) for d in demand.request.lines] == [
        ("L1", "TEA", Decimal(3))
    ]
    with pytest.raises(InsufficientStockError):
        order.approve_change("C1", T0, actor="bob")
    assert order.revision == 1
    plan = AllocationPlan("O-1", (Allocation("L1", "TEA", "W1", Decimal(1)),))
    freed = order.approve_change("C1", T0, actor="bob", plan=plan, on_shortage="backorder")
    assert freed == {}
    assert (order.line("L1").allocated, order.line("L1").backordered) == (Decimal(3), Decimal(2))
    order.request_change([ChangeAction.set_quantity("L1", 1)], T0, actor="ann", reason="r")
    freed = order.approve_change("C2", T0, actor="bob")
    assert freed == {"L1": Decimal(2)}  # the backorder goes first, then two reserved units
    assert (order.line("L1").allocated, order.line("L1").backordered) == (Decimal(1), Decimal(0))


def test_decisions_are_recorded_and_final() -> None:
    order = _placed()
    order.request_change([ChangeAction.set_quantity("L1", 3)], T0, actor="ann", reason="r")
    declined = order.decline_change("C1", T0 + HOUR, actor="bob", reason="too late")
    assert (declined.status, declined.decided_by, declined.decided_at) == (
        ChangeStatus.DECLINED,
        "bob",
        T0 + HOUR,
    )
    with pytest.raises(OrderError):
        order.cancel_change("C1", T0, actor="ann")
    assert order.revision == 1


def test_a_changed_order_survives_the_serializer() -> None:
    order = _placed()
    order.request_change(
        [
            ChangeAction.add_line("JAM", 2, Money("3.10", "EUR")),
            ChangeAction.change_unit_price("L2", "8.99", "loyal customer"),
        ],
        T0,
        actor="ann",
        reason="r",
    )
    order.approve_change("C1", T0, actor="bob")
    serializer = Serializer()
    loaded = serializer.load(serializer.dump(order), Order)
    assert loaded == order
    assert loaded.at_revision(1) == order.at_revision(1)
    assert [a.kind for a in loaded.change("C1").actions] == [
        ChangeKind.ADD_LINE,
        ChangeKind.CHANGE_UNIT_PRICE,
    ]


@settings(max_examples=150, deadline=None)
@given(
    order=sst.orders(currency="USD"),
    actions=st.lists(sst.change_actions("USD"), min_size=1, max_size=3),
)
def test_any_request_is_previewed_exactly_or_refused_changing_nothing(
    order: Order, actions: list[ChangeAction]
) -> None:
    before = copy.deepcopy(order)
    try:
        change = order.request_change(actions, T0, actor="ann", reason="r")
    except SalesOrdersError:
        assert order == before
        return
    figures = order.payment_figures
    assert change.preview.grand_total_before == before.totals.grand_total
    assert change.preview.balance_due == max(
        change.preview.totals.grand_total - figures.net_paid, Decimal(0)
    )
    assert (order.lines, order.totals, order.revision) == (before.lines, before.totals, 1)
    if order.state in order.workflow.finals:
        return
    order.approve_change(change.id, T0, actor="bob", on_shortage="backorder")
    assert order.totals == change.preview.totals
    assert order.at_revision(1).totals == before.totals
