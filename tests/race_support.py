"""What the reliability tests share (no tests here).

* stores: open the memory, SQLite or PostgreSQL store by kind, and a service over one;
* scenarios: stock and order shapes with at least twice as much demand as stock;
* racers: threads, and "spawn" processes that each open their own store on the same file or
  database, placing and confirming orders at once (optionally without retries, each unit of work
  lingering before its commit so that other processes' units of work overlap it);
* the checker :func:`audit`, which reads a store after a race and lists every broken guarantee
  (oversell first of all) instead of stopping at the first;
* deliberately naive stock adapters that read, let others run, then write without atomicity —
  the checker must catch them;
* crash helpers: a unit of work that dies at a chosen point, and child processes that die
  mid-transaction, after commit, or after delivery but before the message is marked delivered.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import os
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
from moneyed import Money

from salesorders.adapters.memory import MemoryStockRepository, MemoryStore
from salesorders.domain.stock import LockedStock, Reservation, reconcile
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import InsufficientStockError
from salesorders.ports import OrderQuery, OutboxMessage, UnitOfWork, UnitOfWorkFactory
from salesorders.service import (
    ConfirmOrder,
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
    bootstrap,
)
from test_service_support import WrappedUnitOfWork

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
PRICE = Money("9.99", "USD")

# --------------------------------------------------------------------------- stores


def open_store(kind: str, where: str = "", schema: str = "", *, pool: int = 8) -> Any:
    """A store of ``kind`` ("memory", "sqlite" on the file ``where``, "postgres" on the dsn
    ``where`` in ``schema``)."""
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        from salesorders.adapters.sqlite import SQLiteStore

        return SQLiteStore(where, busy_timeout=30.0)
    if kind == "postgres":
        from salesorders.adapters.postgres import PostgresStore

        return PostgresStore(where, schema=schema, min_size=1, max_size=pool)
    raise ValueError(f"unknown store kind {kind!r}")


def close_store(store: Any) -> None:
    close = getattr(store, "close", None)
    if close is not None:
        close()


def new_schema() -> str:
    return f"so_rel_{uuid.uuid4().hex[:12]}"


def drop_schema(dsn: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'.encode())


def empty_schema(dsn: str, schema: str) -> None:
    """Delete every row of a PostgreSQL store's tables (faster than a new schema): every table
    of the schema but its version, so a table a later schema adds is emptied too."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        found = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s "
            "AND tablename <> 'schema_version' ORDER BY tablename",
            (schema,),
        ).fetchall()
        tables = ", ".join(f'"{schema}"."{name}"' for (name,) in found)
        connection.execute(f"TRUNCATE {tables} RESTART IDENTITY".encode())


def service_over(
    factory: UnitOfWorkFactory, *, clock: ManualClock | None = None, seed: int = 0, **options: Any
) -> SalesService:
    """A service on a manual clock at :data:`T0`, retrying with a seeded random backoff."""
    options.setdefault("rng", random.Random(seed))
    return bootstrap(uow=factory, clock=clock or ManualClock(T0), **options)


# --------------------------------------------------------------------------- scenarios


@attrs.frozen
class Scenario:
    """Stock in warehouses and the lines every order asks for.

    ``lines`` are ``(sku, quantity)``; odd orders list them in reverse, so lock order never follows
    line order. ``all_or_nothing`` orders are refused whole when short; the others backorder.
    """

    name: str
    warehouses: tuple[tuple[str, int], ...]
    stock: tuple[tuple[str, str, int], ...]
    lines: tuple[tuple[str, int], ...]
    all_or_nothing: bool = False

    def stocked(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for sku, _, quantity in self.stock:
            totals[sku] = totals.get(sku, 0) + quantity
        return totals

    def demand(self, orders: int) -> dict[str, int]:
        return {sku: quantity * orders for sku, quantity in self.lines}

    def line_specs(self, index: int) -> tuple[LineSpec, ...]:
        specs = tuple(LineSpec(sku, quantity, PRICE) for sku, quantity in self.lines)
        return specs[::-1] if index % 2 else specs

    def expected_accepted(self, orders: int) -> int:
        """How many orders end confirmed when they are served one after another."""
        if not self.all_or_nothing:
            return orders
        stocked = self.stocked()
        return min(orders, *(stocked[sku] // quantity for sku, quantity in self.lines))

    def expected_reserved(self, orders: int) -> dict[str, int]:
        """Units reserved per SKU after ``orders`` orders, whatever their interleaving."""
        stocked = self.stocked()
        if not self.all_or_nothing:
            return {sku: min(stocked[sku], total) for sku, total in self.demand(orders).items()}
        accepted = self.expected_accepted(orders)
        return {sku: quantity * accepted for sku, quantity in self.lines}


HOT_SKU = Scenario("hot-sku", (("W1", 1),), (("HOT", "W1", 40),), (("HOT", 3),))
MULTI_WAREHOUSE = Scenario(
    "multi-warehouse",
    (("W1", 1), ("W2", 2), ("W3", 3)),
    (
        ("A", "W1", 7),
        ("A", "W2", 5),
        ("A", "W3", 4),
        ("B", "W1", 3),
        ("B", "W3", 9),
        ("C", "W2", 10),
    ),
    (("A", 2), ("B", 1), ("C", 1)),
)
MULTI_ALL_OR_NOTHING = attrs.evolve(
    MULTI_WAREHOUSE, name="multi-warehouse-all-or-nothing", all_or_nothing=True
)
SCENARIOS = (HOT_SKU, MULTI_WAREHOUSE, MULTI_ALL_OR_NOTHING)
HOT_ALL_OR_NOTHING = attrs.evolve(HOT_SKU, name="hot-sku-all-or-nothing", all_or_nothing=True)


def stock_up(service: SalesService, scenario: Scenario) -> None:
    """Register the scenario's warehouses and receive its stock."""
    for warehouse_id, priority in scenario.warehouses:
        service.handle(RegisterWarehouse(warehouse=Warehouse(warehouse_id, priority=priority)))
    for sku, warehouse_id, quantity in scenario.stock:
        service.handle(ReceiveStock(sku=sku, warehouse_id=warehouse_id, quantity=quantity))


# --------------------------------------------------------------------------- racing

#: ``(order_id, status, detail)``: status "confirmed" (detail: allocation status), "rejected"
#: (an all-or-nothing order refused for a shortage) or "error" (anything else reached the caller).
Outcome = tuple[str, str, str]


def _attempt(scenario: Scenario, order_id: str, command: Callable[[], Any]) -> Outcome | Any:
    """Run ``command``; an :data:`Outcome` if it failed, else its result."""
    try:
        return command()
    except InsufficientStockError as error:
        if scenario.all_or_nothing:
            return (order_id, "rejected", str(error))
        return (order_id, "error", f"InsufficientStockError for a partial order: {error}")
    except Exception as error:  # every other error reaching the caller is a finding
        return (order_id, "error", f"{type(error).__name__}: {error}")


def place(
    service: SalesService, scenario: Scenario, order_id: str, index: int, *, confirm: bool
) -> Outcome | None:
    """Place one order of the scenario (and with ``confirm`` confirm it in the same command).

    ``None`` when it was placed and not confirmed; else the outcome."""
    command = PlaceOrder(
        order_id=order_id,
        customer_id=f"C-{index}",
        currency="USD",
        lines=scenario.line_specs(index),
        confirm=confirm,
        all_or_nothing=scenario.all_or_nothing,
    )
    result = _attempt(scenario, order_id, lambda: service.handle(command))
    if isinstance(result, tuple):
        return result
    return (order_id, "confirmed", result.allocation_status) if confirm else None


def confirm(service: SalesService, scenario: Scenario, order_id: str) -> Outcome:
    """Confirm a placed order of the scenario."""
    command = ConfirmOrder(order_id=order_id, all_or_nothing=scenario.all_or_nothing)
    result = _attempt(scenario, order_id, lambda: service.handle(command))
    if isinstance(result, tuple):
        return result
    return (order_id, "confirmed", result.allocation_status)


def race_threads(
    service: SalesService,
    scenario: Scenario,
    *,
    threads: int,
    per_thread: int,
    two_step: bool,
    prefix: str = "T",
    first_index: int = 0,
) -> list[Outcome]:
    """``threads`` threads released at once, each placing and confirming ``per_thread`` orders:
    each in one command, or (``two_step``) all placed first, then all confirmed at once."""
    barrier = threading.Barrier(threads)
    results: list[list[Outcome]] = [[] for _ in range(threads)]

    def run(thread: int) -> None:
        mine = [
            (f"{prefix}-{thread:02d}-{k:02d}", first_index + thread * per_thread + k)
            for k in range(per_thread)
        ]
        barrier.wait(timeout=60)
        placed = []
        try:
            for order_id, index in mine:
                outcome = place(service, scenario, order_id, index, confirm=not two_step)
                if outcome is None:
                    placed.append(order_id)
                else:
                    results[thread].append(outcome)
        finally:
            if two_step:
                barrier.wait(timeout=120)  # every order placed: now they are confirmed at once
        for order_id in placed:
            results[thread].append(confirm(service, scenario, order_id))

    return _run_all(run, threads, results)


def _run_all(run: Callable[[int], None], threads: int, results: list[list[Any]]) -> list[Any]:
    workers = [threading.Thread(target=run, args=(t,), daemon=True) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=180)
    stuck = [t for t, worker in enumerate(workers) if worker.is_alive()]
    if stuck:
        raise AssertionError(f"threads {stuck} never finished: a deadlock or a lost wake-up")
    return [outcome for found in results for outcome in found]


#: One store a process race runs on: the scenario, the file or dsn, the PostgreSQL schema.
Target = tuple[Scenario, str, str]


def _race_worker(
    kind: str,
    targets: Sequence[Target],
    worker: int,
    threads: int,
    per_thread: int,
    two_step: bool,
    start: Any,
    results: Any,
    options: dict[str, Any],
    linger: float,
) -> None:
    """One racing process: for each target in turn its own store on the shared file / database,
    released together with the other processes, ``threads`` threads."""
    found: list[list[Outcome]] = []
    try:
        for scenario, where, schema in targets:
            store = open_store(kind, where, schema, pool=threads)
            try:
                factory = lingering(store.unit_of_work, linger) if linger else store.unit_of_work
                service = service_over(factory, seed=worker, **options)
                start.wait(timeout=120)
                outcomes = race_threads(
                    service,
                    scenario,
                    threads=threads,
                    per_thread=per_thread,
                    two_step=two_step,
                    prefix=f"P{worker}",
                    first_index=worker * threads * per_thread,
                )
            finally:
                close_store(store)
            found.append(outcomes)
        results.put((worker, found))
    except BaseException as error:
        results.put((worker, [[(f"P{worker}", "error", f"{type(error).__name__}: {error}")]]))


def race_processes(
    kind: str,
    targets: Sequence[Target],
    *,
    processes: int,
    threads: int,
    per_thread: int,
    two_step: bool,
    linger: float = 0.0,
    **options: Any,
) -> list[list[Outcome]]:
    """``processes`` "spawn" processes, each opening its own store, race on every target in
    turn (started once, to spare the start-up); returns the outcomes per target.

    ``options`` go to every process's :func:`bootstrap` (``max_retries=0``: a conflict reaches
    the caller); with ``linger`` each unit of work stays open that many seconds longer before it
    commits (see :class:`Lingering`)."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes)
    results = context.Queue()
    workers = [
        context.Process(
            target=_race_worker,
            args=(
                kind,
                tuple(targets),
                n,
                threads,
                per_thread,
                two_step,
                start,
                results,
                options,
                linger,
            ),
        )
        for n in range(processes)
    ]
    reports, errors = _collect(workers, results)
    per_target: list[list[Outcome]] = [list(errors) for _ in targets]
    for report in reports:
        for index, outcomes in enumerate(report):
            per_target[index].extend(outcomes)
    return per_target


class Lingering(WrappedUnitOfWork):
    """A unit of work that stays open ``seconds`` longer before it commits, its reads and
    writes done: units of work of other processes begin, read and try to write meanwhile."""

    def __init__(self, inner: Any, seconds: float) -> None:
        super().__init__(inner)
        self._seconds = seconds

    def commit(self) -> None:
        time.sleep(self._seconds)
        self._inner.commit()


def lingering(factory: UnitOfWorkFactory, seconds: float) -> Callable[[], Any]:
    """A factory whose units of work linger ``seconds`` before committing."""
    return lambda: Lingering(factory(), seconds)


def _collect(workers: Sequence[Any], results: Any) -> tuple[list[Any], list[Outcome]]:
    """Start the workers; their reports (one per worker), and errors of the processes."""
    for worker in workers:
        worker.start()
    reports: list[Any] = []
    errors: list[Outcome] = []
    try:
        for _ in workers:
            reports.append(results.get(timeout=240)[1])
    except queue.Empty:
        errors.append(("", "error", "a racing process never reported: it hung or crashed"))
    for worker in workers:
        worker.join(timeout=60)
        if worker.is_alive():
            worker.kill()
            errors.append(("", "error", f"process {worker.pid} did not exit"))
        elif worker.exitcode != 0:
            errors.append(("", "error", f"process {worker.pid} exited with {worker.exitcode}"))
    return reports, errors


# --------------------------------------------------------------------------- the checker


@attrs.frozen
class RaceReport:
    """What :func:`audit` found. ``oversold`` lists every (SKU, warehouse) whose units were
    promised more than once; ``problems`` every broken guarantee (oversell included)."""

    problems: tuple[str, ...]
    oversold: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def audit(
    factory: UnitOfWorkFactory, scenario: Scenario, outcomes: Sequence[Outcome]
) -> RaceReport:
    """Every guarantee a race must keep, checked against what is stored."""
    problems: list[str] = [
        f"{oid}: {detail}" for oid, status, detail in outcomes if status == "error"
    ]
    with factory() as uow:
        items = uow.stock.items()
        reservations = uow.stock.reservations()
        ledger = uow.stock.ledger()
        messages = uow.outbox.messages()
        stored = _all_orders(uow)
    oversold = _check_stock(items, reservations, problems)
    problems.extend(d.explanation for d in reconcile(items, reservations, ledger))
    _check_totals(scenario, outcomes, items, problems)
    _check_orders(outcomes, stored, reservations, messages, problems)
    return RaceReport(tuple(problems), tuple(oversold))


def _all_orders(uow: UnitOfWork) -> dict[str, Any]:
    found: dict[str, Any] = {}
    page = uow.orders.list(OrderQuery(limit=500))
    while True:
        found.update((order.id, order) for order in page.orders)
        if page.next_cursor is None:
            return found
        page = uow.orders.list(OrderQuery(limit=500, after=page.next_cursor))


def _check_stock(
    items: Sequence[Any], reservations: Sequence[Reservation], problems: list[str]
) -> list[str]:
    held: dict[tuple[str, str], Decimal] = {}
    for reservation in reservations:
        key = reservation.item_key
        held[key] = held.get(key, Decimal(0)) + reservation.open
    oversold: list[str] = []
    for item in items:
        key = (item.sku, item.warehouse_id)
        open_total = held.get(key, Decimal(0))
        where = f"{item.sku} in {item.warehouse_id}"
        if item.reserved < 0:
            problems.append(f"{where}: reserved {item.reserved} is negative")
        if item.reserved != open_total:
            problems.append(f"{where}: reserved {item.reserved} but open reservations {open_total}")
        promised = max(item.reserved, open_total)
        if promised > item.on_hand:
            oversold.append(f"{where}: {promised} promised, {item.on_hand} on hand")
    problems.extend(f"oversold {text}" for text in oversold)
    return oversold


def _check_totals(
    scenario: Scenario, outcomes: Sequence[Outcome], items: Sequence[Any], problems: list[str]
) -> None:
    orders = len(outcomes)
    reserved: dict[str, Decimal] = {}
    for item in items:
        reserved[item.sku] = reserved.get(item.sku, Decimal(0)) + item.reserved
        if not scenario.all_or_nothing and item.reserved != item.on_hand:
            problems.append(
                f"{item.sku} in {item.warehouse_id}: {item.reserved} of {item.on_hand} reserved; "
                "with demand above stock every unit should be"
            )
    expected = {sku: Decimal(n) for sku, n in scenario.expected_reserved(orders).items()}
    if reserved != expected:
        problems.append(f"reserved per SKU {reserved}, expected {expected}")
    accepted = sum(1 for _, status, _ in outcomes if status == "confirmed")
    if accepted != scenario.expected_accepted(orders):
        problems.append(
            f"{accepted} orders confirmed, expected {scenario.expected_accepted(orders)}"
        )


def _check_orders(
    outcomes: Sequence[Outcome],
    stored: dict[str, Any],
    reservations: Sequence[Reservation],
    messages: Sequence[OutboxMessage],
    problems: list[str],
) -> None:
    streams: dict[str, list[OutboxMessage]] = {}
    for message in messages:
        streams.setdefault(message.stream_id, []).append(message)
    held: dict[str, dict[str, Decimal]] = {}
    for r in reservations:
        per_sku = held.setdefault(r.order_id, {})
        per_sku[r.sku] = per_sku.get(r.sku, Decimal(0)) + r.open
    expected_streams: set[str] = set()
    for order_id, status, _ in outcomes:
        if status == "confirmed":
            expected_streams.add(order_id)
            _check_confirmed(stored.get(order_id), order_id, held, streams, problems)
        elif status == "rejected" and order_id in stored:
            expected_streams.add(order_id)  # placed in its own command, then refused
            _check_stream(order_id, stored[order_id], streams, ["OrderPlaced"], problems)
            if stored[order_id].state != "placed" or held.get(order_id):
                problems.append(
                    f"{order_id}: refused, yet {stored[order_id].state} or holding stock"
                )
    stray = sorted(set(streams) - expected_streams)
    if stray:
        problems.append(f"outbox streams of no accepted order: {stray[:5]}")
    numbers = sorted(order.number for order in stored.values())
    if numbers != [f"SO-2026-{n:06d}" for n in range(1, len(stored) + 1)]:
        problems.append(f"order numbers are not gap-free 1..{len(stored)}: {numbers[:5]}...")


def _check_confirmed(
    order: Any,
    order_id: str,
    held: dict[str, dict[str, Decimal]],
    streams: dict[str, list[OutboxMessage]],
    problems: list[str],
) -> None:
    if order is None:
        problems.append(f"{order_id}: confirmed but not stored")
        return
    if order.state != "confirmed":
        problems.append(f"{order_id}: reported confirmed but stored as {order.state}")
    allocated: dict[str, Decimal] = {}
    for line in order.lines:
        if line.allocated:
            allocated[line.sku] = allocated.get(line.sku, Decimal(0)) + line.allocated
    reserved = {sku: q for sku, q in held.get(order_id, {}).items() if q}
    if allocated != reserved:
        problems.append(f"{order_id}: order allocated {allocated}, stock holds {reserved}")
    _check_stream(order_id, order, streams, ["OrderPlaced", "OrderConfirmed"], problems)


def _check_stream(
    order_id: str,
    order: Any,
    streams: dict[str, list[OutboxMessage]],
    types: list[str],
    problems: list[str],
) -> None:
    stream = streams.get(order_id, [])
    sequences = [m.sequence for m in stream]
    if sequences != list(range(1, order.event_sequence + 1)):
        problems.append(f"{order_id}: outbox sequences {sequences}, events {order.event_sequence}")
    if [m.event_type for m in stream] != types:
        problems.append(f"{order_id}: outbox holds {[m.event_type for m in stream]}, not {types}")
    if any(m.event_id != f"{order_id}:{m.sequence}" for m in stream):
        problems.append(f"{order_id}: an event id is not '<order>:<sequence>'")


# --------------------------------------------------------------------------- naive adapters


class NaiveMemoryStockRepository(MemoryStockRepository):
    """Locks nothing: the rows it hands out are read, the store's lock is let go for a moment (as
    if the read and the write were two requests), and the change computed from those stale rows
    is then written as is. A broken adapter for the checker to catch."""

    __slots__ = ("_store",)

    def __init__(self, store: MemoryStore) -> None:
        super().__init__(store.stock_tables, store._journal)
        self._store = store

    def lock(
        self,
        keys: Any,
        *,
        order_id: str | None = None,
        create: bool = False,
    ) -> LockedStock:
        locked = super().lock(keys, order_id=order_id, create=create)
        store = self._store
        store._owner = None
        store._lock.release()
        time.sleep(0.0005)  # another unit of work reserves the units this one read as free
        store._lock.acquire()
        store._owner = threading.get_ident()
        return locked


def naive_memory_store() -> MemoryStore:
    store = MemoryStore()
    store._stock_repository = NaiveMemoryStockRepository(store)
    return store


def naive_postgres_store(dsn: str, schema: str) -> Any:
    """A PostgreSQL store that reads stock rows without ``FOR UPDATE`` and writes what it read a
    moment later: concurrent reservations overwrite each other's figures (lost updates)."""
    from salesorders.adapters._sql.stock import SqlStockRepository
    from salesorders.adapters._sql.unit_of_work import StoreConfig
    from salesorders.adapters.postgres import PostgresDialect, PostgresStore, PostgresUnitOfWork

    class UnlockedDialect(PostgresDialect):
        lock_items = ""

    class ReadThenWriteStock(SqlStockRepository):
        def _read_items(self, keys: Any, order_id: str | None) -> Any:
            found = super()._read_items(keys, order_id)
            time.sleep(0.003)
            return found

    class NaiveUnitOfWork(PostgresUnitOfWork):
        def __enter__(self) -> NaiveUnitOfWork:
            super().__enter__()
            assert self._session is not None
            self.stock = ReadThenWriteStock(self._session, self._config)
            return self

    class NaivePostgresStore(PostgresStore):
        def unit_of_work(self) -> NaiveUnitOfWork:
            return NaiveUnitOfWork(self)

    store = NaivePostgresStore(dsn, schema=schema, min_size=1, max_size=8)
    store._config = StoreConfig(UnlockedDialect(f'"{schema}".'))
    return store


# --------------------------------------------------------------------------- idempotency storms

#: ``(key, order_id, number)`` of one handled duplicate, or ``(key, "error", text)``.
Answer = tuple[str, str, str]


def duplicate_command(key: str) -> PlaceOrder:
    """The same checkout under ``key``, however often it is sent."""
    return PlaceOrder(
        customer_id=f"C-{key}",
        currency="USD",
        lines=(LineSpec("HOT", 1, PRICE),),
        confirm=True,
        idempotency_key=key,
    )


def storm_threads(
    service: SalesService,
    keys: Sequence[str],
    threads: int,
    make: Callable[[str], PlaceOrder] = duplicate_command,
) -> list[Answer]:
    """Every thread sends every key's command ``make(key)`` (each thread starting at a different
    key), all at once."""
    barrier = threading.Barrier(threads)
    results: list[list[Answer]] = [[] for _ in range(threads)]

    def run(thread: int) -> None:
        barrier.wait(timeout=60)
        for n in range(len(keys)):
            key = keys[(thread + n) % len(keys)]
            try:
                result = service.handle(make(key))
            except Exception as error:  # any error reaching the caller is a finding
                results[thread].append((key, "error", f"{type(error).__name__}: {error}"))
            else:
                results[thread].append((key, result.order_id, result.number or ""))

    return _run_all(run, threads, results)


def _storm_worker(
    kind: str,
    where: str,
    schema: str,
    keys: Sequence[str],
    worker: int,
    threads: int,
    start: Any,
    results: Any,
) -> None:
    try:
        store = open_store(kind, where, schema, pool=threads)
        try:
            service = service_over(store.unit_of_work, seed=worker)
            start.wait(timeout=120)
            answers = storm_threads(service, keys, threads)
        finally:
            close_store(store)
        results.put((worker, answers))
    except BaseException as error:
        results.put((worker, [("", "error", f"{type(error).__name__}: {error}")]))


def storm_processes(
    kind: str, where: str, keys: Sequence[str], *, schema: str = "", processes: int, threads: int
) -> list[Answer]:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes)
    results = context.Queue()
    workers = [
        context.Process(
            target=_storm_worker,
            args=(kind, where, schema, tuple(keys), n, threads, start, results),
        )
        for n in range(processes)
    ]
    reports, errors = _collect(workers, results)
    return [answer for report in reports for answer in report] + errors


def audit_storm(
    factory: UnitOfWorkFactory, keys: Sequence[str], answers: Sequence[Answer]
) -> list[str]:
    """Problems of a duplicate storm: every key made exactly one order, one reservation, two
    events, and every duplicate got that order back."""
    problems = [f"{key}: {text}" for key, oid, text in answers if oid == "error"]
    by_key: dict[str, set[tuple[str, str]]] = {}
    for key, order_id, number in answers:
        if order_id != "error":
            by_key.setdefault(key, set()).add((order_id, number))
    with factory() as uow:
        stored = _all_orders(uow)
        reservations = uow.stock.reservations()
        messages = uow.outbox.messages()
    for key in keys:
        if len(by_key.get(key, ())) != 1:
            problems.append(f"{key}: duplicates answered {sorted(by_key.get(key, ()))}")
    if len(stored) != len(keys):
        problems.append(f"{len(stored)} orders stored for {len(keys)} keys")
    per_order: dict[str, int] = {}
    for r in reservations:
        per_order[r.order_id] = per_order.get(r.order_id, 0) + 1
    if sorted(per_order) != sorted(stored) or set(per_order.values()) - {1}:
        problems.append(f"reservations per order {per_order}")
    events = sorted((m.stream_id, m.sequence, m.event_type) for m in messages)
    expected = sorted(
        (oid, n, kind) for oid in stored for n, kind in ((1, "OrderPlaced"), (2, "OrderConfirmed"))
    )
    if events != expected:
        problems.append(f"outbox {events[:6]}... is not one placed + confirmed per order")
    numbers = sorted(order.number for order in stored.values())
    if numbers != [f"SO-2026-{n:06d}" for n in range(1, len(stored) + 1)]:
        problems.append(f"numbers {numbers} are not gap-free")
    return problems


# --------------------------------------------------------------------------- crashes


class SimulatedCrash(Exception):
    """The process "dies" here: nothing after this point runs."""


class Inbox:
    """A notifier that records every event id it is handed; ``unique`` is what a consumer that
    deduplicates on ``event_id`` keeps."""

    def __init__(self) -> None:
        self.received: list[str] = []

    def notify(self, message: OutboxMessage) -> None:
        self.received.append(message.event_id)

    @property
    def unique(self) -> list[str]:
        return list(dict.fromkeys(self.received))


class _Outbox:
    """The outbox of a unit of work, crashing at one of its operations."""

    def __init__(self, inner: Any, crash_at: str) -> None:
        self._inner = inner
        self._crash_at = crash_at

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._inner, name)
        if f"outbox.{name}" == self._crash_at:

            def then_crash(*args: Any, **kwargs: Any) -> Any:
                if name == "mark_delivered":
                    raise SimulatedCrash("died before marking the message delivered")
                found(*args, **kwargs)
                raise SimulatedCrash(f"died right after outbox.{name}")

            return then_crash
        return found


class _Idempotency:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def get(self, key: str, now: dt.datetime) -> Any:
        return self._inner.get(key, now)

    def put(self, record: Any) -> None:
        self._inner.put(record)
        raise SimulatedCrash("died right after writing the idempotency record")

    def purge_expired(self, now: dt.datetime) -> int:
        return int(self._inner.purge_expired(now))


class CrashingUnitOfWork(WrappedUnitOfWork):
    """A unit of work that dies at ``crash_at``: "outbox.append" (after the order's events were
    written), "idempotency.put" (after the record was written), "commit" (just before the commit
    reaches the store) or "outbox.mark_delivered" (a delivered message is never marked)."""

    def __init__(self, inner: Any, crash_at: str) -> None:
        super().__init__(inner)
        self._crash_at = crash_at

    @property
    def outbox(self) -> Any:
        if self._crash_at.startswith("outbox."):
            return _Outbox(self._inner.outbox, self._crash_at)
        return self._inner.outbox

    @property
    def idempotency(self) -> Any:
        if self._crash_at == "idempotency.put":
            return _Idempotency(self._inner.idempotency)
        return self._inner.idempotency

    def commit(self) -> None:
        if self._crash_at == "commit":
            raise SimulatedCrash("died before the commit reached the store")
        self._inner.commit()


def crashing(factory: UnitOfWorkFactory, crash_at: str) -> Callable[[], Any]:
    """A factory whose units of work die at ``crash_at``."""
    return lambda: CrashingUnitOfWork(factory(), crash_at)


@contextlib.contextmanager
def spawned(target: Callable[..., None], *args: Any) -> Iterator[Any]:
    """Run ``target(*args)`` in a "spawn" process; yields the finished process."""
    process = multiprocessing.get_context("spawn").Process(target=target, args=args)
    process.start()
    process.join(timeout=120)
    try:
        yield process
    finally:
        if process.is_alive():
            process.kill()


def die_inside_unit_of_work(kind: str, where: str, schema: str) -> None:
    """A process that writes an order, stock and events in a unit of work, then dies (no
    commit, no rollback, no cleanup)."""
    store = open_store(kind, where, schema, pool=1)
    factory = store.unit_of_work
    uow = factory()
    uow.__enter__()
    service = service_over(lambda: _Borrowed(uow))
    service.handle(
        PlaceOrder(
            order_id="DOOMED",
            customer_id="C-1",
            currency="USD",
            lines=(LineSpec("HOT", 2, PRICE),),
            confirm=True,
        )
    )
    os._exit(17)


class _Borrowed:
    """An already open unit of work, lent to one command: leaving it neither commits nor rolls
    back (committing is the real unit of work's job, and here nobody does it)."""

    def __init__(self, uow: Any) -> None:
        self._uow = uow
        self.orders, self.stock, self.numbers = uow.orders, uow.stock, uow.numbers
        self.outbox, self.idempotency = uow.outbox, uow.idempotency

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def commit(self) -> None:
        # Every write reached the database inside the transaction (reading the order back
        # makes a pipelined connection send them), then the process dies instead of committing.
        if self._uow.orders.get("DOOMED").state != "confirmed":
            os._exit(1)
        os._exit(17)

    def rollback(self) -> None:
        return None


def place_then_die(kind: str, where: str, schema: str, orders: int) -> None:
    """A process that places and confirms ``orders`` orders (committed), then dies before any
    dispatcher runs."""
    store = open_store(kind, where, schema, pool=1)
    service = service_over(store.unit_of_work)
    for n in range(orders):
        service.handle(
            PlaceOrder(
                order_id=f"O-{n}",
                customer_id="C-1",
                currency="USD",
                lines=(LineSpec("HOT", 1, PRICE),),
                confirm=True,
            )
        )
    os._exit(0)


class _DieAfterDelivery:
    """Delivers a message (writes its event id to a file and syncs it), then kills the process
    before the dispatcher can mark it delivered."""

    def __init__(self, log: Path) -> None:
        self._log = log

    def notify(self, message: OutboxMessage) -> None:
        with self._log.open("a", encoding="utf-8") as handle:
            handle.write(message.event_id + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os._exit(0)


def deliver_then_die(kind: str, where: str, schema: str, log: str) -> None:
    """A dispatcher process whose first delivery succeeds and then the process dies."""
    store = open_store(kind, where, schema, pool=1)
    service = service_over(store.unit_of_work, notifiers=[_DieAfterDelivery(Path(log))])
    service.dispatcher.dispatch_once()
    os._exit(3)  # not reached: the notifier ends the process
