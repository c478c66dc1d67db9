"""Returns through the service on every store: request, review (who, when, why; a distinct
approver), receipt with inspection per unit (restock through the stock engine, or write-off),
the exact refund and its gap-free credit note, refunded to the original payments or kept as
store credit; the order's return figures; the review query; and bad input refused, changing
nothing."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from moneyed import Money

from salesorders.domain.payments import PaymentState
from salesorders.domain.pricing import Discount
from salesorders.domain.returns import ReturnState, ReturnStatus, Settlement
from salesorders.errors import (
    CurrencyMismatchError,
    InvalidQuantityError,
    OrderError,
    ReturnWindowError,
    SalesOrdersError,
    UnknownWarehouseError,
    ValidationError,
)
from salesorders.service import (
    ApproveReturn,
    AuthorizePayment,
    CapturePayment,
    ManualClock,
    PlaceOrder,
    ReceiveReturn,
    RefundPayment,
    RejectReturn,
    RequestReturn,
    ReturnItem,
    SalesService,
)
from salesorders.testing.fakes import FakePaymentGateway
from support.returns import (
    DAY,
    T0,
    delivered_order,
    on_hand,
    restock,
    returns_service,
    spec,
    write_off,
)
from support.stores import STORE_KINDS, fresh_store
from test_fulfilment import _refused, _types


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


@pytest.fixture
def gateway() -> FakePaymentGateway:
    return FakePaymentGateway()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def service(store: Any, clock: ManualClock, gateway: FakePaymentGateway) -> SalesService:
    return returns_service(store, clock, gateway)


def _usd(amount: str) -> Money:
    return Money(amount, "USD")


def _approved(service: SalesService, order_id: str, *items: ReturnItem) -> str:
    requested = service.handle(RequestReturn(order_id=order_id, lines=items, actor="ana"))
    return_id = service.get_order(requested.order_id).returns[-1].id
    service.handle(ApproveReturn(order_id=order_id, return_id=return_id, actor="lee", reason="ok"))
    return return_id


# --------------------------------------------------------------------------- the whole path


def test_a_return_is_requested_approved_received_and_refunded_to_the_cent(
    service: SalesService, store: Any, clock: ManualClock, gateway: FakePaymentGateway
) -> None:
    order_id = delivered_order(
        service, clock, (spec("SKU-A", 3, "10.00"), spec("SKU-B", 1, "5.00"))
    )
    clock.advance(DAY)
    requested = service.handle(
        RequestReturn(
            order_id=order_id,
            lines=(ReturnItem("L1", 2, "defective"),),
            note="cracked screen",
            actor="ana",
        )
    )
    assert requested.order_id == order_id
    order = service.get_order(order_id)
    (ret,) = order.returns
    assert (ret.id, ret.state, ret.requested_by, ret.estimate) == (
        "R1",
        ReturnState.REQUESTED,
        "ana",
        Decimal("20.00"),
    )
    assert order.return_status is ReturnStatus.REQUESTED
    awaiting = service.returns_awaiting_review()
    assert [(a.order_id, a.order_return.id) for a in awaiting] == [(order_id, "R1")]

    service.handle(ApproveReturn(order_id=order_id, return_id="R1", actor="lee", reason="photo"))
    approved = service.get_order(order_id).order_return("R1")
    assert (approved.state, approved.decided_by, approved.decision_reason) == (
        ReturnState.APPROVED,
        "lee",
        "photo",
    )
    assert approved.decided_at == clock.now()
    assert service.returns_awaiting_review() == ()

    before = on_hand(service, "SKU-A")
    result = service.handle(
        ReceiveReturn(
            order_id=order_id,
            return_id="R1",
            inspections=(restock("L1", 1), write_off("L1", 1)),
            actor="wes",
        )
    )
    assert on_hand(service, "SKU-A") == before + 1  # the written-off unit moved no stock
    order = service.get_order(order_id)
    (note,) = order.credit_notes
    assert note.number == f"CN-{clock.now().year}-000001"
    assert (note.amount, note.refunded, note.settlement) == (
        Decimal("20.00"),
        Decimal("20.00"),
        Settlement.ORIGINAL_PAYMENT,
    )
    assert order.returned_quantities() == {"L1": Decimal(2)}
    assert order.return_status is ReturnStatus.PARTIALLY_RETURNED
    assert result.return_status == "partially_returned"
    assert order.amount_owed == Decimal("15.00")
    assert (result.payment_status, result.balance_due, result.customer_credit) == (
        "paid",
        _usd("0.00"),
        _usd("0.00"),
    )
    assert gateway.refunded(order_id) == Decimal("20.00")
    assert _types(store, order_id)[-4:] == [
        "ReturnApproved",
        "PaymentRefunded",
        "ReturnReceived",
        "CreditNoteIssued",
    ]


def test_returning_everything_refunds_exactly_what_was_paid_with_discounts_and_shipping(
    service: SalesService, clock: ManualClock, gateway: FakePaymentGateway
) -> None:
    order_id = delivered_order(
        service,
        clock,
        (spec("SKU-A", 3, "9.99"), spec("SKU-B", 7, "3.33")),
        discounts=(Discount.percentage("15"),),
        shipping="4.99",
    )
    paid = service.get_order(order_id).payment_figures.net_paid
    for quantity in (1, 1, 1):
        return_id = _approved(service, order_id, ReturnItem("L1", quantity, "damaged"))
        service.handle(
            ReceiveReturn(order_id=order_id, return_id=return_id, inspections=(restock("L1", 1),))
        )
    return_id = _approved(service, order_id, ReturnItem("L2", 7, "wrong_item"))
    service.handle(
        ReceiveReturn(order_id=order_id, return_id=return_id, inspections=(write_off("L2", 7),))
    )
    order = service.get_order(order_id)
    assert sum(note.amount for note in order.credit_notes) == paid
    assert gateway.refunded(order_id) == paid
    assert order.return_status is ReturnStatus.RETURNED
    assert order.payment_figures.net_paid == 0
    assert order.payment("P1").status is PaymentState.REFUNDED
    assert [note.number[-6:] for note in order.credit_notes] == [
        "000001",
        "000002",
        "000003",
        "000004",
    ]


def test_solidus_512_an_item_refund_carries_its_share_of_the_order_discount(
    service: SalesService, clock: ManualClock
) -> None:
    """Solidus #512: refunding an item ignored the order-level discount and refunded its full
    price. Here a 20 % order discount makes one 50.00 item worth 40.00 back, not 50.00."""
    order_id = delivered_order(
        service,
        clock,
        (spec("SKU-A", 1, "50.00"), spec("SKU-B", 1, "50.00")),
        discounts=(Discount.percentage("20"),),
    )
    assert service.get_order(order_id).grand_total == _usd("80.00")
    return_id = _approved(service, order_id, ReturnItem("L1", 1, "no_reason"))
    service.handle(
        ReceiveReturn(order_id=order_id, return_id=return_id, inspections=(restock("L1", 1),))
    )
    (note,) = service.get_order(order_id).credit_notes
    assert note.amount == Decimal("40.00")


def test_store_credit_keeps_the_money_on_the_order_as_customer_credit(
    service: SalesService, clock: ManualClock, gateway: FakePaymentGateway
) -> None:
    order_id = delivered_order(service, clock, (spec("SKU-A", 2, "10.00"),))
    return_id = _approved(service, order_id, ReturnItem("L1", 1, "defective"))
    result = service.handle(
        ReceiveReturn(
            order_id=order_id,
            return_id=return_id,
            inspections=(restock("L1", 1, "W2"),),
            refund_to="store_credit",
        )
    )
    assert (result.customer_credit, result.balance_due) == (_usd("10.00"), _usd("0.00"))
    assert gateway.refunded(order_id) == 0
    assert on_hand(service, "SKU-A", "W2") == 1
    (note,) = service.get_order(order_id).credit_notes
    assert (note.settlement, note.refunds) == (Settlement.STORE_CREDIT, ())


def test_an_unpaid_order_is_credited_not_refunded(
    service: SalesService, clock: ManualClock
) -> None:
    order_id = delivered_order(service, clock, (spec("SKU-A", 2, "10.00"),), pay=False)
    return_id = _approved(service, order_id, ReturnItem("L1", 1, "defective"))
    result = service.handle(
        ReceiveReturn(order_id=order_id, return_id=return_id, inspections=(restock("L1", 1),))
    )
    (note,) = service.get_order(order_id).credit_notes
    assert (note.amount, note.refunds) == (Decimal("10.00"), ())
    assert result.balance_due == _usd("10.00")


def test_a_refund_is_split_over_the_payments_most_recent_first(
    service: SalesService, clock: ManualClock, gateway: FakePaymentGateway
) -> None:
    placed = service.handle(
        PlaceOrder(
            customer_id="C-1", currency="USD", lines=(spec("SKU-A", 4, "5.00"),), confirm=True
        )
    )
    order_id = placed.order_id
    for amount in ("12.00", "8.00"):
        service.handle(AuthorizePayment(order_id=order_id, amount=amount))
    service.handle(CapturePayment(order_id=order_id, payment_id="P1"))
    service.handle(CapturePayment(order_id=order_id, payment_id="P2"))
    from salesorders.service import DeliverOrder, ShipOrder

    service.handle(ShipOrder(order_id=order_id, tracking_number="T-9"))
    service.handle(DeliverOrder(order_id=order_id))
    return_id = _approved(service, order_id, ReturnItem("L1", 3, "defective"))
    service.handle(
        ReceiveReturn(order_id=order_id, return_id=return_id, inspections=(write_off("L1", 3),))
    )
    order = service.get_order(order_id)
    assert [(s.payment_id, s.amount) for s in order.credit_notes[0].refunds] == [
        ("P2", Decimal("8.00")),
        ("P1", Decimal("7.00")),
    ]
    assert (order.payment("P1").net, order.payment("P2").net) == (Decimal("5.00"), Decimal(0))


# --------------------------------------------------------------------------- review


def test_a_rejected_return_frees_its_units_and_records_why(
    service: SalesService, clock: ManualClock
) -> None:
    order_id = delivered_order(service, clock, (spec("SKU-A", 2, "10.00"),))
    service.handle(
        RequestReturn(order_id=order_id, lines=(ReturnItem("L1", 2, "no_reason"),), actor="ana")
    )
    service.handle(
        RejectReturn(order_id=order_id, return_id="R1", actor="lee", reason="used, not resaleable")
    )
    order = service.get_order(order_id)
    rejected = order.order_return("R1")
    assert (rejected.state, rejected.decided_by, rejected.decision_reason) == (
        ReturnState.REJECTED,
        "lee",
        "used, not resaleable",
    )
    assert order.return_status is ReturnStatus.NONE
    assert order.return_eligibility(service.handlers.returns.policy, clock.now())[0].returnable == 2


def test_the_requester_may_not_decide_when_the_workflow_asks_for_another_approver(
    store: Any, clock: ManualClock, gateway: FakePaymentGateway
) -> None:
    service = returns_service(store, clock, gateway, distinct_approver=True)
    order_id = delivered_order(service, clock, (spec("SKU-A", 2, "10.00"),))
    service.handle(
        RequestReturn(order_id=order_id, lines=(ReturnItem("L1", 1, "defective"),), actor="ana")
    )
    for command in (
        ApproveReturn(order_id=order_id, return_id="R1", actor="ana"),
        RejectReturn(order_id=order_id, return_id="R1", actor="ana", reason="mine"),
    ):
        error = _refused(service, store, order_id, command, ValidationError)
        assert error.field == "actor"
    service.handle(ApproveReturn(order_id=order_id, return_id="R1", actor="lee"))
    assert service.get_order(order_id).order_return("R1").state is ReturnState.APPROVED


# --------------------------------------------------------------------------- bad input


def test_a_return_outside_the_window_is_refused_naming_the_line(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    order_id = delivered_order(service, clock, (spec("SKU-A", 2, "10.00"),))
    clock.advance(8 * DAY)
    late = RequestReturn(order_id=order_id, lines=(ReturnItem("L1", 1, "no_reason"),))
    error = _refused(service, store, order_id, late, ReturnWindowError)
    assert (error.field, error.line_id) == ("lines[0].line_id", "L1")
    assert "window" in str(error)
    # A seller-fault reason still has its 30 days.
    service.handle(RequestReturn(order_id=order_id, lines=(ReturnItem("L1", 1, "defective"),)))
    clock.advance(30 * DAY)
    eligibility = service.return_eligibility(order_id)
    assert not eligibility[0].eligible
    assert "window ended" in eligibility[0].why_not


@pytest.mark.parametrize(
    ("items", "error", "field"),
    [
        ((ReturnItem("L1", 3, "defective"),), InvalidQuantityError, "lines[0].quantity"),
        ((ReturnItem("L1", 0, "defective"),), InvalidQuantityError, "lines[0].quantity"),
        ((ReturnItem("L1", "0.5", "defective"),), InvalidQuantityError, "lines[0].quantity"),
        ((ReturnItem("L1", 1, "bored"),), ValidationError, "lines[0].reason"),
        ((ReturnItem("L9", 1, "defective"),), OrderError, None),
        (
            (ReturnItem("L1", 1, "defective"), ReturnItem("L1", 1, "damaged")),
            ValidationError,
            "lines[1].line_id",
        ),
        ((), ValidationError, "lines"),
        ((ReturnItem(["L1"], 1, "defective"),), ValidationError, "lines[0].line_id"),  # type: ignore[arg-type]
    ],
)
def test_bad_return_requests_are_refused_and_change_nothing(
    service: SalesService,
    store: Any,
    clock: ManualClock,
    items: tuple[ReturnItem, ...],
    error: type[SalesOrdersError],
    field: str | None,
) -> None:
    order_id = delivered_order(service, clock, (spec("SKU-A", 2, "10.00"),))
    refused = _refused(
        service, store, order_id, RequestReturn(order_id=order_id, lines=items), error
    )
    if field is not None:
        assert refused.field == field


def test_nothing_undelivered_can_be_returned(service: SalesService, store: Any) -> None:
    placed = service.handle(
        PlaceOrder(
            customer_id="C-1", currency="USD", lines=(spec("SKU-A", 2, "10.00"),), confirm=True
        )
    )
    command = RequestReturn(order_id=placed.order_id, lines=(ReturnItem("L1", 1, "defective"),))
    refused = _refused(service, store, placed.order_id, command, InvalidQuantityError)
    assert refused.field == "lines[0].quantity"


@pytest.mark.parametrize(
    ("inspections", "field"),
    [
        ((restock("L1", 1),), "inspections"),
        ((restock("L1", 1), restock("L1", 2)), "inspections"),
        ((attrs.evolve(restock("L1", 2), warehouse_id=None),), "inspections[0].warehouse_id"),
        ((attrs.evolve(restock("L1", 2), outcome="burn"),), "inspections[0].outcome"),
        ((restock("L2", 2),), "inspections[0].line_id"),
    ],
)
def test_bad_inspections_are_refused_and_change_nothing(
    service: SalesService,
    store: Any,
    clock: ManualClock,
    gateway: FakePaymentGateway,
    inspections: tuple[Any, ...],
    field: str,
) -> None:
    order_id = delivered_order(service, clock, (spec("SKU-A", 2, "10.00"),))
    return_id = _approved(service, order_id, ReturnItem("L1", 2, "defective"))
    calls = gateway.calls
    stock = on_hand(service, "SKU-A")
    command = ReceiveReturn(order_id=order_id, return_id=return_id, inspections=inspections)
    refused = _refused(service, store, order_id, command, ValidationError)
    assert refused.field == field
    assert gateway.calls == calls
    assert on_hand(service, "SKU-A") == stock


def test_restocking_into_an_unknown_warehouse_is_refused_and_changes_nothing(
    service: SalesService, store: Any, clock: ManualClock, gateway: FakePaymentGateway
) -> None:
    order_id = delivered_order(service, clock, (spec("SKU-A", 2, "10.00"),))
    return_id = _approved(service, order_id, ReturnItem("L1", 2, "defective"))
    calls = gateway.calls
    command = ReceiveReturn(
        order_id=order_id, return_id=return_id, inspections=(restock("L1", 2, "W9"),)
    )
    refused = _refused(service, store, order_id, command, UnknownWarehouseError)
    assert "W9" in str(refused)
    assert gateway.calls == calls


def test_receiving_a_return_not_approved_or_with_a_bad_refund_target_is_refused(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    order_id = delivered_order(service, clock, (spec("SKU-A", 2, "10.00"),))
    service.handle(RequestReturn(order_id=order_id, lines=(ReturnItem("L1", 1, "defective"),)))
    unapproved = ReceiveReturn(order_id=order_id, return_id="R1", inspections=(restock("L1", 1),))
    _refused(service, store, order_id, unapproved, OrderError)
    service.handle(ApproveReturn(order_id=order_id, return_id="R1", actor="lee"))
    bad = attrs.evolve(unapproved, refund_to="cash")
    assert _refused(service, store, order_id, bad, ValidationError).field == "refund_to"
    service.handle(unapproved)
    again = _refused(service, store, order_id, unapproved, OrderError)
    assert "received" in str(again)


def test_a_refund_in_another_currency_than_the_orders_is_refused(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    order_id = delivered_order(service, clock, (spec("SKU-A", 2, "10.00"),))
    return_id = _approved(service, order_id, ReturnItem("L1", 1, "defective"))
    service.handle(
        ReceiveReturn(order_id=order_id, return_id=return_id, inspections=(restock("L1", 1),))
    )
    command = RefundPayment(order_id=order_id, payment_id="P1", amount=Money("1.00", "EUR"))
    assert _refused(service, store, order_id, command, CurrencyMismatchError).field == "amount"


def test_a_replayed_receipt_refunds_and_numbers_once(
    service: SalesService, clock: ManualClock, gateway: FakePaymentGateway
) -> None:
    order_id = delivered_order(service, clock, (spec("SKU-A", 2, "10.00"),))
    return_id = _approved(service, order_id, ReturnItem("L1", 1, "defective"))
    command = ReceiveReturn(
        order_id=order_id,
        return_id=return_id,
        inspections=(restock("L1", 1),),
        idempotency_key="rcv-1",
    )
    first = service.handle(command)
    assert service.handle(command) == first
    assert gateway.refunded(order_id) == Decimal("10.00")
    assert len(service.get_order(order_id).credit_notes) == 1


def test_an_order_with_returns_credit_notes_and_repairs_round_trips_through_its_codec(
    service: SalesService, clock: ManualClock
) -> None:
    from salesorders.domain.order import Order
    from salesorders.service import AdvanceRepair, CloseRepair, OpenRepair

    order_id = delivered_order(
        service, clock, (spec("SKU-A", 3, "10.00"),), discounts=(Discount.percentage("5"),)
    )
    return_id = _approved(service, order_id, ReturnItem("L1", 1, "damaged"))
    service.handle(
        ReceiveReturn(order_id=order_id, return_id=return_id, inspections=(restock("L1", 1),))
    )
    service.handle(RequestReturn(order_id=order_id, lines=(ReturnItem("L1", 1, "no_reason"),)))
    service.handle(OpenRepair(order_id=order_id, line_id="L1", problem="hinge"))
    for stage in ("diagnosing", "repairing", "returned"):
        service.handle(AdvanceRepair(order_id=order_id, repair_id="RP1", stage=stage))
    service.handle(CloseRepair(order_id=order_id, repair_id="RP1", cost="2.50"))
    order = service.get_order(order_id)
    serializer = service.handlers.serializer
    compiled = serializer.dumper(Order)(order)
    assert compiled == serializer.converter.unstructure(order)
    again = serializer.load(compiled, Order)
    assert again == order
    assert (len(again.returns), len(again.credit_notes), len(again.repairs)) == (2, 1, 1)
    assert again.amount_owed == order.amount_owed == Decimal("21.50")  # 28.50 - 9.50 + 2.50


def test_a_decision_needs_a_reviewer_and_a_rejection_a_reason(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    order_id = delivered_order(service, clock, (spec("SKU-A", 2, "10.00"),))
    service.handle(RequestReturn(order_id=order_id, lines=(ReturnItem("L1", 1, "defective"),)))
    for command in (
        ApproveReturn(order_id=order_id, return_id="R1"),
        RejectReturn(order_id=order_id, return_id="R1", reason="no", actor=" "),
    ):
        assert _refused(service, store, order_id, command, ValidationError).field == "actor"
    no_reason = RejectReturn(order_id=order_id, return_id="R1", reason=" ", actor="lee")
    assert _refused(service, store, order_id, no_reason, ValidationError).field == "reason"
    unknown = ApproveReturn(order_id=order_id, return_id="R9", actor="lee")
    assert _refused(service, store, order_id, unknown, ValidationError).field == "return_id"


def test_a_credit_note_lowers_what_is_overdue(service: SalesService, clock: ManualClock) -> None:
    order_id = delivered_order(service, clock, (spec("SKU-A", 2, "10.00"),), pay=False)
    return_id = _approved(service, order_id, ReturnItem("L1", 1, "defective"))
    service.handle(
        ReceiveReturn(order_id=order_id, return_id=return_id, inspections=(restock("L1", 1),))
    )
    (overdue,) = service.overdue_orders(clock.now().date() + DAY)
    assert (overdue.order_id, overdue.overdue, overdue.balance_due) == (
        order_id,
        _usd("10.00"),
        _usd("10.00"),
    )
