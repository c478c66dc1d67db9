"""Order workflows: declared with python-statemachine, executed from a compiled table.

A :class:`Workflow` is built once by a :class:`WorkflowBuilder` (or is the
:func:`default_workflow`) and never changes afterwards. Building it

1. validates the definition, collecting every problem into one
   :class:`~salesorders.errors.WorkflowDefinitionError`;
2. generates a fresh python-statemachine class, :attr:`Workflow.machine`, with conditions wired to
   the guards. That class is the reference definition: it draws the Mermaid diagram and serves as
   the oracle the compiled table is tested against;
3. compiles a ``(state, event) -> candidates`` table that :meth:`Workflow.next_state` executes on
   the hot path in about a microsecond or less, where the python-statemachine engine needs tens.

Guards are named predicates over the subject (the order). Guards named ``held_from:<state>`` are
built into every workflow: they pass when ``subject.held_from == <state>``, so an order put on
hold resumes to the state it was held from. The built-in guard ``nothing_shipped`` passes while
the subject has no shipments; ``paid`` passes once nothing of its grand total is left to pay (put
it on ``ship`` for prepaid terms).

Effects are the stock side of a transition, bound to it by name (:data:`EFFECTS`): ``reserve``
allocates and reserves the order's lines, ``release`` releases what the order holds, ``consume``
ships what it holds. The workflow only names them; the service runs them when the transition
fires. An unknown effect name is a build error.

Extending a workflow (:meth:`Workflow.extend`) copies its definition into a new builder; the
original workflow, its machine class and that class's ``State`` objects are never touched.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, TypeAlias, cast

import attrs
from statemachine import State, StateMachine
from statemachine.exceptions import InvalidDefinition

from salesorders.domain.workflow_checks import (
    BUILT_IN_HINTS,
    CONSUME,
    EFFECTS,
    HELD_FROM,
    NOTHING_SHIPPED,
    PAID,
    RELEASE,
    RESERVE,
    Guard,
    _graph_problems,
    _identity_problems,
    _name_problems,
    _nothing_shipped,
    _paid,
    _state_problems,
    _transition_problems,
)
from salesorders.errors import (
    GuardRejectedError,
    InvalidTransitionError,
    NotFoundError,
    ValidationError,
    WorkflowDefinitionError,
)

__all__ = [
    "CONSUME",
    "DEFAULT_WORKFLOW",
    "EFFECTS",
    "HELD_FROM",
    "NOTHING_SHIPPED",
    "PAID",
    "RELEASE",
    "RESERVE",
    "Guard",
    "Transition",
    "Workflow",
    "WorkflowBuilder",
    "WorkflowRegistry",
    "default_workflow",
]

# (guard name, predicate) pairs of one candidate transition, checked in order.
_Checks: TypeAlias = tuple[tuple[str, Guard], ...]
# One candidate for a (state, event): its transition and the guards that must all pass.
_Candidate: TypeAlias = tuple["Transition", _Checks]
_Table: TypeAlias = Mapping[tuple[str, str], tuple[_Candidate, ...]]


@attrs.frozen(slots=True)
class Transition:
    """``event`` moves a subject from ``source`` to ``target`` when all ``guards`` pass; the
    service runs its ``effects`` (names from :data:`EFFECTS`) when it fires."""

    event: str
    source: str
    target: str
    guards: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()


@attrs.frozen(slots=True, eq=False, repr=False)
class Workflow:
    """An immutable, validated and compiled workflow. Build it with :class:`WorkflowBuilder`,
    :meth:`extend` or :func:`default_workflow`; never construct it directly.

    ``states`` are in declaration order, ``transitions`` in declaration order (which is the order
    candidates for the same state and event are tried in), ``events`` in order of first use.
    ``machine`` is the generated python-statemachine class, the reference engine: instantiate it
    with ``machine(model=subject)`` (``start_value=state`` to start elsewhere than the initial
    state). Its conditions evaluate the guards on the model, it keeps its state in
    ``model.state``, and, as python-statemachine does, it calls model attributes named after its
    callback conventions (``on_<event>``, ``on_enter_<state>`` ...), so give it a model without
    such attributes.
    """

    name: str
    version: int
    states: tuple[str, ...]
    initial: str
    finals: frozenset[str]
    transitions: tuple[Transition, ...]
    machine: type[StateMachine]
    _guards: Mapping[str, Guard]
    _table: _Table
    events: tuple[str, ...] = attrs.field(init=False)
    _allowed: Mapping[str, tuple[str, ...]] = attrs.field(init=False)
    _effects: Mapping[tuple[str, str, str], tuple[str, ...]] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        events = tuple(dict.fromkeys(t.event for t in self.transitions))
        allowed: dict[str, list[str]] = {state: [] for state in self.states}
        for state, event in self._table:
            allowed.setdefault(state, []).append(event)
        object.__setattr__(self, "events", events)
        effects: dict[tuple[str, str, str], tuple[str, ...]] = {}
        for t in self.transitions:
            key = (t.source, t.event, t.target)
            effects[key] = tuple(dict.fromkeys((*effects.get(key, ()), *t.effects)))
        object.__setattr__(self, "_effects", effects)
        object.__setattr__(
            self, "_allowed", {state: tuple(sorted(found)) for state, found in allowed.items()}
        )

    @property
    def guards_built_in(self) -> bool:
        """True when every guard is one of the library's own (``nothing_shipped``, ``paid``,
        ``held_from:<state>``), which read no more of an order than its lines, payments and
        history."""
        return all(
            name in (NOTHING_SHIPPED, PAID) or name.startswith(HELD_FROM) for name in self._guards
        )

    @property
    def ref(self) -> tuple[str, int]:
        """``(name, version)``: what an order stores to find its workflow again."""
        return (self.name, self.version)

    def allowed_events(self, state: str) -> tuple[str, ...]:
        """The events ``state`` has a transition for, sorted, whatever the guards would say.

        Raises :class:`~salesorders.errors.ValidationError` when ``state`` is not a state of
        this workflow.
        """
        try:
            return self._allowed[state]
        except KeyError:
            raise self._unknown_state(state) from None

    def next_state(self, state: str, event: str, subject: Any, subject_id: str = "") -> str:
        """The state ``event`` moves ``subject`` to from ``state``. Reads guards, changes nothing.

        Candidates are tried in declaration order; the first whose guards all pass wins.
        Raises :class:`~salesorders.errors.InvalidTransitionError` (naming the allowed events)
        when ``state`` has no transition for ``event``, and
        :class:`~salesorders.errors.GuardRejectedError` (naming the first guard that failed)
        when every candidate was rejected by a guard.
        """
        return self.transition(state, event, subject, subject_id).target

    def transition(self, state: str, event: str, subject: Any, subject_id: str = "") -> Transition:
        """The transition ``event`` takes ``subject`` through from ``state``, with its target and
        effects; refused exactly as :meth:`next_state` refuses."""
        candidates = self._table.get((state, event))
        if candidates is None:
            raise InvalidTransitionError(subject_id, state, event, self.allowed_events(state))
        rejected_by = ""
        for transition, checks in candidates:
            for guard_name, predicate in checks:
                if not predicate(subject):
                    rejected_by = rejected_by or guard_name
                    break
            else:
                return transition
        raise GuardRejectedError(
            subject_id, state, event, rejected_by, BUILT_IN_HINTS.get(rejected_by)
        )

    def event_with(self, state: str, effect: str) -> str | None:
        """The first event (in declaration order) leaving ``state`` that has ``effect``."""
        for transition in self.transitions:
            if transition.source == state and effect in transition.effects:
                return transition.event
        return None

    def can(self, state: str, event: str, subject: Any) -> bool:
        """True when ``event`` would move ``subject`` out of ``state`` (guards included).

        Raises :class:`~salesorders.errors.ValidationError` only when ``state`` is unknown.
        """
        candidates = self._table.get((state, event))
        if candidates is None:
            if state not in self._allowed:
                raise self._unknown_state(state)
            return False
        for _, checks in candidates:
            for _, predicate in checks:
                if not predicate(subject):
                    break
            else:
                return True
        return False

    def to_mermaid(self) -> str:
        """A Mermaid ``stateDiagram-v2`` of :attr:`machine`; guards are shown as ``[guard]``."""
        machine = self.machine
        lines = ["stateDiagram-v2", "    direction LR"]
        initial = machine.initial_state
        assert initial is not None  # a built workflow always has exactly one
        lines.append(f"    [*] --> {initial.id}")
        for state in machine.states:
            for transition in state.transitions:
                target = transition.target
                assert target is not None  # every generated transition has a target
                label = transition.event
                guards = [str(spec) for spec in transition.cond]
                if guards:
                    label += f" [{', '.join(guards)}]"
                effects = self._effects.get((state.id, transition.event, target.id))
                if effects:
                    label += f" / {', '.join(effects)}"
                lines.append(f"    {state.id} --> {target.id} : {label}")
        lines.extend(f"    {state.id} --> [*]" for state in machine.final_states)
        return "\n".join(lines) + "\n"

    def extend(self, name: str, version: int = 1) -> WorkflowBuilder:
        """A new builder named ``name`` holding a copy of this definition; this one is unchanged."""
        builder = WorkflowBuilder(name, version)
        for state in self.states:
            builder.add_state(state, initial=state == self.initial, final=state in self.finals)
        for transition in self.transitions:
            builder.add_transition(
                transition.event,
                transition.source,
                transition.target,
                guards=transition.guards,
                effects=transition.effects,
            )
        for guard_name, predicate in self._guards.items():
            builder.guard(guard_name, predicate)
        return builder

    def same_definition(self, other: Workflow) -> bool:
        """True when ``other`` has the same ref, states, transitions and guard predicates."""
        return self is other or (
            self.ref == other.ref
            and self.states == other.states
            and self.initial == other.initial
            and self.finals == other.finals
            and self.transitions == other.transitions
            and dict(self._guards) == dict(other._guards)
        )

    def __repr__(self) -> str:
        return (
            f"Workflow({self.name!r}, version={self.version}, states={len(self.states)}, "
            f"transitions={len(self.transitions)})"
        )

    def _unknown_state(self, state: str) -> ValidationError:
        return ValidationError(
            "state",
            state,
            f"is not a state of workflow {self.name}@{self.version}",
            f"use one of: {', '.join(self.states)}",
        )


@attrs.frozen(slots=True)
class _StateSpec:
    initial: bool
    final: bool


class WorkflowBuilder:
    """Collects states, transitions and guards, then :meth:`build` validates and compiles them.

    Every method returns the builder, so calls chain. Mistakes are not raised one at a time:
    :meth:`build` reports all of them together. A builder can build any number of times; each
    :class:`Workflow` gets its own machine class and ``State`` objects.
    """

    __slots__ = ("_guards", "_name", "_problems", "_states", "_transitions", "_version")

    def __init__(self, name: str, version: int = 1) -> None:
        self._name = name
        self._version = version
        self._states: dict[str, _StateSpec] = {}
        self._transitions: list[Transition] = []
        self._guards: dict[str, Guard] = {}
        self._problems: list[str] = []

    def add_state(
        self, name: str, *, initial: bool = False, final: bool = False
    ) -> WorkflowBuilder:
        """Declare state ``name``; exactly one state is ``initial``, at least one is ``final``."""
        if name in self._states:
            self._problems.append(f"state {name!r} is added twice; add each state once")
        else:
            self._states[name] = _StateSpec(initial=initial, final=final)
        return self

    def add_transition(
        self,
        event: str,
        source: str | Iterable[str],
        target: str,
        *,
        guards: Iterable[str] = (),
        effects: Iterable[str] = (),
    ) -> WorkflowBuilder:
        """``event`` moves from ``source`` (one state or several) to ``target`` when every guard
        passes, and the service runs ``effects`` (names from :data:`EFFECTS`) when it fires.
        For the same source and event, earlier transitions are tried first."""
        sources = (source,) if isinstance(source, str) else tuple(source)
        guard_names = (guards,) if isinstance(guards, str) else tuple(guards)
        effect_names = (effects,) if isinstance(effects, str) else tuple(effects)
        if not sources:
            self._problems.append(f"transition {event!r} to {target!r} has no source state")
        self._transitions.extend(
            Transition(event, each, target, guard_names, effect_names) for each in sources
        )
        return self

    def remove_transition(self, event: str, source: str | None = None) -> WorkflowBuilder:
        """Remove the transitions of ``event`` (only those leaving ``source`` when given)."""
        kept = [
            t
            for t in self._transitions
            if not (t.event == event and (source is None or t.source == source))
        ]
        if len(kept) == len(self._transitions):
            where = f" from {source!r}" if source is not None else ""
            self._problems.append(f"cannot remove transition {event!r}{where}: there is none")
        self._transitions = kept
        return self

    def remove_state(self, name: str) -> WorkflowBuilder:
        """Remove state ``name`` and every transition into or out of it."""
        if name not in self._states:
            self._problems.append(f"cannot remove state {name!r}: there is no such state")
            return self
        del self._states[name]
        self._transitions = [t for t in self._transitions if name not in (t.source, t.target)]
        return self

    def guard(self, name: str, predicate: Guard) -> WorkflowBuilder:
        """Define (or redefine) the guard ``name``: ``predicate(subject)`` must be true to pass."""
        if not isinstance(name, str) or not name:
            self._problems.append(f"guard name {name!r} must be a non-empty string")
        elif name.startswith(HELD_FROM) or name in BUILT_IN_HINTS:
            self._problems.append(
                f"guard {name!r} is built in (as are names starting with {HELD_FROM!r}); "
                "choose another name"
            )
        elif not callable(predicate):
            self._problems.append(f"guard {name!r} must be a callable taking the subject")
        else:
            self._guards[name] = predicate
        return self

    def build(self) -> Workflow:
        """Validate, generate the machine class and compile the table.

        Raises :class:`~salesorders.errors.WorkflowDefinitionError` listing every problem found:
        bad names, no or several initial states, no final state, transitions to, from or with
        something unknown (states, guards, effects), transitions out of a final state,
        transitions that can never fire, unreachable states, non-final states with no way out or
        no path to a final state.
        """
        states = dict(self._states)
        transitions = tuple(self._transitions)
        problems = [
            *self._problems,
            *_identity_problems(self._name, self._version),
            *_name_problems(states, transitions),
            *_state_problems(states),
            *_transition_problems(states, transitions, self._guards),
            *_graph_problems(states, transitions),
        ]
        if problems:
            raise WorkflowDefinitionError(str(self._name), problems)
        guards = _resolve_guards(transitions, self._guards)
        initial = next(name for name, spec in states.items() if spec.initial)
        finals = frozenset(name for name, spec in states.items() if spec.final)
        machine = _generate_machine(self._name, self._version, states, transitions, guards)
        return Workflow(
            name=self._name,
            version=self._version,
            states=tuple(states),
            initial=initial,
            finals=finals,
            transitions=transitions,
            machine=machine,
            guards=dict(self._guards),
            table=_compile(transitions, guards),
        )


# --------------------------------------------------------------------------- compilation


@functools.cache
def _held_from(state: str) -> Guard:
    """The built-in guard ``held_from:<state>`` (one function per state, shared by workflows)."""

    def held_from(subject: Any) -> bool:
        return bool(subject.held_from == state)

    held_from.__name__ = f"{HELD_FROM}{state}"
    return held_from


def _resolve_guards(
    transitions: Iterable[Transition], defined: Mapping[str, Guard]
) -> dict[str, Guard]:
    resolved: dict[str, Guard] = {}
    for t in transitions:
        for name in t.guards:
            if name.startswith(HELD_FROM):
                resolved[name] = _held_from(name[len(HELD_FROM) :])
            elif name == NOTHING_SHIPPED:
                resolved[name] = _nothing_shipped
            elif name == PAID:
                resolved[name] = _paid
            else:
                resolved[name] = defined[name]
    return resolved


def _compile(
    transitions: Iterable[Transition], guards: Mapping[str, Guard]
) -> dict[tuple[str, str], tuple[_Candidate, ...]]:
    table: dict[tuple[str, str], list[_Candidate]] = {}
    for t in transitions:
        checks = tuple((name, guards[name]) for name in t.guards)
        table.setdefault((t.source, t.event), []).append((t, checks))
    return {key: tuple(candidates) for key, candidates in table.items()}


def _condition(name: str, predicate: Guard) -> Callable[[Any], bool]:
    """A python-statemachine condition that asks ``predicate`` about the machine's model."""

    def condition(model: Any) -> bool:
        return bool(predicate(model))

    condition.__name__ = name
    return condition


def _class_name(name: str, version: int) -> str:
    words = re.findall(r"[A-Za-z0-9]+", name)
    stem = "".join(word[:1].upper() + word[1:] for word in words) or "Workflow"
    if stem[0].isdigit():
        stem = "Workflow" + stem
    return f"{stem}V{version}"


def _generate_machine(
    name: str,
    version: int,
    states: Mapping[str, _StateSpec],
    transitions: Iterable[Transition],
    guards: Mapping[str, Guard],
) -> type[StateMachine]:
    """A new StateMachine class with fresh ``State`` objects: nothing is shared with any other."""
    objects = {
        state: State(initial=spec.initial, final=spec.final) for state, spec in states.items()
    }
    for t in transitions:
        conditions = [_condition(guard, guards[guard]) for guard in t.guards]
        objects[t.source].to(objects[t.target], event=t.event, cond=conditions or None)
    class_name = _class_name(name, version)
    namespace: dict[str, Any] = {
        "__module__": __name__,
        "__qualname__": class_name,
        "__doc__": f"Workflow {name!r} version {version}.",
        **objects,
    }
    try:
        return cast(type[StateMachine], type(class_name, (StateMachine,), namespace))
    except InvalidDefinition as error:  # validation above is meant to catch everything first
        raise WorkflowDefinitionError(name, [str(error)]) from error


# --------------------------------------------------------------------------- default workflow


def _build_default() -> Workflow:
    return (
        WorkflowBuilder("sales-order", 1)
        .add_state("draft", initial=True)
        .add_state("placed")
        .add_state("confirmed")
        .add_state("on_hold")
        .add_state("shipped")
        .add_state("delivered")
        .add_state("completed", final=True)
        .add_state("cancelled", final=True)
        .add_transition("place", "draft", "placed")
        .add_transition("confirm", "placed", "confirmed", effects=[RESERVE])
        .add_transition("hold", ["placed", "confirmed"], "on_hold")
        .add_transition("resume", "on_hold", "placed", guards=["held_from:placed"])
        .add_transition("resume", "on_hold", "confirmed", guards=["held_from:confirmed"])
        .add_transition("ship", "confirmed", "shipped", effects=[CONSUME])
        .add_transition("deliver", "shipped", "delivered")
        .add_transition("complete", "delivered", "completed")
        .add_transition(
            "cancel",
            ["draft", "placed", "confirmed", "on_hold"],
            "cancelled",
            guards=[NOTHING_SHIPPED],
            effects=[RELEASE],
        )
        .build()
    )


DEFAULT_WORKFLOW: Final = _build_default()
"""The ``sales-order`` workflow, version 1."""


def default_workflow() -> Workflow:
    """The ``sales-order`` workflow, version 1 (one shared, immutable instance)."""
    return DEFAULT_WORKFLOW


class WorkflowRegistry:
    """Finds the workflow an order was stored with, by ``(name, version)``.

    Always holds the default workflow. A ref is registered once: registering it again with a
    different definition raises :class:`~salesorders.errors.WorkflowDefinitionError` (publish
    the change under a new version instead).
    """

    __slots__ = ("_workflows",)

    def __init__(self, workflows: Iterable[Workflow] = ()) -> None:
        self._workflows: dict[tuple[str, int], Workflow] = {DEFAULT_WORKFLOW.ref: DEFAULT_WORKFLOW}
        for workflow in workflows:
            self.register(workflow)

    def register(self, workflow: Workflow) -> None:
        """Add ``workflow``; the same definition twice is accepted and changes nothing."""
        existing = self._workflows.get(workflow.ref)
        if existing is None:
            self._workflows[workflow.ref] = workflow
        elif not existing.same_definition(workflow):
            raise WorkflowDefinitionError(
                workflow.name,
                [
                    f"version {workflow.version} is already registered with a different "
                    "definition; register the changed workflow under a new version"
                ],
            )

    def get(self, name: str, version: int) -> Workflow:
        """The workflow registered as ``name`` ``version``; else
        :class:`~salesorders.errors.NotFoundError`."""
        try:
            return self._workflows[(name, version)]
        except KeyError:
            raise NotFoundError("workflow", f"{name}@{version}") from None
