"""The NATS JetStream publisher against a real server (SALESORDERS_TEST_NATS_URL)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("nats", reason="needs the nats extra")

import nats

from salesorders.adapters.nats import NatsPublisher
from salesorders.errors import DeliveryError, PermanentDeliveryError
from salesorders.notifications import Notice, Sent
from salesorders.ports import OutboxMessage

pytestmark = pytest.mark.nats

AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def notice(sequence: int, event_type: str = "OrderPlaced") -> Notice:
    payload = {"order_id": "O-1", "sequence": sequence, "total": "9.50"}
    message = OutboxMessage(f"O-1:{sequence}", "O-1", sequence, event_type, payload, AT)
    return Notice(message)


@pytest.fixture
def stream(nats_url: str) -> Iterator[tuple[NatsPublisher, str]]:
    """A publisher on a fresh prefix and the stream that holds it, deleted afterwards."""
    tag = uuid.uuid4().hex[:10]
    publisher = NatsPublisher(nats_url, prefix=f"test{tag}")
    name = f"TEST_{tag}"
    publisher.ensure_stream(name, [f"test{tag}.>"])
    yield publisher, name
    publisher.delete_stream(name)
    publisher.close()


def read_back(url: str, stream: str, subject: str) -> list[nats.aio.msg.Msg]:
    async def read() -> list[nats.aio.msg.Msg]:
        client = await nats.connect(url)
        try:
            js = client.jetstream()
            info = await js.stream_info(stream)
            subscription = await js.pull_subscribe(subject, stream=stream)
            count = info.state.messages
            messages = await subscription.fetch(count, timeout=5) if count else []
            for message in messages:
                await message.ack()
            return messages
        finally:
            await client.close()

    return asyncio.run(read())


def test_publishes_in_order_with_subject_body_and_id_header(
    stream: tuple[NatsPublisher, str], nats_url: str
) -> None:
    publisher, name = stream
    outcomes = [publisher.send(notice(1)), publisher.send(notice(2, "OrderConfirmed"))]
    assert outcomes == [
        Sent(f"{publisher.prefix}.OrderPlaced", provider_id=f"{name}:1"),
        Sent(f"{publisher.prefix}.OrderConfirmed", provider_id=f"{name}:2"),
    ]
    messages = read_back(nats_url, name, f"{publisher.prefix}.>")
    assert [m.subject for m in messages] == [
        f"{publisher.prefix}.OrderPlaced",
        f"{publisher.prefix}.OrderConfirmed",
    ]
    assert [m.headers["Nats-Msg-Id"] for m in messages if m.headers] == ["O-1:1", "O-1:2"]
    assert json.loads(messages[0].data) == {
        "id": "O-1:1",
        "type": "OrderPlaced",
        "stream": "O-1",
        "sequence": 1,
        "occurred_at": "2026-06-01T12:00:00+00:00",
        "data": {"order_id": "O-1", "sequence": 1, "total": "9.50"},
    }


def test_a_redelivered_message_is_stored_once(
    stream: tuple[NatsPublisher, str], nats_url: str
) -> None:
    publisher, name = stream
    first = publisher.send(notice(1))
    again = publisher.send(notice(1))  # the relay crashed before recording the first send
    publisher.send(notice(2))
    assert first == again  # JetStream answers the stored message's sequence
    messages = read_back(nats_url, name, f"{publisher.prefix}.>")
    assert [m.headers["Nats-Msg-Id"] for m in messages if m.headers] == ["O-1:1", "O-1:2"]


def test_sends_from_many_threads_share_one_connection(
    stream: tuple[NatsPublisher, str], nats_url: str
) -> None:
    publisher, name = stream
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(publisher.send, [notice(i) for i in range(1, 21)]))
    assert len({o.provider_id for o in outcomes}) == 20
    assert len(read_back(nats_url, name, f"{publisher.prefix}.>")) == 20


def test_a_subject_no_stream_listens_on_is_a_transient_failure(nats_url: str) -> None:
    publisher = NatsPublisher(nats_url, prefix=f"nostream{uuid.uuid4().hex[:8]}", timeout=1)
    with publisher, pytest.raises(DeliveryError) as info:
        publisher.send(notice(1))
    assert not isinstance(info.value, PermanentDeliveryError)
    assert info.value.channel == "nats"


def test_close_then_send_reconnects(stream: tuple[NatsPublisher, str], nats_url: str) -> None:
    publisher, name = stream
    publisher.send(notice(1))
    publisher.close()
    assert publisher.send(notice(2)) == Sent(f"{publisher.prefix}.OrderPlaced", f"{name}:2")


def test_an_unreachable_server_is_a_transient_failure() -> None:
    # needs no server: a port nothing listens on
    publisher = NatsPublisher("nats://127.0.0.1:1", timeout=1)
    with pytest.raises(DeliveryError) as info:
        publisher.send(notice(1))
    publisher.close()
    assert not isinstance(info.value, PermanentDeliveryError)
    assert "127.0.0.1:1" in info.value.reason
