"""The transactional outbox and the idempotency records: rows written in the unit of work of the
change they belong to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from salesorders import errors
from salesorders.adapters._sql.dialect import _chunks, _json, _json_text, _opt_time, _time
from salesorders.adapters._sql.session import Row, Session
from salesorders.adapters._sql.statements import _OUTBOX_TYPES, OUTBOX_PAIRS_PER_STATEMENT
from salesorders.domain.checks import aware_time, require_text
from salesorders.outbox_ports import (
    DeliveryRecord,
    IdempotencyRecord,
    OutboxMessage,
    stream_position,
)

if TYPE_CHECKING:
    from salesorders.adapters._sql.unit_of_work import StoreConfig

__all__ = ["SqlIdempotencyStore", "SqlOutboxStore"]


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
        params = (self._d.time(aware_time(at)), *_position(event_id, "outbox message"))
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
            *_position(event_id, "outbox message"),
        )
        if not self._session.count(self._sql.outbox_failed, params):
            raise errors.NotFoundError("outbox message", str(event_id))

    def dead(self) -> list[OutboxMessage]:
        return [_message(row) for row in self._session.rows(self._sql.outbox_dead)]

    def redrive(self, event_id: str, at: dt.datetime) -> None:
        params = (self._d.time(aware_time(at)), *_position(event_id, "dead outbox message"))
        if not self._session.count(self._sql.outbox_redrive, params):
            raise errors.NotFoundError("dead outbox message", str(event_id))

    def messages(self, stream_id: str | None = None) -> list[OutboxMessage]:
        if stream_id is None:
            rows = self._session.rows(self._sql.outbox_all)
        else:
            rows = self._session.rows(self._sql.outbox_stream, (stream_id,))
        return [_message(row) for row in rows]

    def claim(
        self, owner: str, now: dt.datetime, lease_until: dt.datetime, limit: int = 100
    ) -> list[OutboxMessage]:
        require_text(owner, "owner")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise errors.ValidationError("limit", limit, "must be an int of at least 1")
        d = self._d
        at = d.time(aware_time(now, "now"))
        until = d.time(aware_time(lease_until, "lease_until"))
        params = (at, at, owner, limit, at, limit, owner, until)
        rows = self._session.rows(self._sql.outbox_claim, params, writes=True)
        return sorted((_message(row) for row in rows), key=lambda m: (m.stream_id, m.sequence))

    def postpone(self, event_id: str, until: dt.datetime) -> None:
        position = _position(event_id, "pending outbox message")
        params = (self._d.time(aware_time(until, "until")), *position)
        if not self._session.count(self._sql.outbox_postpone, params):
            raise errors.NotFoundError("pending outbox message", str(event_id))

    def record_delivery(self, record: DeliveryRecord) -> None:
        if not isinstance(record, DeliveryRecord):
            raise errors.ValidationError("record", record, "must be a DeliveryRecord")
        params = (
            record.channel,
            record.stream_id,
            record.event_type,
            record.recipient,
            record.status,
            record.attempts,
            record.last_error,
            record.provider_id,
            self._d.time(aware_time(record.updated_at, "record.updated_at")),
            *_position(record.event_id, "outbox message"),
        )
        if not self._session.count(self._sql.outbox_record_delivery, params):
            raise errors.NotFoundError("outbox message", str(record.event_id))

    def mark_delivered_many(self, event_ids: Sequence[str], at: dt.datetime) -> None:
        """``mark_delivered`` of every id, in one statement per chunk of ids."""
        ids = list(dict.fromkeys(event_ids))
        if not ids:
            return
        d = self._d
        at_value = d.time(aware_time(at, "at"))
        positions = [_position(event_id, "outbox message") for event_id in ids]
        marked: set[str] = set()
        for chunk in _chunks(positions, OUTBOX_PAIRS_PER_STATEMENT):
            rows = self._session.rows(
                self._sql.outbox_delivered_many(len(chunk)),
                (at_value, *d.pack(chunk, 2)),
                writes=True,
            )
            marked.update(row[0] for row in rows)
        _all_found(ids, marked)

    def record_deliveries(self, records: Sequence[DeliveryRecord]) -> None:
        """``record_delivery`` of every record (the last of an ``(event_id, channel)`` wins), in
        one multi-row upsert per chunk of records."""
        d = self._d
        latest: dict[tuple[str, str], tuple[Any, ...]] = {}
        for index, r in enumerate(records):
            if not isinstance(r, DeliveryRecord):
                raise errors.ValidationError(f"records[{index}]", r, "must be a DeliveryRecord")
            at = d.time(aware_time(r.updated_at, f"records[{index}].updated_at"))
            latest.pop((r.event_id, r.channel), None)  # keeps the order of the last one
            latest[(r.event_id, r.channel)] = (
                r.event_id,
                r.channel,
                r.stream_id,
                r.event_type,
                r.recipient,
                r.status,
                r.attempts,
                r.last_error,
                r.provider_id,
                at,
                *_position(r.event_id, "outbox message"),
            )
        if not latest:
            return
        rows = list(latest.values())
        width = len(rows[0])
        stored: set[str] = set()
        for chunk in _chunks(rows, d.rows_per_statement(width)):
            found = self._session.rows(
                self._sql.outbox_record_deliveries(len(chunk)), d.pack(chunk, width), writes=True
            )
            stored.update(row[0] for row in found)
        _all_found([row[0] for row in rows], stored)

    def deliveries(
        self, *, stream_id: str | None = None, event_id: str | None = None
    ) -> list[DeliveryRecord]:
        sql = self._sql
        if event_id is not None:
            rows = self._session.rows(sql.outbox_deliveries_event, (event_id,))
        elif stream_id is not None:
            rows = self._session.rows(sql.outbox_deliveries_stream, (stream_id,))
        else:
            rows = self._session.rows(sql.outbox_deliveries_all)
        found = [_delivery(row) for row in rows]
        if stream_id is not None and event_id is not None:
            found = [r for r in found if r.stream_id == stream_id]
        return found

    def purge_delivered(self, before: dt.datetime) -> int:
        params = (self._d.time(aware_time(before, "before")),)
        self._session.run(self._sql.outbox_purge_deliveries, params)
        return self._session.count(self._sql.outbox_purge, params)


def _position(event_id: str, what: str) -> tuple[str, int]:
    """The stream and sequence ``event_id`` names, the key messages are stored by; an id that
    names none is unknown."""
    position = stream_position(event_id)
    if position is None:
        raise errors.NotFoundError(what, str(event_id))
    return position


def _all_found(wanted: Sequence[str], found: set[str]) -> None:
    for event_id in wanted:
        if event_id not in found:
            raise errors.NotFoundError("outbox message", str(event_id))


def _delivery(row: Row) -> DeliveryRecord:
    return DeliveryRecord(
        event_id=row[0],
        channel=row[1],
        stream_id=row[2],
        event_type=row[3],
        recipient=row[4],
        status=row[5],
        attempts=int(row[6]),
        last_error=row[7],
        provider_id=row[8],
        updated_at=_time(row[9]),
    )


# --------------------------------------------------------------------------- idempotency


class SqlIdempotencyStore:
    """Command outcomes by idempotency key; an unexpired key cannot be stored twice."""

    __slots__ = ("_d", "_session", "_sql")

    def __init__(self, session: Session, config: StoreConfig) -> None:
        self._session = session
        self._sql = config.sql
        self._d = config.dialect

    def get(self, key: str, now: dt.datetime) -> IdempotencyRecord | None:
        return self._record(self._session.rows(*self._get_statement(key, now)))

    def _get_statement(self, key: str, now: dt.datetime) -> tuple[str, tuple[Any, ...]]:
        return self._sql.idempotency_get, (key, self._d.time(aware_time(now, "now")))

    @staticmethod
    def _record(rows: list[Row]) -> IdempotencyRecord | None:
        if not rows:
            return None
        key, command, fingerprint, result, created_at, expires_at = rows[0]
        return IdempotencyRecord(
            key, command, fingerprint, _json(result), _time(created_at), _time(expires_at)
        )

    def put(self, record: IdempotencyRecord) -> None:
        params = self._put_params(record)
        if not self._session.rows(self._sql.idempotency_put, params, writes=True):
            raise errors.IdempotencyConflictError(record.key, record.command)

    def _put_params(self, record: IdempotencyRecord) -> tuple[Any, ...]:
        """The parameters of ``idempotency_put`` for ``record``, checked."""
        if not isinstance(record, IdempotencyRecord):
            raise errors.ValidationError("record", record, "must be an IdempotencyRecord")
        d = self._d
        return (
            require_text(record.key, "record.key"),
            record.command,
            record.fingerprint,
            _json_text(record.result),
            d.time(aware_time(record.created_at, "record.created_at")),
            d.time(aware_time(record.expires_at, "record.expires_at")),
        )

    def purge_expired(self, now: dt.datetime) -> int:
        return self._session.count(
            self._sql.idempotency_purge, (self._d.time(aware_time(now, "now")),)
        )
