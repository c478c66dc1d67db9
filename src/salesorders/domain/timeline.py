"""One timeline per order: its audit trail, events, tickets and notes in time order.

Each source becomes :class:`TimelineEntry` values of one :class:`TimelineKind`;
:func:`merge_timeline` merges the sources into one sequence ordered by time, entries at the same
moment kept in the order of their sources and, within a source, in the source's own order (a
stable sort), so nothing is dropped and the order is reproducible. The notifications sent about
the order (the outbox relay's delivery records, kind ``notification``) are one more source; a new
source is one more builder of entries passed to the merge.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from salesorders.domain.order_values import AuditEntry
from salesorders.domain.tickets import OrderNote, Ticket

__all__ = [
    "TimelineEntry",
    "TimelineKind",
    "audit_entries",
    "event_entries",
    "merge_timeline",
    "note_entries",
    "notification_entries",
    "ticket_entries",
]


class TimelineKind(enum.Enum):
    """What a timeline entry records."""

    AUDIT = "audit"  #: a workflow transition of the order (its audit trail)
    EVENT = "event"  #: a domain event the order raised (its outbox message)
    TICKET = "ticket"  #: a ticket opened, assigned, resolved, reopened or closed
    TICKET_NOTE = "ticket_note"  #: a note on a ticket (internal, or an answer to the customer)
    NOTE = "note"  #: an internal note on the order
    NOTIFICATION = "notification"  #: a notice delivered (or not) to the customer on a channel


@attrs.frozen(slots=True)
class TimelineEntry:
    """One entry of an order's timeline: when, what kind, a one-line ``summary``, who, the ids
    it refers to (``refs``: e.g. ``("ticket_id", "T1")``) and the value it was built from."""

    at: dt.datetime
    kind: TimelineKind
    summary: str
    actor: str = ""
    refs: tuple[tuple[str, str], ...] = ()
    data: Any = attrs.field(default=None, eq=False, repr=False)


def merge_timeline(*sources: Iterable[TimelineEntry]) -> tuple[TimelineEntry, ...]:
    """Every entry of every source, by time; ties keep the order of the sources, then each
    source's own order."""
    merged = [entry for source in sources for entry in source]
    merged.sort(key=lambda entry: entry.at)
    return tuple(merged)


def audit_entries(audit: Sequence[AuditEntry]) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            entry.at,
            TimelineKind.AUDIT,
            f"{entry.event}: {entry.from_state} → {entry.to_state}"
            + (f" ({entry.reason})" if entry.reason else ""),
            entry.actor,
            (("event", entry.event),),
            entry,
        )
        for entry in audit
    ]


def event_entries(messages: Iterable[Any]) -> list[TimelineEntry]:
    """Entries of outbox messages (``event_id``, ``event_type``, ``payload``, ``occurred_at``),
    in stream order."""
    return [
        TimelineEntry(
            message.occurred_at,
            TimelineKind.EVENT,
            message.event_type,
            str(message.payload.get("actor", "")),
            (("event_id", message.event_id),),
            message,
        )
        for message in sorted(messages, key=lambda m: m.sequence)
    ]


_TICKET_VERBS = {
    "open": "opened",
    "assign": "assigned",
    "resolve": "resolved",
    "reopen": "reopened",
    "close": "closed",
}


def ticket_entries(tickets: Sequence[Ticket]) -> list[TimelineEntry]:
    """Every change of every ticket (``history``) and every note on it."""
    entries = []
    for ticket in tickets:
        ref = ("ticket_id", ticket.id)
        for verb, at, actor, text in ticket.history:
            summary = f"ticket {ticket.id} {_TICKET_VERBS.get(verb, verb)}"
            if verb == "open":
                summary += f" ({ticket.category.value}, {ticket.priority.value}): {text}"
            elif text:
                summary += f": {text}"
            entries.append(TimelineEntry(at, TimelineKind.TICKET, summary, actor, (ref,), ticket))
        for note in ticket.notes:
            entries.append(
                TimelineEntry(
                    note.at,
                    TimelineKind.TICKET_NOTE,
                    f"ticket {ticket.id} {note.visibility.value} note: {note.text}",
                    note.author,
                    (ref, ("note_id", note.id)),
                    note,
                )
            )
    return entries


def note_entries(notes: Sequence[OrderNote]) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            note.at,
            TimelineKind.NOTE,
            f"note: {note.text}",
            note.author,
            (("note_id", note.id),),
            note,
        )
        for note in notes
    ]


def notification_entries(records: Iterable[Any]) -> list[TimelineEntry]:
    """Entries of the delivery log (``event_id``, ``event_type``, ``channel``, ``recipient``,
    ``status``, ``attempts``, ``last_error``, ``updated_at``): what each channel did with each
    notice about the order, as of its last attempt."""
    entries = []
    for record in records:
        summary = f"{record.event_type} {record.status} by {record.channel}"
        if record.recipient:
            summary += f" to {record.recipient}"
        if record.attempts > 1:
            summary += f" after {record.attempts} attempts"
        if record.last_error and record.status != "sent":
            summary += f" ({record.last_error})"
        entries.append(
            TimelineEntry(
                record.updated_at,
                TimelineKind.NOTIFICATION,
                summary,
                "",
                (("event_id", record.event_id), ("channel", record.channel)),
                record,
            )
        )
    return entries
