"""Ticket SLAs and the due-tickets query: when a ticket is due, and which are due soon.

:class:`SlaPolicy` says how many hours a ticket of a category and priority may stay open: per
priority, with overrides per ``(category, priority)``. :func:`select_tickets_due` is the
reference answer of the query :class:`TicketQuery`, over orders; the SQL stores answer it from
their ``order_tickets`` rows with one indexed statement and must agree with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final, Protocol

import attrs

from salesorders.domain.checks import aware_time, check_name, page_limit
from salesorders.domain.tickets import (
    Ticket,
    TicketCategory,
    TicketPriority,
    TicketStatus,
    department,
    ticket_category,
    ticket_priority,
)
from salesorders.errors import ValidationError

__all__ = [
    "MAX_SLA_HOURS",
    "DueTicket",
    "HasTickets",
    "SlaPolicy",
    "TicketQuery",
    "due_ticket",
    "select_tickets_due",
]

#: The longest SLA a policy may set (a year), in hours.
MAX_SLA_HOURS: Final = 24 * 366

_DEFAULT_HOURS: Final = MappingProxyType(
    {
        TicketPriority.URGENT: 4,
        TicketPriority.HIGH: 8,
        TicketPriority.NORMAL: 24,
        TicketPriority.LOW: 72,
    }
)


def _hours(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SLA_HOURS:
        raise ValidationError(
            field, value, f"must be a whole number of hours from 1 to {MAX_SLA_HOURS}"
        )
    return value


def _by_priority(value: Mapping[object, object]) -> Mapping[TicketPriority, int]:
    if not isinstance(value, Mapping):
        raise ValidationError("hours", value, "must map each priority to hours")
    table = {
        ticket_priority(key, "hours"): _hours(hours, f"hours[{getattr(key, 'value', key)}]")
        for key, hours in value.items()
    }
    missing = [p.value for p in TicketPriority if p not in table]
    if missing:
        raise ValidationError(
            "hours", dict(value), "has no hours for " + ", ".join(missing), "give every priority"
        )
    return MappingProxyType(table)


def _overrides(
    value: Mapping[tuple[object, object], object],
) -> Mapping[tuple[TicketCategory, TicketPriority], int]:
    if not isinstance(value, Mapping):
        raise ValidationError("overrides", value, "must map (category, priority) to hours")
    table: dict[tuple[TicketCategory, TicketPriority], int] = {}
    for key, hours in value.items():
        if not isinstance(key, tuple) or len(key) != 2:
            raise ValidationError("overrides", key, "must be a (category, priority) pair")
        pair = (ticket_category(key[0], "overrides"), ticket_priority(key[1], "overrides"))
        table[pair] = _hours(hours, f"overrides[{pair[0].value}, {pair[1].value}]")
    return MappingProxyType(table)


@attrs.frozen(slots=True)
class SlaPolicy:
    """How many hours a ticket may stay open, per priority (``hours``: every priority) and per
    ``(category, priority)`` where ``overrides`` says otherwise. Hours are plain clock hours.

    The default: urgent 4, high 8, normal 24, low 72 hours, no overrides. A host passes its own
    to ``bootstrap(sla_policy=...)``; the tables are checked when the policy is built.
    """

    hours: Mapping[TicketPriority, int] = attrs.field(
        default=_DEFAULT_HOURS, converter=_by_priority
    )
    overrides: Mapping[tuple[TicketCategory, TicketPriority], int] = attrs.field(
        factory=dict, converter=_overrides
    )

    def hours_for(self, category: object, priority: object) -> int:
        """The hours a ticket of ``category`` and ``priority`` may stay open."""
        pair = (ticket_category(category), ticket_priority(priority))
        found = self.overrides.get(pair)
        return self.hours[pair[1]] if found is None else found

    def due(self, category: object, priority: object, at: dt.datetime) -> dt.datetime:
        """When a ticket of ``category`` and ``priority`` opened (or reopened) at ``at`` is due."""
        return aware_time(at) + dt.timedelta(hours=self.hours_for(category, priority))


def _within(value: object) -> dt.timedelta:
    if not isinstance(value, dt.timedelta) or value < dt.timedelta(0):
        raise ValidationError("within", value, "must be a timedelta of zero or more")
    return value


def _optional_department(value: str | None) -> str | None:
    return None if value is None else department(value)


def _optional_name(value: str | None) -> str | None:
    return None if value is None else check_name(value, "assignee")


@attrs.frozen(slots=True)
class TicketQuery:
    """The open tickets overdue at ``now`` or due within ``within`` of it, of one ``assignee``
    and/or ``department`` if given (``assignee=""``: the unassigned), at most ``limit``."""

    now: dt.datetime = attrs.field(converter=aware_time)
    within: dt.timedelta = attrs.field(default=dt.timedelta(0), converter=_within)
    assignee: str | None = attrs.field(default=None, converter=_optional_name)
    department: str | None = attrs.field(default=None, converter=_optional_department)
    limit: int = attrs.field(default=1000, converter=page_limit)

    @property
    def until(self) -> dt.datetime:
        """The latest due time the query lists."""
        return self.now + self.within


@attrs.frozen(slots=True)
class DueTicket:
    """An open ticket the due query lists: whose it is, when it is due, whether it is late."""

    order_id: str
    ticket_id: str
    category: TicketCategory
    priority: TicketPriority
    department: str
    assignee: str
    due_at: dt.datetime
    overdue: bool

    @property
    def sort_key(self) -> tuple[str, dt.datetime, str, str]:
        """The query's order: by assignee (the unassigned first), then due time, order, ticket."""
        return (self.assignee, self.due_at, self.order_id, self.ticket_id)


def due_ticket(order_id: str, ticket: Ticket, now: dt.datetime) -> DueTicket:
    return DueTicket(
        order_id,
        ticket.id,
        ticket.category,
        ticket.priority,
        ticket.department,
        ticket.assignee,
        ticket.due_at,
        ticket.due_at < now,
    )


class HasTickets(Protocol):
    """What the reference query reads of an order."""

    @property
    def id(self) -> str: ...

    @property
    def tickets(self) -> tuple[Ticket, ...]: ...


def select_tickets_due(orders: Iterable[HasTickets], query: TicketQuery) -> tuple[DueTicket, ...]:
    """The reference answer of ``query`` over ``orders`` (sorted by :attr:`DueTicket.sort_key`)."""
    until = query.until
    found = [
        due_ticket(order.id, ticket, query.now)
        for order in orders
        for ticket in order.tickets
        if ticket.status is TicketStatus.OPEN
        and ticket.due_at <= until
        and (query.assignee is None or ticket.assignee == query.assignee)
        and (query.department is None or ticket.department == query.department)
    ]
    found.sort(key=lambda due: due.sort_key)
    return tuple(found[: query.limit])
