"""The memory adapter keeps every storage contract, and its rollback is exact."""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesorders.adapters.memory import MemoryStore
from salesorders.domain.snapshot import IncomingStock
from salesorders.domain.stock import StockDesk
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import NotSupportedError, SalesOrdersError
from salesorders.ports import (
    IdempotencyRecord,
    OrderQuery,
    OutboxMessage,
    UnitOfWork,
    UnitOfWorkFactory,
)
from salesorders.testing.contracts import T0, AllContracts, plan_for, sample_order


class TestMemoryStore(AllContracts):
    def make_uow_factory(self) -> UnitOfWorkFactory:
        return MemoryStore().unit_of_work


# --------------------------------------------------------------------------- exact rollback

SKUS = st.sampled_from(["A", "B"])
WAREHOUSES = st.sampled_from(["W1", "W2", "W3"])  # W3 is never registered
QUANTITIES = st.integers(1, 6)
ORDERS = st.sampled_from(["O-1", "O-2", "O-3"])

OPERATIONS = st.one_of(
    st.tuples(st.just("receive"), SKUS, WAREHOUSES, QUANTITIES),
    st.tuples(st.just("levels"), SKUS, WAREHOUSES, st.integers(0, 3), st.integers(0, 8)),
    st.tuples(
        st.just("reserve"),
        ORDERS,
        st.lists(
            st.tuples(st.sampled_from(["L1", "L2"]), SKUS, WAREHOUSES, QUANTITIES), max_size=3
        ),
    ),
    st.tuples(st.just("release"), ORDERS),
    st.tuples(st.just("expect"), st.integers(1, 3), SKUS, WAREHOUSES),
    st.tuples(st.just("warehouse"), st.sampled_from(["W1", "W2"]), st.integers(0, 5)),
    st.tuples(st.just("order"), ORDERS),
    st.tuples(st.just("place"), ORDERS),
    st.tuples(st.just("message"), ORDERS, st.integers(1, 3)),
    st.tuples(st.just("deliver"), ORDERS, st.integers(1, 3)),
    st.tuples(st.just("idempotency"), st.sampled_from(["K1", "K2"]), st.integers(0, 50)),
    st.tuples(st.just("purge"), st.integers(0, 50)),
    st.tuples(st.just("number"), st.sampled_from(["SO-2026", "SO-2027"])),
)
BATCHES = st.lists(
    st.tuples(st.lists(OPERATIONS, min_size=1, max_size=4), st.booleans()), max_size=8
)


def _apply(uow: UnitOfWork, operation: tuple[Any, ...]) -> None:
    kind, *args = operation
    if kind == "receive":
        sku, warehouse_id, quantity = args
        StockDesk(uow.stock).receive(sku, warehouse_id, Decimal(quantity), T0)
    elif kind == "levels":
        sku, warehouse_id, safety, point = args
        StockDesk(uow.stock).set_levels(
            sku, warehouse_id, safety_stock=Decimal(safety), reorder_point=Decimal(point)
        )
    elif kind == "reserve":
        order_id, allocations = args
        StockDesk(uow.stock).reserve_plan(plan_for(order_id, *allocations), T0)
    elif kind == "release":
        StockDesk(uow.stock).release_order(args[0], T0)
    elif kind == "expect":
        number, sku, warehouse_id = args
        eta = dt.date(2026, 4, number)
        StockDesk(uow.stock).expect(
            IncomingStock(f"IN-{number}", sku, warehouse_id, Decimal(5), eta)
        )
    elif kind == "warehouse":
        warehouse_id, priority = args
        StockDesk(uow.stock).add_warehouse(Warehouse(warehouse_id, priority=priority))
    elif kind == "order":
        uow.orders.add(sample_order(args[0]))
    elif kind == "place":
        order = uow.orders.get(args[0])
        order.place(f"N-{args[0]}", T0)
        uow.orders.save(order)
    elif kind == "message":
        order_id, sequence = args
        uow.outbox.append(
            [OutboxMessage(f"{order_id}:{sequence}", order_id, sequence, "E", {"n": sequence}, T0)]
        )
    elif kind == "deliver":
        uow.outbox.mark_delivered(f"{args[0]}:{args[1]}", T0)
    elif kind == "idempotency":
        key, minutes = args
        at = T0 + dt.timedelta(minutes=minutes)
        uow.idempotency.put(
            IdempotencyRecord(key, "C", "f", {"m": minutes}, at, at + dt.timedelta(minutes=10))
        )
    elif kind == "purge":
        uow.idempotency.purge_expired(T0 + dt.timedelta(minutes=args[0]))
    elif kind == "number":
        uow.numbers.next_number(args[0])


def _run(store: MemoryStore, operations: list[tuple[Any, ...]], commit: bool) -> None:
    with store.unit_of_work() as uow:
        for operation in operations:
            # a refused operation changes nothing; the unit of work goes on
            with contextlib.suppress(SalesOrdersError):
                _apply(uow, operation)
        if commit:
            uow.commit()


def _state(store: MemoryStore) -> tuple[Any, ...]:
    with store.unit_of_work() as uow:
        stock = uow.stock
        figures = tuple(
            (
                i.sku,
                i.warehouse_id,
                i.on_hand,
                i.reserved,
                i.safety_stock,
                i.reorder_point,
                i.low_stock,
                tuple(sorted(i.batches)),
            )
            for i in stock.items()
        )
        return (
            figures,
            stock.reservations(),
            stock.ledger(),
            stock.warehouses(),
            store.book.incoming(),
            uow.orders.list(OrderQuery(limit=100)),
            uow.outbox.messages(),
            tuple(uow.idempotency.get(k, T0) for k in ("K1", "K2")),
            tuple(uow.numbers.next_number(s) for s in ("SO-2026", "SO-2027")),
        )


@settings(max_examples=80, deadline=None)
@given(BATCHES)
def test_a_rollback_leaves_the_store_as_if_the_unit_of_work_never_ran(
    batches: list[tuple[list[tuple[Any, ...]], bool]],
) -> None:
    store, model = MemoryStore(), MemoryStore()
    for setup in (store, model):
        _run(setup, [("warehouse", "W1", 1), ("warehouse", "W2", 2)], commit=True)
    for operations, commit in batches:
        _run(store, operations, commit)
        if commit:
            _run(model, operations, commit)
        assert _state(store) == _state(model)
        assert store.book.reconcile() == ()


def test_the_rollback_check_notices_a_change_that_was_not_undone() -> None:
    store, model = MemoryStore(), MemoryStore()
    for setup in (store, model):
        _run(setup, [("warehouse", "W1", 1)], commit=True)
    with store.unit_of_work() as uow:
        StockDesk(uow.stock).receive("A", "W1", Decimal(3), T0)
        uow._journal.clear()  # type: ignore[attr-defined]  # forget how to undo it
    assert _state(store) != _state(model)


def test_units_of_work_do_not_nest_in_one_thread() -> None:
    store = MemoryStore()
    with store.unit_of_work() as uow:
        uow.numbers.next_number("S")
        with pytest.raises(NotSupportedError), store.unit_of_work():
            pass
    with store.unit_of_work() as uow:  # the outer one finished normally: rolled back
        assert uow.numbers.next_number("S") == 1
