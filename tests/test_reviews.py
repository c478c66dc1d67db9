"""One list of what awaits review — manual payments, order changes and returns — on every store:
oldest request first, filtered by kind, emptied by the decisions, each decision recording who
decided, when and why; a bad kind is refused naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money

from salesorders.domain.changes import ChangeAction
from salesorders.errors import ValidationError
from salesorders.service import (
    ApproveChange,
    ApprovePayment,
    ApproveReturn,
    DeclineChange,
    ManualClock,
    PlaceOrder,
    RecordPayment,
    RejectPayment,
    RejectReturn,
    RequestChange,
    RequestReturn,
    ReturnItem,
    ReviewItem,
    ReviewKind,
    SalesService,
)
from salesorders.testing.fakes import FakePaymentGateway
from support.returns import DAY, T0, delivered_order, returns_service, spec
from support.stores import STORE_KINDS, fresh_store


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def service(store: Any, clock: ManualClock) -> SalesService:
    return returns_service(store, clock, FakePaymentGateway(), distinct_approver=True)


def _three_requests(service: SalesService, clock: ManualClock) -> tuple[str, str]:
    """A return (first), a change (second) and a manual payment (third) awaiting review."""
    delivered = delivered_order(service, clock, (spec("SKU-A", 2, "10.00"),))
    clock.advance(DAY)
    service.handle(
        RequestReturn(order_id=delivered, lines=(ReturnItem("L1", 1, "defective"),), actor="cs:mia")
    )
    clock.advance(DAY)
    open_order = service.handle(
        PlaceOrder(
            customer_id="C-2",
            currency="USD",
            lines=(spec("SKU-B", 2, "7.50"),),
            confirm=True,
        )
    ).order_id
    service.handle(
        RequestChange(
            order_id=open_order,
            actions=(ChangeAction.set_quantity("L1", 3),),
            reason="one more",
            actor="sales:bo",
        )
    )
    clock.advance(DAY)
    service.handle(
        RecordPayment(
            order_id=open_order,
            method="bank_transfer",
            amount="15.00",
            reference="BANK-1",
            actor="sales:bo",
        )
    )
    return delivered, open_order


def test_everything_awaiting_review_oldest_first(service: SalesService, clock: ManualClock) -> None:
    delivered, open_order = _three_requests(service, clock)
    waiting = service.awaiting_review()
    assert [(i.kind, i.order_id, i.item_id) for i in waiting] == [
        (ReviewKind.RETURN, delivered, "R1"),
        (ReviewKind.CHANGE, open_order, "C1"),
        (ReviewKind.PAYMENT, open_order, "P1"),
    ]
    ret, change, payment = waiting
    assert (ret.requested_by, ret.amount) == ("cs:mia", Money("10.00", "USD"))
    assert (change.requested_by, change.amount) == ("sales:bo", Money("7.50", "USD"))
    assert (payment.requested_by, payment.amount) == ("sales:bo", Money("15.00", "USD"))
    assert ret.requested_at < change.requested_at < payment.requested_at
    assert isinstance(ret, ReviewItem) and ret.number is not None
    # each kind's own query agrees with the combined one
    assert [r.order_return.id for r in service.returns_awaiting_review()] == ["R1"]
    assert [r.change.id for r in service.changes_awaiting_review()] == ["C1"]
    assert [r.payment.id for r in service.payments_awaiting_review()] == ["P1"]


def test_filtered_by_kind_and_limited(service: SalesService, clock: ManualClock) -> None:
    _three_requests(service, clock)
    assert [i.kind for i in service.awaiting_review("change")] == [ReviewKind.CHANGE]
    assert [i.kind for i in service.awaiting_review(ReviewKind.PAYMENT)] == [ReviewKind.PAYMENT]
    assert [i.kind for i in service.awaiting_review(limit=2)] == [
        ReviewKind.RETURN,
        ReviewKind.CHANGE,
    ]


def test_a_bad_kind_or_limit_is_refused_naming_the_field(
    service: SalesService, clock: ManualClock
) -> None:
    _three_requests(service, clock)
    with pytest.raises(ValidationError) as refused:
        service.awaiting_review("refund")
    assert refused.value.field == "kind"
    assert "payment, change, return" in str(refused.value)
    with pytest.raises(ValidationError) as too_many:
        service.awaiting_review(limit=0)
    assert too_many.value.field == "limit"


def test_decisions_empty_the_list_and_record_who_when_and_why(
    service: SalesService, clock: ManualClock
) -> None:
    delivered, open_order = _three_requests(service, clock)
    clock.advance(DAY)
    service.handle(
        ApproveReturn(order_id=delivered, return_id="R1", reason="photo", actor="cs:lead")
    )
    service.handle(
        DeclineChange(order_id=open_order, change_id="C1", reason="too late", actor="mgr:ana")
    )
    service.handle(
        RejectPayment(order_id=open_order, payment_id="P1", reason="not seen", actor="fin:jo")
    )
    assert service.awaiting_review() == ()
    now = clock.now()
    ret = service.get_order(delivered).returns[0]
    change = service.get_order(open_order).changes[0]
    payment = service.get_order(open_order).payments[0]
    assert (ret.decided_by, ret.decided_at, ret.decision_reason) == ("cs:lead", now, "photo")
    assert (change.decided_by, change.decided_at, change.decision_reason) == (
        "mgr:ana",
        now,
        "too late",
    )
    assert (payment.decided_by, payment.decided_at, payment.decision_reason) == (
        "fin:jo",
        now,
        "not seen",
    )


def test_the_requester_cannot_decide_any_kind_when_the_service_forbids_it(
    service: SalesService, clock: ManualClock
) -> None:
    delivered, open_order = _three_requests(service, clock)
    before = service.awaiting_review()
    decisions = [
        ApproveReturn(order_id=delivered, return_id="R1", reason="ok", actor="cs:mia"),
        RejectReturn(order_id=delivered, return_id="R1", reason="no", actor="cs:mia"),
        ApproveChange(order_id=open_order, change_id="C1", actor="sales:bo"),
        ApprovePayment(order_id=open_order, payment_id="P1", actor="sales:bo"),
    ]
    for decision in decisions:
        with pytest.raises(ValidationError) as refused:
            service.handle(decision)
        assert refused.value.field == "actor"
    assert service.awaiting_review() == before
