"""Random command sequences against every store, checked after every step against a model.

A hypothesis :class:`RuleBasedStateMachine` places (and confirms), confirms, holds, resumes and
cancels orders, receives stock, replays idempotent commands, interrupts commands before their
commit, delivers the outbox, and on the SQL stores restarts (closes and reopens the store). After
every step it checks what is stored:

* stock: ``0 <= reserved <= on_hand``, reserved equal to the open reservations, ``reconcile()``
  finds no discrepancy, and on hand / reserved per SKU equal the model's;
* money: each order's ``net_total + tax_total == grand_total``, and the grand total is its lines;
* outbox: per order, sequences 1..n with one message per domain event, of the model's types;
  every delivered message reached the notifier, exactly once here (nothing crashes mid-delivery);
* orders: the model's states and allocations, and gap-free numbers.

A store that forgets to release stock on cancel must fail the same machine.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from race_support import (
    PRICE,
    T0,
    Inbox,
    SimulatedCrash,
    close_store,
    crashing,
    drop_schema,
    empty_schema,
    new_schema,
    open_store,
    service_over,
)
from salesorders.adapters.memory import MemoryStockRepository, MemoryStore
from salesorders.domain.stock import Movement, StockChange, reconcile
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import InsufficientStockError, InvalidTransitionError
from salesorders.ports import OrderQuery
from salesorders.service import (
    CancelOrder,
    ConfirmOrder,
    HoldOrder,
    LineSpec,
    ManualClock,
    OrderResult,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    ResumeOrder,
)

SKUS = ("A", "B")
WAREHOUSES = (("W1", 1), ("W2", 2))
OPENING = {("A", "W1"): 3, ("A", "W2"): 2, ("B", "W1"): 2}
OPEN_STATES = ("placed", "confirmed")
EVENT_TYPES = {
    "confirm": "OrderConfirmed",
    "hold": "OrderHeld",
    "resume": "OrderResumed",
    "cancel": "OrderCancelled",
}
LINES = st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 4)), min_size=1, max_size=3)


@attrs.define
class ModelOrder:
    """What the model expects of one order."""

    state: str
    demand: dict[str, int]
    allocated: dict[str, int]
    events: list[str]
    command: PlaceOrder
    result: OrderResult
    held_from: str | None = None

    @property
    def quantity(self) -> int:
        return sum(self.demand.values())


def _demand(lines: Sequence[tuple[str, int]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for sku, quantity in lines:
        totals[sku] = totals.get(sku, 0) + quantity
    return totals


def _status(demand: dict[str, int], allocated: dict[str, int]) -> str:
    got, wanted = sum(allocated.values()), sum(demand.values())
    if got == wanted:
        return "allocated"
    return "partially_allocated" if got else "backordered"


class StoreMachine(RuleBasedStateMachine):
    """The service over one store of ``kind``, and the model it must agree with."""

    kind: ClassVar[str] = "memory"
    where: ClassVar[str] = ""
    schema: ClassVar[str] = ""

    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(T0)
        self.inbox = Inbox()
        self.store = self.open_fresh()
        self._serve()
        self.on_hand = dict.fromkeys(OPENING, 0)
        self.reserved = dict.fromkeys(SKUS, 0)
        self.model: dict[str, ModelOrder] = {}
        self.numbers = 0
        self.counter = 0
        for warehouse_id, priority in WAREHOUSES:
            warehouse = Warehouse(warehouse_id, priority=priority)
            self.service.handle(RegisterWarehouse(warehouse=warehouse))
        for (sku, warehouse_id), quantity in OPENING.items():
            self._receive(sku, warehouse_id, quantity)

    # ------------------------------------------------------------------ stores

    def open_fresh(self) -> Any:
        """A fresh, empty store (subclasses: another kind)."""
        return MemoryStore()

    def reopen(self) -> Any:
        return open_store(self.kind, self.where, self.schema)

    def teardown(self) -> None:
        close_store(self.store)

    def _serve(self) -> None:
        """A new service over the store (after a restart too), delivering to the inbox."""
        self.service = service_over(
            self.store.unit_of_work, clock=self.clock, notifiers=[self.inbox]
        )

    # ------------------------------------------------------------------ model helpers

    def _available(self) -> dict[str, int]:
        stocked = dict.fromkeys(SKUS, 0)
        for (sku, _), quantity in self.on_hand.items():
            stocked[sku] += quantity
        return {sku: stocked[sku] - self.reserved[sku] for sku in SKUS}

    def _plan(self, demand: dict[str, int], aon: bool) -> dict[str, int] | None:
        """Units the allocation takes per SKU; ``None`` if an all-or-nothing order is refused."""
        free = self._available()
        allocated = {sku: min(wanted, free[sku]) for sku, wanted in demand.items()}
        if aon and allocated != demand:
            return None
        return {sku: n for sku, n in allocated.items() if n}

    def _receive(self, sku: str, warehouse_id: str, quantity: int) -> None:
        self.service.handle(ReceiveStock(sku=sku, warehouse_id=warehouse_id, quantity=quantity))
        self.on_hand[(sku, warehouse_id)] = self.on_hand.get((sku, warehouse_id), 0) + quantity

    def _next_id(self) -> str:
        self.counter += 1
        return f"O-{self.counter}"

    def _command(self, lines: Sequence[tuple[str, int]], confirm: bool, aon: bool) -> PlaceOrder:
        order_id = self._next_id()
        return PlaceOrder(
            order_id=order_id,
            customer_id="C-1",
            currency="USD",
            lines=tuple(LineSpec(sku, quantity, PRICE) for sku, quantity in lines),
            confirm=confirm,
            all_or_nothing=aon,
            idempotency_key=f"key-{order_id}",
        )

    # ------------------------------------------------------------------ rules

    @rule(target=orders, lines=LINES, confirm=st.booleans(), aon=st.booleans())
    def place(self, lines: list[tuple[str, int]], confirm: bool, aon: bool) -> Any:
        command = self._command(lines, confirm, aon)
        order_id = command.order_id
        assert order_id is not None
        demand = _demand(lines)
        allocated = self._plan(demand, aon) if confirm else {}
        if allocated is None:
            with pytest.raises(InsufficientStockError):
                self.service.handle(command)
            return multiple()
        result = self.service.handle(command)
        self.numbers += 1
        state = "confirmed" if confirm else "placed"
        events = ["OrderPlaced", "OrderConfirmed"] if confirm else ["OrderPlaced"]
        expected_status = _status(demand, allocated) if confirm else "unallocated"
        assert (result.order_id, result.state) == (order_id, state)
        assert result.number == f"SO-2026-{self.numbers:06d}"
        assert result.allocation_status == expected_status
        self.model[order_id] = ModelOrder(state, demand, allocated, events, command, result)
        for sku, quantity in allocated.items():
            self.reserved[sku] += quantity
        return order_id

    def _apply(self, order_id: str, event: str, aon: bool = False) -> None:
        """Send ``event``'s command for the order; the model predicts the outcome."""
        order = self.model[order_id]
        if event == "confirm":
            self._confirm(order_id, order, aon)
            return
        command: Any
        if event == "hold":
            command, valid = HoldOrder(order_id=order_id, reason="check"), OPEN_STATES
        elif event == "resume":
            command, valid = ResumeOrder(order_id=order_id), ("on_hold",)
        else:
            command = CancelOrder(order_id=order_id, reason="changed mind")
            valid = (*OPEN_STATES, "on_hold")
        if order.state not in valid:
            with pytest.raises(InvalidTransitionError):
                self.service.handle(command)
            return
        result = self.service.handle(command)
        if event == "hold":
            order.held_from, order.state = order.state, "on_hold"
        elif event == "resume":
            assert order.held_from is not None
            order.state, order.held_from = order.held_from, None
        else:
            for sku, quantity in order.allocated.items():
                self.reserved[sku] -= quantity
            order.state, order.allocated, order.held_from = "cancelled", {}, None
        order.events.append(EVENT_TYPES[event])
        assert result.state == order.state

    def _confirm(self, order_id: str, order: ModelOrder, aon: bool) -> None:
        command = ConfirmOrder(order_id=order_id, all_or_nothing=aon)
        if order.state != "placed":
            with pytest.raises(InvalidTransitionError):
                self.service.handle(command)
            return
        allocated = self._plan(order.demand, aon)
        if allocated is None:
            with pytest.raises(InsufficientStockError):
                self.service.handle(command)
            return
        result = self.service.handle(command)
        assert result.allocation_status == _status(order.demand, allocated)
        order.state, order.allocated = "confirmed", allocated
        order.events.append("OrderConfirmed")
        for sku, quantity in allocated.items():
            self.reserved[sku] += quantity

    def _pick(self, data: st.DataObject, states: Sequence[str]) -> str:
        found = sorted(i for i, o in self.model.items() if o.state in states)
        return data.draw(st.sampled_from(found))

    def _any_in(self, *states: str) -> bool:
        return any(o.state in states for o in self.model.values())

    @precondition(lambda self: self._any_in("placed"))
    @rule(data=st.data(), aon=st.booleans())
    def confirm(self, data: st.DataObject, aon: bool) -> None:
        self._apply(self._pick(data, ("placed",)), "confirm", aon)

    @precondition(lambda self: self._any_in(*OPEN_STATES))
    @rule(data=st.data())
    def hold(self, data: st.DataObject) -> None:
        self._apply(self._pick(data, OPEN_STATES), "hold")

    @precondition(lambda self: self._any_in("on_hold"))
    @rule(data=st.data())
    def resume(self, data: st.DataObject) -> None:
        self._apply(self._pick(data, ("on_hold",)), "resume")

    @precondition(lambda self: self._any_in(*OPEN_STATES, "on_hold"))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        self._apply(self._pick(data, (*OPEN_STATES, "on_hold")), "cancel")

    @rule(order_id=orders, event=st.sampled_from(sorted(EVENT_TYPES)), aon=st.booleans())
    def anything(self, order_id: str, event: str, aon: bool) -> None:
        """Any command on any order, allowed in its state or not."""
        self._apply(order_id, event, aon)

    @rule(
        sku=st.sampled_from(SKUS),
        warehouse=st.sampled_from([w for w, _ in WAREHOUSES]),
        quantity=st.integers(1, 5),
    )
    def receive(self, sku: str, warehouse: str, quantity: int) -> None:
        self._receive(sku, warehouse, quantity)

    @rule(order_id=orders)
    def replay(self, order_id: str) -> None:
        """The placing command again under its key: its first result, and nothing changes."""
        order = self.model[order_id]
        assert self.service.handle(order.command) == order.result

    @rule(
        lines=LINES,
        crash_at=st.sampled_from(["outbox.append", "idempotency.put", "commit"]),
    )
    def interrupted(self, lines: list[tuple[str, int]], crash_at: str) -> None:
        """A place-and-confirm that dies before its commit: nothing of it is stored."""
        command = self._command(lines, confirm=True, aon=False)
        doomed = service_over(crashing(self.store.unit_of_work, crash_at), clock=self.clock)
        with pytest.raises(SimulatedCrash):
            doomed.handle(command)
        with self.store.unit_of_work() as uow:
            assert uow.idempotency.get(f"key-{command.order_id}", T0) is None

    @rule()
    def deliver(self) -> None:
        self.service.dispatcher.dispatch_once(limit=1000)

    @precondition(lambda self: self.kind != "memory")
    @rule()
    def restart(self) -> None:
        """The process dies between commands: the store is closed and opened again."""
        close_store(self.store)
        self.store = self.reopen()
        self._serve()

    # ------------------------------------------------------------------ invariants

    @invariant()
    def everything_agrees(self) -> None:
        with self.store.unit_of_work() as uow:
            items = uow.stock.items()
            reservations = uow.stock.reservations()
            ledger = uow.stock.ledger()
            messages = uow.outbox.messages()
            stored = uow.orders.list(OrderQuery(limit=1000)).orders
        self._check_stock(items, reservations, ledger)
        self._check_orders(stored)
        self._check_outbox(messages)

    def _check_stock(self, items: Any, reservations: Any, ledger: Any) -> None:
        held: dict[tuple[str, str], Decimal] = {}
        for r in reservations:
            held[r.item_key] = held.get(r.item_key, Decimal(0)) + r.open
        reserved = dict.fromkeys(SKUS, Decimal(0))
        for item in items:
            key = (item.sku, item.warehouse_id)
            assert 0 <= item.reserved <= item.on_hand, key
            assert item.reserved == held.get(key, Decimal(0)), key
            assert item.on_hand == self.on_hand[key], key
            reserved[item.sku] += item.reserved
        assert reserved == {sku: Decimal(n) for sku, n in self.reserved.items()}
        assert reconcile(items, reservations, ledger) == ()

    def _check_orders(self, stored: Sequence[Any]) -> None:
        assert {o.id: o.state for o in stored} == {i: o.state for i, o in self.model.items()}
        for order in stored:
            expected = self.model[order.id]
            totals = order.totals
            assert totals.net_total + totals.tax_total == totals.grand_total
            assert totals.grand_total == PRICE.amount * expected.quantity
            allocated: dict[str, int] = {}
            for line in order.lines:
                if line.allocated:
                    allocated[line.sku] = allocated.get(line.sku, 0) + int(line.allocated)
            assert allocated == expected.allocated, order.id
            assert order.event_sequence == len(expected.events)
        numbers = sorted(o.number for o in stored)
        assert numbers == [f"SO-2026-{n:06d}" for n in range(1, self.numbers + 1)]

    def _check_outbox(self, messages: Sequence[Any]) -> None:
        streams: dict[str, list[Any]] = {}
        for message in messages:
            streams.setdefault(message.stream_id, []).append(message)
        assert set(streams) == set(self.model)  # no reorder points: order streams only
        for order_id, expected in self.model.items():
            stream = streams[order_id]
            assert [m.sequence for m in stream] == list(range(1, len(expected.events) + 1))
            assert [m.event_type for m in stream] == expected.events
            assert [m.event_id for m in stream] == [f"{order_id}:{m.sequence}" for m in stream]
        delivered = sorted(m.event_id for m in messages if m.status == "delivered")
        assert sorted(self.inbox.received) == delivered  # each delivered exactly once
        assert all(m.status in ("pending", "delivered") for m in messages)


class MemoryMachine(StoreMachine):
    pass


class SQLiteMachine(StoreMachine):
    kind = "sqlite"
    directory: ClassVar[str] = ""

    def open_fresh(self) -> Any:
        type(self).where = str(Path(self.directory) / f"{uuid.uuid4().hex}.db")
        return open_store("sqlite", self.where)


class PostgresMachine(StoreMachine):
    kind = "postgres"

    def open_fresh(self) -> Any:
        empty_schema(self.where, self.schema)
        return open_store("postgres", self.where, self.schema, pool=2)


def _run(machine: type[StoreMachine], examples: int, steps: int, **options: Any) -> None:
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            **options,
        ),
    )


def test_the_memory_store_agrees_with_the_model() -> None:
    _run(MemoryMachine, examples=40, steps=30)


@pytest.mark.slow
def test_an_sqlite_file_agrees_with_the_model_across_restarts() -> None:
    with tempfile.TemporaryDirectory() as directory:
        machine = type("SQLiteRun", (SQLiteMachine,), {"directory": directory})
        _run(machine, examples=15, steps=25)


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_agrees_with_the_model_across_restarts(postgres_dsn: str) -> None:
    schema = new_schema()
    close_store(open_store("postgres", postgres_dsn, schema, pool=1))  # create the schema
    machine = type("PostgresRun", (PostgresMachine,), {"where": postgres_dsn, "schema": schema})
    try:
        _run(machine, examples=10, steps=25)
    finally:
        drop_schema(postgres_dsn, schema)


# --------------------------------------------------------------------------- the machine bites


class KeepsStockOnCancel(MemoryStockRepository):
    """A broken stock port: cancelling an order releases nothing."""

    __slots__ = ()

    def apply(self, change: StockChange, *, numbered: bool = False) -> Any:
        if change.settled and all(e.movement is Movement.RELEASE for e in change.ledger):
            return ()  # the release is dropped
        return super().apply(change, numbered=numbered)


class LeakyMachine(MemoryMachine):
    def open_fresh(self) -> Any:
        store = MemoryStore()
        store._stock_repository = KeepsStockOnCancel(store.stock_tables, store._journal)
        return store


def test_the_machine_catches_a_store_that_keeps_stock_on_cancel() -> None:
    with pytest.raises(AssertionError):
        _run(LeakyMachine, examples=200, steps=30, phases=[Phase.generate], database=None)
