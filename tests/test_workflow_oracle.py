"""The compiled transition table agrees with python-statemachine on every event sequence.

Each step sends one event (sometimes one the current state allows, sometimes any event, including
events no workflow knows) after drawing fresh guard outcomes: the state the order was held from
and the answers of the host's guards. The compiled table (``Workflow.next_state`` / ``can`` /
``allowed_events``) and an instance of ``Workflow.machine`` see the same subject, so the same
guard results, and must agree on every accept, every reject (and its kind) and every resulting
state. A deliberately corrupted table must be caught by the same comparison.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from statemachine.exceptions import TransitionNotAllowed

from salesorders.domain.workflow import Transition, Workflow, default_workflow
from salesorders.errors import GuardRejectedError, InvalidTransitionError

UNKNOWN_EVENTS = ("refund", "teleport")
MAX_STEPS = 30
SEARCH_ONLY = (Phase.generate,)  # finding one difference is the point; no need to shrink it


class Subject:
    """What the guards read; redrawn before every step. The machine keeps its state in ``state``."""

    def __init__(self) -> None:
        self.held_from: str | None = None
        self.outcomes: dict[str, bool] = {}


def drawn(name: str) -> Any:
    """A host guard whose answer is whatever the test drew for this step."""

    def predicate(subject: Subject) -> bool:
        return subject.outcomes[name]

    return predicate


def extended_workflow() -> Workflow:
    """The default plus a credit approval step, host hold/resume, multi-guard candidates and a
    self-transition."""
    return (
        default_workflow()
        .extend("credit-checked-order")
        .add_state("awaiting_credit_approval")
        .remove_transition("confirm", "placed")
        .add_transition("request_credit_approval", "placed", "awaiting_credit_approval")
        .add_transition(
            "approve_credit", "awaiting_credit_approval", "confirmed", guards=["credit_ok"]
        )
        .add_transition("reject_credit", "awaiting_credit_approval", "cancelled")
        .add_transition("hold", "awaiting_credit_approval", "on_hold")
        .add_transition(
            "resume",
            "on_hold",
            "awaiting_credit_approval",
            guards=["held_from:awaiting_credit_approval"],
        )
        .add_transition("fast_track", "placed", "confirmed", guards=["credit_ok", "priority"])
        .add_transition("fast_track", "placed", "awaiting_credit_approval", guards=["priority"])
        .add_transition("annotate", "confirmed", "confirmed")
        .guard("credit_ok", drawn("credit_ok"))
        .guard("priority", drawn("priority"))
        .build()
    )


DEFAULT = default_workflow()
EXTENDED = extended_workflow()
HOST_GUARDS = {DEFAULT.ref: (), EXTENDED.ref: ("credit_ok", "priority")}


@attrs.frozen
class Step:
    """One step: which event, and the guard outcomes drawn for it."""

    prefer_allowed: bool
    pick: int
    event: str
    held_from: str | None
    outcomes: tuple[tuple[str, bool], ...]


@attrs.frozen
class Run:
    """A state to start from (an order loaded from storage) and the steps that follow."""

    start: str
    steps: list[Step]


@attrs.frozen
class Observation:
    """What one implementation did with one event."""

    event: str
    allowed: tuple[str, ...]
    can: bool
    outcome: str  # "moved", "not allowed" or "guard rejected"
    state: str


def runs(workflow: Workflow, host_guards: tuple[str, ...]) -> st.SearchStrategy[Run]:
    held_targets = sorted(
        {g.split(":", 1)[1] for t in workflow.transitions for g in t.guards if ":" in g}
    )
    step = st.builds(
        Step,
        prefer_allowed=st.sampled_from((True, True, True, False)),
        pick=st.sampled_from(range(60)),  # uniform over allowed events (60 = lcm of 2..5)
        event=st.sampled_from((*workflow.events, *UNKNOWN_EVENTS)),
        held_from=st.sampled_from((None, *held_targets, workflow.initial)),
        outcomes=st.tuples(*(st.tuples(st.just(g), st.booleans()) for g in host_guards)),
    )
    return st.builds(
        Run, start=st.sampled_from(workflow.states), steps=st.lists(step, max_size=MAX_STEPS)
    )


def observe_table(workflow: Workflow, state: str, event: str, subject: Subject) -> Observation:
    allowed = workflow.allowed_events(state)
    can = workflow.can(state, event, subject)
    try:
        state = workflow.next_state(state, event, subject, "SO-1")
        outcome = "moved"
    except GuardRejectedError:
        outcome = "guard rejected"
    except InvalidTransitionError:
        outcome = "not allowed"
    return Observation(event, allowed, can, outcome, state)


def observe_machine(machine: Any, event: str) -> Observation:
    allowed = tuple(sorted({e.id for e in machine.allowed_events}))
    can = event in {e.id for e in machine.enabled_events()}
    try:
        machine.send(event)
        outcome = "moved"
    except TransitionNotAllowed:
        outcome = "guard rejected" if event in allowed else "not allowed"
    (state,) = machine.configuration_values
    return Observation(event, allowed, can, outcome, state)


def mismatches(
    workflow: Workflow, run: Run, taken: set[tuple[str, str]] | None = None
) -> list[tuple[int, Any, Any]]:
    """Run ``run`` through the table and the machine in lockstep; return where they differ
    (stopping at the first difference). ``taken`` collects the (state, event) moves made."""
    subject = Subject()
    machine = workflow.machine(model=subject, start_value=run.start)
    state = run.start
    if machine.configuration_values != {state}:
        return [(-1, state, set(machine.configuration_values))]
    for index, step in enumerate(run.steps):
        if state in workflow.finals:  # the order is done: carry on with a new one
            subject = Subject()
            machine = workflow.machine(model=subject)
            state = workflow.initial
        subject.held_from = step.held_from
        subject.outcomes = dict(step.outcomes)
        event = step.event
        reference_allowed = sorted({e.id for e in machine.allowed_events})
        if step.prefer_allowed and reference_allowed:
            event = reference_allowed[step.pick % len(reference_allowed)]
        table = observe_table(workflow, state, event, subject)
        reference = observe_machine(machine, event)
        if table != reference:
            return [(index, table, reference)]
        if taken is not None and table.outcome == "moved":
            taken.add((state, event))
        state = table.state
    return []


@pytest.mark.parametrize("workflow", [DEFAULT, EXTENDED], ids=["default", "extended"])
def test_table_agrees_with_the_python_statemachine_oracle(workflow: Workflow) -> None:
    @settings(max_examples=200, deadline=None)
    @given(run=runs(workflow, HOST_GUARDS[workflow.ref]))
    def check(run: Run) -> None:
        assert mismatches(workflow, run) == []

    check()


def _corrupt(workflow: Workflow, key: tuple[str, str], candidates: Any) -> Workflow:
    table = dict(workflow._table)
    if candidates is None:
        del table[key]
    else:
        table[key] = candidates
    return attrs.evolve(workflow, table=table)


def _retarget(table: Any, key: tuple[str, str], target: str) -> Any:
    return tuple((attrs.evolve(t, target=target), checks) for t, checks in table[key])


def _drop_guards(table: Any, key: tuple[str, str]) -> Any:
    return tuple((attrs.evolve(t, guards=()), ()) for t, _ in table[key])


CORRUPTIONS = {
    "wrong target": lambda t: (
        ("confirmed", "ship"),
        _retarget(t, ("confirmed", "ship"), "delivered"),
    ),
    "missing transition": lambda t: (("placed", "hold"), None),
    "extra transition": lambda t: (
        ("shipped", "cancel"),
        ((Transition("cancel", "shipped", "cancelled"), ()),),
    ),
    "guard dropped": lambda t: (("on_hold", "resume"), _drop_guards(t, ("on_hold", "resume"))),
}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_the_comparison_catches_a_corrupted_table(corruption: str) -> None:
    key, candidates = CORRUPTIONS[corruption](DEFAULT._table)
    broken = _corrupt(DEFAULT, key, candidates)
    assert broken.machine is DEFAULT.machine
    found = find(
        runs(broken, ()),
        lambda run: bool(mismatches(broken, run)),
        settings=settings(max_examples=2000, database=None, deadline=None, phases=SEARCH_ONLY),
    )
    assert mismatches(broken, found)
    assert not mismatches(DEFAULT, found)


def test_a_corrupted_extended_table_is_caught_too() -> None:
    key = ("placed", "fast_track")
    candidates = tuple(reversed(EXTENDED._table[key]))  # the one needing fewer guards now wins
    broken = _corrupt(EXTENDED, key, candidates)
    found = find(
        runs(broken, HOST_GUARDS[EXTENDED.ref]),
        lambda run: bool(mismatches(broken, run)),
        settings=settings(max_examples=2000, database=None, deadline=None, phases=SEARCH_ONLY),
    )
    _, table, reference = mismatches(broken, found)[0]
    assert table.event == reference.event == "fast_track"
    assert table.state != reference.state
