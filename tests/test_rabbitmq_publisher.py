"""The RabbitMQ publisher against a real broker (SALESORDERS_TEST_RABBITMQ_URL)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator

import pytest

pytest.importorskip("pika", reason="needs the rabbitmq extra")

import pika

from salesorders.adapters.rabbitmq import RabbitMqPublisher
from salesorders.errors import DeliveryError, PermanentDeliveryError
from salesorders.notifications import Notice, Sent
from salesorders.ports import OutboxMessage

pytestmark = pytest.mark.rabbitmq

AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def notice(sequence: int, event_type: str = "OrderPlaced") -> Notice:
    payload = {"order_id": "O-1", "sequence": sequence}
    message = OutboxMessage(f"O-1:{sequence}", "O-1", sequence, event_type, payload, AT)
    return Notice(message)


@pytest.fixture
def bound(rabbitmq_url: str) -> Iterator[tuple[RabbitMqPublisher, pika.channel.Channel, str]]:
    """A publisher on a fresh exchange, a channel and a queue bound to all its routing keys."""
    exchange = f"test-{uuid.uuid4().hex[:10]}"
    publisher = RabbitMqPublisher(rabbitmq_url, exchange=exchange)
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_url))
    channel = connection.channel()
    channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, exchange, routing_key="#")
    yield publisher, channel, queue
    publisher.close()
    channel.exchange_delete(exchange)
    connection.close()


def drain(channel: pika.channel.Channel, queue: str) -> list[tuple[object, object, bytes]]:
    found = []
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            return found
        found.append((method, properties, body))


def test_publishes_persistent_confirmed_messages_in_order(
    bound: tuple[RabbitMqPublisher, pika.channel.Channel, str],
) -> None:
    publisher, channel, queue = bound
    outcomes = [publisher.send(notice(1)), publisher.send(notice(2, "OrderConfirmed"))]
    assert outcomes == [
        Sent(f"{publisher.exchange}/OrderPlaced", provider_id="O-1:1"),
        Sent(f"{publisher.exchange}/OrderConfirmed", provider_id="O-1:2"),
    ]
    got = drain(channel, queue)
    assert [m.routing_key for m, _, _ in got] == ["OrderPlaced", "OrderConfirmed"]  # type: ignore[attr-defined]
    assert [p.message_id for _, p, _ in got] == ["O-1:1", "O-1:2"]  # type: ignore[attr-defined]
    assert {p.delivery_mode for _, p, _ in got} == {2}  # type: ignore[attr-defined]
    assert {p.content_type for _, p, _ in got} == {"application/json"}  # type: ignore[attr-defined]
    assert json.loads(got[0][2]) == {
        "id": "O-1:1",
        "type": "OrderPlaced",
        "stream": "O-1",
        "sequence": 1,
        "occurred_at": "2026-06-01T12:00:00+00:00",
        "data": {"order_id": "O-1", "sequence": 1},
    }


def test_a_redelivery_carries_the_same_message_id_for_consumers_to_deduplicate(
    bound: tuple[RabbitMqPublisher, pika.channel.Channel, str],
) -> None:
    publisher, channel, queue = bound
    publisher.send(notice(1))
    publisher.send(notice(1))
    ids = [p.message_id for _, p, _ in drain(channel, queue)]  # type: ignore[attr-defined]
    assert ids == ["O-1:1", "O-1:1"]  # RabbitMQ keeps both: the id is how consumers tell


def test_an_unroutable_message_is_retried_not_lost(rabbitmq_url: str) -> None:
    exchange = f"test-{uuid.uuid4().hex[:10]}"
    with RabbitMqPublisher(rabbitmq_url, exchange=exchange) as publisher:
        with pytest.raises(DeliveryError) as info:
            publisher.send(notice(1))
        assert "no queue is bound" in info.value.reason
        assert not isinstance(info.value, PermanentDeliveryError)
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_url))
    connection.channel().exchange_delete(exchange)
    connection.close()


def test_a_missing_exchange_is_a_transient_failure_and_the_next_send_reconnects(
    bound: tuple[RabbitMqPublisher, pika.channel.Channel, str], rabbitmq_url: str
) -> None:
    publisher, channel, queue = bound
    missing = RabbitMqPublisher(
        rabbitmq_url, exchange=f"missing-{uuid.uuid4().hex[:8]}", declare_exchange=False
    )
    with pytest.raises(DeliveryError) as info:
        missing.send(notice(1))
    assert "NOT_FOUND" in info.value.reason
    missing.close()
    publisher.send(notice(1))
    publisher.close()
    publisher.send(notice(2))  # after close, a new connection
    assert [p.message_id for _, p, _ in drain(channel, queue)] == ["O-1:1", "O-1:2"]  # type: ignore[attr-defined]


def test_an_unreachable_broker_is_a_transient_failure() -> None:
    publisher = RabbitMqPublisher("amqp://guest:guest@127.0.0.1:1/", timeout=1)
    with pytest.raises(DeliveryError) as info:
        publisher.send(notice(1))
    assert not isinstance(info.value, PermanentDeliveryError)
    assert "127.0.0.1:1" in info.value.reason
