"""Customer feedback tickets and internal order notes: the values the order keeps.

A :class:`Ticket` is a customer's complaint or question about an order (a wrong item, damage, a
late delivery, billing …), optionally about one line or one shipment. It is ``open`` until
someone resolves it, ``resolved`` until it is closed or reopened, and ``closed`` for good once
:data:`REOPEN_WINDOW` has passed since it was resolved. :data:`TICKET_TRANSITIONS` is the whole
lifecycle: which verb leads from which status to which.

An :class:`OrderNote` is an internal note on the order; its text may ``@``-mention departments
(``"@warehouse please check the seal"``), parsed by :func:`mentions_in`.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, TypeVar

import attrs

from salesorders.errors import ValidationError

__all__ = [
    "DEPARTMENTS",
    "REOPEN_WINDOW",
    "TICKET_TRANSITIONS",
    "NoteVisibility",
    "OrderNote",
    "Ticket",
    "TicketCategory",
    "TicketNote",
    "TicketPriority",
    "TicketStatus",
    "department",
    "mentions_in",
    "note_visibility",
    "ticket_category",
    "ticket_priority",
]


class TicketCategory(enum.Enum):
    """What a ticket is about. ``follow_up`` is work the team schedules for itself (a call
    after delivery, a satisfaction survey): it is never announced to the customer."""

    WRONG_ITEM = "wrong_item"
    DAMAGED = "damaged"
    LATE_DELIVERY = "late_delivery"
    BILLING = "billing"
    OTHER = "other"
    FOLLOW_UP = "follow_up"


class TicketPriority(enum.Enum):
    """How urgent a ticket is (its SLA follows from it)."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketStatus(enum.Enum):
    """Where a ticket is in its lifecycle."""

    OPEN = "open"
    RESOLVED = "resolved"
    CLOSED = "closed"


class NoteVisibility(enum.Enum):
    """Who a ticket note is for: the team (``internal``) or the customer (``customer``)."""

    INTERNAL = "internal"
    CUSTOMER = "customer"


#: The departments a ticket can be assigned to and an order note can mention.
DEPARTMENTS: Final = (
    "sales",
    "customer_service",
    "warehouse",
    "logistics",
    "finance",
    "management",
)

#: How long after its resolution a ticket may be reopened (resolved or closed).
REOPEN_WINDOW: Final = dt.timedelta(days=30)

#: The lifecycle: per verb, the status it leaves from and the status it leads to. A verb not
#: allowed from a ticket's status is refused. Assigning and noting keep the status.
TICKET_TRANSITIONS: Final[Mapping[str, Mapping[TicketStatus, TicketStatus]]] = MappingProxyType(
    {
        "assign": MappingProxyType(
            {TicketStatus.OPEN: TicketStatus.OPEN, TicketStatus.RESOLVED: TicketStatus.RESOLVED}
        ),
        "note": MappingProxyType(
            {TicketStatus.OPEN: TicketStatus.OPEN, TicketStatus.RESOLVED: TicketStatus.RESOLVED}
        ),
        "resolve": MappingProxyType({TicketStatus.OPEN: TicketStatus.RESOLVED}),
        "reopen": MappingProxyType(
            {TicketStatus.RESOLVED: TicketStatus.OPEN, TicketStatus.CLOSED: TicketStatus.OPEN}
        ),
        "close": MappingProxyType({TicketStatus.RESOLVED: TicketStatus.CLOSED}),
    }
)


_E = TypeVar("_E", bound=enum.Enum)


def _choice(kind: type[_E], value: object, field: str, what: str) -> _E:
    try:
        return value if isinstance(value, kind) else kind(value)
    except ValueError:
        raise ValidationError(
            field, value, f"is not a {what}", "use one of " + ", ".join(str(k.value) for k in kind)
        ) from None


def ticket_category(value: object, field: str = "category") -> TicketCategory:
    return _choice(TicketCategory, value, field, "ticket category")


def ticket_priority(value: object, field: str = "priority") -> TicketPriority:
    return _choice(TicketPriority, value, field, "ticket priority")


def note_visibility(value: object, field: str = "visibility") -> NoteVisibility:
    return _choice(NoteVisibility, value, field, "note visibility")


def department(value: object, field: str = "department") -> str:
    """``value`` if it names one of :data:`DEPARTMENTS`."""
    if value not in DEPARTMENTS:
        raise ValidationError(
            field, value, "is not a department", "use one of " + ", ".join(DEPARTMENTS)
        )
    return str(value)


# An @ that starts a word (not the middle of an e-mail address), then the name.
_MENTION: Final = re.compile(r"(?<![\w@.])@([A-Za-z_][A-Za-z0-9_]*)")


def mentions_in(text: str, field: str = "text") -> tuple[str, ...]:
    """The departments ``text`` ``@``-mentions, in order of first mention, each once.

    An ``@`` inside a word (``someone@example.com``) is no mention. A mention of a name that is
    not a department raises :class:`~salesorders.errors.ValidationError` naming ``field`` and
    listing the departments.
    """
    found: list[str] = []
    for match in _MENTION.finditer(text):
        name = match.group(1).lower()
        if name not in DEPARTMENTS:
            raise ValidationError(
                field,
                "@" + match.group(1),
                "mentions no department",
                "mention one of " + ", ".join("@" + d for d in DEPARTMENTS),
            )
        if name not in found:
            found.append(name)
    return tuple(found)


@attrs.frozen(slots=True)
class TicketNote:
    """A note on a ticket: ``internal`` for the team, ``customer`` for the customer (an answer,
    which the customer is notified of). ``personal``: its text holds personal data (it is
    replaced when the customer is anonymized)."""

    id: str
    at: dt.datetime
    text: str
    visibility: NoteVisibility = NoteVisibility.INTERNAL
    author: str = ""
    personal: bool = False


@attrs.frozen(slots=True)
class Ticket:
    """A customer feedback ticket on an order.

    ``due_at`` is when its SLA expects it resolved (set on opening and on reopening);
    ``department`` and ``assignee`` say who works on it (empty: nobody yet). ``history`` holds
    ``(verb, at, actor, text)`` for every change: ``open``, ``assign``, ``resolve``, ``reopen``,
    ``close`` (notes are in ``notes``).
    """

    id: str
    category: TicketCategory
    priority: TicketPriority
    description: str
    status: TicketStatus
    opened_at: dt.datetime
    due_at: dt.datetime
    opened_by: str = ""
    line_id: str | None = None
    shipment_id: str | None = None
    department: str = ""
    assignee: str = ""
    notes: tuple[TicketNote, ...] = ()
    resolution: str = ""
    resolved_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    history: tuple[tuple[str, dt.datetime, str, str], ...] = ()

    def overdue(self, now: dt.datetime) -> bool:
        """Whether the ticket is open past its due time at ``now``."""
        return self.status is TicketStatus.OPEN and self.due_at < now


@attrs.frozen(slots=True)
class OrderNote:
    """An internal note on the order; ``mentions`` are the departments its text ``@``-mentions;
    ``personal``: its text holds personal data (it is replaced when the customer is
    anonymized)."""

    id: str
    at: dt.datetime
    text: str
    author: str = ""
    mentions: tuple[str, ...] = ()
    personal: bool = False
