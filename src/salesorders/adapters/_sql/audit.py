"""The ``audit_log`` table of schema version 12: the append-only audit log of the SQL stores.

One row per :class:`~salesorders.domain.audit.AuditRecord`, keyed by its position (the order
records were appended in: ``INTEGER PRIMARY KEY AUTOINCREMENT`` on SQLite, an identity column on
PostgreSQL, so a position is never handed out twice, even after a purge). ``UNIQUE (stream,
sequence)`` refuses a record whose place in its stream is taken, and serves ``last``; the index
by time serves reading by time and purging. ``before`` and ``after`` are stored as JSON text, as
they were written, so a record reads back exactly as it was hashed.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from salesorders import errors
from salesorders.adapters._sql.dialect import Dialect, _chunks, _json_text, _time
from salesorders.adapters._sql.session import Row, Session
from salesorders.domain.audit import AuditRecord
from salesorders.domain.checks import aware_time
from salesorders.ports import AuditQuery

if TYPE_CHECKING:
    from salesorders.adapters._sql.unit_of_work import StoreConfig

__all__ = ["AuditStatements", "SqlAuditLog", "conflict_from_detail"]

_COLUMNS: Final = (
    "stream, sequence, at, actor, channel, action, outcome, subject, reason, before, after, "
    "previous_hash, hash"
)
_TYPES: Final = (
    "text", "int", "ts", "text", "text", "text", "text", "text", "text", "text", "text",
    "text", "text",
)  # fmt: skip
_SELECT: Final = "SELECT position, " + _COLUMNS + " FROM {p}audit_log"
#: The fields of an :class:`AuditQuery` matched exactly, in the order of their conditions.
_EXACT: Final = ("stream", "actor", "action", "outcome", "subject")
#: PostgreSQL's detail of a unique violation: ``Key (stream, sequence)=(order:A, 2) ...``.
_DETAIL: Final = re.compile(r"\(stream, sequence\)=\((?P<stream>.*), (?P<sequence>-?\d+)\)")


class AuditStatements:
    """The audit statements of one store, rendered for its dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        r = dialect.render
        self.last = r(_SELECT + " WHERE stream = ? ORDER BY sequence DESC LIMIT 1")
        self.taken = r("SELECT 1 FROM {p}audit_log WHERE stream = ? AND sequence = ?")
        self.count_before = r("SELECT COUNT(*) FROM {p}audit_log WHERE at < ?")
        self.purge = r("DELETE FROM {p}audit_log WHERE at < ?")

    @functools.lru_cache(maxsize=16)  # noqa: B019 - one instance per store, kept for its life
    def insert(self, count: int) -> str:
        rows = self.dialect.rows(_TYPES, count)
        return self.dialect.render(f"INSERT INTO {{p}}audit_log ({_COLUMNS}) {rows}")

    @functools.lru_cache(maxsize=128)  # noqa: B019 - one instance per store, kept for its life
    def read(self, since: bool, until: bool, exact: tuple[str, ...]) -> str:
        """The records after a position, of the time bounds and exact fields given."""
        conditions = ["position > ?"]
        if since:
            conditions.append("at >= ?")
        if until:
            conditions.append("at < ?")
        conditions.extend(f"{name} = ?" for name in exact)
        return self.dialect.render(
            f"{_SELECT} WHERE {' AND '.join(conditions)} ORDER BY position LIMIT ?"
        )


def _record(row: Row) -> AuditRecord:
    return AuditRecord(
        stream=row[0],
        sequence=int(row[1]),
        at=_time(row[2]),
        actor=row[3],
        channel=row[4],
        action=row[5],
        outcome=row[6],
        subject=row[7],
        reason=row[8],
        before=json.loads(row[9]),
        after=json.loads(row[10]),
        previous_hash=row[11],
        hash=row[12],
    )


def _conflict(stream: str, sequence: int) -> errors.ConcurrencyConflictError:
    """The error of a record whose ``(stream, sequence)`` is taken: its appender expected the
    stream at ``sequence - 1`` and found ``sequence`` written."""
    return errors.ConcurrencyConflictError(stream, sequence - 1, sequence)


def conflict_from_detail(detail: str | None) -> errors.ConcurrencyConflictError:
    """The conflict of a unique violation of ``audit_log`` as PostgreSQL details it (an
    empty stream when the detail does not name it)."""
    found = _DETAIL.search(detail or "")
    if found is None:
        return _conflict("", 1)
    return _conflict(found["stream"], int(found["sequence"]))


def _int(value: object, field: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise errors.ValidationError(field, value, f"must be an int of at least {least}")
    return value


class SqlAuditLog:
    """The audit log of a SQL store (``uow.audit``): rows written in the unit of work."""

    __slots__ = ("_d", "_session", "_sql")

    def __init__(self, session: Session, config: StoreConfig) -> None:
        self._session = session
        self._sql = config.audit_sql
        self._d = config.dialect

    def last(self, stream: str) -> AuditRecord | None:
        rows = self._session.rows(self._sql.last, (stream,))
        return _record(rows[0][1:]) if rows else None

    def append(self, records: Sequence[AuditRecord]) -> None:
        """Store ``records`` (one multi-row insert); a taken ``(stream, sequence)`` raises
        :class:`~salesorders.errors.ConcurrencyConflictError` (on PostgreSQL, with pipelined
        writes, possibly from a later statement or from ``commit``)."""
        if not records:
            return
        d = self._d
        rows = []
        for index, r in enumerate(records):
            if not isinstance(r, AuditRecord):
                raise errors.ValidationError(f"records[{index}]", r, "must be an AuditRecord")
            rows.append(
                (
                    r.stream,
                    _int(r.sequence, f"records[{index}].sequence", 1),
                    d.time(aware_time(r.at, f"records[{index}].at")),
                    r.actor,
                    r.channel,
                    r.action,
                    r.outcome,
                    r.subject,
                    r.reason,
                    _json_text(dict(r.before)),
                    _json_text(dict(r.after)),
                    r.previous_hash,
                    r.hash,
                )
            )
        width = len(_TYPES)
        try:
            for chunk in _chunks(rows, d.rows_per_statement(width)):
                self._session.run(self._sql.insert(len(chunk)), d.pack(chunk, width))
        except errors.IntegrityError as error:
            text = str(error)
            if "UNIQUE" in text and "audit_log" in text:
                raise self._taken(records) from error
            raise

    def _taken(self, records: Sequence[AuditRecord]) -> errors.ConcurrencyConflictError:
        """The conflict naming the record whose place was taken (SQLite: the transaction goes
        on after a failed statement, so the stored records can be asked)."""
        seen: set[tuple[str, int]] = set()
        for r in records:
            if (r.stream, r.sequence) in seen:
                return _conflict(r.stream, r.sequence)
            seen.add((r.stream, r.sequence))
        try:
            for r in records:
                if self._session.rows(self._sql.taken, (r.stream, r.sequence)):
                    return _conflict(r.stream, r.sequence)
        except errors.StorageError:
            pass
        return _conflict(records[0].stream, records[0].sequence)

    def read(
        self, query: AuditQuery, *, after: int = 0, limit: int = 500
    ) -> list[tuple[int, AuditRecord]]:
        if not isinstance(query, AuditQuery):
            raise errors.ValidationError("query", query, "must be an AuditQuery")
        _int(limit, "limit", 1)
        if isinstance(after, bool) or not isinstance(after, int):
            raise errors.ValidationError("after", after, "must be an int (a position)")
        d = self._d
        params: list[Any] = [after]
        if query.since is not None:
            params.append(d.time(query.since))  # an AuditQuery holds aware times only
        if query.until is not None:
            params.append(d.time(query.until))
        exact = tuple(name for name in _EXACT if getattr(query, name) is not None)
        params.extend(getattr(query, name) for name in exact)
        params.append(limit)
        sql = self._sql.read(query.since is not None, query.until is not None, exact)
        return [(int(row[0]), _record(row[1:])) for row in self._session.rows(sql, params)]

    def purge(self, before: dt.datetime, *, dry_run: bool = False) -> int:
        params = (self._d.time(aware_time(before, "before")),)
        if dry_run:
            return int(self._session.rows(self._sql.count_before, params)[0][0])
        return self._session.count(self._sql.purge, params)
