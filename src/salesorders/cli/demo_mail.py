"""The demo's customers as the notifications see them, and a local mail server to send them to.

:data:`DEMO_CONTACTS` gives each demo customer an email address, a locale and a time zone;
:class:`DemoMailbox` runs a small SMTP server (aiosmtpd, from the ``demo`` extra) on a free port
of 127.0.0.1 for as long as the demo plays, keeping every message it receives, so the demo can
send its notifications for real — through the outbox relay, the email channel and the built-in
templates — and print what arrived.
"""

from __future__ import annotations

import email
import email.policy
import socket
from email.message import EmailMessage
from types import TracebackType
from typing import Any, Self

import attrs

from salesorders.errors import MissingExtraError
from salesorders.notifications.contacts import CustomerContact

__all__ = ["DEMO_CONTACTS", "DemoMailbox", "ReceivedMail", "mail_available"]

#: The demo's customers: who they are, where their mail goes, the language they read.
DEMO_CONTACTS = (
    CustomerContact(
        "C-LI", name="李雷", email="li.lei@example.cn", locale="zh_CN", time_zone="Asia/Shanghai"
    ),
    CustomerContact(
        "C-ANNA",
        name="Anna Schmidt",
        email="anna@example.de",
        locale="de_DE",
        time_zone="Europe/Berlin",
    ),
    CustomerContact(
        "C-SMITH",
        name="John Smith",
        email="john.smith@example.com",
        locale="en_US",
        time_zone="America/New_York",
    ),
    CustomerContact(
        "C-SATO", name="佐藤花子", email="sato@example.jp", locale="ja_JP", time_zone="Asia/Tokyo"
    ),
    CustomerContact(
        "C-ACME",
        name="ACME Purchasing",
        email="purchasing@acme.example",
        locale="en_US",
        time_zone="America/Chicago",
    ),
)


def mail_available() -> bool:
    """Whether the ``demo`` extra (aiosmtpd for the server, Jinja2 for the templates) is here."""
    try:
        import aiosmtpd.controller  # noqa: F401
        import jinja2  # noqa: F401
    except ImportError:
        return False
    return True


@attrs.frozen
class ReceivedMail:
    """One message the demo's mail server received: envelope recipient and the parsed message."""

    recipient: str
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def locale(self) -> str:
        return str(self.message["Content-Language"] or "")

    @property
    def event_id(self) -> str:
        return str(self.message["X-Salesorders-Event"] or "")

    def text(self) -> str:
        """The plain-text part."""
        part = self.message.get_body(preferencelist=("plain",))
        return "" if part is None else str(part.get_content())


class _Handler:
    def __init__(self, received: list[ReceivedMail]) -> None:
        self.received = received

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        for recipient in envelope.rcpt_tos:
            self.received.append(ReceivedMail(recipient, parsed))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DemoMailbox:
    """A local SMTP server on 127.0.0.1 that keeps what it receives (a context manager)."""

    def __init__(self) -> None:
        try:
            from aiosmtpd.controller import Controller
        except ImportError as missing:
            raise MissingExtraError.needs("demo", "aiosmtpd", "the demo's mail server") from missing
        self.received: list[ReceivedMail] = []
        self.host = "127.0.0.1"
        self.port = _free_port()
        self._controller = Controller(_Handler(self.received), hostname=self.host, port=self.port)

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._controller.stop()
