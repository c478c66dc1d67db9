"""Contract: the transactional outbox (order per stream, delivery marks, retries, dead letters)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from salesorders.errors import IntegrityError, NotFoundError, ValidationError
from salesorders.ports import DeliveryRecord, OutboxMessage, UnitOfWork
from salesorders.testing.contracts._base import T0, AdapterContract

__all__ = ["OutboxStoreContract"]

_MINUTE = dt.timedelta(minutes=1)


def message(stream_id: str, sequence: int, **changes: Any) -> OutboxMessage:
    """An outbox message ``<stream_id>:<sequence>`` with a small nested payload."""
    fields: dict[str, Any] = {
        "event_id": f"{stream_id}:{sequence}",
        "stream_id": stream_id,
        "sequence": sequence,
        "event_type": "OrderPlaced",
        "payload": {
            "order_id": stream_id,
            "sequence": sequence,
            "grand_total": "10.50",
            "lines": [{"sku": "SKU-A", "quantity": "2"}],
            "note": None,
            "flag": True,
        },
        "occurred_at": T0 + dt.timedelta(seconds=sequence),
    }
    fields.update(changes)
    return OutboxMessage(**fields)


def _ids(messages: list[OutboxMessage]) -> list[str]:
    return [m.event_id for m in messages]


def record(event_id: str, channel: str, status: str = "sent", **changes: Any) -> DeliveryRecord:
    """A delivery record of the message ``event_id`` (``<stream>:<sequence>``) on ``channel``."""
    fields: dict[str, Any] = {
        "event_id": event_id,
        "channel": channel,
        "stream_id": event_id.rsplit(":", 1)[0],
        "event_type": "OrderPlaced",
        "recipient": "ada@example.com",
        "status": status,
        "attempts": 0,
        "last_error": None,
        "provider_id": "p-1",
        "updated_at": T0,
    }
    fields.update(changes)
    return DeliveryRecord(**fields)


class OutboxStoreContract(AdapterContract):
    """Messages are kept in stream order until delivered, retried, or parked as dead."""

    def _given_messages(self, *messages: OutboxMessage) -> None:
        self.in_uow(lambda uow: uow.outbox.append(list(messages)))

    def test_appended_messages_round_trip_exactly(self) -> None:
        original = message("O-1", 1)
        self._given_messages(original)
        assert self.read(lambda uow: uow.outbox.messages()) == [original]
        assert self.read(lambda uow: uow.outbox.messages("O-1")) == [original]
        assert self.read(lambda uow: uow.outbox.messages("O-2")) == []

    def test_messages_are_listed_by_stream_and_sequence(self) -> None:
        self._given_messages(message("O-2", 1), message("O-1", 2), message("O-1", 1))
        self._given_messages(message("O-2", 2))
        assert _ids(self.read(lambda uow: uow.outbox.messages())) == [
            "O-1:1",
            "O-1:2",
            "O-2:1",
            "O-2:2",
        ]

    def test_next_sequence_counts_per_stream_including_this_unit_of_work(self) -> None:
        assert self.read(lambda uow: uow.outbox.next_sequence("O-1")) == 1
        self._given_messages(message("O-1", 1), message("O-1", 2), message("O-2", 1))

        def work(uow: UnitOfWork) -> tuple[int, int, int]:
            before = uow.outbox.next_sequence("O-1")
            uow.outbox.append([message("O-1", 3)])
            return before, uow.outbox.next_sequence("O-1"), uow.outbox.next_sequence("O-3")

        assert self.read(work) == (3, 4, 1)

    def test_a_duplicate_stream_sequence_is_refused(self) -> None:
        self._given_messages(message("O-1", 1))
        with pytest.raises(IntegrityError):
            self._given_messages(message("O-1", 1, payload={"changed": True}))
        with pytest.raises(IntegrityError):
            self._given_messages(message("O-1", 2), message("O-1", 2, event_type="Other"))
        assert self.read(lambda uow: uow.outbox.messages()) == [message("O-1", 1)]

    def test_an_id_that_names_no_stored_message_is_unknown(self) -> None:
        """The store finds a message by the stream and sequence its id names: an id naming
        another place, or none, is unknown (and changes nothing)."""
        self._given_messages(message("O-1", 1), message("O-1", 2))
        acts: list[Callable[[UnitOfWork, str], None]] = [
            lambda uow, e: uow.outbox.mark_delivered(e, T0),
            lambda uow, e: uow.outbox.mark_failed(e, "boom", None, dead=True),
            lambda uow, e: uow.outbox.postpone(e, T0),
            lambda uow, e: uow.outbox.redrive(e, T0),
            lambda uow, e: uow.outbox.mark_delivered_many(["O-1:1", e], T0),
        ]
        for event_id in ("O-1:3", "O-2:1", "O-1:01", "O-1", "O-1:x", ":1", "O-1:1:1", ""):
            for act in acts:
                with pytest.raises(NotFoundError):
                    self.in_uow(lambda uow, act=act, e=event_id: act(uow, e))  # type: ignore[misc]
        assert self.read(lambda uow: uow.outbox.messages()) == [
            message("O-1", 1),
            message("O-1", 2),
        ]

    def test_due_returns_pending_messages_in_stream_order(self) -> None:
        self._given_messages(message("O-2", 1), message("O-1", 1), message("O-1", 2))
        due = self.read(lambda uow: uow.outbox.due(T0))
        assert _ids(due) == ["O-1:1", "O-1:2", "O-2:1"]
        assert all(m.status == "pending" and m.attempts == 0 for m in due)
        assert _ids(self.read(lambda uow: uow.outbox.due(T0, limit=2))) == ["O-1:1", "O-1:2"]

    def test_delivered_messages_are_no_longer_due(self) -> None:
        self._given_messages(message("O-1", 1), message("O-1", 2))
        at = T0 + _MINUTE
        self.in_uow(lambda uow: uow.outbox.mark_delivered("O-1:1", at))
        assert _ids(self.read(lambda uow: uow.outbox.due(at))) == ["O-1:2"]
        stored = self.read(lambda uow: uow.outbox.messages("O-1"))[0]
        assert (stored.status, stored.delivered_at) == ("delivered", at)

    def test_a_failure_schedules_a_retry_and_blocks_its_stream(self) -> None:
        self._given_messages(message("O-1", 1), message("O-1", 2), message("O-2", 1))
        retry_at = T0 + 5 * _MINUTE
        self.in_uow(lambda uow: uow.outbox.mark_failed("O-1:1", "timeout", retry_at, dead=False))
        failed = self.read(lambda uow: uow.outbox.messages("O-1"))[0]
        assert (failed.status, failed.attempts, failed.last_error) == ("pending", 1, "timeout")
        assert failed.next_attempt_at == retry_at
        assert _ids(self.read(lambda uow: uow.outbox.due(T0 + _MINUTE))) == ["O-2:1"]
        assert _ids(self.read(lambda uow: uow.outbox.due(retry_at))) == ["O-1:1", "O-1:2", "O-2:1"]
        self.in_uow(lambda uow: uow.outbox.mark_failed("O-1:1", "again", retry_at, dead=False))
        again = self.read(lambda uow: uow.outbox.messages("O-1"))[0]
        assert (again.attempts, again.last_error) == (2, "again")

    def test_dead_messages_are_parked_and_can_be_redriven(self) -> None:
        self._given_messages(message("O-1", 1), message("O-1", 2))
        self.in_uow(lambda uow: uow.outbox.mark_failed("O-1:1", "gone", None, dead=True))
        dead = self.read(lambda uow: uow.outbox.dead())
        assert _ids(dead) == ["O-1:1"]
        assert (dead[0].status, dead[0].last_error, dead[0].attempts) == ("dead", "gone", 1)
        assert _ids(self.read(lambda uow: uow.outbox.due(T0 + _MINUTE))) == ["O-1:2"]
        at = T0 + 10 * _MINUTE
        self.in_uow(lambda uow: uow.outbox.redrive("O-1:1", at))
        assert self.read(lambda uow: uow.outbox.dead()) == []
        redriven = self.read(lambda uow: uow.outbox.messages("O-1"))[0]
        assert (redriven.event_id, redriven.status, redriven.attempts) == ("O-1:1", "pending", 0)
        # the redriven message is due at ``at`` and, being first of its stream, holds it back until
        assert _ids(self.read(lambda uow: uow.outbox.due(at - _MINUTE))) == []
        assert _ids(self.read(lambda uow: uow.outbox.due(at))) == ["O-1:1", "O-1:2"]

    def test_unknown_event_ids_are_not_found(self) -> None:
        self._given_messages(message("O-1", 1))
        with pytest.raises(NotFoundError):
            self.in_uow(lambda uow: uow.outbox.mark_delivered("O-9:1", T0))
        with pytest.raises(NotFoundError):
            self.in_uow(lambda uow: uow.outbox.mark_failed("O-9:1", "x", None, dead=True))
        with pytest.raises(NotFoundError):
            self.in_uow(lambda uow: uow.outbox.redrive("O-9:1", T0))
        with pytest.raises(NotFoundError):
            self.in_uow(lambda uow: uow.outbox.redrive("O-1:1", T0))  # pending, not dead

    def test_appends_and_marks_are_rolled_back(self) -> None:
        self._given_messages(message("O-1", 1))

        def work(uow: UnitOfWork) -> None:
            uow.outbox.append([message("O-1", 2)])
            uow.outbox.mark_delivered("O-1:1", T0)

        self.in_uow(work, commit=False)
        stored = self.read(lambda uow: uow.outbox.messages())
        assert stored == [message("O-1", 1)]

    # ------------------------------------------------------------------ relays: leases, log, purge

    def _claim(self, owner: str, now: dt.datetime, limit: int = 100) -> list[str]:
        until = now + _MINUTE
        return _ids(self.in_uow(lambda uow: uow.outbox.claim(owner, now, until, limit)))

    def test_claim_takes_whole_streams_in_order_up_to_the_limit(self) -> None:
        self._given_messages(message("O-2", 1), message("O-1", 1), message("O-1", 2))
        self._given_messages(message("O-3", 1))
        assert self._claim("a", T0, limit=3) == ["O-1:1", "O-1:2", "O-2:1"]
        assert self._claim("b", T0) == ["O-3:1"]  # the others are leased to "a"
        assert self._claim("c", T0) == []
        assert self._claim("a", T0) == ["O-1:1", "O-1:2", "O-2:1"]  # its own leases

    def test_a_leased_stream_is_skipped_until_the_lease_ends(self) -> None:
        self._given_messages(message("O-1", 1), message("O-1", 2))
        assert self._claim("a", T0) == ["O-1:1", "O-1:2"]
        self.in_uow(lambda uow: uow.outbox.mark_delivered("O-1:1", T0))
        assert self._claim("b", T0 + _MINUTE / 2) == []  # O-1:2 is still leased to "a"
        assert self._claim("b", T0 + _MINUTE) == ["O-1:2"]  # the lease ended
        assert self._claim("a", T0 + _MINUTE) == []

    def test_marks_release_the_lease(self) -> None:
        self._given_messages(message("O-1", 1), message("O-2", 1))
        assert self._claim("a", T0) == ["O-1:1", "O-2:1"]
        self.in_uow(lambda uow: uow.outbox.mark_failed("O-1:1", "x", T0, dead=False))
        self.in_uow(lambda uow: uow.outbox.mark_failed("O-2:1", "x", None, dead=True))
        assert self._claim("b", T0) == ["O-1:1"]

    def test_a_stream_whose_head_waits_is_not_claimed(self) -> None:
        self._given_messages(message("O-1", 1), message("O-1", 2), message("O-2", 1))
        retry_at = T0 + 5 * _MINUTE
        self.in_uow(lambda uow: uow.outbox.mark_failed("O-1:1", "x", retry_at, dead=False))
        assert self._claim("a", T0) == ["O-2:1"]
        # by then the lease of "a" on O-2:1 has ended too
        assert self._claim("b", retry_at) == ["O-1:1", "O-1:2", "O-2:1"]

    def test_postpone_keeps_the_message_pending_without_an_attempt(self) -> None:
        self._given_messages(message("O-1", 1), message("O-1", 2))
        assert self._claim("a", T0) == ["O-1:1", "O-1:2"]
        until = T0 + 30 * _MINUTE
        self.in_uow(lambda uow: uow.outbox.postpone("O-1:1", until))
        stored = self.read(lambda uow: uow.outbox.messages("O-1"))[0]
        assert (stored.status, stored.attempts, stored.next_attempt_at) == ("pending", 0, until)
        assert self._claim("b", until - _MINUTE) == []
        assert self._claim("b", until) == ["O-1:1", "O-1:2"]
        with pytest.raises(NotFoundError):
            self.in_uow(lambda uow: uow.outbox.postpone("O-9:1", until))

    def test_claim_refuses_a_bad_limit(self) -> None:
        with pytest.raises(ValidationError):
            self.in_uow(lambda uow: uow.outbox.claim("a", T0, T0, 0))

    def test_delivery_records_are_upserted_and_listed_in_order(self) -> None:
        self._given_messages(message("O-1", 1), message("O-1", 2), message("O-2", 1))
        later = T0 + _MINUTE
        self.in_uow(lambda uow: uow.outbox.record_delivery(record("O-2:1", "email")))
        self.in_uow(lambda uow: uow.outbox.record_delivery(record("O-1:2", "email")))
        failed = record("O-1:1", "sms", "failed", attempts=1, last_error="down", provider_id=None)
        self.in_uow(lambda uow: uow.outbox.record_delivery(failed))
        self.in_uow(lambda uow: uow.outbox.record_delivery(record("O-1:1", "email")))
        sent = record("O-1:1", "sms", attempts=1, provider_id="p-2", updated_at=later)
        self.in_uow(lambda uow: uow.outbox.record_delivery(sent))
        everything = self.read(lambda uow: uow.outbox.deliveries())
        assert [(r.event_id, r.channel) for r in everything] == [
            ("O-1:1", "email"),
            ("O-1:1", "sms"),
            ("O-1:2", "email"),
            ("O-2:1", "email"),
        ]
        assert everything[1] == sent
        assert self.read(lambda uow: uow.outbox.deliveries(stream_id="O-2")) == [
            record("O-2:1", "email")
        ]
        assert self.read(lambda uow: uow.outbox.deliveries(event_id="O-1:1")) == everything[:2]
        with pytest.raises(NotFoundError):
            self.in_uow(lambda uow: uow.outbox.record_delivery(record("O-9:1", "email")))

    def test_purge_deletes_only_delivered_messages_and_their_records(self) -> None:
        self._given_messages(message("O-1", 1), message("O-1", 2), message("O-2", 1))
        self._given_messages(message("O-3", 1))
        self.in_uow(lambda uow: uow.outbox.mark_delivered("O-1:1", T0))
        self.in_uow(lambda uow: uow.outbox.mark_delivered("O-1:2", T0 + _MINUTE))
        self.in_uow(lambda uow: uow.outbox.mark_failed("O-2:1", "gone", None, dead=True))
        records = [record(e, "email") for e in ("O-1:1", "O-1:2", "O-2:1")]

        def log(uow: UnitOfWork) -> None:
            for one in records:
                uow.outbox.record_delivery(one)

        self.in_uow(log)
        assert self.in_uow(lambda uow: uow.outbox.purge_delivered(T0 + _MINUTE)) == 1
        assert _ids(self.read(lambda uow: uow.outbox.messages())) == ["O-1:2", "O-2:1", "O-3:1"]
        left = self.read(lambda uow: uow.outbox.deliveries())
        assert [r.event_id for r in left] == ["O-1:2", "O-2:1"]
        assert self.in_uow(lambda uow: uow.outbox.purge_delivered(T0 + 2 * _MINUTE)) == 1
        assert self.in_uow(lambda uow: uow.outbox.purge_delivered(T0 + 9 * _MINUTE)) == 0
        assert _ids(self.read(lambda uow: uow.outbox.messages())) == ["O-2:1", "O-3:1"]

    def test_claims_records_and_purges_are_rolled_back(self) -> None:
        self._given_messages(message("O-1", 1), message("O-2", 1))
        self.in_uow(lambda uow: uow.outbox.mark_delivered("O-2:1", T0))

        def work(uow: UnitOfWork) -> None:
            uow.outbox.claim("a", T0, T0 + _MINUTE, 10)
            uow.outbox.record_delivery(record("O-1:1", "email"))
            uow.outbox.purge_delivered(T0 + _MINUTE)

        self.in_uow(work, commit=False)
        assert self.read(lambda uow: uow.outbox.deliveries()) == []
        assert _ids(self.read(lambda uow: uow.outbox.messages())) == ["O-1:1", "O-2:1"]
        assert self._claim("b", T0) == ["O-1:1"]

    def test_many_messages_are_marked_delivered_at_once(self) -> None:
        self._given_messages(message("O-1", 1), message("O-1", 2), message("O-2", 1))
        assert self._claim("a", T0) == ["O-1:1", "O-1:2", "O-2:1"]
        at = T0 + _MINUTE
        self.in_uow(lambda uow: uow.outbox.mark_delivered_many([], at))
        self.in_uow(lambda uow: uow.outbox.mark_delivered_many(["O-1:1", "O-2:1"], at))
        stored = {m.event_id: m for m in self.read(lambda uow: uow.outbox.messages())}
        assert [(m.status, m.delivered_at) for m in stored.values()] == [
            ("delivered", at),
            ("pending", None),
            ("delivered", at),
        ]
        with pytest.raises(NotFoundError, match="O-9:1"):
            self.in_uow(lambda uow: uow.outbox.mark_delivered_many(["O-1:2", "O-9:1"], at))
        assert self.read(lambda uow: uow.outbox.messages("O-1"))[1].status == "pending"
        # the lease of O-1:2 is kept, the marked ones' leases are released
        assert self._claim("b", T0) == []

    def test_many_delivery_records_are_upserted_at_once(self) -> None:
        self._given_messages(message("O-1", 1), message("O-1", 2), message("O-2", 1))
        self.in_uow(lambda uow: uow.outbox.record_delivery(record("O-2:1", "email")))
        failed = record("O-1:1", "sms", "failed", attempts=1, last_error="down", provider_id=None)
        sent = record("O-1:1", "sms", attempts=1, provider_id="p-2", updated_at=T0 + _MINUTE)
        again = record("O-2:1", "email", "skipped", last_error="opted out", provider_id=None)
        batch = [record("O-1:2", "email"), failed, record("O-1:1", "email"), sent, again]
        self.in_uow(lambda uow: uow.outbox.record_deliveries([]))
        self.in_uow(lambda uow: uow.outbox.record_deliveries(batch))
        assert self.read(lambda uow: uow.outbox.deliveries()) == [
            record("O-1:1", "email"),
            sent,  # the later record of (O-1:1, sms) wins
            record("O-1:2", "email"),
            again,  # replaces the stored one
        ]
        with pytest.raises(NotFoundError, match="O-9:1"):
            self.in_uow(
                lambda uow: uow.outbox.record_deliveries(
                    [record("O-1:2", "sms"), record("O-9:1", "email")]
                )
            )
        assert len(self.read(lambda uow: uow.outbox.deliveries())) == 4
        with pytest.raises(ValidationError):
            self.in_uow(lambda uow: uow.outbox.record_deliveries(["not a record"]))  # type: ignore[list-item]

    def test_thousands_of_outcomes_are_recorded_at_once(self) -> None:
        streams = [f"O-{n:03d}" for n in range(400)]
        self._given_messages(*(message(s, 1) for s in streams))
        channels = [f"c{n}" for n in range(10)]
        records = [record(f"{s}:1", c) for s in streams for c in channels]

        def work(uow: UnitOfWork) -> None:
            uow.outbox.record_deliveries(records)
            uow.outbox.mark_delivered_many([f"{s}:1" for s in streams], T0)

        self.in_uow(work)
        assert len(self.read(lambda uow: uow.outbox.deliveries())) == len(records)
        assert {m.status for m in self.read(lambda uow: uow.outbox.messages())} == {"delivered"}
