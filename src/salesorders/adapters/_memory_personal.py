"""The personal-data port of the memory store (``uow.personal_data``): redacts the copies the
store keeps of the orders named, undone with the unit of work like every other change."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TypeVar

import attrs

from salesorders.adapters._memory_audit import AuditTables
from salesorders.adapters._memory_outbox import OutboxTables
from salesorders.domain.audit import AuditRecord
from salesorders.domain.personal_data import REDACTED, Redactor, resealed
from salesorders.ports import IdempotencyRecord

__all__ = ["MemoryPersonalData"]

Undo = Callable[[], None]
K = TypeVar("K")
V = TypeVar("V")


class MemoryPersonalData:
    """A :class:`~salesorders.ports.PersonalDataStore` over a memory store's tables."""

    __slots__ = ("_audit", "_idempotency", "_journal", "_outbox")

    def __init__(
        self,
        outbox: OutboxTables,
        idempotency: dict[str, IdempotencyRecord],
        audit: AuditTables,
        journal: list[Undo],
    ) -> None:
        self._outbox = outbox
        self._idempotency = idempotency
        self._audit = audit
        self._journal = journal

    def redact(
        self, order_ids: Collection[str], streams: Collection[str], redactor: Redactor
    ) -> int:
        ids = set(order_ids)
        changed = 0
        deliveries = self._outbox.deliveries
        mine = {key: r for key, r in deliveries.items() if r.stream_id in ids}
        redactor.add(r.recipient for r in mine.values())
        for key, record in mine.items():
            error = None if record.last_error is None else redactor.text(record.last_error)
            updated = attrs.evolve(record, recipient=REDACTED, last_error=error)
            if updated != record:
                deliveries[key] = updated
                self._journal.append(_restore(deliveries, key, record))
                changed += 1
        by_id = self._outbox.by_id
        for event_id, message in list(by_id.items()):
            if message.stream_id not in ids:
                continue
            error = None if message.last_error is None else redactor.text(message.last_error)
            updated_message = attrs.evolve(
                message, payload=redactor.data(message.payload), last_error=error
            )
            if updated_message != message:
                by_id[event_id] = updated_message
                self._journal.append(_restore(by_id, event_id, message))
                changed += 1
        keys = self._idempotency
        for stored_key, stored in list(keys.items()):
            result = redactor.data(stored.result)
            if result != stored.result and _names(stored.result, ids):
                keys[stored_key] = attrs.evolve(stored, result=result)
                self._journal.append(_restore(keys, stored_key, stored))
                changed += 1
        return changed + self._reseal(set(streams), redactor)

    def _reseal(self, streams: set[str], redactor: Redactor) -> int:
        records = self._audit.records
        by_stream: dict[str, list[tuple[int, AuditRecord]]] = {}
        for position, record in records.items():
            if record.stream in streams:
                by_stream.setdefault(record.stream, []).append((position, record))
        changed = 0
        for found in by_stream.values():
            found.sort(key=lambda item: item[1].sequence)
            position_of = {r.sequence: p for p, r in found}
            for updated in resealed([r for _, r in found], redactor):
                position = position_of[updated.sequence]
                self._journal.append(_restore(records, position, records[position]))
                records[position] = updated
                changed += 1
        return changed


def _names(result: object, ids: set[str]) -> bool:
    """Whether stored JSON data names one of the orders ``ids``."""
    if isinstance(result, str):
        return result in ids
    if isinstance(result, dict):
        return any(_names(v, ids) for v in result.values())
    if isinstance(result, list):
        return any(_names(v, ids) for v in result)
    return False


def _restore(table: dict[K, V], key: K, value: V) -> Undo:
    def undo() -> None:
        table[key] = value

    return undo
