"""The outbox's ports: the messages stored with the change they describe, what a channel did
with each, the store that keeps them, the notifier that delivers one, and the records of commands
run under an idempotency key.

An outbox message's ``event_id`` names its place: ``"<stream_id>:<sequence>"``. The pair is
unique, so the id is too, and a store keeps one key, the pair, for both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

import attrs

from salesorders.errors import ValidationError

__all__ = [
    "DELIVERY_STATUSES",
    "DeliveryRecord",
    "IdempotencyRecord",
    "IdempotencyStore",
    "Notifier",
    "OutboxMessage",
    "OutboxStore",
    "event_id_of",
    "stream_position",
]


def event_id_of(stream_id: str, sequence: int) -> str:
    """The id of the outbox message at ``sequence`` of ``stream_id``: ``"O-1:3"``."""
    return f"{stream_id}:{sequence}"


def stream_position(event_id: object) -> tuple[str, int] | None:
    """The ``(stream_id, sequence)`` an outbox message's id names, or ``None`` if it names none
    (not text, no ``":"``, or a sequence not written as :func:`event_id_of` writes it)."""
    if type(event_id) is not str:
        return None
    stream_id, _, digits = event_id.rpartition(":")
    if not stream_id or not digits.isdecimal():
        return None
    sequence = int(digits)
    return (stream_id, sequence) if str(sequence) == digits else None


def _check_event_id(instance: OutboxMessage, attribute: attrs.Attribute[str], value: str) -> None:
    if value.__class__ is not str or value != event_id_of(instance.stream_id, instance.sequence):
        raise ValidationError(
            "event_id",
            value,
            "must name the message's stream and sequence, "
            f"{event_id_of(instance.stream_id, instance.sequence)!r}",
            "build it with event_id_of(stream_id, sequence)",
        )


@attrs.frozen(slots=True)
class OutboxMessage:
    """A domain event stored in the outbox, in the same transaction as the change it describes.

    ``event_id`` is ``"<stream_id>:<sequence>"`` (:func:`event_id_of`; any other id is refused
    with a :class:`~salesorders.errors.ValidationError`): unique, because a stream's sequences
    are, and stable across redeliveries, so consumers can deduplicate. ``sequence`` runs 1..n
    without gaps per ``stream_id`` (the order id for order events, ``"stock:<sku>:<warehouse>"``
    for stock alerts). ``payload`` is the serialized event (JSON data).
    """

    event_id: str = attrs.field(validator=_check_event_id)
    stream_id: str
    sequence: int
    event_type: str
    payload: dict[str, Any]
    occurred_at: dt.datetime
    attempts: int = 0
    status: str = "pending"  # pending | delivered | dead
    last_error: str | None = None
    next_attempt_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None


#: The outcomes a delivery record holds.
DELIVERY_STATUSES = frozenset({"sent", "skipped", "deferred", "failed", "refused"})


def _check_delivery_status(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in DELIVERY_STATUSES:
        raise ValidationError(
            attribute.name, value, f"must be one of {', '.join(sorted(DELIVERY_STATUSES))}"
        )


@attrs.frozen(slots=True)
class DeliveryRecord:
    """What one channel did with one outbox message: the delivery log's row for
    ``(event_id, channel)``.

    ``status`` is ``"sent"`` (delivered to ``recipient``; ``provider_id`` is the transport's id),
    ``"skipped"`` (nothing to send there; never tried again), ``"deferred"`` (to be tried later,
    no attempt counted), ``"failed"`` (raised; retried after the backoff) or ``"refused"`` (a
    permanent refusal: the message is dead). ``attempts`` counts the calls that failed or were
    refused; ``last_error`` is the latest error or reason.
    """

    event_id: str
    channel: str
    stream_id: str
    event_type: str
    recipient: str
    status: str = attrs.field(validator=_check_delivery_status)
    attempts: int
    last_error: str | None
    provider_id: str | None
    updated_at: dt.datetime


class Notifier(Protocol):
    """Delivers one outbox message to a channel (email, SMS, webhook ...).

    Contract: raising means "not delivered, try again later"; returning means delivered. Delivery is
    at least once: a notifier may see the same ``event_id`` twice and should deduplicate on it.
    """

    def notify(self, message: OutboxMessage) -> None: ...


class OutboxStore(Protocol):
    """The transactional outbox.

    Contract:

    * ``append`` writes in the caller's unit of work; an event is never lost once committed. A
      ``(stream_id, sequence)`` already stored (so its ``event_id``, which names the two) raises
      :class:`~salesorders.errors.IntegrityError`. A store may find a message by the stream and
      sequence its ``event_id`` names (:func:`stream_position`): an id that names none is
      unknown.
    * ``next_sequence(stream_id)`` is 1 + the highest sequence stored for the stream (counting
      messages appended earlier in the same unit of work), 1 for a new stream.
    * ``due(now, limit)`` returns at most ``limit`` pending messages ordered by ``(stream_id,
      sequence)``. A pending message is due when its ``next_attempt_at`` is ``None`` or not after
      ``now`` — and only if no earlier pending message of its stream is waiting for a retry, so a
      stream is always delivered in sequence order. Delivered and dead messages are never due.
    * ``mark_delivered`` sets ``status="delivered"`` and ``delivered_at``.
    * ``mark_failed`` adds one to ``attempts``, records ``last_error`` and either schedules the
      retry at ``next_attempt_at`` or, with ``dead=True``, parks the message as ``dead``.
    * ``dead()`` lists dead messages by ``(stream_id, sequence)``; ``redrive`` makes a dead message
      pending again, due at ``at``, with ``attempts`` reset to 0 (its ``event_id`` is unchanged).
    * ``mark_delivered``, ``mark_failed`` and ``redrive`` of an unknown ``event_id`` raise
      :class:`~salesorders.errors.NotFoundError`; so does ``redrive`` of a message not dead.

    Relays (several may run at once, in threads or processes) add:

    * ``claim(owner, now, lease_until, limit)`` leases whole streams: it takes the streams whose
      head (lowest pending sequence) is due and not leased by another owner (no lease, or one
      that ended at or before ``now``), and returns their due pending messages from the head on
      (up to the first not due), at most ``limit`` in all, ordered by ``(stream_id, sequence)``,
      each now leased to ``owner`` until ``lease_until``. A stream whose head waits for a retry or
      is leased by another owner is skipped entirely, so two relays never deliver one stream at
      once and a stream is delivered in sequence order across processes.
    * ``mark_delivered`` and ``mark_failed`` release the message's lease; so does
      ``postpone(event_id, until)``, which keeps the message pending, due at ``until``, without
      counting an attempt.
    * ``record_delivery(record)`` stores one channel's outcome for one message (replacing the
      record of the same ``(event_id, channel)``); ``deliveries(stream_id=..., event_id=...)``
      lists the records (all, or of one stream or one message) by stream, sequence and channel.
    * ``purge_delivered(before)`` deletes the messages delivered before ``before`` with their
      delivery records and returns how many messages; pending and dead messages are never purged.
    * ``postpone`` and ``record_delivery`` of an unknown ``event_id`` raise
      :class:`~salesorders.errors.NotFoundError`.

    A relay records a whole batch at once with:

    * ``mark_delivered_many(event_ids, at)``: ``mark_delivered`` of each id (with their leases
      released), in one statement where the store can;
    * ``record_deliveries(records)``: ``record_delivery`` of each record, in order (a later record
      of the same ``(event_id, channel)`` wins), in one statement where the store can.

    Either raises :class:`~salesorders.errors.NotFoundError` naming an unknown ``event_id`` (the
    unit of work is then to be rolled back); an empty sequence changes nothing.
    """

    def append(self, messages: Sequence[OutboxMessage]) -> None: ...

    def next_sequence(self, stream_id: str) -> int: ...

    def due(self, now: dt.datetime, limit: int = 100) -> list[OutboxMessage]: ...

    def mark_delivered(self, event_id: str, at: dt.datetime) -> None: ...

    def mark_failed(
        self, event_id: str, error: str, next_attempt_at: dt.datetime | None, dead: bool
    ) -> None: ...

    def dead(self) -> list[OutboxMessage]: ...

    def redrive(self, event_id: str, at: dt.datetime) -> None: ...

    def messages(self, stream_id: str | None = None) -> list[OutboxMessage]:
        """Every stored message (any status), for inspection and tests, by stream and sequence."""
        ...

    def claim(
        self, owner: str, now: dt.datetime, lease_until: dt.datetime, limit: int = 100
    ) -> list[OutboxMessage]: ...

    def postpone(self, event_id: str, until: dt.datetime) -> None: ...

    def record_delivery(self, record: DeliveryRecord) -> None: ...

    def mark_delivered_many(self, event_ids: Sequence[str], at: dt.datetime) -> None: ...

    def record_deliveries(self, records: Sequence[DeliveryRecord]) -> None: ...

    def deliveries(
        self, *, stream_id: str | None = None, event_id: str | None = None
    ) -> list[DeliveryRecord]: ...

    def purge_delivered(self, before: dt.datetime) -> int: ...


@attrs.frozen(slots=True)
class IdempotencyRecord:
    """The stored outcome of a command run under an idempotency key."""

    key: str
    command: str
    fingerprint: str
    result: dict[str, Any]
    created_at: dt.datetime
    expires_at: dt.datetime


class IdempotencyStore(Protocol):
    """Stored command results by idempotency key (Stripe's semantics).

    Contract: ``get`` returns the record for ``key`` if its ``expires_at`` is after ``now``, else
    ``None``; ``put`` stores a record in the caller's unit of work and raises
    :class:`~salesorders.errors.IdempotencyConflictError` if a record with that key exists that has
    not expired at ``record.created_at`` (a concurrent duplicate committed first) — an expired one
    is replaced; ``purge_expired`` deletes records whose ``expires_at`` is not after ``now`` and
    returns how many.

    A store whose lookup travels over a network may also offer ``get_soon(key, now)``: send the
    lookup and return a function that gives what ``get`` would. The service then builds a new
    order while the lookup travels (only from the command itself: no host collaborator is asked
    before the record is known). The PostgreSQL store offers it; it is optional.
    """

    def get(self, key: str, now: dt.datetime) -> IdempotencyRecord | None: ...

    def put(self, record: IdempotencyRecord) -> None: ...

    def purge_expired(self, now: dt.datetime) -> int: ...
