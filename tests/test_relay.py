"""The outbox relay on every store: per-channel delivery state and log, stream order, deferral,
permanent refusals, dead letters and redrive, purge, leases between relays, and the run loop."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from salesorders.errors import PermanentDeliveryError, ValidationError
from salesorders.notifications import (
    CustomerContact,
    Deferred,
    InMemoryCustomerDirectory,
    Notice,
    Outcome,
    Sent,
    Skipped,
)
from salesorders.ports import OutboxMessage
from salesorders.service import DispatchReport, ManualClock, OutboxDispatcher, OutboxRelay
from support.stores import STORE_KINDS, fresh_store
from test_service_support import T0, line, make_service, new_order

SECOND = dt.timedelta(seconds=1)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


class Recording:
    """A channel that records the event ids it was handed and answers with ``answer(notice)``
    (an outcome, or an exception to raise)."""

    def __init__(
        self, name: str, answer: Callable[[Notice], Outcome | Exception] = lambda n: Sent("x")
    ) -> None:
        self.name = name
        self.answer = answer
        self.received: list[str] = []
        self.notices: list[Notice] = []

    def send(self, notice: Notice) -> Outcome:
        self.received.append(notice.event_id)
        self.notices.append(notice)
        answer = self.answer(notice)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _messages(store: Any, *ids: str) -> None:
    def build(event_id: str) -> OutboxMessage:
        stream, sequence = event_id.split(":")
        return OutboxMessage(event_id, stream, int(sequence), "OrderPlaced", {}, T0)

    with store.unit_of_work() as uow:
        uow.outbox.append([build(event_id) for event_id in ids])
        uow.commit()


def _stored(store: Any, event_id: str) -> OutboxMessage:
    with store.unit_of_work() as uow:
        return next(m for m in uow.outbox.messages() if m.event_id == event_id)


def _relay(store: Any, *channels: Any, **options: Any) -> tuple[OutboxRelay, ManualClock]:
    clock = options.pop("clock", None) or ManualClock(T0)
    options.setdefault("base_delay", 2 * SECOND)
    return OutboxRelay(store.unit_of_work, channels, clock, **options), clock


def _failing_times(count: int) -> Callable[[Notice], Outcome | Exception]:
    calls = [0]

    def answer(notice: Notice) -> Outcome | Exception:
        calls[0] += 1
        return ConnectionError("down") if calls[0] <= count else Sent("b@example.com", "id-b")

    return answer


def test_a_channel_that_sent_is_not_called_again_when_another_fails(store: Any) -> None:
    _messages(store, "O-1:1")
    a, b = Recording("a"), Recording("b", _failing_times(2))
    relay, clock = _relay(store, a, b)
    assert relay.run_once() == DispatchReport(failed=1)
    clock.advance(2 * SECOND)
    assert relay.run_once() == DispatchReport(failed=1)
    clock.advance(4 * SECOND)
    assert relay.run_once() == DispatchReport(delivered=1)
    assert (a.received, b.received) == (["O-1:1"], ["O-1:1"] * 3)
    assert _stored(store, "O-1:1").status == "delivered"
    log = relay.deliveries("O-1")
    assert [(r.channel, r.status, r.attempts) for r in log] == [("a", "sent", 0), ("b", "sent", 2)]
    assert (log[1].recipient, log[1].provider_id, log[1].updated_at) == (
        "b@example.com",
        "id-b",
        T0 + 6 * SECOND,
    )
    assert relay.run_once() == DispatchReport()


def test_a_failing_head_holds_back_its_stream_only(store: Any) -> None:
    _messages(store, "O-1:1", "O-1:2", "O-2:1")
    down = {"O-1:1"}
    channel = Recording(
        "email", lambda n: ConnectionError("down") if n.event_id in down else Sent("x")
    )
    relay, clock = _relay(store, channel)
    assert relay.run_once() == DispatchReport(delivered=1, failed=1)
    assert channel.received == ["O-1:1", "O-2:1"]
    failed = _stored(store, "O-1:1")
    assert (failed.attempts, failed.last_error) == (1, "ConnectionError: down")
    assert failed.next_attempt_at == T0 + 2 * SECOND
    [record] = relay.deliveries("O-1")
    assert (record.status, record.attempts, record.last_error) == (
        "failed",
        1,
        "ConnectionError: down",
    )
    clock.advance(SECOND)
    assert relay.run_once() == DispatchReport()  # not yet due
    clock.advance(SECOND)
    down.clear()
    assert relay.run_once() == DispatchReport(delivered=2)
    assert channel.received[-2:] == ["O-1:1", "O-1:2"]


def test_a_deferral_postpones_without_an_attempt(store: Any) -> None:
    _messages(store, "O-1:1", "O-1:2")
    later = T0 + dt.timedelta(hours=8)
    clock = ManualClock(T0)
    quiet = Recording(
        "sms", lambda n: Deferred(later, "quiet hours") if clock.now() < later else Sent("+49")
    )
    mail = Recording("email")
    relay, _ = _relay(store, mail, quiet, clock=clock)
    assert relay.run_once() == DispatchReport(deferred=1)
    waiting = _stored(store, "O-1:1")
    assert (waiting.status, waiting.attempts, waiting.next_attempt_at) == ("pending", 0, later)
    assert [(r.channel, r.status, r.last_error) for r in relay.deliveries("O-1")] == [
        ("email", "sent", None),
        ("sms", "deferred", "quiet hours"),
    ]
    clock.advance(dt.timedelta(hours=7))
    assert relay.run_once() == DispatchReport()
    clock.set(later)
    assert relay.run_once() == DispatchReport(delivered=2)
    assert mail.received == ["O-1:1", "O-1:2"]  # the email of O-1:1 went out once
    assert quiet.received == ["O-1:1", "O-1:1", "O-1:2"]


def test_a_permanent_refusal_parks_the_message_at_once_and_redrive_resumes(store: Any) -> None:
    _messages(store, "O-1:1", "O-1:2")
    refusing = {"O-1:1"}
    mail = Recording("email")
    hook = Recording(
        "webhook",
        lambda n: (
            PermanentDeliveryError("webhook", "410 Gone") if n.event_id in refusing else Sent("h")
        ),
    )
    relay, _ = _relay(store, mail, hook)
    assert relay.run_once() == DispatchReport(dead=1)
    [dead] = relay.dead()
    assert (dead.event_id, dead.attempts) == ("O-1:1", 1)
    assert dead.last_error == "PermanentDeliveryError: webhook: 410 Gone"
    assert [(r.channel, r.status) for r in relay.deliveries("O-1")] == [
        ("email", "sent"),
        ("webhook", "refused"),
    ]
    assert relay.run_once() == DispatchReport(delivered=1)  # a dead message blocks nothing
    refusing.clear()
    assert relay.redrive_all() == 1
    assert relay.run_once() == DispatchReport(delivered=1)
    assert mail.received == ["O-1:1", "O-1:2"]  # not handed O-1:1 again after the redrive
    assert hook.received == ["O-1:1", "O-1:2", "O-1:1"]
    assert relay.dead() == []


def test_the_last_attempt_parks_the_message(store: Any) -> None:
    _messages(store, "O-1:1")
    relay, clock = _relay(store, Recording("email", lambda n: OSError("no")), max_attempts=2)
    assert relay.run_once() == DispatchReport(failed=1)
    clock.advance(dt.timedelta(minutes=1))
    assert relay.run_once() == DispatchReport(dead=1)
    relay.redrive("O-1:1")
    assert _stored(store, "O-1:1").attempts == 0


def test_skipped_counts_as_done_and_purge_forgets_delivered_messages(store: Any) -> None:
    _messages(store, "O-1:1", "O-2:1")
    down = Recording("sms", lambda n: OSError("x") if n.event_id == "O-2:1" else Skipped("none"))
    relay, clock = _relay(store, down)
    assert relay.run_once() == DispatchReport(delivered=1, failed=1)
    clock.advance(dt.timedelta(days=2))
    assert relay.purge(dt.timedelta(days=3)) == 0
    assert relay.purge(dt.timedelta(days=1)) == 1
    with store.unit_of_work() as uow:
        assert [m.event_id for m in uow.outbox.messages()] == ["O-2:1"]
        assert [r.event_id for r in uow.outbox.deliveries()] == ["O-2:1"]
    with pytest.raises(ValidationError):
        relay.purge(-SECOND)


def test_a_leased_stream_waits_for_the_other_relay_until_its_lease_ends(store: Any) -> None:
    _messages(store, "O-1:1", "O-1:2", "O-2:1")
    clock = ManualClock(T0)
    second = Recording("email")
    other, _ = _relay(store, second, clock=clock, owner="relay-b", lease=30 * SECOND)
    seen_by_other: list[DispatchReport] = []

    def meanwhile(notice: Notice) -> Outcome:
        if notice.event_id == "O-1:1":
            seen_by_other.append(other.run_once())  # while this relay holds the batch
        return Sent("x")

    first, _ = _relay(store, Recording("email", meanwhile), clock=clock, owner="relay-a")
    assert first.run_once() == DispatchReport(delivered=3)
    assert seen_by_other == [DispatchReport()] and second.received == []

    _messages(store, "O-3:1", "O-3:2")
    with store.unit_of_work() as uow:  # a relay that claimed, then died
        uow.outbox.claim("relay-dead", T0, T0 + 30 * SECOND, 1)
        uow.commit()
    clock.advance(29 * SECOND)
    assert other.run_once() == DispatchReport()  # O-3 is still leased
    clock.advance(SECOND)
    assert other.run_once() == DispatchReport(delivered=2)
    assert second.received == ["O-3:1", "O-3:2"]


def test_a_stop_releases_the_rest_of_the_batch(store: Any) -> None:
    _messages(store, "O-1:1", "O-2:1", "O-3:1")
    stop = threading.Event()
    channel = Recording("email", lambda n: (stop.set(), Sent("x"))[1])
    relay, _ = _relay(store, channel, owner="relay-a", lease=dt.timedelta(minutes=5))
    assert relay.run(stop) == DispatchReport(delivered=1)
    other, _ = _relay(store, Recording("email"), owner="relay-b")
    assert other.run_once() == DispatchReport(delivered=2)  # not held until the lease ends


def test_run_delivers_until_idle_and_stops_on_the_event(store: Any) -> None:
    _messages(store, "O-1:1", "O-1:2", "O-2:1")
    channel = Recording("email")
    relay, _ = _relay(store, channel, batch_size=2, poll_interval=dt.timedelta(milliseconds=5))
    assert relay.run(max_idle=1) == DispatchReport(delivered=3)
    stop = threading.Event()
    runner = threading.Thread(target=relay.run, args=(stop,))
    runner.start()
    _messages(store, "O-4:1")
    for _ in range(2000):
        if "O-4:1" in channel.received:
            break
        stop.wait(0.005)
    stop.set()
    runner.join(10)
    assert not runner.is_alive()
    assert channel.received == ["O-1:1", "O-1:2", "O-2:1", "O-4:1"]


def test_channels_are_checked(store: Any) -> None:
    clock = ManualClock(T0)
    with pytest.raises(ValidationError) as twice:
        OutboxRelay(store.unit_of_work, [Recording("email"), Recording("email")], clock)
    assert twice.value.field == "channels[1]"
    with pytest.raises(ValidationError) as badly_named:
        OutboxRelay(store.unit_of_work, [Recording("Email!")], clock)
    assert badly_named.value.field == "channels[0]"
    with pytest.raises(ValidationError):
        OutboxRelay(store.unit_of_work, [], clock, lease=-SECOND)
    with pytest.raises(ValidationError):
        OutboxRelay(store.unit_of_work, [], clock, batch_size=0)


def test_notices_carry_the_order_and_the_contact_and_the_service_lists_the_log(
    store: Any,
) -> None:
    ada = CustomerContact("C-1", "Ada", email="ada@example.com")
    channel = Recording("email", lambda n: Sent(n.contact.email if n.contact else "?"))
    service, _, _ = make_service(
        store,
        stock={("SKU-A", "W1"): 5},
        channels=[channel],
        directory=InMemoryCustomerDirectory([ada]),
    )
    service.handle(new_order(line("SKU-A", 1), order_id="O-1", confirm=True))
    assert service.relay is service.dispatcher
    assert isinstance(service.relay, OutboxDispatcher)
    assert service.relay.run_once().delivered == 2
    first = channel.notices[0]
    assert first.order is not None and first.order.id == "O-1"
    assert first.contact == ada
    log = service.deliveries("O-1")
    assert [(r.event_id, r.channel, r.status, r.recipient) for r in log] == [
        ("O-1:1", "email", "sent", "ada@example.com"),
        ("O-1:2", "email", "sent", "ada@example.com"),
    ]
