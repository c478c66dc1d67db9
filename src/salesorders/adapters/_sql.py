"""What the SQLite and PostgreSQL adapters share: schema, migrations, dialects, row mapping,
error translation, and the repositories themselves.

Each adapter supplies a :class:`Dialect` (how its database spells types, bulk rows and row
locks) and a :class:`Session` (how a statement reaches its driver); everything else is here, so
both stores behave the same way and are proven by the same contract suites.

Storage layout (one row per fact, quantities exact)::

    orders              id, number (unique), customer_id, state, currency, created_at, placed_at,
                        version, doc (the order as the serializer's JSON document)
    order_number_series series, last                         gap-free numbers, taken in the UoW
    warehouses          id, doc
    stock_items         sku, warehouse_id, on_hand, reserved, safety_stock, reorder_point,
                        reorder_quantity, low_stock, batch_count
    batches             sku, warehouse_id, batch_id, expiry, on_hand, reserved
    incoming            id, sku, warehouse_id, quantity, eta
    reservations        id, order_id, line_id, sku, warehouse_id, batch_id, quantity, released,
                        consumed
    stock_ledger        sequence, movement, deltas, at, ids ...   append-only
    outbox              event_id, stream_id, sequence, event_type, payload, occurred_at, attempts,
                        status, last_error, next_attempt_at, delivered_at
    idempotency         key, command, fingerprint, result, created_at, expires_at
    schema_version      version, description, applied_at

**No oversell.** ``reserve`` reads the stock rows of the whole plan in one statement (PostgreSQL:
``SELECT ... ORDER BY sku, warehouse_id FOR UPDATE``, so locks are always taken in (SKU,
warehouse) order and two plans cannot deadlock; SQLite: the unit of work already holds the
database's single write lock), checks the summed demand per (SKU, warehouse, batch) in Python,
and writes every row with one ``UPDATE ... FROM (VALUES ...)`` plus multi-row inserts (on
PostgreSQL all in one statement). ``snapshot`` locks the rows it reads the same way, so the plan
an allocation policy makes from it still fits when it is reserved. Quantities never pass
through floating point: PostgreSQL stores ``NUMERIC``, SQLite stores decimal strings and all
arithmetic happens on :class:`~decimal.Decimal` in Python.
"""

from __future__ import annotations

import abc
import base64
import binascii
import contextlib
import datetime as dt
import functools
import json
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType, TracebackType
from typing import Any, ClassVar, Final, Self

import attrs

from salesorders import errors
from salesorders.domain.checks import aware_time, require_text
from salesorders.domain.money import to_quantity
from salesorders.domain.order import Order
from salesorders.domain.plan import AllocationPlan
from salesorders.domain.snapshot import AvailableBatch, IncomingStock, StockSnapshot
from salesorders.domain.stock import (
    Batch,
    LedgerEntry,
    LowStock,
    Movement,
    Reservation,
    StockItem,
    StockLevels,
    find_shortages,
    reservable_batches,
)
from salesorders.domain.warehouse import Warehouse
from salesorders.ports import IdempotencyRecord, OrderPage, OrderQuery, OutboxMessage
from salesorders.serialization import Serializer

__all__ = [
    "LATEST_VERSION",
    "MIGRATIONS",
    "Dialect",
    "Migration",
    "PostgresDialect",
    "SQLiteDialect",
    "Session",
    "SqlIdempotencyStore",
    "SqlOrderNumbers",
    "SqlOrderRepository",
    "SqlOutboxStore",
    "SqlStockRepository",
    "SqlUnitOfWork",
    "StoreConfig",
    "migrate",
    "render_migration",
    "schema_version",
    "translate_error",
]

_ZERO: Final = Decimal(0)
_UTC: Final = dt.UTC

ItemKey = tuple[str, str]
BucketKey = tuple[str, str, str | None]
Row = tuple[Any, ...]


# --------------------------------------------------------------------------- error translation

_DRIVER_ERRORS: Final[Mapping[str, type[errors.StorageError]]] = {
    "OperationalError": errors.OperationalError,
    "IntegrityError": errors.IntegrityError,
    "ProgrammingError": errors.ProgrammingError,
    "DataError": errors.DataError,
    "InternalError": errors.InternalError,
    "NotSupportedError": errors.NotSupportedError,
    "InterfaceError": errors.InterfaceError,
    "DatabaseError": errors.DatabaseError,
}

_HINTS: Final[Mapping[type[errors.StorageError], str]] = {
    errors.OperationalError: (
        "the database was busy, a lock or statement timed out, or the connection failed; "
        "retry the command"
    ),
    errors.IntegrityError: "a row with the same key is already stored, or a constraint refused it",
    errors.ProgrammingError: "the schema does not match this library; open the store to migrate it",
    errors.DataError: "a value does not fit its column",
    errors.InterfaceError: "the connection is closed or unusable; open a new one",
}


def translate_error(error: BaseException) -> errors.StorageError:
    """The :class:`~salesorders.errors.StorageError` subclass named like the driver's PEP 249
    class of ``error`` (serialization failures and deadlocks are ``OperationalError``s).

    Raise it ``from error`` so the driver's error stays the ``__cause__``.
    """
    target: type[errors.StorageError] = errors.StorageError
    for cls in type(error).__mro__:
        found = _DRIVER_ERRORS.get(cls.__name__)
        if found is not None:
            target = found
            break
    hint = _HINTS.get(target, "")
    message = f"{type(error).__name__}: {str(error).strip()}"
    return target(f"{message}; {hint}" if hint else message)


# --------------------------------------------------------------------------- value codecs


def _utc_text(at: dt.datetime) -> str:
    """Fixed-width ISO 8601 in UTC: sorts as text in the same order as the instants."""
    return at.astimezone(_UTC).isoformat(timespec="microseconds")


def _dec(value: Any) -> Decimal:
    return value if type(value) is Decimal else Decimal(value)


def _opt_dec(value: Any) -> Decimal | None:
    return None if value is None else _dec(value)


def _time(value: Any) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def _opt_time(value: Any) -> dt.datetime | None:
    return None if value is None else _time(value)


def _day(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON data")


_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_json_default)
_json_text: Final = _ENCODER.encode


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


# --------------------------------------------------------------------------- dialects


class Dialect(abc.ABC):
    """How one database spells the shared SQL: column types, typed rows, row locks, values.

    Statement templates use ``?`` for parameters, ``{p}`` for the table prefix (the schema) and
    ``{text}``, ``{dec}``, ``{int}``, ``{ts}``, ``{date}``, ``{json}`` for column types.
    """

    name: ClassVar[str]
    types: ClassVar[Mapping[str, str]]
    #: Appended to a stock row read inside ``reserve`` / ``release`` (PostgreSQL: row locks).
    lock_items: ClassVar[str] = ""
    lock_rows: ClassVar[str] = ""
    #: The column that orders reservations as they were made.
    position: ClassVar[str]
    #: The most parameters one statement may carry.
    max_params: ClassVar[int]
    #: ``reserve`` writes items, batches, reservations and ledger entries in one statement.
    writes_in_one_statement: ClassVar[bool] = False

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def render(self, template: str) -> str:
        """The template with this dialect's table prefix and column types filled in."""
        return template.format(p=self.prefix, position=self.position, **self.types)

    def rows(self, types: Sequence[str], count: int) -> str:
        """A ``VALUES`` list of ``count`` rows of columns of the logical ``types``."""
        one = "(" + ", ".join("?" * len(types)) + ")"
        return "VALUES " + ", ".join([one] * count)

    @staticmethod
    def pack(rows: Sequence[Sequence[Any]], width: int) -> list[Any]:
        """The parameters for :meth:`rows`: the rows' values in order."""
        return [value for row in rows for value in row]

    def rows_per_statement(self, width: int) -> int:
        return max(1, self.max_params // max(width, 1))

    @abc.abstractmethod
    def dec(self, value: Decimal) -> Any: ...

    @abc.abstractmethod
    def time(self, value: dt.datetime) -> Any: ...

    @abc.abstractmethod
    def day(self, value: dt.date) -> Any: ...

    def opt_dec(self, value: Decimal | None) -> Any:
        return None if value is None else self.dec(value)

    def opt_time(self, value: dt.datetime | None) -> Any:
        return None if value is None else self.time(value)

    def opt_day(self, value: dt.date | None) -> Any:
        return None if value is None else self.day(value)


class SQLiteDialect(Dialect):
    """SQLite: decimals and times as text (times in UTC, fixed width), bulk rows as VALUES."""

    name = "sqlite"
    types = MappingProxyType(
        {
            "text": "TEXT",
            "dec": "TEXT",
            "int": "INTEGER",
            "ts": "TEXT",
            "date": "TEXT",
            "json": "TEXT",
            "ledger_key": "INTEGER PRIMARY KEY",
            "position_column": "",
        }
    )
    position = "rowid"
    max_params = 32766

    def dec(self, value: Decimal) -> Any:
        return str(value)

    def __init__(self, prefix: str = "") -> None:
        super().__init__(prefix)
        self._last_time: tuple[dt.datetime | None, str] = (None, "")

    def time(self, value: dt.datetime) -> Any:
        # One unit of work stamps many rows with the same moment: convert it once.
        last = self._last_time
        if last[0] is value:
            return last[1]
        text = _utc_text(value)
        self._last_time = (value, text)
        return text

    def day(self, value: dt.date) -> Any:
        return value.isoformat()


class PostgresDialect(Dialect):
    """PostgreSQL: NUMERIC, TIMESTAMPTZ, JSONB, row locks; bulk rows as typed ``VALUES``."""

    name = "postgresql"
    types = MappingProxyType(
        {
            "text": "TEXT",
            "dec": "NUMERIC",
            "int": "BIGINT",
            "ts": "TIMESTAMPTZ",
            "date": "DATE",
            "json": "JSONB",
            "ledger_key": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
            "position_column": ", position BIGINT GENERATED ALWAYS AS IDENTITY",
        }
    )
    lock_items = " FOR UPDATE OF i"
    lock_rows = " FOR UPDATE"
    writes_in_one_statement = True
    position = "position"
    max_params = 65535

    def render(self, template: str) -> str:
        """PostgreSQL's own numbered parameters (``$1``, ``$2`` ...): the driver then passes the
        text through untouched instead of parsing long multi-row statements every time."""
        parts = super().render(template).split("?")
        return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))

    def rows(self, types: Sequence[str], count: int) -> str:
        """``VALUES`` whose first row casts each column to its type, which the rest follow."""
        first = "(" + ", ".join(f"?::{self.types[kind]}" for kind in types) + ")"
        rest = "(" + ", ".join("?" * len(types)) + ")"
        return "VALUES " + ", ".join([first, *[rest] * (count - 1)])

    def dec(self, value: Decimal) -> Any:
        return value

    def time(self, value: dt.datetime) -> Any:
        return value

    def day(self, value: dt.date) -> Any:
        return value


# --------------------------------------------------------------------------- migrations


@attrs.frozen(slots=True)
class Migration:
    """One step of the schema: ``statements`` are templates rendered by a :class:`Dialect`."""

    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(
        1,
        "orders, stock, outbox, idempotency records and order numbers",
        (
            """CREATE TABLE {p}orders (
                id {text} PRIMARY KEY,
                number {text} UNIQUE,
                customer_id {text} NOT NULL,
                state {text} NOT NULL,
                currency {text} NOT NULL,
                created_at {ts} NOT NULL,
                placed_at {ts},
                version {int} NOT NULL,
                doc {json} NOT NULL)""",
            """CREATE TABLE {p}order_number_series (
                series {text} PRIMARY KEY,
                last {int} NOT NULL)""",
            """CREATE TABLE {p}warehouses (
                id {text} PRIMARY KEY,
                doc {json} NOT NULL)""",
            """CREATE TABLE {p}stock_items (
                sku {text} NOT NULL,
                warehouse_id {text} NOT NULL,
                on_hand {dec} NOT NULL,
                reserved {dec} NOT NULL,
                safety_stock {dec} NOT NULL,
                reorder_point {dec},
                reorder_quantity {dec},
                low_stock {int} NOT NULL,
                batch_count {int} NOT NULL,
                PRIMARY KEY (sku, warehouse_id))""",
            """CREATE TABLE {p}batches (
                sku {text} NOT NULL,
                warehouse_id {text} NOT NULL,
                batch_id {text} NOT NULL,
                expiry {date},
                on_hand {dec} NOT NULL,
                reserved {dec} NOT NULL,
                PRIMARY KEY (sku, warehouse_id, batch_id))""",
            """CREATE TABLE {p}incoming (
                id {text} PRIMARY KEY,
                sku {text} NOT NULL,
                warehouse_id {text} NOT NULL,
                quantity {dec} NOT NULL,
                eta {date} NOT NULL)""",
            """CREATE TABLE {p}reservations (
                id {text} PRIMARY KEY{position_column},
                order_id {text} NOT NULL,
                line_id {text} NOT NULL,
                sku {text} NOT NULL,
                warehouse_id {text} NOT NULL,
                batch_id {text},
                quantity {dec} NOT NULL,
                released {dec} NOT NULL,
                consumed {dec} NOT NULL)""",
            "CREATE INDEX reservations_by_order ON {p}reservations (order_id)",
            """CREATE TABLE {p}stock_ledger (
                sequence {ledger_key},
                movement {text} NOT NULL,
                sku {text} NOT NULL,
                warehouse_id {text} NOT NULL,
                on_hand_delta {dec} NOT NULL,
                reserved_delta {dec} NOT NULL,
                at {ts} NOT NULL,
                batch_id {text},
                actor {text} NOT NULL,
                reason {text} NOT NULL,
                order_id {text},
                line_id {text},
                return_id {text},
                reservation_id {text},
                transfer_id {text})""",
            """CREATE TABLE {p}outbox (
                event_id {text} PRIMARY KEY,
                stream_id {text} NOT NULL,
                sequence {int} NOT NULL,
                event_type {text} NOT NULL,
                payload {json} NOT NULL,
                occurred_at {ts} NOT NULL,
                attempts {int} NOT NULL,
                status {text} NOT NULL,
                last_error {text},
                next_attempt_at {ts},
                delivered_at {ts},
                UNIQUE (stream_id, sequence))""",
            """CREATE TABLE {p}idempotency (
                key {text} PRIMARY KEY,
                command {text} NOT NULL,
                fingerprint {text} NOT NULL,
                result {json} NOT NULL,
                created_at {ts} NOT NULL,
                expires_at {ts} NOT NULL)""",
        ),
    ),
    Migration(
        2,
        "indexes for listing orders, due outbox messages, the ledger and expired keys",
        (
            "CREATE INDEX orders_by_created ON {p}orders (created_at, id)",
            "CREATE INDEX orders_by_customer ON {p}orders (customer_id, created_at, id)",
            "CREATE INDEX orders_by_state ON {p}orders (state, created_at, id)",
            "CREATE INDEX outbox_pending ON {p}outbox (stream_id, sequence) "
            "WHERE status = 'pending'",
            "CREATE INDEX outbox_dead ON {p}outbox (stream_id, sequence) WHERE status = 'dead'",
            "CREATE INDEX stock_ledger_by_item ON {p}stock_ledger (sku, warehouse_id, sequence)",
            "CREATE INDEX idempotency_by_expiry ON {p}idempotency (expires_at)",
            "CREATE INDEX incoming_by_sku ON {p}incoming (sku)",
        ),
    ),
)

#: The schema version this library writes.
LATEST_VERSION: Final = MIGRATIONS[-1].version

_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS {p}schema_version (
    version {int} PRIMARY KEY,
    description {text} NOT NULL,
    applied_at {ts} NOT NULL)"""


def render_migration(dialect: Dialect, migration: Migration) -> list[str]:
    """The statements of ``migration`` for ``dialect``: the version table if missing, the
    migration's own statements, and the row recording the new version."""
    statements = [dialect.render(_VERSION_TABLE)]
    statements.extend(dialect.render(template) for template in migration.statements)
    statements.append(
        dialect.render(
            "INSERT INTO {p}schema_version (version, description, applied_at) "
            f"VALUES ({migration.version}, '{migration.description}', CURRENT_TIMESTAMP)"
        )
    )
    return statements


def schema_version(session: Session, dialect: Dialect) -> int:
    """The schema version of the database (0: no schema yet)."""
    rows = session.rows(dialect.render("SELECT MAX(version) FROM {p}schema_version"))
    return int(rows[0][0] or 0)


def migrate(session: Session, dialect: Dialect) -> list[int]:
    """Apply the missing migrations inside the caller's transaction; return their versions.

    A database written by a newer library version is refused with
    :class:`~salesorders.errors.NotSupportedError` rather than misread.
    """
    session.run(dialect.render(_VERSION_TABLE))
    current = schema_version(session, dialect)
    if current > LATEST_VERSION:
        raise errors.NotSupportedError(
            f"the database schema is at version {current}, newer than the version "
            f"{LATEST_VERSION} this library knows; upgrade salesorders"
        )
    applied = []
    for migration in MIGRATIONS:
        if migration.version > current:
            for statement in render_migration(dialect, migration):
                session.run(statement)
            applied.append(migration.version)
    return applied


# --------------------------------------------------------------------------- sessions


class Session(abc.ABC):
    """One open transaction of a driver connection, as the repositories see it.

    :meth:`run`, :meth:`rows` and :meth:`count` each count one statement in :attr:`statements` and
    raise the driver's errors (:attr:`driver_error`) as :class:`~salesorders.errors.StorageError`
    subclasses (see :func:`translate_error`); a driver supplies only :meth:`_run`, :meth:`_rows`
    and :meth:`_count`.
    """

    __slots__ = ("failed", "finished", "statements", "wrote")

    #: The driver's error base class, translated at this boundary.
    driver_error: ClassVar[type[Exception]]

    def __init__(self) -> None:
        self.statements = 0
        self.finished = False
        #: Set once a statement changed (or may have changed) data, or once one failed: a unit
        #: of work with neither has nothing to undo.
        self.wrote = False
        self.failed = False

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Execute a statement whose result is not needed."""
        self._start(writes=True)
        try:
            self._run(sql, params)
        except self.driver_error as error:
            raise self.failure(error) from error

    def rows(self, sql: str, params: Sequence[Any] = (), *, writes: bool = False) -> list[Row]:
        """Execute a statement and return every row (``writes``: it also changes data)."""
        self._start(writes=writes)
        try:
            return self._rows(sql, params)
        except self.driver_error as error:
            raise self.failure(error) from error

    def count(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute a statement and return how many rows it changed."""
        self._start(writes=True)
        try:
            return self._count(sql, params)
        except self.driver_error as error:
            raise self.failure(error) from error

    def failure(self, error: Exception) -> errors.SalesOrdersError:
        """Mark the transaction failed and return the library's error for a driver error."""
        self.failed = True
        return self.translate(error)

    def translate(self, error: Exception) -> errors.SalesOrdersError:
        return translate_error(error)

    def closed_error(self) -> errors.ProgrammingError:
        return errors.ProgrammingError(
            "this unit of work is finished (committed or rolled back); open a new one"
        )

    def _start(self, *, writes: bool) -> None:
        if self.finished:
            raise self.closed_error()
        self.statements += 1
        if writes:
            self.wrote = True

    @abc.abstractmethod
    def _run(self, sql: str, params: Sequence[Any]) -> None: ...

    @abc.abstractmethod
    def _rows(self, sql: str, params: Sequence[Any]) -> list[Row]: ...

    @abc.abstractmethod
    def _count(self, sql: str, params: Sequence[Any]) -> int: ...


# --------------------------------------------------------------------------- statements


_ITEM_COLUMNS = (
    "sku, warehouse_id, on_hand, reserved, safety_stock, reorder_point, reorder_quantity, "
    "low_stock, batch_count"
)
_ITEM_TYPES = ("text", "text", "dec", "dec", "dec", "dec", "dec", "int", "int")
_FIGURE_TYPES = ("text", "text", "dec", "dec", "int", "int")
_BATCH_COLUMNS = "sku, warehouse_id, batch_id, expiry, on_hand, reserved"
_BATCH_TYPES = ("text", "text", "text", "date", "dec", "dec")
_RESERVATION_COLUMNS = (
    "id, order_id, line_id, sku, warehouse_id, quantity, batch_id, released, consumed"
)
_RESERVATION_TYPES = ("text", "text", "text", "text", "text", "dec", "text", "dec", "dec")
_LEDGER_COLUMNS = (
    "movement, sku, warehouse_id, on_hand_delta, reserved_delta, at, batch_id, actor, reason, "
    "order_id, line_id, return_id, reservation_id, transfer_id"
)
_LEDGER_TYPES = (
    "text", "text", "text", "dec", "dec", "ts", "text", "text", "text",
    "text", "text", "text", "text", "text",
)  # fmt: skip
_OUTBOX_COLUMNS = (
    "event_id, stream_id, sequence, event_type, payload, occurred_at, attempts, status, "
    "last_error, next_attempt_at, delivered_at"
)
_OUTBOX_TYPES = ("text", "text", "int", "text", "json", "ts", "int", "text", "text", "ts", "ts")
_OUTBOX_SELECT = (
    "SELECT event_id, stream_id, sequence, event_type, CAST(payload AS TEXT), occurred_at, "
    "attempts, status, last_error, next_attempt_at, delivered_at FROM {p}outbox"
)


class Statements:
    """Every statement of the repositories, rendered once per store for its dialect.

    Bulk statements (many rows in one statement) are rendered per row count and cached; the
    drivers prepare each text once it is used often.
    """

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        r = dialect.render
        # orders
        self.order_insert = r(
            "INSERT INTO {p}orders (id, number, customer_id, state, currency, created_at, "
            "placed_at, version, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS {json}))"
        )
        self.order_update = r(
            "UPDATE {p}orders SET number = ?, customer_id = ?, state = ?, currency = ?, "
            "placed_at = ?, version = ?, doc = CAST(? AS {json}) WHERE id = ? AND version = ?"
        )
        self.order_version = r("SELECT version FROM {p}orders WHERE id = ?")
        self.order_by_id = r("SELECT CAST(doc AS TEXT), version FROM {p}orders WHERE id = ?")
        self.order_by_number = r(
            "SELECT CAST(doc AS TEXT), version FROM {p}orders WHERE number = ?"
        )
        # numbers
        self.next_number = r(
            "INSERT INTO {p}order_number_series AS s (series, last) VALUES (?, 1) "
            "ON CONFLICT (series) DO UPDATE SET last = s.last + 1 RETURNING last"
        )
        # idempotency
        self.idempotency_get = r(
            "SELECT key, command, fingerprint, CAST(result AS TEXT), created_at, expires_at "
            "FROM {p}idempotency WHERE key = ? AND expires_at > ?"
        )
        self.idempotency_put = r(
            "INSERT INTO {p}idempotency AS r (key, command, fingerprint, result, created_at, "
            "expires_at) VALUES (?, ?, ?, CAST(? AS {json}), ?, ?) ON CONFLICT (key) DO UPDATE "
            "SET command = excluded.command, fingerprint = excluded.fingerprint, "
            "result = excluded.result, created_at = excluded.created_at, "
            "expires_at = excluded.expires_at WHERE r.expires_at <= excluded.created_at "
            "RETURNING key"
        )
        self.idempotency_purge = r("DELETE FROM {p}idempotency WHERE expires_at <= ?")
        # outbox
        self.outbox_next_sequence = r(
            "SELECT COALESCE(MAX(sequence), 0) + 1 FROM {p}outbox WHERE stream_id = ?"
        )
        self.outbox_due = r(
            _OUTBOX_SELECT + " AS m WHERE status = 'pending' "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) "
            "AND NOT EXISTS (SELECT 1 FROM {p}outbox AS e WHERE e.stream_id = m.stream_id "
            "AND e.sequence < m.sequence AND e.status = 'pending' AND e.next_attempt_at > ?) "
            "ORDER BY stream_id, sequence LIMIT ?"
        )
        self.outbox_delivered = r(
            "UPDATE {p}outbox SET status = 'delivered', delivered_at = ? WHERE event_id = ?"
        )
        self.outbox_failed = r(
            "UPDATE {p}outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, "
            "status = ? WHERE event_id = ?"
        )
        self.outbox_redrive = r(
            "UPDATE {p}outbox SET status = 'pending', attempts = 0, next_attempt_at = ? "
            "WHERE event_id = ? AND status = 'dead'"
        )
        self.outbox_dead = r(_OUTBOX_SELECT + " WHERE status = 'dead' ORDER BY stream_id, sequence")
        self.outbox_all = r(_OUTBOX_SELECT + " ORDER BY stream_id, sequence")
        self.outbox_stream = r(_OUTBOX_SELECT + " WHERE stream_id = ? ORDER BY sequence")
        # stock
        self.warehouse_upsert = r(
            "INSERT INTO {p}warehouses (id, doc) VALUES (?, CAST(? AS {json})) "
            "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc"
        )
        self.warehouse_all = r("SELECT id, CAST(doc AS TEXT) FROM {p}warehouses ORDER BY id")
        self.warehouse_exists = r("SELECT id FROM {p}warehouses WHERE id = ?")
        self.item_create = r(
            f"INSERT INTO {{p}}stock_items ({_ITEM_COLUMNS}) "
            "VALUES (?, ?, 0, 0, 0, NULL, NULL, 0, 0) ON CONFLICT (sku, warehouse_id) DO NOTHING"
        )
        self.items_all = r(
            f"SELECT {_ITEM_COLUMNS} FROM {{p}}stock_items ORDER BY sku, warehouse_id"
        )
        self.batches_all = r(
            f"SELECT {_BATCH_COLUMNS} FROM {{p}}batches ORDER BY sku, warehouse_id, batch_id"
        )
        self.incoming_insert = r(
            "INSERT INTO {p}incoming (id, sku, warehouse_id, quantity, eta) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
        )
        self.reservations_all = r(
            f"SELECT {_RESERVATION_COLUMNS} FROM {{p}}reservations ORDER BY {{position}}"
        )
        self.reservations_of_order = r(
            f"SELECT {_RESERVATION_COLUMNS} FROM {{p}}reservations WHERE order_id = ? "
            "ORDER BY {position}"
        )
        self.reservations_to_release = r(
            f"SELECT {_RESERVATION_COLUMNS} FROM {{p}}reservations WHERE order_id = ? "
            "ORDER BY {position}" + dialect.lock_rows
        )
        self.reservation_ids = r("SELECT id FROM {p}reservations WHERE order_id = ?")
        self.ledger_all = r(
            f"SELECT sequence, {_LEDGER_COLUMNS} FROM {{p}}stock_ledger ORDER BY sequence"
        )
        self.warehouses_only = r(
            "SELECT 3, NULL, NULL, id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
            "CAST(doc AS TEXT) FROM {p}warehouses"
        )
        self._cache: dict[tuple[str, Any], str] = {}
        self._lock = threading.Lock()

    def _bulk(self, name: str, count: Any) -> str:
        key = (name, count)
        found = self._cache.get(key)
        if found is None:
            found = getattr(self, "_render_" + name)(count)
            with self._lock:
                self._cache[key] = found
        return found

    # Bulk statements: one text per row count (SQLite) or one text for all (PostgreSQL).

    def lock_items(self, count: int, with_held: bool) -> str:
        return self._bulk("lock_items_held" if with_held else "lock_items", count)

    def _render_lock_items(self, count: int, held: str = "0") -> str:
        rows = self.dialect.rows(("text", "text"), count)
        columns = ", ".join("i." + name.strip() for name in _ITEM_COLUMNS.split(","))
        return self.dialect.render(
            f"WITH v (sku, warehouse_id) AS ({rows}) SELECT {columns}, {held} "
            "FROM v JOIN {p}stock_items AS i ON i.sku = v.sku AND i.warehouse_id = v.warehouse_id "
            "ORDER BY i.sku, i.warehouse_id" + self.dialect.lock_items
        )

    def _render_lock_items_held(self, count: int) -> str:
        held = "(SELECT COUNT(*) FROM {p}reservations AS r WHERE r.order_id = ?)"
        return self._render_lock_items(count, held)

    def batches_of(self, count: int) -> str:
        return self._bulk("batches_of", count)

    def _render_batches_of(self, count: int) -> str:
        rows = self.dialect.rows(("text", "text"), count)
        columns = ", ".join("b." + name.strip() for name in _BATCH_COLUMNS.split(","))
        return self.dialect.render(
            f"WITH v (sku, warehouse_id) AS ({rows}) SELECT {columns} "
            "FROM v JOIN {p}batches AS b ON b.sku = v.sku AND b.warehouse_id = v.warehouse_id"
        )

    def snapshot(self, count: int) -> str:
        return self._bulk("snapshot", count)

    def _render_snapshot(self, count: int) -> str:
        skus = self.dialect.rows(("text",), count)
        return self.dialect.render(
            "WITH locked AS (SELECT sku, warehouse_id, on_hand, reserved, safety_stock "
            f"FROM {{p}}stock_items AS i WHERE sku IN ({skus}) ORDER BY sku, warehouse_id"
            f"{self.dialect.lock_items}) "
            "SELECT 0, sku, warehouse_id, NULL, on_hand, reserved, safety_stock, NULL, NULL, "
            "NULL, NULL, NULL FROM locked "
            "UNION ALL SELECT 1, sku, warehouse_id, batch_id, on_hand, reserved, NULL, NULL, "
            f"NULL, NULL, expiry, NULL FROM {{p}}batches WHERE sku IN ({skus}) "
            "UNION ALL SELECT 2, sku, warehouse_id, id, quantity, NULL, NULL, NULL, NULL, NULL, "
            f"eta, NULL FROM {{p}}incoming WHERE sku IN ({skus}) "
            "UNION ALL SELECT 3, NULL, NULL, id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
            "CAST(doc AS TEXT) FROM {p}warehouses"
        )

    def items_update(self, count: int) -> str:
        return self._bulk("items_update", count)

    def _render_items_update(self, count: int) -> str:
        rows = self.dialect.rows(_FIGURE_TYPES, count)
        return self.dialect.render(
            "WITH v (sku, warehouse_id, on_hand, reserved, low_stock, batch_count) AS "
            f"({rows}) UPDATE {{p}}stock_items AS t SET on_hand = v.on_hand, "
            "reserved = v.reserved, low_stock = v.low_stock, batch_count = v.batch_count "
            "FROM v WHERE t.sku = v.sku AND t.warehouse_id = v.warehouse_id"
        )

    def items_upsert(self, count: int) -> str:
        return self._bulk("items_upsert", count)

    def _render_items_upsert(self, count: int) -> str:
        rows = self.dialect.rows(_ITEM_TYPES, count)
        return self.dialect.render(
            f"INSERT INTO {{p}}stock_items ({_ITEM_COLUMNS}) {rows} "
            "ON CONFLICT (sku, warehouse_id) DO UPDATE SET on_hand = excluded.on_hand, "
            "reserved = excluded.reserved, safety_stock = excluded.safety_stock, "
            "reorder_point = excluded.reorder_point, "
            "reorder_quantity = excluded.reorder_quantity, low_stock = excluded.low_stock, "
            "batch_count = excluded.batch_count"
        )

    def batches_upsert(self, count: int) -> str:
        return self._bulk("batches_upsert", count)

    def _render_batches_upsert(self, count: int) -> str:
        rows = self.dialect.rows(_BATCH_TYPES, count)
        return self.dialect.render(
            f"INSERT INTO {{p}}batches ({_BATCH_COLUMNS}) {rows} "
            "ON CONFLICT (sku, warehouse_id, batch_id) DO UPDATE SET expiry = excluded.expiry, "
            "on_hand = excluded.on_hand, reserved = excluded.reserved"
        )

    def reservations_insert(self, count: int) -> str:
        return self._bulk("reservations_insert", count)

    def _render_reservations_insert(self, count: int) -> str:
        rows = self.dialect.rows(_RESERVATION_TYPES, count)
        return self.dialect.render(f"INSERT INTO {{p}}reservations ({_RESERVATION_COLUMNS}) {rows}")

    def reservations_update(self, count: int) -> str:
        return self._bulk("reservations_update", count)

    def _render_reservations_update(self, count: int) -> str:
        rows = self.dialect.rows(("text", "dec", "dec"), count)
        return self.dialect.render(
            f"WITH v (id, released, consumed) AS ({rows}) UPDATE {{p}}reservations AS t "
            "SET released = v.released, consumed = v.consumed FROM v WHERE t.id = v.id"
        )

    def ledger_insert(self, count: int) -> str:
        return self._bulk("ledger_insert", count)

    def _render_ledger_insert(self, count: int) -> str:
        rows = self.dialect.rows(_LEDGER_TYPES, count)
        return self.dialect.render(
            f"INSERT INTO {{p}}stock_ledger ({_LEDGER_COLUMNS}) {rows} "
            "RETURNING sequence, reservation_id"
        )

    def ledger_append(self, count: int) -> str:
        return self._bulk("ledger_append", count)

    def _render_ledger_append(self, count: int) -> str:
        rows = self.dialect.rows(_LEDGER_TYPES, count)
        return self.dialect.render(f"INSERT INTO {{p}}stock_ledger ({_LEDGER_COLUMNS}) {rows}")

    def outbox_insert(self, count: int) -> str:
        return self._bulk("outbox_insert", count)

    def _render_outbox_insert(self, count: int) -> str:
        rows = self.dialect.rows(_OUTBOX_TYPES, count)
        return self.dialect.render(f"INSERT INTO {{p}}outbox ({_OUTBOX_COLUMNS}) {rows}")

    def reserve_writes(self, figures: int, batches: int, reservations: int, ledger: int) -> str:
        """One statement writing what ``reserve`` changed (data-modifying CTEs, PostgreSQL)."""
        return self._bulk("reserve_writes", (figures, batches, reservations, ledger))

    def _render_reserve_writes(self, counts: tuple[int, int, int, int]) -> str:
        figures, batches, reservations, ledger = counts
        rows = self.dialect.rows
        parts = [
            "WITH v (sku, warehouse_id, on_hand, reserved, low_stock, batch_count) AS "
            f"({rows(_FIGURE_TYPES, figures)})",
            "figures AS (UPDATE {p}stock_items AS t SET on_hand = v.on_hand, "
            "reserved = v.reserved, low_stock = v.low_stock, batch_count = v.batch_count "
            "FROM v WHERE t.sku = v.sku AND t.warehouse_id = v.warehouse_id)",
        ]
        if batches:
            parts.append(
                f"lots AS (INSERT INTO {{p}}batches ({_BATCH_COLUMNS}) "
                f"{rows(_BATCH_TYPES, batches)} ON CONFLICT (sku, warehouse_id, batch_id) "
                "DO UPDATE SET expiry = excluded.expiry, on_hand = excluded.on_hand, "
                "reserved = excluded.reserved)"
            )
        parts.append(
            f"held AS (INSERT INTO {{p}}reservations ({_RESERVATION_COLUMNS}) "
            f"{rows(_RESERVATION_TYPES, reservations)})"
        )
        return self.dialect.render(
            ", ".join(parts) + f" INSERT INTO {{p}}stock_ledger ({_LEDGER_COLUMNS}) "
            f"{rows(_LEDGER_TYPES, ledger)}"
        )

    @functools.lru_cache(maxsize=32)  # noqa: B019 - one Statements per store, kept for its life
    def order_list(self, customer: bool, state: bool, start: bool, end: bool, after: bool) -> str:
        conditions = []
        if customer:
            conditions.append("customer_id = ?")
        if state:
            conditions.append("state = ?")
        if start:
            conditions.append("created_at >= ?")
        if end:
            conditions.append("created_at < ?")
        if after:
            conditions.append("(created_at, id) > (?, ?)")
        where = (" WHERE " + " AND ".join(conditions)) if conditions else ""
        return self.dialect.render(
            "SELECT CAST(doc AS TEXT), version, created_at, id FROM {p}orders"
            f"{where} ORDER BY created_at, id LIMIT ?"
        )


# --------------------------------------------------------------------------- store-wide parts


class _WarehouseCache:
    """Decoded warehouses by their stored document, and the read-only mapping of a whole set.

    Snapshots of an unchanged set of warehouses share one mapping object, so a policy may cache
    what it derives from the warehouses by the mapping's identity.
    """

    def __init__(self, serializer: Serializer) -> None:
        self._serializer = serializer
        self._by_doc: dict[str, Warehouse] = {}
        self._sets: dict[tuple[tuple[str, str], ...], Mapping[str, Warehouse]] = {}

    def decode(self, doc: str) -> Warehouse:
        found = self._by_doc.get(doc)
        if found is None:
            found = self._serializer.load(json.loads(doc), Warehouse)
            if len(self._by_doc) > 4096:
                self._by_doc.clear()
            self._by_doc[doc] = found
        return found

    def mapping(self, rows: Sequence[tuple[str, str]]) -> Mapping[str, Warehouse]:
        key = tuple(sorted(rows))
        found = self._sets.get(key)
        if found is None:
            found = MappingProxyType({wid: self.decode(doc) for wid, doc in key})
            if len(self._sets) > 64:
                self._sets.clear()
            self._sets[key] = found
        return found


class StoreConfig:
    """What every unit of work of one store shares: dialect, statements, serializer, caches."""

    __slots__ = ("dialect", "places", "serializer", "sql", "unit", "warehouses")

    def __init__(
        self, dialect: Dialect, serializer: Serializer | None = None, quantity_places: int = 3
    ) -> None:
        if isinstance(quantity_places, bool) or not isinstance(quantity_places, int):
            raise errors.ValidationError("quantity_places", quantity_places, "must be an int")
        if quantity_places < 0:
            raise errors.ValidationError("quantity_places", quantity_places, "must not be negative")
        self.dialect = dialect
        self.sql = Statements(dialect)
        self.serializer = serializer or Serializer()
        self.places = quantity_places
        self.unit = Decimal(1).scaleb(-quantity_places)
        self.warehouses = _WarehouseCache(self.serializer)


# --------------------------------------------------------------------------- orders


_CURSOR_TAG: Final = "o1"


def _encode_cursor(created_at: dt.datetime, order_id: str) -> str:
    raw = _json_text([_CURSOR_TAG, _utc_text(created_at), order_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: object) -> tuple[dt.datetime, str]:
    problem = errors.ValidationError(
        "after",
        cursor,
        "is not a cursor of this order listing",
        "pass the next_cursor of the previous page, or None for the first page",
    )
    if not isinstance(cursor, str):
        raise problem
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        tag, created, order_id = json.loads(raw)
        at = dt.datetime.fromisoformat(created)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise problem from None
    if tag != _CURSOR_TAG or not isinstance(order_id, str) or at.utcoffset() is None:
        raise problem
    return at, order_id


class SqlOrderRepository:
    """Orders as JSON documents with indexed columns and an optimistic version."""

    __slots__ = ("_d", "_serializer", "_session", "_sql")

    def __init__(self, session: Session, config: StoreConfig) -> None:
        self._session = session
        self._sql = config.sql
        self._d = config.dialect
        self._serializer = config.serializer

    def _document(self, order: Order, version: int) -> str:
        data = self._serializer.dump(order)
        data["version"] = version
        return _json_text(data)

    def _load(self, doc: str, version: int) -> Order:
        order = self._serializer.load(json.loads(doc), Order)
        order.version = int(version)
        return order

    def add(self, order: Order) -> None:
        """Store a new order at version 1; an id or number already stored is a ConflictError."""
        if not isinstance(order, Order):
            raise errors.ValidationError("order", order, "must be an Order")
        d = self._d
        params = (
            order.id,
            order.number,
            order.customer_id,
            order.state,
            order.currency,
            d.time(order.created_at),
            d.opt_time(order.placed_at),
            1,
            self._document(order, 1),
        )
        try:
            self._session.run(self._sql.order_insert, params)
        except errors.IntegrityError as error:
            raise errors.ConflictError(
                f"order {order.id!r} (number {order.number!r}) is already stored; "
                "use a new order id, or get and save the stored order"
            ) from error
        order.version = 1

    def save(self, order: Order) -> None:
        """Store a changed order if nobody saved it since it was read; bump its version."""
        if not isinstance(order, Order):
            raise errors.ValidationError("order", order, "must be an Order")
        d = self._d
        expected = order.version
        params = (
            order.number,
            order.customer_id,
            order.state,
            order.currency,
            d.opt_time(order.placed_at),
            expected + 1,
            self._document(order, expected + 1),
            order.id,
            expected,
        )
        try:
            changed = self._session.count(self._sql.order_update, params)
        except errors.IntegrityError as error:
            raise errors.ConflictError(
                f"order {order.id!r}: number {order.number!r} is used by another order"
            ) from error
        if changed == 0:
            rows = self._session.rows(self._sql.order_version, (order.id,))
            if not rows:
                raise errors.NotFoundError("order", order.id)
            raise errors.ConcurrencyConflictError(order.id, expected, int(rows[0][0]))
        order.version = expected + 1

    def get(self, order_id: str) -> Order:
        rows = self._session.rows(self._sql.order_by_id, (order_id,))
        if not rows:
            raise errors.NotFoundError("order", str(order_id))
        return self._load(*rows[0])

    def get_by_number(self, number: str) -> Order:
        rows = self._session.rows(self._sql.order_by_number, (number,))
        if not rows:
            raise errors.NotFoundError("order number", str(number))
        return self._load(*rows[0])

    def list(self, query: OrderQuery) -> OrderPage:
        """Orders by ``(created_at, id)`` after the cursor, filtered; ``limit`` per page."""
        if not isinstance(query, OrderQuery):
            raise errors.ValidationError("query", query, "must be an OrderQuery")
        limit = query.limit
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise errors.ValidationError("limit", limit, "must be an int of at least 1")
        d = self._d
        params: list[Any] = []
        if query.customer_id is not None:
            params.append(query.customer_id)
        if query.state is not None:
            params.append(query.state)
        if query.created_from is not None:
            params.append(d.time(aware_time(query.created_from, "created_from")))
        if query.created_to is not None:
            params.append(d.time(aware_time(query.created_to, "created_to")))
        if query.after is not None:
            after_time, after_id = _decode_cursor(query.after)
            params.extend((d.time(after_time), after_id))
        params.append(limit + 1)
        sql = self._sql.order_list(
            query.customer_id is not None,
            query.state is not None,
            query.created_from is not None,
            query.created_to is not None,
            query.after is not None,
        )
        rows = self._session.rows(sql, params)
        page = rows[:limit]
        orders = tuple(self._load(doc, version) for doc, version, _, _ in page)
        cursor = None
        if len(rows) > limit:
            _, _, created_at, order_id = page[-1]
            cursor = _encode_cursor(_time(created_at), order_id)
        return OrderPage(orders, cursor)


# --------------------------------------------------------------------------- numbers


class SqlOrderNumbers:
    """Gap-free numbers: the series row is incremented (and row-locked) inside the unit of work."""

    __slots__ = ("_session", "_sql")

    def __init__(self, session: Session, config: StoreConfig) -> None:
        self._session = session
        self._sql = config.sql

    def next_number(self, series: str) -> int:
        require_text(series, "series")
        return int(self._session.rows(self._sql.next_number, (series,), writes=True)[0][0])


# --------------------------------------------------------------------------- idempotency


class SqlIdempotencyStore:
    """Command outcomes by idempotency key; an unexpired key cannot be stored twice."""

    __slots__ = ("_d", "_session", "_sql")

    def __init__(self, session: Session, config: StoreConfig) -> None:
        self._session = session
        self._sql = config.sql
        self._d = config.dialect

    def get(self, key: str, now: dt.datetime) -> IdempotencyRecord | None:
        rows = self._session.rows(
            self._sql.idempotency_get, (key, self._d.time(aware_time(now, "now")))
        )
        if not rows:
            return None
        key, command, fingerprint, result, created_at, expires_at = rows[0]
        return IdempotencyRecord(
            key, command, fingerprint, _json(result), _time(created_at), _time(expires_at)
        )

    def put(self, record: IdempotencyRecord) -> None:
        if not isinstance(record, IdempotencyRecord):
            raise errors.ValidationError("record", record, "must be an IdempotencyRecord")
        d = self._d
        params = (
            require_text(record.key, "record.key"),
            record.command,
            record.fingerprint,
            _json_text(record.result),
            d.time(aware_time(record.created_at, "record.created_at")),
            d.time(aware_time(record.expires_at, "record.expires_at")),
        )
        if not self._session.rows(self._sql.idempotency_put, params, writes=True):
            raise errors.IdempotencyConflictError(record.key, record.command)

    def purge_expired(self, now: dt.datetime) -> int:
        return self._session.count(
            self._sql.idempotency_purge, (self._d.time(aware_time(now, "now")),)
        )


# --------------------------------------------------------------------------- outbox


def _message(row: Row) -> OutboxMessage:
    return OutboxMessage(
        event_id=row[0],
        stream_id=row[1],
        sequence=int(row[2]),
        event_type=row[3],
        payload=_json(row[4]),
        occurred_at=_time(row[5]),
        attempts=int(row[6]),
        status=row[7],
        last_error=row[8],
        next_attempt_at=_opt_time(row[9]),
        delivered_at=_opt_time(row[10]),
    )


class SqlOutboxStore:
    """The transactional outbox: written in the unit of work of the change it describes."""

    __slots__ = ("_d", "_session", "_sql")

    def __init__(self, session: Session, config: StoreConfig) -> None:
        self._session = session
        self._sql = config.sql
        self._d = config.dialect

    def append(self, messages: Sequence[OutboxMessage]) -> None:
        """Store ``messages`` (one multi-row insert); a stored id or stream sequence is refused."""
        if not messages:
            return
        d = self._d
        rows = []
        for index, m in enumerate(messages):
            if not isinstance(m, OutboxMessage):
                raise errors.ValidationError(f"messages[{index}]", m, "must be an OutboxMessage")
            rows.append(
                (
                    m.event_id,
                    m.stream_id,
                    m.sequence,
                    m.event_type,
                    _json_text(m.payload),
                    d.time(aware_time(m.occurred_at, f"messages[{index}].occurred_at")),
                    m.attempts,
                    m.status,
                    m.last_error,
                    d.opt_time(m.next_attempt_at),
                    d.opt_time(m.delivered_at),
                )
            )
        for chunk in _chunks(rows, d.rows_per_statement(len(_OUTBOX_TYPES))):
            self._session.run(
                self._sql.outbox_insert(len(chunk)), d.pack(chunk, len(_OUTBOX_TYPES))
            )

    def next_sequence(self, stream_id: str) -> int:
        return int(self._session.rows(self._sql.outbox_next_sequence, (stream_id,))[0][0])

    def due(self, now: dt.datetime, limit: int = 100) -> list[OutboxMessage]:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise errors.ValidationError("limit", limit, "must be an int of at least 1")
        at = self._d.time(aware_time(now, "now"))
        return [_message(row) for row in self._session.rows(self._sql.outbox_due, (at, at, limit))]

    def mark_delivered(self, event_id: str, at: dt.datetime) -> None:
        params = (self._d.time(aware_time(at)), event_id)
        if not self._session.count(self._sql.outbox_delivered, params):
            raise errors.NotFoundError("outbox message", str(event_id))

    def mark_failed(
        self, event_id: str, error: str, next_attempt_at: dt.datetime | None, dead: bool
    ) -> None:
        if next_attempt_at is not None:
            aware_time(next_attempt_at, "next_attempt_at")
        params = (
            error,
            self._d.opt_time(next_attempt_at),
            "dead" if dead else "pending",
            event_id,
        )
        if not self._session.count(self._sql.outbox_failed, params):
            raise errors.NotFoundError("outbox message", str(event_id))

    def dead(self) -> list[OutboxMessage]:
        return [_message(row) for row in self._session.rows(self._sql.outbox_dead)]

    def redrive(self, event_id: str, at: dt.datetime) -> None:
        params = (self._d.time(aware_time(at)), event_id)
        if not self._session.count(self._sql.outbox_redrive, params):
            raise errors.NotFoundError("dead outbox message", str(event_id))

    def messages(self, stream_id: str | None = None) -> list[OutboxMessage]:
        if stream_id is None:
            rows = self._session.rows(self._sql.outbox_all)
        else:
            rows = self._session.rows(self._sql.outbox_stream, (stream_id,))
        return [_message(row) for row in rows]


# --------------------------------------------------------------------------- stock


def _chunks(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _item(row: Row) -> StockItem:
    return StockItem(
        row[0],
        row[1],
        _dec(row[2]),
        _dec(row[3]),
        _dec(row[4]),
        _opt_dec(row[5]),
        _opt_dec(row[6]),
        bool(row[7]),
    )


def _batch(row: Row) -> Batch:
    return Batch(row[2], _day(row[3]), _dec(row[4]), _dec(row[5]))


def _reservation(row: Row) -> Reservation:
    return Reservation(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        _dec(row[5]),
        row[6],
        _dec(row[7]),
        _dec(row[8]),
    )


def _ledger_entry(row: Row) -> LedgerEntry:
    return LedgerEntry(
        int(row[0]),
        Movement(row[1]),
        row[2],
        row[3],
        _dec(row[4]),
        _dec(row[5]),
        _time(row[6]),
        row[7],
        row[8],
        row[9],
        row[10],
        row[11],
        row[12],
        row[13],
        row[14],
    )


class SqlStockRepository:
    """Stock items, batches, reservations, expected receipts and the append-only ledger.

    Operations follow :class:`~salesorders.domain.stock.StockBook`: each validates everything,
    reads the rows it changes (locked on PostgreSQL, in (SKU, warehouse) order), computes the new
    figures on :class:`~decimal.Decimal`, and writes rows and ledger entries in bulk statements.
    """

    __slots__ = ("_config", "_d", "_events", "_session", "_sql")

    def __init__(self, session: Session, config: StoreConfig) -> None:
        self._session = session
        self._config = config
        self._sql = config.sql
        self._d = config.dialect
        self._events: list[LowStock] = []

    # ------------------------------------------------------------------ validation

    def _quantity(self, value: object, field: str) -> Decimal:
        return to_quantity(value, field, self._config.places)

    def _require_warehouse(self, warehouse_id: str) -> None:
        if not self._session.rows(self._sql.warehouse_exists, (warehouse_id,)):
            raise errors.UnknownWarehouseError(warehouse_id)

    # ------------------------------------------------------------------ warehouses and levels

    def add_warehouse(self, warehouse: Warehouse) -> None:
        """Register a warehouse, or replace the one with the same id."""
        if not isinstance(warehouse, Warehouse):
            raise errors.ValidationError("warehouse", warehouse, "must be a Warehouse")
        require_text(warehouse.id, "warehouse.id")
        doc = _json_text(self._config.serializer.dump(warehouse))
        self._session.run(self._sql.warehouse_upsert, (warehouse.id, doc))

    def warehouses(self) -> dict[str, Warehouse]:
        decode = self._config.warehouses.decode
        return {wid: decode(doc) for wid, doc in self._session.rows(self._sql.warehouse_all)}

    def set_levels(
        self,
        sku: str,
        warehouse_id: str,
        *,
        safety_stock: Decimal | int | None = None,
        reorder_point: Decimal | int | None = None,
        reorder_quantity: Decimal | int | None = None,
    ) -> None:
        """Set the safety stock, reorder point and reorder quantity (``None`` keeps a level)."""
        self._require_warehouse(warehouse_id)
        require_text(sku, "sku")
        levels = StockLevels.checked(
            self._config.places, safety_stock, reorder_point, reorder_quantity
        )
        item = self._lock_new_item(sku, warehouse_id)
        levels.apply_to(item)
        self._upsert_items([item])

    # ------------------------------------------------------------------ receipts

    def receive(
        self,
        sku: str,
        warehouse_id: str,
        quantity: Decimal | int,
        at: dt.datetime,
        *,
        batch_id: str | None = None,
        expiry: dt.date | None = None,
        actor: str = "",
        reason: str = "",
    ) -> LedgerEntry:
        """Add received stock (into a batch when ``batch_id`` is given); one RECEIPT entry."""
        self._require_warehouse(warehouse_id)
        require_text(sku, "sku")
        amount = self._quantity(quantity, "quantity")
        aware_time(at)
        when = self._check_expiry(batch_id, expiry)
        item = self._lock_new_item(sku, warehouse_id)
        batch = None
        if batch_id is not None:
            batch = item.batches.get(batch_id)
            if batch is not None and when is not None and batch.expiry not in (None, when):
                raise errors.ValidationError(
                    "expiry",
                    expiry,
                    f"differs from batch {batch_id}'s expiry {batch.expiry} in {warehouse_id}",
                    "use a new batch id for stock with another expiry",
                )
            if batch is None:
                batch = Batch(batch_id, when)
                item.batches[batch_id] = batch
            elif batch.expiry is None:
                batch.expiry = when
            batch.on_hand += amount
        item.on_hand += amount
        self._watch(item, at)
        self._upsert_items([item])
        if batch is not None:
            self._upsert_batches([(item, batch)])
        movement = (Movement.RECEIPT, sku, warehouse_id, amount, _ZERO, at, batch_id, actor, reason)
        return self._append_ledger([(*movement, None, None, None, None, None)])[0]

    @staticmethod
    def _check_expiry(batch_id: str | None, expiry: object) -> dt.date | None:
        if expiry is not None and (
            isinstance(expiry, dt.datetime) or not isinstance(expiry, dt.date)
        ):
            raise errors.ValidationError("expiry", expiry, "must be a datetime.date or None")
        if batch_id is None:
            if expiry is not None:
                raise errors.ValidationError(
                    "expiry", expiry, "needs a batch_id", "give the batch the expiry belongs to"
                )
            return None
        require_text(batch_id, "batch_id")
        return expiry

    def expect(self, incoming: IncomingStock) -> None:
        """Record stock expected to arrive; it shows in snapshots until it is received."""
        if not isinstance(incoming, IncomingStock):
            raise errors.ValidationError("incoming", incoming, "must be an IncomingStock")
        require_text(incoming.id, "incoming.id")
        require_text(incoming.sku, "incoming.sku")
        self._require_warehouse(incoming.warehouse_id)
        quantity = self._quantity(incoming.quantity, "incoming.quantity")
        eta = incoming.eta
        if isinstance(eta, dt.datetime) or not isinstance(eta, dt.date):
            raise errors.ValidationError("incoming.eta", eta, "must be a datetime.date")
        d = self._d
        params = (incoming.id, incoming.sku, incoming.warehouse_id, d.dec(quantity), d.day(eta))
        if not self._session.count(self._sql.incoming_insert, params):
            raise errors.ValidationError(
                "incoming.id", incoming.id, "is already expected", "use a new id per shipment"
            )

    # ------------------------------------------------------------------ snapshot

    def snapshot(self, skus: Collection[str]) -> StockSnapshot:
        """Available stock, reservable batches and expected receipts of ``skus``, one statement.

        The snapshot is an allocation's input, so on PostgreSQL it row-locks the stock items it
        reads (in (SKU, warehouse) order, like ``reserve``) until the unit of work ends: a plan
        made from it cannot be overtaken by another unit of work before it is reserved.
        """
        wanted = list(dict.fromkeys(skus))
        d = self._d
        if wanted:
            sql = self._sql.snapshot(len(wanted))
            packed = d.pack([(sku,) for sku in wanted], 1)
            rows = self._session.rows(sql, packed * 3)
        else:
            rows = self._session.rows(self._sql.warehouses_only)
        items: dict[ItemKey, StockItem] = {}
        lots: list[Row] = []
        expected: dict[str, list[IncomingStock]] = {}
        docs: list[tuple[str, str]] = []
        for row in rows:
            kind = row[0]
            if kind == 0:
                items[(row[1], row[2])] = StockItem(
                    row[1], row[2], _dec(row[4]), _dec(row[5]), _dec(row[6])
                )
            elif kind == 1:
                lots.append(row)
            elif kind == 2:
                shipment = IncomingStock(row[3], row[1], row[2], _dec(row[4]), _day(row[10]))  # type: ignore[arg-type]
                expected.setdefault(row[1], []).append(shipment)
            else:
                docs.append((row[3], row[11]))
        for row in lots:
            item = items.get((row[1], row[2]))
            if item is not None:
                item.batches[row[3]] = Batch(row[3], _day(row[10]), _dec(row[4]), _dec(row[5]))
        available: dict[ItemKey, Decimal] = {}
        batches: dict[ItemKey, tuple[AvailableBatch, ...]] = {}
        for key, item in items.items():
            free = item.available
            if free > 0:
                available[key] = free
                if item.batches:
                    reservable = reservable_batches(item, free)
                    if reservable:
                        batches[key] = reservable
        incoming = {
            sku: tuple(sorted(found, key=lambda i: (i.eta, i.id)))
            for sku, found in expected.items()
        }
        warehouses = self._config.warehouses.mapping(docs)
        return StockSnapshot(warehouses, available, batches, incoming)

    # ------------------------------------------------------------------ reservations

    def reserve(
        self, plan: AllocationPlan, at: dt.datetime, actor: str = ""
    ) -> tuple[Reservation, ...]:
        """Reserve every allocation of ``plan``, or none (InsufficientStockError names each SKU).

        Demand is summed per (SKU, warehouse, batch) and per (SKU, warehouse) and checked against
        the stock rows read for this plan (row-locked on PostgreSQL) before anything is written.
        """
        if not isinstance(plan, AllocationPlan):
            raise errors.ValidationError("plan", plan, "must be an AllocationPlan")
        if plan.shortages:
            raise errors.InsufficientStockError(plan.shortages, plan.order_id)
        aware_time(at)
        order_id = plan.order_id
        allocations = plan.allocations
        if not allocations:
            return ()
        unit = self._config.unit
        amounts: list[Decimal] = []
        totals: dict[ItemKey, Decimal] = {}
        buckets: dict[BucketKey, Decimal] = {}
        for index, allocation in enumerate(allocations):
            amount = allocation.quantity
            if not (type(amount) is Decimal and amount > 0 and amount % unit == 0):
                amount = self._quantity(amount, f"allocations[{index}].quantity")
            key = (allocation.sku, allocation.warehouse_id)
            bucket = (key[0], key[1], allocation.batch_id)
            totals[key] = totals.get(key, _ZERO) + amount
            buckets[bucket] = buckets.get(bucket, _ZERO) + amount
            amounts.append(amount)
        items, held = self._read_items(sorted(totals), order_id)
        self._require_items(items, ((a.sku, a.warehouse_id) for a in allocations))
        for index, allocation in enumerate(allocations):
            batch_id = allocation.batch_id
            item = items[(allocation.sku, allocation.warehouse_id)]
            if batch_id is not None and batch_id not in item.batches:
                raise errors.ValidationError(
                    f"allocations[{index}].batch_id",
                    batch_id,
                    f"is not a batch of {item.sku} in {item.warehouse_id}",
                    "allocate from a batch the snapshot listed",
                )
        shortages = find_shortages(items, totals, buckets)
        if shortages:
            raise errors.InsufficientStockError(shortages, order_id)
        return self._hold(order_id, allocations, amounts, items, held, at, actor)

    def _require_items(self, items: Mapping[ItemKey, StockItem], keys: Iterable[ItemKey]) -> None:
        """Every key must name a stock item; the first that does not is reported (a (SKU,
        warehouse) never stocked is :class:`~salesorders.errors.UnknownStockItemError`, an unknown
        warehouse :class:`~salesorders.errors.UnknownWarehouseError`)."""
        for sku, warehouse_id in keys:
            if (sku, warehouse_id) not in items:
                self._require_warehouse(warehouse_id)
                raise errors.UnknownStockItemError(sku, warehouse_id)

    def _hold(
        self,
        order_id: str,
        allocations: Sequence[Any],
        amounts: Sequence[Decimal],
        items: Mapping[ItemKey, StockItem],
        held: int,
        at: dt.datetime,
        actor: str,
    ) -> tuple[Reservation, ...]:
        taken: set[str] = set()
        if held:
            taken.update(
                row[0] for row in self._session.rows(self._sql.reservation_ids, (order_id,))
            )
        d = self._d
        when = d.time(at)
        reservations: list[Reservation] = []
        reservation_rows: list[Row] = []
        ledger_rows: list[Row] = []
        touched: dict[ItemKey, StockItem] = {}
        touched_batches: dict[BucketKey, tuple[StockItem, Batch]] = {}
        for allocation, amount in zip(allocations, amounts, strict=True):
            sku, wh, batch_id, line_id = (
                allocation.sku,
                allocation.warehouse_id,
                allocation.batch_id,
                allocation.line_id,
            )
            base = (
                f"{order_id}/{line_id}/{wh}"
                if batch_id is None
                else (f"{order_id}/{line_id}/{wh}/{batch_id}")
            )
            rid = base
            counter = 1
            while rid in taken:
                counter += 1
                rid = f"{base}#{counter}"
            taken.add(rid)
            item = items[(sku, wh)]
            item.reserved += amount
            touched[(sku, wh)] = item
            if batch_id is not None:
                batch = item.batches[batch_id]
                batch.reserved += amount
                touched_batches[(sku, wh, batch_id)] = (item, batch)
            reservations.append(Reservation(rid, order_id, line_id, sku, wh, amount, batch_id))
            dec_amount = d.dec(amount)
            zero = d.dec(_ZERO)
            reservation_rows.append(
                (rid, order_id, line_id, sku, wh, dec_amount, batch_id, zero, zero)
            )
            ledger_rows.append(
                (
                    Movement.RESERVATION.value,
                    sku,
                    wh,
                    zero,
                    dec_amount,
                    when,
                    batch_id,
                    actor,
                    "",
                    order_id,
                    line_id,
                    None,
                    rid,
                    None,
                )
            )
        for item in touched.values():
            self._watch(item, at)
        figure_rows = self._figure_rows(touched.values())
        batch_rows = self._batch_rows(touched_batches.values())
        params = (
            len(figure_rows) * len(_FIGURE_TYPES)
            + len(batch_rows) * len(_BATCH_TYPES)
            + len(reservation_rows) * len(_RESERVATION_TYPES)
            + len(ledger_rows) * len(_LEDGER_TYPES)
        )
        if d.writes_in_one_statement and params <= d.max_params:
            statement = self._sql.reserve_writes(
                len(figure_rows), len(batch_rows), len(reservation_rows), len(ledger_rows)
            )
            values = d.pack(figure_rows, 0) + d.pack(batch_rows, 0)
            values += d.pack(reservation_rows, 0) + d.pack(ledger_rows, 0)
            self._session.run(statement, values)
        else:
            self._insert(self._sql.items_update, figure_rows, len(_FIGURE_TYPES))
            if batch_rows:
                self._insert(self._sql.batches_upsert, batch_rows, len(_BATCH_TYPES))
            self._insert(self._sql.reservations_insert, reservation_rows, len(_RESERVATION_TYPES))
            self._insert(self._sql.ledger_append, ledger_rows, len(_LEDGER_TYPES))
        return tuple(reservations)

    def release_order(
        self, order_id: str, at: dt.datetime, reason: str = "", actor: str = ""
    ) -> tuple[LedgerEntry, ...]:
        """Release everything still open for ``order_id``: one RELEASE entry per reservation."""
        aware_time(at)
        rows = self._session.rows(self._sql.reservations_to_release, (order_id,))
        still_open = [r for r in map(_reservation, rows) if r.open > 0]
        if not still_open:
            return ()
        items = self._lock_items(sorted({r.item_key for r in still_open}))
        self._require_items(items, (r.item_key for r in still_open))
        changes: list[tuple[Reservation, Decimal]] = []
        for reservation in still_open:
            amount = reservation.open
            item = items[reservation.item_key]
            item.reserved -= amount
            if reservation.batch_id is not None and reservation.batch_id in item.batches:
                item.batches[reservation.batch_id].reserved -= amount
            changes.append((reservation, amount))
        touched = {r.item_key: items[r.item_key] for r in still_open}
        for item in touched.values():
            self._watch(item, at)
        self._update_items(list(touched.values()))
        batches = {
            (r.sku, r.warehouse_id, r.batch_id): (
                items[r.item_key],
                items[r.item_key].batches[r.batch_id],
            )
            for r in still_open
            if r.batch_id is not None and r.batch_id in items[r.item_key].batches
        }
        if batches:
            self._upsert_batches(list(batches.values()))
        d = self._d
        self._insert(
            self._sql.reservations_update,
            [(r.id, d.dec(r.released + amount), d.dec(r.consumed)) for r, amount in changes],
            3,
        )
        return self._append_ledger(
            [
                (
                    Movement.RELEASE,
                    r.sku,
                    r.warehouse_id,
                    _ZERO,
                    -amount,
                    at,
                    r.batch_id,
                    actor,
                    reason,
                    r.order_id,
                    r.line_id,
                    None,
                    r.id,
                    None,
                )
                for r, amount in changes
            ]
        )

    def reservations(self, order_id: str | None = None) -> tuple[Reservation, ...]:
        """Reservations in the order they were made, of one order if ``order_id`` is given."""
        if order_id is None:
            rows = self._session.rows(self._sql.reservations_all)
        else:
            rows = self._session.rows(self._sql.reservations_of_order, (order_id,))
        return tuple(map(_reservation, rows))

    # ------------------------------------------------------------------ reading

    def items(self) -> tuple[StockItem, ...]:
        """Every stock item with its batches, by SKU then warehouse."""
        found = {(row[0], row[1]): _item(row) for row in self._session.rows(self._sql.items_all)}
        for row in self._session.rows(self._sql.batches_all):
            item = found.get((row[0], row[1]))
            if item is not None:
                item.batches[row[2]] = _batch(row)
        return tuple(found.values())

    def ledger(self) -> tuple[LedgerEntry, ...]:
        """Every ledger entry, oldest first."""
        return tuple(map(_ledger_entry, self._session.rows(self._sql.ledger_all)))

    def pull_events(self) -> list[LowStock]:
        """Hand over the low-stock alerts raised in this unit of work since the last call."""
        events, self._events = self._events, []
        return events

    # ------------------------------------------------------------------ rows

    def _lock_items(self, keys: Sequence[ItemKey]) -> dict[ItemKey, StockItem]:
        """The stored items of ``keys`` with their batches, row-locked on PostgreSQL."""
        return self._read_items(keys, None)[0]

    def _lock_new_item(self, sku: str, warehouse_id: str) -> StockItem:
        """The item, created empty first if it is new, so two first receipts cannot race."""
        key = (sku, warehouse_id)
        self._session.run(self._sql.item_create, (sku, warehouse_id))
        return self._lock_items([key])[key]

    def _read_items(
        self, keys: Sequence[ItemKey], order_id: str | None
    ) -> tuple[dict[ItemKey, StockItem], int]:
        """Items of ``keys`` (locked in key order on PostgreSQL) and their batches; with
        ``order_id`` also how many reservations the order already holds.

        Batches are read by a second statement, after the item locks are held, and only for
        items whose row says they have batches: a batch changes only under its item's lock.
        """
        d = self._d
        items: dict[ItemKey, StockItem] = {}
        batched: list[ItemKey] = []
        held = 0
        for chunk in _chunks(keys, d.rows_per_statement(2) - 1):
            params = d.pack(chunk, 2)
            if order_id is not None:
                params.append(order_id)
            statement = self._sql.lock_items(len(chunk), order_id is not None)
            for row in self._session.rows(statement, params):
                key = (row[0], row[1])
                items[key] = _item(row)
                if row[8]:
                    batched.append(key)
                held = int(row[9])
        for chunk in _chunks(batched, d.rows_per_statement(2)):
            for row in self._session.rows(self._sql.batches_of(len(chunk)), d.pack(chunk, 2)):
                items[(row[0], row[1])].batches[row[2]] = _batch(row)
        return items, held

    def _insert(self, statement: Any, rows: Sequence[Row], width: int) -> None:
        d = self._d
        for chunk in _chunks(rows, d.rows_per_statement(width)):
            self._session.run(statement(len(chunk)), d.pack(chunk, width))

    def _figure_rows(self, items: Iterable[StockItem]) -> list[Row]:
        d = self._d
        return [
            (
                i.sku,
                i.warehouse_id,
                d.dec(i.on_hand),
                d.dec(i.reserved),
                int(i.low_stock),
                len(i.batches),
            )
            for i in items
        ]

    def _batch_rows(self, batches: Iterable[tuple[StockItem, Batch]]) -> list[Row]:
        d = self._d
        return [
            (
                item.sku,
                item.warehouse_id,
                b.batch_id,
                d.opt_day(b.expiry),
                d.dec(b.on_hand),
                d.dec(b.reserved),
            )
            for item, b in batches
        ]

    def _update_items(self, items: Sequence[StockItem]) -> None:
        self._insert(self._sql.items_update, self._figure_rows(items), len(_FIGURE_TYPES))

    def _upsert_items(self, items: Sequence[StockItem]) -> None:
        d = self._d
        rows = [
            (
                i.sku,
                i.warehouse_id,
                d.dec(i.on_hand),
                d.dec(i.reserved),
                d.dec(i.safety_stock),
                d.opt_dec(i.reorder_point),
                d.opt_dec(i.reorder_quantity),
                int(i.low_stock),
                len(i.batches),
            )
            for i in items
        ]
        self._insert(self._sql.items_upsert, rows, len(_ITEM_TYPES))

    def _upsert_batches(self, batches: Sequence[tuple[StockItem, Batch]]) -> None:
        self._insert(self._sql.batches_upsert, self._batch_rows(batches), len(_BATCH_TYPES))

    def _append_ledger(self, entries: Sequence[Row]) -> tuple[LedgerEntry, ...]:
        """Insert ledger entries ``(movement, sku, wh, on_hand_delta, reserved_delta, at,
        batch_id, actor, reason, order_id, line_id, return_id, reservation_id, transfer_id)``
        and return them with the sequences the database gave them."""
        d = self._d
        rows = [
            (
                e[0].value,
                e[1],
                e[2],
                d.dec(e[3]),
                d.dec(e[4]),
                d.time(e[5]),
                *e[6:],
            )
            for e in entries
        ]
        width = len(_LEDGER_TYPES)
        created: list[LedgerEntry] = []
        for start in range(0, len(rows), d.rows_per_statement(width)):
            chunk = rows[start : start + d.rows_per_statement(width)]
            returned = self._session.rows(
                self._sql.ledger_insert(len(chunk)), d.pack(chunk, width), writes=True
            )
            sequences = sorted(int(row[0]) for row in returned)
            for sequence, entry in zip(sequences, entries[start : start + len(chunk)], strict=True):
                created.append(LedgerEntry(sequence, *entry))
        return tuple(created)

    def _watch(self, item: StockItem, at: dt.datetime) -> None:
        """Raise LowStock when available falls to or below the reorder point (once per crossing)."""
        point = item.reorder_point
        if point is None:
            return
        free = item.on_hand - item.reserved - item.safety_stock
        if free <= point:
            if not item.low_stock:
                item.low_stock = True
                available = free if free > 0 else _ZERO
                suggested = item.reorder_quantity or point - available + self._config.unit
                self._events.append(
                    LowStock(item.sku, item.warehouse_id, available, point, suggested, at)
                )
        elif item.low_stock:
            item.low_stock = False


# --------------------------------------------------------------------------- unit of work


class SqlUnitOfWork(abc.ABC):
    """One database transaction over orders, stock, outbox, idempotency records and numbers.

    Used once, as a context manager: leaving the block without :meth:`commit` rolls back.
    ``statements`` counts the statements the repositories sent (transaction control excluded).
    """

    orders: SqlOrderRepository
    stock: SqlStockRepository
    outbox: SqlOutboxStore
    idempotency: SqlIdempotencyStore
    numbers: SqlOrderNumbers

    def __init__(self, config: StoreConfig) -> None:
        self._config = config
        self._session: Session | None = None
        self._used = False

    # hooks of the adapters

    @abc.abstractmethod
    def _begin(self) -> Session:
        """Start the transaction and return its session."""

    @abc.abstractmethod
    def _commit(self, session: Session) -> None: ...

    @abc.abstractmethod
    def _rollback(self, session: Session) -> None: ...

    @abc.abstractmethod
    def _release(self, session: Session) -> None:
        """Give the connection back (called once, after commit or rollback)."""

    # the unit of work

    @property
    def statements(self) -> int:
        return 0 if self._session is None else self._session.statements

    def __enter__(self) -> Self:
        if self._used:
            raise errors.ProgrammingError("a unit of work is used once; open a new one")
        self._used = True
        session = self._begin()
        self._session = session
        config = self._config
        self.orders = SqlOrderRepository(session, config)
        self.stock = SqlStockRepository(session, config)
        self.outbox = SqlOutboxStore(session, config)
        self.idempotency = SqlIdempotencyStore(session, config)
        self.numbers = SqlOrderNumbers(session, config)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self._session
        if session is not None and not session.finished:
            if exc is None:
                self.rollback()
            else:
                # the exception in flight says more than a failed rollback would
                with contextlib.suppress(errors.StorageError):
                    self.rollback()

    def _open(self) -> Session:
        session = self._session
        if session is None:
            raise errors.ProgrammingError("enter the unit of work (with uow: ...) first")
        if session.finished:
            raise session.closed_error()
        return session

    def commit(self) -> None:
        """Make every change durable and visible at once; the unit of work is then finished."""
        session = self._open()
        try:
            self._commit(session)
        except BaseException:
            with contextlib.suppress(errors.StorageError):
                self._rollback(session)
            raise
        finally:
            session.finished = True
            self._release(session)

    def rollback(self) -> None:
        """Undo every change of this unit of work; it is then finished."""
        session = self._open()
        try:
            self._rollback(session)
        finally:
            session.finished = True
            self._release(session)
