"""Email notifications over SMTP, with the standard library's :mod:`smtplib`.

:class:`EmailChannel` is a :class:`~salesorders.notifications.Channel`: it renders a notice with a
:class:`~salesorders.notifications.NoticeRenderer` and sends it to the customer's email address
through the server described by :class:`SmtpSettings`.

>>> channel = EmailChannel(SmtpSettings(host="smtp.example.com", sender="shop@example.com"),
...                        renderer)  # doctest: +SKIP

* The recipient is ``notice.contact.email``. The notice is skipped (:class:`Skipped`, with the
  reason) when there is no contact, the contact has no email address or does not want email
  (:meth:`~salesorders.notifications.CustomerContact.wants`), or the renderer has no template for
  the event on ``"email"``.
* The message is plain text, or ``multipart/alternative`` text and HTML when the renderer gave
  HTML. Headers: ``From``, ``To``, ``Subject`` (non-ASCII text encoded per RFC 2047), ``Date``,
  ``Content-Language`` (the rendered locale, ``zh-CN``), ``X-Salesorders-Event`` (the event id)
  and a ``Message-ID`` derived from the event id: a message sent again for the same event has the
  same ``Message-ID``, so mail systems and people can recognise the resend.
* Each send opens one connection (implicit TLS with ``ssl=True``, or ``STARTTLS`` with
  ``starttls=True``), logs in when a username is set, sends, and closes it. Simple and correct;
  a host sending large volumes puts a local relay (Postfix, a provider's relay) in front.
* Errors: a connection that fails or times out, a ``4xx`` answer, and a ``5xx`` answer about the
  server's setup (the sender address, the login, ``STARTTLS`` missing) raise
  :class:`~salesorders.errors.DeliveryError`: the relay tries again after the backoff. A ``5xx``
  refusal of the recipient or of the message itself raises
  :class:`~salesorders.errors.PermanentDeliveryError`: sending it again would fail the same way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import smtplib
import ssl as _ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import attrs

from salesorders.errors import DeliveryError, PermanentDeliveryError, ValidationError
from salesorders.notifications.channel import (
    Notice,
    NoticeRenderer,
    Outcome,
    Rendered,
    Sent,
    Skipped,
)
from salesorders.notifications.contacts import CHANNEL_NAME
from salesorders.ports import Clock

__all__ = ["EmailChannel", "SmtpSettings", "message_id_for"]

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_HOST = re.compile(r"[A-Za-z0-9._:\[\]-]+")


def _host(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not _HOST.fullmatch(value):
        raise ValidationError(
            attribute.name, value, "must be a host name or IP address", "like smtp.example.com"
        )


def _port(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise ValidationError("port", value, "must be a port number from 1 to 65535")


def _timeout(instance: object, attribute: attrs.Attribute[float], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValidationError("timeout", value, "must be a positive number of seconds")


def _flag(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise ValidationError(attribute.name, value, "must be True or False")


def _sender(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not _EMAIL.fullmatch(value) or not value.isascii():
        raise ValidationError(
            "sender", value, "must be an ASCII email address", "like shop@example.com"
        )


def _text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, str) or "\r" in value or "\n" in value):
        raise ValidationError(attribute.name, value, "must be text on one line")


def _context(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, _ssl.SSLContext):
        raise ValidationError("ssl_context", value, "must be an ssl.SSLContext or None")


@attrs.frozen(slots=True)
class SmtpSettings:
    """How to reach the SMTP server, and who the mail is from.

    ``ssl=True`` connects with implicit TLS (``SMTP_SSL``, usually port 465); ``starttls=True``
    upgrades a plain connection (usually port 587); not both. ``username`` and ``password`` go
    together and turn on ``AUTH``. ``ssl_context`` checks the server's certificate
    (``ssl.create_default_context()`` unless given). ``local_hostname`` is the name sent in
    ``EHLO`` (the machine's name unless given). Every field is checked when the settings are
    built (:class:`~salesorders.errors.ValidationError` naming the field).
    """

    host: str = attrs.field(validator=_host)
    sender: str = attrs.field(validator=_sender)
    port: int = attrs.field(default=25, validator=_port)
    sender_name: str = attrs.field(default="", validator=_text)
    username: str | None = attrs.field(default=None, validator=_text)
    password: str | None = attrs.field(default=None, repr=False, validator=_text)
    starttls: bool = attrs.field(default=False, validator=_flag)
    ssl: bool = attrs.field(default=False, validator=_flag)
    timeout: float = attrs.field(default=30.0, validator=_timeout)
    local_hostname: str | None = attrs.field(default=None, validator=_text)
    ssl_context: _ssl.SSLContext | None = attrs.field(
        default=None, eq=False, repr=False, validator=_context
    )

    def __attrs_post_init__(self) -> None:
        if self.ssl and self.starttls:
            raise ValidationError(
                "starttls", True, "cannot be combined with ssl=True", "choose one of them"
            )
        if (self.username is None) != (self.password is None):
            field = "password" if self.password is None else "username"
            raise ValidationError(field, None, "must be given with the other for AUTH")
        if self.local_hostname is not None:
            _host(self, attrs.fields(SmtpSettings).local_hostname, self.local_hostname)

    @property
    def domain(self) -> str:
        """The sender's domain: the right-hand side of ``Message-ID`` values."""
        return self.sender.rpartition("@")[2]


def message_id_for(event_id: str, domain: str) -> str:
    """The ``Message-ID`` of the email about ``event_id``: the same event, the same id."""
    digest = hashlib.sha256(event_id.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


class EmailChannel:
    """Sends notices by email through an SMTP server (see the module documentation).

    ``name`` is the channel's name in the relay and the delivery log (``"email"``); the renderer
    is asked for the ``"email"`` template whatever the name, and the contact must want
    ``"email"``. ``clock`` gives the ``Date`` header (the system clock unless given).
    """

    kind = "email"

    def __init__(
        self,
        settings: SmtpSettings,
        renderer: NoticeRenderer,
        *,
        name: str = "email",
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(settings, SmtpSettings):
            raise ValidationError("settings", settings, "must be SmtpSettings")
        if not isinstance(name, str) or not CHANNEL_NAME.fullmatch(name):
            raise ValidationError("name", name, "must be a channel name like email or email-eu")
        self._settings = settings
        self._renderer = renderer
        self._name = name
        self._clock = clock

    @property
    def name(self) -> str:
        return self._name

    @property
    def settings(self) -> SmtpSettings:
        return self._settings

    def send(self, notice: Notice) -> Outcome:
        contact = notice.contact
        if contact is None:
            return Skipped("no contact details for the customer")
        if not contact.email:
            return Skipped("the customer has no email address")
        if not contact.wants(self.kind):
            return Skipped("the customer does not want email", recipient=contact.email)
        rendered = self._renderer.render(notice, self.kind)
        if rendered is None:
            return Skipped(f"no email template for {notice.event_type}", recipient=contact.email)
        message = self._build(notice, contact.name, contact.email, rendered)
        self._deliver(message, contact.email)
        return Sent(contact.email, provider_id=str(message["Message-ID"]))

    def compose(self, notice: Notice) -> EmailMessage | None:
        """The email for ``notice`` as it would be sent (``None`` without a contact address or a
        template): for previews and tests."""
        contact = notice.contact
        if contact is None or not contact.email:
            return None
        rendered = self._renderer.render(notice, self.kind)
        if rendered is None:
            return None
        return self._build(notice, contact.name, contact.email, rendered)

    def _build(self, notice: Notice, name: str, email: str, rendered: Rendered) -> EmailMessage:
        settings = self._settings
        now = self._clock.now() if self._clock is not None else dt.datetime.now(dt.UTC)
        message = EmailMessage()
        message["From"] = Address(settings.sender_name, addr_spec=settings.sender)
        message["To"] = Address(name, addr_spec=email)
        message["Subject"] = rendered.subject
        message["Date"] = format_datetime(now.astimezone(dt.UTC))
        message["Message-ID"] = message_id_for(notice.event_id, settings.domain)
        message["X-Salesorders-Event"] = notice.event_id
        message.set_content(rendered.text)
        if rendered.html is not None:
            message.add_alternative(rendered.html, subtype="html")
        # after the content: setting it clears the Content-* headers
        message["Content-Language"] = rendered.locale.replace("_", "-")
        return message

    def _deliver(self, message: EmailMessage, recipient: str) -> None:
        settings = self._settings
        context = settings.ssl_context or _ssl.create_default_context()
        try:
            server: smtplib.SMTP
            if settings.ssl:
                server = smtplib.SMTP_SSL(
                    settings.host,
                    settings.port,
                    local_hostname=settings.local_hostname,
                    timeout=settings.timeout,
                    context=context,
                )
            else:
                server = smtplib.SMTP(
                    settings.host,
                    settings.port,
                    local_hostname=settings.local_hostname,
                    timeout=settings.timeout,
                )
            try:
                if settings.starttls:
                    server.starttls(context=context)
                if settings.username is not None and settings.password is not None:
                    server.login(settings.username, settings.password)
                server.send_message(message, from_addr=settings.sender, to_addrs=[recipient])
            finally:
                _close(server)
        except smtplib.SMTPRecipientsRefused as refused:
            code, answer = refused.recipients.get(recipient, (0, b""))
            raise _error(self._name, code, answer, f"the server refused {recipient}") from None
        except smtplib.SMTPDataError as refused:
            raise _error(
                self._name, refused.smtp_code, refused.smtp_error, "the server refused the message"
            ) from None
        except smtplib.SMTPResponseException as failed:
            raise DeliveryError(
                self._name, f"the server answered {failed.smtp_code} {_text_of(failed.smtp_error)}"
            ) from None
        except smtplib.SMTPException as failed:  # STARTTLS missing, the connection dropped
            reason = str(failed) or type(failed).__name__
            raise DeliveryError(self._name, f"{settings.host}:{settings.port}: {reason}") from None
        except OSError as failed:  # refused, timed out, a certificate that does not verify
            reason = str(failed) or type(failed).__name__
            raise DeliveryError(
                self._name, f"cannot reach {settings.host}:{settings.port}: {reason}"
            ) from None


def _close(server: smtplib.SMTP) -> None:
    """End the session politely; the message was accepted, so a failing ``QUIT`` is no error."""
    try:
        server.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        server.close()


def _text_of(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)


def _error(channel: str, code: int, answer: bytes | str, what: str) -> DeliveryError:
    reason = f"{what}: {code} {_text_of(answer)}"
    if 500 <= code < 600:
        return PermanentDeliveryError(channel, reason)
    return DeliveryError(channel, reason)
