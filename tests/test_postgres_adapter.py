"""The PostgreSQL store keeps every storage contract, nests in a host's transaction, translates
driver errors, and never oversells — also across processes.

Tests that need a server are marked ``postgres`` and skip without SALESORDERS_TEST_POSTGRES_DSN.
This module creates its own schemas (one shared by most tests, emptied before each) and drops
them when it is done.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from race_support import empty_schema
from salesorders import errors
from salesorders.adapters._postgres_session import translate_driver_error
from salesorders.adapters._sql.schema import LATEST_VERSION
from salesorders.adapters._sql.session import translate_error
from salesorders.adapters.postgres import PostgresStore
from salesorders.domain.stock import StockDesk
from salesorders.domain.warehouse import Warehouse
from salesorders.ports import OutboxMessage, UnitOfWorkFactory
from salesorders.testing.contracts import T0, AllContracts, plan_for, sample_order
from test_sqlite_adapter import (
    batches_follow_the_stock_book,
    everything_is_kept,
    in_uow,
    place_and_confirm_statements,
    processes_never_oversell,
)


def _dsn() -> str:
    dsn = os.environ.get("SALESORDERS_TEST_POSTGRES_DSN", "")
    if not dsn:
        pytest.skip("SALESORDERS_TEST_POSTGRES_DSN is not set; PostgreSQL tests need a server")
    return dsn


@pytest.fixture(scope="module")
def schemas() -> Iterator[Callable[[], str]]:
    """Makes unique schema names; every schema named is dropped when the module is done."""
    made: list[str] = []

    def make() -> str:
        made.append(f"so_test_{uuid.uuid4().hex[:12]}")
        return made[-1]

    yield make
    if made:
        with psycopg.connect(_dsn(), autocommit=True) as conn:
            for schema in made:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _empty(store: PostgresStore) -> None:
    """Delete every row of the store's tables (faster than a new schema per test)."""
    empty_schema(_dsn(), store.schema)


@pytest.fixture(scope="module")
def shared(schemas: Callable[[], str]) -> Iterator[PostgresStore]:
    store = PostgresStore(_dsn(), schema=schemas(), min_size=2, max_size=8)
    yield store
    store.close()


@pytest.fixture(scope="module")
def shared_unpipelined(shared: PostgresStore) -> Iterator[PostgresStore]:
    store = PostgresStore(_dsn(), schema=shared.schema, max_size=8, pipeline=False)
    yield store
    store.close()


@pytest.fixture
def store(postgres_dsn: str, shared: PostgresStore) -> PostgresStore:
    """The shared store, emptied."""
    _empty(shared)
    return shared


# --------------------------------------------------------------------------- contracts


@pytest.mark.postgres
class TestPostgresStoreContracts(AllContracts):
    """Every storage contract, with pipelined statements (the default)."""

    @pytest.fixture(autouse=True)
    def _open(self, store: PostgresStore) -> None:
        self.store = store

    def make_uow_factory(self) -> UnitOfWorkFactory:
        return self.store.unit_of_work


@pytest.mark.postgres
class TestPostgresStoreWithoutPipelineContracts(AllContracts):
    """Every storage contract, each statement waiting for its answer."""

    @pytest.fixture(autouse=True)
    def _open(self, store: PostgresStore, shared_unpipelined: PostgresStore) -> None:
        self.store = shared_unpipelined

    def make_uow_factory(self) -> UnitOfWorkFactory:
        return self.store.unit_of_work


# --------------------------------------------------------------------------- scenarios


@pytest.mark.postgres
def test_a_reopened_store_has_everything(store: PostgresStore) -> None:
    check = everything_is_kept(store.unit_of_work)
    with PostgresStore(_dsn(), schema=store.schema, max_size=1) as reopened:
        assert reopened.schema_version == LATEST_VERSION
        check(reopened.unit_of_work)


@pytest.mark.postgres
def test_batches_follow_the_stock_book(store: PostgresStore) -> None:
    batches_follow_the_stock_book(store.unit_of_work)


@pytest.mark.postgres
@pytest.mark.parametrize("key", [False, True], ids=["no-key", "idempotency-key"])
def test_place_and_confirm_costs_the_same_few_statements_for_1_and_10_lines(
    store: PostgresStore, key: bool
) -> None:
    counts = []
    for lines in (1, 10):
        _empty(store)
        counts.append(place_and_confirm_statements(store, lines, key=key))
    assert counts[0] == counts[1] <= 10, counts


@pytest.mark.postgres
def test_processes_racing_on_one_database_never_oversell(store: PostgresStore) -> None:
    processes_never_oversell(store.unit_of_work, "postgres", _dsn(), store.schema)


# --------------------------------------------------------------------------- host connection


def _series_last(schema: str) -> list[tuple[Any, ...]]:
    """What another connection sees of the order number series."""
    with psycopg.connect(_dsn()) as other:
        return other.execute(f'SELECT series, last FROM "{schema}".order_number_series').fetchall()


def _take_number(uow: Any) -> int:
    return int(uow.numbers.next_number("SO-2026"))


@pytest.mark.postgres
def test_on_a_host_connection_units_of_work_are_savepoints_the_host_commits(
    postgres_dsn: str, schemas: Callable[[], str]
) -> None:
    schema = schemas()
    with psycopg.connect(postgres_dsn) as host:
        store = PostgresStore(connection=host, schema=schema)
        host.commit()  # the host decides: here, keep the schema
        assert in_uow(store.unit_of_work, _take_number) == 1  # savepoint released
        assert in_uow(store.unit_of_work, _take_number, commit=False) == 2  # rolled back to it
        assert host.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        assert _series_last(schema) == []  # nothing is visible before the host commits
        host.commit()
        assert _series_last(schema) == [("SO-2026", 1)]

        assert in_uow(store.unit_of_work, _take_number) == 2
        host.rollback()  # the host's rollback undoes a committed unit of work too
        assert _series_last(schema) == [("SO-2026", 1)]
        store.close()  # the host's connection stays open
        assert not host.closed


@pytest.mark.postgres
def test_a_failed_unit_of_work_leaves_the_host_transaction_usable(
    postgres_dsn: str, schemas: Callable[[], str]
) -> None:
    schema = schemas()
    message = OutboxMessage("O-1:1", "O-1", 1, "OrderPlaced", {}, T0)
    with psycopg.connect(postgres_dsn) as host:
        store = PostgresStore(connection=host, schema=schema)
        in_uow(store.unit_of_work, lambda uow: uow.outbox.append([message]))
        with pytest.raises(errors.IntegrityError):
            in_uow(store.unit_of_work, lambda uow: uow.outbox.append([message]))
        assert in_uow(store.unit_of_work, _take_number) == 1
        host.execute("SELECT 1")  # the host's transaction is not aborted
        host.commit()
    assert _series_last(schema) == [("SO-2026", 1)]
    with psycopg.connect(postgres_dsn) as other:
        assert other.execute(f'SELECT count(*) FROM "{schema}".outbox').fetchone() == (1,)


@pytest.mark.postgres
def test_an_autocommit_host_connection_must_open_a_transaction_first(
    postgres_dsn: str, schemas: Callable[[], str]
) -> None:
    schema = schemas()
    with psycopg.connect(postgres_dsn, autocommit=True) as host:
        with pytest.raises(errors.ProgrammingError, match="transaction"):
            PostgresStore(connection=host, schema=schema)
        with host.transaction():
            store = PostgresStore(connection=host, schema=schema)
            assert in_uow(store.unit_of_work, _take_number) == 1
    assert _series_last(schema) == [("SO-2026", 1)]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("driver_error", "ours"),
    [
        (psycopg.errors.SerializationFailure("could not serialize"), errors.OperationalError),
        (psycopg.errors.DeadlockDetected("deadlock detected"), errors.OperationalError),
        (psycopg.errors.LockNotAvailable("lock timeout"), errors.OperationalError),
        (psycopg.errors.QueryCanceled("statement timeout"), errors.OperationalError),
        (psycopg.errors.UniqueViolation("duplicate key"), errors.IntegrityError),
        (psycopg.errors.UndefinedTable("no table"), errors.ProgrammingError),
        (psycopg.errors.NumericValueOutOfRange("too big"), errors.DataError),
        (psycopg.InterfaceError("connection closed"), errors.InterfaceError),
    ],
)
def test_driver_errors_are_translated_by_their_pep_249_name(
    driver_error: Exception, ours: type[errors.StorageError]
) -> None:
    translated = translate_error(driver_error)
    assert type(translated) is ours
    assert str(driver_error) in str(translated)


def test_a_value_too_large_for_an_index_is_a_data_error_not_a_retried_operational_error() -> None:
    driver_error = psycopg.errors.ProgramLimitExceeded("index row requires 30064 bytes")
    translated = translate_driver_error(driver_error)
    assert type(translated) is errors.DataError
    assert translated.__cause__ is driver_error
    assert "index row requires 30064 bytes" in str(translated)


@pytest.mark.postgres
def test_a_lock_timeout_is_an_operational_error_caused_by_the_driver(store: PostgresStore) -> None:
    in_uow(store.unit_of_work, lambda uow: StockDesk(uow.stock).add_warehouse(Warehouse("W1")))
    in_uow(
        store.unit_of_work, lambda uow: StockDesk(uow.stock).receive("SKU-A", "W1", Decimal(5), T0)
    )
    impatient_dsn = psycopg.conninfo.make_conninfo(_dsn(), options="-c lock_timeout=100")
    plan = plan_for("O-1", ("L1", "SKU-A", "W1", 1))
    with PostgresStore(impatient_dsn, schema=store.schema, max_size=1) as impatient:
        with psycopg.connect(_dsn()) as holder:
            holder.execute(f'SELECT * FROM "{store.schema}".stock_items FOR UPDATE')
            with pytest.raises(errors.OperationalError) as caught:
                in_uow(
                    impatient.unit_of_work, lambda uow: StockDesk(uow.stock).reserve_plan(plan, T0)
                )
            assert isinstance(caught.value.__cause__, psycopg.errors.LockNotAvailable)
        in_uow(impatient.unit_of_work, lambda uow: StockDesk(uow.stock).reserve_plan(plan, T0))
    assert [r.quantity for r in in_uow(store.unit_of_work, lambda u: u.stock.reservations())] == [
        Decimal(1)
    ]


@pytest.mark.postgres
def test_a_write_sent_ahead_fails_with_its_own_error_type(store: PostgresStore) -> None:
    message = OutboxMessage("O-1:1", "O-1", 1, "OrderPlaced", {}, T0)
    in_uow(store.unit_of_work, lambda uow: uow.outbox.append([message]))
    with pytest.raises(errors.IntegrityError) as caught:
        in_uow(store.unit_of_work, lambda uow: uow.outbox.append([message]))
    assert isinstance(caught.value.__cause__, psycopg.errors.UniqueViolation)
    in_uow(store.unit_of_work, lambda uow: uow.orders.add(sample_order("O-1")))
    with pytest.raises(errors.ConflictError) as conflict:
        in_uow(store.unit_of_work, lambda uow: uow.orders.add(sample_order("O-1")))
    assert isinstance(conflict.value.__cause__, psycopg.errors.UniqueViolation)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(errors.ValidationError, match="exactly one"):
        PostgresStore()
    with pytest.raises(errors.ValidationError, match="exactly one"):
        PostgresStore("postgresql://nowhere", connection=object())  # type: ignore[arg-type]
    with pytest.raises(errors.ValidationError, match="schema"):
        PostgresStore("postgresql://nowhere", schema='x"; DROP TABLE orders; --')


def test_an_unreachable_server_is_an_operational_error() -> None:
    with pytest.raises(errors.OperationalError) as caught:
        PostgresStore("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1", timeout=1)
    assert isinstance(caught.value.__cause__, psycopg.Error)


# --------------------------------------------------------------------------- optional driver


def test_without_psycopg_the_adapter_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "salesorders.adapters.postgres")
    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.setitem(sys.modules, "psycopg_pool", None)
    with pytest.raises(ImportError, match=r"pip install 'salesorders\[postgres\]'"):
        importlib.import_module("salesorders.adapters.postgres")


def test_the_package_and_the_sqlite_store_work_without_psycopg() -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None; sys.modules['psycopg_pool'] = None\n"
        "import salesorders, salesorders.adapters, salesorders.adapters.sqlite as s\n"
        "with s.SQLiteStore() as store:\n"
        "    with store.unit_of_work() as uow:\n"
        "        print(uow.numbers.next_number('SO'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"


@pytest.mark.postgres
def test_a_snapshot_holds_its_rows_until_the_unit_of_work_ends(store: PostgresStore) -> None:
    """A plan made from a snapshot cannot be overtaken: another unit of work that wants the same
    stock rows waits (here: times out) until the first one ends."""
    in_uow(store.unit_of_work, lambda uow: StockDesk(uow.stock).add_warehouse(Warehouse("W1")))
    in_uow(
        store.unit_of_work, lambda uow: StockDesk(uow.stock).receive("SKU-A", "W1", Decimal(5), T0)
    )
    impatient_dsn = psycopg.conninfo.make_conninfo(_dsn(), options="-c lock_timeout=100")
    with PostgresStore(impatient_dsn, schema=store.schema, max_size=1) as other:
        with store.unit_of_work() as first:
            assert first.stock.snapshot(["SKU-A"]).available_at("SKU-A", "W1") == Decimal(5)
            with pytest.raises(errors.OperationalError):
                in_uow(
                    other.unit_of_work,
                    lambda uow: StockDesk(uow.stock).reserve_plan(
                        plan_for("O-2", ("L1", "SKU-A", "W1", 5)), T0
                    ),
                )
            StockDesk(first.stock).reserve_plan(plan_for("O-1", ("L1", "SKU-A", "W1", 5)), T0)
            first.commit()
        with pytest.raises(errors.InsufficientStockError):
            in_uow(
                other.unit_of_work,
                lambda uow: StockDesk(uow.stock).reserve_plan(
                    plan_for("O-2", ("L1", "SKU-A", "W1", 1)), T0
                ),
            )


@pytest.mark.postgres
def test_read_only_units_of_work_keep_the_prepared_statements(
    postgres_dsn: str, schemas: Callable[[], str]
) -> None:
    """A unit of work that changed nothing ends without ROLLBACK, so the connection keeps the
    statements the driver prepared (a ROLLBACK would make it deallocate them all)."""
    with PostgresStore(postgres_dsn, schema=schemas(), min_size=1, max_size=1) as store:
        for _ in range(8):
            assert in_uow(store.unit_of_work, lambda uow: uow.outbox.messages(), commit=False) == []
        assert store._pool is not None
        connection = store._pool.getconn()
        try:
            prepared = connection.execute("SELECT statement FROM pg_prepared_statements").fetchall()
            connection.commit()
        finally:
            store._pool.putconn(connection)
    assert any("outbox" in statement for (statement,) in prepared), prepared
