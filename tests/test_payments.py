"""Payments through the service on every store: card payments through the gateway (authorise,
partial and multiple captures, void, refund), manual payments with review, the derived status and
exact balance, payment terms and the overdue query, the ``paid`` guard, and the reconciliation of
gateway answers whose database attempt rolled back."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money

from salesorders.domain.payments import PaymentState, PaymentTerms
from salesorders.domain.warehouse import Warehouse
from salesorders.domain.workflow import CONSUME, PAID, default_workflow
from salesorders.errors import (
    CurrencyMismatchError,
    GuardRejectedError,
    OrderError,
    PaymentDeclinedError,
    ValidationError,
)
from salesorders.service import (
    ApprovePayment,
    AuthorizePayment,
    CapturePayment,
    CreateDraft,
    ManualClock,
    OrderResult,
    ReceiveStock,
    RecordPayment,
    RefundPayment,
    RegisterWarehouse,
    RejectPayment,
    SalesService,
    SetPaymentTerms,
    ShipOrder,
    VoidPayment,
    bootstrap,
)
from salesorders.testing.fakes import FakePaymentGateway
from support.stores import STORE_KINDS, fresh_store
from test_fulfilment import T0, _refused, _types
from test_service_support import line, new_order

PREPAID = (
    default_workflow()
    .extend("prepaid-order")
    .remove_transition("ship", "confirmed")
    .add_transition("ship", "confirmed", "shipped", guards=[PAID], effects=[CONSUME])
    .build()
)


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


def _service(store: Any, gateway: FakePaymentGateway, clock: ManualClock, **options: Any) -> Any:
    built = bootstrap(
        store=store,
        clock=clock,
        sleep=lambda _s: None,
        payment_gateway=gateway,
        workflows=[PREPAID],
        **options,
    )
    built.handle(RegisterWarehouse(warehouse=Warehouse("W1", priority=1)))
    built.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=10, reason="PO-1"))
    return built


@pytest.fixture
def service(store: Any, gateway: FakePaymentGateway, clock: ManualClock) -> SalesService:
    return _service(store, gateway, clock)  # type: ignore[no-any-return]


def _order(service: SalesService, **fields: Any) -> str:
    """A confirmed order of 2 × 10.00 USD: grand total 20.00."""
    return service.handle(new_order(line("SKU-A", 2), confirm=True, **fields)).order_id


def _usd(amount: str) -> Money:
    return Money(amount, "USD")


# --------------------------------------------------------------------------- card payments


def test_authorize_capture_in_parts_and_refund_keep_the_balance_exact(
    service: SalesService, store: Any, gateway: FakePaymentGateway
) -> None:
    order_id = _order(service)
    result = service.handle(AuthorizePayment(order_id=order_id, amount=_usd("20.00")))
    assert (result.payment_status, result.balance_due) == ("authorized", _usd("20.00"))
    first = service.handle(CapturePayment(order_id=order_id, payment_id="P1", amount="7.33"))
    assert (first.payment_status, first.balance_due) == ("partially_paid", _usd("12.67"))
    second = service.handle(CapturePayment(order_id=order_id, payment_id="P1"))
    assert (second.payment_status, second.balance_due) == ("paid", _usd("0.00"))
    refund = service.handle(
        RefundPayment(order_id=order_id, payment_id="P1", amount="5.01", reason="scratched")
    )
    assert (refund.payment_status, refund.balance_due) == ("partially_refunded", _usd("5.01"))
    order = service.get_order(order_id)
    payment = order.payment("P1")
    assert (payment.captured, payment.refunded, payment.net) == (
        Decimal("20.00"),
        Decimal("5.01"),
        Decimal("14.99"),
    )
    assert payment.status is PaymentState.CAPTURED
    assert [op.kind for op in payment.operations] == ["authorize", "capture", "capture", "refund"]
    assert gateway.captured(order_id) == Decimal("20.00")
    assert gateway.refunded(order_id) == Decimal("5.01")
    assert _types(store, order_id)[-4:] == [
        "PaymentAuthorized",
        "PaymentCaptured",
        "PaymentCaptured",
        "PaymentRefunded",
    ]
    rest = service.handle(RefundPayment(order_id=order_id, payment_id="P1", reason="returned"))
    assert (rest.payment_status, rest.balance_due) == ("refunded", _usd("20.00"))
    assert service.get_order(order_id).payment("P1").status is PaymentState.REFUNDED


@pytest.mark.parametrize(
    ("command", "error", "field"),
    [
        (CapturePayment(order_id="", payment_id="P1", amount="12.01"), ValidationError, "amount"),
        (CapturePayment(order_id="", payment_id="P1", amount="-1"), ValidationError, "amount"),
        (CapturePayment(order_id="", payment_id="P1", amount="1.001"), ValidationError, "amount"),
        (
            CapturePayment(order_id="", payment_id="P1", amount=Money("1", "EUR")),
            CurrencyMismatchError,
            "amount",
        ),
        (CapturePayment(order_id="", payment_id="P9"), ValidationError, "payment_id"),
        (RefundPayment(order_id="", payment_id="P1", amount="8.01"), ValidationError, "amount"),
        (AuthorizePayment(order_id="", amount="0"), ValidationError, "amount"),
        (AuthorizePayment(order_id="", amount="5", method="cash"), ValidationError, "method"),
        (AuthorizePayment(order_id="", amount="5", method="gold"), ValidationError, "method"),
        (AuthorizePayment(order_id="", amount="5", payment_id="P1"), ValidationError, "payment_id"),
    ],
)
def test_bad_payment_commands_are_refused_and_change_nothing(
    service: SalesService,
    store: Any,
    gateway: FakePaymentGateway,
    command: Any,
    error: type[ValidationError],
    field: str,
) -> None:
    order_id = _order(service)
    service.handle(AuthorizePayment(order_id=order_id, amount="20.00"))
    service.handle(CapturePayment(order_id=order_id, payment_id="P1", amount="8.00"))
    calls = gateway.calls
    refused = _refused(service, store, order_id, _with_order(command, order_id), error)
    assert refused.field == field
    assert gateway.calls == calls  # the gateway was never asked


def _with_order(command: Any, order_id: str) -> Any:
    import attrs

    return attrs.evolve(command, order_id=order_id)


def test_a_void_releases_the_rest_and_a_captured_payment_cannot_be_voided(
    service: SalesService, store: Any, gateway: FakePaymentGateway
) -> None:
    order_id = _order(service)
    service.handle(AuthorizePayment(order_id=order_id, amount="20.00"))
    voided = service.handle(VoidPayment(order_id=order_id, payment_id="P1", reason="changed"))
    assert (voided.payment_status, voided.balance_due) == ("unpaid", _usd("20.00"))
    assert service.get_order(order_id).payment("P1").status is PaymentState.VOIDED
    _refused(service, store, order_id, VoidPayment(order_id=order_id, payment_id="P1"), OrderError)
    service.handle(AuthorizePayment(order_id=order_id, amount="20.00"))
    service.handle(CapturePayment(order_id=order_id, payment_id="P2", amount="15.00"))
    service.handle(VoidPayment(order_id=order_id, payment_id="P2"))
    payment = service.get_order(order_id).payment("P2")
    assert (payment.status, payment.captured, payment.capturable) == (
        PaymentState.CAPTURED,
        Decimal("15.00"),
        Decimal(0),
    )
    _refused(
        service,
        store,
        order_id,
        CapturePayment(order_id=order_id, payment_id="P2", amount="1.00"),
        OrderError,
    )
    assert [t.kind for t in gateway.transactions(order_id)] == [
        "authorize",
        "void",
        "authorize",
        "capture",
        "void",
    ]


def test_a_declined_authorisation_changes_nothing(
    service: SalesService, store: Any, gateway: FakePaymentGateway
) -> None:
    order_id = _order(service)
    gateway.decline_next()
    _refused(
        service,
        store,
        order_id,
        AuthorizePayment(order_id=order_id, amount="20.00"),
        PaymentDeclinedError,
    )
    assert gateway.transactions(order_id) == ()


def test_payments_are_refused_on_a_draft(service: SalesService, store: Any) -> None:
    draft = CreateDraft(customer_id="C-1", currency="USD", lines=(line("SKU-A", 1),))
    order_id = service.handle(draft).order_id
    _refused(service, store, order_id, AuthorizePayment(order_id=order_id, amount="1"), OrderError)


# --------------------------------------------------------------------------- never twice


def test_a_retried_capture_with_the_same_key_charges_once(
    service: SalesService, gateway: FakePaymentGateway
) -> None:
    order_id = _order(service)
    service.handle(AuthorizePayment(order_id=order_id, amount="20.00", idempotency_key="a-1"))
    command = CapturePayment(
        order_id=order_id, payment_id="P1", amount="5.00", idempotency_key="cap-1"
    )
    first = service.handle(command)
    again = service.handle(command)
    assert first == again
    assert gateway.captured(order_id) == Decimal("5.00")
    assert service.get_order(order_id).payment("P1").captured == Decimal("5.00")


def test_a_gateway_timeout_is_retried_with_the_same_key_and_charges_once(
    service: SalesService, gateway: FakePaymentGateway
) -> None:
    order_id = _order(service)
    service.handle(AuthorizePayment(order_id=order_id, amount="20.00"))
    gateway.time_out_next()  # the money moves, the answer is lost: the service retries
    result = service.handle(CapturePayment(order_id=order_id, payment_id="P1", amount="5.00"))
    assert result.balance_due == _usd("15.00")
    assert gateway.captured(order_id) == Decimal("5.00")
    assert [t.kind for t in gateway.transactions(order_id)] == ["authorize", "capture"]
    assert service.unrecorded_payments(order_id) == ()


def test_a_gateway_answering_twice_moves_money_once(
    service: SalesService, gateway: FakePaymentGateway
) -> None:
    order_id = _order(service)
    service.handle(AuthorizePayment(order_id=order_id, amount="20.00"))
    gateway.answer_twice_next()
    service.handle(CapturePayment(order_id=order_id, payment_id="P1"))
    assert gateway.captured(order_id) == Decimal("20.00")
    assert len(gateway.transactions(order_id)) == 2


def test_reconciliation_finds_a_capture_whose_attempt_rolled_back(
    service: SalesService, store: Any, gateway: FakePaymentGateway, clock: ManualClock
) -> None:
    order_id = _order(service)
    service.handle(AuthorizePayment(order_id=order_id, amount="20.00"))
    capture = CapturePayment(order_id=order_id, payment_id="P1", amount="6.00")
    with store.unit_of_work() as uow:  # the capture runs, the unit of work never commits
        service.handlers.payments.capture_payment(uow, capture, clock.now())
    assert service.get_order(order_id).payment("P1").captured == 0
    [lost] = service.unrecorded_payments(order_id)
    assert (lost.kind, lost.amount) == ("capture", _usd("6.00"))
    # The same command again asks the gateway with the same key: it records that capture.
    service.handle(capture)
    assert gateway.captured(order_id) == Decimal("6.00")
    assert service.unrecorded_payments(order_id) == ()


# --------------------------------------------------------------------------- manual payments


def test_a_manual_payment_counts_once_approved_and_lists_while_awaiting_review(
    store: Any, gateway: FakePaymentGateway, clock: ManualClock
) -> None:
    service = _service(store, gateway, clock, distinct_approver=True)
    order_id = _order(service)
    recorded = service.handle(
        RecordPayment(
            order_id=order_id,
            method="bank_transfer",
            amount="20.00",
            reference="BANK-REF-77",
            actor="clerk",
        )
    )
    assert (recorded.payment_status, recorded.balance_due) == ("unpaid", _usd("20.00"))
    [waiting] = service.payments_awaiting_review()
    assert (waiting.order_id, waiting.payment.id, waiting.payment.reference) == (
        order_id,
        "P1",
        "BANK-REF-77",
    )
    refused = _refused(
        service,
        store,
        order_id,
        ApprovePayment(order_id=order_id, payment_id="P1", actor="clerk"),
        ValidationError,
    )
    assert refused.field == "actor"
    clock.advance(dt.timedelta(hours=2))
    approved = service.handle(
        ApprovePayment(
            order_id=order_id, payment_id="P1", actor="finance", reason="seen on statement"
        )
    )
    assert (approved.payment_status, approved.balance_due) == ("paid", _usd("0.00"))
    payment = service.get_order(order_id).payment("P1")
    assert (payment.recorded_by, payment.decided_by, payment.decision_reason) == (
        "clerk",
        "finance",
        "seen on statement",
    )
    assert payment.decided_at == T0 + dt.timedelta(hours=2)
    assert service.payments_awaiting_review() == ()
    assert _types(store, order_id)[-2:] == ["PaymentRecorded", "PaymentApproved"]


def test_a_rejected_payment_never_counts_and_needs_a_reason(
    service: SalesService, store: Any
) -> None:
    order_id = _order(service)
    service.handle(
        RecordPayment(order_id=order_id, method="cheque", amount="20.00", reference="CHQ-1")
    )
    refused = _refused(
        service,
        store,
        order_id,
        RejectPayment(order_id=order_id, payment_id="P1", reason=" ", actor="finance"),
        ValidationError,
    )
    assert refused.field == "reason"
    rejected = service.handle(
        RejectPayment(order_id=order_id, payment_id="P1", reason="bounced", actor="finance")
    )
    assert (rejected.payment_status, rejected.balance_due) == ("unpaid", _usd("20.00"))
    assert service.get_order(order_id).payment("P1").status is PaymentState.REJECTED
    _refused(
        service,
        store,
        order_id,
        ApprovePayment(order_id=order_id, payment_id="P1", actor="finance"),
        OrderError,
    )


def test_an_overpayment_is_kept_as_customer_credit(service: SalesService) -> None:
    order_id = _order(service)
    service.handle(RecordPayment(order_id=order_id, method="cash", amount="25.50", reference="R1"))
    result = service.handle(ApprovePayment(order_id=order_id, payment_id="P1", actor="finance"))
    assert isinstance(result, OrderResult)
    assert (result.payment_status, result.balance_due, result.customer_credit) == (
        "overpaid",
        _usd("0.00"),
        _usd("5.50"),
    )
    refunded = service.handle(
        RefundPayment(order_id=order_id, payment_id="P1", amount="5.50", reason="change")
    )
    assert (refunded.payment_status, refunded.customer_credit) == ("paid", _usd("0.00"))


# --------------------------------------------------------------------------- terms and guards


def test_net_terms_give_a_due_date_and_the_overdue_query_finds_unpaid_orders(
    service: SalesService, store: Any
) -> None:
    late = _order(service)
    paid = _order(service)
    deposit = _order(service)
    service.handle(SetPaymentTerms(order_id=late, terms=PaymentTerms.net(30)))
    service.handle(SetPaymentTerms(order_id=paid, terms=PaymentTerms.net(30)))
    service.handle(SetPaymentTerms(order_id=deposit, terms=PaymentTerms.deposit("25", 60)))
    due = T0.date() + dt.timedelta(days=30)
    assert service.get_order(late).payment_due_date == due
    service.handle(RecordPayment(order_id=paid, method="cash", amount="20.00", reference="R1"))
    service.handle(ApprovePayment(order_id=paid, payment_id="P1", actor="finance"))
    assert service.overdue_orders(T0.date()) == ()  # the deposit is due on the placement day
    [deposit_due] = service.overdue_orders(due - dt.timedelta(days=1))
    assert (deposit_due.order_id, deposit_due.overdue) == (deposit, _usd("5.00"))  # 25 % of 20
    assert deposit_due.balance_due == _usd("20.00")
    assert [o.order_id for o in service.overdue_orders(due)] == [deposit]  # due today: not late
    overdue = service.overdue_orders(due + dt.timedelta(days=1))
    assert [(o.order_id, o.overdue) for o in overdue] == [  # by the date everything is due
        (late, _usd("20.00")),
        (deposit, _usd("5.00")),
    ]
    assert _types(store, late)[-1] == "PaymentTermsSet"
    bad = _refused(
        service,
        store,
        late,
        SetPaymentTerms(order_id=late, terms=PaymentTerms(deposit_percent=Decimal(5))),
        ValidationError,
    )
    assert bad.field == "terms.deposit_percent"


def test_the_paid_guard_keeps_a_prepaid_order_from_shipping_until_paid(
    service: SalesService, store: Any
) -> None:
    order_id = _order(service, workflow="prepaid-order")
    refused = _refused(service, store, order_id, ShipOrder(order_id=order_id), GuardRejectedError)
    assert "RecordPayment" in str(refused)
    service.handle(AuthorizePayment(order_id=order_id, amount="20.00"))
    service.handle(CapturePayment(order_id=order_id, payment_id="P1"))
    assert service.handle(ShipOrder(order_id=order_id)).state == "shipped"


# --------------------------------------------------------------------------- double payments


def test_concurrent_captures_under_one_key_charge_and_record_once(
    service: SalesService, store: Any, gateway: FakePaymentGateway
) -> None:
    """Saleor #14926 and Medusa #6745 recorded a payment twice when the same request arrived
    twice at once: here both deliveries of one capture run together, and the money moves once."""
    order_id = _order(service)
    service.handle(AuthorizePayment(order_id=order_id, amount="20.00"))
    command = CapturePayment(
        order_id=order_id, payment_id="P1", amount="12.00", idempotency_key="webhook-9"
    )
    barrier = threading.Barrier(2)
    results: list[OrderResult] = []

    def deliver() -> None:
        barrier.wait()
        results.append(service.handle(command))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2 and results[0] == results[1]
    assert results[0].balance_due == _usd("8.00")
    assert gateway.captured(order_id) == Decimal("12.00")
    payment = service.get_order(order_id).payment("P1")
    assert [op.kind for op in payment.operations] == ["authorize", "capture"]
    assert _types(store, order_id).count("PaymentCaptured") == 1


def test_two_captures_at_once_without_keys_are_two_captures_never_a_lost_one(
    service: SalesService, gateway: FakePaymentGateway
) -> None:
    """Without a key, two captures sent at once are two requests: both are recorded, and the
    gateway's figures agree with the order's."""
    order_id = _order(service)
    service.handle(AuthorizePayment(order_id=order_id, amount="20.00"))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def capture() -> None:
        barrier.wait()
        try:
            service.handle(CapturePayment(order_id=order_id, payment_id="P1", amount="7.00"))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=capture) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    order = service.get_order(order_id)
    assert order.payment("P1").captured == Decimal("14.00") == gateway.captured(order_id)
    assert service.unrecorded_payments(order_id) == ()
