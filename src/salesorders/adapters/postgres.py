"""The PostgreSQL store, on psycopg 3 (``pip install 'salesorders[postgres]'``).

>>> store = PostgresStore("postgresql://app@db/shop")      # doctest: +SKIP
>>> with store.unit_of_work() as uow:                      # doctest: +SKIP
...     StockDesk(uow.stock).reserve_plan(plan, now)
...     uow.commit()

* Tables live in their own schema (``schema="salesorders"`` by default), created or migrated to
  the latest version when the store opens (under an advisory lock, so several processes may
  start at once).
* Connections come from a :class:`psycopg_pool.ConnectionPool` built from ``dsn`` (or a pool you
  pass in). Alternatively pass ``connection=`` a connection your application already holds: then
  every unit of work runs inside a ``SAVEPOINT`` of *your* transaction — its commit releases the
  savepoint, its rollback rolls back to it — and your application commits.
* **No oversell.** ``snapshot`` and ``reserve`` lock the stock rows they read with
  ``SELECT ... ORDER BY sku, warehouse_id FOR UPDATE`` (the same order everywhere, so two plans
  cannot deadlock, and a plan made from a snapshot cannot be overtaken before it is reserved);
  ``reserve`` checks in Python, then writes items, reservations and ledger entries in one
  statement (an ``UPDATE ... FROM (VALUES ...)`` and multi-row inserts as data-modifying
  ``WITH`` queries). Quantities are ``NUMERIC``; documents are ``JSONB``.
* Statements use PostgreSQL's numbered parameters and are prepared by the driver once used
  often; in pipeline mode (the default) ``BEGIN`` and the writes whose result is not needed
  travel with the next statement that needs an answer, and ``COMMIT`` with the last writes
  (the store holds its pooled connections in autocommit mode and sends ``BEGIN`` itself). A
  place-and-confirm costs two round trips, with or without an idempotency key: the key's
  lookup waits for a concurrent command with the same key (an advisory lock), so its record is
  stored without waiting for an answer, and the order's stock snapshot is read ahead, sent
  right after the lookup. A unit of work that changed nothing ends without
  ``ROLLBACK``, which would make the driver forget the connection's prepared statements.
* ``store.read()`` opens a read (a read-only unit of work): one ``REPEATABLE READ READ ONLY``
  transaction, so every statement of it sees the same snapshot and none waits for a row lock;
  inside your ``connection=`` it is a savepoint made read-only and always rolled back. A write
  attempted in it raises :class:`~salesorders.errors.ProgrammingError` and changes nothing.
* Driver errors become :class:`~salesorders.errors.StorageError` subclasses by their PEP 249 name;
  serialization failures, deadlocks and lock timeouts are
  :class:`~salesorders.errors.OperationalError`, which the service layer retries.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
from collections.abc import Sequence
from decimal import Decimal
from types import MappingProxyType, TracebackType
from typing import Any, Self

try:
    import psycopg
    from psycopg_pool import ConnectionPool
except ImportError as missing:  # pragma: no cover - exercised by a test in a clean interpreter
    raise ImportError(
        "salesorders.adapters.postgres needs psycopg 3 and psycopg-pool; install them with "
        "pip install 'salesorders[postgres]'"
    ) from missing

from salesorders import errors
from salesorders.adapters._postgres_numbers import take_statement
from salesorders.adapters._postgres_session import (
    SAVEPOINT,
    Connection,
    PostgresIdempotency,
    PostgresNumbers,
    PostgresSession,
)
from salesorders.adapters._sql import (
    Dialect,
    Session,
    SqlUnitOfWork,
    StoreConfig,
    migrate,
    schema_version,
    translate_error,
)
from salesorders.serialization import Serializer

__all__ = ["PostgresDialect", "PostgresRead", "PostgresStore", "PostgresUnitOfWork"]

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_READ_BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
_READ_SET = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"


def _begin_statement(connection: Connection) -> str:
    """``BEGIN`` with the connection's isolation level and access mode, as the driver says it."""
    parts = ["BEGIN"]
    if connection.isolation_level is not None:
        level = psycopg.IsolationLevel(connection.isolation_level)
        parts.append("ISOLATION LEVEL " + level.name.replace("_", " "))
    if connection.read_only is not None:
        parts.append("READ ONLY" if connection.read_only else "READ WRITE")
    if connection.deferrable is not None:
        parts.append("DEFERRABLE" if connection.deferrable else "NOT DEFERRABLE")
    return " ".join(parts)


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
            "serial_key": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
            "position_column": ", position BIGINT GENERATED ALWAYS AS IDENTITY",
            "binary": ' COLLATE "C"',
            "filter_only": "",
            "without_rowid": "",
        }
    )
    lock_items = " FOR UPDATE OF i"
    snapshot_locks_items = True
    lock_rows = " FOR UPDATE"
    writes_in_one_statement = True
    # the reservation ids compare byte by byte (their column's "C" collation, schema version 15)
    order_reservations_by_id = True
    position = "position"
    # PostgreSQL takes 65,535 parameters; a few are kept for the numbers taken at the commit.
    max_params = 65535 - 64

    def render(self, template: str) -> str:
        """PostgreSQL's own numbered parameters (``$1``, ``$2`` ...): the driver then passes the
        text through untouched instead of parsing long multi-row statements every time."""
        parts = super().render(template).split("?")
        return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))

    def rows(self, types: Sequence[str], count: int) -> str:
        """``VALUES`` whose rows cast each column to its type (every row, so that a parameter
        the server rewrites, such as a number taken at the commit, keeps its column's type)."""
        row = "(" + ", ".join(f"?::{self.types[kind]}" for kind in types) + ")"
        return "VALUES " + ", ".join([row] * count)

    def dec(self, value: Decimal) -> Any:
        return value

    def time(self, value: dt.datetime) -> Any:
        return value

    def day(self, value: dt.date) -> Any:
        return value


class PostgresUnitOfWork(SqlUnitOfWork):
    """One transaction of a :class:`PostgresStore` (a savepoint inside a host's transaction)."""

    def __init__(self, store: PostgresStore) -> None:
        super().__init__(store._config)
        self._store = store

    def __enter__(self) -> Self:
        super().__enter__()
        session = self._session
        assert isinstance(session, PostgresSession)
        store = self._store
        self.idempotency = PostgresIdempotency(
            session, store._config, store._key_lock_sql, store._put_sql
        )
        self.numbers = PostgresNumbers(session, store._config, store._take_sql)
        return self

    def _begin(self) -> Session:
        return self._store._begin()

    def _commit(self, session: Session) -> None:
        assert isinstance(session, PostgresSession)
        if self._store._host is None:
            session.commit()
        else:
            session.control(f"RELEASE SAVEPOINT {SAVEPOINT}")

    def _rollback(self, session: Session) -> None:
        assert isinstance(session, PostgresSession)
        if not (session.wrote or session.failed):
            # Nothing to undo: end the transaction without ROLLBACK, which would make the
            # driver forget the connection's prepared statements.
            self._commit(session)
        elif self._store._host is None:
            session.rollback()
        else:
            session.rollback_to_savepoint()

    def _release(self, session: Session) -> None:
        assert isinstance(session, PostgresSession)
        self._store._end(session)


class PostgresRead(SqlUnitOfWork):
    """A read of a :class:`PostgresStore` (``store.read()``): one ``REPEATABLE READ READ ONLY``
    transaction (a read-only savepoint, always rolled back, inside a host's connection); writes
    raise :class:`~salesorders.errors.ProgrammingError`. ``commit`` and ``rollback`` both end it.
    """

    def __init__(self, store: PostgresStore) -> None:
        super().__init__(store._config)
        self._store = store

    def _begin(self) -> Session:
        return self._store._begin(read_only=True)

    def _commit(self, session: Session) -> None:
        self._rollback(session)

    def _rollback(self, session: Session) -> None:
        assert isinstance(session, PostgresSession)
        if self._store._host is None:
            if session.failed:
                session.rollback()
            else:  # ends the read without ROLLBACK, which would forget the prepared statements
                session.commit()
        else:
            session.rollback_to_savepoint()

    def _release(self, session: Session) -> None:
        assert isinstance(session, PostgresSession)
        self._store._end(session)


class PostgresStore:
    """Orders, stock, outbox, idempotency records and order numbers in PostgreSQL.

    Give exactly one of ``dsn`` (a pool of ``min_size`` .. ``max_size`` connections is opened),
    ``pool`` (your :class:`psycopg_pool.ConnectionPool`) or ``connection`` (your connection; units
    of work become savepoints of your transaction and run one at a time). ``schema`` names the
    PostgreSQL schema of the tables. ``unit_of_work`` is the
    :class:`~salesorders.ports.UnitOfWorkFactory`. ``statements`` counts the statements the
    repositories executed (transaction control excluded). ``timeout`` is how many seconds to wait
    for a free connection. With ``pipeline`` (the default) writes whose result is not needed
    travel with the next statement that needs one; errors keep their types but may be raised by
    that later statement or by ``commit``. Orders and warehouses are stored as documents of a
    :class:`~salesorders.serialization.Serializer`: ``bootstrap(store=store, workflows=[...])``
    hands the store the service's own (see :meth:`use_serializer`); ``serializer`` is the one used
    until then.
    """

    def __init__(
        self,
        dsn: str | None = None,
        *,
        pool: ConnectionPool[Any] | None = None,
        connection: Connection | None = None,
        schema: str = "salesorders",
        min_size: int = 1,
        max_size: int = 8,
        serializer: Serializer | None = None,
        quantity_places: int = 3,
        timeout: float = 30.0,
        pipeline: bool = True,
    ) -> None:
        given = [
            name
            for name, value in (("dsn", dsn), ("pool", pool), ("connection", connection))
            if value is not None
        ]
        if len(given) != 1:
            raise errors.ValidationError(
                "dsn", given, "give exactly one of dsn, pool or connection"
            )
        if not isinstance(schema, str) or not _SCHEMA_NAME.fullmatch(schema):
            raise errors.ValidationError(
                "schema",
                schema,
                "must be a lower-case SQL identifier",
                "use letters, digits and underscores, e.g. 'salesorders'",
            )
        self.schema = schema
        self._config = StoreConfig(PostgresDialect(f'"{schema}".'), serializer, quantity_places)
        dialect = self._config.dialect
        # A transaction-level advisory lock per idempotency key (the two-int4 key space, which
        # never meets the one-bigint one; the first int is this schema's, the second the key's).
        self._key_lock_sql = dialect.render(
            f"SELECT pg_advisory_xact_lock(hashtext('salesorders idempotency {schema}'), "
            "hashtext(?))"
        )
        # The shared upsert, and a plain insert of the same key when it stored nothing: that
        # one fails with a unique violation on the stored, unexpired record.
        # Both parts number the same six parameters $1 .. $6.
        self._put_sql = f"WITH put AS ({self._config.sql.idempotency_put}) " + dialect.render(
            "INSERT INTO {p}idempotency (key, command, fingerprint, result, created_at, "
            "expires_at) SELECT ?, ?, ?, CAST(? AS {json}), ?, ? "
            "WHERE NOT EXISTS (SELECT 1 FROM put)"
        )
        self._take_sql = take_statement(self._config.sql.next_number)
        self._timeout = float(timeout)
        self._pipelined = bool(pipeline)
        self._host = connection
        self._host_lock = threading.Lock()
        self._host_owner: int | None = None
        self._owns_pool = dsn is not None
        self._pool = pool
        self._stats_lock = threading.Lock()
        self._statements = 0
        if dsn is not None:
            self._pool = ConnectionPool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                kwargs={"autocommit": self._pipelined},
                open=False,
                name=f"salesorders-{schema}",
            )
            try:
                self._pool.open(wait=True, timeout=self._timeout)
            except psycopg.Error as error:
                self._pool.close()
                raise translate_error(error) from error
        try:
            self._open_schema()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ public

    @property
    def statements(self) -> int:
        """Statements executed by all units of work of this store so far."""
        return self._statements

    @property
    def schema_version(self) -> int:
        """The version of the database's schema (the latest this library knows, once open)."""
        session = self._begin()
        try:
            return schema_version(session, self._config.dialect)
        finally:
            self._finish(session, commit=False)

    def unit_of_work(self) -> PostgresUnitOfWork:
        """A new unit of work (use it as a context manager)."""
        return PostgresUnitOfWork(self)

    def read(self) -> PostgresRead:
        """A new read-only unit of work on one snapshot (see the module's notes)."""
        return PostgresRead(self)

    def use_serializer(self, serializer: Serializer) -> None:
        """Write and read orders and warehouses with ``serializer`` from the next unit of work on.

        :func:`~salesorders.service.bootstrap` hands over the serializer of its workflow registry
        (``bootstrap(store=store, workflows=[...])``), so orders on a host's workflows are read
        back; call it yourself only when you wire the service without ``bootstrap``.
        """
        self._config.use_serializer(serializer)

    def close(self) -> None:
        """Close the pool this store opened (a pool or connection you passed in stays open)."""
        if self._owns_pool and self._pool is not None:
            self._pool.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostgresStore(schema={self.schema!r})"

    # ------------------------------------------------------------------ connections

    def _checkout(self) -> Connection:
        host = self._host
        if host is not None:
            me = threading.get_ident()
            if self._host_owner == me:
                raise errors.ProgrammingError(
                    "a unit of work is already open on this connection; commit or leave it first"
                )
            if not self._host_lock.acquire(timeout=self._timeout):
                raise errors.OperationalError(
                    "the connection was busy with another unit of work for more than "
                    f"{self._timeout} s; retry the command"
                )
            self._host_owner = me
            if (
                host.autocommit
                and host.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            ):
                self._host_owner = None
                self._host_lock.release()
                raise errors.ProgrammingError(
                    "the connection is in autocommit mode outside a transaction; open one "
                    "(with connection.transaction(): ...) so your application decides when to "
                    "commit, or pass a dsn or a pool instead"
                )
            return host
        assert self._pool is not None
        try:
            connection: Connection = self._pool.getconn(timeout=self._timeout)
        except psycopg.Error as error:
            raise translate_error(error) from error
        # Pipelined units of work send their own BEGIN (see PostgresSession), so the driver
        # must not send one: the connection is in autocommit mode while the store holds it.
        if connection.autocommit != self._pipelined:
            try:
                connection.autocommit = self._pipelined
            except psycopg.Error as error:  # e.g. your pool handed out a busy connection
                self._pool.putconn(connection)
                raise translate_error(error) from error
        return connection

    def _checkin(self, connection: Connection) -> None:
        if self._host is not None:
            self._host_owner = None
            self._host_lock.release()
            return
        assert self._pool is not None
        if connection.autocommit and not self._owns_pool:
            # a connection of your pool goes back as it came: out of autocommit mode
            with contextlib.suppress(psycopg.Error):
                connection.autocommit = False
        self._pool.putconn(connection)

    def _begin(self, *, read_only: bool = False) -> PostgresSession:
        connection = self._checkout()
        try:
            own = self._host is None and self._pipelined
            begin = ""
            if own:
                begin = _READ_BEGIN if read_only else _begin_statement(connection)
            session = PostgresSession(connection, self._pipelined, begin, read_only=read_only)
        except psycopg.Error as error:
            self._checkin(connection)
            raise translate_error(error) from error
        first = []
        if self._host is not None:
            first.append(f"SAVEPOINT {SAVEPOINT}")
            if read_only:  # undone with the savepoint, which a read always rolls back
                first.append("SET LOCAL transaction_read_only = on")
        elif read_only and not own:
            first.append(_READ_SET)  # the first statement of the driver's transaction
        try:
            for statement in first:
                session.control(statement)
        except BaseException:
            session.close()
            self._checkin(connection)
            raise
        return session

    def _end(self, session: PostgresSession) -> None:
        with self._stats_lock:
            self._statements += session.statements
        session.close()
        self._checkin(session._connection)

    def _finish(self, session: PostgresSession, *, commit: bool) -> None:
        """End a store-internal transaction (the migration, a version read) and give the
        connection back."""
        try:
            if self._host is None:
                session.commit() if commit else session.rollback()
            elif commit:
                session.control(f"RELEASE SAVEPOINT {SAVEPOINT}")
            else:
                session.rollback_to_savepoint()
        finally:
            session.close()
            self._checkin(session._connection)

    def _open_schema(self) -> None:
        session = self._begin()
        try:
            session.control(
                f"SELECT pg_advisory_xact_lock(hashtext('salesorders schema {self.schema}'))"
            )
            session.control(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            migrate(session, self._config.dialect)
        except BaseException:
            self._finish(session, commit=False)
            raise
        self._finish(session, commit=True)
