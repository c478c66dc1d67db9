"""EmailChannel against a real SMTP server (aiosmtpd) started on a free local port."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd")

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from salesorders import errors
from salesorders.adapters.smtp import EmailChannel, SmtpSettings, message_id_for
from salesorders.notifications import (
    CustomerContact,
    Notice,
    Rendered,
    Sent,
    Skipped,
)
from salesorders.ports import OutboxMessage

AT = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)

SUBJECTS = {
    "en_US": "Your order {order} is confirmed",
    "zh_CN": "您的订单 {order} 已确认",
    "ja_JP": "ご注文 {order} を承りました",
}


class TinyRenderer:
    """Subject, text and HTML per locale; no template for OrderNoteAdded."""

    def __init__(self, html: bool = True) -> None:
        self.html = html

    def render(self, notice: Notice, channel: str) -> Rendered | None:
        if notice.event_type == "OrderNoteAdded" or channel != "email":
            return None
        locale = notice.contact.locale if notice.contact else "en_US"
        subject = SUBJECTS[locale].format(order=notice.payload["order_id"])
        html = f"<p>{subject}</p>" if self.html else None
        return Rendered(subject, f"{subject}.\nThank you.", html, locale)


class Recorder:
    """An aiosmtpd handler that keeps what it received and refuses some recipients."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.answers = {"busy@example.com": "451 4.3.0 try later", "gone@example.com": "550 no"}
        self.data_answer = "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.answers:
            return self.answers[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_answer.startswith("250"):
            self.envelopes.append(envelope)
        return self.data_answer

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(
                e.content.replace(b"\r\n", b"\n"), _class=EmailMessage, policy=email.policy.default
            )
            for e in self.envelopes
        ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(handler: Recorder, **kwargs: Any) -> tuple[Controller, int]:
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, port


@pytest.fixture
def server() -> Iterator[tuple[Recorder, int]]:
    handler = Recorder()
    controller, port = _start(handler)
    yield handler, port
    controller.stop()


def _notice(
    email_address: str | None = "ada@example.com",
    *,
    event_id: str = "SO-1:2",
    event_type: str = "OrderConfirmed",
    locale: str = "en_US",
    channels: tuple[str, ...] = ("email",),
    contact: bool = True,
) -> Notice:
    message = OutboxMessage(
        event_id=event_id,
        stream_id="SO-1",
        sequence=int(event_id.rpartition(":")[2]),
        event_type=event_type,
        payload={"order_id": "SO-1", "sequence": 2},
        occurred_at=AT,
    )
    person = CustomerContact(
        "C-1", name="Ada Lovelace", email=email_address, locale=locale, channels=channels
    )
    return Notice(message, None, person if contact else None)


def _channel(port: int, renderer: TinyRenderer | None = None, **settings: Any) -> EmailChannel:
    config = SmtpSettings(
        host="127.0.0.1", port=port, sender="shop@example.com", sender_name="The Shop",
        timeout=5, **settings,
    )  # fmt: skip
    return EmailChannel(config, renderer or TinyRenderer())


def test_a_notice_arrives_as_text_and_html_with_its_headers(server: tuple[Recorder, int]) -> None:
    handler, port = server
    outcome = _channel(port).send(_notice())

    assert outcome == Sent("ada@example.com", provider_id=message_id_for("SO-1:2", "example.com"))
    [envelope] = handler.envelopes
    assert envelope.mail_from == "shop@example.com"
    assert envelope.rcpt_tos == ["ada@example.com"]
    [message] = handler.messages()
    assert message.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content() == "Your order SO-1 is confirmed.\nThank you.\n"
    assert html.get_content() == "<p>Your order SO-1 is confirmed</p>\n"
    assert message["Subject"] == "Your order SO-1 is confirmed"
    assert message["From"] == "The Shop <shop@example.com>"
    assert message["To"] == "Ada Lovelace <ada@example.com>"
    assert message["X-Salesorders-Event"] == "SO-1:2"
    assert message["Content-Language"] == "en-US"
    assert message["Message-ID"] == outcome.provider_id
    assert message["Date"].datetime.tzinfo is not None


def test_without_html_the_message_is_plain_text(server: tuple[Recorder, int]) -> None:
    handler, port = server
    _channel(port, TinyRenderer(html=False)).send(_notice())
    [message] = handler.messages()
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == "Your order SO-1 is confirmed.\nThank you.\n"


def test_a_resend_of_the_same_event_has_the_same_message_id(server: tuple[Recorder, int]) -> None:
    handler, port = server
    channel = _channel(port)
    channel.send(_notice(event_id="SO-1:7"))
    channel.send(_notice(event_id="SO-1:7"))
    channel.send(_notice(event_id="SO-1:8"))
    ids = [message["Message-ID"] for message in handler.messages()]
    assert ids[0] == ids[1] != ids[2]
    assert ids[0].startswith("<") and ids[0].endswith("@example.com>")


@pytest.mark.parametrize("locale", ["zh_CN", "ja_JP"])
def test_utf8_subjects_are_encoded_and_read_back(server: tuple[Recorder, int], locale: str) -> None:
    handler, port = server
    _channel(port).send(_notice(locale=locale))
    [envelope] = handler.envelopes
    raw_subject = next(
        line for line in envelope.content.split(b"\r\n") if line.startswith(b"Subject:")
    )
    assert raw_subject.isascii() and b"=?utf-8?" in raw_subject.lower()  # RFC 2047 on the wire
    [message] = handler.messages()
    assert message["Subject"] == SUBJECTS[locale].format(order="SO-1")
    assert message["Content-Language"] == locale.replace("_", "-")
    text = message.get_body(("plain",))
    assert text is not None and SUBJECTS[locale].format(order="SO-1") in text.get_content()


@pytest.mark.parametrize(
    ("notice", "reason"),
    [
        (_notice(contact=False), "no contact details for the customer"),
        (_notice(None), "the customer has no email address"),
        (_notice(channels=("sms",)), "the customer does not want email"),
        (_notice(event_type="OrderNoteAdded"), "no email template for OrderNoteAdded"),
    ],
)
def test_nothing_to_send_is_skipped_with_the_reason(
    server: tuple[Recorder, int], notice: Notice, reason: str
) -> None:
    handler, port = server
    outcome = _channel(port).send(notice)
    assert isinstance(outcome, Skipped) and outcome.reason == reason
    assert handler.envelopes == []


def test_a_451_answer_is_retried_later(server: tuple[Recorder, int]) -> None:
    handler, port = server
    with pytest.raises(errors.DeliveryError) as raised:
        _channel(port).send(_notice("busy@example.com"))
    assert not isinstance(raised.value, errors.PermanentDeliveryError)
    assert raised.value.channel == "email" and "451" in raised.value.reason
    assert handler.envelopes == []


def test_a_550_recipient_refusal_is_permanent(server: tuple[Recorder, int]) -> None:
    handler, port = server
    with pytest.raises(errors.PermanentDeliveryError) as raised:
        _channel(port).send(_notice("gone@example.com"))
    assert "550" in raised.value.reason and "gone@example.com" in raised.value.reason
    assert handler.envelopes == []


@pytest.mark.parametrize(
    ("answer", "permanent"), [("554 5.6.0 rejected", True), ("452 full", False)]
)
def test_a_refused_message_body_is_permanent_only_for_5xx(
    server: tuple[Recorder, int], answer: str, permanent: bool
) -> None:
    handler, port = server
    handler.data_answer = answer
    with pytest.raises(errors.DeliveryError) as raised:
        _channel(port).send(_notice())
    assert isinstance(raised.value, errors.PermanentDeliveryError) is permanent
    assert answer.split()[0] in raised.value.reason


def test_starttls_the_server_does_not_offer_is_retried_later(
    server: tuple[Recorder, int],
) -> None:
    handler, port = server
    with pytest.raises(errors.DeliveryError) as raised:
        _channel(port, starttls=True).send(_notice())
    assert not isinstance(raised.value, errors.PermanentDeliveryError)
    assert "STARTTLS extension not supported" in raised.value.reason
    assert handler.envelopes == []


def test_a_server_that_is_down_is_retried_later() -> None:
    with pytest.raises(errors.DeliveryError) as raised:
        _channel(_free_port()).send(_notice())
    assert not isinstance(raised.value, errors.PermanentDeliveryError)
    assert "cannot reach 127.0.0.1" in raised.value.reason


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"shop", b"s3cret")
    return AuthResult(success=ok, handled=False)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_auth_logs_in_and_a_wrong_password_is_retried_later() -> None:
    handler = Recorder()
    controller, port = _start(
        handler, authenticator=_authenticator, auth_require_tls=False, auth_required=True
    )
    try:
        outcome = _channel(port, username="shop", password="s3cret").send(_notice())
        assert isinstance(outcome, Sent)
        assert len(handler.envelopes) == 1
        with pytest.raises(errors.DeliveryError) as raised:
            _channel(port, username="shop", password="wrong").send(_notice())
        assert not isinstance(raised.value, errors.PermanentDeliveryError)
        assert "535" in raised.value.reason
        with pytest.raises(errors.DeliveryError):  # the server requires AUTH
            _channel(port).send(_notice())
        assert len(handler.envelopes) == 1
    finally:
        controller.stop()


def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert file, key file)."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_starttls_checks_the_certificate_then_sends(tmp_path: Path) -> None:
    cert_file, key_file = _certificate(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_file, key_file)
    handler = Recorder()
    controller, port = _start(
        handler,
        tls_context=server_context,
        require_starttls=True,
        authenticator=_authenticator,
    )
    try:
        trusted = ssl.create_default_context(cafile=str(cert_file))
        outcome = _channel(
            port, starttls=True, ssl_context=trusted, username="shop", password="s3cret"
        ).send(_notice())
        assert isinstance(outcome, Sent) and len(handler.envelopes) == 1
        # the system's trust store does not know the self-signed certificate: not sent
        with pytest.raises(errors.DeliveryError) as raised:
            _channel(port, starttls=True).send(_notice())
        assert "CERTIFICATE_VERIFY_FAILED" in raised.value.reason
        # the server requires STARTTLS before mail
        with pytest.raises(errors.DeliveryError):
            _channel(port).send(_notice())
        assert len(handler.envelopes) == 1
    finally:
        controller.stop()


def test_implicit_tls_sends(tmp_path: Path) -> None:
    cert_file, key_file = _certificate(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_file, key_file)
    handler = Recorder()
    controller, port = _start(handler, ssl_context=server_context)
    try:
        trusted = ssl.create_default_context(cafile=str(cert_file))
        outcome = _channel(port, ssl=True, ssl_context=trusted).send(_notice())
        assert isinstance(outcome, Sent) and len(handler.envelopes) == 1
    finally:
        controller.stop()


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"host": "smtp example"}, "host"),
        ({"port": 0}, "port"),
        ({"port": True}, "port"),
        ({"sender": "shop"}, "sender"),
        ({"sender": "läden@example.com"}, "sender"),
        ({"timeout": 0}, "timeout"),
        ({"starttls": "yes"}, "starttls"),
        ({"ssl": True, "starttls": True}, "starttls"),
        ({"username": "shop"}, "password"),
        ({"password": "secret"}, "username"),
        ({"sender_name": "Shop\r\nBcc: x@example.com"}, "sender_name"),
        ({"local_hostname": "a b"}, "local_hostname"),
        ({"ssl_context": "default"}, "ssl_context"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(settings: dict[str, Any], field: str) -> None:
    values: dict[str, Any] = {"host": "smtp.example.com", "sender": "shop@example.com"}
    with pytest.raises(errors.ValidationError) as raised:
        SmtpSettings(**{**values, **settings})
    assert raised.value.field == field


def test_the_password_is_not_shown() -> None:
    settings = SmtpSettings(
        host="smtp.example.com", sender="shop@example.com", username="shop", password="s3cret"
    )
    assert "s3cret" not in repr(settings)


def test_a_bad_channel_name_is_refused() -> None:
    settings = SmtpSettings(host="smtp.example.com", sender="shop@example.com")
    with pytest.raises(errors.ValidationError) as raised:
        EmailChannel(settings, TinyRenderer(), name="Email EU")
    assert raised.value.field == "name"
    assert EmailChannel(settings, TinyRenderer(), name="email-eu").name == "email-eu"
