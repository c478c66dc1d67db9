"""The order's payment verbs, kept beside the aggregate's core.

:class:`OrderPayments` is a base of :class:`~salesorders.domain.order.Order`: gateway payments
(authorise, capture, void, refund — recorded after the gateway answered), manual payments
(record, approve, reject), payment terms, and the derived payment status and balance. Like every
verb of the order, each checks everything first and raises an event; a verb that raises changes
nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import attrs
from moneyed import Money

from salesorders.domain import events as ev
from salesorders.domain.checks import aware_time, check_name, check_text, next_free_id, require_id
from salesorders.domain.money import to_decimal
from salesorders.domain.payments import (
    GATEWAY_METHODS,
    MANUAL_METHODS,
    Payment,
    PaymentFigures,
    PaymentMethod,
    PaymentOperation,
    PaymentState,
    PaymentStatus,
    PaymentTerms,
    check_places,
    payment_figures,
    payment_of,
)
from salesorders.domain.review import check_reviewer
from salesorders.errors import CurrencyMismatchError, OrderError, ValidationError

if TYPE_CHECKING:
    from salesorders.domain.order_values import Totals
    from salesorders.domain.workflow import Workflow

__all__ = ["OrderPayments"]

_ZERO: Final = Decimal(0)
_Amount = Money | Decimal | str | int


class OrderPayments:
    """Payment verbs and derived payment figures of the order (a base class of ``Order``)."""

    if not TYPE_CHECKING:
        __slots__ = ()  # Order keeps its fields in slots; this base adds none

    if TYPE_CHECKING:
        id: str
        state: str
        currency: str
        workflow: Workflow
        totals: Totals
        placed_at: dt.datetime | None
        payments: tuple[Payment, ...]
        payment_terms: PaymentTerms
        updated_at: dt.datetime
        event_sequence: int

        def _raise(self, event: ev.OrderEvent) -> None: ...

        @property
        def amount_owed(self) -> Decimal: ...

    # ------------------------------------------------------------------ queries

    @property
    def payment_figures(self) -> PaymentFigures:
        """Paid, refunded, still authorised, balance due, customer credit and status."""
        return payment_figures(self.payments, self.amount_owed)

    @property
    def payment_status(self) -> PaymentStatus:
        return self.payment_figures.status

    @property
    def balance_due(self) -> Money:
        """What the customer still owes: the amount owed (the grand total, less credit notes,
        plus repairs charged) less net paid, never below zero."""
        return Money(self.payment_figures.balance_due, self.currency)

    @property
    def customer_credit(self) -> Money:
        """What the customer paid beyond what they owe (kept as credit, never lost)."""
        return Money(self.payment_figures.customer_credit, self.currency)

    @property
    def payment_due_date(self) -> dt.date | None:
        """When everything is due under the order's terms (``None`` before placement)."""
        return self.payment_terms.due_date(self.placed_at)

    def payment(self, payment_id: str) -> Payment:
        return payment_of(self.payments, self.id, payment_id)

    def overdue_amount(self, day: dt.date) -> Decimal:
        """How much of what the terms made due before ``day`` is still unpaid on it (zero for
        drafts and final states)."""
        if self.placed_at is None or self.state in self.workflow.finals:
            return _ZERO
        due = self.payment_terms.due_by(day, self.placed_at, self.amount_owed, self.currency)
        late = due - self.payment_figures.net_paid
        return late if late > 0 else _ZERO

    def next_payment_id(self) -> str:
        return next_free_id("P", (p.id for p in self.payments))

    # ------------------------------------------------------------------ terms

    def set_payment_terms(
        self, terms: PaymentTerms, at: dt.datetime, *, actor: str = "", reason: str = ""
    ) -> None:
        """Agree ``terms`` with the customer. Refused in a final state."""
        if not isinstance(terms, PaymentTerms):
            raise ValidationError("terms", terms, "must be PaymentTerms")
        checked = PaymentTerms.checked(terms.kind, terms.days, terms.deposit_percent)
        aware_time(at)
        check_name(actor, "actor")
        check_text(reason, "reason")
        self._require_open("change its payment terms")
        self.payment_terms = checked
        self.updated_at = max(self.updated_at, at)
        due = self.payment_due_date
        self._raise(
            ev.PaymentTermsSet(
                self.id,
                self.event_sequence + 1,
                at,
                actor,
                reason,
                kind=checked.kind.value,
                days=checked.days,
                deposit_percent=str(checked.deposit_percent),
                due_date="" if due is None else due.isoformat(),
            )
        )

    # ------------------------------------------------------------------ checks shared by verbs

    def check_new_payment(self, payment_id: str, amount: _Amount, method: PaymentMethod) -> Decimal:
        """Refuse a new payment that could not be recorded; returns its exact amount.

        The service calls this before it asks the gateway, so a refusal calls nobody."""
        require_id(payment_id, "payment_id")
        if any(p.id == payment_id for p in self.payments):
            raise ValidationError(
                "payment_id", payment_id, "is already a payment of this order", "use a new id"
            )
        if not isinstance(method, PaymentMethod):
            raise ValidationError(
                "method",
                method,
                "is not a payment method",
                "use one of " + ", ".join(m.value for m in PaymentMethod),
            )
        self._require_open("take a payment")
        if self.state == self.workflow.initial:
            raise OrderError(
                self.id, f"order {self.id}: is a draft; place it before taking a payment"
            )
        return self._payment_amount(amount, "amount")

    def check_capture(self, payment_id: str, amount: _Amount | None) -> tuple[Payment, Decimal]:
        """The payment and the exact amount a capture takes (``None``: all still authorised)."""
        payment = self.payment(payment_id)
        if payment.method not in GATEWAY_METHODS:
            raise ValidationError(
                "payment_id",
                payment_id,
                f"is a {payment.method.value} payment, which is approved, not captured",
                "use ApprovePayment",
            )
        self._require_open("capture a payment")
        left = payment.capturable
        if not left:
            raise OrderError(
                self.id,
                f"order {self.id}: payment {payment_id} is {payment.status.value}; "
                "nothing is left to capture",
            )
        value = left if amount is None else self._payment_amount(amount, "amount")
        if value > left:
            raise ValidationError(
                "amount",
                str(value),
                f"is more than the {left} {self.currency} still authorised on {payment_id}",
                "capture at most what is authorised, or authorise a new payment",
            )
        return payment, value

    def check_void(self, payment_id: str) -> Payment:
        payment = self.payment(payment_id)
        if payment.method not in GATEWAY_METHODS or not payment.capturable:
            raise OrderError(
                self.id,
                f"order {self.id}: payment {payment_id} is {payment.status.value}; only an "
                "authorisation with something left to capture can be voided (refund what was "
                "captured instead)",
            )
        return payment

    def check_refund(self, payment_id: str, amount: _Amount | None) -> tuple[Payment, Decimal]:
        """The payment and the exact amount a refund gives back (``None``: all it holds)."""
        payment = self.payment(payment_id)
        left = payment.refundable
        if not left:
            raise OrderError(
                self.id,
                f"order {self.id}: payment {payment_id} is {payment.status.value}; "
                "nothing captured is left to refund",
            )
        value = left if amount is None else self._payment_amount(amount, "amount")
        if value > left:
            raise ValidationError(
                "amount",
                str(value),
                f"is more than the {left} {self.currency} captured and not refunded "
                f"on {payment_id}",
                "refund at most what was captured",
            )
        return payment, value

    # ------------------------------------------------------------------ gateway payments

    def authorize_payment(
        self,
        payment_id: str,
        amount: _Amount,
        at: dt.datetime,
        *,
        gateway_id: str,
        method: PaymentMethod = PaymentMethod.CARD,
        reference: str = "",
        idempotency_key: str = "",
        actor: str = "",
    ) -> Payment:
        """Record an authorisation the gateway granted (``gateway_id`` is its id there)."""
        value = self.check_new_payment(payment_id, amount, method)
        if method not in GATEWAY_METHODS:
            raise ValidationError(
                "method", method.value, "is a manual method", "use RecordPayment for it"
            )
        require_id(gateway_id, "gateway_id")
        self._check_step(at, actor, reference, "reference")
        op = PaymentOperation("authorize", value, at, actor, "", gateway_id, idempotency_key)
        payment = Payment(
            payment_id,
            method,
            value,
            self.currency,
            PaymentState.AUTHORIZED,
            at,
            reference,
            gateway_id,
            recorded_by=actor,
            operations=(op,),
        )
        self._store(payment, at)
        self._payment_event(ev.PaymentAuthorized, payment, value, at, actor, "", gateway_id)
        return payment

    def capture_payment(
        self,
        payment_id: str,
        amount: _Amount | None,
        at: dt.datetime,
        *,
        transaction_id: str,
        idempotency_key: str = "",
        actor: str = "",
    ) -> Payment:
        """Record a capture the gateway made (partial captures may follow until the
        authorisation is used up)."""
        payment, value = self.check_capture(payment_id, amount)
        require_id(transaction_id, "transaction_id")
        self._check_step(at, actor, "", "reason")
        self._require_new_transaction(payment, transaction_id)
        captured = payment.captured + value
        status = (
            PaymentState.CAPTURED if captured == payment.amount else PaymentState.PARTIALLY_CAPTURED
        )
        op = PaymentOperation("capture", value, at, actor, "", transaction_id, idempotency_key)
        updated = attrs.evolve(
            payment, captured=captured, status=status, operations=(*payment.operations, op)
        )
        self._store(updated, at)
        self._payment_event(ev.PaymentCaptured, updated, value, at, actor, "", transaction_id)
        return updated

    def void_payment(
        self,
        payment_id: str,
        at: dt.datetime,
        *,
        transaction_id: str = "",
        idempotency_key: str = "",
        actor: str = "",
        reason: str = "",
    ) -> Payment:
        """Record that the gateway released what the authorisation still held."""
        payment = self.check_void(payment_id)
        check_text(transaction_id, "transaction_id")
        self._check_step(at, actor, reason, "reason")
        released = payment.capturable
        status = PaymentState.CAPTURED if payment.captured else PaymentState.VOIDED
        op = PaymentOperation("void", released, at, actor, reason, transaction_id, idempotency_key)
        updated = attrs.evolve(payment, status=status, operations=(*payment.operations, op))
        self._store(updated, at)
        self._payment_event(ev.PaymentVoided, updated, released, at, actor, reason, transaction_id)
        return updated

    def refund_payment(
        self,
        payment_id: str,
        amount: _Amount | None,
        at: dt.datetime,
        *,
        transaction_id: str = "",
        idempotency_key: str = "",
        actor: str = "",
        reason: str = "",
    ) -> Payment:
        """Record a refund (through the gateway for card payments, ``transaction_id`` its id;
        paid back by hand for manual payments). Never more than was captured."""
        payment, value = self.check_refund(payment_id, amount)
        self.check_refund_transaction(payment, transaction_id)
        self._check_step(at, actor, reason, "reason")
        refunded = payment.refunded + value
        status = PaymentState.REFUNDED if refunded == payment.captured else payment.status
        op = PaymentOperation("refund", value, at, actor, reason, transaction_id, idempotency_key)
        updated = attrs.evolve(
            payment, refunded=refunded, status=status, operations=(*payment.operations, op)
        )
        self._store(updated, at)
        self._payment_event(ev.PaymentRefunded, updated, value, at, actor, reason, transaction_id)
        return updated

    # ------------------------------------------------------------------ manual payments

    def record_payment(
        self,
        payment_id: str,
        method: PaymentMethod,
        amount: _Amount,
        at: dt.datetime,
        *,
        reference: str,
        actor: str = "",
        reason: str = "",
    ) -> Payment:
        """Record a bank transfer, cash or cheque payment; it awaits review (approve or reject)
        and counts as paid only once approved."""
        value = self.check_new_payment(payment_id, amount, method)
        if method not in MANUAL_METHODS:
            raise ValidationError(
                "method",
                method.value,
                "goes through the payment gateway",
                "use AuthorizePayment for it",
            )
        require_id(reference, "reference")
        self._check_step(at, actor, reason, "reason")
        op = PaymentOperation("record", value, at, actor, reason)
        payment = Payment(
            payment_id,
            method,
            value,
            self.currency,
            PaymentState.PENDING_REVIEW,
            at,
            reference,
            recorded_by=actor,
            operations=(op,),
        )
        self._store(payment, at)
        self._payment_event(ev.PaymentRecorded, payment, value, at, actor, reason, "", reference)
        return payment

    def redeem_points(
        self, payment_id: str, amount: _Amount, at: dt.datetime, *, reference: str, actor: str = ""
    ) -> Payment:
        """A payment in loyalty points, captured at once: the service takes the points from the
        customer's ledger in the same unit of work (``reference`` names the ledger entry). It
        may pay at most the balance due."""
        value = self.check_new_payment(payment_id, amount, PaymentMethod.LOYALTY_POINTS)
        require_id(reference, "reference")
        self._check_step(at, actor, "", "reason")
        due = self.payment_figures.balance_due
        if value > due:
            raise ValidationError(
                "points", str(value), f"pay more than the {due} {self.currency} still due"
            )
        op = PaymentOperation("redeem", value, at, actor, "")
        payment = Payment(
            payment_id, PaymentMethod.LOYALTY_POINTS, value, self.currency,
            PaymentState.CAPTURED, at, reference, captured=value, recorded_by=actor,
            operations=(op,),
        )  # fmt: skip
        self._store(payment, at)
        self._payment_event(ev.PaymentCaptured, payment, value, at, actor, "", reference)
        return payment

    def approve_payment(
        self,
        payment_id: str,
        at: dt.datetime,
        *,
        actor: str,
        reason: str = "",
        distinct_approver: bool = False,
    ) -> Payment:
        """Accept a manual payment: its amount counts as paid. With ``distinct_approver`` the
        approver must not be who recorded it."""
        payment = self._reviewable(payment_id, at, actor, reason, distinct_approver, "approve")
        self._require_open("approve a payment")
        op = PaymentOperation("approve", payment.amount, at, actor, reason)
        updated = attrs.evolve(
            payment,
            status=PaymentState.CAPTURED,
            captured=payment.amount,
            decided_by=actor,
            decided_at=at,
            decision_reason=reason,
            operations=(*payment.operations, op),
        )
        self._store(updated, at)
        self._payment_event(ev.PaymentApproved, updated, payment.amount, at, actor, reason, "")
        return updated

    def reject_payment(
        self,
        payment_id: str,
        at: dt.datetime,
        *,
        actor: str,
        reason: str,
        distinct_approver: bool = False,
    ) -> Payment:
        """Refuse a manual payment (it never counted as paid); ``reason`` says why."""
        payment = self._reviewable(payment_id, at, actor, reason, distinct_approver, "reject")
        if not reason.strip():
            raise ValidationError(
                "reason", reason, "is required to reject a payment", "say why it is rejected"
            )
        op = PaymentOperation("reject", payment.amount, at, actor, reason)
        updated = attrs.evolve(
            payment,
            status=PaymentState.REJECTED,
            decided_by=actor,
            decided_at=at,
            decision_reason=reason,
            operations=(*payment.operations, op),
        )
        self._store(updated, at)
        self._payment_event(ev.PaymentRejected, updated, payment.amount, at, actor, reason, "")
        return updated

    # ------------------------------------------------------------------ internals

    def _reviewable(
        self,
        payment_id: str,
        at: dt.datetime,
        actor: str,
        reason: str,
        distinct_approver: bool,
        decision: str,
    ) -> Payment:
        payment = self.payment(payment_id)
        self._check_step(at, actor, reason, "reason")
        check_reviewer(
            self.id,
            f"payment {payment_id}",
            payment.status.value,
            payment.awaiting_review,
            actor=actor,
            requested_by=payment.recorded_by,
            decision=decision,
            distinct_approver=distinct_approver,
            asked="recorded",
        )
        return payment

    def _require_open(self, action: str) -> None:
        if self.state in self.workflow.finals:
            raise OrderError(self.id, f"order {self.id}: is {self.state}; cannot {action}")

    def _payment_amount(self, amount: _Amount, field: str) -> Decimal:
        if isinstance(amount, Money):
            if amount.currency.code != self.currency:
                raise CurrencyMismatchError(field, amount, self.currency)
            value = to_decimal(amount.amount, field)
        else:
            value = to_decimal(amount, field)
        if not value > 0:
            raise ValidationError(field, str(value), "must be positive")
        return check_places(value, self.currency, field)

    def _check_step(self, at: dt.datetime, actor: str, text: str, text_field: str) -> None:
        aware_time(at)
        check_name(actor, "actor")
        check_text(text, text_field)

    def check_refund_transaction(self, payment: Payment, transaction_id: str) -> None:
        """A refund of a gateway payment names the gateway's new transaction; a manual one may
        name a reference."""
        if payment.method in GATEWAY_METHODS:
            require_id(transaction_id, "transaction_id")
            self._require_new_transaction(payment, transaction_id)
        elif transaction_id:
            check_text(transaction_id, "transaction_id")

    def _require_new_transaction(self, payment: Payment, transaction_id: str) -> None:
        if transaction_id in payment.transaction_ids():
            raise ValidationError(
                "transaction_id",
                transaction_id,
                f"is already recorded on payment {payment.id}",
                "a gateway answer is recorded once",
            )

    def _store(self, payment: Payment, at: dt.datetime) -> None:
        kept = [p for p in self.payments if p.id != payment.id]
        if len(kept) == len(self.payments):
            self.payments = (*self.payments, payment)
        else:
            self.payments = tuple(payment if p.id == payment.id else p for p in self.payments)
        self.updated_at = max(self.updated_at, at)

    def _payment_event(
        self,
        cls: type[ev.PaymentEvent],
        payment: Payment,
        amount: Decimal,
        at: dt.datetime,
        actor: str,
        reason: str,
        transaction_id: str,
        reference: str = "",
    ) -> None:
        figures = self.payment_figures
        fields = {
            "payment_id": payment.id,
            "method": payment.method.value,
            "amount": str(amount),
            "currency": self.currency,
            "transaction_id": transaction_id,
            "payment_status": figures.status.value,
            "balance_due": str(figures.balance_due),
        }
        if reference:
            fields["reference"] = reference
        self._raise(cls(self.id, self.event_sequence + 1, at, actor, reason, **fields))
