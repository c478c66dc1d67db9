"""The customer feedback commands: tickets on an order and internal order notes.

Plain immutable values like every command (see :mod:`salesorders.service.commands`): each carries
``idempotency_key`` and ``actor``. ``ticket_id`` names a ticket of the order (``OpenTicket``
numbers new tickets ``T1``, ``T2`` … when left out); notes of the order and of its tickets share
one series ``N1``, ``N2`` …. Due times come from the service's SLA policy.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import attrs

__all__ = [
    "AddOrderNote",
    "AddTicketNote",
    "AssignTicket",
    "CloseTicket",
    "OpenTicket",
    "ReopenTicket",
    "ResolveTicket",
    "ScheduleFollowUp",
]


@attrs.frozen(slots=True)
class OpenTicket:
    """Open a ticket on the order: ``category`` (``wrong_item``, ``damaged``,
    ``late_delivery``, ``billing``, ``other``), ``priority`` (``low``, ``normal``, ``high``,
    ``urgent``), optionally about one line or one shipment of the order."""

    permission: ClassVar[str] = "tickets.open"

    order_id: str
    category: str
    description: str
    priority: str = "normal"
    line_id: str | None = None
    shipment_id: str | None = None
    ticket_id: str | None = None
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class AssignTicket:
    """Assign a ticket to a ``department`` (``sales``, ``customer_service``, ``warehouse``,
    ``logistics``, ``finance``, ``management``) and, optionally, a person in it."""

    permission: ClassVar[str] = "tickets.assign"

    order_id: str
    ticket_id: str
    department: str
    assignee: str = ""
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class AddTicketNote:
    """Note on a ticket: ``internal`` (the team only) or ``customer`` (an answer the customer
    is notified of). The author is the command's ``actor``. ``personal`` marks a text that
    names a person (see ``docs/privacy.md``)."""

    permission: ClassVar[str] = "tickets.note"

    order_id: str
    ticket_id: str
    text: str
    visibility: str = "internal"
    note_id: str | None = None
    personal: bool = False
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class ResolveTicket:
    """Resolve an open ticket with its ``resolution`` (the customer is notified)."""

    permission: ClassVar[str] = "tickets.resolve"

    order_id: str
    ticket_id: str
    resolution: str
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class ReopenTicket:
    """Reopen a resolved or closed ticket (within 30 days of its resolution), due again by the
    SLA policy from now."""

    permission: ClassVar[str] = "tickets.reopen"

    order_id: str
    ticket_id: str
    reason: str
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class CloseTicket:
    """Close a resolved ticket."""

    permission: ClassVar[str] = "tickets.close"

    order_id: str
    ticket_id: str
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class AddOrderNote:
    """Add an internal note to the order; ``@department`` mentions in its text are kept (an
    unknown one is refused). The author is the command's ``actor``. ``personal`` marks a text
    that names a person (see ``docs/privacy.md``)."""

    permission: ClassVar[str] = "orders.note"

    order_id: str
    text: str
    note_id: str | None = None
    personal: bool = False
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class ScheduleFollowUp:
    """Schedule a follow-up on the order: ``kind`` of work (``call``, ``survey`` …), due at
    ``due_at``, in ``assignee``'s queue in ``department``. It is a ticket of category
    ``follow_up`` (its id from the tickets' series): it shows in the order's timeline and in
    the due-tickets queue, and is done with :class:`ResolveTicket`. The customer is not told."""

    permission: ClassVar[str] = "tickets.follow_up"

    order_id: str
    kind: str
    due_at: dt.datetime
    assignee: str
    department: str = "customer_service"
    note: str = ""
    ticket_id: str | None = None
    idempotency_key: str | None = None
    actor: str = ""
