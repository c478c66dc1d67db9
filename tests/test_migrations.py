"""The schema is created and migrated by the library; upgrading keeps every row.

The upgrade tests build a database of every older version by hand (only the statements of the
migrations up to that version), write rows the way those versions stored them, then open the
store: it must migrate to the latest version, add what the newer migrations add, and show
exactly those rows.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import sqlite3
import threading
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from salesorders import errors
from salesorders.adapters._sql.dialect import Dialect, SQLiteDialect
from salesorders.adapters._sql.schema import LATEST_VERSION, MIGRATIONS, render_migration
from salesorders.adapters._sql.statements import Statements
from salesorders.adapters.postgres import PostgresDialect, PostgresStore
from salesorders.adapters.sqlite import SQLiteStore
from salesorders.domain.fulfilment import Shipment, ShipmentStatus, ShippedLine, TrackingEvent
from salesorders.domain.logistics_queries import (
    LateShipmentQuery,
    LeadTimeQuery,
    ShipmentQuery,
    select_late_shipments,
    select_lead_times,
    select_open_shipments,
)
from salesorders.domain.order import Order
from salesorders.domain.plan import Allocation, AllocationPlan, Backorder
from salesorders.domain.snapshot import IncomingStock
from salesorders.domain.stock import LedgerEntry, Movement, StockChange, StockItem
from salesorders.domain.warehouse import Warehouse
from salesorders.ports import IdempotencyRecord, OrderQuery, OutboxMessage, UnitOfWorkFactory
from salesorders.serialization import Serializer
from salesorders.testing.contracts import T0, sample_order
from test_service_support import line, make_service, new_order, stock_drift

ORDER = sample_order("O-1", lines=(("SKU-A", 2, "10.00"),))
ORDER.place("SO-2026-000007", T0)
ORDER.pull_events()
ORDER.version = 1


def _shipped_order() -> Order:
    """An order confirmed, then shipped from two warehouses: one shipment delivered, the other
    on its way and late from the day after T0 (stored before version 6, it is backfilled)."""
    order = sample_order("O-2", lines=(("SKU-A", 2, "10.00"),))
    order.place("SO-2026-000008", T0)
    order.confirm(T0 + dt.timedelta(hours=1))
    for number, warehouse, hours in ((1, "W1", 2), (2, "W2", 3)):
        at = T0 + dt.timedelta(hours=hours)
        line = ShippedLine("L1", "SKU-A", Decimal(1))
        order.add_shipment(
            Shipment(f"O-2-S{number}", warehouse, (line,), at, "swift", promised_date=T0.date())
        )
    order.track("O-2-S1", TrackingEvent(ShipmentStatus.DELIVERED, T0 + dt.timedelta(hours=20)))
    order.track("O-2-S2", TrackingEvent(ShipmentStatus.IN_TRANSIT, T0 + dt.timedelta(hours=5)))
    order.pull_events()
    order.version = 1
    return order


SHIPPED = _shipped_order()


def _waiting_order() -> Order:
    """An order confirmed with 1 of its 3 units allocated: 2 wait for stock (stored before
    version 5, it is found as waiting once the migration has read its document)."""
    order = sample_order("O-3", lines=(("SKU-B", 3, "5.00"),))
    order.place("SO-2026-000009", T0)
    plan = AllocationPlan(
        "O-3",
        (Allocation("L1", "SKU-B", "W1", Decimal(1)),),
        (Backorder("L1", "SKU-B", Decimal(2)),),
    )
    order.confirm(T0 + dt.timedelta(hours=2), plan=plan)
    order.pull_events()
    order.version = 1
    return order


WAITING = _waiting_order()


def _version_one_rows(dialect: Dialect) -> list[tuple[str, tuple[Any, ...]]]:
    """Rows as version 1 of the library wrote them, in ``dialect``'s value formats (later
    versions added indexes, and columns with defaults, so they store these rows the same way;
    the columns are named for that)."""
    d = dialect
    serializer = Serializer()
    doc = json.dumps(serializer.dump(ORDER))
    warehouse = json.dumps({**serializer.dump(Warehouse("W1", name="Main")), "ships_to": []})
    return [
        ("INSERT INTO {p}warehouses (id, doc) VALUES (?, CAST(? AS {json}))", ("W1", warehouse)),
        (
            "INSERT INTO {p}stock_items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                "SKU-A",
                "W1",
                d.dec(Decimal(10)),
                d.dec(Decimal(2)),
                d.dec(Decimal(0)),
                None,
                None,
                0,
                0,
            ),
        ),
        (
            "INSERT INTO {p}reservations (id, order_id, line_id, sku, warehouse_id, batch_id, "
            "quantity, released, consumed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                "O-1/L1/W1",
                "O-1",
                "L1",
                "SKU-A",
                "W1",
                None,
                d.dec(Decimal(2)),
                d.dec(Decimal(0)),
                d.dec(Decimal(0)),
            ),
        ),
        (
            "INSERT INTO {p}stock_ledger (movement, sku, warehouse_id, on_hand_delta, "
            "reserved_delta, at, actor, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                "receipt",
                "SKU-A",
                "W1",
                d.dec(Decimal(10)),
                d.dec(Decimal(0)),
                d.time(T0),
                "",
                "PO-1",
            ),
        ),
        (
            "INSERT INTO {p}stock_ledger (movement, sku, warehouse_id, on_hand_delta, "
            "reserved_delta, at, actor, reason, order_id, line_id, reservation_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                "reservation",
                "SKU-A",
                "W1",
                d.dec(Decimal(0)),
                d.dec(Decimal(2)),
                d.time(T0),
                "",
                "",
                "O-1",
                "L1",
                "O-1/L1/W1",
            ),
        ),
        (
            "INSERT INTO {p}orders (id, number, customer_id, state, currency, created_at, "
            "placed_at, version, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS {json}))",
            ("O-1", ORDER.number, "C-1", "placed", "USD", d.time(T0), d.time(T0), 1, doc),
        ),
        (
            "INSERT INTO {p}orders (id, number, customer_id, state, currency, created_at, "
            "placed_at, version, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS {json}))",
            (
                "O-2",
                SHIPPED.number,
                "C-1",
                SHIPPED.state,
                "USD",
                d.time(T0),
                d.time(T0),
                1,
                json.dumps(serializer.dump(SHIPPED)),
            ),
        ),
        (
            "INSERT INTO {p}orders (id, number, customer_id, state, currency, created_at, "
            "placed_at, version, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS {json}))",
            (
                "O-3",
                WAITING.number,
                "C-1",
                WAITING.state,
                "USD",
                d.time(T0),
                d.time(T0),
                1,
                json.dumps(serializer.dump(WAITING)),
            ),
        ),
        ("INSERT INTO {p}order_number_series VALUES (?, ?)", ("SO-2026", 7)),
        (
            "INSERT INTO {p}outbox (event_id, stream_id, sequence, event_type, payload, "
            "occurred_at, attempts, status, last_error, next_attempt_at, delivered_at) "
            "VALUES (?, ?, ?, ?, CAST(? AS {json}), ?, ?, ?, ?, ?, ?)",
            (
                "O-1:1",
                "O-1",
                1,
                "OrderPlaced",
                '{"order_id": "O-1"}',
                d.time(T0),
                0,
                "pending",
                None,
                None,
                None,
            ),
        ),
        (
            "INSERT INTO {p}idempotency VALUES (?, ?, ?, CAST(? AS {json}), ?, ?)",
            (
                "K-1",
                "PlaceOrder",
                "ab" * 32,
                '{"value": 1}',
                d.time(T0),
                d.time(T0 + dt.timedelta(days=1)),
            ),
        ),
    ]


def _assert_version_one_rows_are_kept(factory: UnitOfWorkFactory, version: int) -> None:
    with factory() as uow:
        assert uow.orders.get("O-1") == ORDER
        assert uow.orders.get_by_number("SO-2026-000007").id == "O-1"
        assert uow.stock.warehouses() == {"W1": Warehouse("W1", name="Main")}
        assert uow.stock.items() == (StockItem("SKU-A", "W1", Decimal(10), Decimal(2)),)
        assert [(r.id, r.open) for r in uow.stock.reservations("O-1")] == [
            ("O-1/L1/W1", Decimal(2))
        ]
        assert uow.stock.ledger()[0] == LedgerEntry(
            1, Movement.RECEIPT, "SKU-A", "W1", Decimal(10), Decimal(0), T0, reason="PO-1"
        )
        assert stock_drift(uow) == ()
        assert uow.outbox.messages() == [
            OutboxMessage("O-1:1", "O-1", 1, "OrderPlaced", {"order_id": "O-1"}, T0)
        ]
        assert uow.outbox.due(T0)[0].event_id == "O-1:1"
        assert uow.idempotency.get("K-1", T0) == IdempotencyRecord(
            "K-1", "PlaceOrder", "ab" * 32, {"value": 1}, T0, T0 + dt.timedelta(days=1)
        )
        assert uow.numbers.next_number("SO-2026") == 8  # the series goes on, no reuse
        if version < 5:  # stored before version 5 knew waiting orders: read from the documents
            assert [o.id for o in uow.orders.waiting(10)] == ["O-3"]
    if version < 6:  # stored before version 6 kept shipment rows: read from the documents
        _assert_logistics_are_backfilled(factory)


def _assert_logistics_are_backfilled(factory: UnitOfWorkFactory) -> None:
    """Orders stored before version 6 show in the logistics listings as the reference says."""
    orders = [ORDER, SHIPPED, WAITING]
    late = LateShipmentQuery(T0.date() + dt.timedelta(days=1))
    with factory() as uow:
        assert uow.orders.get("O-2") == SHIPPED
        shipments = uow.orders.open_shipments(ShipmentQuery())
        assert [s.shipment_id for s in shipments.items] == ["O-2-S2"]
        assert shipments == select_open_shipments(orders, ShipmentQuery())
        assert uow.orders.late_shipments(late) == select_late_shipments(orders, late)
        assert len(uow.orders.late_shipments(late).items) == 1
        leads = uow.orders.lead_times(LeadTimeQuery())
        assert leads == select_lead_times(orders, LeadTimeQuery())
        assert [(x.order_id, x.confirmed_at, x.last_shipped_at) for x in leads.items] == [
            ("O-1", None, None),
            ("O-2", T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=3)),
            ("O-3", T0 + dt.timedelta(hours=2), None),
        ]


# --------------------------------------------------------------------------- the list itself


#: Indexes added after version 1, with the version that added them.
_INDEXES_SINCE = {
    "orders_by_created": 2,
    "outbox_pending": 2,
    "reservations_open_by_item": 4,
    "orders_waiting": 5,
    "shipments_open": 6,
    "shipments_late": 6,
    "orders_by_placed": 6,
    "order_tickets_open": 11,
    "outbox_deliveries_by_stream": 10,
    "outbox_delivered": 10,
    "audit_log_by_time": 12,
}
#: Indexes a migration dropped: (name, version that created it, version that dropped it).
_INDEXES_DROPPED = (("stock_ledger_by_item", 2, 7), ("orders_by_customer_state", 3, 8))
#: Indexes a migration dropped from the databases of one store only.
_SQLITE_INDEXES_DROPPED = (("reservations_by_order", 1, 14),)
_POSTGRES_INDEXES_DROPPED = (("reservations_by_order", 1, 15),)
_OLDER_VERSIONS = range(1, LATEST_VERSION)


def _dropped(sqlite: bool) -> tuple[tuple[str, int, int], ...]:
    own = _SQLITE_INDEXES_DROPPED if sqlite else _POSTGRES_INDEXES_DROPPED
    return _INDEXES_DROPPED + own


def _index_changes_after(version: int, sqlite: bool) -> tuple[set[str], set[str]]:
    """The indexes the migrations after ``version`` add, and those they drop that it has."""
    missing = {name for name, since in _INDEXES_SINCE.items() if since > version}
    dropped = {name for name, since, gone in _dropped(sqlite) if since <= version < gone}
    return missing, dropped


def test_migrations_are_numbered_from_one_without_gaps() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert LATEST_VERSION == MIGRATIONS[-1].version >= 3
    assert all(m.description and (m.statements or m.sqlite or m.postgresql) for m in MIGRATIONS)
    assert all("'" not in m.description for m in MIGRATIONS)  # written as an SQL literal


# --------------------------------------------------------------------------- SQLite


def _sqlite_at_version(path: Path, version: int) -> None:
    """A database as the library of schema ``version`` left it, holding the version-1 rows."""
    dialect = SQLiteDialect()
    with sqlite3.connect(path) as raw:
        for migration in MIGRATIONS[:version]:
            for statement in render_migration(dialect, migration):
                raw.execute(statement)
        for template, params in _version_one_rows(dialect):
            raw.execute(dialect.render(template), params)
    raw.close()


def _sqlite_versions(path: Path) -> list[int]:
    with sqlite3.connect(path) as raw:
        rows = raw.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    raw.close()
    return [row[0] for row in rows]


def _sqlite_indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as raw:
        rows = raw.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    raw.close()
    return {row[0] for row in rows}


@pytest.mark.parametrize("version", _OLDER_VERSIONS)
def test_sqlite_upgrades_an_older_database_and_keeps_its_rows(tmp_path: Path, version: int) -> None:
    path = tmp_path / f"v{version}.db"
    _sqlite_at_version(path, version)
    assert _sqlite_versions(path) == list(range(1, version + 1))
    missing, dropped = _index_changes_after(version, sqlite=True)
    before = _sqlite_indexes(path)
    # every upgrade changes indexes, but for the ones from 8 (version 9 adds a table and columns),
    # from 12 (version 13 adds the customers table, keyed by its primary key alone) and from 14
    # (version 15 changes PostgreSQL databases only)
    assert (missing or dropped or version in (8, 12, 14)) and not missing & before
    assert dropped <= before
    with SQLiteStore(path) as store:
        assert store.schema_version == LATEST_VERSION
        _assert_version_one_rows_are_kept(store.unit_of_work, version)
    assert _sqlite_versions(path) == list(range(1, LATEST_VERSION + 1))
    after = _sqlite_indexes(path)
    assert set(_INDEXES_SINCE) <= after and not {name for name, *_ in _dropped(True)} & after


def test_sqlite_expected_receipts_gain_batch_and_transfer_columns(tmp_path: Path) -> None:
    """Version 4: an expected receipt stored before it reads back with no batch or transfer,
    and the upgraded table holds receipts that carry them."""
    path = tmp_path / "v3.db"
    _sqlite_at_version(path, 3)
    with sqlite3.connect(path) as raw:
        raw.execute(
            "INSERT INTO incoming (id, sku, warehouse_id, quantity, eta) "
            "VALUES ('IN-1', 'SKU-A', 'W1', '5', '2026-03-09')"
        )
    raw.close()
    with SQLiteStore(path) as store:
        with store.unit_of_work() as uow:
            assert uow.stock.incoming() == (
                IncomingStock("IN-1", "SKU-A", "W1", Decimal(5), dt.date(2026, 3, 9)),
            )
            moving = IncomingStock(
                "T-1", "SKU-A", "W1", Decimal(2), dt.date(2026, 3, 10), "B1", None, "W2"
            )
            uow.stock.apply(StockChange(expected=(moving,)))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.stock.lock_incoming("T-1") == moving


def _sqlite_plan(path: Path, sql: str, params: list[Any]) -> str:
    with sqlite3.connect(path) as raw:
        rows = raw.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    raw.close()
    return " / ".join(row[-1] for row in rows)


def test_sqlite_lists_a_customers_orders_in_one_state_through_the_index_by_customer(
    tmp_path: Path,
) -> None:
    """Version 8 dropped the index by customer and state: the listing reads the customer's
    orders through the index by customer, in listing order, and filters the state."""
    path = tmp_path / "listing.db"
    _sqlite_at_version(path, 2)
    statements = Statements(SQLiteDialect())
    first_page = statements.order_list(True, True, False, False, False)
    next_page = statements.order_list(True, True, False, False, True)
    first_params: list[Any] = ["C-1", "placed", 50]
    next_params: list[Any] = ["C-1", "placed", SQLiteDialect().time(T0), "O-1", 50]
    with SQLiteStore(path) as store, store.unit_of_work() as uow:
        page = uow.orders.list(OrderQuery(customer_id="C-1", state="placed"))
        assert [order.id for order in page.orders] == ["O-1"]
        assert uow.orders.list(OrderQuery(customer_id="C-1", state="draft")).orders == ()
    assert "orders_by_customer_state" not in _sqlite_indexes(path)
    for sql, params in ((first_page, first_params), (next_page, next_params)):
        plan = _sqlite_plan(path, sql, params)
        assert "USING INDEX orders_by_customer (customer_id=?" in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # the index gives the listing order too


@pytest.mark.parametrize("filters", list(itertools.product([False, True], repeat=5)))
def test_sqlite_every_order_listing_searches_an_index_in_listing_order(
    tmp_path: Path, filters: tuple[bool, bool, bool, bool, bool]
) -> None:
    """Each combination of customer, state, created from / to and cursor is read through an
    index that also gives the listing order: no scan of the table, no sort."""
    path = tmp_path / "plans.db"
    SQLiteStore(path).close()
    sql = Statements(SQLiteDialect()).order_list(*filters)
    plan = _sqlite_plan(path, sql, ["x"] * sql.count("?"))
    customer, state = filters[0], filters[1]
    expected = (
        "orders_by_customer" if customer else "orders_by_state" if state else "orders_by_created"
    )
    assert f"USING INDEX {expected}" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
    if any(filters):
        assert plan.startswith("SEARCH"), plan


def test_sqlite_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "again.db"
    for _ in range(3):
        with SQLiteStore(path) as store:
            assert store.schema_version == LATEST_VERSION
    assert _sqlite_versions(path) == list(range(1, LATEST_VERSION + 1))


def test_sqlite_a_failed_migration_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "blocked.db"
    _sqlite_at_version(path, 1)
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE orders_by_state (x)")  # takes the name an index of v2 needs
    raw.close()
    with pytest.raises(errors.OperationalError) as caught:
        SQLiteStore(path)
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    assert _sqlite_versions(path) == [1]
    assert "orders_by_created" not in _sqlite_indexes(path)  # created before the failure: undone


def test_sqlite_a_database_from_a_newer_library_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("INSERT INTO schema_version VALUES (999, 'from the future', 'now')")
    raw.close()
    with pytest.raises(errors.NotSupportedError, match="upgrade salesorders"):
        SQLiteStore(path)


@pytest.mark.parametrize("attempt", range(20))
def test_sqlite_stores_opening_one_new_file_at_once_migrate_it_once(
    tmp_path: Path, attempt: int
) -> None:
    # Several openers switching a brand-new file to WAL at once: SQLite answers the losers
    # "database is locked" without waiting, which the store must absorb (a few attempts, since
    # the collision depends on timing).
    path = tmp_path / f"together-{attempt}.db"
    failures: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_store() -> None:
        barrier.wait()
        try:
            SQLiteStore(path, busy_timeout=30).close()
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert _sqlite_versions(path) == list(range(1, LATEST_VERSION + 1))


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture
def schema(postgres_schema: str) -> str:
    return postgres_schema


def _pg_versions(dsn: str, schema: str) -> list[int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(f'SELECT version FROM "{schema}".schema_version ORDER BY 1').fetchall()
    return [row[0] for row in rows]


def _pg_indexes(dsn: str, schema: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s", (schema,)
        ).fetchall()
    return {row[0] for row in rows}


@pytest.mark.postgres
@pytest.mark.parametrize("version", _OLDER_VERSIONS)
def test_postgres_upgrades_an_older_schema_and_keeps_its_rows(
    postgres_dsn: str, schema: str, version: int
) -> None:
    dialect = PostgresDialect(f'"{schema}".')
    with psycopg.connect(postgres_dsn) as raw:
        raw.execute(f'CREATE SCHEMA "{schema}"')
        for migration in MIGRATIONS[:version]:
            for statement in render_migration(dialect, migration):
                raw.execute(statement.encode())
        for template, params in _version_one_rows(dialect):
            psycopg.RawCursor(raw).execute(dialect.render(template), params)
    assert _pg_versions(postgres_dsn, schema) == list(range(1, version + 1))
    missing, dropped = _index_changes_after(version, sqlite=False)
    before = _pg_indexes(postgres_dsn, schema)
    # every upgrade changes indexes, but for the ones from 8 (version 9 adds a table and columns)
    # and from 12 (version 13 adds the customers table, keyed by its primary key alone)
    assert (missing or dropped or version in (8, 12)) and not missing & before
    assert dropped <= before and "reservations_by_order" in before
    with PostgresStore(postgres_dsn, schema=schema, max_size=1) as store:
        assert store.schema_version == LATEST_VERSION
        _assert_version_one_rows_are_kept(store.unit_of_work, version)
    assert _pg_versions(postgres_dsn, schema) == list(range(1, LATEST_VERSION + 1))
    after = _pg_indexes(postgres_dsn, schema)
    assert set(_INDEXES_SINCE) <= after and not {name for name, *_ in _dropped(False)} & after
    assert _pg_reservation_id_collation(postgres_dsn, schema) == "C"


@pytest.mark.postgres
def test_postgres_stores_opening_one_new_schema_at_once_migrate_it_once(
    postgres_dsn: str, schema: str
) -> None:
    failures: list[BaseException] = []
    barrier = threading.Barrier(3)

    def open_store() -> None:
        barrier.wait()
        try:
            PostgresStore(postgres_dsn, schema=schema, max_size=1).close()
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert _pg_versions(postgres_dsn, schema) == list(range(1, LATEST_VERSION + 1))


@pytest.mark.postgres
def test_postgres_a_schema_from_a_newer_library_is_refused(postgres_dsn: str, schema: str) -> None:
    PostgresStore(postgres_dsn, schema=schema, max_size=1).close()
    with psycopg.connect(postgres_dsn) as raw:
        raw.execute(
            f"INSERT INTO \"{schema}\".schema_version VALUES (999, 'from the future', now())"
        )
    with pytest.raises(errors.NotSupportedError, match="upgrade salesorders"):
        PostgresStore(postgres_dsn, schema=schema, max_size=1)


# --------------------------------------------------------------------------- version 14


def _stray_event_id(execute: Any, dialect: Dialect) -> None:
    """An outbox message a host wrote with an id that names no stream and sequence."""
    execute(
        dialect.render(
            "INSERT INTO {p}outbox (event_id, stream_id, sequence, event_type, payload, "
            "occurred_at, attempts, status) VALUES ('host-7', 'O-9', 1, 'OrderPlaced', "
            "CAST('{{}}' AS {json}), '2026-03-01T09:00:00+00:00', 0, 'pending')"
        )
    )


def test_sqlite_keys_the_outbox_by_stream_and_sequence_alone(tmp_path: Path) -> None:
    path = tmp_path / "v13.db"
    _sqlite_at_version(path, 13)
    SQLiteStore(path).close()
    with sqlite3.connect(path) as raw:
        keys = [
            (name, [column for _, _, column in raw.execute(f"PRAGMA index_info('{name}')")])
            for _, name, unique, *_ in raw.execute("PRAGMA index_list('outbox')")
            if unique
        ]
        outbox_indexes = {
            row[0]
            for row in raw.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'outbox'")
        }
    raw.close()
    assert keys == [("sqlite_autoindex_outbox_1", ["stream_id", "sequence"])]
    assert outbox_indexes == {
        "outbox",
        "sqlite_autoindex_outbox_1",
        "outbox_pending",
        "outbox_dead",
        "outbox_delivered",
    }


def test_sqlite_an_outbox_id_naming_no_stream_and_sequence_stops_the_upgrade(
    tmp_path: Path,
) -> None:
    path = tmp_path / "stray.db"
    _sqlite_at_version(path, 13)
    with sqlite3.connect(path) as raw:
        _stray_event_id(raw.execute, SQLiteDialect())
    raw.close()
    with pytest.raises(errors.DataError, match=r"event_id that is not .*'host-7' at 'O-9', 1\)"):
        SQLiteStore(path)
    assert _sqlite_versions(path) == list(range(1, 14))
    assert "reservations_by_order" in _sqlite_indexes(path)  # the whole step was undone
    with sqlite3.connect(path) as raw:
        ids = [row[0] for row in raw.execute("SELECT event_id FROM outbox ORDER BY event_id")]
    raw.close()
    assert ids == ["O-1:1", "host-7"]


@pytest.mark.postgres
def test_postgres_keys_the_outbox_by_stream_and_sequence_alone(
    postgres_dsn: str, schema: str
) -> None:
    PostgresStore(postgres_dsn, schema=schema, max_size=1).close()
    with psycopg.connect(postgres_dsn) as conn:
        rows = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = %s AND tablename = 'outbox'",
            (schema,),
        ).fetchall()
    indexes = dict(rows)
    assert set(indexes) == {"outbox_pkey", "outbox_pending", "outbox_dead", "outbox_delivered"}
    assert indexes["outbox_pkey"].endswith("USING btree (stream_id, sequence)")


@pytest.mark.postgres
def test_postgres_an_outbox_id_naming_no_stream_and_sequence_stops_the_upgrade(
    postgres_dsn: str, schema: str
) -> None:
    dialect = PostgresDialect(f'"{schema}".')
    with psycopg.connect(postgres_dsn) as raw:
        raw.execute(f'CREATE SCHEMA "{schema}"')
        for migration in MIGRATIONS[:13]:
            for statement in render_migration(dialect, migration):
                raw.execute(statement.encode())
        _stray_event_id(lambda sql: raw.execute(sql.encode()), dialect)
    with pytest.raises(errors.DataError, match=r"event_id that is not .*'host-7' at 'O-9', 1\)"):
        PostgresStore(postgres_dsn, schema=schema, max_size=1)
    assert _pg_versions(postgres_dsn, schema) == list(range(1, 14))
    with psycopg.connect(postgres_dsn) as conn:
        (count,) = conn.execute(f'SELECT COUNT(*) FROM "{schema}".outbox').fetchone() or (0,)
    assert count == 1
    assert "outbox_stream_id_sequence_key" in _pg_indexes(postgres_dsn, schema)


# --------------------------------------------------------------------------- version 15


def _pg_reservation_id_collation(dsn: str, schema: str) -> str | None:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT collation_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = 'reservations' AND column_name = 'id'",
            (schema,),
        ).fetchone()
    return None if row is None else row[0]


@pytest.mark.postgres
def test_postgres_finds_an_orders_reservations_by_id_on_a_database_that_ignores_punctuation(
    postgres_dsn: str,
) -> None:
    """The reservations of "O-1" are the ids from "O-1/" up to "O-10" byte by byte; a database
    whose default collation ignores punctuation sorts "O-1/L1/W1" after "O-10", so the ids'
    column must compare by bytes whatever the database's own collation."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = f"so_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        admin.execute(
            f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu "
            "ICU_LOCALE 'en-US-u-ka-shifted' LOCALE 'C.UTF-8'"
        )
    try:
        dsn = make_conninfo(**{**conninfo_to_dict(postgres_dsn), "dbname": name})
        with psycopg.connect(dsn) as conn:
            (ignored,) = conn.execute("SELECT 'O-1/L1/W1' < 'O-10'").fetchone() or (None,)
        assert ignored is False  # the database's own collation would miss the reservation
        with PostgresStore(dsn, max_size=1) as store:
            service, _, _ = make_service(store, stock={("SKU-A", "W1"): 5})
            service.handle(new_order(line("SKU-A", 2), order_id="O-1", confirm=True))
            with store.unit_of_work() as uow:
                assert [(r.id, r.open) for r in uow.stock.reservations("O-1")] == [
                    ("O-1/L1/W1", Decimal(2))
                ]
        assert _pg_reservation_id_collation(dsn, "salesorders") == "C"
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
