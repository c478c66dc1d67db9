"""The outbox dispatcher: order per stream, retries with backoff, dead letters, redrive."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from salesorders.errors import ValidationError
from salesorders.ports import OutboxMessage
from salesorders.service import CancelOrder, DispatchReport, OutboxDispatcher
from support.stores import STORE_KINDS, fresh_store
from test_service_support import T0, line, make_service, new_order

STOCK = {("SKU-A", "W1"): 100}
SECOND = dt.timedelta(seconds=1)


class Inbox:
    """A notifier that records what it received and fails when ``fails(message)`` says so."""

    def __init__(self, fails: Callable[[OutboxMessage], bool] = lambda m: False) -> None:
        self.received: list[str] = []
        self.fails = fails

    def notify(self, message: OutboxMessage) -> None:
        self.received.append(message.event_id)
        if self.fails(message):
            raise ConnectionError(f"channel down for {message.event_id}")


def _setup(inbox: Inbox, **options: object) -> tuple[object, object, object]:
    options.setdefault("delivery_base_delay", 2 * SECOND)
    service, store, clock = make_service(stock=STOCK, notifiers=[inbox], **options)
    return service, store, clock


def _status(store: object, event_id: str) -> OutboxMessage:
    with store.unit_of_work() as uow:  # type: ignore[attr-defined]
        return next(m for m in uow.outbox.messages() if m.event_id == event_id)


def test_messages_are_delivered_once_in_stream_order() -> None:
    inbox = Inbox()
    service, store, _ = _setup(inbox)
    service.handle(new_order(line("SKU-A", 1), order_id="O-2", confirm=True))
    service.handle(new_order(line("SKU-A", 1), order_id="O-1", confirm=True))
    service.handle(CancelOrder(order_id="O-2", reason="x"))
    report = service.dispatcher.dispatch_once()
    assert report == DispatchReport(delivered=5, failed=0, dead=0)
    assert [e for e in inbox.received if e.startswith("O-2")] == ["O-2:1", "O-2:2", "O-2:3"]
    assert [e for e in inbox.received if e.startswith("O-1")] == ["O-1:1", "O-1:2"]
    assert service.dispatcher.dispatch_once() == DispatchReport()
    delivered = _status(store, "O-1:1")
    assert (delivered.status, delivered.delivered_at) == ("delivered", T0)


def test_a_failure_blocks_its_stream_and_is_retried_after_a_backoff() -> None:
    down = {"O-1:1"}
    inbox = Inbox(lambda m: m.event_id in down)
    service, store, clock = _setup(inbox)
    service.handle(new_order(line("SKU-A", 1), order_id="O-1", confirm=True))
    service.handle(new_order(line("SKU-A", 1), order_id="O-2"))
    report = service.dispatcher.dispatch_once()
    assert report == DispatchReport(delivered=1, failed=1, dead=0)
    assert inbox.received == ["O-1:1", "O-2:1"]  # O-1:2 waits behind O-1:1
    failed = _status(store, "O-1:1")
    assert (failed.status, failed.attempts) == ("pending", 1)
    assert failed.last_error == "ConnectionError: channel down for O-1:1"
    assert failed.next_attempt_at == T0 + 2 * SECOND
    clock.advance(SECOND)
    assert service.dispatcher.dispatch_once() == DispatchReport()  # not yet due
    clock.advance(SECOND)
    down.clear()
    assert service.dispatcher.dispatch_once() == DispatchReport(delivered=2)
    assert inbox.received[-2:] == ["O-1:1", "O-1:2"]


@pytest.fixture(params=STORE_KINDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as store:
        yield store


def _due(store: Any, at: dt.datetime) -> list[str]:
    with store.unit_of_work() as uow:
        return [m.event_id for m in uow.outbox.due(at)]


def test_a_failed_delivery_leaves_the_message_pending_until_its_retry(any_store: Any) -> None:
    """A notifier that raised did not deliver: the message is not marked delivered (not even
    for a moment), its attempt is counted, and it is due again at its retry time, not before."""
    inbox = Inbox(lambda m: True)
    service, store, clock = _setup(inbox, store=any_store)
    service.handle(new_order(line("SKU-A", 1), order_id="O-1"))
    assert service.dispatcher.dispatch_once() == DispatchReport(failed=1)
    assert inbox.received == ["O-1:1"]
    failed = _status(store, "O-1:1")
    assert (failed.status, failed.delivered_at, failed.attempts) == ("pending", None, 1)
    retry_at = T0 + 2 * SECOND
    assert failed.next_attempt_at == retry_at
    assert _due(store, retry_at - dt.timedelta(milliseconds=1)) == []
    assert _due(store, retry_at) == ["O-1:1"]
    inbox.fails = lambda m: False
    clock.advance(SECOND)
    assert service.dispatcher.dispatch_once() == DispatchReport()
    clock.advance(SECOND)
    assert service.dispatcher.dispatch_once() == DispatchReport(delivered=1)
    delivered = _status(store, "O-1:1")
    assert (delivered.status, delivered.delivered_at, delivered.attempts) == (
        "delivered",
        retry_at,
        1,
    )
    assert inbox.received == ["O-1:1", "O-1:1"]


def test_the_backoff_doubles_up_to_the_maximum() -> None:
    inbox = Inbox(lambda m: True)
    service, store, clock = _setup(inbox, delivery_max_delay=10 * SECOND, max_delivery_attempts=20)
    service.handle(new_order(line("SKU-A", 1), order_id="O-1"))
    waits = []
    for _ in range(5):
        service.dispatcher.dispatch_once()
        message = _status(store, "O-1:1")
        assert message.next_attempt_at is not None
        waits.append((message.next_attempt_at - clock.now()) // SECOND)
        clock.set(message.next_attempt_at)
    assert waits == [2, 4, 8, 10, 10]


def test_a_message_is_parked_as_dead_after_max_attempts_and_can_be_redriven() -> None:
    down = {"O-1:1"}
    inbox = Inbox(lambda m: m.event_id in down)
    service, store, clock = _setup(inbox, max_delivery_attempts=3)
    service.handle(new_order(line("SKU-A", 1), order_id="O-1", confirm=True))
    reports = []
    for _ in range(3):
        reports.append(service.dispatcher.dispatch_once())
        clock.advance(dt.timedelta(minutes=5))
    assert reports[:2] == [DispatchReport(failed=1), DispatchReport(failed=1)]
    assert reports[2] == DispatchReport(dead=1)
    dead = service.dispatcher.dead()
    assert [(m.event_id, m.status, m.attempts) for m in dead] == [("O-1:1", "dead", 3)]
    # a dead message is parked: it no longer holds back the rest of its stream
    assert service.dispatcher.dispatch_once() == DispatchReport(delivered=1)
    assert inbox.received[-1] == "O-1:2"
    assert service.dispatcher.dispatch_once() == DispatchReport()
    down.clear()
    service.dispatcher.redrive("O-1:1")
    assert service.dispatcher.dead() == []
    assert service.dispatcher.dispatch_once() == DispatchReport(delivered=1)
    assert inbox.received.count("O-1:1") == 4  # the same event id every time
    assert _status(store, "O-1:1").status == "delivered"


def test_redrive_all_requeues_every_dead_message() -> None:
    inbox = Inbox(lambda m: m.stream_id == "O-1")
    service, _, _ = _setup(inbox, max_delivery_attempts=1)
    service.handle(new_order(line("SKU-A", 1), order_id="O-1", confirm=True))
    assert service.dispatcher.dispatch_once() == DispatchReport(dead=1)
    assert service.dispatcher.dispatch_once() == DispatchReport(dead=1)
    inbox.fails = lambda m: False
    assert service.dispatcher.redrive_all() == 2
    assert service.dispatcher.dispatch_once() == DispatchReport(delivered=2)


def test_a_redelivery_keeps_the_event_id_for_deduplication() -> None:
    flaky_after_receiving = Inbox()
    first_time = {"O-1:1"}

    def lose_the_ack(message: OutboxMessage) -> bool:
        if message.event_id in first_time:
            first_time.discard(message.event_id)
            return True
        return False

    flaky_after_receiving.fails = lose_the_ack
    service, _, clock = _setup(flaky_after_receiving)
    service.handle(new_order(line("SKU-A", 1), order_id="O-1"))
    service.dispatcher.dispatch_once()
    clock.advance(dt.timedelta(minutes=1))
    service.dispatcher.dispatch_once()
    assert flaky_after_receiving.received == ["O-1:1", "O-1:1"]
    assert len(set(flaky_after_receiving.received)) == 1


def test_every_notifier_gets_the_message_and_one_failure_retries_it() -> None:
    email, sms = Inbox(), Inbox(lambda m: len(sms.received) == 1)
    service, _, clock = make_service(stock=STOCK, notifiers=[email, sms])
    service.handle(new_order(line("SKU-A", 1), order_id="O-1"))
    assert service.dispatcher.dispatch_once() == DispatchReport(failed=1)
    clock.advance(dt.timedelta(minutes=1))
    assert service.dispatcher.dispatch_once() == DispatchReport(delivered=1)
    assert email.received == ["O-1:1", "O-1:1"]  # at least once, for every channel
    assert sms.received == ["O-1:1", "O-1:1"]


def test_dispatch_respects_the_limit() -> None:
    inbox = Inbox()
    service, _, _ = _setup(inbox)
    for index in range(3):
        service.handle(new_order(line("SKU-A", 1), order_id=f"O-{index}", confirm=True))
    assert service.dispatcher.dispatch_once(limit=4) == DispatchReport(delivered=4)
    assert service.dispatcher.dispatch_once(limit=4) == DispatchReport(delivered=2)


def test_dispatcher_settings_are_validated() -> None:
    service, _, clock = make_service()
    with pytest.raises(ValidationError):
        OutboxDispatcher(service.uow_factory, [], clock, max_attempts=0)
    with pytest.raises(ValidationError):
        OutboxDispatcher(service.uow_factory, [], clock, base_delay=-SECOND)
