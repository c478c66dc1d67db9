"""The memory store's audit log: records in the order they were appended, the last of each
stream at hand. Every append records how to undo itself in the unit of work's journal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from salesorders.adapters._memory_outbox import check_limit
from salesorders.domain.audit import AuditRecord
from salesorders.domain.checks import aware_time
from salesorders.errors import ConcurrencyConflictError, ValidationError
from salesorders.ports import AuditQuery

__all__ = ["AuditTables", "MemoryAuditLog", "matches"]

Undo = Callable[[], None]


class AuditTables:
    __slots__ = ("positions", "records", "streams")

    def __init__(self) -> None:
        #: position -> record; positions only grow (a purge leaves holes)
        self.records: dict[int, AuditRecord] = {}
        #: stream -> (last sequence, its position)
        self.streams: dict[str, tuple[int, int]] = {}
        self.positions = 0


def matches(query: AuditQuery, record: AuditRecord) -> bool:
    """Whether ``record`` is one ``query`` asks for."""
    return (
        (query.since is None or record.at >= query.since)
        and (query.until is None or record.at < query.until)
        and (query.stream is None or record.stream == query.stream)
        and (query.actor is None or record.actor == query.actor)
        and (query.action is None or record.action == query.action)
        and (query.outcome is None or record.outcome == query.outcome)
        and (query.subject is None or record.subject == query.subject)
    )


class MemoryAuditLog:
    """The audit log of a :class:`~salesorders.adapters.memory.MemoryStore`."""

    __slots__ = ("_data", "_journal")

    def __init__(self, data: AuditTables, journal: list[Undo]) -> None:
        self._data = data
        self._journal = journal

    def last(self, stream: str) -> AuditRecord | None:
        found = self._data.streams.get(stream)
        return None if found is None else self._data.records.get(found[1])

    def append(self, records: Sequence[AuditRecord]) -> None:
        data = self._data
        for record in records:
            known = data.streams.get(record.stream)
            if known is not None and record.sequence <= known[0]:
                raise ConcurrencyConflictError(record.stream, known[0], record.sequence)
        for record in records:
            data.positions += 1
            position = data.positions
            earlier = data.streams.get(record.stream)
            data.records[position] = record
            data.streams[record.stream] = (record.sequence, position)
            self._journal.append(_undo(data, position, record.stream, earlier))

    def read(
        self, query: AuditQuery, *, after: int = 0, limit: int = 500
    ) -> list[tuple[int, AuditRecord]]:
        if not isinstance(query, AuditQuery):
            raise ValidationError("query", query, "must be an AuditQuery")
        check_limit(limit)
        found = []
        for position, record in self._data.records.items():
            if position > after and matches(query, record):
                found.append((position, record))
                if len(found) == limit:
                    break
        return found

    def purge(self, before: dt.datetime, *, dry_run: bool = False) -> int:
        aware_time(before, "before")
        data = self._data
        old = [p for p, r in data.records.items() if r.at < before]
        if dry_run:
            return len(old)
        removed = {p: data.records.pop(p) for p in old}
        streams = dict(data.streams)
        for record in removed.values():
            known = data.streams.get(record.stream)
            if known is not None and known[1] not in data.records:
                del data.streams[record.stream]  # the whole stream went; a new one starts at 1

        def undo() -> None:
            data.records.update(removed)
            data.records = dict(sorted(data.records.items()))
            data.streams = streams

        self._journal.append(undo)
        return len(removed)


def _undo(data: AuditTables, position: int, stream: str, earlier: tuple[int, int] | None) -> Undo:
    def undo() -> None:
        data.records.pop(position, None)
        if earlier is None:
            data.streams.pop(stream, None)
        else:
            data.streams[stream] = earlier

    return undo
