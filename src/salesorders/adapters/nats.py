"""Publishing outbox messages to NATS JetStream (``pip install 'salesorders[nats]'``).

::

    publisher = NatsPublisher("nats://127.0.0.1:4222", prefix="salesorders")
    publisher.ensure_stream("SALESORDERS", ["salesorders.>"])   # or the host's own stream
    relay = OutboxRelay(..., channels=[publisher])
    ...
    publisher.close()

Each message goes to the subject ``<prefix>.<event type>`` with the header ``Nats-Msg-Id`` set to
the event id, so JetStream stores a redelivered message once within its stream's duplicate window.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

try:
    import nats
    import nats.errors
    import nats.js.errors
    from nats.aio.client import Client
    from nats.js import JetStreamContext
    from nats.js.api import StreamConfig
except ImportError as missing:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "salesorders.adapters.nats needs nats-py; install it with pip install 'salesorders[nats]'"
    ) from missing

from salesorders.errors import DeliveryError, PermanentDeliveryError, ValidationError
from salesorders.notifications.channel import Notice, Sent
from salesorders.notifications.contacts import CHANNEL_NAME
from salesorders.notifications.envelope import message_body

__all__ = ["NatsPublisher", "message_body"]

T = TypeVar("T")

#: The failures of a server, a connection or a timeout: worth retrying.
_TRANSIENT = (nats.errors.Error, nats.js.errors.Error, asyncio.TimeoutError, OSError)


async def _ignore(error: Exception) -> None:
    """The connection's error callback: failures are raised to ``send``, not logged twice."""


class NatsPublisher:
    """A :class:`~salesorders.notifications.Channel` (named ``"nats"``) that publishes every
    outbox message to JetStream and answers :class:`~salesorders.notifications.Sent` with the
    subject as recipient and ``"<stream>:<sequence>"`` of the stored message as provider id.

    ``send`` is synchronous: the publisher runs its own event loop in a background thread and
    keeps one connection, opened at the first send (or :meth:`ensure_stream`) and closed by
    :meth:`close`. Connection failures, timeouts (``timeout`` seconds per publish) and a subject
    no stream listens on raise :class:`~salesorders.errors.DeliveryError` (the relay retries); a
    message larger than the server accepts raises
    :class:`~salesorders.errors.PermanentDeliveryError`.
    """

    def __init__(
        self,
        url: str = "nats://127.0.0.1:4222",
        *,
        prefix: str = "salesorders",
        name: str = "nats",
        timeout: float = 5.0,
        connect_options: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(name, str) or not CHANNEL_NAME.fullmatch(name):
            raise ValidationError("name", name, "must be a channel name like nats")
        if not isinstance(prefix, str) or not prefix or any(c in prefix for c in " *>\t\r\n"):
            raise ValidationError(
                "prefix", prefix, "must be a subject prefix without spaces or wildcards"
            )
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            raise ValidationError("timeout", timeout, "must be a positive number of seconds")
        self._url = url
        self._prefix = prefix.rstrip(".")
        self._name = name
        self._timeout = float(timeout)
        self._options = dict(connect_options or {})
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: Client | None = None
        self._js: JetStreamContext | None = None
        self._connecting: asyncio.Lock | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def prefix(self) -> str:
        return self._prefix

    def subject(self, event_type: str) -> str:
        """The subject messages of ``event_type`` are published on."""
        return f"{self._prefix}.{event_type}"

    def send(self, notice: Notice) -> Sent:
        subject = self.subject(notice.event_type)
        body = message_body(notice.message)
        headers = {"Nats-Msg-Id": notice.event_id, "Content-Type": "application/json"}

        async def publish() -> str:
            ack = await (await self._jetstream()).publish(
                subject, body, timeout=self._timeout, headers=headers
            )
            return f"{ack.stream}:{ack.seq}"

        return Sent(subject, provider_id=self._run(publish()))

    def ensure_stream(self, name: str, subjects: Sequence[str]) -> None:
        """Create the JetStream stream ``name`` on ``subjects``, or update it to them if it
        exists. Streams are the host's to configure (retention, replicas, the duplicate window):
        this is a convenience for tests and small setups."""
        config = StreamConfig(name=name, subjects=list(subjects))

        async def ensure() -> None:
            js = await self._jetstream()
            try:
                await js.add_stream(config)
            except nats.js.errors.BadRequestError:  # it exists with another configuration
                await js.update_stream(config)

        self._run(ensure())

    def delete_stream(self, name: str) -> None:
        """Delete the JetStream stream ``name`` and its messages (for tests)."""

        async def delete() -> None:
            await (await self._jetstream()).delete_stream(name)

        self._run(delete())

    def close(self) -> None:
        """Drain and close the connection and stop the background loop; a later send opens
        them again."""
        with self._lock:
            loop, thread, client = self._loop, self._thread, self._client
            self._loop = self._thread = self._client = self._js = None
            self._connecting = None
        if loop is None or thread is None:
            return
        if client is not None and not client.is_closed:
            future = asyncio.run_coroutine_threadsafe(client.close(), loop)
            try:
                future.result(self._timeout)
            except (*_TRANSIENT, concurrent.futures.TimeoutError):
                future.cancel()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(self._timeout)
        loop.close()

    def __enter__(self) -> NatsPublisher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def _jetstream(self) -> JetStreamContext:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:  # one connection, however many sends wait for it
            if self._js is None or self._client is None or self._client.is_closed:
                options = {
                    "connect_timeout": self._timeout,
                    "max_reconnect_attempts": 2,
                    "reconnect_time_wait": 0.2,
                    "allow_reconnect": True,
                    "error_cb": _ignore,  # every failure reaches the caller as an exception
                    **self._options,
                }
                self._client = await nats.connect(self._url, **options)
                self._js = self._client.jetstream(timeout=self._timeout)
            return self._js

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="salesorders-nats", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._started())
        try:
            return future.result(self._timeout * 3)
        except nats.errors.MaxPayloadError as error:
            raise PermanentDeliveryError(self._name, f"message too large: {error}") from error
        except nats.js.errors.NoStreamResponseError as error:
            raise DeliveryError(
                self._name, f"no JetStream stream listens on the subject ({error})"
            ) from error
        except nats.errors.NoServersError as error:
            raise DeliveryError(self._name, f"no NATS server reachable at {self._url}") from error
        except concurrent.futures.TimeoutError as error:
            future.cancel()
            raise DeliveryError(self._name, "timed out talking to NATS") from error
        except _TRANSIENT as error:
            raise DeliveryError(self._name, f"{type(error).__name__}: {error}") from error
