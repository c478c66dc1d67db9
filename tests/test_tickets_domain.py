"""Tickets and order notes on the Order aggregate: every verb, every refusal changes nothing, the
SLA policy and its checks, mentions, and the JSON round trip of the new events and commands."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from salesorders.domain import events as ev
from salesorders.domain.order import Order
from salesorders.domain.ticket_sla import SlaPolicy, TicketQuery
from salesorders.domain.tickets import (
    DEPARTMENTS,
    NoteVisibility,
    TicketCategory,
    TicketPriority,
    TicketStatus,
    mentions_in,
)
from salesorders.errors import LineNotFoundError, OrderError, ValidationError
from salesorders.serialization import Serializer
from salesorders.service import (
    AddOrderNote,
    AddTicketNote,
    AssignTicket,
    CloseTicket,
    OpenTicket,
    ReopenTicket,
    ResolveTicket,
)

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
S = Serializer()


def _order() -> Order:
    order = Order.create("O-1", "C-1", "EUR", T0)
    order.add_line("SKU-A", 2, "10.00", T0)
    order.place("SO-1", T0)
    order.pull_events()
    return order


def _snapshot(order: Order) -> dict[str, Any]:
    return {**attrs.asdict(order, recurse=False), "events": list(order.events)}


def _refused(order: Order, error: type[Exception], call: Callable[[], object]) -> Exception:
    before = _snapshot(order)
    with pytest.raises(error) as caught:
        call()
    assert _snapshot(order) == before
    return caught.value


def _opened(**options: Any) -> Order:
    order = _order()
    order.open_ticket("T1", "damaged", "box crushed", T0 + 5 * HOUR, T0 + HOUR, **options)
    return order


def test_opening_a_ticket_records_it_and_raises_ticket_opened() -> None:
    order = _opened(priority="high", line_id="L1", actor="ann")
    ticket = order.ticket("T1")
    assert (ticket.category, ticket.priority, ticket.status) == (
        TicketCategory.DAMAGED,
        TicketPriority.HIGH,
        TicketStatus.OPEN,
    )
    assert (ticket.due_at, ticket.line_id, ticket.opened_by) == (T0 + 5 * HOUR, "L1", "ann")
    (event,) = order.pull_events()
    assert isinstance(event, ev.TicketOpened)
    assert (event.ticket_id, event.category, event.priority, event.due_at) == (
        "T1",
        "damaged",
        "high",
        T0 + 5 * HOUR,
    )
    assert event.sequence == order.event_sequence
    assert order.next_ticket_id() == "T2"


def test_every_verb_changes_the_ticket_and_raises_its_event() -> None:
    order = _opened()
    at = T0 + 2 * HOUR
    order.assign_ticket("T1", "warehouse", at, assignee="kim")
    order.add_ticket_note("T1", "N1", "checked", at, author="kim")
    order.add_ticket_note("T1", "N2", "sorry", at, visibility="customer", author="ann")
    order.resolve_ticket("T1", "replaced", at)
    order.close_ticket("T1", at)
    order.reopen_ticket("T1", "broken again", at + 10 * HOUR, at + HOUR)
    ticket = order.ticket("T1")
    assert (ticket.status, ticket.due_at, ticket.department, ticket.assignee) == (
        TicketStatus.OPEN,
        at + 10 * HOUR,
        "warehouse",
        "kim",
    )
    assert [n.visibility for n in ticket.notes] == [
        NoteVisibility.INTERNAL,
        NoteVisibility.CUSTOMER,
    ]
    assert [verb for verb, *_ in ticket.history] == [
        "open",
        "assign",
        "resolve",
        "close",
        "reopen",
    ]
    assert [type(e).__name__ for e in order.pull_events()] == [
        "TicketOpened",
        "TicketAssigned",
        "TicketNoted",
        "TicketAnswered",
        "TicketResolved",
        "TicketClosed",
        "TicketReopened",
    ]


def test_an_order_note_parses_its_mentions() -> None:
    order = _order()
    note = order.add_note("N1", "@warehouse please check the seal, cc @Finance", T0, author="jo")
    assert note.mentions == ("warehouse", "finance")
    (event,) = order.pull_events()
    assert isinstance(event, ev.OrderNoteAdded) and event.mentions == ("warehouse", "finance")
    assert order.next_note_id() == "N2"


def test_mentions_ignore_addresses_and_repeat_once() -> None:
    assert mentions_in("mail ops@example.com, @sales and @sales again") == ("sales",)
    assert mentions_in("no mention") == ()


def test_an_unknown_mention_is_refused_naming_the_field_and_the_departments() -> None:
    order = _order()
    error = _refused(order, ValidationError, lambda: order.add_note("N1", "@legal ok?", T0))
    assert isinstance(error, ValidationError) and error.field == "text"
    assert all(f"@{d}" in str(error) for d in DEPARTMENTS)


REFUSALS: list[tuple[str, type[Exception], Callable[[Order], object]]] = [
    (
        "duplicate id",
        ValidationError,
        lambda o: o.open_ticket("T1", "other", "x", T0 + 9 * HOUR, T0),
    ),
    (
        "bad category",
        ValidationError,
        lambda o: o.open_ticket("T2", "nope", "x", T0 + 9 * HOUR, T0),
    ),
    (
        "bad priority",
        ValidationError,
        lambda o: o.open_ticket("T2", "other", "x", T0 + 9 * HOUR, T0, priority="now"),
    ),
    (
        "blank description",
        ValidationError,
        lambda o: o.open_ticket("T2", "other", " ", T0 + HOUR, T0),
    ),
    ("due before open", ValidationError, lambda o: o.open_ticket("T2", "other", "x", T0, T0)),
    (
        "naive time",
        ValidationError,
        lambda o: o.open_ticket("T2", "other", "x", T0 + HOUR, T0.replace(tzinfo=None)),
    ),
    (
        "unknown line",
        LineNotFoundError,
        lambda o: o.open_ticket("T2", "other", "x", T0 + HOUR, T0, line_id="L9"),
    ),
    (
        "unknown shipment",
        ValidationError,
        lambda o: o.open_ticket("T2", "other", "x", T0 + HOUR, T0, shipment_id="S1"),
    ),
    ("unknown ticket", ValidationError, lambda o: o.assign_ticket("T9", "sales", T0)),
    ("unknown department", ValidationError, lambda o: o.assign_ticket("T1", "legal", T0)),
    (
        "bad visibility",
        ValidationError,
        lambda o: o.add_ticket_note("T1", "N1", "x", T0, visibility="all"),
    ),
    ("empty note", ValidationError, lambda o: o.add_ticket_note("T1", "N1", "", T0)),
    ("blank resolution", ValidationError, lambda o: o.resolve_ticket("T1", "  ", T0)),
    (
        "reopen an open ticket",
        OrderError,
        lambda o: o.reopen_ticket("T1", "why", T0 + 9 * HOUR, T0),
    ),
    ("close an open ticket", OrderError, lambda o: o.close_ticket("T1", T0)),
    (
        "blank reopen reason",
        ValidationError,
        lambda o: o.reopen_ticket("T1", "", T0 + 9 * HOUR, T0),
    ),
]


@pytest.mark.parametrize(("name", "error", "call"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_refused_verb_changes_nothing(
    name: str, error: type[Exception], call: Callable[[Order], object]
) -> None:
    order = _opened()
    order.pull_events()
    _refused(order, error, lambda: call(order))


def test_a_closed_ticket_takes_no_note_and_reopens_only_within_the_window() -> None:
    order = _opened()
    order.add_note("N1", "fine", T0)
    _refused(order, ValidationError, lambda: order.add_ticket_note("T1", "N1", "dup id", T0))
    order.resolve_ticket("T1", "done", T0 + HOUR)
    _refused(order, OrderError, lambda: order.resolve_ticket("T1", "again", T0 + HOUR))
    order.close_ticket("T1", T0 + HOUR)
    _refused(order, OrderError, lambda: order.add_ticket_note("T1", "N2", "more", T0 + HOUR))
    _refused(order, OrderError, lambda: order.assign_ticket("T1", "sales", T0 + HOUR))
    late = T0 + HOUR + dt.timedelta(days=30, seconds=1)
    error = _refused(
        order, OrderError, lambda: order.reopen_ticket("T1", "late", late + HOUR, late)
    )
    assert "30 days" in str(error)
    order.reopen_ticket("T1", "in time", late, late - dt.timedelta(seconds=2))
    assert order.ticket("T1").status is TicketStatus.OPEN


def test_the_default_sla_and_an_override() -> None:
    default = SlaPolicy()
    assert [default.hours_for("other", p) for p in ("urgent", "high", "normal", "low")] == [
        4,
        8,
        24,
        72,
    ]
    sla = SlaPolicy(overrides={("damaged", "low"): 12})
    assert sla.due("damaged", "low", T0) == T0 + 12 * HOUR
    assert sla.due("billing", "low", T0) == T0 + 72 * HOUR


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"hours": {"urgent": 1, "high": 2, "normal": 3}}, "hours"),
        ({"hours": {"urgent": 0, "high": 2, "normal": 3, "low": 4}}, "hours[urgent]"),
        ({"hours": {"urgent": 1.5, "high": 2, "normal": 3, "low": 4}}, "hours[urgent]"),
        ({"overrides": {("damaged",): 3}}, "overrides"),
        ({"overrides": {("damaged", "soon"): 3}}, "overrides"),
    ],
)
def test_a_bad_sla_policy_is_refused_naming_the_field(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SlaPolicy(**options)
    assert caught.value.field == field


def test_a_ticket_query_checks_its_fields() -> None:
    with pytest.raises(ValidationError, match="within"):
        TicketQuery(T0, dt.timedelta(hours=-1))
    with pytest.raises(ValidationError, match="department"):
        TicketQuery(T0, department="legal")
    with pytest.raises(ValidationError):
        TicketQuery(T0.replace(tzinfo=None))


def test_the_order_document_keeps_tickets_and_notes() -> None:
    order = _opened(line_id="L1")
    order.add_ticket_note("T1", "N1", "sorry", T0 + HOUR, visibility="customer")
    order.add_note("N2", "@logistics ping", T0 + HOUR)
    data = json.loads(json.dumps(S.document(Order)(order)))
    loaded = S.load(data, Order)
    assert (loaded.tickets, loaded.notes) == (order.tickets, order.notes)


def test_an_order_document_without_tickets_still_loads() -> None:
    data = S.document(Order)(_order())
    assert "tickets" not in data and "notes" not in data
    assert S.load(data, Order).tickets == ()


EVENTS = [
    ev.TicketOpened("O-1", 1, T0, "a", "", "T1", "damaged", "high", "crushed", T0 + HOUR),
    ev.TicketAssigned("O-1", 2, T0, "a", "", "T1", "warehouse", "kim"),
    ev.TicketNoted("O-1", 3, T0, "a", "", "T1", "N1", "internal", "a"),
    ev.TicketAnswered("O-1", 4, T0, "a", "", "T1", "N2", "to the customer", "a"),
    ev.TicketResolved("O-1", 5, T0, "a", "", "T1", "replaced"),
    ev.TicketReopened("O-1", 6, T0, "a", "again", "T1", T0 + HOUR),
    ev.TicketClosed("O-1", 7, T0, "a", "", "T1"),
    ev.OrderNoteAdded("O-1", 8, T0, "a", "", "N3", "@sales hi", "a", ("sales",)),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_ticket_events_round_trip_through_json_and_are_registered(event: ev.OrderEvent) -> None:
    assert ev.EVENT_TYPES[event.event_type] is type(event)
    data = json.loads(json.dumps(S.dump(event)))
    assert S.load(data, type(event)) == event


COMMANDS = [
    OpenTicket("O-1", "damaged", "box crushed", "urgent", "L1", "S1", "T9", "k-1", "ann"),
    AssignTicket("O-1", "T1", "warehouse", "kim"),
    AddTicketNote("O-1", "T1", "replacement sent", "customer", "N9"),
    ResolveTicket("O-1", "T1", "replaced the item"),
    ReopenTicket("O-1", "T1", "still broken"),
    CloseTicket("O-1", "T1"),
    AddOrderNote("O-1", "@warehouse please check the seal", "N8"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: type(c).__name__)
def test_ticket_commands_round_trip_through_json(command: Any) -> None:
    data = json.loads(json.dumps(S.dump(command)))
    assert S.load(data, type(command)) == command
