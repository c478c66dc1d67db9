"""PostgreSQL reads a confirming order's stock ahead: the snapshot is sent with the idempotency
lookup (one round trip for both), after the lookup's advisory lock, and its rows are used only if
nothing was written in between and the same stock is asked for.

Tests that need a server are marked ``postgres`` and skip without SALESORDERS_TEST_POSTGRES_DSN.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from moneyed import Money

from salesorders.adapters.postgres import PostgresStore
from salesorders.domain.stock import StockDesk
from salesorders.domain.warehouse import Warehouse
from salesorders.service import (
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
    bootstrap,
)
from salesorders.testing.contracts import T0
from support.stores import in_uow

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(postgres_dsn: str, postgres_schema: str) -> Iterator[PostgresStore]:
    with PostgresStore(postgres_dsn, schema=postgres_schema, max_size=2) as opened:
        yield opened


def _service(store: PostgresStore) -> SalesService:
    service = bootstrap(uow=store.unit_of_work, clock=ManualClock(T0))
    service.handle(RegisterWarehouse(warehouse=Warehouse("W1")))
    for sku in ("SKU-0", "SKU-1"):
        service.handle(ReceiveStock(sku=sku, warehouse_id="W1", quantity=10))
    return service


def _order(key: str | None = "K-1", sku: str = "SKU-0") -> PlaceOrder:
    return PlaceOrder(
        customer_id="C-1",
        currency="USD",
        lines=(LineSpec(sku, 1, Money("9.99", "USD")),),
        confirm=True,
        idempotency_key=key,
    )


def test_a_duplicate_key_waits_for_the_first_command_holding_no_stock_row(
    store: PostgresStore, postgres_dsn: str
) -> None:
    """The snapshot's row locks come after the lookup's advisory lock: a duplicate waiting for
    the first command's key holds no stock row the first one may need."""
    _service(store)
    with store.unit_of_work() as first:
        first.stock.snapshot_ahead(["SKU-0"])
        assert first.idempotency.get("K-1", T0) is None  # holds the key and SKU-0's row
        first_pid = first._session._connection.info.backend_pid  # type: ignore[union-attr]
        done: list[object] = []

        def duplicate() -> None:
            def work(uow: object) -> object:
                uow.stock.snapshot_ahead(["SKU-0"])  # type: ignore[attr-defined]
                return uow.idempotency.get("K-1", T0)  # type: ignore[attr-defined]

            done.append(in_uow(store.unit_of_work, work, False))

        second = threading.Thread(target=duplicate)
        second.start()
        with psycopg.connect(postgres_dsn, autocommit=True) as watcher:
            waits: list[tuple[object, ...]] = []
            while not waits:
                second.join(0.01)
                assert second.is_alive(), done  # it must wait for the first command
                # the locks waited for behind the first command (other tests may run beside)
                waits = watcher.execute(
                    "SELECT locktype FROM pg_locks "
                    "WHERE NOT granted AND %s = ANY(pg_blocking_pids(pid))",
                    (first_pid,),
                ).fetchall()
            assert waits == [("advisory",)]  # not a row lock ("transactionid" or "tuple")
        first.rollback()
    second.join()
    assert done == [None]


def test_a_read_ahead_is_not_used_after_a_write(store: PostgresStore) -> None:
    _service(store)

    def work(uow: object) -> Decimal:
        stock = uow.stock  # type: ignore[attr-defined]
        stock.snapshot_ahead(["SKU-0"])
        assert uow.idempotency.get("K-9", T0) is None  # type: ignore[attr-defined]
        StockDesk(stock).receive("SKU-0", "W1", 5, T0)
        return stock.snapshot(["SKU-0"]).available_at("SKU-0", "W1")  # type: ignore[no-any-return]

    assert in_uow(store.unit_of_work, work, False) == 15


def test_a_read_ahead_of_other_stock_is_not_used(store: PostgresStore) -> None:
    _service(store)
    in_uow(store.unit_of_work, lambda uow: StockDesk(uow.stock).receive("SKU-1", "W1", 1, T0))

    def work(uow: object) -> tuple[tuple[str, str], ...]:
        stock = uow.stock  # type: ignore[attr-defined]
        stock.snapshot_ahead(["SKU-0"])
        assert uow.idempotency.get("K-9", T0) is None  # type: ignore[attr-defined]
        return tuple(stock.snapshot(["SKU-1"]).available)

    assert in_uow(store.unit_of_work, work, False) == (("SKU-1", "W1"),)


def test_placing_with_a_key_and_replaying_it_reserve_once(store: PostgresStore) -> None:
    service = _service(store)
    first = service.handle(_order())
    again = service.execute(_order())
    assert again.replayed and again.result == first
    reserved = in_uow(
        store.unit_of_work, lambda uow: uow.stock.snapshot(["SKU-0"]).available_at("SKU-0", "W1")
    )
    assert reserved == 9
    assert len(in_uow(store.unit_of_work, lambda uow: uow.stock.reservations(), False)) == 1
