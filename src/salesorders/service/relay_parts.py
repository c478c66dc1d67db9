"""The parts of the outbox relay that hold no state of their own: the channel over an older
:class:`~salesorders.ports.Notifier`, the default owner of a relay's leases, and small values."""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid

import attrs

from salesorders.errors import ValidationError
from salesorders.notifications.channel import Notice, Outcome, Sent
from salesorders.ports import DeliveryRecord, Notifier
from salesorders.service.results import DispatchReport

__all__ = [
    "Attempt",
    "NotifierChannel",
    "Outcomes",
    "add_reports",
    "default_owner",
    "positive_delta",
]


class NotifierChannel:
    """A :class:`~salesorders.ports.Notifier` as a channel named ``name``: returning is
    ``Sent("")``, raising is a failure to retry. A notifier keeps no delivery state of its own,
    so, as it always was, it is handed the message again on every attempt of the message, even
    after it received it once."""

    __slots__ = ("_name", "notifier")

    #: The relay hands the message to this channel on every attempt, not only until it is sent.
    resend_on_retry = True

    def __init__(self, notifier: Notifier, name: str) -> None:
        if not callable(getattr(notifier, "notify", None)):
            raise ValidationError("notifier", notifier, "must be a Notifier with notify(message)")
        self.notifier = notifier
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def send(self, notice: Notice) -> Outcome:
        self.notifier.notify(notice.message)
        return Sent("")


def default_owner() -> str:
    """``host:pid:random``: unique per relay, readable in the outbox's lease columns."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def positive_delta(field: str, value: object, *, zero: bool = False) -> dt.timedelta:
    if (
        not isinstance(value, dt.timedelta)
        or value < dt.timedelta(0)
        or (value == dt.timedelta(0) and not zero)
    ):
        kind = "non-negative" if zero else "positive"
        raise ValidationError(field, value, f"must be a {kind} timedelta")
    return value


@attrs.frozen(slots=True)
class Attempt:
    """What the channels did with one message."""

    records: tuple[DeliveryRecord, ...]
    error: str | None = None
    refused: bool = False
    until: dt.datetime | None = None


@attrs.define(slots=True)
class Outcomes:
    """What the channels did with a batch, kept until it is recorded in one unit of work."""

    records: list[DeliveryRecord] = attrs.Factory(list)
    #: ``(event_id, error, next_attempt_at, dead)`` of each failed message
    failed: list[tuple[str, str, dt.datetime | None, bool]] = attrs.Factory(list)
    #: ``(event_id, until)`` of each deferred message
    postponed: list[tuple[str, dt.datetime]] = attrs.Factory(list)
    delivered: list[str] = attrs.Factory(list)

    def handled(self) -> set[str]:
        """The ids of the messages with an outcome."""
        ids = set(self.delivered)
        ids.update(event_id for event_id, *_ in self.failed)
        ids.update(event_id for event_id, _ in self.postponed)
        return ids


def add_reports(total: DispatchReport, more: DispatchReport) -> DispatchReport:
    return DispatchReport(
        delivered=total.delivered + more.delivered,
        failed=total.failed + more.failed,
        dead=total.dead + more.dead,
        deferred=total.deferred + more.deferred,
    )
