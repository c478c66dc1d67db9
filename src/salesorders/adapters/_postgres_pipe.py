"""The statements of a transaction the PostgreSQL store began itself, pipelined through libpq.

A place + confirm sends seven statements in two round trips. Through the driver's cursors and
its pipeline each statement cost about as much client CPU as the library's own work on it (the
cursor, the query object, the pipeline's queue of commands and results), and that CPU is what
limits the store on a busy client. A :class:`Pipe` sends the same statements through the
driver's libpq layer (:mod:`psycopg.pq`) with the driver's own adaptation (a
:class:`psycopg.adapt.Transformer`), so parameters and rows are the same Python values as
through a cursor, and errors the same exception types (built by the driver from the server's
answer). Only the bookkeeping is ours: which answers are awaited, in which order, and the
statements prepared on each connection.

Each statement is prepared on its connection the first time it is sent (a parse message in the
same pipeline, no extra round trip), under a name of this module's (``salesorders_<n>``; the
driver's own prepared statements are named otherwise), up to :data:`PREPARED_PER_CONNECTION`
per connection; later statements run unnamed. Should something discard them (``DISCARD ALL``
or ``DEALLOCATE ALL`` in a pool's reset), the statement fails, the connection's names are
forgotten and the failure is an ``OperationalError``, which the service retries.
"""

from __future__ import annotations

import contextlib
import select
import threading
import weakref
from collections import deque
from collections.abc import Sequence
from typing import Any, Final

import psycopg
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
from psycopg.errors import InvalidSqlStatementName, error_from_result

__all__ = ["PREPARED_PER_CONNECTION", "Answer", "Pipe"]

#: Statements prepared per connection; any further ones run unnamed.
PREPARED_PER_CONNECTION: Final = 256

_TUPLES_OK: Final = pq.ExecStatus.TUPLES_OK
_COMMAND_OK: Final = pq.ExecStatus.COMMAND_OK
_PIPELINE_SYNC: Final = pq.ExecStatus.PIPELINE_SYNC
_PIPELINE_ABORTED: Final = pq.ExecStatus.PIPELINE_ABORTED
_AUTO: Final = PyFormat.AUTO
_PREFIX: Final = "salesorders_"
_POLL: Final = hasattr(select, "poll")


class _Prepared:
    """A connection's prepared statements, by (text, parameter types), and its transformer."""

    __slots__ = ("names", "tx")

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.names: dict[tuple[str, Any], bytes] = {}
        self.tx = Transformer(connection)


_prepared: weakref.WeakKeyDictionary[psycopg.Connection[Any], _Prepared] = (
    weakref.WeakKeyDictionary()
)
_prepared_lock = threading.Lock()
_names = iter(range(1, 1 << 62))


def _prepared_on(connection: psycopg.Connection[Any]) -> _Prepared:
    with _prepared_lock:
        prepared = _prepared.get(connection)
        if prepared is None:
            prepared = _prepared[connection] = _Prepared(connection)
        return prepared


class Answer:
    """The answer to one statement of a :class:`Pipe`, read when asked for (as a cursor's)."""

    __slots__ = ("_error", "_pipe", "_result", "done")

    def __init__(self, pipe: Pipe) -> None:
        self._pipe = pipe
        self._result: pq.abc.PGresult | None = None
        self._error: psycopg.Error | None = None
        self.done = False

    def _settle(self, result: pq.abc.PGresult | None, error: psycopg.Error | None) -> None:
        self._result, self._error, self.done = result, error, True

    def _answered(self) -> pq.abc.PGresult | None:
        if not self.done:
            self._pipe.read_until(self)
        if self._error is not None:
            raise self._error
        return self._result

    def fetchall(self) -> list[tuple[Any, ...]]:
        """The statement's rows, as tuples of the driver's Python values."""
        result = self._answered()
        if result is None or result.status != _TUPLES_OK:
            return []
        return self._pipe.rows(result)

    def fetchone(self) -> tuple[Any, ...] | None:
        """The statement's first row, if any."""
        rows = self.fetchall()
        return rows[0] if rows else None

    @property
    def rowcount(self) -> int:
        """Rows the statement changed or returned (-1 when it does not say)."""
        result = self._answered()
        count = None if result is None else result.command_tuples
        return -1 if count is None else count


#: What the pipe awaits, in the order the server answers: a statement's answer, a statement
#: being prepared (its key among the connection's prepared ones) or a sync (``True``).
_Awaited = Answer | tuple[str, Any] | bool


class Pipe:
    """A connection in libpq's pipeline mode, for one transaction; see the module's notes.

    :meth:`execute` sends a statement without waiting. An answer is read when asked for (all
    the answers before it on the way): a flush request asks the server for them, without
    ending the transaction's pipeline. The first error is raised by whichever read meets it
    and by every read after it, until :meth:`close`. :meth:`close` syncs, reads what is left
    and leaves pipeline mode; the connection is then the driver's again.
    """

    __slots__ = (
        "_awaited", "_encoding", "_error", "_pg", "_poll", "_prepared",
        "_tx", "_unflushed", "_unsynced",
    )  # fmt: skip

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._pg = connection.pgconn
        prepared = _prepared_on(connection)
        self._tx = prepared.tx
        self._prepared = prepared.names
        self._encoding = connection.info.encoding
        self._awaited: deque[_Awaited] = deque()
        self._error: psycopg.Error | None = None
        self._unflushed = False
        #: Statements were sent since the last sync: the server answers an error by skipping
        #: everything until the next sync, so the pipe never ends without one.
        self._unsynced = False
        self._poll: Any = None
        self._pg.enter_pipeline_mode()

    # ------------------------------------------------------------------ sending

    def execute(
        self, sql: str, params: Sequence[Any] | None = None, *, prepare: bool | None = None
    ) -> Answer:
        """Send ``sql`` with ``params`` (``$1`` ...); ``prepare=False``: never prepared."""
        pg = self._pg
        tx = self._tx
        if params:
            values = tx.dump_sequence(params, [_AUTO] * len(params))
            types = tx.types or ()
            formats = tx.formats
        else:
            values, types, formats = None, (), None
        name = None
        if prepare is not False:
            key = (sql, types)
            name = self._prepared.get(key)
            if name is None and len(self._prepared) < PREPARED_PER_CONNECTION:
                name = f"{_PREFIX}{next(_names)}".encode()
                pg.send_prepare(name, sql.encode(self._encoding), param_types=types)
                self._prepared[key] = name
                self._awaited.append(key)
        if name is None:
            pg.send_query_params(
                sql.encode(self._encoding), values, param_types=types, param_formats=formats
            )
        else:
            pg.send_query_prepared(name, values, param_formats=formats)
        answer = Answer(self)
        self._awaited.append(answer)
        self._unflushed = self._unsynced = True
        return answer

    def sync(self) -> None:
        """Sync and read every answer up to it, raising the first error."""
        self._pg.pipeline_sync()
        self._awaited.append(True)
        self._unsynced = False
        self._flush()
        while not self._read_one():
            pass
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """Sync, read what is left (raising the first error) and leave pipeline mode."""
        try:
            if self._awaited or self._unsynced:
                self.sync()
            elif self._error is not None:
                raise self._error
        finally:
            if not self._awaited:
                self._pg.exit_pipeline_mode()

    def abandon(self) -> None:
        """Leave pipeline mode without raising; a connection left broken is discarded by its
        pool."""
        with contextlib.suppress(psycopg.Error):
            self.close()

    # ------------------------------------------------------------------ reading

    def read_until(self, answer: Answer) -> None:
        """Read answers until ``answer``'s (those before it kept for their readers)."""
        if self._unflushed:
            self._pg.send_flush_request()
            self._flush()
        while not answer.done:
            if not self._awaited:
                raise psycopg.ProgrammingError("the answer was not sent on this pipeline")
            self._read_one()

    def rows(self, result: pq.abc.PGresult) -> list[tuple[Any, ...]]:
        tx = self._tx
        tx.set_pgresult(result)
        return tx.load_rows(0, result.ntuples, tuple)

    def _read_one(self) -> bool:
        """Read the answer awaited first; ``True`` when it was a sync."""
        awaited = self._awaited[0]
        result = self._result()
        if awaited is True:
            self._awaited.popleft()
            if result is None or result.status != _PIPELINE_SYNC:
                raise psycopg.OperationalError("the server answered a sync out of order")
            return True
        if result is None:
            raise psycopg.OperationalError("the server ended an answer it had not begun")
        while self._result() is not None:  # a statement's results end with none
            pass
        self._awaited.popleft()
        error = self._failure(result)
        if isinstance(awaited, Answer):
            awaited._settle(result, error or self._error)
        elif error is not None and isinstance(awaited, tuple):
            # not prepared (it failed, or an earlier statement's error skipped it)
            self._prepared.pop(awaited, None)
        return False

    def _failure(self, result: pq.abc.PGresult) -> psycopg.Error | None:
        """The error ``result`` reports (kept as the pipe's first), if any."""
        status = result.status
        if status in (_TUPLES_OK, _COMMAND_OK):
            return None
        if status == _PIPELINE_ABORTED:
            return self._error or psycopg.errors.PipelineAborted("an earlier statement failed")
        error = error_from_result(result, encoding=self._encoding)
        if isinstance(error, InvalidSqlStatementName):
            self._prepared.clear()
            discarded = psycopg.OperationalError(
                "statements prepared on this connection were discarded (DISCARD ALL or "
                f"DEALLOCATE ALL?): {error}; retry the unit of work"
            )
            discarded.__cause__ = error
            error = discarded
        if self._error is None:
            self._error = error
        return error

    def _result(self) -> pq.abc.PGresult | None:
        pg = self._pg
        while pg.is_busy():
            self._wait(write=False)
            pg.consume_input()
        return pg.get_result()

    def _flush(self) -> None:
        pg = self._pg
        while pg.flush():
            self._wait(write=True)
        self._unflushed = False

    def _wait(self, *, write: bool) -> None:
        """Wait until the connection's socket is readable (or ``write``: writable)."""
        fd = self._pg.socket
        if _POLL:
            event = select.POLLOUT if write else select.POLLIN
            poll = self._poll
            if poll is None:
                poll = self._poll = select.poll()
                poll.register(fd, event)
            else:
                poll.modify(fd, event)
            poll.poll()
        elif write:
            select.select([], [fd], [])
        else:
            select.select([fd], [], [])
