"""The ``order_tickets`` projection of schema version 11, its writes and the due-tickets query.

Tickets live in the order document; each is also a row of ``order_tickets`` (order, ticket,
status, department, assignee, due time, category, priority) so that the due query is one
statement over the partial index of the open tickets by due time, without reading a document.
An order's save writes the rows of the tickets that changed since the unit of work read it.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from salesorders.adapters._sql.dialect import Dialect, _chunks, _time
from salesorders.adapters._sql.session import Row, Session
from salesorders.domain.order import Order
from salesorders.domain.ticket_sla import DueTicket, TicketQuery
from salesorders.domain.tickets import Ticket, TicketCategory, TicketPriority

__all__ = ["SqlTickets", "TicketRows", "TicketStatements", "backfill_tickets"]

_COLUMNS: Final = "order_id, ticket_id, status, department, assignee, due_at, category, priority"
_TYPES: Final = ("text", "text", "text", "text", "text", "ts", "text", "text")
_BACKFILL_BATCH: Final = 500


class TicketStatements:
    """The ticket statements of one store, rendered for its dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.backfill_batch = dialect.render(
            "SELECT id, CAST(doc AS TEXT) FROM {p}orders WHERE id > ? ORDER BY id LIMIT ?"
        )

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one instance per store, kept for its life
    def upsert(self, count: int) -> str:
        rows = self.dialect.rows(_TYPES, count)
        return self.dialect.render(
            f"INSERT INTO {{p}}order_tickets ({_COLUMNS}) {rows} "
            "ON CONFLICT (order_id, ticket_id) DO UPDATE SET status = excluded.status, "
            "department = excluded.department, assignee = excluded.assignee, "
            "due_at = excluded.due_at, category = excluded.category, "
            "priority = excluded.priority"
        )

    @functools.lru_cache(maxsize=8)  # noqa: B019 - one instance per store, kept for its life
    def due(self, assignee: bool, department: bool) -> str:
        """The open tickets due by a time, of an assignee and/or department, by assignee."""
        b = self.dialect.types["binary"]
        conditions = ["status = 'open'", "due_at <= ?"]
        if assignee:
            conditions.append(f"assignee{b} = ?")
        if department:
            conditions.append("department = ?")
        return self.dialect.render(
            "SELECT order_id, ticket_id, category, priority, department, assignee, due_at "
            f"FROM {{p}}order_tickets WHERE {' AND '.join(conditions)} "
            f"ORDER BY assignee{b}, due_at, order_id{b}, ticket_id{b} LIMIT ?"
        )


def _row(order_id: str, ticket: Ticket, d: Dialect) -> Row:
    return (
        order_id,
        ticket.id,
        ticket.status.value,
        ticket.department,
        ticket.assignee,
        d.time(ticket.due_at),
        ticket.category.value,
        ticket.priority.value,
    )


def _write(session: Session, sql: TicketStatements, rows: Sequence[Row]) -> None:
    d = sql.dialect
    width = len(_TYPES)
    for chunk in _chunks(rows, d.rows_per_statement(width)):
        session.run(sql.upsert(len(chunk)), d.pack(chunk, width))


class TicketRows:
    """Writes the ticket rows of the orders one unit of work adds or saves.

    It remembers the tickets of every order read or written in the unit of work; a save writes
    the rows of the tickets that differ from those (tickets are never removed from an order). An
    order it never saw has all its tickets written.
    """

    __slots__ = ("_known", "_session", "_sql")

    def __init__(self, session: Session, sql: TicketStatements) -> None:
        self._session = session
        self._sql = sql
        self._known: dict[str, tuple[Ticket, ...]] = {}

    def remember(self, order: Order) -> None:
        self._known[order.id] = order.tickets

    def write(self, order: Order) -> None:
        current = order.tickets
        known = self._known.get(order.id)
        if current is known:
            return
        self._known[order.id] = current
        before: Mapping[str, Ticket] = {t.id: t for t in known or ()}
        d = self._sql.dialect
        rows = [_row(order.id, t, d) for t in current if before.get(t.id) != t]
        _write(self._session, self._sql, rows)


def _due(row: Row, now: dt.datetime) -> DueTicket:
    order_id, ticket_id, category, priority, department, assignee, due_at = row
    due = _time(due_at)
    return DueTicket(
        order_id,
        ticket_id,
        TicketCategory(category),
        TicketPriority(priority),
        department,
        assignee,
        due,
        due < now,
    )


class SqlTickets:
    """The due-tickets query of one unit of work, answered by the database."""

    __slots__ = ("_session", "_sql")

    def __init__(self, session: Session, sql: TicketStatements) -> None:
        self._session = session
        self._sql = sql

    def due(self, query: TicketQuery) -> tuple[DueTicket, ...]:
        params: list[Any] = [self._sql.dialect.time(query.until)]
        if query.assignee is not None:
            params.append(query.assignee)
        if query.department is not None:
            params.append(query.department)
        params.append(query.limit)
        statement = self._sql.due(query.assignee is not None, query.department is not None)
        return tuple(_due(row, query.now) for row in self._session.rows(statement, params))


def _stored_rows(order_id: str, doc: str, d: Dialect) -> list[Row]:
    """The ticket rows of a stored order document (read without loading the order)."""
    rows: list[Row] = []
    for ticket in json.loads(doc).get("tickets", ()):
        rows.append(
            (
                order_id,
                ticket["id"],
                ticket["status"],
                ticket.get("department", ""),
                ticket.get("assignee", ""),
                d.time(dt.datetime.fromisoformat(ticket["due_at"])),
                ticket["category"],
                ticket["priority"],
            )
        )
    return rows


def backfill_tickets(session: Session, dialect: Dialect) -> None:
    """Schema version 11: write the ticket rows of the orders already stored, from their
    documents, a batch at a time (saves keep them up to date from then on)."""
    sql = TicketStatements(dialect)
    last = ""
    while True:
        batch = session.rows(sql.backfill_batch, (last, _BACKFILL_BATCH))
        if not batch:
            return
        rows: list[Row] = []
        for order_id, doc in batch:
            rows.extend(_stored_rows(order_id, doc, dialect))
        _write(session, sql, rows)
        last = batch[-1][0]
