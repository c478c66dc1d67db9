"""What a notification channel sees and answers: the :class:`Notice` it is handed, the outcome it
returns, and the :class:`Channel` and :class:`NoticeRenderer` ports.

The relay (:class:`~salesorders.service.outbox.OutboxRelay`) turns each outbox message into a
:class:`Notice` — the message, the order it concerns and the customer's contact — and hands it to
every channel that has not yet delivered it. A channel answers with one outcome:

* :class:`Sent`: delivered, to ``recipient`` (the provider's message id if it gave one);
* :class:`Skipped`: nothing to send on this channel (no template for the event, the customer opted
  out or has no address there): recorded, and never tried again;
* :class:`Deferred`: not now, try at ``until`` (quiet hours); no attempt is counted.

Raising :class:`~salesorders.errors.PermanentDeliveryError` parks the message as dead at once;
raising anything else means "try again after the backoff".
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

import attrs

from salesorders.domain.order import Order
from salesorders.notifications.contacts import CustomerContact
from salesorders.ports import OutboxMessage

__all__ = [
    "Channel",
    "Deferred",
    "Notice",
    "NoticeRenderer",
    "Outcome",
    "Rendered",
    "Sent",
    "Skipped",
]


@attrs.frozen(slots=True)
class Notice:
    """One outbox message as a channel sees it.

    ``order`` is the order the message concerns (its stream's order, or the ``order_id`` of its
    payload), as stored when the relay read it, or ``None`` for a message about no order (a stock
    alert). ``contact`` is the customer's entry in the
    :class:`~salesorders.notifications.CustomerDirectory`, or ``None`` if the directory does not
    know them.
    """

    message: OutboxMessage
    order: Order | None = None
    contact: CustomerContact | None = None

    @property
    def event_type(self) -> str:
        return self.message.event_type

    @property
    def event_id(self) -> str:
        return self.message.event_id

    @property
    def payload(self) -> dict[str, Any]:
        return self.message.payload


@attrs.frozen(slots=True)
class Sent:
    """Delivered to ``recipient``; ``provider_id`` is the transport's message id, if any."""

    recipient: str
    provider_id: str | None = None


@attrs.frozen(slots=True)
class Skipped:
    """Nothing to send on this channel for this message; ``reason`` says why."""

    reason: str
    recipient: str = ""


@attrs.frozen(slots=True)
class Deferred:
    """Not now: the relay tries this channel again at ``until`` (timezone-aware), without
    counting an attempt; ``reason`` says why (``"quiet hours"``)."""

    until: dt.datetime
    reason: str
    recipient: str = ""


#: What :meth:`Channel.send` returns.
Outcome = Sent | Skipped | Deferred


class Channel(Protocol):
    """Delivers notices on one channel (``"email"``, ``"sms"``, ``"webhook"``, ``"nats"`` ...).

    Contract: ``name`` is stable and unique among a relay's channels: the delivery log and the
    per-channel delivery state are kept under it, so a channel that delivered a message is never
    handed it again because another channel failed. ``send`` returns a :class:`Sent`,
    :class:`Skipped` or :class:`Deferred`; raising
    :class:`~salesorders.errors.PermanentDeliveryError` parks the message as dead; raising
    anything else means "not delivered, try again later". Delivery is at least once (a crash
    between sending and recording sends again): receivers deduplicate on ``notice.event_id``.
    """

    @property
    def name(self) -> str: ...

    def send(self, notice: Notice) -> Outcome: ...


@attrs.frozen(slots=True)
class Rendered:
    """A rendered notification: ``subject`` (empty for SMS), plain ``text``, and ``html`` for
    channels that send it (``None`` otherwise)."""

    subject: str
    text: str
    html: str | None = None
    locale: str = "en_US"


class NoticeRenderer(Protocol):
    """Renders a notice for a channel in the customer's locale.

    Contract: returns ``None`` when there is no template for the notice's event on that channel
    (the channel then skips it); raises :class:`~salesorders.errors.TemplateError` for a template
    that cannot be rendered.
    """

    def render(self, notice: Notice, channel: str) -> Rendered | None: ...
