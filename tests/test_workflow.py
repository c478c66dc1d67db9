from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import attrs
import pytest

from salesorders.domain.workflow import (
    DEFAULT_WORKFLOW,
    Transition,
    Workflow,
    WorkflowBuilder,
    WorkflowRegistry,
    default_workflow,
)
from salesorders.errors import (
    GuardRejectedError,
    InvalidTransitionError,
    NotFoundError,
    ValidationError,
    WorkflowDefinitionError,
)

DOC = Path(__file__).resolve().parent.parent / "docs" / "workflow.md"

STATES = (
    "draft",
    "placed",
    "confirmed",
    "on_hold",
    "shipped",
    "delivered",
    "completed",
    "cancelled",
)

# (state, event, held_from, expected next state): every transition of the default workflow.
DEFAULT_MOVES = [
    ("draft", "place", None, "placed"),
    ("placed", "confirm", None, "confirmed"),
    ("placed", "hold", None, "on_hold"),
    ("confirmed", "hold", None, "on_hold"),
    ("on_hold", "resume", "placed", "placed"),
    ("on_hold", "resume", "confirmed", "confirmed"),
    ("confirmed", "ship", None, "shipped"),
    ("shipped", "deliver", None, "delivered"),
    ("delivered", "complete", None, "completed"),
    ("draft", "cancel", None, "cancelled"),
    ("placed", "cancel", None, "cancelled"),
    ("confirmed", "cancel", None, "cancelled"),
    ("on_hold", "cancel", "placed", "cancelled"),
]


class Subject:
    """Stands in for an order: what the guards read."""

    def __init__(self, held_from: str | None = None, credit_ok: bool = False) -> None:
        self.held_from = held_from
        self.credit_ok = credit_ok


def credit_ok(subject: Any) -> bool:
    return bool(subject.credit_ok)


def credit_checked() -> Workflow:
    """The default workflow with a credit approval step between placed and confirmed."""
    return (
        default_workflow()
        .extend("credit-checked-order")
        .add_state("awaiting_credit_approval")
        .remove_transition("confirm", "placed")
        .add_transition("request_credit_approval", "placed", "awaiting_credit_approval")
        .add_transition(
            "approve_credit", "awaiting_credit_approval", "confirmed", guards=["credit_ok"]
        )
        .add_transition("hold", "awaiting_credit_approval", "on_hold")
        .add_transition(
            "resume",
            "on_hold",
            "awaiting_credit_approval",
            guards=["held_from:awaiting_credit_approval"],
        )
        .add_transition("cancel", "awaiting_credit_approval", "cancelled")
        .guard("credit_ok", credit_ok)
        .build()
    )


def valid_builder(name: str = "tiny", version: int = 1) -> WorkflowBuilder:
    return (
        WorkflowBuilder(name, version)
        .add_state("open", initial=True)
        .add_state("closed", final=True)
        .add_transition("close", "open", "closed")
    )


# --------------------------------------------------------------------------- default workflow


def test_default_workflow_shape() -> None:
    wf = default_workflow()
    assert wf is DEFAULT_WORKFLOW
    assert wf.ref == ("sales-order", 1)
    assert (wf.name, wf.version) == ("sales-order", 1)
    assert wf.states == STATES
    assert wf.initial == "draft"
    assert wf.finals == frozenset({"completed", "cancelled"})
    assert wf.events == (
        "place",
        "confirm",
        "hold",
        "resume",
        "ship",
        "deliver",
        "complete",
        "cancel",
    )
    declared = {(t.source, t.event, t.target) for t in wf.transitions}
    assert declared == {(s, e, target) for s, e, _, target in DEFAULT_MOVES}
    assert len(wf.transitions) == len(DEFAULT_MOVES)


@pytest.mark.parametrize(("state", "event", "held_from", "expected"), DEFAULT_MOVES)
def test_every_default_transition(
    state: str, event: str, held_from: str | None, expected: str
) -> None:
    wf = default_workflow()
    subject = Subject(held_from=held_from)
    assert wf.can(state, event, subject)
    assert wf.next_state(state, event, subject, "SO-1") == expected


def _not_allowed() -> list[tuple[str, str]]:
    allowed = {(state, event) for state, event, _, _ in DEFAULT_MOVES}
    return [
        (state, event)
        for state in STATES
        for event in (*default_workflow().events, "refund")
        if (state, event) not in allowed
    ]


@pytest.mark.parametrize(("state", "event"), _not_allowed())
def test_events_not_allowed_name_order_state_event_and_allowed(state: str, event: str) -> None:
    wf = default_workflow()
    assert not wf.can(state, event, Subject())
    with pytest.raises(InvalidTransitionError) as caught:
        wf.next_state(state, event, Subject(), "SO-42")
    error = caught.value
    assert (error.order_id, error.state, error.event) == ("SO-42", state, event)
    assert error.allowed == wf.allowed_events(state)
    message = str(error)
    assert "SO-42" in message
    assert repr(state) in message
    assert repr(event) in message
    for allowed in error.allowed:
        assert allowed in message


def test_allowed_events_are_sorted_and_ignore_guards() -> None:
    wf = default_workflow()
    assert wf.allowed_events("draft") == ("cancel", "place")
    assert wf.allowed_events("placed") == ("cancel", "confirm", "hold")
    assert wf.allowed_events("confirmed") == ("cancel", "hold", "ship")
    assert wf.allowed_events("on_hold") == ("cancel", "resume")
    assert wf.allowed_events("shipped") == ("deliver",)
    assert wf.allowed_events("delivered") == ("complete",)
    assert wf.allowed_events("completed") == ()
    assert wf.allowed_events("cancelled") == ()


def test_cancellation_only_before_shipment() -> None:
    wf = default_workflow()
    cancellable = {s for s in STATES if "cancel" in wf.allowed_events(s)}
    assert cancellable == {"draft", "placed", "confirmed", "on_hold"}


def test_final_state_error_says_no_event_is_allowed() -> None:
    with pytest.raises(InvalidTransitionError, match="none \\(final state\\)"):
        default_workflow().next_state("completed", "cancel", Subject(), "SO-7")


@pytest.mark.parametrize("held_from", [None, "draft", "shipped", "on_hold"])
def test_resume_needs_the_state_it_was_held_from(held_from: str | None) -> None:
    wf = default_workflow()
    subject = Subject(held_from=held_from)
    assert not wf.can("on_hold", "resume", subject)
    with pytest.raises(GuardRejectedError) as caught:
        wf.next_state("on_hold", "resume", subject, "SO-9")
    error = caught.value
    assert (error.order_id, error.state, error.event) == ("SO-9", "on_hold", "resume")
    assert error.guard == "held_from:placed"  # the first candidate's guard is the first to fail
    assert "SO-9" in str(error)
    assert "held_from:placed" in str(error)


def test_unknown_state_is_a_validation_error() -> None:
    wf = default_workflow()
    for call in (
        lambda: wf.allowed_events("lost"),
        lambda: wf.next_state("lost", "place", Subject()),
        lambda: wf.can("lost", "place", Subject()),
    ):
        with pytest.raises(ValidationError, match="not a state of workflow sales-order@1"):
            call()


def test_first_candidate_whose_guards_pass_wins() -> None:
    calls: list[str] = []

    def recording(name: str, answer: bool) -> Any:
        def predicate(subject: Any) -> bool:
            calls.append(name)
            return answer

        return predicate

    wf = (
        WorkflowBuilder("choice")
        .add_state("start", initial=True)
        .add_state("a", final=True)
        .add_state("b", final=True)
        .add_state("c", final=True)
        .add_transition("go", "start", "a", guards=["no", "yes"])
        .add_transition("go", "start", "b", guards=["yes"])
        .add_transition("go", "start", "c")
        .guard("no", recording("no", False))
        .guard("yes", recording("yes", True))
        .build()
    )
    assert wf.next_state("start", "go", Subject()) == "b"
    assert calls == ["no", "yes"]  # the failing guard stops its candidate at once


def test_workflow_is_immutable() -> None:
    wf = default_workflow()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        wf.name = "other"  # type: ignore[misc]
    assert wf.name == "sales-order"


def test_generated_machine_matches_the_definition() -> None:
    wf = default_workflow()
    machine = wf.machine
    assert [s.id for s in machine.states] == list(wf.states)
    assert machine.initial_state.id == "draft"
    assert {s.id for s in machine.final_states} == wf.finals
    arrows = {
        (s.id, t.event, t.target.id, tuple(str(c) for c in t.cond))
        for s in machine.states
        for t in s.transitions
    }
    assert arrows == {(t.source, t.event, t.target, t.guards) for t in wf.transitions}


# --------------------------------------------------------------------------- extending


def test_credit_approval_step_between_placed_and_confirmed() -> None:
    wf = credit_checked()
    assert wf.ref == ("credit-checked-order", 1)
    assert "awaiting_credit_approval" in wf.states
    assert wf.allowed_events("placed") == ("cancel", "hold", "request_credit_approval")
    with pytest.raises(InvalidTransitionError):
        wf.next_state("placed", "confirm", Subject(), "SO-3")
    assert wf.next_state("placed", "request_credit_approval", Subject()) == (
        "awaiting_credit_approval"
    )
    assert wf.next_state("awaiting_credit_approval", "approve_credit", Subject(credit_ok=True)) == (
        "confirmed"
    )
    with pytest.raises(GuardRejectedError) as caught:
        wf.next_state("awaiting_credit_approval", "approve_credit", Subject(), "SO-3")
    assert caught.value.guard == "credit_ok"
    assert not wf.can("awaiting_credit_approval", "approve_credit", Subject())


def test_hold_from_a_host_state_resumes_to_it() -> None:
    wf = credit_checked()
    held = Subject(held_from="awaiting_credit_approval")
    assert wf.next_state("awaiting_credit_approval", "hold", held) == "on_hold"
    assert wf.next_state("on_hold", "resume", held) == "awaiting_credit_approval"
    assert wf.next_state("on_hold", "resume", Subject(held_from="confirmed")) == "confirmed"


def _machine_snapshot(wf: Workflow) -> tuple[Any, ...]:
    machine = wf.machine
    states = list(machine.states)
    return (
        machine,
        [id(s) for s in states],
        [(s.id, s.value, s.initial, s.final) for s in states],
        [[(t.source.id, t.target.id, t.event, id(t)) for t in s.transitions] for s in states],
        dict(machine.states_map),
        list(machine._events),
        wf.states,
        wf.transitions,
        wf.finals,
        wf.to_mermaid(),
    )


def test_extending_never_mutates_the_default() -> None:
    default = default_workflow()
    before = _machine_snapshot(default)
    extended = credit_checked()
    also = (
        default.extend("trimmed", 3)
        .remove_state("on_hold")
        .add_transition("complete", "confirmed", "completed")
        .build()
    )
    assert _machine_snapshot(default) == before
    assert not hasattr(default.machine, "awaiting_credit_approval")
    assert default.allowed_events("placed") == ("cancel", "confirm", "hold")
    assert default.next_state("placed", "confirm", Subject()) == "confirmed"
    for other in (extended, also):
        assert other.machine is not default.machine
        assert not issubclass(other.machine, default.machine)
        shared = {id(s) for s in other.machine.states} & {id(s) for s in default.machine.states}
        assert shared == set()
    assert "on_hold" not in also.states
    assert all("on_hold" not in (t.source, t.target) for t in also.transitions)


def test_building_twice_gives_independent_machines() -> None:
    builder = valid_builder()
    first, second = builder.build(), builder.build()
    assert first.machine is not second.machine
    assert first.same_definition(second)
    assert {id(s) for s in first.machine.states}.isdisjoint(id(s) for s in second.machine.states)


def test_transition_from_several_sources_and_a_single_guard_name() -> None:
    wf = (
        WorkflowBuilder("multi")
        .add_state("a", initial=True)
        .add_state("b")
        .add_state("end", final=True)
        .add_transition("next", "a", "b")
        .add_transition("finish", ("a", "b"), "end", guards="ready")
        .guard("ready", lambda subject: True)
        .build()
    )
    assert [t for t in wf.transitions if t.event == "finish"] == [
        Transition("finish", "a", "end", ("ready",)),
        Transition("finish", "b", "end", ("ready",)),
    ]


# --------------------------------------------------------------------------- validation


def _problems(builder: WorkflowBuilder) -> tuple[str, ...]:
    with pytest.raises(WorkflowDefinitionError) as caught:
        builder.build()
    assert caught.value.workflow == builder._name
    for problem in caught.value.problems:
        assert problem in str(caught.value)
    return caught.value.problems


def test_unreachable_state_is_reported() -> None:
    builder = default_workflow().extend("broken").add_state("awaiting_credit_approval")
    builder.add_transition("approve_credit", "awaiting_credit_approval", "confirmed")
    problems = _problems(builder)
    assert problems == (
        "state 'awaiting_credit_approval' is unreachable from the initial state 'draft'; "
        "add a transition into it or remove it",
    )


def test_dead_end_non_final_state_is_reported() -> None:
    builder = (
        default_workflow()
        .extend("broken")
        .add_state("awaiting_credit_approval")
        .add_transition("request_credit_approval", "placed", "awaiting_credit_approval")
    )
    assert _problems(builder) == (
        "state 'awaiting_credit_approval' is not final and has no way out; "
        "add a transition from it or make it final",
    )


def test_unknown_guard_is_reported() -> None:
    builder = (
        default_workflow()
        .extend("broken")
        .add_state("awaiting_credit_approval")
        .remove_transition("confirm", "placed")
        .add_transition("request_credit_approval", "placed", "awaiting_credit_approval")
        .add_transition(
            "approve_credit", "awaiting_credit_approval", "confirmed", guards=["credit_ok"]
        )
    )
    assert _problems(builder) == (
        "transition 'approve_credit' from 'awaiting_credit_approval' to 'confirmed' uses "
        "unknown guard 'credit_ok'; define it with guard('credit_ok', predicate)",
    )


def test_all_problems_are_reported_together() -> None:
    builder = (
        default_workflow()
        .extend("broken")
        .add_state("island")
        .add_state("dead_end")
        .add_transition("stall", "placed", "dead_end")
        .add_transition("approve", "placed", "confirmed", guards=["manager_ok"])
    )
    problems = _problems(builder)
    assert len(problems) == 4
    assert any("unknown guard 'manager_ok'" in p for p in problems)
    assert any("'island' is unreachable" in p for p in problems)
    assert any("'island' is not final and has no way out" in p for p in problems)
    assert any("'dead_end' is not final and has no way out" in p for p in problems)


INVALID = [
    (
        "no initial",
        WorkflowBuilder("x")
        .add_state("a")
        .add_state("z", final=True)
        .add_transition("e", "a", "z"),
        "no initial state",
    ),
    (
        "two initials",
        valid_builder().add_state("other", initial=True).add_transition("go", "other", "closed"),
        "several initial states (open, other)",
    ),
    (
        "no final",
        WorkflowBuilder("x").add_state("a", initial=True).add_transition("loop", "a", "a"),
        "no final state",
    ),
    ("final with exit", valid_builder().add_transition("reopen", "closed", "open"), "final state"),
    ("unknown target", valid_builder().add_transition("go", "open", "nowhere"), "unknown state"),
    ("unknown source", valid_builder().add_transition("go", "nowhere", "open"), "unknown state"),
    (
        "held_from unknown state",
        valid_builder().add_transition("go", "open", "closed", guards=["held_from:limbo"]),
        "'limbo' is not a state of this workflow",
    ),
    ("reserved state name", valid_builder().add_state("send", final=True), "reserved"),
    ("not an identifier", valid_builder().add_state("on hold", final=True), "identifier"),
    ("keyword", valid_builder().add_state("class", final=True), "identifier"),
    ("underscore", valid_builder().add_state("_x", final=True), "underscore"),
    (
        "callback-like event",
        valid_builder().add_transition("on_close", "open", "closed", guards=["held_from:open"]),
        "must not start with 'on_'",
    ),
    ("state and event clash", valid_builder().add_state("close", final=True), "both a state"),
    ("duplicate state", valid_builder().add_state("open"), "added twice"),
    ("never fires", valid_builder().add_transition("close", "open", "open"), "can never fire"),
    ("remove nothing", valid_builder().remove_transition("close", "closed"), "there is none"),
    ("remove unknown state", valid_builder().remove_state("ghost"), "no such state"),
    ("reserved guard", valid_builder().guard("held_from:open", bool), "built in"),
    ("guard not callable", valid_builder().guard("ready", "yes"), "must be a callable"),  # type: ignore[arg-type]
    ("bad version", valid_builder(version=0), "version 0"),
    ("no source", valid_builder().add_transition("go", [], "closed"), "no source state"),
    (
        "initial and final",
        WorkflowBuilder("x").add_state("only", initial=True, final=True),
        "both initial and final",
    ),
    (
        "no path to a final state",
        valid_builder()
        .add_state("loop_a")
        .add_state("loop_b")
        .add_transition("spin", "open", "loop_a")
        .add_transition("spin", "loop_a", "loop_b")
        .add_transition("spin", "loop_b", "loop_a"),
        "'loop_a' has no path to a final state",
    ),
]


@pytest.mark.parametrize(
    ("builder", "expected"), [i[1:] for i in INVALID], ids=[i[0] for i in INVALID]
)
def test_invalid_definitions_are_refused_with_a_clear_problem(
    builder: WorkflowBuilder, expected: str
) -> None:
    problems = _problems(builder)
    assert any(expected in problem for problem in problems), problems


# --------------------------------------------------------------------------- registry


def test_registry_always_holds_the_default() -> None:
    assert WorkflowRegistry().get("sales-order", 1) is default_workflow()


def test_registry_finds_registered_workflows_by_name_and_version() -> None:
    extended = credit_checked()
    registry = WorkflowRegistry([extended])
    assert registry.get("credit-checked-order", 1) is extended
    with pytest.raises(NotFoundError) as caught:
        registry.get("credit-checked-order", 2)
    assert (caught.value.kind, caught.value.key) == ("workflow", "credit-checked-order@2")
    assert "credit-checked-order@2" in str(caught.value)


def test_registering_the_same_definition_again_is_harmless() -> None:
    registry = WorkflowRegistry()
    first = valid_builder("tiny", 2).build()
    registry.register(first)
    registry.register(first)
    registry.register(valid_builder("tiny", 2).build())  # rebuilt, same definition
    registry.register(default_workflow())
    assert registry.get("tiny", 2) is first


def test_same_ref_with_a_different_definition_is_refused() -> None:
    registry = WorkflowRegistry([valid_builder("tiny", 2).build()])
    changed = valid_builder("tiny", 2).add_state("reopened", final=True)
    changed.add_transition("reopen", "open", "reopened")
    with pytest.raises(WorkflowDefinitionError, match="already registered"):
        registry.register(changed.build())
    with pytest.raises(WorkflowDefinitionError, match="already registered"):
        registry.register(credit_checked().extend("sales-order", 1).build())
    assert registry.get("sales-order", 1) is default_workflow()
    assert "reopened" not in registry.get("tiny", 2).states


def test_a_different_guard_predicate_is_a_different_definition() -> None:
    one = credit_checked()
    other = one.extend("credit-checked-order").guard("credit_ok", lambda s: True).build()
    assert one.same_definition(one.extend("credit-checked-order").build())
    assert not one.same_definition(other)


# --------------------------------------------------------------------------- diagram


@pytest.mark.parametrize("make", [default_workflow, credit_checked])
def test_mermaid_contains_every_state_and_transition(make: Any) -> None:
    wf = make()
    text = wf.to_mermaid()
    lines = text.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert f"    [*] --> {wf.initial}" in lines
    for state in wf.states:
        assert re.search(rf"\b{state}\b", text), state
    for final in wf.finals:
        assert f"    {final} --> [*]" in lines
    arrows = [line for line in lines if " : " in line]
    assert len(arrows) == len(wf.transitions)
    for t in wf.transitions:
        label = t.event + (f" [{', '.join(t.guards)}]" if t.guards else "")
        label += f" / {', '.join(t.effects)}" if t.effects else ""
        assert f"    {t.source} --> {t.target} : {label}" in lines


def test_docs_diagram_is_the_generated_one() -> None:
    blocks = re.findall(r"^```mermaid\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.S | re.M)
    assert blocks == [default_workflow().to_mermaid()]
