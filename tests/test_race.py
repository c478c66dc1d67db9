"""No oversell, and duplicates executed once, while threads and processes race.

Each race places and confirms orders asking for at least twice the stock — on one hot SKU, and on
multi-line orders across three warehouses (partial and all-or-nothing) — in one command or in two.
Afterwards :func:`race_support.audit` checks every guarantee against what is stored: no
(SKU, warehouse) promised beyond its stock, reserved equal to the open reservations and to the
ledger, every unit reserved when demand exceeds stock, each accepted order's events in the
outbox as sequences 1..n, gap-free order numbers, and no error other than an all-or-nothing
shortage reaching a caller. A deliberately naive adapter must fail the same audit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from race_support import (
    HOT_ALL_OR_NOTHING,
    HOT_SKU,
    MULTI_WAREHOUSE,
    SCENARIOS,
    Scenario,
    audit,
    audit_storm,
    close_store,
    drop_schema,
    duplicate_command,
    naive_memory_store,
    naive_postgres_store,
    new_schema,
    open_store,
    race_processes,
    race_threads,
    service_over,
    stock_up,
    storm_processes,
    storm_threads,
)

KINDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
PROCESS_KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
STEPS = pytest.mark.parametrize(
    "two_step", [False, True], ids=["place-and-confirm", "place-then-confirm"]
)
BY_NAME = pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)


@attrs.define
class Opened:
    """A store under test and where another process finds it."""

    kind: str
    store: Any
    where: str = ""
    schema: str = ""


@pytest.fixture
def opened(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], Opened]]:
    """Opens a fresh store of a kind; closes it (and drops its schema) after the test."""
    made: list[Opened] = []

    def open_kind(kind: str) -> Opened:
        if kind == "memory":
            found = Opened(kind, open_store(kind))
        elif kind == "sqlite":
            where = str(tmp_path / f"race-{len(made)}.db")
            found = Opened(kind, open_store(kind, where), where)
        else:
            dsn = request.getfixturevalue("postgres_dsn")
            schema = new_schema()
            found = Opened(kind, open_store(kind, dsn, schema), dsn, schema)
        made.append(found)
        return found

    yield open_kind
    for found in made:
        close_store(found.store)
        if found.kind == "postgres":
            drop_schema(found.where, found.schema)


def _demand_is_at_least_twice_stock(scenario: Scenario, orders: int) -> None:
    stocked = scenario.stocked()
    for sku, wanted in scenario.demand(orders).items():
        assert wanted >= 2 * stocked[sku], f"{scenario.name}: {sku} demand {wanted}"


# --------------------------------------------------------------------------- threads


@STEPS
@BY_NAME
@pytest.mark.parametrize(("threads", "per_thread"), [(8, 4), (32, 2)], ids=["8", "32"])
@pytest.mark.parametrize("kind", KINDS)
def test_racing_threads_never_oversell(
    opened: Callable[[str], Opened],
    kind: str,
    threads: int,
    per_thread: int,
    scenario: Scenario,
    two_step: bool,
) -> None:
    store = opened(kind).store
    service = service_over(store.unit_of_work)
    stock_up(service, scenario)
    _demand_is_at_least_twice_stock(scenario, threads * per_thread)
    outcomes = race_threads(
        service, scenario, threads=threads, per_thread=per_thread, two_step=two_step
    )
    assert len(outcomes) == threads * per_thread
    report = audit(store.unit_of_work, scenario, outcomes)
    assert report.ok, "\n".join(report.problems)
    if scenario.all_or_nothing:
        refused = [o for o in outcomes if o[1] == "rejected"]
        assert len(refused) == len(outcomes) - scenario.expected_accepted(len(outcomes)) > 0


# --------------------------------------------------------------------------- processes


@pytest.mark.slow
@STEPS
@pytest.mark.parametrize("kind", PROCESS_KINDS)
def test_racing_processes_never_oversell(
    opened: Callable[[str], Opened], kind: str, two_step: bool
) -> None:
    """Four processes, each with its own store on the same file / database and two threads,
    race on every scenario in turn (each scenario on a store of its own)."""
    targets = [opened(kind) for _ in SCENARIOS]
    for target, scenario in zip(targets, SCENARIOS, strict=True):
        stock_up(service_over(target.store.unit_of_work), scenario)
        _demand_is_at_least_twice_stock(scenario, 32)
    per_target = race_processes(
        kind,
        [(s, t.where, t.schema) for s, t in zip(SCENARIOS, targets, strict=True)],
        processes=4,
        threads=2,
        per_thread=4,
        two_step=two_step,
    )
    problems = []
    for scenario, target, outcomes in zip(SCENARIOS, targets, per_target, strict=True):
        assert len(outcomes) == 32, outcomes
        report = audit(target.store.unit_of_work, scenario, outcomes)
        problems.extend(f"{scenario.name}: {problem}" for problem in report.problems)
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_sqlite_units_of_work_of_racing_processes_wait_for_the_write_lock(
    opened: Callable[[str], Opened],
) -> None:
    """A unit of work reads stock, then reserves. SQLite takes its one write lock when the unit
    of work begins, so another process's unit of work waits for it rather than reading first and
    then failing to write (a deferred transaction cannot write after another one committed under
    its read). Four processes place and confirm orders for twice the stock of one SKU (partial,
    then all-or-nothing), each unit of work lingering before its commit, with no retries: every
    order is confirmed or refused for a clean shortage, none oversells, and the stock reconciles.
    """
    scenarios = (HOT_SKU, HOT_ALL_OR_NOTHING)
    targets = [opened("sqlite") for _ in scenarios]
    for target, scenario in zip(targets, scenarios, strict=True):
        stock_up(service_over(target.store.unit_of_work), scenario)
    orders = 4 * 7
    _demand_is_at_least_twice_stock(HOT_SKU, orders)
    per_target = race_processes(
        "sqlite",
        [(s, t.where, t.schema) for s, t in zip(scenarios, targets, strict=True)],
        processes=4,
        threads=1,
        per_thread=7,
        two_step=False,
        linger=0.01,
        max_retries=0,
    )
    problems = []
    for scenario, target, outcomes in zip(scenarios, targets, per_target, strict=True):
        assert len(outcomes) == orders, outcomes
        report = audit(target.store.unit_of_work, scenario, outcomes)
        problems.extend(f"{scenario.name}: {problem}" for problem in report.problems)
    assert not problems, "\n".join(problems)
    refused = [o for o in per_target[1] if o[1] == "rejected"]
    assert len(refused) == orders - HOT_ALL_OR_NOTHING.expected_accepted(orders) > 0


# --------------------------------------------------------------------------- the checker bites


def test_the_audit_catches_a_naive_memory_adapter() -> None:
    """Reading stock rows without holding them, letting others run, then writing what was
    computed from them loses updates and oversells — and the audit says so."""
    oversold: tuple[str, ...] = ()
    for _ in range(10):  # a race is a matter of luck; it takes one or two rounds in practice
        store = naive_memory_store()
        service = service_over(store.unit_of_work)
        stock_up(service, HOT_SKU)
        outcomes = race_threads(service, HOT_SKU, threads=8, per_thread=4, two_step=False)
        report = audit(store.unit_of_work, HOT_SKU, outcomes)
        oversold = report.oversold
        if oversold:
            break
    assert oversold, "the naive adapter never oversold: the race is not racing"
    assert oversold[0].startswith("HOT in W1: ")
    assert any("but open reservations" in problem for problem in report.problems)


@pytest.mark.postgres
def test_the_audit_catches_postgres_reserving_without_row_locks(postgres_dsn: str) -> None:
    """The same reservation code without ``FOR UPDATE`` loses updates: more units are held by
    reservations than the shelf has, while the item's own figure looks fine."""
    oversold: tuple[str, ...] = ()
    for _ in range(5):
        schema = new_schema()
        store = naive_postgres_store(postgres_dsn, schema)
        try:
            service = service_over(store.unit_of_work)
            stock_up(service, MULTI_WAREHOUSE)
            outcomes = race_threads(
                service, MULTI_WAREHOUSE, threads=8, per_thread=4, two_step=True
            )
            report = audit(store.unit_of_work, MULTI_WAREHOUSE, outcomes)
        finally:
            store.close()
            drop_schema(postgres_dsn, schema)
        oversold = report.oversold
        if oversold:
            break
    assert oversold, "reserving without row locks never oversold: the race is not racing"
    assert any("but open reservations" in problem for problem in report.problems)


# --------------------------------------------------------------------------- idempotency

KEYS = [f"checkout-{n}" for n in range(4)]


@pytest.mark.parametrize("kind", KINDS)
def test_concurrent_duplicates_execute_once(opened: Callable[[str], Opened], kind: str) -> None:
    """Eight threads send the same four keyed checkouts at once: four orders, one reservation
    and two events each, and every duplicate gets its key's order back."""
    store = opened(kind).store
    service = service_over(store.unit_of_work)
    stock_up(service, HOT_SKU)
    answers = storm_threads(service, KEYS, threads=8)
    assert len(answers) == 32
    assert audit_storm(store.unit_of_work, KEYS, answers) == []
    retried = service.handle(duplicate_command(KEYS[0]))  # a late network retry
    first = next(a for a in answers if a[0] == KEYS[0])
    assert (retried.order_id, retried.number) == first[1:]
    assert audit_storm(store.unit_of_work, KEYS, [*answers, (KEYS[0], *first[1:])]) == []


def test_the_storm_audit_catches_commands_without_keys(opened: Callable[[str], Opened]) -> None:
    store = opened("memory").store
    service = service_over(store.unit_of_work)
    stock_up(service, HOT_SKU)
    answers = storm_threads(
        service,
        KEYS,
        3,
        make=lambda key: attrs.evolve(duplicate_command(key), idempotency_key=None),
    )
    problems = audit_storm(store.unit_of_work, KEYS, answers)
    assert "12 orders stored for 4 keys" in problems
    assert any(p.startswith("checkout-0: duplicates answered") for p in problems)


@pytest.mark.slow
@pytest.mark.parametrize("kind", PROCESS_KINDS)
def test_duplicates_from_several_processes_execute_once(
    opened: Callable[[str], Opened], kind: str
) -> None:
    target = opened(kind)
    stock_up(service_over(target.store.unit_of_work), HOT_SKU)
    answers = storm_processes(
        kind, target.where, KEYS, schema=target.schema, processes=3, threads=2
    )
    assert len(answers) == 24, answers
    assert audit_storm(target.store.unit_of_work, KEYS, answers) == []
    restarted = open_store(kind, target.where, target.schema)  # a retry after a restart
    try:
        again = service_over(restarted.unit_of_work).handle(duplicate_command(KEYS[2]))
    finally:
        close_store(restarted)
    assert (KEYS[2], again.order_id, again.number) in answers
