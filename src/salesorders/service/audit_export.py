"""Reading the audit log back: streamed by pages, checked link by link, exported as JSON Lines
or CSV (with spreadsheet formulas neutralised)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import IO, Any, Final

import attrs

from salesorders.domain.audit import AuditBreak, AuditRecord, verify_records
from salesorders.errors import ValidationError
from salesorders.ports import AuditQuery, UnitOfWorkFactory
from salesorders.service.audit_trail import audit_log_of

__all__ = [
    "AUDIT_COLUMNS",
    "AuditReport",
    "export_records",
    "read_records",
    "record_row",
    "verify_log",
]

#: The columns of an exported record, in order.
AUDIT_COLUMNS: Final = (
    "stream", "sequence", "at", "actor", "channel", "action", "outcome", "subject", "reason",
    "before", "after", "previous_hash", "hash",
)  # fmt: skip
_FORMATS: Final = ("jsonl", "csv")


@attrs.frozen(slots=True)
class AuditReport:
    """What :meth:`~salesorders.service.SalesService.verify_audit` found: how many records it
    checked, and the first broken link (``None``: every chain holds)."""

    checked: int
    broken: AuditBreak | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def _query(query: AuditQuery | None) -> AuditQuery:
    if query is None:
        return AuditQuery()
    if not isinstance(query, AuditQuery):
        raise ValidationError("query", query, "must be an AuditQuery or None")
    return query


def read_records(
    read: UnitOfWorkFactory, query: AuditQuery | None, page: int = 500
) -> Iterator[AuditRecord]:
    """The records ``query`` asks for, in the order they were appended, read ``page`` at a time
    (each page in a read of its own, so a long export holds no lock)."""
    chosen = _query(query)
    after = 0
    while True:
        with read() as uow:
            rows = audit_log_of(uow).read(chosen, after=after, limit=page)
        for _position, record in rows:
            yield record
        if len(rows) < page:
            return
        after = rows[-1][0]


def verify_log(read: UnitOfWorkFactory, query: AuditQuery | None) -> AuditReport:
    """Check every chain among the records ``query`` asks for (see
    :func:`~salesorders.domain.audit.verify_records`)."""
    counted = [0]

    def counting() -> Iterator[AuditRecord]:
        for record in read_records(read, query):
            counted[0] += 1
            yield record

    broken = verify_records(counting())
    return AuditReport(counted[0], broken)


def record_row(record: AuditRecord) -> dict[str, Any]:
    """``record`` as JSON data: the row of an export, every field by its name."""
    return {
        "stream": record.stream,
        "sequence": record.sequence,
        "at": record.at.isoformat(),
        "actor": record.actor,
        "channel": record.channel,
        "action": record.action,
        "outcome": record.outcome,
        "subject": record.subject,
        "reason": record.reason,
        "before": dict(record.before),
        "after": dict(record.after),
        "previous_hash": record.previous_hash,
        "hash": record.hash,
    }


def export_records(
    read: UnitOfWorkFactory, out: IO[str], query: AuditQuery | None, format: str = "jsonl"
) -> int:
    """Write the records ``query`` asks for to ``out`` as JSON Lines (one record per line) or
    CSV (a header row, ``before`` and ``after`` as JSON text, every cell that a spreadsheet would
    run as a formula prefixed with ``'``); returns how many were written."""
    if format not in _FORMATS:
        raise ValidationError("format", format, "is not an export format", "use jsonl or csv")
    written = 0
    if format == "jsonl":
        for record in read_records(read, query):
            out.write(json.dumps(record_row(record), ensure_ascii=False, sort_keys=True) + "\n")
            written += 1
        return written
    from salesorders.spreadsheets.export import neutralise  # it imports the service

    writer = csv.writer(out)
    writer.writerow(AUDIT_COLUMNS)
    for record in read_records(read, query):
        row = record_row(record)
        cells = []
        for column in AUDIT_COLUMNS:
            value = row[column]
            if isinstance(value, dict):
                value = json.dumps(value, ensure_ascii=False, sort_keys=True)
            cells.append(neutralise(value) if isinstance(value, str) else value)
        writer.writerow(cells)
        written += 1
    return written
