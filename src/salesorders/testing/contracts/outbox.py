"""Contract: the transactional outbox (order per stream, delivery marks, retries, dead letters)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from salesorders.errors import IntegrityError, NotFoundError
from salesorders.ports import OutboxMessage, UnitOfWork
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

    def test_a_duplicate_event_id_or_stream_sequence_is_refused(self) -> None:
        self._given_messages(message("O-1", 1))
        with pytest.raises(IntegrityError):
            self._given_messages(message("O-1", 1, payload={"changed": True}))
        with pytest.raises(IntegrityError):
            self._given_messages(message("O-1", 1, event_id="other"))
        assert self.read(lambda uow: uow.outbox.messages()) == [message("O-1", 1)]

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
