"""On PostgreSQL, ``reserve`` is answered from the stock item rows the snapshot locked: what it
gives must be what the database holds once the snapshot holds the locks — also when the snapshot
waited for another transaction's lock and that transaction changed the items and their batches.

Tests that need a server are marked ``postgres`` and skip without SALESORDERS_TEST_POSTGRES_DSN.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from salesorders.adapters.postgres import PostgresStore
from salesorders.domain.plan import Allocation, AllocationPlan
from salesorders.domain.stock import StockDesk
from salesorders.domain.warehouse import Warehouse
from salesorders.service import (
    ManualClock,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
    SetStockLevels,
    bootstrap,
)

pytestmark = pytest.mark.postgres

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
SKUS = ("SKU-A", "SKU-B", "SKU-C")
KEYS = [(sku, wh) for sku in SKUS for wh in ("W1", "W2")]


def _dsn() -> str:
    dsn = os.environ.get("SALESORDERS_TEST_POSTGRES_DSN", "")
    if not dsn:
        pytest.skip("SALESORDERS_TEST_POSTGRES_DSN is not set; PostgreSQL tests need a server")
    return dsn


@pytest.fixture
def schema(postgres_schema: str) -> str:
    return postgres_schema


@pytest.fixture
def store(schema: str) -> Iterator[PostgresStore]:
    with PostgresStore(_dsn(), schema=schema) as opened:
        yield opened


def _service(store: PostgresStore) -> SalesService:
    service = bootstrap(uow=store.unit_of_work, clock=ManualClock(T0))
    for warehouse in ("W1", "W2"):
        service.handle(RegisterWarehouse(warehouse=Warehouse(warehouse)))
        for sku in SKUS:
            service.handle(ReceiveStock(sku=sku, warehouse_id=warehouse, quantity=100))
    # batches (with and without expiry), reorder levels and a low-stock flag
    for batch, expiry in (("B1", dt.date(2026, 4, 1)), ("B2", None)):
        service.handle(
            ReceiveStock(sku="SKU-B", warehouse_id="W2", quantity=5, batch_id=batch, expiry=expiry)
        )
    service.handle(
        SetStockLevels(
            sku="SKU-C", warehouse_id="W1", safety_stock=1, reorder_point=500, reorder_quantity=9
        )
    )
    return service


def _fresh(store: PostgresStore, keys: list[tuple[str, str]]) -> Any:
    with store.unit_of_work() as uow:
        return uow.stock.lock(keys).items


def test_a_lock_after_a_snapshot_reads_only_the_batches_again(store: PostgresStore) -> None:
    _service(store)
    read = _fresh(store, KEYS)
    with store.unit_of_work() as uow:
        uow.stock.snapshot(SKUS)
        before = uow.statements
        answered = uow.stock.lock(KEYS).items
        assert uow.statements == before + 1  # the batches of SKU-B at W2, nothing else
        assert answered == read
        assert set(answered[("SKU-B", "W2")].batches) == {"B1", "B2"}
        assert answered[("SKU-C", "W1")].reorder_point == Decimal(500)
        assert answered[("SKU-C", "W1")].low_stock
        unbatched = [("SKU-A", "W1"), ("SKU-C", "W2")]
        assert uow.stock.lock(unbatched).items == {key: read[key] for key in unbatched}
        assert uow.statements == before + 1  # no batches: no statement at all


def test_a_key_the_snapshot_did_not_find_is_read_from_the_database(store: PostgresStore) -> None:
    _service(store)
    with store.unit_of_work() as uow:
        uow.stock.snapshot(["SKU-A"])
        before = uow.statements
        # SKU-A at W3 has no row: the lock asks the database, as another transaction could
        # have created it after the snapshot's statement began
        assert set(uow.stock.lock([("SKU-A", "W1"), ("SKU-A", "W3")]).items) == {("SKU-A", "W1")}
        assert uow.statements == before + 1


def test_a_lock_after_a_stock_write_reads_the_database_again(store: PostgresStore) -> None:
    _service(store)
    key = ("SKU-A", "W1")
    with store.unit_of_work() as uow:
        uow.stock.snapshot(["SKU-A"])
        plan = AllocationPlan("O-1", (Allocation("L1", "SKU-A", "W1", Decimal(4)),))
        StockDesk(uow.stock).reserve_plan(plan, T0, new_order=True)
        before = uow.statements
        assert uow.stock.lock([key]).items[key].reserved == Decimal(4)
        assert uow.statements == before + 1
        uow.commit()


def _wait_for_a_lock_wait(dsn: str, blocker_pid: int, worker: threading.Thread) -> None:
    """Return once a backend waits for a lock ``blocker_pid`` holds (a synchronisation point,
    not a measurement: the test asserts nothing about how long it takes)."""
    with psycopg.connect(dsn, autocommit=True) as watcher:
        for _ in range(3000):
            (waiting,) = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                (blocker_pid,),
            ).fetchone() or (0,)
            if waiting or not worker.is_alive():
                break
            time.sleep(0.01)
    assert worker.is_alive(), "the snapshot did not wait for the other transaction's lock"


@pytest.mark.parametrize("key", [("SKU-A", "W1"), ("SKU-B", "W2")], ids=["item", "batched"])
def test_a_snapshot_that_waited_for_a_writer_reserves_from_what_the_writer_left(
    store: PostgresStore, schema: str, key: tuple[str, str]
) -> None:
    """Another transaction holds the item's lock and changes the item (and a batch) while the
    snapshot waits for that lock; the reservation made after the snapshot must count from the
    rows as that transaction left them, or its write would undo the other one's."""
    _service(store)
    sku, warehouse = key
    batch = "B1" if sku == "SKU-B" else None
    dsn = _dsn()
    got: dict[str, Any] = {}

    def snapshot_then_reserve() -> None:
        with store.unit_of_work() as uow:
            uow.stock.snapshot([sku])
            before = uow.statements
            got["items"] = uow.stock.lock([key]).items
            got["statements"] = uow.statements - before
            allocation = Allocation("L1", sku, warehouse, Decimal(2), batch_id=batch)
            StockDesk(uow.stock).reserve_plan(
                AllocationPlan("O-1", (allocation,)), T0, new_order=True
            )
            uow.commit()

    with psycopg.connect(dsn) as writer:
        writer.execute(
            f'UPDATE "{schema}".stock_items SET on_hand = on_hand + 7, reserved = reserved + 3 '
            "WHERE sku = %s AND warehouse_id = %s",
            key,
        )
        if batch:
            writer.execute(
                f'UPDATE "{schema}".batches SET on_hand = on_hand + 7, reserved = reserved + 3 '
                "WHERE sku = %s AND warehouse_id = %s AND batch_id = %s",
                (*key, batch),
            )
        worker = threading.Thread(target=snapshot_then_reserve)
        worker.start()
        try:
            _wait_for_a_lock_wait(dsn, writer.info.backend_pid, worker)
        finally:
            writer.commit()
            worker.join()
    item = got["items"][key]
    on_hand = Decimal(117 if batch else 107)
    assert (item.on_hand, item.reserved) == (on_hand, Decimal(3))
    stored = _fresh(store, [key])[key]
    assert (stored.on_hand, stored.reserved) == (on_hand, Decimal(5))
    if batch:
        assert (item.batches[batch].on_hand, item.batches[batch].reserved) == (12, 3)
        assert (stored.batches[batch].on_hand, stored.batches[batch].reserved) == (12, 5)
    assert got["statements"] == (1 if batch else 0)  # answered from the snapshot's item row
