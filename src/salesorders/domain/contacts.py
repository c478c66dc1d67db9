"""How to reach a customer: :class:`CustomerContact`, checked when built. The customer record
(:mod:`salesorders.domain.customers`) holds one; notifications read it through the
:class:`~salesorders.notifications.CustomerDirectory` port."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable

import attrs
import babel

from salesorders.domain.checks import require_id
from salesorders.errors import ValidationError

__all__ = ["CHANNEL_NAME", "CustomerContact"]

#: The shape of a channel name: lower-case letters, digits, ``_`` and ``-``.
CHANNEL_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+[1-9][0-9]{6,14}")  # E.164


def _email(instance: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is not None and (not isinstance(value, str) or not _EMAIL.fullmatch(value)):
        raise ValidationError("email", value, "must be an email address like name@example.com")


def _phone(instance: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is not None and (not isinstance(value, str) or not _PHONE.fullmatch(value)):
        raise ValidationError("phone", value, "must be an E.164 number like +4930123456")


def _locale(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    try:
        if not isinstance(value, str):
            raise TypeError(value)
        babel.Locale.parse(value)
    except (ValueError, TypeError, babel.UnknownLocaleError):
        raise ValidationError(
            "locale", value, "must be a locale babel knows", "for example en_US or zh_CN"
        ) from None


def _time_zone(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    try:
        zoneinfo.ZoneInfo(value)  # type: ignore[arg-type]
    except (ValueError, TypeError, zoneinfo.ZoneInfoNotFoundError):
        raise ValidationError(
            "time_zone", value, "must be an IANA time zone", "for example Europe/Berlin"
        ) from None


def _channels(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ValidationError("channels", value, "must be a list of channel names, not one string")
    names = tuple(value)
    for index, name in enumerate(names):
        if not isinstance(name, str) or not CHANNEL_NAME.fullmatch(name):
            raise ValidationError(
                f"channels[{index}]", name, "must be a channel name like email, sms or webhook"
            )
    return names


def _opted_out(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str):
        raise ValidationError("opted_out", value, "must be a set of channel names, not one string")
    return frozenset(_channels(sorted(value)))


@attrs.frozen(slots=True)
class CustomerContact:
    """How to reach one customer: their name, email address and phone number (E.164), the locale
    they read, their IANA time zone, the channels they prefer (in order) and the channels they
    opted out of. Every field is checked when the contact is built."""

    customer_id: str = attrs.field(validator=lambda _, __, v: require_id(v, "customer_id"))
    name: str = ""
    email: str | None = attrs.field(default=None, validator=_email)
    phone: str | None = attrs.field(default=None, validator=_phone)
    locale: str = attrs.field(default="en_US", validator=_locale)
    time_zone: str = attrs.field(default="UTC", validator=_time_zone)
    channels: tuple[str, ...] = attrs.field(default=("email",), converter=_channels)
    opted_out: frozenset[str] = attrs.field(default=frozenset(), converter=_opted_out)

    def wants(self, channel: str) -> bool:
        """Whether this customer is to be told on ``channel``: it is one of their channels and
        they did not opt out of it."""
        return channel in self.channels and channel not in self.opted_out
