"""Immutable domain events raised by the Order aggregate.

Every order event carries the order id, a per-order ``sequence`` (1, 2, 3 ... without gaps) and the
time it happened. ``event_id`` (``"<order id>:<sequence>"``) is unique and stable: a retried command
that is answered from the idempotency store produces no new events, and a redelivered outbox message
keeps its id, so consumers can deduplicate on it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import ClassVar

import attrs

__all__ = [
    "EVENT_TYPES",
    "ChangeApproved",
    "ChangeCancelled",
    "ChangeDeclined",
    "ChangeEvent",
    "ChangeRequested",
    "CreditNoteIssued",
    "DeliveryPromised",
    "FollowUpDone",
    "FollowUpScheduled",
    "OrderAllocationChanged",
    "OrderCancelled",
    "OrderCompleted",
    "OrderConfirmed",
    "OrderDelivered",
    "OrderEvent",
    "OrderHeld",
    "OrderLinesCancelled",
    "OrderNoteAdded",
    "OrderPlaced",
    "OrderResumed",
    "OrderShipped",
    "OrderTransitioned",
    "PaymentApproved",
    "PaymentAuthorized",
    "PaymentCaptured",
    "PaymentEvent",
    "PaymentRecorded",
    "PaymentRefunded",
    "PaymentRejected",
    "PaymentTermsSet",
    "PaymentVoided",
    "RepairAdvanced",
    "RepairClosed",
    "RepairEvent",
    "RepairNoted",
    "RepairOpened",
    "ReturnApproved",
    "ReturnEvent",
    "ReturnExchanged",
    "ReturnReceived",
    "ReturnRejected",
    "ReturnRequested",
    "ShipmentDispatched",
    "ShipmentTracked",
    "TicketAnswered",
    "TicketAssigned",
    "TicketClosed",
    "TicketEvent",
    "TicketNoted",
    "TicketOpened",
    "TicketReopened",
    "TicketResolved",
    "event_class_for",
]


@attrs.frozen(slots=True)
class OrderEvent:
    """Something that happened to an order. Subclasses name the business fact."""

    event_type: ClassVar[str] = "OrderEvent"

    order_id: str
    sequence: int
    at: dt.datetime
    actor: str = ""
    reason: str = ""

    @property
    def event_id(self) -> str:
        return f"{self.order_id}:{self.sequence}"


@attrs.frozen(slots=True)
class OrderPlaced(OrderEvent):
    event_type: ClassVar[str] = "OrderPlaced"

    number: str = ""
    customer_id: str = ""
    currency: str = ""
    grand_total: Decimal = Decimal(0)


@attrs.frozen(slots=True)
class OrderConfirmed(OrderEvent):
    """The order was confirmed; ``backorders`` are ``(line id, quantity, expected date)`` of
    what could not be allocated, as text (the date ISO 8601, or empty when none is known)."""

    event_type: ClassVar[str] = "OrderConfirmed"

    backorders: tuple[tuple[str, str, str], ...] = ()


@attrs.frozen(slots=True)
class OrderHeld(OrderEvent):
    event_type: ClassVar[str] = "OrderHeld"

    held_from: str = ""


@attrs.frozen(slots=True)
class OrderResumed(OrderEvent):
    event_type: ClassVar[str] = "OrderResumed"

    resumed_to: str = ""


@attrs.frozen(slots=True)
class OrderCancelled(OrderEvent):
    event_type: ClassVar[str] = "OrderCancelled"

    cancelled_from: str = ""


@attrs.frozen(slots=True)
class OrderShipped(OrderEvent):
    event_type: ClassVar[str] = "OrderShipped"


@attrs.frozen(slots=True)
class OrderDelivered(OrderEvent):
    event_type: ClassVar[str] = "OrderDelivered"


@attrs.frozen(slots=True)
class OrderCompleted(OrderEvent):
    event_type: ClassVar[str] = "OrderCompleted"


@attrs.frozen(slots=True)
class OrderTransitioned(OrderEvent):
    """A transition of a host-defined workflow event (for example an approval step)."""

    event_type: ClassVar[str] = "OrderTransitioned"

    event: str = ""
    source: str = ""
    target: str = ""


@attrs.frozen(slots=True)
class OrderAllocationChanged(OrderEvent):
    """Stock arrived for backordered lines: ``lines`` are ``(line id, allocated, backordered)``
    after the change, quantities as text."""

    event_type: ClassVar[str] = "OrderAllocationChanged"

    lines: tuple[tuple[str, str, str], ...] = ()
    backorders: tuple[tuple[str, str, str], ...] = ()  # as on OrderConfirmed


@attrs.frozen(slots=True)
class OrderLinesCancelled(OrderEvent):
    """Quantities of lines were cancelled (a short ship). ``lines`` are ``(line id, quantity
    cancelled now, quantity still open)`` as text; the grand totals before and after say what
    the customer no longer owes."""

    event_type: ClassVar[str] = "OrderLinesCancelled"

    lines: tuple[tuple[str, str, str], ...] = ()
    grand_total_before: Decimal = Decimal(0)
    grand_total: Decimal = Decimal(0)


@attrs.frozen(slots=True)
class ShipmentDispatched(OrderEvent):
    """Goods of the order left a warehouse (one shipment)."""

    event_type: ClassVar[str] = "ShipmentDispatched"

    shipment_id: str = ""
    warehouse_id: str = ""
    carrier: str = ""
    service_level: str = ""
    tracking_number: str | None = None
    lines: tuple[tuple[str, str], ...] = ()  # (line id, quantity as text)


@attrs.frozen(slots=True)
class ShipmentTracked(OrderEvent):
    """A shipment's status changed (in transit, delivered, exception ...)."""

    event_type: ClassVar[str] = "ShipmentTracked"

    shipment_id: str = ""
    status: str = ""
    location: str = ""
    note: str = ""


@attrs.frozen(slots=True)
class DeliveryPromised(OrderEvent):
    """The customer was promised delivery by ``promised_date`` (ISO 8601; empty: no promise)."""

    event_type: ClassVar[str] = "DeliveryPromised"

    promised_date: str = ""


@attrs.frozen(slots=True)
class PaymentEvent(OrderEvent):
    """A payment of the order changed. ``amount`` is what this change moved (as text, exact in the
    order's currency); ``payment_status`` and ``balance_due`` are the order's after it."""

    event_type: ClassVar[str] = "PaymentEvent"

    payment_id: str = ""
    method: str = ""
    amount: str = "0"
    currency: str = ""
    transaction_id: str = ""
    payment_status: str = ""
    balance_due: str = "0"


@attrs.frozen(slots=True)
class PaymentAuthorized(PaymentEvent):
    event_type: ClassVar[str] = "PaymentAuthorized"


@attrs.frozen(slots=True)
class PaymentCaptured(PaymentEvent):
    event_type: ClassVar[str] = "PaymentCaptured"


@attrs.frozen(slots=True)
class PaymentVoided(PaymentEvent):
    """The authorisation was released; ``amount`` is what it still held."""

    event_type: ClassVar[str] = "PaymentVoided"


@attrs.frozen(slots=True)
class PaymentRefunded(PaymentEvent):
    event_type: ClassVar[str] = "PaymentRefunded"


@attrs.frozen(slots=True)
class PaymentRecorded(PaymentEvent):
    """A manual payment (bank transfer, cash, cheque) was recorded and awaits review."""

    event_type: ClassVar[str] = "PaymentRecorded"

    reference: str = ""


@attrs.frozen(slots=True)
class PaymentApproved(PaymentEvent):
    """A reviewer (``actor``) accepted a manual payment, saying why in ``reason``."""

    event_type: ClassVar[str] = "PaymentApproved"


@attrs.frozen(slots=True)
class PaymentRejected(PaymentEvent):
    """A reviewer (``actor``) rejected a manual payment, saying why in ``reason``."""

    event_type: ClassVar[str] = "PaymentRejected"


@attrs.frozen(slots=True)
class PaymentTermsSet(OrderEvent):
    """The order's payment terms; ``due_date`` is ISO 8601 (empty before placement)."""

    event_type: ClassVar[str] = "PaymentTermsSet"

    kind: str = ""
    days: int = 0
    deposit_percent: str = "0"
    due_date: str = ""


@attrs.frozen(slots=True)
class ChangeEvent(OrderEvent):
    """A change request of the order moved on. The amounts are text, exact in ``currency``:
    the grand total with the change, its ``difference`` to the grand total without it, and the
    ``balance_due`` and ``refund_due`` that follow; ``revision`` is the order's after the event."""

    event_type: ClassVar[str] = "ChangeEvent"

    change_id: str = ""
    revision: int = 0
    currency: str = ""
    grand_total: str = "0"
    difference: str = "0"
    balance_due: str = "0"
    refund_due: str = "0"


@attrs.frozen(slots=True)
class ChangeRequested(ChangeEvent):
    """A change was requested (``actions`` are its kinds); the amounts are its preview."""

    event_type: ClassVar[str] = "ChangeRequested"

    actions: tuple[str, ...] = ()


@attrs.frozen(slots=True)
class ChangeApproved(ChangeEvent):
    """A reviewer (``actor``) approved a change and it was applied; ``backorders`` are
    ``(line id, quantity)`` of increases left waiting for stock."""

    event_type: ClassVar[str] = "ChangeApproved"

    on_shortage: str = ""
    backorders: tuple[tuple[str, str], ...] = ()


@attrs.frozen(slots=True)
class ChangeDeclined(ChangeEvent):
    """A reviewer (``actor``) declined a change, saying why in ``reason``."""

    event_type: ClassVar[str] = "ChangeDeclined"


@attrs.frozen(slots=True)
class ChangeCancelled(ChangeEvent):
    """Whoever requested a change withdrew it."""

    event_type: ClassVar[str] = "ChangeCancelled"


@attrs.frozen(slots=True)
class ReturnEvent(OrderEvent):
    """A return of the order changed. ``lines`` are ``(line id, quantity, reason)`` as text;
    ``return_status`` is the order's after the change."""

    event_type: ClassVar[str] = "ReturnEvent"

    return_id: str = ""
    lines: tuple[tuple[str, str, str], ...] = ()
    return_status: str = ""


@attrs.frozen(slots=True)
class ReturnRequested(ReturnEvent):
    """A return was requested; ``estimate`` is the refund it would give (text, order currency)."""

    event_type: ClassVar[str] = "ReturnRequested"

    estimate: str = "0"
    currency: str = ""


@attrs.frozen(slots=True)
class ReturnApproved(ReturnEvent):
    """A reviewer (``actor``) approved a return, saying why in ``reason``."""

    event_type: ClassVar[str] = "ReturnApproved"


@attrs.frozen(slots=True)
class ReturnRejected(ReturnEvent):
    """A reviewer (``actor``) rejected a return, saying why in ``reason``."""

    event_type: ClassVar[str] = "ReturnRejected"


@attrs.frozen(slots=True)
class ReturnReceived(ReturnEvent):
    """The goods came back: ``restocked`` are ``(line id, quantity, warehouse id)``,
    ``written_off`` are ``(line id, quantity)``, as text."""

    event_type: ClassVar[str] = "ReturnReceived"

    restocked: tuple[tuple[str, str, str], ...] = ()
    written_off: tuple[tuple[str, str], ...] = ()


@attrs.frozen(slots=True)
class ReturnExchanged(ReturnEvent):
    """A replacement line was added for a return. ``difference`` is the replacement's gross less
    the credit for the returned units: positive, the customer owes it; negative, it is credited."""

    event_type: ClassVar[str] = "ReturnExchanged"

    replacement_line_id: str = ""
    replacement_sku: str = ""
    difference: str = "0"
    currency: str = ""


@attrs.frozen(slots=True)
class CreditNoteIssued(OrderEvent):
    """A credit note was issued for a return: ``amount`` credited, ``refunded`` of it paid back
    to the original payments (the rest is store credit); the order's figures after it."""

    event_type: ClassVar[str] = "CreditNoteIssued"

    number: str = ""
    return_id: str = ""
    amount: str = "0"
    refunded: str = "0"
    currency: str = ""
    settlement: str = ""
    balance_due: str = "0"
    customer_credit: str = "0"


@attrs.frozen(slots=True)
class RepairEvent(OrderEvent):
    """A repair of an order line changed; ``stage`` is where it is after the change."""

    event_type: ClassVar[str] = "RepairEvent"

    repair_id: str = ""
    line_id: str = ""
    stage: str = ""


@attrs.frozen(slots=True)
class RepairOpened(RepairEvent):
    event_type: ClassVar[str] = "RepairOpened"


@attrs.frozen(slots=True)
class RepairAdvanced(RepairEvent):
    event_type: ClassVar[str] = "RepairAdvanced"


@attrs.frozen(slots=True)
class RepairNoted(RepairEvent):
    event_type: ClassVar[str] = "RepairNoted"

    note: str = ""


@attrs.frozen(slots=True)
class RepairClosed(RepairEvent):
    """A repair was closed; ``cost`` (text) is borne by ``charge_to`` (customer or warranty)."""

    event_type: ClassVar[str] = "RepairClosed"

    cost: str = "0"
    currency: str = ""
    charge_to: str = ""


@attrs.frozen(slots=True)
class TicketEvent(OrderEvent):
    """A customer feedback ticket of the order changed."""

    event_type: ClassVar[str] = "TicketEvent"

    ticket_id: str = ""


@attrs.frozen(slots=True)
class TicketOpened(TicketEvent):
    """A ticket was opened; ``due_at`` is when its SLA expects it resolved. The customer is
    notified."""

    event_type: ClassVar[str] = "TicketOpened"

    category: str = ""
    priority: str = ""
    description: str = ""
    due_at: dt.datetime | None = None


@attrs.frozen(slots=True)
class TicketAssigned(TicketEvent):
    event_type: ClassVar[str] = "TicketAssigned"

    department: str = ""
    assignee: str = ""


@attrs.frozen(slots=True)
class TicketNoted(TicketEvent):
    """An internal note was added to a ticket (never sent to the customer)."""

    event_type: ClassVar[str] = "TicketNoted"

    note_id: str = ""
    text: str = ""
    author: str = ""


@attrs.frozen(slots=True)
class TicketAnswered(TicketEvent):
    """A note to the customer was added to a ticket: the customer is notified."""

    event_type: ClassVar[str] = "TicketAnswered"

    note_id: str = ""
    text: str = ""
    author: str = ""


@attrs.frozen(slots=True)
class FollowUpScheduled(TicketEvent):
    """A follow-up (a ticket of category ``follow_up``) was scheduled, due at ``due_at``; the
    customer is not told."""

    event_type: ClassVar[str] = "FollowUpScheduled"

    description: str = ""
    due_at: dt.datetime | None = None


@attrs.frozen(slots=True)
class FollowUpDone(TicketEvent):
    """A follow-up was done, with its ``resolution`` (what came of it); the customer is not
    told."""

    event_type: ClassVar[str] = "FollowUpDone"

    resolution: str = ""


@attrs.frozen(slots=True)
class TicketResolved(TicketEvent):
    """A ticket was resolved with its ``resolution``: the customer is notified."""

    event_type: ClassVar[str] = "TicketResolved"

    resolution: str = ""


@attrs.frozen(slots=True)
class TicketReopened(TicketEvent):
    """A ticket was reopened (``reason``), due again at ``due_at``."""

    event_type: ClassVar[str] = "TicketReopened"

    due_at: dt.datetime | None = None


@attrs.frozen(slots=True)
class TicketClosed(TicketEvent):
    event_type: ClassVar[str] = "TicketClosed"


@attrs.frozen(slots=True)
class OrderNoteAdded(OrderEvent):
    """An internal note was added to the order; ``mentions`` are the departments it mentions."""

    event_type: ClassVar[str] = "OrderNoteAdded"

    note_id: str = ""
    text: str = ""
    author: str = ""
    mentions: tuple[str, ...] = ()


_BY_WORKFLOW_EVENT: dict[str, type[OrderEvent]] = {
    "confirm": OrderConfirmed,
    "ship": OrderShipped,
    "deliver": OrderDelivered,
    "complete": OrderCompleted,
}

EVENT_TYPES: dict[str, type[OrderEvent]] = {
    cls.event_type: cls
    for cls in (
        OrderPlaced,
        OrderConfirmed,
        OrderHeld,
        OrderResumed,
        OrderCancelled,
        OrderShipped,
        OrderDelivered,
        OrderCompleted,
        OrderTransitioned,
        OrderAllocationChanged,
        OrderLinesCancelled,
        ShipmentDispatched,
        ShipmentTracked,
        DeliveryPromised,
        PaymentAuthorized,
        PaymentCaptured,
        PaymentVoided,
        PaymentRefunded,
        PaymentRecorded,
        PaymentApproved,
        PaymentRejected,
        PaymentTermsSet,
        ChangeRequested,
        ChangeApproved,
        ChangeDeclined,
        ChangeCancelled,
        ReturnRequested,
        ReturnApproved,
        ReturnRejected,
        ReturnReceived,
        ReturnExchanged,
        CreditNoteIssued,
        RepairOpened,
        RepairAdvanced,
        RepairNoted,
        RepairClosed,
        TicketOpened,
        TicketAssigned,
        TicketNoted,
        TicketAnswered,
        TicketResolved,
        FollowUpScheduled,
        FollowUpDone,
        TicketReopened,
        TicketClosed,
        OrderNoteAdded,
    )
}


def event_class_for(workflow_event: str) -> type[OrderEvent] | None:
    """The event class for a plain workflow event without extra fields, if it has one."""
    return _BY_WORKFLOW_EVENT.get(workflow_event)
