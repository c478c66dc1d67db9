"""The personal-data port of the SQL stores (``uow.personal_data``): rewrites, in the unit of
work, the copies of the orders named that the outbox, the delivery log, the idempotency records
and the audit log keep (see :class:`~salesorders.ports.PersonalDataStore`)."""

from __future__ import annotations

import functools
from collections.abc import Collection
from typing import TYPE_CHECKING

from salesorders.adapters._sql.audit import _COLUMNS as _AUDIT_COLUMNS
from salesorders.adapters._sql.audit import _record
from salesorders.adapters._sql.dialect import Dialect, _json, _json_text
from salesorders.adapters._sql.session import Session
from salesorders.domain.personal_data import REDACTED, Redactor, resealed

if TYPE_CHECKING:
    from salesorders.adapters._sql.unit_of_work import StoreConfig

__all__ = ["SqlPersonalData"]


class _Statements:
    def __init__(self, dialect: Dialect) -> None:
        r = dialect.render
        self.deliveries = r(
            "SELECT event_id, channel, recipient, last_error FROM {p}outbox_deliveries "
            "WHERE stream_id = ?"
        )
        self.update_delivery = r(
            "UPDATE {p}outbox_deliveries SET recipient = ?, last_error = ? "
            "WHERE event_id = ? AND channel = ?"
        )
        self.messages = r("SELECT event_id, payload, last_error FROM {p}outbox WHERE stream_id = ?")
        json_type = dialect.types["json"]
        self.update_message = r(
            f"UPDATE {{p}}outbox SET payload = CAST(? AS {json_type}), last_error = ? "
            "WHERE event_id = ?"
        )
        self.results = r("SELECT key, result FROM {p}idempotency WHERE CAST(result AS TEXT) LIKE ?")
        self.update_result = r(
            f"UPDATE {{p}}idempotency SET result = CAST(? AS {json_type}) WHERE key = ?"
        )
        self.stream = r(
            f"SELECT {_AUDIT_COLUMNS} FROM {{p}}audit_log WHERE stream = ? ORDER BY sequence"
        )
        self.update_record = r(
            "UPDATE {p}audit_log SET reason = ?, before = ?, after = ?, previous_hash = ?, "
            "hash = ? WHERE stream = ? AND sequence = ?"
        )


@functools.lru_cache(maxsize=8)
def _statements(dialect: Dialect) -> _Statements:
    return _Statements(dialect)


class SqlPersonalData:
    """A :class:`~salesorders.ports.PersonalDataStore` over a SQL store's tables."""

    __slots__ = ("_session", "_sql")

    def __init__(self, session: Session, config: StoreConfig) -> None:
        self._session = session
        self._sql = _statements(config.dialect)

    def redact(
        self, order_ids: Collection[str], streams: Collection[str], redactor: Redactor
    ) -> int:
        session, sql = self._session, self._sql
        session.erased = True
        ids = sorted(set(order_ids))
        deliveries = [row for order_id in ids for row in session.rows(sql.deliveries, (order_id,))]
        redactor.add(row[2] for row in deliveries)
        changed = 0
        for event_id, channel, recipient, error in deliveries:
            new_error = None if error is None else redactor.text(error)
            if recipient != REDACTED or new_error != error:
                session.run(sql.update_delivery, (REDACTED, new_error, event_id, channel))
                changed += 1
        for order_id in ids:
            for event_id, payload, error in session.rows(sql.messages, (order_id,)):
                data = _json(payload)
                new_data = redactor.data(data)
                new_error = None if error is None else redactor.text(error)
                if new_data != data or new_error != error:
                    session.run(sql.update_message, (_json_text(new_data), new_error, event_id))
                    changed += 1
        seen: set[str] = set()
        for order_id in ids:
            for key, result in session.rows(sql.results, (f"%{order_id}%",)):
                data = _json(result)
                new_data = redactor.data(data)
                if key not in seen and new_data != data:
                    seen.add(key)
                    session.run(sql.update_result, (_json_text(new_data), key))
                    changed += 1
        for stream in sorted(set(streams)):
            records = [_record(row) for row in session.rows(sql.stream, (stream,))]
            for r in resealed(records, redactor):
                session.run(
                    sql.update_record,
                    (r.reason, _json_text(dict(r.before)), _json_text(dict(r.after)),
                     r.previous_hash, r.hash, r.stream, r.sequence),
                )  # fmt: skip
                changed += 1
        return changed
