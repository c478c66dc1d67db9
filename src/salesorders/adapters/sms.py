"""The SMS channel: renders a notice for the customer's phone and sends it through an
:class:`~salesorders.notifications.SmsGateway`, within the length the host allows and outside the
customer's quiet hours.

::

    channel = SmsChannel(gateway, renderer, max_segments=2, quiet_hours=QuietHours())
    relay = OutboxRelay(..., channels=[channel])
"""

from __future__ import annotations

from salesorders.errors import ValidationError
from salesorders.notifications.channel import (
    Deferred,
    Notice,
    NoticeRenderer,
    Outcome,
    Sent,
    Skipped,
)
from salesorders.notifications.contacts import CHANNEL_NAME
from salesorders.notifications.quiet_hours import QuietHours
from salesorders.notifications.sms import SmsGateway, shorten_sms
from salesorders.ports import Clock
from salesorders.service.clock import SystemClock

__all__ = ["SmsChannel"]

#: The medium: the customer's preference and the template are looked up under it.
MEDIUM = "sms"


class SmsChannel:
    """A :class:`~salesorders.notifications.Channel` that texts the customer.

    For each notice it answers:

    * :class:`~salesorders.notifications.Skipped` when the customer is unknown, has no phone
      number, does not want SMS (it is not among their channels, or they opted out) or when the
      renderer has no SMS template for the event;
    * :class:`~salesorders.notifications.Deferred` until the end of ``quiet_hours`` when it is
      night on the customer's clock (their ``time_zone``, at ``clock.now()``);
    * :class:`~salesorders.notifications.Sent` to the phone number, with the gateway's message id.

    The text is shortened at a word boundary with an ellipsis to fit ``max_segments`` segments
    (see :func:`~salesorders.notifications.shorten_sms`). The gateway is given the event id as
    ``reference``, so a provider that deduplicates sends a redelivered notice once. The gateway's
    :class:`~salesorders.errors.DeliveryError` (retry) and
    :class:`~salesorders.errors.PermanentDeliveryError` (a refused number: dead) pass through.

    ``name`` keys the delivery log (two SMS channels through two providers need two names); the
    customer's preference and the template are looked up under ``"sms"`` whatever the name.
    """

    def __init__(
        self,
        gateway: SmsGateway,
        renderer: NoticeRenderer,
        *,
        name: str = MEDIUM,
        max_segments: int = 1,
        quiet_hours: QuietHours | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(name, str) or not CHANNEL_NAME.fullmatch(name):
            raise ValidationError("name", name, "must be a channel name like sms or sms-eu")
        if not isinstance(max_segments, int) or isinstance(max_segments, bool) or max_segments < 1:
            raise ValidationError("max_segments", max_segments, "must be a whole number >= 1")
        if quiet_hours is not None and not isinstance(quiet_hours, QuietHours):
            raise ValidationError("quiet_hours", quiet_hours, "must be QuietHours or None")
        self._gateway = gateway
        self._renderer = renderer
        self._name = name
        self._max_segments = max_segments
        self._quiet_hours = quiet_hours
        self._clock: Clock = clock if clock is not None else SystemClock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def max_segments(self) -> int:
        return self._max_segments

    def send(self, notice: Notice) -> Outcome:
        contact = notice.contact
        if contact is None:
            return Skipped("the customer is not in the directory")
        if contact.phone is None:
            return Skipped("the customer has no phone number")
        phone = contact.phone
        if not contact.wants(MEDIUM):
            return Skipped("the customer does not want SMS", recipient=phone)
        rendered = self._renderer.render(notice, MEDIUM)
        if rendered is None:
            return Skipped(f"no SMS template for {notice.event_type}", recipient=phone)
        if self._quiet_hours is not None:
            until = self._quiet_hours.until(self._clock.now(), contact.time_zone)
            if until is not None:
                return Deferred(until, "quiet hours", recipient=phone)
        text = shorten_sms(rendered.text, self._max_segments)
        message_id = self._gateway.send(phone, text, reference=notice.event_id)
        return Sent(phone, provider_id=message_id)
