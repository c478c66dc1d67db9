"""Publishing outbox messages to RabbitMQ (``pip install 'salesorders[rabbitmq]'``).

::

    publisher = RabbitMqPublisher("amqp://guest:guest@127.0.0.1:5672/", exchange="salesorders")
    relay = OutboxRelay(..., channels=[publisher])
    ...
    publisher.close()

Each message is published persistent, with publisher confirms, to a topic exchange with the event
type as routing key and the event id as ``message_id``: consumers deduplicate on it (RabbitMQ
does not).
"""

from __future__ import annotations

import contextlib
import threading

try:
    import pika
    import pika.exceptions
except ImportError as missing:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "salesorders.adapters.rabbitmq needs pika; install it with "
        "pip install 'salesorders[rabbitmq]'"
    ) from missing

from salesorders.errors import DeliveryError, ValidationError
from salesorders.notifications.channel import Notice, Sent
from salesorders.notifications.contacts import CHANNEL_NAME
from salesorders.notifications.envelope import message_body

__all__ = ["RabbitMqPublisher"]


class RabbitMqPublisher:
    """A :class:`~salesorders.notifications.Channel` (named ``"rabbitmq"``) that publishes every
    outbox message to the topic exchange ``exchange`` and answers
    :class:`~salesorders.notifications.Sent` with ``"<exchange>/<routing key>"`` as recipient
    and the event id as provider id, once the broker has confirmed it.

    The body is the JSON document of :func:`~salesorders.adapters.nats.message_body`; the
    properties carry ``message_id`` (the event id), ``type`` (the event type),
    ``content_type`` ``application/json`` and ``delivery_mode`` 2 (persistent). The exchange is
    declared (durable) at the first send unless ``declare_exchange=False``. With ``mandatory``
    (the default) a message no queue is bound for is returned by the broker and the send raises
    :class:`~salesorders.errors.DeliveryError`, so it is retried rather than lost. A lost
    connection, a message the broker nacks, a refused login or a missing exchange (with
    ``declare_exchange=False``) raise it too: the relay retries until the broker or its
    configuration is fixed, and the next send reconnects.

    One connection is kept and guarded by a lock (pika's blocking connection is not
    thread-safe); :meth:`close` closes it.
    """

    def __init__(
        self,
        url: str = "amqp://guest:guest@127.0.0.1:5672/",
        *,
        exchange: str = "salesorders",
        name: str = "rabbitmq",
        declare_exchange: bool = True,
        mandatory: bool = True,
        timeout: float = 5.0,
    ) -> None:
        if not isinstance(name, str) or not CHANNEL_NAME.fullmatch(name):
            raise ValidationError("name", name, "must be a channel name like rabbitmq")
        if not isinstance(exchange, str) or not exchange or len(exchange) > 255:
            raise ValidationError("exchange", exchange, "must be an exchange name (1-255 chars)")
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            raise ValidationError("timeout", timeout, "must be a positive number of seconds")
        try:
            self._parameters = pika.URLParameters(url)
        except (ValueError, TypeError) as error:
            raise ValidationError("url", url, f"must be an AMQP URL: {error}") from None
        self._parameters.socket_timeout = timeout
        self._parameters.blocked_connection_timeout = timeout
        self._parameters.connection_attempts = 1
        self._exchange = exchange
        self._name = name
        self._declare = declare_exchange
        self._mandatory = mandatory
        self._lock = threading.Lock()
        self._connection: pika.BlockingConnection | None = None
        self._channel: pika.adapters.blocking_connection.BlockingChannel | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def exchange(self) -> str:
        return self._exchange

    def send(self, notice: Notice) -> Sent:
        properties = pika.BasicProperties(
            content_type="application/json",
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=notice.event_id,
            type=notice.event_type,
        )
        body = message_body(notice.message)
        with self._lock:
            try:
                channel = self._open()
                channel.basic_publish(
                    self._exchange,
                    notice.event_type,
                    body,
                    properties=properties,
                    mandatory=self._mandatory,
                )
            except pika.exceptions.UnroutableError as error:
                raise DeliveryError(
                    self._name,
                    f"no queue is bound to exchange {self._exchange!r} for {notice.event_type}",
                ) from error
            except pika.exceptions.NackError as error:
                raise DeliveryError(self._name, "the broker did not take the message") from error
            except pika.exceptions.AMQPConnectionError as error:
                self._forget()
                where = f"{self._parameters.host}:{self._parameters.port}"
                raise DeliveryError(self._name, f"cannot connect to RabbitMQ at {where}") from error
            except (pika.exceptions.AMQPError, OSError) as error:
                self._forget()
                reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
                raise DeliveryError(self._name, reason) from error
        return Sent(f"{self._exchange}/{notice.event_type}", provider_id=notice.event_id)

    def close(self) -> None:
        """Close the connection; a later send opens a new one."""
        with self._lock:
            self._forget()

    def __enter__(self) -> RabbitMqPublisher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _open(self) -> pika.adapters.blocking_connection.BlockingChannel:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self._forget()
        connection = pika.BlockingConnection(self._parameters)
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            if self._declare:
                channel.exchange_declare(self._exchange, exchange_type="topic", durable=True)
        except BaseException:
            connection.close()
            raise
        self._connection, self._channel = connection, channel
        return channel

    def _forget(self) -> None:
        connection = self._connection
        self._connection = self._channel = None
        if connection is not None and connection.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError, OSError):
                connection.close()  # a connection that broke already needs no closing
