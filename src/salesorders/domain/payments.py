"""Payments on an order: the records, their operations, the terms, and what is derived from them.

A :class:`Payment` is one way the customer pays: a card authorised through a payment gateway and
captured (in part, several times), or a manual payment — a bank transfer, cash, a cheque — that is
recorded and then approved or rejected by a reviewer. Each change is a :class:`PaymentOperation`
kept on the payment (what, how much, when, who, and the gateway's transaction id), so the money
trail can be read back.

Money is exact: every amount is a ``Decimal`` in the order's currency, at its minor unit. Derived
figures (:func:`payment_figures`) satisfy, always::

    paid - refunded == net_paid == sum(p.net for p in payments)
    balance_due - customer_credit == grand_total - net_paid

where the order passes as ``grand_total`` what it is owed: its grand total, less its credit
notes, plus the repairs charged to the customer (``Order.amount_owed``).

An overpayment is never lost: it is the ``customer_credit``. :class:`PaymentTerms` say when the
money is due (now, net N days, or a deposit now and the rest in N days).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

import attrs

from salesorders.domain.money import currency_exponent, minor_unit, to_decimal
from salesorders.errors import ValidationError

__all__ = [
    "GATEWAY_METHODS",
    "MANUAL_METHODS",
    "POINTS_METHODS",
    "Payment",
    "PaymentFigures",
    "PaymentMethod",
    "PaymentOperation",
    "PaymentState",
    "PaymentStatus",
    "PaymentTerms",
    "TermsKind",
    "payment_figures",
    "payment_of",
]

_ZERO: Final = Decimal(0)
_HUNDRED: Final = Decimal(100)
_MAX_NET_DAYS: Final = 3650


class PaymentMethod(enum.Enum):
    """How the customer pays. ``card`` goes through the payment gateway; ``loyalty_points`` is
    taken from the customer's points (``RedeemPoints``); the others are manual payments,
    recorded and reviewed."""

    CARD = "card"
    BANK_TRANSFER = "bank_transfer"
    CASH = "cash"
    CHEQUE = "cheque"
    LOYALTY_POINTS = "loyalty_points"


GATEWAY_METHODS: Final = frozenset({PaymentMethod.CARD})
POINTS_METHODS: Final = frozenset({PaymentMethod.LOYALTY_POINTS})
MANUAL_METHODS: Final = frozenset(set(PaymentMethod) - GATEWAY_METHODS - POINTS_METHODS)


class PaymentState(enum.Enum):
    """Where one payment is.

    Gateway payments: ``authorized`` → ``partially_captured`` → ``captured``, or ``voided``
    (voiding a partially captured payment releases the rest and leaves it ``captured``).
    Manual payments: ``pending_review`` → ``captured`` (approved: the money is in) or
    ``rejected``. A captured payment refunded in full is ``refunded``.
    """

    PENDING_REVIEW = "pending_review"
    REJECTED = "rejected"
    AUTHORIZED = "authorized"
    PARTIALLY_CAPTURED = "partially_captured"
    CAPTURED = "captured"
    VOIDED = "voided"
    REFUNDED = "refunded"


class PaymentStatus(enum.Enum):
    """The order's payment status, derived from its payments and its grand total."""

    UNPAID = "unpaid"
    AUTHORIZED = "authorized"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERPAID = "overpaid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


@attrs.frozen(slots=True)
class PaymentOperation:
    """One change of a payment: ``kind`` is ``authorize``, ``record``, ``capture``, ``void``,
    ``refund``, ``approve`` or ``reject``; ``transaction_id`` is the gateway's id of it (empty for
    manual steps); ``idempotency_key`` the key the gateway was called with."""

    kind: str
    amount: Decimal
    at: dt.datetime
    actor: str = ""
    reason: str = ""
    transaction_id: str = ""
    idempotency_key: str = ""


@attrs.frozen(slots=True)
class Payment:
    """One payment of an order, in the order's currency.

    ``amount`` is what was authorised (gateway) or recorded (manual); ``captured`` what has been
    taken (for an approved manual payment, all of it); ``refunded`` what went back. ``recorded_by``
    is who recorded or authorised it; ``decided_by``, ``decided_at`` and ``decision_reason`` say
    who approved or rejected a manual payment, when and why.
    """

    id: str
    method: PaymentMethod
    amount: Decimal
    currency: str
    status: PaymentState
    created_at: dt.datetime
    reference: str = ""
    gateway_id: str | None = None
    captured: Decimal = _ZERO
    refunded: Decimal = _ZERO
    recorded_by: str = ""
    decided_by: str = ""
    decided_at: dt.datetime | None = None
    decision_reason: str = ""
    operations: tuple[PaymentOperation, ...] = ()

    @property
    def net(self) -> Decimal:
        """What this payment holds of the customer's money now: captured less refunded."""
        return self.captured - self.refunded

    @property
    def capturable(self) -> Decimal:
        """What may still be captured of the authorisation."""
        if self.status in (PaymentState.AUTHORIZED, PaymentState.PARTIALLY_CAPTURED):
            return self.amount - self.captured
        return _ZERO

    @property
    def refundable(self) -> Decimal:
        return self.net

    @property
    def awaiting_review(self) -> bool:
        return self.status is PaymentState.PENDING_REVIEW

    def transaction_ids(self) -> frozenset[str]:
        """The gateway transaction ids this payment knows (its captures, refunds …)."""
        return frozenset(op.transaction_id for op in self.operations if op.transaction_id)


@attrs.frozen(slots=True)
class PaymentFigures:
    """What an order's payments add up to, exact in its currency."""

    paid: Decimal
    refunded: Decimal
    authorized: Decimal
    balance_due: Decimal
    customer_credit: Decimal
    status: PaymentStatus

    @property
    def net_paid(self) -> Decimal:
        return self.paid - self.refunded


def payment_figures(payments: Iterable[Payment], grand_total: Decimal) -> PaymentFigures:
    """The derived figures and status of ``payments`` against ``grand_total``."""
    paid = refunded = authorized = _ZERO
    for payment in payments:
        paid += payment.captured
        refunded += payment.refunded
        authorized += payment.capturable
    net = paid - refunded
    difference = grand_total - net
    balance = difference if difference > 0 else _ZERO
    credit = -difference if difference < 0 else _ZERO
    if not paid:
        status = PaymentStatus.AUTHORIZED if authorized else PaymentStatus.UNPAID
    elif refunded and not net:
        status = PaymentStatus.REFUNDED
    elif refunded and balance:
        status = PaymentStatus.PARTIALLY_REFUNDED
    elif credit:
        status = PaymentStatus.OVERPAID
    elif not balance:
        status = PaymentStatus.PAID
    else:
        status = PaymentStatus.PARTIALLY_PAID
    return PaymentFigures(paid, refunded, authorized, balance, credit, status)


def payment_of(payments: Iterable[Payment], order_id: str, payment_id: str) -> Payment:
    for payment in payments:
        if payment.id == payment_id:
            return payment
    raise ValidationError(
        "payment_id", payment_id, f"is not a payment of order {order_id}", "check the payment id"
    )


class TermsKind(enum.Enum):
    """When an order's money is due."""

    DUE_NOW = "due_now"
    NET = "net"
    DEPOSIT = "deposit"


@attrs.frozen(slots=True)
class PaymentTerms:
    """When the order is to be paid, counted from its placement.

    ``due_now``: all at placement. ``net`` with ``days``: all ``days`` after placement.
    ``deposit`` with ``deposit_percent`` and ``days``: that share of the grand total at placement
    (rounded half-up to the minor unit), the rest ``days`` after placement. Build them with
    :meth:`due_now`, :meth:`net` and :meth:`deposit`, which check every field.
    """

    kind: TermsKind = TermsKind.DUE_NOW
    days: int = 0
    deposit_percent: Decimal = _ZERO

    @classmethod
    def due_now(cls) -> PaymentTerms:
        return cls()

    @classmethod
    def net(cls, days: int) -> PaymentTerms:
        return cls.checked(TermsKind.NET, days)

    @classmethod
    def deposit(cls, percent: Decimal | int | str, days: int) -> PaymentTerms:
        return cls.checked(TermsKind.DEPOSIT, days, percent)

    @classmethod
    def checked(
        cls, kind: object, days: object = 0, deposit_percent: object = _ZERO
    ) -> PaymentTerms:
        """Terms from outside input, every field checked and named."""
        try:
            terms_kind = kind if isinstance(kind, TermsKind) else TermsKind(kind)
        except ValueError:
            raise ValidationError(
                "terms.kind",
                kind,
                "is not a kind of payment terms",
                "use one of " + ", ".join(k.value for k in TermsKind),
            ) from None
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= _MAX_NET_DAYS:
            raise ValidationError(
                "terms.days", days, f"must be a whole number of days from 0 to {_MAX_NET_DAYS}"
            )
        percent = to_decimal(deposit_percent, "terms.deposit_percent")
        if terms_kind is TermsKind.DEPOSIT:
            if not _ZERO < percent < _HUNDRED:
                raise ValidationError(
                    "terms.deposit_percent",
                    deposit_percent,
                    "must be more than 0 and less than 100",
                    "use due_now terms for 100",
                )
        elif percent:
            raise ValidationError(
                "terms.deposit_percent",
                deposit_percent,
                f"is only taken by deposit terms, not {terms_kind.value}",
                "leave it out",
            )
        if terms_kind is TermsKind.DUE_NOW and days:
            raise ValidationError(
                "terms.days", days, "is not taken by due_now terms", "use net terms"
            )
        return cls(terms_kind, days, percent)

    def due_date(self, placed_at: dt.datetime | None) -> dt.date | None:
        """When everything is due (``None`` before the order is placed)."""
        if placed_at is None:
            return None
        return placed_at.date() + dt.timedelta(days=self.days)

    def deposit_amount(self, grand_total: Decimal, currency: str) -> Decimal:
        """The deposit due at placement (deposit terms; otherwise the grand total for due now,
        nothing for net terms)."""
        if self.kind is TermsKind.DUE_NOW:
            return grand_total
        if self.kind is TermsKind.NET:
            return _ZERO
        share = grand_total * self.deposit_percent / _HUNDRED
        return share.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)

    def due_by(
        self, day: dt.date, placed_at: dt.datetime | None, grand_total: Decimal, currency: str
    ) -> Decimal:
        """How much should have been paid before ``day``: what is unpaid of it on ``day`` is
        overdue (money due on a date is overdue from the next day)."""
        due = self.due_date(placed_at)
        if due is None or placed_at is None or day <= placed_at.date():
            return _ZERO
        if day > due:
            return grand_total
        return self.deposit_amount(grand_total, currency)


def check_places(value: Decimal, currency: str, field: str) -> Decimal:
    """``value`` if it has no more decimal places than ``currency``'s minor unit."""
    exponent = currency_exponent(currency)
    exact = value.quantize(Decimal(1).scaleb(-exponent))
    if value != exact:
        raise ValidationError(
            field, str(value), f"has more decimal places than {currency} allows ({exponent})"
        )
    return exact
