"""Fakes for notification tests: :class:`FakeSmsGateway`, an SMS provider in memory, and
:class:`RecordingChannel`, a channel that records what it is handed.

::

    gateway = FakeSmsGateway()
    gateway.fail_next(2)            # the next two sends raise DeliveryError (retry)
    gateway.refuse("+4915112345678")  # sends to this number raise PermanentDeliveryError
    ...
    assert [sms.to for sms in gateway.sent] == ["+4930123456"]

    channel = RecordingChannel("audit")
    channel.fail_next()             # the next send raises DeliveryError
    ...
    assert [notice.event_type for notice in channel.notices] == ["OrderPlaced"]

Both need only the core library.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import attrs

from salesorders.errors import DeliveryError, PermanentDeliveryError, ValidationError
from salesorders.notifications.channel import Notice, Outcome, Sent
from salesorders.notifications.contacts import CHANNEL_NAME

__all__ = ["FakeSmsGateway", "RecordingChannel", "SentSms"]


@attrs.frozen(slots=True)
class SentSms:
    """One text the fake gateway accepted: to whom, what, the caller's reference and the id it
    answered."""

    to: str
    text: str
    reference: str
    message_id: str


def _count(value: object, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValidationError(field, value, "must be a whole number of at least 1")
    return value


class FakeSmsGateway:
    """An :class:`~salesorders.notifications.SmsGateway` that keeps the texts it accepts in
    :attr:`sent`, with message ids ``SM000001``, ``SM000002`` ...

    A repeated ``reference`` is answered with the message id it got the first time and not sent
    again, as providers that deduplicate on a client reference do. :meth:`fail_next` makes the
    next sends fail transiently (:class:`~salesorders.errors.DeliveryError`); :meth:`refuse`
    makes every send to a number fail for good
    (:class:`~salesorders.errors.PermanentDeliveryError`) until :meth:`accept`.
    """

    channel = "sms"

    def __init__(self) -> None:
        self.sent: list[SentSms] = []
        self.attempts = 0
        self._failures = 0
        self._refused: set[str] = set()
        self._by_reference: dict[str, str] = {}
        self._lock = threading.Lock()

    def fail_next(self, times: int = 1) -> None:
        """Make the next ``times`` sends raise :class:`~salesorders.errors.DeliveryError`."""
        with self._lock:
            self._failures += _count(times, "times")

    def refuse(self, number: str) -> None:
        """Refuse every send to ``number`` for good, until :meth:`accept`."""
        with self._lock:
            self._refused.add(number)

    def accept(self, number: str) -> None:
        """Stop refusing ``number``."""
        with self._lock:
            self._refused.discard(number)

    def to(self, number: str) -> list[str]:
        """The texts sent to ``number``, oldest first."""
        return [sms.text for sms in self.sent if sms.to == number]

    def send(self, to: str, text: str, *, reference: str) -> str:
        with self._lock:
            self.attempts += 1
            if self._failures:
                self._failures -= 1
                raise DeliveryError(self.channel, "the fake SMS gateway failed as told")
            if to in self._refused:
                raise PermanentDeliveryError(self.channel, f"the number {to} is refused")
            if reference in self._by_reference:
                return self._by_reference[reference]
            message_id = f"SM{len(self.sent) + 1:06d}"
            self.sent.append(SentSms(to, text, reference, message_id))
            self._by_reference[reference] = message_id
            return message_id


def _sent(notice: Notice) -> Outcome:
    return Sent(recipient="", provider_id=notice.event_id)


class RecordingChannel:
    """A :class:`~salesorders.notifications.Channel` named ``name`` that answers each notice with
    ``answer(notice)`` (by default :class:`~salesorders.notifications.Sent` with the event id as
    provider id) and records it: :attr:`attempts` holds every notice it was handed,
    :attr:`notices` those it answered (not those it failed).

    :meth:`fail_next` makes the next sends raise (a :class:`~salesorders.errors.DeliveryError`,
    or the error given: a :class:`~salesorders.errors.PermanentDeliveryError` makes the relay
    park the message); :meth:`fail_always` makes every send raise until :meth:`recover`.
    """

    def __init__(
        self, name: str = "recording", answer: Callable[[Notice], Outcome] = _sent
    ) -> None:
        if not isinstance(name, str) or not CHANNEL_NAME.fullmatch(name):
            raise ValidationError("name", name, "must be a channel name like email or audit")
        self._name = name
        self._answer = answer
        self.attempts: list[Notice] = []
        self.notices: list[Notice] = []
        self._failures: list[Exception] = []
        self._always: Exception | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    def fail_next(self, times: int = 1, error: Exception | None = None) -> None:
        """Make the next ``times`` sends raise ``error`` (a transient
        :class:`~salesorders.errors.DeliveryError` by default)."""
        failure = error if error is not None else DeliveryError(self._name, "failed as told")
        with self._lock:
            self._failures += [failure] * _count(times, "times")

    def fail_always(self, error: Exception | None = None) -> None:
        """Make every send raise ``error`` until :meth:`recover`."""
        self._always = error if error is not None else DeliveryError(self._name, "down as told")

    def recover(self) -> None:
        """Stop failing: forget :meth:`fail_always` and any pending :meth:`fail_next`."""
        with self._lock:
            self._always = None
            self._failures.clear()

    def send(self, notice: Notice) -> Outcome:
        with self._lock:
            self.attempts.append(notice)
            if self._always is not None:
                raise self._always
            if self._failures:
                raise self._failures.pop(0)
            outcome = self._answer(notice)
            self.notices.append(notice)
            return outcome
