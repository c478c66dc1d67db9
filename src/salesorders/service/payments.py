"""The payment use cases: authorise, capture, void and refund through the payment gateway;
record, approve and reject manual payments; agree payment terms; and the payment queries.

The order checks a request completely before the gateway is called, so a refused command calls
nobody and changes nothing. Every gateway call carries an idempotency key derived from the
command's key (or, without one, from the order's state: the payment and how many operations of
that kind it already has), so a retried attempt — after a gateway timeout or a database conflict —
asks again with the same key and the gateway answers from its record, moving no money twice.
That is why a gateway call is not undone when its attempt fails: the retry needs it. When an
attempt is never retried to success (the retries ran out, the process stopped), the gateway holds
a transaction the order does not know: :func:`unrecorded_transactions` finds it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal

import attrs
from moneyed import Money

from salesorders.domain.checks import MAX_PAGE_SIZE, page_limit, require_id
from salesorders.domain.order import Order
from salesorders.domain.payments import GATEWAY_METHODS, MANUAL_METHODS, Payment, PaymentMethod
from salesorders.domain.stock import LowStock
from salesorders.errors import PaymentGatewayError, ValidationError
from salesorders.ports import GatewayTransaction, OrderQuery, PaymentGateway, UnitOfWork
from salesorders.service.payment_commands import (
    ApprovePayment,
    AuthorizePayment,
    CapturePayment,
    RecordPayment,
    RefundPayment,
    RejectPayment,
    SetPaymentTerms,
    VoidPayment,
)
from salesorders.service.results import OrderResult

__all__ = [
    "AwaitingReview",
    "OverdueOrder",
    "Payments",
    "orders_oldest_first",
    "unrecorded_transactions",
]

#: Writes an order's new events to the outbox; returns the command's result.
Publish = Callable[[UnitOfWork, Order, Sequence[LowStock]], OrderResult]


@attrs.frozen(slots=True)
class AwaitingReview:
    """A manual payment waiting for a reviewer's decision."""

    order_id: str
    number: str | None
    payment: Payment


@attrs.frozen(slots=True)
class OverdueOrder:
    """An order with ``overdue`` unpaid past the date its terms made it due (``due_date`` is when
    everything is due)."""

    order_id: str
    number: str | None
    customer_id: str
    due_date: dt.date
    overdue: Money
    balance_due: Money


class Payments:
    """The payment handlers, wired to the payment gateway (if the host gave one)."""

    def __init__(
        self,
        gateway: PaymentGateway | None,
        publish: Publish,
        *,
        distinct_approver: bool = False,
    ) -> None:
        if gateway is not None and not all(
            callable(getattr(gateway, verb, None))
            for verb in ("authorize", "capture", "void", "refund", "transactions")
        ):
            raise ValidationError(
                "payment_gateway",
                gateway,
                "must be a PaymentGateway: authorize, capture, void, refund and transactions",
                "pass e.g. salesorders.testing.fakes.FakePaymentGateway()",
            )
        if not isinstance(distinct_approver, bool):
            raise ValidationError("distinct_approver", distinct_approver, "must be True or False")
        self.gateway = gateway
        self.distinct_approver = distinct_approver
        self._publish = publish

    # ------------------------------------------------------------------ gateway payments

    def authorize_payment(
        self, uow: UnitOfWork, command: AuthorizePayment, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        payment_id = command.payment_id or order.next_payment_id()
        method = _method(command.method)
        if method not in GATEWAY_METHODS:
            raise ValidationError(
                "method", command.method, "is a manual method", "use RecordPayment for it"
            )
        amount = order.check_new_payment(payment_id, command.amount, method)
        gateway = self._gateway()
        key = _key(command.idempotency_key, order, payment_id, "authorize")
        answer = gateway.authorize(
            order.id,
            Money(amount, order.currency),
            reference=command.reference,
            idempotency_key=key,
        )
        _check_answer(answer, "authorize", order, amount)
        order.authorize_payment(
            payment_id,
            amount,
            now,
            gateway_id=answer.gateway_id,
            method=method,
            reference=command.reference,
            idempotency_key=key,
            actor=command.actor,
        )
        return self._saved(uow, order)

    def capture_payment(
        self, uow: UnitOfWork, command: CapturePayment, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        payment, amount = order.check_capture(command.payment_id, command.amount)
        key = _key(command.idempotency_key, order, payment.id, "capture")
        answer = self._gateway().capture(
            _gateway_id(payment), Money(amount, order.currency), idempotency_key=key
        )
        _check_answer(answer, "capture", order, amount)
        order.capture_payment(
            payment.id,
            amount,
            now,
            transaction_id=answer.transaction_id,
            idempotency_key=key,
            actor=command.actor,
        )
        return self._saved(uow, order)

    def void_payment(self, uow: UnitOfWork, command: VoidPayment, now: dt.datetime) -> OrderResult:
        order = uow.orders.get(command.order_id)
        payment = order.check_void(command.payment_id)
        key = _key(command.idempotency_key, order, payment.id, "void")
        answer = self._gateway().void(_gateway_id(payment), idempotency_key=key)
        _check_answer(answer, "void", order, None)
        order.void_payment(
            payment.id,
            now,
            transaction_id=answer.transaction_id,
            idempotency_key=key,
            actor=command.actor,
            reason=command.reason,
        )
        return self._saved(uow, order)

    def refund_payment(
        self, uow: UnitOfWork, command: RefundPayment, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        payment, amount = order.check_refund(command.payment_id, command.amount)
        key = _key(command.idempotency_key, order, payment.id, "refund")
        transaction_id = self.gateway_refund(order, payment, amount, key)
        order.refund_payment(
            payment.id,
            amount,
            now,
            transaction_id=transaction_id,
            idempotency_key=key,
            actor=command.actor,
            reason=command.reason,
        )
        return self._saved(uow, order)

    def gateway_refund(self, order: Order, payment: Payment, amount: Decimal, key: str) -> str:
        """Give ``amount`` back through the gateway for a card payment (its transaction id); a
        manual payment is paid back by hand, without a gateway call (an empty id)."""
        if payment.method not in GATEWAY_METHODS:
            return ""
        answer = self._gateway().refund(
            _gateway_id(payment), Money(amount, order.currency), idempotency_key=key
        )
        _check_answer(answer, "refund", order, amount)
        return answer.transaction_id

    # ------------------------------------------------------------------ manual payments

    def record_payment(
        self, uow: UnitOfWork, command: RecordPayment, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        method = _method(command.method)
        if method not in MANUAL_METHODS:
            raise ValidationError(
                "method",
                command.method,
                "goes through the payment gateway",
                "use AuthorizePayment for it",
            )
        order.record_payment(
            command.payment_id or order.next_payment_id(),
            method,
            command.amount,
            now,
            reference=command.reference,
            actor=command.actor,
            reason=command.reason,
        )
        return self._saved(uow, order)

    def approve_payment(
        self, uow: UnitOfWork, command: ApprovePayment, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        order.approve_payment(
            command.payment_id,
            now,
            actor=command.actor,
            reason=command.reason,
            distinct_approver=self.distinct_approver,
        )
        return self._saved(uow, order)

    def reject_payment(
        self, uow: UnitOfWork, command: RejectPayment, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        order.reject_payment(
            command.payment_id,
            now,
            actor=command.actor,
            reason=command.reason,
            distinct_approver=self.distinct_approver,
        )
        return self._saved(uow, order)

    def set_payment_terms(
        self, uow: UnitOfWork, command: SetPaymentTerms, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        order.set_payment_terms(command.terms, now, actor=command.actor, reason=command.reason)
        return self._saved(uow, order)

    # ------------------------------------------------------------------ internals

    def _saved(self, uow: UnitOfWork, order: Order) -> OrderResult:
        uow.orders.save(order)
        return self._publish(uow, order, ())

    def _gateway(self) -> PaymentGateway:
        if self.gateway is None:
            raise ValidationError(
                "payment_gateway",
                None,
                "is needed for card payments",
                "bootstrap the service with payment_gateway=...",
            )
        return self.gateway


# ---------------------------------------------------------------------- queries


def orders_oldest_first(uow: UnitOfWork) -> Iterator[Order]:
    """Every stored order, page by page, oldest first."""
    after: str | None = None
    while True:
        page = uow.orders.list(OrderQuery(limit=MAX_PAGE_SIZE, after=after))
        yield from page.orders
        if page.next_cursor is None:
            return
        after = page.next_cursor


def awaiting_review(uow: UnitOfWork, limit: int) -> tuple[AwaitingReview, ...]:
    """Manual payments waiting for review, oldest recorded first (at most ``limit``)."""
    page_limit(limit)
    found = [
        AwaitingReview(order.id, order.number, payment)
        for order in orders_oldest_first(uow)
        for payment in order.payments
        if payment.awaiting_review
    ]
    found.sort(key=lambda r: (r.payment.created_at, r.order_id, r.payment.id))
    return tuple(found[:limit])


def overdue_orders(uow: UnitOfWork, day: dt.date, limit: int) -> tuple[OverdueOrder, ...]:
    """Orders with money their terms made due before ``day`` still unpaid, earliest due first."""
    page_limit(limit)
    if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
        raise ValidationError("on", day, "must be a datetime.date")
    found = []
    for order in orders_oldest_first(uow):
        late = order.overdue_amount(day)
        due = order.payment_due_date
        if late and due is not None:
            found.append(
                OverdueOrder(
                    order.id,
                    order.number,
                    order.customer_id,
                    due,
                    Money(late, order.currency),
                    order.balance_due,
                )
            )
    found.sort(key=lambda r: (r.due_date, r.order_id))
    return tuple(found[:limit])


def unrecorded_transactions(
    order: Order, gateway: PaymentGateway
) -> tuple[GatewayTransaction, ...]:
    """The gateway's transactions for ``order`` that the order does not know (a capture whose
    attempt rolled back and was never retried, say): settle each by hand, e.g. refund it at the
    gateway or record it."""
    known = {order.id}
    known_ids: set[str] = set()
    for payment in order.payments:
        known_ids |= payment.transaction_ids()
    return tuple(
        t
        for t in gateway.transactions(order.id)
        if t.order_id in known and t.transaction_id not in known_ids
    )


def _method(value: object) -> PaymentMethod:
    try:
        return value if isinstance(value, PaymentMethod) else PaymentMethod(value)
    except ValueError:
        raise ValidationError(
            "method",
            value,
            "is not a payment method",
            "use one of " + ", ".join(m.value for m in PaymentMethod),
        ) from None


def _key(command_key: str | None, order: Order, payment_id: str, kind: str) -> str:
    """The gateway's idempotency key: from the command's key, or from the order's state."""
    if command_key is not None:
        return f"{command_key}:{kind}"
    done = 0
    for payment in order.payments:
        if payment.id == payment_id:
            done = sum(1 for op in payment.operations if op.kind == kind)
    return f"{order.id}:{payment_id}:{kind}:{done + 1}"


def _gateway_id(payment: Payment) -> str:
    return require_id(payment.gateway_id, "gateway_id")


def _check_answer(
    answer: GatewayTransaction, kind: str, order: Order, amount: Decimal | None
) -> None:
    """Refuse a gateway answer that does not match what was asked (nothing is recorded)."""
    if not isinstance(answer, GatewayTransaction) or answer.kind != kind:
        raise PaymentGatewayError(kind, f"answered {answer!r}, not a {kind} transaction")
    if amount is not None and answer.amount != Money(amount, order.currency):
        raise PaymentGatewayError(
            kind, f"moved {answer.amount}, not the {amount} {order.currency} asked"
        )
