"""The PostgreSQL store's transaction: one psycopg connection, pipelined, with the order numbers
taken at the commit, reads sent ahead or read soon, and the idempotency records stored with the
commit (see :mod:`salesorders.adapters.postgres`)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import psycopg

from salesorders import errors
from salesorders.adapters._postgres_batch import send_held
from salesorders.adapters._postgres_numbers import LateNumbers
from salesorders.adapters._postgres_pipe import Answer, Pipe
from salesorders.adapters._sql import (
    Row,
    Session,
    SqlOrderNumbers,
    StoreConfig,
    translate_error,
)
from salesorders.adapters._sql.audit import conflict_from_detail
from salesorders.adapters._sql.outbox import SqlIdempotencyStore
from salesorders.domain.checks import require_text
from salesorders.ports import IdempotencyRecord

__all__ = [
    "SAVEPOINT",
    "Connection",
    "PostgresIdempotency",
    "PostgresNumbers",
    "PostgresSession",
    "translate_driver_error",
]

#: The savepoint a unit of work runs in inside a host's own transaction.
SAVEPOINT = "salesorders_uow"
_IDLE = psycopg.pq.TransactionStatus.IDLE

Connection = psycopg.Connection[Any]
#: What a statement sent for its answer gives: the driver's cursor, or a pipe's answer.
Answered = psycopg.RawCursor[Any] | Answer


#: A unique violation on these tables: what is already stored, and what to do instead.
_ALREADY_STORED: dict[str, tuple[str, str]] = {
    "customers": ("a customer with this id", "update it instead"),
    "orders": (
        "an order with this id or number",
        "use a new order id, or get and save the stored order",
    ),
}


def translate_driver_error(
    error: psycopg.Error, puts: dict[str, str] | None = None
) -> errors.SalesOrdersError:
    """The library's error for a driver error; an id or number already stored for an order is a
    :class:`~salesorders.errors.ConflictError` even when it surfaces at a later statement, so is
    an audit record whose ``(stream, sequence)`` is taken (a
    :class:`~salesorders.errors.ConcurrencyConflictError`, which the service retries), a key
    already stored by an idempotency ``put`` of this transaction (``puts``: key -> command) an
    :class:`~salesorders.errors.IdempotencyConflictError`, and a value too large for an index
    (SQLSTATE class 54) a :class:`~salesorders.errors.DataError`, not an ``OperationalError`` the
    service would retry."""
    if (
        puts
        and isinstance(error, psycopg.errors.UniqueViolation)
        and error.diag.table_name == "idempotency"
    ):
        key, command = _refused_key(error, puts)
        refused = errors.IdempotencyConflictError(key, command)
        refused.__cause__ = error
        return refused
    if isinstance(error, psycopg.errors.UniqueViolation) and error.diag.table_name == "audit_log":
        taken = conflict_from_detail(error.diag.message_detail)
        taken.__cause__ = error
        return taken
    stored = (
        _ALREADY_STORED.get(error.diag.table_name or "")
        if isinstance(error, psycopg.errors.UniqueViolation)
        else None
    )
    if stored is not None:
        what, then = stored
        conflict = errors.ConflictError(
            f"{what} is already stored ({error.diag.message_detail}); {then}"
        )
        conflict.__cause__ = error
        return conflict
    if isinstance(error, psycopg.errors.ProgramLimitExceeded):
        # A value too large for an index or a row: not transient, so never retried.
        too_large = errors.DataError(
            f"{type(error).__name__}: {str(error).strip()}; a value is too large to store"
        )
        too_large.__cause__ = error
        return too_large
    return translate_error(error)


def _refused_key(error: psycopg.Error, puts: dict[str, str]) -> tuple[str, str]:
    """The key (and its command) among ``puts`` that the unique violation ``error`` names; the
    only one when the transaction put one key, as a command does."""
    if len(puts) == 1:
        return next(iter(puts.items()))
    detail = error.diag.message_detail or ""
    for key, command in puts.items():
        if f"=({key})" in detail:
            return key, command
    key, command = next(reversed(puts.items()))
    return key, command


class PostgresSession(Session):
    """A transaction on one psycopg connection.

    In pipeline mode (the default) statements whose result is not needed — ``BEGIN``, the
    writes of ``reserve``, inserting an order, appending to the outbox, storing the idempotency
    record — are sent without waiting, and travel to the server together with the next
    statement that needs an answer (or the commit). An error of a write sent ahead is raised by
    that next statement (or by ``commit``), as the same error type.

    With ``begin`` (the connection is then in autocommit mode) the session starts the
    transaction itself, so ``BEGIN`` travels with the first statement instead of costing a
    round trip of its own, as the driver's implicit ``BEGIN`` does in pipeline mode; its
    statements then go through a :class:`~salesorders.adapters._postgres_pipe.Pipe`, the
    driver's libpq layer, instead of its cursors. Inside a host's transaction (a savepoint) the
    driver's own pipeline and cursors carry them.
    """

    __slots__ = (
        "_ahead", "_ask", "_began", "_connection", "_late", "_pipeline",
        "_pipeline_block", "_send", "puts",
    )  # fmt: skip
    driver_error = psycopg.Error

    def __init__(
        self, connection: Connection, pipelined: bool, begin: str = "", *, read_only: bool = False
    ) -> None:
        super().__init__(read_only=read_only)
        self._connection = connection
        self._pipeline_block: AbstractContextManager[psycopg.Pipeline] | None = None
        self._pipeline: psycopg.Pipeline | Pipe | None = None
        #: Keys (-> command) this transaction stored idempotency records under, sent unchecked.
        self.puts: dict[str, str] = {}
        #: Send a statement whose answer is not read; send one for its answer.
        self._send: Callable[..., object]
        self._ask: Callable[[str, Sequence[Any]], Answered]
        if pipelined and begin:
            pipe = self._pipeline = Pipe(connection)
            self._send = self._ask = pipe.execute
        else:
            self._send = psycopg.RawCursor(connection).execute
            self._ask = self._cursor_for
            if pipelined:
                block = connection.pipeline()
                self._pipeline = block.__enter__()
                self._pipeline_block = block
        self._began = bool(begin)
        #: Numbers taken at the commit, and the writes held back until then (``None``: none).
        self._late: LateNumbers | None = None
        #: A read said to come soon: its text, parameters and, once sent, its answer.
        self._ahead: tuple[str, tuple[Any, ...], Answered | None] | None = None
        if begin:
            self._send(begin, None, prepare=False)

    def number_at_commit(self, take_sql: str, series: str, width: int) -> str | None:
        """A placeholder for the next number of ``series``, taken at the commit (see
        :mod:`salesorders.adapters._postgres_numbers`); ``None`` where this session cannot
        (not pipelined, or a savepoint inside a host's transaction)."""
        if not self._began:
            return None
        self._start(writes=True)
        late = self._late
        if late is None:
            late = self._late = LateNumbers()
        return late.ask(take_sql, series, width)

    @property
    def taken_numbers(self) -> dict[str, str]:
        """Placeholder -> number, for the numbers this session took at its commit."""
        return {} if self._late is None else self._late.taken

    def _send_held(self) -> None:
        """Send the writes held back, numbered, joined into as few statements as is safe (see
        :mod:`salesorders.adapters._postgres_batch`)."""
        if self._late is not None:
            send_held(self._late, self._send, self._ask)

    def _cursor_for(self, sql: str, params: Sequence[Any]) -> psycopg.RawCursor[Any]:
        return psycopg.RawCursor(self._connection).execute(sql, params)

    def queue(self, sql: str, params: Sequence[Any]) -> None:
        """Send a statement that changes no data (a lock) without waiting for its answer."""
        self._start(writes=False)
        try:
            self._send_held()
            self._send(sql, params)
        except psycopg.Error as error:
            raise self.failure(error) from error

    def control(self, sql: str) -> None:
        """Transaction control (savepoints, the migration's lock): not counted, never prepared."""
        try:
            self._send_held()
            self._send(sql, None, prepare=False)
            if self._pipeline is not None:
                self._pipeline.sync()
        except psycopg.Error as error:
            raise self.failure(error) from error

    def commit(self) -> None:
        """Commit. In pipeline mode ``COMMIT`` is queued and travels with the sync that leaves
        pipeline mode, so committing costs one round trip instead of two (the driver's own
        commit syncs, and leaving pipeline mode afterwards syncs again)."""
        try:
            if self._pipeline is None:
                self._connection.commit()
            else:
                self._send_held()
                if self._began or self._connection.pgconn.transaction_status != _IDLE:
                    self._send("COMMIT", None, prepare=False)
                self._leave_pipeline()
            if self._late is not None:
                self._late.read_answers()
        except psycopg.Error as error:
            raise self.failure(error) from error

    def _leave_pipeline(self) -> None:
        """Sync and leave pipeline mode, raising the error of any statement still pending."""
        pipeline, block = self._pipeline, self._pipeline_block
        self._pipeline_block = self._pipeline = None
        if isinstance(pipeline, Pipe):
            pipeline.close()
        elif block is not None:
            block.__exit__(None, None, None)

    def rollback(self) -> None:
        self.close()  # leave pipeline mode first: a failed write may have left it aborted
        try:
            self._connection.rollback()
        except psycopg.Error as error:
            raise self.failure(error) from error

    def rollback_to_savepoint(self) -> None:
        self.close()
        self.control(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
        self.control(f"RELEASE SAVEPOINT {SAVEPOINT}")

    def close(self) -> None:
        """Leave pipeline mode (nothing is pending after commit or rollback)."""
        pipeline, block = self._pipeline, self._pipeline_block
        self._pipeline_block = self._pipeline = None
        if isinstance(pipeline, Pipe):
            pipeline.abandon()
        elif block is not None:
            # the transaction is over; the pool discards a connection left broken
            with contextlib.suppress(psycopg.Error):
                block.__exit__(None, None, None)

    def translate(self, error: Exception) -> errors.SalesOrdersError:
        if self.read_only and isinstance(error, psycopg.errors.ReadOnlySqlTransaction):
            return self.read_only_error()
        if isinstance(error, psycopg.Error):
            return translate_driver_error(error, self.puts)
        return translate_error(error)

    @property
    def reads_ahead(self) -> bool:
        return self._pipeline is not None

    def read_ahead(self, sql: str, params: Sequence[Any]) -> None:
        """Hold ``sql`` until the next statement whose answer is waited for, and send it right
        after that one: both answers come with one sync. Statements run in the order they are
        sent, so the read's row locks come after that statement's (the idempotency lookup's
        advisory lock first, as without reading ahead)."""
        if self._pipeline is not None:
            self._ahead = (sql, tuple(params), None)

    def _start(self, *, writes: bool) -> None:
        super()._start(writes=writes)
        if writes:
            self._ahead = None  # a read sent before a write may not see it

    def _run(self, sql: str, params: Sequence[Any]) -> None:
        late = self._late
        if late is not None:
            late.held.append((sql, params, None))  # sent with the number, at the latest at commit
            return
        self._send(sql, params)

    def _answered(self, sql: str, params: Sequence[Any]) -> Answered:
        """Send a statement whose answer is needed, after the writes held back (numbered)."""
        late = self._late
        if late is not None:
            self._send_held()
            sql, params = late.numbered(sql, params)
        answer = self._ask(sql, params)
        ahead = self._ahead
        if ahead is not None and ahead[2] is None:
            self._ahead = (ahead[0], ahead[1], self._ask(ahead[0], ahead[1]))
        return answer

    def rows_soon(self, sql: str, params: Sequence[Any] = ()) -> Callable[[], list[Row]]:
        """Send a read (after the writes held back) without waiting: its answer is read by the
        function returned, so the caller works while the read travels."""
        if self._pipeline is None:
            return super().rows_soon(sql, params)
        self._start(writes=False)
        try:
            cursor = self._sent(sql, params)
        except psycopg.Error as error:
            raise self.failure(error) from error

        def answer() -> list[Row]:
            try:
                return cursor.fetchall()
            except psycopg.Error as error:
                raise self.failure(error) from error

        return answer

    def _sent(self, sql: str, params: Sequence[Any]) -> Answered:
        """The answer of a read: the one already sent ahead for it, else the read sent now."""
        ahead = self._ahead
        if ahead is not None and ahead[0] == sql and ahead[1] == tuple(params):
            self._ahead = None
            if ahead[2] is not None:
                return ahead[2]
        return self._answered(sql, params)

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Row]:
        return self._sent(sql, params).fetchall()

    def _count(self, sql: str, params: Sequence[Any]) -> int:
        cursor = self._answered(sql, params)
        if self._pipeline is not None:
            self._pipeline.sync()
        return cursor.rowcount


class PostgresIdempotency(SqlIdempotencyStore):
    """Idempotency records that cost no round trip of their own when a command stores one.

    ``get`` first takes a transaction-level advisory lock on the key, sent in the same round trip
    as the read: a concurrent command with the same key waits at its ``get`` until the first one
    ends, then reads its record (each statement reads the data committed before it started). So
    ``put`` needs no answer: it is sent without waiting, with the commit. A key already stored
    and not expired is refused by the statement itself (a unique violation, raised by the next
    statement that waits or by ``commit`` as :class:`~salesorders.errors.IdempotencyConflictError`).
    """

    __slots__ = ("_lock_sql", "_pg", "_put_sql")

    def __init__(
        self, session: PostgresSession, config: StoreConfig, lock_sql: str, put_sql: str
    ) -> None:
        super().__init__(session, config)
        self._pg = session
        self._lock_sql = lock_sql
        self._put_sql = put_sql

    def get(self, key: str, now: dt.datetime) -> IdempotencyRecord | None:
        return self.get_soon(key, now)()

    def get_soon(self, key: str, now: dt.datetime) -> Callable[[], IdempotencyRecord | None]:
        """Send the key's lookup (after its lock) and return a function that reads its record:
        in pipeline mode the caller works while the lookup travels (see
        :meth:`salesorders.outbox_ports.IdempotencyStore.get`)."""
        if isinstance(key, str):
            self._pg.queue(self._lock_sql, (key,))
        answer = self._pg.rows_soon(*self._get_statement(key, now))
        return lambda: self._record(answer())

    def put(self, record: IdempotencyRecord) -> None:
        params = self._put_params(record)
        self._pg.puts[record.key] = record.command
        self._pg.run(self._put_sql, params)


class PostgresNumbers(SqlOrderNumbers):
    """Gap-free numbers, which a placed order may take at the commit (``number_at_commit``)."""

    __slots__ = ("_pg", "_take_sql")

    def __init__(self, session: PostgresSession, config: StoreConfig, take_sql: str) -> None:
        super().__init__(session, config)
        self._pg = session
        self._take_sql = take_sql

    def number_at_commit(self, series: str, width: int) -> str | None:
        """A placeholder for ``series-NNNNNN`` (at least ``width`` digits), the number itself
        taken by the commit's final statements; ``None`` inside a host's transaction."""
        require_text(series, "series")
        return self._pg.number_at_commit(self._take_sql, series, width)

    @property
    def taken(self) -> Mapping[str, str]:
        """After the commit: each placeholder -> the number it stands for."""
        return self._pg.taken_numbers
