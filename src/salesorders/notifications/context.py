"""What a notification template sees: :func:`notice_context` builds it from a
:class:`~salesorders.notifications.Notice`, in one place.

Every name in :data:`CONTEXT_VARIABLES` is always present (``None``, ``""`` or an empty list when
the event does not carry it), so a template tests ``{% if tracking_number %}`` rather than
failing on a missing name. Amounts are :class:`~salesorders.domain.money.Money` in the order's
currency (format them with the ``money`` filter); times are timezone-aware datetimes (format them
with the ``date`` or ``datetime`` filter, which shows them in the customer's time zone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from salesorders.domain.money import Money
from salesorders.domain.order import Order
from salesorders.notifications.channel import Notice

__all__ = ["CONTEXT_VARIABLES", "BackorderSummary", "LineSummary", "notice_context"]

#: Every variable a template may use, with what it holds.
CONTEXT_VARIABLES: Mapping[str, str] = {
    "event": "the event type, e.g. 'OrderShipped'",
    "locale": "the template's locale, e.g. 'de_DE'",
    "time_zone": "the customer's IANA time zone ('UTC' without a contact)",
    "order_id": "the order's id",
    "order_number": "the order's number (its id while it has none)",
    "customer_name": "the contact's name, else the billing address name, else ''",
    "currency": "the order's currency code",
    "order_total": "Money: the total the event set (placed, lines cancelled, change approved), "
    "else the order's",
    "lines": "list of LineSummary: the order's lines still ordered",
    "event_lines": "list of LineSummary: the lines the event names (cancelled, returned ...)",
    "backorders": "list of BackorderSummary: what could not be allocated (OrderConfirmed)",
    "at": "datetime: when the event happened",
    "reason": "the reason given with the event ('' if none)",
    "carrier": "the carrier of a dispatched shipment ('' if none)",
    "service_level": "the shipment's service level ('' if none)",
    "tracking_number": "the shipment's tracking number (None if none)",
    "payment_method": "the payment's method ('' if none)",
    "amount": "Money or None: the payment, credit note amount or return estimate",
    "balance_due": "Money or None: what the customer still owes after the event",
    "refunded": "Money or None: what a credit note refunded",
    "refund_due": "Money or None: what a change leaves to refund",
    "difference": "Money or None: what a change or exchange adds (negative: takes off)",
    "customer_credit": "Money or None: store credit a credit note granted",
    "credit_note_number": "the credit note's number ('' if none)",
    "return_id": "the return's id ('' if none)",
    "change_id": "the change request's id ('' if none)",
    "ticket_id": "the support ticket's id ('' if none)",
    "category": "the ticket's category ('' if none)",
    "priority": "the ticket's priority ('' if none)",
    "description": "the ticket's description as the customer wrote it ('' if none)",
    "due_at": "datetime or None: when the ticket is due to be answered",
    "text": "the answer sent to the customer (TicketAnswered; '' otherwise)",
    "author": "who answered ('' if none)",
    "resolution": "how the ticket was resolved ('' if none)",
}


@attrs.frozen(slots=True)
class LineSummary:
    """One order line as a template shows it: ``quantity`` as a Decimal, ``amount`` the line's
    gross amount as Money (``None`` for a line the event names but the order no longer has)."""

    line_id: str
    sku: str
    description: str
    quantity: Decimal
    amount: Money | None = None


@attrs.frozen(slots=True)
class BackorderSummary:
    """What could not be allocated on a line: ``expected`` is the date it is expected, if known."""

    line_id: str
    sku: str
    description: str
    quantity: Decimal
    expected: dt.date | None = None


# The events whose grand total became the order's (a declined change carries the one refused).
_SETS_TOTAL = frozenset({"OrderPlaced", "OrderLinesCancelled", "ChangeApproved"})
_MONEY_FIELDS = {
    "balance_due": ("balance_due",),
    "refunded": ("refunded",),
    "refund_due": ("refund_due",),
    "difference": ("difference",),
    "customer_credit": ("customer_credit",),
    "amount": ("amount", "estimate"),
}
_TEXT_FIELDS = {
    "reason": "reason",
    "carrier": "carrier",
    "service_level": "service_level",
    "payment_method": "method",
    "return_id": "return_id",
    "change_id": "change_id",
    "ticket_id": "ticket_id",
    "category": "category",
    "priority": "priority",
    "description": "description",
    "text": "text",
    "author": "author",
    "resolution": "resolution",
}


def notice_context(notice: Notice, locale: str) -> dict[str, Any]:
    """The variables a template renders ``notice`` with, in ``locale`` (see
    :data:`CONTEXT_VARIABLES`). Payload values the event does not carry are empty."""
    payload = notice.payload
    order = notice.order
    contact = notice.contact
    currency = _text(payload.get("currency")) or (order.currency if order else "")
    context: dict[str, Any] = dict.fromkeys(CONTEXT_VARIABLES)
    context.update(
        event=notice.event_type,
        locale=locale,
        time_zone=contact.time_zone if contact else "UTC",
        order_id=order.id if order else _text(payload.get("order_id")),
        currency=currency,
        at=_datetime(payload.get("at")) or notice.message.occurred_at,
        tracking_number=_text(payload.get("tracking_number")) or None,
        due_at=_datetime(payload.get("due_at")),
        credit_note_number=(
            _text(payload.get("number")) if notice.event_type == "CreditNoteIssued" else ""
        ),
    )
    for name, key in _TEXT_FIELDS.items():
        context[name] = _text(payload.get(key))
    for name, keys in _MONEY_FIELDS.items():
        context[name] = next(
            (m for key in keys if (m := _money(payload.get(key), currency)) is not None), None
        )
    number = order.number if order and order.number else None
    if number is None and notice.event_type == "OrderPlaced":
        number = _text(payload.get("number")) or None
    context["order_number"] = number or context["order_id"]
    context["customer_name"] = _customer_name(notice)
    total = None
    if notice.event_type in _SETS_TOTAL:
        total = _money(payload.get("grand_total"), currency)
    context["order_total"] = total if total is not None else (order.grand_total if order else None)
    context["lines"] = _order_lines(order)
    context["event_lines"] = _event_lines(order, payload.get("lines"))
    context["backorders"] = _backorders(order, payload.get("backorders"))
    return context


def _customer_name(notice: Notice) -> str:
    if notice.contact is not None and notice.contact.name:
        return notice.contact.name
    order = notice.order
    if order is not None and order.billing_address is not None:
        return order.billing_address.name
    return ""


def _order_lines(order: Order | None) -> list[LineSummary]:
    if order is None:
        return []
    return [
        LineSummary(
            line.line_id,
            line.sku,
            line.description,
            line.quantity - line.cancelled,
            Money(line.gross, order.currency),
        )
        for line in order.lines
        if line.quantity > line.cancelled
    ]


def _named_lines(order: Order | None, rows: object) -> list[tuple[Any, Decimal, Sequence[object]]]:
    """The rows an event names lines by (each starting with a line id and its quantity; others
    are left out): the order's line (``None`` if unknown), the quantity and the whole row."""
    named = []
    for row in _rows(rows):
        if len(row) < 2:
            continue
        quantity = _decimal(row[1])
        if quantity is not None:
            named.append((_line(order, _text(row[0])), quantity, row))
    return named


def _event_lines(order: Order | None, rows: object) -> list[LineSummary]:
    """The lines an event names."""
    return [
        LineSummary(
            _text(row[0]),
            known.sku if known else "",
            known.description if known else "",
            quantity,
            None,
        )
        for known, quantity, row in _named_lines(order, rows)
    ]


def _backorders(order: Order | None, rows: object) -> list[BackorderSummary]:
    return [
        BackorderSummary(
            _text(row[0]),
            known.sku if known else "",
            known.description if known else "",
            quantity,
            _date(row[2]) if len(row) > 2 else None,
        )
        for known, quantity, row in _named_lines(order, rows)
    ]


def _line(order: Order | None, line_id: str) -> Any:
    if order is None:
        return None
    return next((line for line in order.lines if line.line_id == line_id), None)


def _rows(value: object) -> list[Sequence[object]]:
    if not isinstance(value, list | tuple):
        return []
    return [row for row in value if isinstance(row, list | tuple)]


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _money(value: object, currency: str) -> Money | None:
    amount = _decimal(value)
    if amount is None or not currency:
        return None
    return Money(amount, currency)


def _datetime(value: object) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _date(value: object) -> dt.date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
