"""What a workflow definition may say, and the checks that refuse what it may not.

The vocabulary of :mod:`salesorders.domain.workflow`: the built-in guards (``held_from:<state>``,
``nothing_shipped``, ``paid``), the effects a transition can name, the names a state or an event
cannot take; and the validation :meth:`~salesorders.domain.workflow.WorkflowBuilder.build` runs,
each check returning the problems it found as sentences that say what to do.
"""

from __future__ import annotations

import keyword
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from statemachine import StateMachine

if TYPE_CHECKING:
    from salesorders.domain.workflow import Transition, _StateSpec

__all__ = [
    "BUILT_IN_HINTS",
    "CONSUME",
    "EFFECTS",
    "HELD_FROM",
    "NOTHING_SHIPPED",
    "PAID",
    "RELEASE",
    "RESERVE",
    "Guard",
]

Guard: TypeAlias = Callable[[Any], bool]
"""A named predicate over the subject of a transition (the order)."""

HELD_FROM: Final = "held_from:"
"""Prefix of the built-in guards: ``held_from:placed`` passes when
``subject.held_from == "placed"``."""

RESERVE: Final = "reserve"
RELEASE: Final = "release"
CONSUME: Final = "consume"

EFFECTS: Final[Mapping[str, str]] = {
    RESERVE: "allocate the order's open lines with the service's allocation policy and reserve "
    "the stock (what cannot be allocated is backordered)",
    RELEASE: "release every open reservation of the order; what has not shipped is no longer "
    "allocated",
    CONSUME: "the goods leave: the order's reservations are consumed into shipments, one per "
    "warehouse (ShipOrder ships part by part; the transition fires once every line has shipped)",
}
"""The effects a transition can name, with what each does when the service fires it."""

NOTHING_SHIPPED: Final = "nothing_shipped"
"""Built-in guard: passes while ``subject.shipments`` is empty (or the subject has none)."""

PAID: Final = "paid"
"""Built-in guard: passes when ``subject.payment_figures.balance_due`` is zero (nothing left to
pay; a subject without payment figures never passes)."""

# Built-in guards other than held_from:<state>, with the hint a refusal gives.
BUILT_IN_HINTS: Final[Mapping[str, str]] = {
    NOTHING_SHIPPED: "goods have already shipped: cancel the remaining quantities with "
    "CancelLines, or take shipped goods back through a return",
    PAID: "the order is not paid in full: capture its payment (CapturePayment), or record a "
    "payment (RecordPayment) and have it approved (ApprovePayment)",
}


def _nothing_shipped(subject: Any) -> bool:
    return not getattr(subject, "shipments", ())


def _paid(subject: Any) -> bool:
    figures = getattr(subject, "payment_figures", None)
    return figures is not None and not figures.balance_due


# Names a state or an event cannot take: they are attributes of every generated machine class.
_RESERVED: Final = frozenset(dir(StateMachine)) | {
    "final_states",
    "history_values",
    "initial_state",
    "model",
    "prepare_event",
    "state_field",
}
# Event names with these prefixes would be taken for the machine's callback conventions.
_CALLBACK_PREFIXES: Final = ("on_", "before_", "after_")


def _identity_problems(name: object, version: object) -> list[str]:
    problems = []
    if not isinstance(name, str) or not name.strip():
        problems.append(f"workflow name {name!r} must be a non-empty string")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append(f"version {version!r} must be a whole number of at least 1")
    return problems


def _bad_name(kind: str, name: object) -> str | None:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        return (
            f"{kind} name {name!r} must be a Python identifier "
            "(letters, digits and underscores, not starting with a digit)"
        )
    if name.startswith("_"):
        return f"{kind} name {name!r} must not start with an underscore"
    if name in _RESERVED:
        return f"{kind} name {name!r} is reserved by the state machine; choose another"
    if kind == "event" and name.startswith(_CALLBACK_PREFIXES):
        return (
            f"event name {name!r} must not start with 'on_', 'before_' or 'after_' "
            "(those name transition callbacks); choose another"
        )
    return None


def _name_problems(
    states: Mapping[str, _StateSpec], transitions: Iterable[Transition]
) -> list[str]:
    events = dict.fromkeys(t.event for t in transitions)
    problems = [p for p in (_bad_name("state", s) for s in states) if p]
    problems += [p for p in (_bad_name("event", e) for e in events) if p]
    problems += [
        f"{name!r} is both a state and an event; rename one of them"
        for name in events
        if name in states
    ]
    return problems


def _state_problems(states: Mapping[str, _StateSpec]) -> list[str]:
    problems = []
    initials = [name for name, spec in states.items() if spec.initial]
    if not initials:
        problems.append("no initial state: mark exactly one state with initial=True")
    elif len(initials) > 1:
        problems.append(
            f"several initial states ({', '.join(initials)}): mark exactly one with initial=True"
        )
    if not any(spec.final for spec in states.values()):
        problems.append("no final state: mark at least one state with final=True")
    problems += [
        f"state {name!r} cannot be both initial and final"
        for name, spec in states.items()
        if spec.initial and spec.final
    ]
    return problems


def _transition_problems(
    states: Mapping[str, _StateSpec],
    transitions: tuple[Transition, ...],
    guards: Mapping[str, Guard],
) -> list[str]:
    problems = []
    for t in transitions:
        arrow = f"transition {t.event!r} from {t.source!r} to {t.target!r}"
        if t.source not in states:
            problems.append(f"{arrow} leaves unknown state {t.source!r}; add the state first")
        elif states[t.source].final:
            problems.append(f"{arrow} leaves final state {t.source!r}; final states have no exits")
        if t.target not in states:
            problems.append(f"{arrow} enters unknown state {t.target!r}; add the state first")
        problems += [
            problem
            for problem in (_guard_problem(arrow, name, states, guards) for name in t.guards)
            if problem
        ]
        problems += _effect_problems(arrow, t.effects)
    return problems + _shadowed(transitions)


def _effect_problems(arrow: str, effects: tuple[str, ...]) -> list[str]:
    problems = [
        f"{arrow} names unknown effect {name!r}; use one of: {', '.join(EFFECTS)}"
        for name in effects
        if name not in EFFECTS
    ]
    if len(set(effects)) != len(effects):
        problems.append(f"{arrow} names an effect twice; name each effect once")
    if RESERVE in effects and RELEASE in effects:
        problems.append(f"{arrow} both reserves and releases stock; keep one of the two")
    return problems


def _guard_problem(
    arrow: str, name: str, states: Mapping[str, _StateSpec], guards: Mapping[str, Guard]
) -> str | None:
    if name in guards or name in BUILT_IN_HINTS:
        return None
    if name.startswith(HELD_FROM):
        held = name[len(HELD_FROM) :]
        if held in states:
            return None
        return f"{arrow} uses guard {name!r} but {held!r} is not a state of this workflow"
    return f"{arrow} uses unknown guard {name!r}; define it with guard({name!r}, predicate)"


def _shadowed(transitions: tuple[Transition, ...]) -> list[str]:
    """Transitions that can never fire: an earlier candidate for the same state and event needs
    only guards they need too, so it always wins first."""
    problems = []
    seen: dict[tuple[str, str], list[Transition]] = {}
    for t in transitions:
        earlier = seen.setdefault((t.source, t.event), [])
        winner = next((e for e in earlier if set(e.guards) <= set(t.guards)), None)
        if winner is not None:
            problems.append(
                f"transition {t.event!r} from {t.source!r} to {t.target!r} can never fire: the "
                f"earlier one to {winner.target!r} wins whenever it could; "
                "remove it or give the earlier one a guard"
            )
        earlier.append(t)
    return problems


def _graph_problems(
    states: Mapping[str, _StateSpec], transitions: tuple[Transition, ...]
) -> list[str]:
    exits: dict[str, set[str]] = {name: set() for name in states}
    entries: dict[str, set[str]] = {name: set() for name in states}
    for t in transitions:
        if t.source in states and t.target in states:
            exits[t.source].add(t.target)
            entries[t.target].add(t.source)
    problems = []
    initials = [name for name, spec in states.items() if spec.initial]
    if len(initials) == 1:
        reached = _reachable(initials, exits)
        problems += [
            f"state {name!r} is unreachable from the initial state {initials[0]!r}; "
            "add a transition into it or remove it"
            for name in states
            if name not in reached
        ]
    dead_ends = [name for name, spec in states.items() if not spec.final and not exits[name]]
    problems += [
        f"state {name!r} is not final and has no way out; add a transition from it or make it final"
        for name in dead_ends
    ]
    finals = [name for name, spec in states.items() if spec.final]
    if finals:
        finishing = _reachable(finals, entries)
        problems += [
            f"state {name!r} has no path to a final state; add a transition towards one"
            for name in states
            if name not in finishing and name not in dead_ends
        ]
    return problems


def _reachable(starts: Iterable[str], edges: Mapping[str, set[str]]) -> set[str]:
    reached = set(starts)
    queue = deque(reached)
    while queue:
        for following in edges[queue.popleft()]:
            if following not in reached:
                reached.add(following)
                queue.append(following)
    return reached
