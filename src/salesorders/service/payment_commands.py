"""The payment commands: what a caller asks of an order's payments.

Plain immutable values like every command (see :mod:`salesorders.service.commands`): each carries
``idempotency_key`` and ``actor``. Amounts are exact — a ``Money`` in the order's currency, or a
``Decimal``, ``str`` or ``int`` taken in it — with at most the currency's minor-unit places.
``payment_id`` names a payment of the order (``AuthorizePayment`` and ``RecordPayment`` number
new ones ``P1``, ``P2`` … when it is left out).
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

import attrs
from moneyed import Money

from salesorders.domain.payments import PaymentTerms

__all__ = [
    "ApprovePayment",
    "AuthorizePayment",
    "CapturePayment",
    "RecordPayment",
    "RefundPayment",
    "RejectPayment",
    "SetPaymentTerms",
    "VoidPayment",
]

Amount = Money | Decimal | str | int


@attrs.frozen(slots=True)
class AuthorizePayment:
    """Have the payment gateway hold ``amount`` on the customer's card, as a new payment."""

    permission: ClassVar[str] = "payments.take"

    order_id: str
    amount: Amount
    payment_id: str | None = None
    method: str = "card"
    reference: str = ""
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class CapturePayment:
    """Take ``amount`` (``None``: everything still authorised) of an authorised payment; several
    partial captures may follow each other."""

    permission: ClassVar[str] = "payments.take"

    order_id: str
    payment_id: str
    amount: Amount | None = None
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class VoidPayment:
    """Release what an authorisation still holds."""

    permission: ClassVar[str] = "payments.void"

    order_id: str
    payment_id: str
    reason: str = ""
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class RefundPayment:
    """Give back ``amount`` (``None``: all it holds) of a payment; never more than was captured.
    Card payments are refunded through the gateway; manual ones are recorded as paid back."""

    permission: ClassVar[str] = "payments.refund"

    order_id: str
    payment_id: str
    amount: Amount | None = None
    reason: str = ""
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class RecordPayment:
    """Record a manual payment — ``bank_transfer``, ``cash`` or ``cheque`` — with its reference
    (the bank's transaction reference, the receipt or cheque number). It awaits review."""

    permission: ClassVar[str] = "payments.record"

    order_id: str
    method: str
    amount: Amount
    reference: str
    payment_id: str | None = None
    reason: str = ""
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class ApprovePayment:
    """Accept a recorded payment (``actor`` is the reviewer; ``reason`` says why)."""

    permission: ClassVar[str] = "payments.approve"

    order_id: str
    payment_id: str
    reason: str = ""
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class RejectPayment:
    """Reject a recorded payment (``actor`` is the reviewer; ``reason`` is required)."""

    permission: ClassVar[str] = "payments.approve"

    order_id: str
    payment_id: str
    reason: str
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class SetPaymentTerms:
    """Agree when the order is to be paid: ``PaymentTerms.due_now()``, ``.net(days)`` or
    ``.deposit(percent, days)``."""

    permission: ClassVar[str] = "payments.terms"

    order_id: str
    terms: PaymentTerms
    reason: str = ""
    idempotency_key: str | None = None
    actor: str = ""
