"""Tickets and order notes through the service on every store: the commands, their refusals
(nothing changes), the due query (the same answer on every store, read from the SQL stores'
``order_tickets`` rows), the SLA policy a host passes, and the order's timeline."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from salesorders.domain.ticket_sla import SlaPolicy, TicketQuery, select_tickets_due
from salesorders.domain.tickets import TicketStatus
from salesorders.domain.timeline import TimelineKind
from salesorders.errors import LineNotFoundError, OrderError, ValidationError
from salesorders.ports import OrderQuery
from salesorders.service import (
    AddOrderNote,
    AddTicketNote,
    AssignTicket,
    CloseTicket,
    ManualClock,
    OpenTicket,
    ReopenTicket,
    ResolveTicket,
    SalesService,
)
from salesorders.testing.fakes import FakePaymentGateway
from support.returns import T0, delivered_order, returns_service, spec
from support.stores import STORE_KINDS, fresh_store
from test_fulfilment import _refused, _types

HOUR = dt.timedelta(hours=1)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def service(store: Any, clock: ManualClock) -> SalesService:
    return returns_service(store, clock, FakePaymentGateway())


def _order(service: SalesService, clock: ManualClock) -> str:
    return delivered_order(service, clock, (spec("SKU-A", 2, "80.00"),))


def test_a_ticket_goes_through_its_lifecycle_and_every_change_is_an_event(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    order_id = _order(service, clock)
    shipment = service.get_order(order_id).shipments[0].id
    opened_at = clock.now()
    service.handle(
        OpenTicket(order_id, "damaged", "box crushed", "urgent", "L1", shipment, actor="agent")
    )
    ticket = service.get_order(order_id).ticket("T1")
    assert ticket.status is TicketStatus.OPEN
    assert ticket.due_at == opened_at + 4 * HOUR  # the default SLA: urgent in 4 hours
    assert (ticket.line_id, ticket.shipment_id, ticket.opened_by) == ("L1", shipment, "agent")
    service.handle(AssignTicket(order_id, "T1", "warehouse", "kim"))
    service.handle(AddTicketNote(order_id, "T1", "seal looks cut", actor="kim"))
    service.handle(AddTicketNote(order_id, "T1", "a new one is on its way", "customer"))
    service.handle(ResolveTicket(order_id, "T1", "replacement sent"))
    service.handle(CloseTicket(order_id, "T1"))
    clock.advance(2 * HOUR)
    service.handle(ReopenTicket(order_id, "T1", "replacement broken too"))
    ticket = service.get_order(order_id).ticket("T1")
    assert ticket.status is TicketStatus.OPEN
    assert ticket.due_at == clock.now() + 4 * HOUR
    assert (ticket.department, ticket.assignee) == ("warehouse", "kim")
    assert [(n.id, n.visibility.value, n.author) for n in ticket.notes] == [
        ("N1", "internal", "kim"),
        ("N2", "customer", ""),
    ]
    assert (ticket.resolution, ticket.resolved_at, ticket.closed_at) == ("", None, None)
    assert _types(store, order_id)[-7:] == [
        "TicketOpened",
        "TicketAssigned",
        "TicketNoted",
        "TicketAnswered",
        "TicketResolved",
        "TicketClosed",
        "TicketReopened",
    ]


def test_an_order_note_keeps_its_mentions_and_its_event(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    order_id = _order(service, clock)
    service.handle(AddOrderNote(order_id, "@warehouse @Finance check ops@example.com", actor="jo"))
    note = service.get_order(order_id).notes[0]
    assert (note.id, note.author, note.mentions) == ("N1", "jo", ("warehouse", "finance"))
    with store.unit_of_work() as uow:
        last = uow.outbox.messages(order_id)[-1]
    assert last.event_type == "OrderNoteAdded"
    assert last.payload["mentions"] == ["warehouse", "finance"]


@pytest.mark.parametrize(
    ("command", "error", "field"),
    [
        (OpenTicket("?", "damaged", "x", line_id="L9"), LineNotFoundError, None),
        (OpenTicket("?", "damaged", "x", shipment_id="S9"), ValidationError, "shipment_id"),
        (OpenTicket("?", "broken", "x"), ValidationError, "category"),
        (OpenTicket("?", "damaged", "x", "asap"), ValidationError, "priority"),
        (OpenTicket("?", "damaged", "  "), ValidationError, "description"),
        (AssignTicket("?", "T1", "it"), ValidationError, "department"),
        (AssignTicket("?", "T9", "sales"), ValidationError, "ticket_id"),
        (AddTicketNote("?", "T1", "x", "public"), ValidationError, "visibility"),
        (AddOrderNote("?", "@legal have a look"), ValidationError, "text"),
        (CloseTicket("?", "T1"), OrderError, None),
        (ReopenTicket("?", "T1", "again"), OrderError, None),
    ],
)
def test_a_refused_command_changes_nothing(
    service: SalesService,
    store: Any,
    clock: ManualClock,
    command: Any,
    error: type[Exception],
    field: str | None,
) -> None:
    order_id = _order(service, clock)
    service.handle(OpenTicket(order_id, "billing", "charged twice"))
    command = type(command)(order_id, *_fields(command)[1:])
    raised = _refused(service, store, order_id, command, error)
    if field is not None:
        assert isinstance(raised, ValidationError) and raised.field == field


def _fields(command: Any) -> list[Any]:
    return [getattr(command, name) for name in command.__slots__ if name != "__weakref__"]


def test_an_unknown_mention_names_the_departments(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    order_id = _order(service, clock)
    raised = _refused(service, store, order_id, AddOrderNote(order_id, "@legal"), ValidationError)
    assert "@warehouse" in str(raised) and "@legal" in str(raised)


def test_a_closed_ticket_takes_no_note_and_a_resolved_one_is_not_resolved_again(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    order_id = _order(service, clock)
    service.handle(OpenTicket(order_id, "other", "question"))
    service.handle(ResolveTicket(order_id, "T1", "answered"))
    _refused(service, store, order_id, ResolveTicket(order_id, "T1", "again"), OrderError)
    service.handle(CloseTicket(order_id, "T1"))
    _refused(service, store, order_id, AddTicketNote(order_id, "T1", "more"), OrderError)
    _refused(service, store, order_id, AssignTicket(order_id, "T1", "sales"), OrderError)
    clock.advance(dt.timedelta(days=31))
    _refused(service, store, order_id, ReopenTicket(order_id, "T1", "late"), OrderError)


def _due_setup(service: SalesService, clock: ManualClock) -> tuple[str, str]:
    first = _order(service, clock)
    second = _order(service, clock)
    start = clock.now()
    service.handle(OpenTicket(first, "damaged", "urgent one", "urgent"))  # due start+4h
    service.handle(OpenTicket(first, "billing", "normal one"))  # due start+24h
    service.handle(OpenTicket(second, "late_delivery", "high one", "high"))  # due start+8h
    service.handle(OpenTicket(second, "other", "low one", "low"))  # due start+72h
    service.handle(OpenTicket(second, "wrong_item", "resolved", "urgent"))  # not open
    service.handle(ResolveTicket(second, "T3", "sent the right one"))
    service.handle(AssignTicket(first, "T2", "finance", "bo"))
    service.handle(AssignTicket(second, "T1", "logistics", "al"))
    clock.set(start + 6 * HOUR)
    return first, second


def test_the_due_query_lists_open_tickets_overdue_or_due_soon_by_assignee(
    service: SalesService, clock: ManualClock
) -> None:
    first, second = _due_setup(service, clock)
    now = clock.now()
    rows = service.tickets_due(TicketQuery(now, dt.timedelta(hours=20)))
    assert [(r.assignee, r.order_id, r.ticket_id, r.overdue) for r in rows] == [
        ("", first, "T1", True),
        ("al", second, "T1", False),
        ("bo", first, "T2", False),
    ]
    assert rows[1].department == "logistics" and rows[1].priority.value == "high"
    assert [r.ticket_id for r in service.tickets_due(TicketQuery(now))] == ["T1"]
    by_dept = service.tickets_due(TicketQuery(now, dt.timedelta(days=9), department="logistics"))
    assert [(r.order_id, r.ticket_id) for r in by_dept] == [(second, "T1")]
    mine = service.tickets_due(TicketQuery(now, dt.timedelta(days=9), assignee=""))
    assert [(r.order_id, r.ticket_id) for r in mine] == [(first, "T1"), (second, "T2")]
    limited = service.tickets_due(TicketQuery(now, dt.timedelta(days=9), limit=2))
    assert len(limited) == 2


def test_the_due_query_of_the_store_agrees_with_the_reference(
    service: SalesService, clock: ManualClock
) -> None:
    _due_setup(service, clock)
    orders = service.list_orders(OrderQuery(limit=100)).orders
    for within in (0, 3, 30, 100):
        for assignee in (None, "", "al", "zz"):
            query = TicketQuery(clock.now(), dt.timedelta(hours=within), assignee=assignee)
            assert service.tickets_due(query) == select_tickets_due(orders, query)


def test_a_host_sla_policy_sets_the_due_times(store: Any, clock: ManualClock) -> None:
    sla = SlaPolicy(
        hours={"urgent": 1, "high": 2, "normal": 3, "low": 5},
        overrides={("billing", "normal"): 48},
    )
    service = returns_service(store, clock, FakePaymentGateway(), sla_policy=sla)
    order_id = _order(service, clock)
    now = clock.now()
    service.handle(OpenTicket(order_id, "billing", "charged twice"))
    service.handle(OpenTicket(order_id, "damaged", "dented"))
    order = service.get_order(order_id)
    assert [t.due_at - now for t in order.tickets] == [48 * HOUR, 3 * HOUR]


def test_the_timeline_merges_audit_events_tickets_and_notes_in_time_order(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    order_id = _order(service, clock)
    service.handle(OpenTicket(order_id, "damaged", "box crushed"))
    clock.advance(HOUR)
    service.handle(AddOrderNote(order_id, "@warehouse check the seal", actor="jo"))
    clock.advance(HOUR)
    service.handle(AddTicketNote(order_id, "T1", "sorry!", "customer", actor="ann"))
    clock.advance(HOUR)
    service.handle(ResolveTicket(order_id, "T1", "refunded"))
    entries = service.timeline(order_id)
    times = [e.at for e in entries]
    assert times == sorted(times)
    kinds = {e.kind for e in entries}
    assert kinds == {
        TimelineKind.AUDIT,
        TimelineKind.EVENT,
        TimelineKind.TICKET,
        TimelineKind.TICKET_NOTE,
        TimelineKind.NOTE,
    }
    with store.unit_of_work() as uow:
        event_ids = [m.event_id for m in uow.outbox.messages(order_id)]
    assert [dict(e.refs)["event_id"] for e in entries if e.kind is TimelineKind.EVENT] == (
        event_ids
    )
    order = service.get_order(order_id)
    assert sum(e.kind is TimelineKind.AUDIT for e in entries) == len(order.audit)
    notes = [e for e in entries if e.kind in (TimelineKind.NOTE, TimelineKind.TICKET_NOTE)]
    assert [(e.actor, e.summary) for e in notes] == [
        ("jo", "note: @warehouse check the seal"),
        ("ann", "ticket T1 customer note: sorry!"),
    ]
    # at the same moment: the sources in order (audit, events, tickets, notes)
    assert [(e.kind, e.summary) for e in entries[-2:]] == [
        (TimelineKind.EVENT, "TicketResolved"),
        (TimelineKind.TICKET, "ticket T1 resolved: refunded"),
    ]


def test_sqlite_backfills_the_ticket_rows_of_stored_orders(tmp_path: Path) -> None:
    from salesorders.adapters.sqlite import SQLiteStore

    path = tmp_path / "orders.db"
    clock = ManualClock(T0)
    store = SQLiteStore(str(path))
    service = returns_service(store, clock, FakePaymentGateway())
    order_id = _order(service, clock)
    service.handle(OpenTicket(order_id, "damaged", "box crushed", "urgent"))
    service.handle(AssignTicket(order_id, "T1", "warehouse", "kim"))
    query = TicketQuery(clock.now(), dt.timedelta(days=1))
    expected = service.tickets_due(query)
    assert [(r.order_id, r.assignee) for r in expected] == [(order_id, "kim")]
    store.close()
    with sqlite3.connect(path) as db:  # back to the schema before the ticket rows
        db.execute("DROP TABLE order_tickets")
        db.execute("DROP TABLE audit_log")  # and the versions after it
        db.execute("DROP TABLE customers")
        db.execute("CREATE INDEX reservations_by_order ON reservations (order_id)")
        db.execute("DELETE FROM schema_version WHERE version >= 11")
    reopened = SQLiteStore(str(path))
    try:
        again = returns_service(reopened, clock, FakePaymentGateway())
        assert again.tickets_due(query) == expected
    finally:
        reopened.close()


def test_the_timeline_shows_what_each_channel_did_with_the_notices(
    store: Any, clock: ManualClock
) -> None:
    from salesorders.errors import PermanentDeliveryError
    from salesorders.notifications import Skipped
    from salesorders.testing.channels import RecordingChannel

    email = RecordingChannel("email")
    sms = RecordingChannel("sms", answer=lambda notice: Skipped("no phone number"))
    service = returns_service(store, clock, FakePaymentGateway(), channels=[email, sms])
    order_id = _order(service, clock)
    service.handle(OpenTicket(order_id, "damaged", "box crushed"))
    clock.advance(HOUR)
    while service.relay.run_once().delivered:
        pass
    email.fail_next(error=PermanentDeliveryError("email", "mailbox unknown"))
    service.handle(ResolveTicket(order_id, "T1", "refunded"))
    service.relay.run_once()

    entries = service.timeline(order_id)
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    sent = [e for e in entries if e.kind is TimelineKind.NOTIFICATION]
    records = service.deliveries(order_id)
    assert len(sent) == len(records) > 0  # one entry per channel and notice, none dropped
    summaries = [e.summary for e in sent]
    assert "TicketOpened sent by email" in summaries
    assert "TicketOpened skipped by sms (no phone number)" in summaries, summaries
    assert any(
        s.startswith("TicketResolved refused by email") and "mailbox unknown" in s
        for s in summaries
    ), summaries
    assert {dict(e.refs)["channel"] for e in sent} == {"email", "sms"}
