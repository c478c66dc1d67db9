"""WebhookChannel against a real HTTP server in a thread, and WebhookVerifier on what it got."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

standardwebhooks = pytest.importorskip("standardwebhooks")

from salesorders import errors  # noqa: E402
from salesorders.adapters.webhook import (  # noqa: E402
    WebhookChannel,
    WebhookEndpoint,
    WebhookVerifier,
    new_webhook_secret,
    webhook_channels,
)
from salesorders.notifications import Notice, Sent, Skipped  # noqa: E402
from salesorders.ports import OutboxMessage  # noqa: E402
from salesorders.service.clock import ManualClock  # noqa: E402

SECRET = new_webhook_secret()
OCCURRED = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


class Receiver(ThreadingHTTPServer):
    """Keeps each request (path, headers, body) and answers with ``status``."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 204
        self.hold = threading.Event()  # set: answer at once; clear: wait until released
        self.hold.set()


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.hold.wait(timeout=10)
        self.server.requests.append((self.path, dict(self.headers.items()), body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield server
    server.hold.set()
    server.shutdown()
    server.server_close()
    thread.join()


def _url(server: Receiver, path: str = "/hooks?source=shop") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def _notice(event_type: str = "OrderConfirmed", event_id: str = "SO-1:2") -> Notice:
    message = OutboxMessage(
        event_id=event_id,
        stream_id="SO-1",
        sequence=int(event_id.rpartition(":")[2]),
        event_type=event_type,
        payload={"order_id": "SO-1", "sequence": 2, "note": "für 李雷", "total": "19.99"},
        occurred_at=OCCURRED,
    )
    return Notice(message)


def _channel(server: Receiver, **options: Any) -> WebhookChannel:
    types = options.pop("event_types", None)
    return WebhookChannel(WebhookEndpoint(_url(server), SECRET, types), **options)


def test_a_notice_is_posted_signed_and_verifies(receiver: Receiver) -> None:
    outcome = _channel(receiver).send(_notice())

    assert outcome == Sent(_url(receiver))
    [(path, headers, body)] = receiver.requests
    assert path == "/hooks?source=shop"
    assert headers["content-type"] == "application/json"
    assert headers["webhook-id"] == "SO-1:2"
    assert headers["webhook-signature"].startswith("v1,")
    payload = WebhookVerifier(SECRET).verify(body, headers)
    assert payload == {
        "type": "OrderConfirmed",
        "id": "SO-1:2",
        "timestamp": "2026-03-01T09:30:00+00:00",
        "data": {"order_id": "SO-1", "sequence": 2, "note": "für 李雷", "total": "19.99"},
    }
    # the reference implementation agrees
    assert standardwebhooks.Webhook(SECRET).verify(body, headers) == payload


def test_the_verifier_refuses_a_tampered_body_and_a_foreign_secret(receiver: Receiver) -> None:
    _channel(receiver).send(_notice())
    [(_, headers, body)] = receiver.requests
    tampered = body.replace(b"19.99", b"0.01")
    with pytest.raises(errors.WebhookVerificationError, match="no signature matches"):
        WebhookVerifier(SECRET).verify(tampered, headers)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(SECRET).verify(tampered, headers)
    with pytest.raises(errors.WebhookVerificationError, match="no signature matches"):
        WebhookVerifier(new_webhook_secret()).verify(body, headers)
    swapped = {**headers, "webhook-id": "SO-1:3"}
    with pytest.raises(errors.WebhookVerificationError, match="no signature matches"):
        WebhookVerifier(SECRET).verify(body, swapped)


def test_the_verifier_refuses_a_replay_outside_the_tolerance(receiver: Receiver) -> None:
    clock = ManualClock(dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC))
    _channel(receiver, clock=clock).send(_notice())
    [(_, headers, body)] = receiver.requests
    assert headers["webhook-timestamp"] == str(int(clock.now().timestamp()))

    verifier = WebhookVerifier(SECRET, tolerance=dt.timedelta(minutes=5), clock=clock)
    clock.advance(dt.timedelta(minutes=5))
    assert verifier.verify(body, headers)["id"] == "SO-1:2"  # at the edge: still accepted
    clock.advance(dt.timedelta(seconds=1))
    with pytest.raises(errors.WebhookVerificationError, match="too old"):
        verifier.verify(body, headers)
    early = WebhookVerifier(
        SECRET, clock=ManualClock(dt.datetime(2026, 3, 1, 9, 54, tzinfo=dt.UTC))
    )
    with pytest.raises(errors.WebhookVerificationError, match="in the future"):
        early.verify(body, headers)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"webhook-id": None}, "webhook-id header is missing"),
        ({"webhook-timestamp": None}, "webhook-timestamp header is missing"),
        ({"webhook-signature": None}, "webhook-signature header is missing"),
        ({"webhook-timestamp": "soon"}, "not Unix seconds"),
        ({"webhook-signature": "v2,abc"}, "no signature matches"),
    ],
)
def test_the_verifier_refuses_missing_or_bad_headers(
    receiver: Receiver, change: dict[str, str | None], match: str
) -> None:
    _channel(receiver).send(_notice())
    [(_, headers, body)] = receiver.requests
    changed = {k: v for k, v in {**headers, **change}.items() if v is not None}
    with pytest.raises(errors.WebhookVerificationError, match=match):
        WebhookVerifier(SECRET).verify(body, changed)


def test_the_verifier_takes_any_of_several_signatures(receiver: Receiver) -> None:
    _channel(receiver).send(_notice())
    [(_, headers, body)] = receiver.requests
    rotated = {**headers, "webhook-signature": "v1,b2xk " + headers["webhook-signature"]}
    assert WebhookVerifier(SECRET).verify(body, rotated)["type"] == "OrderConfirmed"


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_a_2xx_answer_is_sent(receiver: Receiver, status: int) -> None:
    receiver.status = status
    assert isinstance(_channel(receiver).send(_notice()), Sent)


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
def test_busy_or_broken_receivers_are_retried_later(receiver: Receiver, status: int) -> None:
    receiver.status = status
    with pytest.raises(errors.DeliveryError) as raised:
        _channel(receiver, name="webhook-crm").send(_notice())
    assert not isinstance(raised.value, errors.PermanentDeliveryError)
    assert raised.value.channel == "webhook-crm" and f"answered {status}" in raised.value.reason


@pytest.mark.parametrize("status", [400, 401, 404, 410, 301])
def test_other_answers_are_permanent(receiver: Receiver, status: int) -> None:
    receiver.status = status
    with pytest.raises(errors.PermanentDeliveryError) as raised:
        _channel(receiver).send(_notice())
    assert f"answered {status}" in raised.value.reason


def test_a_slow_receiver_times_out_and_is_retried_later(receiver: Receiver) -> None:
    receiver.hold.clear()
    with pytest.raises(errors.DeliveryError) as raised:
        _channel(receiver, timeout=0.2).send(_notice())
    assert not isinstance(raised.value, errors.PermanentDeliveryError)
    assert "timed out" in raised.value.reason


def test_a_receiver_that_is_down_is_retried_later() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    channel = WebhookChannel(WebhookEndpoint(f"http://127.0.0.1:{port}/", SECRET))
    with pytest.raises(errors.DeliveryError) as raised:
        channel.send(_notice())
    assert not isinstance(raised.value, errors.PermanentDeliveryError)
    assert "cannot post to" in raised.value.reason


def test_event_types_the_endpoint_does_not_take_are_skipped(receiver: Receiver) -> None:
    channel = _channel(receiver, event_types={"OrderShipped", "OrderDelivered"})
    outcome = channel.send(_notice("OrderConfirmed"))
    assert outcome == Skipped("the endpoint does not take OrderConfirmed", _url(receiver))
    assert receiver.requests == []
    assert isinstance(channel.send(_notice("OrderShipped")), Sent)
    assert [json.loads(body)["type"] for _, _, body in receiver.requests] == ["OrderShipped"]


def test_each_attempt_is_signed_at_its_time_with_the_same_id(receiver: Receiver) -> None:
    clock = ManualClock(dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC))
    channel = _channel(receiver, clock=clock)
    channel.send(_notice())
    clock.advance(dt.timedelta(minutes=10))
    channel.send(_notice())
    first, second = (headers for _, headers, _ in receiver.requests)
    assert first["webhook-id"] == second["webhook-id"] == "SO-1:2"
    assert int(second["webhook-timestamp"]) - int(first["webhook-timestamp"]) == 600
    assert WebhookVerifier(SECRET, clock=clock).verify(receiver.requests[1][2], second)
    with pytest.raises(errors.WebhookVerificationError):
        WebhookVerifier(SECRET, clock=clock).verify(receiver.requests[0][2], first)


def test_one_channel_per_endpoint_with_distinct_names(receiver: Receiver) -> None:
    crm = WebhookEndpoint(_url(receiver, "/crm"), SECRET)
    erp = WebhookEndpoint(_url(receiver, "/erp"), new_webhook_secret(), {"OrderShipped"})
    channels = webhook_channels({"crm": crm, "erp": erp})
    assert [channel.name for channel in channels] == ["webhook-crm", "webhook-erp"]
    outcomes = [channel.send(_notice()) for channel in channels]
    assert [type(outcome) for outcome in outcomes] == [Sent, Skipped]
    assert [path for path, _, _ in receiver.requests] == ["/crm"]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        (("ftp://example.com/", SECRET), "url"),
        (("https:///path", SECRET), "url"),
        (("https://example.com/a b", SECRET), "url"),
        (("https://example.com:99999/", SECRET), "url"),
        (("https://user:pw@example.com/", SECRET), "url"),
        (("https://example.com/", "not-a-secret"), "secret"),
        (("https://example.com/", "whsec_!!!"), "secret"),
        (("https://example.com/", "whsec_c2hvcnQ="), "secret"),
        (("https://example.com/", SECRET, "OrderPlaced"), "event_types"),
        (("https://example.com/", SECRET, {"Order Placed"}), "event_types"),
    ],
)
def test_bad_endpoints_are_refused_naming_the_field(arguments: tuple[Any, ...], field: str) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        WebhookEndpoint(*arguments)
    assert raised.value.field == field
    assert SECRET not in str(raised.value)


def test_the_secret_is_not_shown() -> None:
    assert SECRET not in repr(WebhookEndpoint("https://example.com/", SECRET))


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"name": "Webhook CRM"}, "name"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": True}, "timeout"),
    ],
)
def test_bad_channel_options_are_refused(options: dict[str, Any], field: str) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        WebhookChannel(WebhookEndpoint("https://example.com/", SECRET), **options)
    assert raised.value.field == field


def test_bad_verifier_options_are_refused() -> None:
    with pytest.raises(errors.ValidationError) as raised:
        WebhookVerifier(SECRET, tolerance=dt.timedelta(0))
    assert raised.value.field == "tolerance"
    with pytest.raises(errors.ValidationError) as raised:
        WebhookVerifier("secret")
    assert raised.value.field == "secret"
