"""Signed webhooks: order events posted to a host's HTTP endpoints as `Standard Webhooks`_.

:class:`WebhookChannel` is a :class:`~salesorders.notifications.Channel` that posts each notice
to one :class:`WebhookEndpoint`; :class:`WebhookVerifier` checks such a request on the receiving
side. Signing uses the ``standardwebhooks`` package (``pip install salesorders[webhooks]``),
imported when the first channel or verifier is built.

* The body is JSON: ``{"type": <event type>, "id": <event id>, "timestamp": <when the event
  happened, ISO 8601>, "data": <the event's payload>}``.
* The headers are ``webhook-id`` (the event id: the same on every attempt, so receivers
  deduplicate on it), ``webhook-timestamp`` (the attempt's time, in Unix seconds) and
  ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` under the endpoint's
  ``whsec_`` secret).
* A ``2xx`` answer is :class:`~salesorders.notifications.Sent`. ``408``, ``429``, ``5xx``, a
  timeout or a connection that fails raise :class:`~salesorders.errors.DeliveryError` (tried
  again after the outbox's backoff); any other answer (``3xx`` and other ``4xx``: the URL, the
  secret or the payload is wrong for the receiver) raises
  :class:`~salesorders.errors.PermanentDeliveryError`. Redirects are not followed.
* One channel posts to one endpoint, so the relay keeps delivery state per endpoint: an endpoint
  that answered is never posted the message again because another one failed. A host with
  several endpoints adds one channel each, with distinct names (:func:`webhook_channels`).

.. _Standard Webhooks: https://www.standardwebhooks.com/
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import http.client
import json
import secrets
import ssl
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from salesorders.errors import (
    DeliveryError,
    PermanentDeliveryError,
    ValidationError,
    WebhookVerificationError,
)
from salesorders.notifications.channel import Notice, Outcome, Sent, Skipped
from salesorders.notifications.contacts import CHANNEL_NAME
from salesorders.ports import Clock

__all__ = [
    "WebhookChannel",
    "WebhookEndpoint",
    "WebhookVerifier",
    "new_webhook_secret",
    "webhook_channels",
]

_PREFIX = "whsec_"
_INSTALL = (
    "salesorders.adapters.webhook needs the standardwebhooks package; install it with "
    "pip install 'salesorders[webhooks]'"
)
#: Answers worth trying again: the receiver is busy, slow or broken for now.
_TRANSIENT = frozenset({408, 425, 429})


def new_webhook_secret() -> str:
    """A fresh random secret (32 bytes) in the ``whsec_<base64>`` form endpoints take."""
    return _PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _secret_bytes(value: object, field: str) -> bytes:
    if not isinstance(value, str) or not value.startswith(_PREFIX):
        raise ValidationError(
            field,
            "<hidden>",
            "must be a secret like whsec_<base64>",
            "make one with new_webhook_secret()",
        )
    try:
        key = base64.b64decode(value[len(_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(field, "<hidden>", "is not valid base64 after whsec_") from None
    if not 24 <= len(key) <= 64:
        raise ValidationError(
            field,
            "<hidden>",
            "must hold 24 to 64 random bytes",
            "make one with new_webhook_secret()",
        )
    return key


def _url(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or any(ch.isspace() for ch in value):
        raise ValidationError("url", value, "must be an http or https URL without spaces")
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError:
        raise ValidationError("url", value, "must be an http or https URL") from None
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            "url", "<hidden>", "must not carry a user or password", "the secret signs requests"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(
            "url", value, "must be an http or https URL", "like https://crm.example.com/hooks"
        )


def _event_types(value: Iterable[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        raise ValidationError("event_types", value, "must be a set of event types, not one string")
    types = frozenset(value)
    for name in sorted(types, key=str):
        if not isinstance(name, str) or not name.isidentifier():
            raise ValidationError("event_types", name, "must hold event types like OrderPlaced")
    return types


@attrs.frozen(slots=True)
class WebhookEndpoint:
    """Where to post events: ``url``, the ``secret`` shared with the receiver (``whsec_`` and
    24 to 64 base64 bytes, as Standard Webhooks define it), and the ``event_types`` it takes
    (``None``: all of them)."""

    url: str = attrs.field(validator=_url)
    secret: str = attrs.field(repr=False)
    event_types: frozenset[str] | None = attrs.field(default=None, converter=_event_types)

    @secret.validator
    def _check_secret(self, attribute: attrs.Attribute[str], value: object) -> None:
        _secret_bytes(value, "secret")

    def takes(self, event_type: str) -> bool:
        """Whether this endpoint subscribes to ``event_type``."""
        return self.event_types is None or event_type in self.event_types


def _webhook(secret: str) -> Any:
    try:
        from standardwebhooks.webhooks import Webhook
    except ImportError:  # pragma: no cover - the extra is installed where tests run
        raise ImportError(_INSTALL) from None
    return Webhook(secret)


def _now(clock: Clock | None) -> dt.datetime:
    return clock.now() if clock is not None else dt.datetime.now(dt.UTC)


def _sign(webhook: Any, msg_id: str, timestamp: int, body: str) -> str:
    at = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return str(webhook.sign(msg_id=msg_id, timestamp=at, data=body))


class WebhookChannel:
    """Posts notices, signed, to one :class:`WebhookEndpoint` (see the module documentation).

    ``name`` is the channel's name in the relay (``"webhook"``, ``"webhook-crm"``); ``timeout``
    bounds connecting and each read, in seconds; ``clock`` gives the ``webhook-timestamp``;
    ``ssl_context`` checks an ``https`` receiver's certificate (the system's trust store unless
    given).
    """

    def __init__(
        self,
        endpoint: WebhookEndpoint,
        *,
        name: str = "webhook",
        timeout: float = 10.0,
        clock: Clock | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not isinstance(endpoint, WebhookEndpoint):
            raise ValidationError("endpoint", endpoint, "must be a WebhookEndpoint")
        if not isinstance(name, str) or not CHANNEL_NAME.fullmatch(name):
            raise ValidationError("name", name, "must be a channel name like webhook-crm")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise ValidationError("timeout", timeout, "must be a positive number of seconds")
        self._endpoint = endpoint
        self._name = name
        self._timeout = float(timeout)
        self._clock = clock
        self._ssl_context = ssl_context
        self._webhook = _webhook(endpoint.secret)

    @property
    def name(self) -> str:
        return self._name

    @property
    def endpoint(self) -> WebhookEndpoint:
        return self._endpoint

    def request(self, notice: Notice) -> tuple[bytes, dict[str, str]]:
        """The body and headers this channel posts for ``notice`` now."""
        body = json.dumps(
            {
                "type": notice.event_type,
                "id": notice.event_id,
                "timestamp": notice.message.occurred_at.astimezone(dt.UTC).isoformat(),
                "data": notice.payload,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        timestamp = int(_now(self._clock).timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": "salesorders-webhooks",
            "webhook-id": notice.event_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": _sign(self._webhook, notice.event_id, timestamp, body),
        }
        return body.encode("utf-8"), headers

    def send(self, notice: Notice) -> Outcome:
        url = self._endpoint.url
        if not self._endpoint.takes(notice.event_type):
            return Skipped(f"the endpoint does not take {notice.event_type}", recipient=url)
        body, headers = self.request(notice)
        status, answer = self._post(body, headers)
        if 200 <= status < 300:
            return Sent(url)
        reason = f"{url} answered {status} {answer}".rstrip()
        if status in _TRANSIENT or status >= 500:
            raise DeliveryError(self._name, reason)
        raise PermanentDeliveryError(self._name, reason)

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        parts = urllib.parse.urlsplit(self._endpoint.url)
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname or "",
                parts.port,
                timeout=self._timeout,
                context=self._ssl_context or ssl.create_default_context(),
            )
        else:
            connection = http.client.HTTPConnection(
                parts.hostname or "", parts.port, timeout=self._timeout
            )
        target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        try:
            connection.request("POST", target, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read(200).decode("utf-8", "replace")
            return response.status, " ".join(answer.split())[:120]
        except (OSError, http.client.HTTPException) as failed:
            reason = str(failed) or type(failed).__name__
            raise DeliveryError(
                self._name, f"cannot post to {self._endpoint.url}: {reason}"
            ) from None
        finally:
            connection.close()


def webhook_channels(endpoints: Mapping[str, WebhookEndpoint]) -> list[WebhookChannel]:
    """One channel per endpoint, named ``webhook-<key>`` (``{"crm": endpoint}`` gives
    ``webhook-crm``): each endpoint's deliveries are kept apart in the relay."""
    return [WebhookChannel(endpoint, name=f"webhook-{key}") for key, endpoint in endpoints.items()]


class WebhookVerifier:
    """Checks a received webhook on the receiver's side.

    ``verify(body, headers)`` returns the parsed JSON payload when the ``webhook-signature``
    matches the body under ``secret``, and the ``webhook-timestamp`` is within ``tolerance`` of
    ``clock``'s time (the system clock unless given); otherwise it raises
    :class:`~salesorders.errors.WebhookVerificationError` saying which check failed. A request
    replayed after the tolerance is refused; within it, deduplicate on ``webhook-id``.
    """

    def __init__(
        self,
        secret: str,
        *,
        tolerance: dt.timedelta = dt.timedelta(minutes=5),
        clock: Clock | None = None,
    ) -> None:
        _secret_bytes(secret, "secret")
        if not isinstance(tolerance, dt.timedelta) or tolerance <= dt.timedelta(0):
            raise ValidationError("tolerance", tolerance, "must be a positive timedelta")
        self._webhook = _webhook(secret)
        self._tolerance = tolerance
        self._clock = clock

    def verify(self, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        lowered = {key.lower(): value for key, value in headers.items()}
        fields = {}
        for header in ("webhook-id", "webhook-timestamp", "webhook-signature"):
            value = lowered.get(header)
            if not value:
                raise WebhookVerificationError(f"the {header} header is missing")
            fields[header] = value
        msg_id = fields["webhook-id"]
        try:
            timestamp = int(fields["webhook-timestamp"])
            sent_at = dt.datetime.fromtimestamp(timestamp, dt.UTC)
        except (ValueError, OverflowError, OSError):
            raise WebhookVerificationError(
                "the webhook-timestamp header is not Unix seconds"
            ) from None
        now = _now(self._clock)
        if sent_at < now - self._tolerance:
            raise WebhookVerificationError("the timestamp is too old (a replayed request?)")
        if sent_at > now + self._tolerance:
            raise WebhookVerificationError("the timestamp is in the future")
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise WebhookVerificationError("the body is not UTF-8") from None
        expected = _sign(self._webhook, msg_id, timestamp, text).encode("ascii")
        offered = fields["webhook-signature"].split()
        if not any(hmac.compare_digest(expected, item.encode("utf-8")) for item in offered):
            raise WebhookVerificationError("no signature matches the body")
        try:
            payload = json.loads(text)
        except ValueError:
            raise WebhookVerificationError("the body is not JSON") from None
        if not isinstance(payload, dict):
            raise WebhookVerificationError("the body is not a JSON object")
        if "id" in payload and payload["id"] != msg_id:
            raise WebhookVerificationError("the body's id differs from the webhook-id header")
        return payload
