"""Properties of tickets and the timeline.

The ticket state machine: random sequences of verbs (at random times) are run against an order
and against a model written here, independently of the library's transition table; every verb
the model allows succeeds and leads where the model says, every other is refused and changes
nothing, and no ticket ever reaches an inconsistent state. A deliberately wrong transition table
in the library is caught by the same check.

The timeline merge: every entry of every source is kept, in time order, ties in source order.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesorders.domain import order_tickets
from salesorders.domain.order import Order
from salesorders.domain.tickets import REOPEN_WINDOW, Ticket, TicketStatus
from salesorders.domain.timeline import TimelineEntry, TimelineKind, merge_timeline
from salesorders.errors import OrderError

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)

OPEN, RESOLVED, CLOSED = TicketStatus.OPEN, TicketStatus.RESOLVED, TicketStatus.CLOSED

#: The model: which verb is allowed from which status, and where it leads.
MODEL: Mapping[str, Mapping[TicketStatus, TicketStatus]] = {
    "assign": {OPEN: OPEN, RESOLVED: RESOLVED},
    "note": {OPEN: OPEN, RESOLVED: RESOLVED},
    "resolve": {OPEN: RESOLVED},
    "reopen": {RESOLVED: OPEN, CLOSED: OPEN},
    "close": {RESOLVED: CLOSED},
}

VERBS = sorted(MODEL)
steps = st.lists(
    st.tuples(st.sampled_from(VERBS), st.integers(min_value=0, max_value=24 * 20)),
    max_size=25,
)


def _order() -> Order:
    order = Order.create("O-1", "C-1", "EUR", T0)
    order.add_line("SKU-A", 1, "10.00", T0)
    order.place("SO-1", T0)
    order.open_ticket("T1", "damaged", "crushed", T0 + 4 * HOUR, T0)
    return order


def _apply(order: Order, verb: str, at: dt.datetime, count: int) -> None:
    if verb == "assign":
        order.assign_ticket("T1", "warehouse", at, assignee=f"p{count}")
    elif verb == "note":
        order.add_ticket_note("T1", f"N{count}", "text", at)
    elif verb == "resolve":
        order.resolve_ticket("T1", "done", at)
    elif verb == "reopen":
        order.reopen_ticket("T1", "again", at + 4 * HOUR, at)
    else:
        order.close_ticket("T1", at)


def _consistent(ticket: Ticket) -> None:
    """What holds of every ticket, whatever happened to it."""
    assert ticket.status in (OPEN, RESOLVED, CLOSED)
    assert (ticket.resolved_at is not None) == (ticket.status is not OPEN)
    assert bool(ticket.resolution) == (ticket.status is not OPEN)
    assert (ticket.closed_at is not None) == (ticket.status is CLOSED)
    assert ticket.history[0][0] == "open"
    last = [verb for verb, *_ in ticket.history if verb != "assign"][-1]
    assert {"open": OPEN, "reopen": OPEN, "resolve": RESOLVED, "close": CLOSED}[last] is (
        ticket.status
    )


def _check_sequence(sequence: list[tuple[str, int]]) -> None:
    order = _order()
    expected = OPEN
    resolved_at: dt.datetime | None = None
    at = T0
    for count, (verb, hours) in enumerate(sequence, start=1):
        at = at + hours * HOUR
        target = MODEL[verb].get(expected)
        if verb == "reopen" and resolved_at is not None and at > resolved_at + REOPEN_WINDOW:
            target = None
        before = (order.tickets, order.event_sequence)
        if target is None:
            with pytest.raises(OrderError):
                _apply(order, verb, at, count)
            assert (order.tickets, order.event_sequence) == before
        else:
            _apply(order, verb, at, count)
            assert order.event_sequence == before[1] + 1
            if verb == "resolve":
                resolved_at = at
            elif verb == "reopen":
                resolved_at = None
            expected = target
        ticket = order.ticket("T1")
        assert ticket.status is expected
        _consistent(ticket)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_random_verb_sequences_follow_the_model_and_stay_consistent(
    sequence: list[tuple[str, int]],
) -> None:
    _check_sequence(sequence)


#: How the check fails: an assertion, or an expected refusal that did not come.
CAUGHT = (AssertionError, pytest.fail.Exception)


def test_a_wrong_transition_table_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = dict(order_tickets.TICKET_TRANSITIONS)
    wrong["close"] = {OPEN: CLOSED, RESOLVED: CLOSED}  # closing an unresolved ticket
    monkeypatch.setattr(order_tickets, "TICKET_TRANSITIONS", wrong)
    with pytest.raises(CAUGHT):
        _check_sequence([("close", 1)])
    wrong["close"] = {RESOLVED: CLOSED}
    wrong["note"] = {OPEN: OPEN, RESOLVED: RESOLVED, CLOSED: CLOSED}  # notes on closed tickets
    with pytest.raises(CAUGHT):
        _check_sequence([("resolve", 1), ("close", 1), ("note", 1)])


# --------------------------------------------------------------------------- the timeline

KINDS = list(TimelineKind)
moments = st.integers(min_value=0, max_value=20).map(lambda m: T0 + m * dt.timedelta(minutes=1))


@st.composite
def sources(draw: Any) -> list[list[TimelineEntry]]:
    count = draw(st.integers(min_value=0, max_value=5))
    found = []
    for index in range(count):
        kind = draw(st.sampled_from(KINDS))
        times = draw(st.lists(moments, max_size=12))
        found.append(
            [
                TimelineEntry(at, kind, f"{index}:{position}", refs=(("i", f"{index}:{position}"),))
                for position, at in enumerate(times)
            ]
        )
    return found


@settings(max_examples=300, deadline=None)
@given(sources())
def test_the_merge_keeps_every_entry_in_time_order_ties_in_source_order(
    given_sources: list[list[TimelineEntry]],
) -> None:
    merged = merge_timeline(*given_sources)
    every = [entry for source in given_sources for entry in source]
    assert sorted(e.summary for e in merged) == sorted(e.summary for e in every)
    assert len(merged) == len(every)
    for before, after in itertools.pairwise(merged):
        assert before.at <= after.at
        if before.at == after.at:
            rank_before = tuple(map(int, before.summary.split(":")))
            rank_after = tuple(map(int, after.summary.split(":")))
            assert rank_before < rank_after
    assert all(attrs.has(type(e)) for e in merged)
