"""The customer feedback use cases: tickets with their SLA, internal order notes; the due-tickets
query and the order's timeline.

A ticket's due time is the service's :class:`~salesorders.domain.ticket_sla.SlaPolicy` applied
to its category and priority when it is opened or reopened. The due query is answered by the
store's own ``tickets_due`` when its order repository has one (the memory store scans its orders,
the SQL stores read their ``order_tickets`` rows), else by scanning every order listed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from salesorders.domain.checks import MAX_PAGE_SIZE, check_name, require_id
from salesorders.domain.order import Order
from salesorders.domain.ticket_sla import DueTicket, SlaPolicy, TicketQuery, select_tickets_due
from salesorders.domain.tickets import TicketCategory
from salesorders.domain.timeline import (
    TimelineEntry,
    audit_entries,
    event_entries,
    merge_timeline,
    note_entries,
    notification_entries,
    ticket_entries,
)
from salesorders.errors import ValidationError
from salesorders.ports import OrderQuery, UnitOfWork
from salesorders.service.results import OrderResult
from salesorders.service.ticket_commands import (
    AddOrderNote,
    AddTicketNote,
    AssignTicket,
    CloseTicket,
    OpenTicket,
    ReopenTicket,
    ResolveTicket,
    ScheduleFollowUp,
)

__all__ = ["Tickets", "order_timeline", "tickets_due"]

#: Writes an order's new events to the outbox and gives the command's result.
Published = Callable[[UnitOfWork, Order], OrderResult]


class Tickets:
    """The ticket and note handlers, wired to the SLA policy."""

    def __init__(self, sla: SlaPolicy | None, published: Published) -> None:
        if sla is not None and not isinstance(sla, SlaPolicy):
            raise ValidationError(
                "sla_policy", sla, "must be an SlaPolicy", "pass e.g. SlaPolicy(hours={...})"
            )
        self.sla = sla if sla is not None else SlaPolicy()
        self._published = published

    def open_ticket(self, uow: UnitOfWork, command: OpenTicket, now: dt.datetime) -> OrderResult:
        if command.category == TicketCategory.FOLLOW_UP.value:
            raise ValidationError(
                "category",
                command.category,
                "is the team's own work, not a customer's ticket",
                "schedule it with ScheduleFollowUp",
            )
        order = uow.orders.get(command.order_id)
        order.open_ticket(
            command.ticket_id or order.next_ticket_id(),
            command.category,
            command.description,
            self.sla.due(command.category, command.priority, now),
            now,
            priority=command.priority,
            line_id=command.line_id,
            shipment_id=command.shipment_id,
            actor=command.actor,
        )
        return self._saved(uow, order)

    def schedule_follow_up(
        self, uow: UnitOfWork, command: ScheduleFollowUp, now: dt.datetime
    ) -> OrderResult:
        kind = require_id(command.kind, "kind")
        check_name(command.assignee, "assignee")
        if not command.assignee.strip():
            raise ValidationError("assignee", command.assignee, "must name who does it")
        order = uow.orders.get(command.order_id)
        ticket_id = command.ticket_id or order.next_ticket_id()
        what = f"{kind}: {command.note}" if command.note.strip() else kind
        order.open_ticket(
            ticket_id, TicketCategory.FOLLOW_UP, what, command.due_at, now, actor=command.actor
        )
        order.assign_ticket(
            ticket_id, command.department, now, assignee=command.assignee, actor=command.actor
        )
        return self._saved(uow, order)

    def assign_ticket(
        self, uow: UnitOfWork, command: AssignTicket, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        order.assign_ticket(
            command.ticket_id,
            command.department,
            now,
            assignee=command.assignee,
            actor=command.actor,
        )
        return self._saved(uow, order)

    def add_ticket_note(
        self, uow: UnitOfWork, command: AddTicketNote, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        order.add_ticket_note(
            command.ticket_id,
            command.note_id or order.next_note_id(),
            command.text,
            now,
            visibility=command.visibility,
            author=command.actor,
            personal=command.personal,
        )
        return self._saved(uow, order)

    def resolve_ticket(
        self, uow: UnitOfWork, command: ResolveTicket, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        order.resolve_ticket(command.ticket_id, command.resolution, now, actor=command.actor)
        return self._saved(uow, order)

    def reopen_ticket(
        self, uow: UnitOfWork, command: ReopenTicket, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        found = order.ticket(command.ticket_id)
        due = self.sla.due(found.category, found.priority, now)
        order.reopen_ticket(command.ticket_id, command.reason, due, now, actor=command.actor)
        return self._saved(uow, order)

    def close_ticket(self, uow: UnitOfWork, command: CloseTicket, now: dt.datetime) -> OrderResult:
        order = uow.orders.get(command.order_id)
        order.close_ticket(command.ticket_id, now, actor=command.actor)
        return self._saved(uow, order)

    def add_order_note(
        self, uow: UnitOfWork, command: AddOrderNote, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        order.add_note(
            command.note_id or order.next_note_id(),
            command.text,
            now,
            author=command.actor,
            personal=command.personal,
        )
        return self._saved(uow, order)

    def _saved(self, uow: UnitOfWork, order: Order) -> OrderResult:
        uow.orders.save(order)
        return self._published(uow, order)


def _every_order(uow: UnitOfWork) -> Iterator[Order]:
    after = None
    while True:
        page = uow.orders.list(OrderQuery(limit=MAX_PAGE_SIZE, after=after))
        yield from page.orders
        if page.next_cursor is None:
            return
        after = page.next_cursor


def tickets_due(uow: UnitOfWork, query: TicketQuery) -> tuple[DueTicket, ...]:
    """The open tickets ``query`` lists, by assignee then due time (see :class:`TicketQuery`)."""
    if not isinstance(query, TicketQuery):
        raise ValidationError("query", query, "must be a TicketQuery")
    own: Any = getattr(uow.orders, "tickets_due", None)
    if own is not None:
        return own(query)  # type: ignore[no-any-return]
    return select_tickets_due(_every_order(uow), query)


def order_timeline(uow: UnitOfWork, order_id: str) -> tuple[TimelineEntry, ...]:
    """The order's audit trail, outbox events, notifications (the delivery log), tickets and
    notes, merged in time order."""
    order = uow.orders.get(order_id)
    return merge_timeline(
        audit_entries(order.audit),
        event_entries(uow.outbox.messages(order.id)),
        notification_entries(uow.outbox.deliveries(stream_id=order.id)),
        ticket_entries(order.tickets),
        note_entries(order.notes),
    )
