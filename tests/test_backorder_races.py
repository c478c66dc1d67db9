"""Serving backorders never oversells or reserves a unit twice, while new orders arrive at once.

Before each race six orders wait for stock. Then, all at once: a receiver takes in stock and
serves its backorders, two servers run ``AllocateBackorders`` over and over (all SKUs, one SKU, a
small limit), two placers place and confirm orders in one command (every other one
all-or-nothing), and another places orders and then confirms them. As threads sharing one service
(memory, SQLite, PostgreSQL) and as processes each with its own store (SQLite, PostgreSQL).

Afterwards :func:`support.backorder_race.audit` checks what is stored: no (SKU, warehouse)
promised beyond its stock; reserved equal to the open reservations; every confirmed line with
``allocated + backordered == ordered``, never allocated beyond its quantity, and holding exactly
what it was allocated (so no unit is reserved twice); the ledger folding to the figures; every
order confirmed with its plan, or refused cleanly (an all-or-nothing order not stored, or still
placed and holding nothing); each order's events in sequence, its allocation changes only growing
and ending at what it holds. A last ``AllocateBackorders`` then leaves no unit free while a line
waits. The checker is shown to catch hand-made violations and a store that reserves without
holding its rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from race_support import (
    PRICE,
    T0,
    close_store,
    drop_schema,
    naive_memory_store,
    new_schema,
    open_store,
    service_over,
)
from salesorders.domain.warehouse import Warehouse
from salesorders.service import (
    AllocateBackorders,
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
)
from support.backorder_race import (
    MAX_RETRIES,
    ROLES,
    ROUNDS,
    WAITING,
    Outcome,
    Stored,
    audit,
    idle_stock,
    open_shop,
    race_processes,
    race_threads,
    read,
    stocked,
)
from test_service_support import WrappedUnitOfWork

THREAD_KINDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
PROCESS_KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
ON_HAND = stocked(receivers=ROLES.count("receive"))
#: Orders every race ends with an outcome for: those waiting before it, and each placer's.
ORDERS = WAITING + ROUNDS * sum(1 for role in ROLES if role.startswith("place"))


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
            where = str(tmp_path / f"backorders-{len(made)}.db")
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


def _service(store: Any) -> SalesService:
    return service_over(store.unit_of_work, max_retries=MAX_RETRIES)


def _assert_kept(store: Any, service: SalesService, outcomes: list[Outcome]) -> None:
    """Every guarantee after the race, and again after a last serve that leaves nothing free
    while a line waits (demand is well above the stock, so every unit ends up reserved)."""
    problems = audit(read(store.unit_of_work), outcomes, ON_HAND)
    assert not problems, "\n".join(problems)
    assert service.reconcile_stock() == ()
    service.handle(AllocateBackorders())
    after = read(store.unit_of_work)
    problems = audit(after, outcomes, ON_HAND) + idle_stock(after)
    assert not problems, "\n".join(problems)
    assert all(item.reserved == item.on_hand for item in after.items)
    assert service.reconcile_stock() == ()


@pytest.mark.parametrize("kind", THREAD_KINDS)
def test_serving_backorders_while_threads_place_orders(
    opened: Callable[[str], Opened], kind: str
) -> None:
    store = opened(kind).store
    service = _service(store)
    outcomes = open_shop(service)
    outcomes += race_threads(service)
    assert sum(1 for o in outcomes if o[1] in ("confirmed", "rejected", "placed")) == ORDERS
    _assert_kept(store, service, outcomes)


@pytest.mark.slow
@pytest.mark.parametrize("kind", PROCESS_KINDS)
def test_serving_backorders_while_processes_place_orders(
    opened: Callable[[str], Opened], kind: str
) -> None:
    """One process per racer, each with its own store on the same file or database."""
    target = opened(kind)
    service = _service(target.store)
    outcomes = open_shop(service)
    outcomes += race_processes(kind, target.where, target.schema)
    assert sum(1 for o in outcomes if o[1] in ("confirmed", "rejected", "placed")) == ORDERS
    _assert_kept(target.store, service, outcomes)


# --------------------------------------------------------------------------- the checker bites


def _served_shop() -> tuple[Stored, list[Outcome]]:
    """A store where stock arrived and was served to waiting orders: nothing wrong in it."""
    store = open_store("memory")
    service = _service(store)
    outcomes = open_shop(service)
    service.handle(ReceiveStock(sku="HOT", warehouse_id="W2", quantity=5))
    service.handle(ReceiveStock(sku="MUG", warehouse_id="W1", quantity=1))
    served = service.handle(AllocateBackorders())
    assert served  # waiting lines took the new stock
    stored = read(store.unit_of_work)
    assert audit(stored, outcomes, {"HOT": 7, "MUG": 2}) == []
    return stored, outcomes


def _twice(stored: Stored) -> Stored:
    """One reservation made a second time, under another id, and counted on its item: the item's
    figure agrees with its reservations, but the line now holds its units twice."""
    first = next(r for r in stored.reservations if r.open > 0)
    again = attrs.evolve(first, id=f"{first.id}-again")
    items = tuple(
        attrs.evolve(i, reserved=i.reserved + first.open) if i.key == first.item_key else i
        for i in stored.items
    )
    return attrs.evolve(stored, items=items, reservations=(*stored.reservations, again))


def _oversold(stored: Stored) -> Stored:
    """An item that promised more than it has."""
    item = next(i for i in stored.items if i.reserved > 0)
    shrunk = attrs.evolve(item, on_hand=item.reserved - 1)
    return attrs.evolve(stored, items=tuple(shrunk if i is item else i for i in stored.items))


def _beyond_quantity(stored: Stored) -> Stored:
    """A line allocated more than it ordered."""
    order = next(o for o in stored.orders.values() if o.lines[0].allocated > 0)
    line = order.lines[0]
    bloated = attrs.evolve(line, allocated=line.quantity + 1, backordered=Decimal(0))
    changed = attrs.evolve(order, lines=(bloated, *order.lines[1:]))
    return attrs.evolve(stored, orders={**stored.orders, order.id: changed})


@pytest.mark.parametrize(
    ("corrupt", "symptom"),
    [
        (_twice, "but holds"),
        (_oversold, "oversold HOT in "),
        (_beyond_quantity, "ordered"),
    ],
    ids=["unit-reserved-twice", "oversold", "allocated-beyond-quantity"],
)
def test_the_audit_catches_a_hand_made_violation(
    corrupt: Callable[[Stored], Stored], symptom: str
) -> None:
    stored, outcomes = _served_shop()
    problems = audit(corrupt(stored), outcomes, {"HOT": 7, "MUG": 2})
    assert any(symptom in problem for problem in problems), problems


def test_the_audit_catches_a_confirmed_order_that_was_not_stored() -> None:
    stored, outcomes = _served_shop()
    missing = next(iter(stored.orders))
    orders = {k: v for k, v in stored.orders.items() if k != missing}
    problems = audit(attrs.evolve(stored, orders=orders), outcomes, {"HOT": 7, "MUG": 2})
    assert f"{missing}: reported confirmed but stored as None" in problems


def test_idle_stock_names_units_left_free_while_lines_wait() -> None:
    store = open_store("memory")
    service = _service(store)
    open_shop(service)
    service.handle(ReceiveStock(sku="HOT", warehouse_id="W2", quantity=4))
    assert idle_stock(read(store.unit_of_work)) == ["HOT: 4 free while lines wait"]
    service.handle(AllocateBackorders())
    assert idle_stock(read(store.unit_of_work)) == []


def test_the_audit_catches_a_store_that_serves_backorders_without_holding_its_rows() -> None:
    """The racers on a store that lets go of its lock between reading stock and writing what it
    computed from it: units get promised twice, and the audit says so."""
    promised_twice: list[str] = []
    # A race is a matter of luck: about one round in three breaks on a quiet machine, fewer on a
    # loaded one, so it tries up to 300 rounds (a few milliseconds each) and stops at the first.
    for _ in range(300):
        store = naive_memory_store()
        service = _service(store)
        outcomes = open_shop(service)
        outcomes += race_threads(service)
        problems = audit(read(store.unit_of_work), outcomes, ON_HAND)
        promised_twice = [p for p in problems if "oversold" in p or "but open reservations" in p]
        if promised_twice:
            break
    assert promised_twice, "the naive store never promised a unit twice: the race is not racing"


# --------------------------------------------------------------------------- lock order


class _NotesLocks:
    """A unit of work's stock port, noting the SKUs whose rows each call locks (a snapshot for
    allocation locks the rows it reads on PostgreSQL, like ``lock``)."""

    def __init__(self, inner: Any, locked: list[str]) -> None:
        self._inner = inner
        self._locked = locked

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def snapshot(self, skus: Collection[str], on: dt.date | None = None) -> Any:
        self._locked.extend(sorted(set(skus)))
        return self._inner.snapshot(skus, on)

    def lock(self, keys: Collection[tuple[str, str]], **options: Any) -> Any:
        self._locked.extend(sorted({sku for sku, _ in keys}))
        return self._inner.lock(keys, **options)


class _NotingUnitOfWork(WrappedUnitOfWork):
    def __init__(self, inner: Any, locked: list[str]) -> None:
        super().__init__(inner)
        self._locked = locked

    @property
    def stock(self) -> Any:
        return _NotesLocks(self._inner.stock, self._locked)


@pytest.mark.parametrize("kind", ["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_allocating_backorders_locks_stock_rows_in_sku_order(
    opened: Callable[[str], Opened], kind: str
) -> None:
    """The oldest waiting order wants MUG, the next one HOT: serving both must still take the
    rows in (SKU, warehouse) order, as every other command does."""
    store = opened(kind).store
    clock = ManualClock(T0)
    service = service_over(store.unit_of_work, clock=clock)
    service.handle(RegisterWarehouse(warehouse=Warehouse("W1", priority=1)))
    waiting = []
    for sku in ("MUG", "HOT"):
        clock.advance(dt.timedelta(minutes=1))
        placed = service.handle(
            PlaceOrder(
                customer_id="C-1",
                currency="USD",
                lines=(LineSpec(sku, 1, PRICE),),
                confirm=True,
            )
        )
        assert placed.allocation_status == "backordered"
        waiting.append(placed.order_id)
    for sku in ("HOT", "MUG"):
        service.handle(ReceiveStock(sku=sku, warehouse_id="W1", quantity=1))
    locked: list[str] = []
    noting = service_over(lambda: _NotingUnitOfWork(store.unit_of_work(), locked), clock=clock)
    served = noting.handle(AllocateBackorders())
    assert [r.order_id for r in served] == waiting  # oldest placement first
    first_locked = list(dict.fromkeys(locked))
    assert first_locked == sorted(first_locked), f"rows locked in the order {first_locked}"
