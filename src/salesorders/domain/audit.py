"""The audit log: one append-only record per command run or denied, chained by hashes.

Every :class:`AuditRecord` belongs to a stream (``order:<id>``, ``stock:<sku>``,
``warehouse:<id>``, ``denied:<actor id>``, ``service``) and carries the SHA-256 ``hash`` of its own
content and of the record before it in the stream (``previous_hash``; empty for the first). A
changed, removed or inserted record breaks the chain, and :func:`verify_records` names the first
broken link. ``before`` and ``after`` hold what the command changed (only the figures that
differ), as JSON data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

__all__ = [
    "AUDIT_OUTCOMES",
    "AuditBreak",
    "AuditRecord",
    "chained_record",
    "changed_figures",
    "record_hash",
    "verify_records",
]

#: What became of the command a record is about.
AUDIT_OUTCOMES: Final = ("done", "denied")


@attrs.frozen(slots=True)
class AuditRecord:
    """One command run (``outcome="done"``) or refused by the permission policy (``"denied"``).

    ``actor`` and ``channel`` say who and from where, ``action`` is the command's name,
    ``subject`` what it was about (an order id, a SKU, a warehouse id), ``reason`` the reason the
    command gave or the denial's reason; ``before`` and ``after`` the figures that changed.
    """

    stream: str
    sequence: int
    at: dt.datetime
    actor: str
    channel: str
    action: str
    outcome: str
    subject: str
    reason: str
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    previous_hash: str
    hash: str


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(record: AuditRecord) -> str:
    """The SHA-256 (hex) of ``record``'s content and of the hash before it (every field but
    its own ``hash``)."""
    text = _canonical(
        [
            record.stream, record.sequence, record.at.astimezone(dt.UTC).isoformat(),
            record.actor, record.channel, record.action, record.outcome, record.subject,
            record.reason, record.before, record.after, record.previous_hash,
        ]
    )  # fmt: skip
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chained_record(
    previous: AuditRecord | None,
    stream: str,
    at: dt.datetime,
    *,
    actor: str,
    channel: str,
    action: str,
    outcome: str = "done",
    subject: str = "",
    reason: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditRecord:
    """The record following ``previous`` in ``stream`` (the first when ``previous`` is None)."""
    sequence = 1 if previous is None else previous.sequence + 1
    previous_hash = "" if previous is None else previous.hash
    unsealed = AuditRecord(
        stream, sequence, at, actor, channel, action, outcome, subject, reason,
        dict(before or {}), dict(after or {}), previous_hash, "",
    )  # fmt: skip
    return attrs.evolve(unsealed, hash=record_hash(unsealed))


@attrs.frozen(slots=True)
class AuditBreak:
    """The first broken link of a stream: the record at ``sequence`` and what is wrong."""

    stream: str
    sequence: int
    problem: str


def verify_records(records: Iterable[AuditRecord]) -> AuditBreak | None:
    """The first broken link among ``records`` (read in stream order, each stream's records by
    sequence), or ``None`` when every chain holds.

    A stream's first record read is its anchor: purged records before it are not asked for, but
    from it on every sequence must follow the one before, every ``previous_hash`` must be the hash
    before it and every hash must match the record's content.
    """
    last: dict[str, AuditRecord] = {}
    for record in records:
        before = last.get(record.stream)
        if before is not None:
            if record.sequence != before.sequence + 1:
                return AuditBreak(
                    record.stream,
                    record.sequence,
                    f"follows record {before.sequence}: a record is missing or was inserted",
                )
            if record.previous_hash != before.hash:
                return AuditBreak(
                    record.stream,
                    record.sequence,
                    "its previous_hash is not the hash of the record before it",
                )
        if record_hash(record) != record.hash:
            return AuditBreak(
                record.stream, record.sequence, "its content does not match its hash (altered)"
            )
        last[record.stream] = record
    return None


def changed_figures(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The figures of ``before`` and ``after`` that differ (a figure only one side has counts),
    as two mappings of the same keys."""
    keys = [k for k in {**before, **after} if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}
