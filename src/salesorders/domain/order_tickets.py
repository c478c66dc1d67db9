"""The order's customer feedback verbs and internal notes, kept beside the aggregate's core.

:class:`OrderTickets` is a base of :class:`~salesorders.domain.order.Order`: open a ticket (about
the order, one of its lines or one of its shipments) with the due time its SLA gives, assign it
to a department and a person, note on it for the team or answer the customer, resolve it, reopen
it, close it; and add internal notes to the order that ``@``-mention departments. Each verb checks
everything first and raises an event; a verb that raises changes nothing. The lifecycle is
:data:`~salesorders.domain.tickets.TICKET_TRANSITIONS`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import attrs

from salesorders.domain import events as ev
from salesorders.domain.checks import (
    aware_time,
    check_name,
    next_free_id,
    require_id,
    require_text,
)
from salesorders.domain.tickets import (
    REOPEN_WINDOW,
    TICKET_TRANSITIONS,
    NoteVisibility,
    OrderNote,
    Ticket,
    TicketCategory,
    TicketNote,
    TicketStatus,
    department,
    mentions_in,
    note_visibility,
    ticket_category,
    ticket_priority,
)
from salesorders.errors import OrderError, ValidationError

if TYPE_CHECKING:
    from salesorders.domain.fulfilment import Shipment
    from salesorders.domain.order_values import OrderLine

__all__ = ["OrderTickets"]


class OrderTickets:
    """Ticket and note verbs of the order (a base class of ``Order``)."""

    if not TYPE_CHECKING:
        __slots__ = ()  # Order keeps its fields in slots; this base adds none

    if TYPE_CHECKING:
        id: str
        tickets: tuple[Ticket, ...]
        notes: tuple[OrderNote, ...]
        shipments: tuple[Shipment, ...]
        updated_at: dt.datetime
        event_sequence: int

        def _raise(self, event: ev.OrderEvent) -> None: ...

        def line(self, line_id: str) -> OrderLine: ...

    # ------------------------------------------------------------------ queries

    def ticket(self, ticket_id: str) -> Ticket:
        for found in self.tickets:
            if found.id == ticket_id:
                return found
        raise ValidationError(
            "ticket_id", ticket_id, f"is not a ticket of order {self.id}", "check the ticket id"
        )

    def next_ticket_id(self) -> str:
        return next_free_id("T", (t.id for t in self.tickets))

    def next_note_id(self) -> str:
        """The next id of a note, order note or ticket note alike (``N1``, ``N2`` …)."""
        taken = [n.id for n in self.notes]
        taken.extend(n.id for t in self.tickets for n in t.notes)
        return next_free_id("N", taken)

    # ------------------------------------------------------------------ tickets

    def open_ticket(
        self,
        ticket_id: str,
        category: object,
        description: str,
        due_at: dt.datetime,
        at: dt.datetime,
        *,
        priority: object = "normal",
        line_id: str | None = None,
        shipment_id: str | None = None,
        actor: str = "",
    ) -> Ticket:
        """Open a ticket (status ``open``) due at ``due_at`` (from the SLA policy), about the
        order or one of its lines (``line_id``) or shipments (``shipment_id``)."""
        require_id(ticket_id, "ticket_id")
        if any(t.id == ticket_id for t in self.tickets):
            raise ValidationError("ticket_id", ticket_id, "is already a ticket of this order")
        kind = ticket_category(category)
        urgency = ticket_priority(priority)
        require_text(description, "description", blank_ok=False)
        self._ticket_check(at, actor)
        if aware_time(due_at, "due_at") <= at:
            raise ValidationError("due_at", due_at, "must be after the ticket is opened")
        if line_id is not None:
            self.line(require_id(line_id, "line_id"))
        if shipment_id is not None:
            require_id(shipment_id, "shipment_id")
            if not any(s.id == shipment_id for s in self.shipments):
                raise ValidationError(
                    "shipment_id",
                    shipment_id,
                    f"is not a shipment of order {self.id}",
                    "check the shipment id",
                )
        created = Ticket(
            ticket_id,
            kind,
            urgency,
            description,
            TicketStatus.OPEN,
            at,
            due_at,
            actor,
            line_id,
            shipment_id,
            history=(("open", at, actor, description),),
        )
        self._store_ticket(created, at)
        if kind is TicketCategory.FOLLOW_UP:
            self._raise(
                ev.FollowUpScheduled(
                    self.id, self.event_sequence + 1, at, actor, "", ticket_id=ticket_id,
                    description=description, due_at=due_at,
                )
            )  # fmt: skip
            return created
        self._raise(
            ev.TicketOpened(
                self.id,
                self.event_sequence + 1,
                at,
                actor,
                "",
                ticket_id=ticket_id,
                category=kind.value,
                priority=urgency.value,
                description=description,
                due_at=due_at,
            )
        )
        return created

    def assign_ticket(
        self,
        ticket_id: str,
        to_department: str,
        at: dt.datetime,
        *,
        assignee: str = "",
        actor: str = "",
    ) -> Ticket:
        """Assign a ticket that is not closed to a department and, optionally, a person in it."""
        found = self.ticket(ticket_id)
        team = department(to_department)
        check_name(assignee, "assignee")
        self._ticket_check(at, actor)
        status = self._ticket_step(found, "assign")
        updated = attrs.evolve(
            found,
            status=status,
            department=team,
            assignee=assignee,
            history=(*found.history, ("assign", at, actor, f"{team}:{assignee}")),
        )
        self._store_ticket(updated, at)
        self._raise(
            ev.TicketAssigned(
                self.id,
                self.event_sequence + 1,
                at,
                actor,
                "",
                ticket_id=ticket_id,
                department=team,
                assignee=assignee,
            )
        )
        return updated

    def add_ticket_note(
        self,
        ticket_id: str,
        note_id: str,
        text: str,
        at: dt.datetime,
        *,
        visibility: object = "internal",
        author: str = "",
        personal: bool = False,
    ) -> TicketNote:
        """Note on a ticket that is not closed: ``internal`` for the team, ``customer`` for the
        customer (an answer: ``TicketAnswered``, which notifies the customer). ``personal``
        marks a text holding personal data."""
        found = self.ticket(ticket_id)
        self._check_note_id(note_id)
        require_text(text, "text", blank_ok=False)
        seen = note_visibility(visibility)
        check_name(author, "author")
        _check_personal(personal)
        self._ticket_check(at, author)
        status = self._ticket_step(found, "note")
        note = TicketNote(note_id, at, text, seen, author, personal)
        self._store_ticket(attrs.evolve(found, status=status, notes=(*found.notes, note)), at)
        cls = ev.TicketAnswered if seen is NoteVisibility.CUSTOMER else ev.TicketNoted
        self._raise(
            cls(
                self.id,
                self.event_sequence + 1,
                at,
                author,
                "",
                ticket_id=ticket_id,
                note_id=note_id,
                text=text,
                author=author,
            )
        )
        return note

    def resolve_ticket(
        self, ticket_id: str, resolution: str, at: dt.datetime, *, actor: str = ""
    ) -> Ticket:
        """Resolve an open ticket with its ``resolution`` (the customer is notified, but for a
        follow-up: ``FollowUpDone``)."""
        found = self.ticket(ticket_id)
        require_text(resolution, "resolution", blank_ok=False)
        self._ticket_check(at, actor)
        status = self._ticket_step(found, "resolve")
        updated = attrs.evolve(
            found,
            status=status,
            resolution=resolution,
            resolved_at=at,
            history=(*found.history, ("resolve", at, actor, resolution)),
        )
        self._store_ticket(updated, at)
        cls = ev.FollowUpDone if found.category is TicketCategory.FOLLOW_UP else ev.TicketResolved
        self._raise(
            cls(
                self.id,
                self.event_sequence + 1,
                at,
                actor,
                "",
                ticket_id=ticket_id,
                resolution=resolution,
            )
        )
        return updated

    def reopen_ticket(
        self,
        ticket_id: str,
        reason: str,
        due_at: dt.datetime,
        at: dt.datetime,
        *,
        actor: str = "",
    ) -> Ticket:
        """Reopen a resolved or closed ticket, within :data:`REOPEN_WINDOW` of its resolution,
        due again at ``due_at``; its resolution is cleared."""
        found = self.ticket(ticket_id)
        require_text(reason, "reason", blank_ok=False)
        self._ticket_check(at, actor)
        if aware_time(due_at, "due_at") <= at:
            raise ValidationError("due_at", due_at, "must be after the ticket is reopened")
        status = self._ticket_step(found, "reopen")
        resolved = found.resolved_at
        if resolved is not None and at > resolved + REOPEN_WINDOW:
            raise OrderError(
                self.id,
                f"order {self.id}: ticket {ticket_id} was resolved more than "
                f"{REOPEN_WINDOW.days} days ago; open a new ticket instead",
            )
        updated = attrs.evolve(
            found,
            status=status,
            due_at=due_at,
            resolution="",
            resolved_at=None,
            closed_at=None,
            history=(*found.history, ("reopen", at, actor, reason)),
        )
        self._store_ticket(updated, at)
        self._raise(
            ev.TicketReopened(
                self.id,
                self.event_sequence + 1,
                at,
                actor,
                reason,
                ticket_id=ticket_id,
                due_at=due_at,
            )
        )
        return updated

    def close_ticket(self, ticket_id: str, at: dt.datetime, *, actor: str = "") -> Ticket:
        """Close a resolved ticket: no more notes; it may still be reopened within the window."""
        found = self.ticket(ticket_id)
        self._ticket_check(at, actor)
        status = self._ticket_step(found, "close")
        updated = attrs.evolve(
            found, status=status, closed_at=at, history=(*found.history, ("close", at, actor, ""))
        )
        self._store_ticket(updated, at)
        self._raise(
            ev.TicketClosed(self.id, self.event_sequence + 1, at, actor, "", ticket_id=ticket_id)
        )
        return updated

    # ------------------------------------------------------------------ order notes

    def add_note(
        self,
        note_id: str,
        text: str,
        at: dt.datetime,
        *,
        author: str = "",
        personal: bool = False,
    ) -> OrderNote:
        """Add an internal note to the order; the departments its text ``@``-mentions are
        parsed and kept (an unknown ``@name`` is refused, listing the departments).
        ``personal`` marks a text holding personal data."""
        self._check_note_id(note_id)
        require_text(text, "text", blank_ok=False)
        mentions = mentions_in(text)
        check_name(author, "author")
        _check_personal(personal)
        self._ticket_check(at, author)
        note = OrderNote(note_id, at, text, author, mentions, personal)
        self.notes = (*self.notes, note)
        self.updated_at = max(self.updated_at, at)
        self._raise(
            ev.OrderNoteAdded(
                self.id,
                self.event_sequence + 1,
                at,
                author,
                "",
                note_id=note_id,
                text=text,
                author=author,
                mentions=mentions,
            )
        )
        return note

    # ------------------------------------------------------------------ internals

    def _ticket_step(self, found: Ticket, verb: str) -> TicketStatus:
        """The status ``verb`` leads ``found`` to; an :class:`OrderError` if not allowed."""
        target = TICKET_TRANSITIONS[verb].get(found.status)
        if target is None:
            allowed = sorted(v for v, moves in TICKET_TRANSITIONS.items() if found.status in moves)
            raise OrderError(
                self.id,
                f"order {self.id}: ticket {found.id} is {found.status.value}; it cannot "
                f"{verb} (it can: {', '.join(allowed) or 'nothing'})",
            )
        return target

    def _ticket_check(self, at: dt.datetime, actor: str) -> None:
        aware_time(at)
        check_name(actor, "actor")

    def _check_note_id(self, note_id: str) -> None:
        require_id(note_id, "note_id")
        if any(n.id == note_id for n in self.notes) or any(
            n.id == note_id for t in self.tickets for n in t.notes
        ):
            raise ValidationError("note_id", note_id, "is already a note of this order")

    def _store_ticket(self, updated: Ticket, at: dt.datetime) -> None:
        if any(t.id == updated.id for t in self.tickets):
            self.tickets = tuple(updated if t.id == updated.id else t for t in self.tickets)
        else:
            self.tickets = (*self.tickets, updated)
        self.updated_at = max(self.updated_at, at)


def _check_personal(personal: object) -> None:
    if not isinstance(personal, bool):
        raise ValidationError(
            "personal", personal, "must be True or False", "True when the text names a person"
        )
