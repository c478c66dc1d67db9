"""The outbox relay: delivers committed events to channels, at least once, in stream order, from
any number of threads and processes at once.

Each round (:meth:`OutboxRelay.run_once`) claims a batch: the store leases whole streams to this
relay's ``owner`` until ``now + lease`` (see :meth:`~salesorders.ports.OutboxStore.claim`), so
two relays never deliver one stream at the same time. Each message, in stream order, becomes a
:class:`~salesorders.notifications.Notice` (the order it concerns and the customer's contact)
handed to every channel that has not already sent or skipped it. Each channel's outcome is kept in
the delivery log, together with the message's own mark, in one unit of work for the whole batch
once it has been through the channels:

* every channel sent or skipped → ``mark_delivered``;
* a channel deferred (``Deferred(until)``) → ``postpone``: due again at the earliest ``until``,
  no attempt counted;
* a channel raised → ``mark_failed`` with the next attempt after an exponential backoff
  (``base_delay * 2**(attempts-1)``, at most ``max_delay``), and the rest of that stream waits;
  the channels that succeeded are not called again;
* a channel raised :class:`~salesorders.errors.PermanentDeliveryError`, or the
  ``max_attempts``-th failure → parked as dead, for :meth:`OutboxRelay.redrive`.

A crash between a channel's send and the unit of work that records it sends again — every
message of the batch sent so far — once the lease has ended: receivers deduplicate on the
stable ``event_id``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Iterable

from salesorders.domain.order import Order
from salesorders.errors import NotFoundError, PermanentDeliveryError, ValidationError
from salesorders.notifications.channel import Channel, Deferred, Notice, Sent, Skipped
from salesorders.notifications.contacts import CHANNEL_NAME, CustomerContact, CustomerDirectory
from salesorders.ports import (
    Clock,
    DeliveryRecord,
    OutboxMessage,
    UnitOfWork,
    UnitOfWorkFactory,
)
from salesorders.service.relay_parts import (
    Attempt,
    NotifierChannel,
    Outcomes,
    add_reports,
    default_owner,
    positive_delta,
)
from salesorders.service.results import DispatchReport

__all__ = ["NotifierChannel", "OutboxRelay"]

_DONE = frozenset({"sent", "skipped"})


class OutboxRelay:
    """Moves outbox messages to the channels; run as many as you like, in threads or processes.

    ``lease`` must exceed the time one batch takes (``batch_size`` messages through every
    channel): a relay renews nothing mid-batch, and once its lease has ended another relay may
    deliver the same stream again. A zero ``lease`` leases nothing: run only one relay at a
    time over the store then (a batch left by a crash is taken up again at once).
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        channels: Iterable[Channel],
        clock: Clock,
        *,
        directory: CustomerDirectory | None = None,
        owner: str | None = None,
        lease: dt.timedelta = dt.timedelta(seconds=30),
        batch_size: int = 100,
        poll_interval: dt.timedelta = dt.timedelta(seconds=1),
        max_attempts: int = 8,
        base_delay: dt.timedelta = dt.timedelta(seconds=2),
        max_delay: dt.timedelta = dt.timedelta(hours=1),
    ) -> None:
        for field, number in (("max_attempts", max_attempts), ("batch_size", batch_size)):
            if isinstance(number, bool) or not isinstance(number, int) or number < 1:
                raise ValidationError(field, number, "must be an int of at least 1")
        for field, delay in (("base_delay", base_delay), ("max_delay", max_delay)):
            if not isinstance(delay, dt.timedelta) or delay < dt.timedelta(0):
                raise ValidationError(field, delay, "must be a non-negative timedelta")
        self.channels = self._checked_channels(channels)
        if directory is not None and not callable(getattr(directory, "contact", None)):
            raise ValidationError(
                "directory", directory, "must be a CustomerDirectory with contact(customer_id)"
            )
        if owner is not None and (not isinstance(owner, str) or not owner.strip()):
            raise ValidationError("owner", owner, "must be a non-empty text")
        self.uow_factory = uow_factory
        self.clock = clock
        self.directory = directory
        self.owner = owner if owner is not None else default_owner()
        self.lease = positive_delta("lease", lease, zero=True)
        self.poll_interval = positive_delta("poll_interval", poll_interval)
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay

    @staticmethod
    def _checked_channels(channels: Iterable[Channel]) -> tuple[Channel, ...]:
        found: list[Channel] = []
        names: set[str] = set()
        for index, channel in enumerate(channels):
            name = getattr(channel, "name", None)
            if not callable(getattr(channel, "send", None)):
                raise ValidationError(f"channels[{index}]", channel, "must be a Channel")
            if not isinstance(name, str) or not CHANNEL_NAME.fullmatch(name):
                raise ValidationError(
                    f"channels[{index}]",
                    name,
                    "must be named by lower-case letters, digits, '-' or '_' (up to 32)",
                )
            if name in names:
                raise ValidationError(
                    f"channels[{index}]", name, "is a name already taken", "name each channel once"
                )
            names.add(name)
            found.append(channel)
        return tuple(found)

    def backoff(self, attempts: int) -> dt.timedelta:
        """The wait after the ``attempts``-th failed attempt: doubling, capped at ``max_delay``."""
        exponent = min(attempts - 1, 40)
        delay: dt.timedelta = self.base_delay * (2**exponent)
        return delay if delay < self.max_delay else self.max_delay

    # ------------------------------------------------------------------ running

    def run_once(self, limit: int | None = None) -> DispatchReport:
        """Claim one batch (``limit`` messages at most, default ``batch_size``) and deliver it;
        how many messages were delivered, failed, dead and deferred."""
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise ValidationError("limit", limit, "must be None or an int of at least 1")
        return self._batch(None, limit or self.batch_size)[1]

    def run(
        self, stop_event: threading.Event | None = None, *, max_idle: int | None = None
    ) -> DispatchReport:
        """Deliver batch after batch while there is work, and poll every ``poll_interval`` when
        there is none, until ``stop_event`` is set (or after ``max_idle`` polls in a row found
        nothing, or on ``KeyboardInterrupt``). A stop finishes the message at hand and releases
        the rest of the batch to other relays. Returns the totals."""
        if max_idle is not None and (
            isinstance(max_idle, bool) or not isinstance(max_idle, int) or max_idle < 1
        ):
            raise ValidationError("max_idle", max_idle, "must be None or an int of at least 1")
        stop = stop_event if stop_event is not None else threading.Event()
        totals = DispatchReport()
        idle = 0
        wait = self.poll_interval.total_seconds()
        try:
            while not stop.is_set():
                claimed, report = self._batch(stop, self.batch_size)
                totals = add_reports(totals, report)
                if claimed:
                    idle = 0
                    continue
                idle += 1
                if max_idle is not None and idle >= max_idle:
                    break
                stop.wait(wait)
        except KeyboardInterrupt:
            pass  # what was recorded stays; unrecorded leases end by themselves
        return totals

    # ------------------------------------------------------------------ dead letters, log

    def dead(self) -> list[OutboxMessage]:
        """The messages parked as dead, by stream and sequence."""
        with self.uow_factory() as uow:
            return uow.outbox.dead()

    def redrive(self, event_id: str) -> None:
        """Make a dead message pending again, due now, with its attempts reset (channels that
        sent or skipped it are still not called again)."""
        self._record(lambda uow: uow.outbox.redrive(event_id, self.clock.now()))

    def redrive_all(self) -> int:
        """Re-drive every dead message; returns how many."""
        dead = self.dead()
        for message in dead:
            self.redrive(message.event_id)
        return len(dead)

    def purge(self, older_than: dt.timedelta) -> int:
        """Delete the messages delivered more than ``older_than`` ago, with their delivery log;
        returns how many messages. Pending and dead messages are kept."""
        if not isinstance(older_than, dt.timedelta) or older_than < dt.timedelta(0):
            raise ValidationError("older_than", older_than, "must be a non-negative timedelta")
        before = self.clock.now() - older_than
        with self.uow_factory() as uow:
            count = uow.outbox.purge_delivered(before)
            uow.commit()
        return count

    def deliveries(self, order_id: str) -> list[DeliveryRecord]:
        """The delivery log of an order's stream: per message (by sequence) and channel."""
        with self.uow_factory() as uow:
            return uow.outbox.deliveries(stream_id=order_id)

    # ------------------------------------------------------------------ internals

    def _batch(self, stop: threading.Event | None, limit: int) -> tuple[int, DispatchReport]:
        now = self.clock.now()
        orders: dict[str, Order | None] = {}
        logs: dict[str, dict[str, DeliveryRecord]] = {}
        with self.uow_factory() as uow:
            messages = uow.outbox.claim(self.owner, now, now + self.lease, limit)
            self._prepare(uow, messages, orders, logs)
            uow.commit()
        counts = {"delivered": 0, "failed": 0, "dead": 0, "deferred": 0}
        blocked: set[str] = set()
        outcomes = Outcomes()
        index = 0
        rest: list[OutboxMessage] = []
        try:
            for index, message in enumerate(messages):
                if stop is not None and stop.is_set():
                    rest = messages[index:]
                    break
                if message.stream_id in blocked:
                    continue
                order = self._from_cache(message, orders)
                done = logs.get(message.event_id, {})
                outcome = self._deliver(message, order, done, outcomes)
                counts[outcome] += 1
                if outcome != "delivered":
                    blocked.add(message.stream_id)
        except BaseException:
            # a channel raised past the relay (or KeyboardInterrupt): keep what this batch did
            # and hand the rest back to other relays now, not when the lease ends
            with contextlib.suppress(Exception):
                self._flush(outcomes, messages[index:])
            raise
        self._flush(outcomes, rest)
        return len(messages), DispatchReport(**counts)

    def _prepare(
        self,
        uow: UnitOfWork,
        messages: list[OutboxMessage],
        orders: dict[str, Order | None],
        logs: dict[str, dict[str, DeliveryRecord]],
    ) -> None:
        """Load what the batch needs, once: each order it concerns, and the delivery log of
        the messages tried before. A message never tried, deferred or released has no delivery
        record yet: records are only written with a failure (attempts > 0), a postponement
        (next_attempt_at set) or a delivery; a redriven message is due at a time too."""
        for message in messages:
            self._order(uow, message, orders)
            if message.attempts or message.next_attempt_at is not None:
                records = uow.outbox.deliveries(event_id=message.event_id)
                logs[message.event_id] = {r.channel: r for r in records}

    def _deliver(
        self,
        message: OutboxMessage,
        order: Order | None,
        done: dict[str, DeliveryRecord],
        outcomes: Outcomes,
    ) -> str:
        """Hand ``message`` to the channels, note what they did in ``outcomes``; the message's
        outcome."""
        attempt = self._send(Notice(message, order, self._contact(order)), done)
        outcomes.records.extend(attempt.records)
        event_id = message.event_id
        if attempt.refused or attempt.error is not None:
            attempts = message.attempts + 1
            dead = attempt.refused or attempts >= self.max_attempts
            retry_at = None if dead else self.clock.now() + self.backoff(attempts)
            outcomes.failed.append((event_id, attempt.error or "", retry_at, dead))
            return "dead" if dead else "failed"
        if attempt.until is not None:
            outcomes.postponed.append((event_id, attempt.until))
            return "deferred"
        outcomes.delivered.append(event_id)
        return "delivered"

    def _flush(self, outcomes: Outcomes, release: list[OutboxMessage]) -> None:
        """Record the batch's outcomes, and release ``release`` (claimed, not handled), in one
        unit of work: the channels' records first, then each message's mark."""
        handled = outcomes.handled()
        release = [m for m in release if m.event_id not in handled]
        if not handled and not release:
            return
        now = self.clock.now()
        with self.uow_factory() as uow:
            outbox = uow.outbox
            outbox.record_deliveries(outcomes.records)
            for event_id, error, retry_at, dead in outcomes.failed:
                outbox.mark_failed(event_id, error, retry_at, dead)
            for event_id, until in outcomes.postponed:
                outbox.postpone(event_id, until)
            outbox.mark_delivered_many(outcomes.delivered, now)
            for message in release:
                try:
                    outbox.postpone(message.event_id, now)
                except NotFoundError:
                    continue  # no longer pending: another relay got it after the lease ended
            uow.commit()

    def _send(self, notice: Notice, done: dict[str, DeliveryRecord]) -> Attempt:
        records: list[DeliveryRecord] = []
        error: str | None = None
        refused = False
        until: dt.datetime | None = None
        message = notice.message
        for channel in self.channels:
            name = channel.name
            before = done.get(name)
            if (
                before is not None
                and before.status in _DONE
                and not getattr(channel, "resend_on_retry", False)
            ):
                continue
            tries = before.attempts if before is not None else 0
            base = {
                "event_id": message.event_id,
                "channel": name,
                "stream_id": message.stream_id,
                "event_type": message.event_type,
            }
            try:
                outcome = channel.send(notice)
            except Exception as raised:  # a channel failing is an outcome, not a crash
                text = f"{type(raised).__name__}: {raised}"
                permanent = isinstance(raised, PermanentDeliveryError)
                status = "refused" if permanent else "failed"
                refused = refused or permanent
                error = error or text
                record = self._log(base, "", status, tries + 1, text, None)
            else:
                record, deferred_until = self._outcome(base, tries, outcome)
                if record.status == "failed":  # not an outcome at all
                    error = error or record.last_error
                if deferred_until is not None:
                    until = deferred_until if until is None else min(until, deferred_until)
            records.append(record)
        return Attempt(tuple(records), error, refused, until)

    def _outcome(
        self, base: dict[str, str], tries: int, outcome: object
    ) -> tuple[DeliveryRecord, dt.datetime | None]:
        if isinstance(outcome, Sent):
            return self._log(
                base, outcome.recipient, "sent", tries, None, outcome.provider_id
            ), None
        if isinstance(outcome, Skipped):
            return self._log(base, outcome.recipient, "skipped", tries, outcome.reason, None), None
        if isinstance(outcome, Deferred):
            record = self._log(base, outcome.recipient, "deferred", tries, outcome.reason, None)
            return record, outcome.until
        text = f"returned {type(outcome).__name__}, not a Sent, Skipped or Deferred"
        return self._log(base, "", "failed", tries + 1, text, None), None

    def _log(
        self,
        base: dict[str, str],
        recipient: str,
        status: str,
        attempts: int,
        error: str | None,
        provider_id: str | None,
    ) -> DeliveryRecord:
        return DeliveryRecord(
            recipient=recipient,
            status=status,
            attempts=attempts,
            last_error=error,
            provider_id=provider_id,
            updated_at=self.clock.now(),
            **base,
        )

    @staticmethod
    def _candidates(message: OutboxMessage) -> list[str]:
        """The ids of the order a message may concern: its stream, then its ``order_id``."""
        candidates = [message.stream_id]
        named = message.payload.get("order_id")
        if isinstance(named, str) and named != message.stream_id:
            candidates.append(named)
        return candidates

    def _from_cache(self, message: OutboxMessage, cache: dict[str, Order | None]) -> Order | None:
        for order_id in self._candidates(message):
            found = cache.get(order_id)
            if found is not None:
                return found
        return None

    def _order(
        self, uow: UnitOfWork, message: OutboxMessage, cache: dict[str, Order | None]
    ) -> Order | None:
        """The order the message concerns: its stream's, else its payload's ``order_id``."""
        for order_id in self._candidates(message):
            if order_id not in cache:
                try:
                    cache[order_id] = uow.orders.get(order_id)
                except (NotFoundError, ValidationError):
                    cache[order_id] = None
            if cache[order_id] is not None:
                return cache[order_id]
        return None

    def _contact(self, order: Order | None) -> CustomerContact | None:
        if self.directory is None or order is None:
            return None
        return self.directory.contact(order.customer_id)

    def _record(self, change: Callable[[UnitOfWork], None]) -> None:
        with self.uow_factory() as uow:
            change(uow)
            uow.commit()
