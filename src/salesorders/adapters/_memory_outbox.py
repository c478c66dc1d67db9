"""The memory store's outbox: messages in stream order, leases per stream and the delivery log.

Every change records how to undo itself in the unit of work's journal (see
:mod:`salesorders.adapters.memory`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import attrs

from salesorders.domain.checks import aware_time, require_text
from salesorders.errors import IntegrityError, NotFoundError, ValidationError
from salesorders.ports import DeliveryRecord, OutboxMessage

__all__ = ["MemoryOutboxStore", "OutboxTables"]

Undo = Callable[[], None]


class OutboxTables:
    __slots__ = ("by_id", "deliveries", "leases", "streams")

    def __init__(self) -> None:
        self.by_id: dict[str, OutboxMessage] = {}
        self.streams: dict[str, dict[int, str]] = {}
        #: event id -> (owner, lease until)
        self.leases: dict[str, tuple[str, dt.datetime]] = {}
        #: (event id, channel) -> record
        self.deliveries: dict[tuple[str, str], DeliveryRecord] = {}


def check_limit(limit: object) -> int:
    """``limit`` if it is an int of at least 1, else a :class:`ValidationError`."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValidationError("limit", limit, "must be an int of at least 1")
    return limit


class MemoryOutboxStore:
    """The outbox of a :class:`~salesorders.adapters.memory.MemoryStore`."""

    __slots__ = ("_data", "_journal")

    def __init__(self, data: OutboxTables, journal: list[Undo]) -> None:
        self._data = data
        self._journal = journal

    def append(self, messages: Sequence[OutboxMessage]) -> None:
        by_id, streams = self._data.by_id, self._data.streams
        added: list[OutboxMessage] = []
        try:
            for message in messages:
                if message.event_id in by_id:
                    raise IntegrityError(f"outbox: event {message.event_id!r} is already stored")
                stream = streams.get(message.stream_id)
                if stream is None:
                    stream = streams[message.stream_id] = {}
                elif message.sequence in stream:
                    raise IntegrityError(
                        f"outbox: stream {message.stream_id!r} already has sequence "
                        f"{message.sequence}"
                    )
                by_id[message.event_id] = message
                stream[message.sequence] = message.event_id
                added.append(message)
        except IntegrityError:
            self._remove(added)  # all of the messages, or none
            raise
        self._journal.append(lambda: self._remove(added))

    def next_sequence(self, stream_id: str) -> int:
        stream = self._data.streams.get(stream_id)
        return max(stream) + 1 if stream else 1

    def due(self, now: dt.datetime, limit: int = 100) -> list[OutboxMessage]:
        found: list[OutboxMessage] = []
        by_id = self._data.by_id
        for stream_id in sorted(self._data.streams):
            stream = self._data.streams[stream_id]
            for sequence in sorted(stream):
                message = by_id[stream[sequence]]
                if message.status != "pending":
                    continue
                if message.next_attempt_at is not None and message.next_attempt_at > now:
                    break  # the stream waits for this message's retry
                found.append(message)
                if len(found) >= limit:
                    return found
        return found

    def claim(
        self, owner: str, now: dt.datetime, lease_until: dt.datetime, limit: int = 100
    ) -> list[OutboxMessage]:
        require_text(owner, "owner")
        aware_time(now, "now")
        aware_time(lease_until, "lease_until")
        check_limit(limit)
        by_id, leases = self._data.by_id, self._data.leases
        found: list[OutboxMessage] = []
        for stream_id in sorted(self._data.streams):
            stream = self._data.streams[stream_id]
            pending = [
                by_id[stream[seq]]
                for seq in sorted(stream)
                if by_id[stream[seq]].status == "pending"
            ]
            if not pending:
                continue
            lease = leases.get(pending[0].event_id)
            if lease is not None and lease[0] != owner and lease[1] > now:
                continue  # leased by another relay
            for message in pending:
                if message.next_attempt_at is not None and message.next_attempt_at > now:
                    break  # the stream waits for this message
                found.append(message)
                if len(found) >= limit:
                    break
            if len(found) >= limit:
                break
        for message in found:
            self._set_lease(message.event_id, (owner, lease_until))
        return found

    def mark_delivered(self, event_id: str, at: dt.datetime) -> None:
        message = self._existing(event_id)
        self._replace(attrs.evolve(message, status="delivered", delivered_at=at), message)
        self._set_lease(event_id, None)

    def mark_delivered_many(self, event_ids: Sequence[str], at: dt.datetime) -> None:
        aware_time(at, "at")
        ids = list(event_ids)
        for event_id in ids:  # check every id first: bad input changes nothing
            self._existing(event_id)
        for event_id in ids:
            self.mark_delivered(event_id, at)

    def mark_failed(
        self, event_id: str, error: str, next_attempt_at: dt.datetime | None, dead: bool
    ) -> None:
        message = self._existing(event_id)
        changed = attrs.evolve(
            message,
            attempts=message.attempts + 1,
            last_error=error,
            status="dead" if dead else "pending",
            next_attempt_at=None if dead else next_attempt_at,
        )
        self._replace(changed, message)
        self._set_lease(event_id, None)

    def postpone(self, event_id: str, until: dt.datetime) -> None:
        aware_time(until, "until")
        message = self._existing(event_id)
        if message.status != "pending":
            raise NotFoundError("pending outbox message", event_id)
        self._replace(attrs.evolve(message, next_attempt_at=until), message)
        self._set_lease(event_id, None)

    def dead(self) -> list[OutboxMessage]:
        return [m for m in self.messages() if m.status == "dead"]

    def redrive(self, event_id: str, at: dt.datetime) -> None:
        message = self._existing(event_id)
        if message.status != "dead":
            raise NotFoundError("dead outbox message", event_id)
        changed = attrs.evolve(message, status="pending", attempts=0, next_attempt_at=at)
        self._replace(changed, message)

    def messages(self, stream_id: str | None = None) -> list[OutboxMessage]:
        streams = self._data.streams
        names = (
            sorted(streams) if stream_id is None else [stream_id] if stream_id in streams else []
        )
        by_id = self._data.by_id
        return [by_id[streams[name][seq]] for name in names for seq in sorted(streams[name])]

    def record_delivery(self, record: DeliveryRecord) -> None:
        if not isinstance(record, DeliveryRecord):
            raise ValidationError("record", record, "must be a DeliveryRecord")
        aware_time(record.updated_at, "record.updated_at")
        self._existing(record.event_id)
        table = self._data.deliveries
        key = (record.event_id, record.channel)
        original = table.get(key)
        table[key] = record
        self._journal.append(lambda: self._restore_delivery(key, original))

    def record_deliveries(self, records: Sequence[DeliveryRecord]) -> None:
        checked = list(records)
        for index, record in enumerate(checked):  # check all first: bad input changes nothing
            if not isinstance(record, DeliveryRecord):
                raise ValidationError(f"records[{index}]", record, "must be a DeliveryRecord")
            aware_time(record.updated_at, f"records[{index}].updated_at")
            self._existing(record.event_id)
        for record in checked:
            self.record_delivery(record)

    def deliveries(
        self, *, stream_id: str | None = None, event_id: str | None = None
    ) -> list[DeliveryRecord]:
        by_id = self._data.by_id
        chosen = [
            r
            for r in self._data.deliveries.values()
            if (stream_id is None or r.stream_id == stream_id)
            and (event_id is None or r.event_id == event_id)
        ]
        return sorted(chosen, key=lambda r: (r.stream_id, by_id[r.event_id].sequence, r.channel))

    def purge_delivered(self, before: dt.datetime) -> int:
        aware_time(before, "before")
        gone = [
            m
            for m in self._data.by_id.values()
            if m.status == "delivered" and m.delivered_at is not None and m.delivered_at < before
        ]
        if not gone:
            return 0
        ids = {m.event_id for m in gone}
        table = self._data.deliveries
        records = {key: r for key, r in table.items() if key[0] in ids}
        for key in records:
            del table[key]
        self._remove(gone)

        def undo() -> None:
            for message in gone:
                self._data.by_id[message.event_id] = message
                self._data.streams.setdefault(message.stream_id, {})[message.sequence] = (
                    message.event_id
                )
            table.update(records)

        self._journal.append(undo)
        return len(gone)

    # ------------------------------------------------------------------ internals

    def _existing(self, event_id: str) -> OutboxMessage:
        message = self._data.by_id.get(event_id)
        if message is None:
            raise NotFoundError("outbox message", event_id)
        return message

    def _replace(self, changed: OutboxMessage, original: OutboxMessage) -> None:
        by_id = self._data.by_id
        by_id[changed.event_id] = changed
        self._journal.append(lambda: by_id.__setitem__(original.event_id, original))

    def _set_lease(self, event_id: str, lease: tuple[str, dt.datetime] | None) -> None:
        leases = self._data.leases
        original = leases.get(event_id)
        if lease is None:
            leases.pop(event_id, None)
        else:
            leases[event_id] = lease
        self._journal.append(lambda: self._restore_lease(event_id, original))

    def _restore_lease(self, event_id: str, lease: tuple[str, dt.datetime] | None) -> None:
        if lease is None:
            self._data.leases.pop(event_id, None)
        else:
            self._data.leases[event_id] = lease

    def _restore_delivery(self, key: tuple[str, str], record: DeliveryRecord | None) -> None:
        if record is None:
            self._data.deliveries.pop(key, None)
        else:
            self._data.deliveries[key] = record

    def _remove(self, added: list[OutboxMessage]) -> None:
        streams = self._data.streams
        for message in added:
            self._data.by_id.pop(message.event_id, None)
            self._data.leases.pop(message.event_id, None)
            stream = streams.get(message.stream_id)
            if stream is not None:
                stream.pop(message.sequence, None)
                if not stream:
                    del streams[message.stream_id]
