"""The outbox dispatcher: delivers committed events to notifiers, at least once, in stream order.

Each round (:meth:`OutboxDispatcher.dispatch_once`) reads the due messages, hands each to every
notifier, and records the outcome in its own short unit of work:

* delivered → ``mark_delivered``;
* a notifier raised → ``mark_failed`` with the next attempt after an exponential backoff
  (``base_delay * 2**(attempts-1)``, at most ``max_delay``); the rest of that stream waits, so a
  stream is never delivered out of order;
* the ``max_attempts``-th failure parks the message as dead; it stays inspectable
  (:meth:`OutboxDispatcher.dead`) and can be re-driven (:meth:`OutboxDispatcher.redrive`).

A message handed to several notifiers is retried as a whole, and a crash between delivery and
``mark_delivered`` redelivers it: consumers deduplicate on the stable ``event_id``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from salesorders.errors import ValidationError
from salesorders.ports import Clock, Notifier, OutboxMessage, UnitOfWork, UnitOfWorkFactory
from salesorders.service.results import DispatchReport

__all__ = ["OutboxDispatcher"]


class OutboxDispatcher:
    """Moves outbox messages to the notifiers. Safe to run from one thread at a time."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        notifiers: Iterable[Notifier],
        clock: Clock,
        *,
        max_attempts: int = 8,
        base_delay: dt.timedelta = dt.timedelta(seconds=2),
        max_delay: dt.timedelta = dt.timedelta(hours=1),
    ) -> None:
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValidationError("max_attempts", max_attempts, "must be an int of at least 1")
        for field, delay in (("base_delay", base_delay), ("max_delay", max_delay)):
            if not isinstance(delay, dt.timedelta) or delay < dt.timedelta(0):
                raise ValidationError(field, delay, "must be a non-negative timedelta")
        self.uow_factory = uow_factory
        self.notifiers = tuple(notifiers)
        self.clock = clock
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay

    def backoff(self, attempts: int) -> dt.timedelta:
        """The wait after the ``attempts``-th failed attempt: doubling, capped at ``max_delay``."""
        exponent = min(attempts - 1, 40)
        delay: dt.timedelta = self.base_delay * (2**exponent)
        return delay if delay < self.max_delay else self.max_delay

    def dispatch_once(self, limit: int = 100) -> DispatchReport:
        """Deliver up to ``limit`` due messages; return how many were delivered, failed, dead."""
        with self.uow_factory() as uow:
            messages = uow.outbox.due(self.clock.now(), limit)
        delivered = failed = dead = 0
        blocked: set[str] = set()
        for message in sorted(messages, key=lambda m: (m.stream_id, m.sequence)):
            if message.stream_id in blocked:
                continue
            error = self._deliver(message)
            if error is None:
                self._mark_delivered(message.event_id)
                delivered += 1
                continue
            blocked.add(message.stream_id)
            if self._fail(message, error):
                dead += 1
            else:
                failed += 1
        return DispatchReport(delivered, failed, dead)

    def dead(self) -> list[OutboxMessage]:
        """The messages parked as dead, by stream and sequence."""
        with self.uow_factory() as uow:
            return uow.outbox.dead()

    def redrive(self, event_id: str) -> None:
        """Make a dead message pending again, due now, with its attempts reset."""
        self._record(lambda uow: uow.outbox.redrive(event_id, self.clock.now()))

    def redrive_all(self) -> int:
        """Re-drive every dead message; returns how many."""
        dead = self.dead()
        for message in dead:
            self.redrive(message.event_id)
        return len(dead)

    # ------------------------------------------------------------------ internals

    def _deliver(self, message: OutboxMessage) -> str | None:
        """Hand the message to every notifier; the error text of the first that raised."""
        for notifier in self.notifiers:
            try:
                notifier.notify(message)
            except Exception as error:  # a notifier failing is an outcome, not a crash
                return f"{type(error).__name__}: {error}"
        return None

    def _mark_delivered(self, event_id: str) -> None:
        self._record(lambda uow: uow.outbox.mark_delivered(event_id, self.clock.now()))

    def _fail(self, message: OutboxMessage, error: str) -> bool:
        attempts = message.attempts + 1
        dead = attempts >= self.max_attempts
        retry_at = None if dead else self.clock.now() + self.backoff(attempts)
        self._record(lambda uow: uow.outbox.mark_failed(message.event_id, error, retry_at, dead))
        return dead

    def _record(self, change: Callable[[UnitOfWork], None]) -> None:
        with self.uow_factory() as uow:
            change(uow)
            uow.commit()
