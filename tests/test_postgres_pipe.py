"""The PostgreSQL store's transactions sent through libpq's pipeline (``Pipe``): the same values as
the driver's cursors, the first error raised by every read after it, a connection left ready for
the next transaction after an error, and prepared statements that never go missing unnoticed.

Tests that need a server are marked ``postgres`` and skip without SALESORDERS_TEST_POSTGRES_DSN.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from salesorders import errors
from salesorders.adapters._postgres_pipe import Pipe
from salesorders.adapters.postgres import PostgresStore
from salesorders.domain.warehouse import Warehouse
from salesorders.service import (
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    bootstrap,
)
from salesorders.testing.contracts import T0

pytestmark = pytest.mark.postgres

# A statement no other test sends, so its first use here is its first use on the connection.
TWICE = "SELECT $1::BIGINT * 2 AS twice, 'pipe test' AS tag"


@pytest.fixture
def connection(postgres_dsn: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(postgres_dsn, autocommit=True) as opened:
        yield opened


def test_rows_and_counts_are_the_drivers_values(connection: psycopg.Connection[Any]) -> None:
    sql = (
        "SELECT $1::NUMERIC AS amount, $2::TIMESTAMPTZ AS at, $3::TEXT[] AS tags, "
        "CAST($4 AS JSONB) AS doc, $5::TEXT AS nothing, $6::BIGINT AS n, $7::BOOLEAN AS flag"
    )
    params = (Decimal("12.30"), T0, ["a", "b"], '{"k": [1, 2]}', None, 7, True)
    expected = psycopg.RawCursor(connection).execute(sql, params).fetchall()
    pipe = Pipe(connection)
    pipe.execute("BEGIN", prepare=False)
    pipe.execute("CREATE TEMPORARY TABLE pipe_rows (n BIGINT) ON COMMIT DROP", prepare=False)
    inserted = pipe.execute("INSERT INTO pipe_rows SELECT generate_series(1, $1::INT)", [3])
    first = pipe.execute(sql, params)
    again = pipe.execute(sql, params)  # prepared by the first: the same values
    none = pipe.execute("SELECT n FROM pipe_rows WHERE n > $1", [10])
    pipe.execute("COMMIT", prepare=False)
    pipe.close()
    assert first.fetchall() == again.fetchall() == expected
    assert expected[0][0] == Decimal("12.30") and expected[0][2] == ["a", "b"]
    assert first.fetchone() == expected[0]
    assert inserted.rowcount == 3
    assert none.fetchall() == [] and none.fetchone() is None
    assert connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert connection.execute("SELECT 1").fetchone() == (1,)  # the driver's again


def test_the_first_error_is_raised_by_every_read_after_it(
    connection: psycopg.Connection[Any],
) -> None:
    pipe = Pipe(connection)
    pipe.execute("BEGIN", prepare=False)
    before = pipe.execute(TWICE, [1])
    pipe.execute("SELECT 1 / $1::INT", [0])  # fails; its answer is not read
    after = pipe.execute(TWICE, [2])
    assert before.fetchall() == [(2, "pipe test")]
    with pytest.raises(psycopg.errors.DivisionByZero):
        after.fetchall()
    with pytest.raises(psycopg.errors.DivisionByZero):
        pipe.close()
    # It synced before leaving: the server said the transaction failed (and waits for no sync).
    assert connection.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
    connection.rollback()
    assert connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    # The pipe synced before leaving: the server answers the next transaction at once.
    pipe = Pipe(connection)
    assert pipe.execute(TWICE, [4]).fetchall() == [(8, "pipe test")]
    pipe.close()


def test_a_prepare_skipped_by_an_earlier_error_is_not_remembered(
    connection: psycopg.Connection[Any],
) -> None:
    fresh = "SELECT $1::BIGINT + 40 AS sum, 'skipped prepare' AS tag"
    pipe = Pipe(connection)
    pipe.execute("BEGIN", prepare=False)
    pipe.execute("SELECT 1 / $1::INT", [0])
    skipped = pipe.execute(fresh, [2])  # its prepare is skipped, as the statement is
    with pytest.raises(psycopg.errors.DivisionByZero):
        skipped.fetchall()
    pipe.abandon()
    connection.rollback()
    pipe = Pipe(connection)
    assert pipe.execute(fresh, [2]).fetchall() == [(42, "skipped prepare")]
    pipe.close()


def test_statements_discarded_by_the_host_fail_as_operational_once(
    connection: psycopg.Connection[Any],
) -> None:
    pipe = Pipe(connection)
    assert pipe.execute(TWICE, [5]).fetchall() == [(10, "pipe test")]
    pipe.close()
    connection.execute("DISCARD ALL")
    pipe = Pipe(connection)
    with pytest.raises(psycopg.OperationalError, match="discarded"):
        pipe.execute(TWICE, [5]).fetchall()
    pipe.abandon()
    pipe = Pipe(connection)  # the connection's names were forgotten: prepared again
    assert pipe.execute(TWICE, [6]).fetchall() == [(12, "pipe test")]
    pipe.close()


def _discard_all(pool: ConnectionPool[Any]) -> None:
    """What a pool's reset may do: drop every statement prepared on the connection."""
    with pool.connection() as connection:
        connection.autocommit = True
        connection.execute("DISCARD ALL")
        connection.autocommit = False


def test_a_store_whose_statements_were_discarded_retries_the_command(
    postgres_dsn: str, postgres_schema: str
) -> None:
    with (
        ConnectionPool(postgres_dsn, min_size=1, max_size=1, open=True) as pool,
        PostgresStore(pool=pool, schema=postgres_schema) as store,
    ):
        service = bootstrap(uow=store.unit_of_work, clock=ManualClock(T0))
        service.handle(RegisterWarehouse(warehouse=Warehouse("W1")))
        service.handle(ReceiveStock(sku="TEA", warehouse_id="W1", quantity=10))

        def place(n: int) -> Any:
            return service.handle(
                PlaceOrder(
                    customer_id="C-1",
                    currency="USD",
                    lines=(LineSpec("TEA", 1, "2.50"),),
                    confirm=True,
                    idempotency_key=f"k-{n}",
                )
            )

        first = place(1)
        _discard_all(pool)
        with (
            pytest.raises(errors.OperationalError, match="discarded"),
            store.unit_of_work() as uow,
        ):
            uow.idempotency.get("k-1", T0)  # the statements the command prepared
        _discard_all(pool)
        second = place(2)  # its first attempt fails as above; the retry prepares again
        assert second.number.endswith("-000002")
        assert place(2).order_id == second.order_id != first.order_id
