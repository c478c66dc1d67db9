"""How many times a PostgreSQL unit of work waits for the server, counted from a libpq trace, and
what sending statements without waiting must keep: a duplicate idempotency key waits for the
first command and replays it, a key refused at commit names itself and keeps nothing, numbers
stay gap-free, and a connection of your pool goes back as it came.

Tests that need a server are marked ``postgres`` and skip without SALESORDERS_TEST_POSTGRES_DSN.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from moneyed import Money
from psycopg_pool import ConnectionPool

from salesorders import errors
from salesorders.adapters.postgres import PostgresStore
from salesorders.domain.warehouse import Warehouse
from salesorders.ports import IdempotencyRecord, OutboxMessage
from salesorders.service import (
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    bootstrap,
)
from salesorders.testing.contracts import T0
from support.stores import in_uow

pytestmark = pytest.mark.postgres


def _dsn() -> str:
    dsn = os.environ.get("SALESORDERS_TEST_POSTGRES_DSN", "")
    if not dsn:
        pytest.skip("SALESORDERS_TEST_POSTGRES_DSN is not set; PostgreSQL tests need a server")
    return dsn


@pytest.fixture
def pool() -> Iterator[ConnectionPool[Any]]:
    """A pool of one connection, so a test can trace the only connection the store uses."""
    with ConnectionPool(_dsn(), min_size=1, max_size=1, open=True) as opened:
        yield opened


@pytest.fixture
def schema(postgres_schema: str) -> str:
    return postgres_schema


@pytest.fixture
def store(pool: ConnectionPool[Any], schema: str) -> Iterator[PostgresStore]:
    with PostgresStore(pool=pool, schema=schema) as opened:
        yield opened


def round_trips(trace: str) -> int:
    """Round trips in a libpq trace: each time the client, having sent, reads an answer."""
    trips = 0
    previous = ""
    for line in trace.splitlines():
        fields = line.split("\t")
        direction = fields[1] if len(fields) > 1 else ""
        if direction in ("F", "B"):
            trips += previous == "F" and direction == "B"
            previous = direction
    return trips


def traced(pool: ConnectionPool[Any], action: Callable[[], object]) -> int:
    """Round trips ``action`` makes on the pool's only connection."""
    with pool.connection() as connection:
        pass
    with tempfile.TemporaryFile("w+") as trace:
        connection.pgconn.trace(trace.fileno())
        try:
            action()
        finally:
            connection.pgconn.untrace()
        trace.seek(0)
        return round_trips(trace.read())


def _order(n: int, key: bool) -> PlaceOrder:
    return PlaceOrder(
        customer_id="C-1",
        currency="USD",
        lines=tuple(LineSpec(f"SKU-{(n + i) % 5}", 1, Money("9.99", "USD")) for i in range(3)),
        confirm=True,
        idempotency_key=f"K-{n}" if key else None,
    )


def _record(key: str = "K-1", at: dt.datetime = T0) -> IdempotencyRecord:
    return IdempotencyRecord(
        key, "PlaceOrder", "ab" * 32, {"value": {"order_id": "O-1"}}, at, at + dt.timedelta(1)
    )


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("key", [True, False], ids=["key", "no-key"])
def test_place_and_confirm_waits_for_the_server_twice(
    pool: ConnectionPool[Any], store: PostgresStore, key: bool
) -> None:
    """BEGIN travels with the first statement; the stock snapshot with the idempotency lookup;
    the idempotency record with the commit; the reservation is computed from the item rows the
    snapshot locked, without reading them again; the order number is taken by the statements
    sent with the commit."""
    service = bootstrap(uow=store.unit_of_work, clock=ManualClock(T0))
    for warehouse in ("W1", "W2"):
        service.handle(RegisterWarehouse(warehouse=Warehouse(warehouse)))
        for sku in range(5):
            service.handle(ReceiveStock(sku=f"SKU-{sku}", warehouse_id=warehouse, quantity=100))
    service.handle(_order(0, key))  # the number series' row is created here
    assert traced(pool, lambda: service.handle(_order(1, key))) == 2


def test_an_empty_unit_of_work_waits_once_and_none_leaves_a_transaction_open(
    pool: ConnectionPool[Any], store: PostgresStore
) -> None:
    assert traced(pool, lambda: in_uow(store.unit_of_work, lambda uow: None)) == 1
    assert traced(pool, lambda: in_uow(store.unit_of_work, lambda uow: uow.outbox.dead())) == 2
    assert (
        traced(pool, lambda: in_uow(store.unit_of_work, lambda uow: uow.outbox.dead(), False)) == 2
    )
    with pool.connection() as connection:
        assert connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


# --------------------------------------------------------------------------- idempotency


def test_a_duplicate_key_waits_at_its_lookup_for_the_first_command_then_reads_its_record(
    schema: str,
) -> None:
    with (
        PostgresStore(_dsn(), schema=schema, max_size=2) as store,
        store.unit_of_work() as first,
    ):
        assert first.idempotency.get("K-1", T0) is None
        first_pid = first._session._connection.info.backend_pid  # type: ignore[union-attr]
        seen: list[object] = []
        second = threading.Thread(
            target=lambda: seen.append(
                in_uow(store.unit_of_work, lambda u: u.idempotency.get("K-1", T0))
            )
        )
        second.start()
        with psycopg.connect(_dsn(), autocommit=True) as watcher:
            while not watcher.execute(  # an advisory lock waited for behind the first command
                "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND %s = ANY(pg_blocking_pids(pid))",
                (first_pid,),
            ).fetchall():
                second.join(0.01)
                assert second.is_alive(), seen  # it must wait for the first command
        first.idempotency.put(_record())
        first.commit()
        second.join()
        assert seen == [_record()]


def test_a_key_refused_at_commit_names_itself_and_keeps_nothing_of_its_unit_of_work(
    store: PostgresStore,
) -> None:
    in_uow(store.unit_of_work, lambda uow: uow.idempotency.put(_record()))
    message = OutboxMessage("O-9:1", "O-9", 1, "OrderPlaced", {}, T0)

    def duplicate(uow: Any) -> None:
        uow.outbox.append([message])
        uow.idempotency.put(_record(at=T0 + dt.timedelta(minutes=1)))  # sent, not yet checked

    with pytest.raises(errors.IdempotencyConflictError) as caught:
        in_uow(store.unit_of_work, duplicate)
    assert (caught.value.key, caught.value.command) == ("K-1", "PlaceOrder")
    assert in_uow(store.unit_of_work, lambda uow: uow.outbox.messages(), False) == []
    assert (
        in_uow(store.unit_of_work, lambda uow: uow.idempotency.get("K-1", T0), False) == _record()
    )


def test_a_number_taken_by_a_unit_of_work_refused_at_commit_is_not_used_up(
    store: PostgresStore,
) -> None:
    in_uow(store.unit_of_work, lambda uow: uow.idempotency.put(_record()))

    def numbered_duplicate(uow: Any) -> None:
        assert uow.numbers.next_number("SO-2026") == 1
        uow.idempotency.put(_record(at=T0 + dt.timedelta(minutes=1)))

    with pytest.raises(errors.IdempotencyConflictError):
        in_uow(store.unit_of_work, numbered_duplicate)
    assert in_uow(store.unit_of_work, lambda uow: uow.numbers.next_number("SO-2026")) == 1  # no gap
    assert in_uow(store.unit_of_work, lambda uow: uow.numbers.next_number("SO-2026")) == 2


# --------------------------------------------------------------------------- your pool


def test_a_connection_of_your_pool_goes_back_out_of_autocommit_mode(
    pool: ConnectionPool[Any], store: PostgresStore
) -> None:
    in_uow(store.unit_of_work, lambda uow: uow.idempotency.put(_record()))
    with pool.connection() as connection:
        assert not connection.autocommit
        assert connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
