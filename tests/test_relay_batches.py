"""The relay records a whole batch in one unit of work, on every store: a batch costs two units
of work (claim, record) whatever its size and outcomes; an interruption mid-batch keeps what the
batch did and hands the rest back to other relays at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from salesorders.errors import NotFoundError, ValidationError
from salesorders.notifications import Notice, Outcome, Sent
from salesorders.ports import OutboxMessage
from salesorders.service import ManualClock, OutboxRelay
from support.stores import STORE_KINDS, fresh_store
from test_service_support import T0


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


class Answering:
    """A channel named ``name`` that raises ``raises`` for the event ids in it, else sends."""

    def __init__(self, name: str, raises: dict[str, BaseException] | None = None) -> None:
        self.name = name
        self.raises = raises or {}
        self.received: list[str] = []

    def send(self, notice: Notice) -> Outcome:
        self.received.append(notice.event_id)
        if notice.event_id in self.raises:
            raise self.raises[notice.event_id]
        return Sent("x")


def _append(store: Any, *ids: str) -> None:
    def build(event_id: str) -> OutboxMessage:
        stream, sequence = event_id.split(":")
        return OutboxMessage(event_id, stream, int(sequence), "OrderPlaced", {}, T0)

    with store.unit_of_work() as uow:
        uow.outbox.append([build(event_id) for event_id in ids])
        uow.commit()


def _status(store: Any) -> dict[str, tuple[str, int]]:
    with store.unit_of_work() as uow:
        return {m.event_id: (m.status, m.attempts) for m in uow.outbox.messages()}


def _log(store: Any) -> list[tuple[str, str, str]]:
    with store.unit_of_work() as uow:
        return [(r.event_id, r.channel, r.status) for r in uow.outbox.deliveries()]


def test_a_batch_costs_two_units_of_work_whatever_its_outcomes(store: Any) -> None:
    _append(store, "A:1", "A:2", "B:1", "B:2", "C:1", "C:2", "C:3")
    opened: list[int] = []

    def counting() -> Any:
        opened.append(1)
        return store.unit_of_work()

    b = Answering("b", {"B:1": RuntimeError("down")})
    relay = OutboxRelay(counting, [Answering("a"), b], ManualClock(T0), lease=T0 - T0)
    report = relay.run_once()
    assert (report.delivered, report.failed) == (5, 1)
    assert len(opened) == 2  # the claim, then one unit of work recording the batch
    assert _status(store) == {
        "A:1": ("delivered", 0),
        "A:2": ("delivered", 0),
        "B:1": ("pending", 1),
        "B:2": ("pending", 0),  # held back behind its failing head
        "C:1": ("delivered", 0),
        "C:2": ("delivered", 0),
        "C:3": ("delivered", 0),
    }
    # the failed message's successful channel is recorded with its failure
    assert [row for row in _log(store) if row[0] == "B:1"] == [
        ("B:1", "a", "sent"),
        ("B:1", "b", "failed"),
    ]
    assert len(_log(store)) == 12


def test_an_interruption_keeps_what_the_batch_did_and_releases_the_rest(store: Any) -> None:
    _append(store, "A:1", "A:2", "B:1", "C:1")
    channel = Answering("a", {"B:1": KeyboardInterrupt()})
    relay = OutboxRelay(store.unit_of_work, [channel], ManualClock(T0), owner="first")
    with pytest.raises(KeyboardInterrupt):
        relay.run_once()
    assert channel.received == ["A:1", "A:2", "B:1"]
    assert _status(store) == {
        "A:1": ("delivered", 0),
        "A:2": ("delivered", 0),
        "B:1": ("pending", 0),
        "C:1": ("pending", 0),
    }
    assert _log(store) == [("A:1", "a", "sent"), ("A:2", "a", "sent")]
    # released at once: another relay takes them up without waiting for the lease to end
    other = Answering("a")
    OutboxRelay(store.unit_of_work, [other], ManualClock(T0), owner="second").run_once()
    assert other.received == ["B:1", "C:1"]


def test_a_bad_batch_record_changes_nothing(store: Any) -> None:
    _append(store, "A:1")
    with pytest.raises(ValidationError), store.unit_of_work() as uow:
        uow.outbox.record_deliveries([object()])
    assert _log(store) == []


def test_marking_more_messages_than_one_statement_takes_marks_them_all(store: Any) -> None:
    """``mark_delivered_many`` of 600 messages (more than one statement of the SQL stores
    marks) marks every one, and an unknown id among them still changes nothing."""
    ids = [f"O-{n % 37}:{n // 37 + 1}" for n in range(600)]
    _append(store, *ids)
    with store.unit_of_work() as uow, pytest.raises(NotFoundError):
        uow.outbox.mark_delivered_many([*ids, "O-1:999"], T0)
    assert {status for status, _ in _status(store).values()} == {"pending"}
    with store.unit_of_work() as uow:
        uow.outbox.mark_delivered_many(ids, T0)
        uow.commit()
    assert _status(store) == dict.fromkeys(ids, ("delivered", 0))
