"""The outbox's delivery: :class:`OutboxRelay` (channels, leases, the delivery log; see
:mod:`salesorders.service.relay`) and :class:`OutboxDispatcher`, the relay over the older
:class:`~salesorders.ports.Notifier` s.

A notifier is wrapped in a :class:`NotifierChannel` named ``notifier-1``, ``notifier-2`` ... in the
order given. It keeps the notifier contract: returning means delivered, raising means "try again
after the backoff", and a message retried is handed to every notifier again (at least once, for
every notifier); consumers deduplicate on the stable ``event_id``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from salesorders.notifications.channel import Channel
from salesorders.notifications.contacts import CustomerDirectory
from salesorders.ports import (
    Clock,
    Notifier,
    OutboxMessage,
    UnitOfWork,
    UnitOfWorkFactory,
    event_id_of,
)
from salesorders.service.relay import NotifierChannel, OutboxRelay
from salesorders.service.results import DispatchReport

__all__ = [
    "NotifierChannel",
    "OutboxDispatcher",
    "OutboxRelay",
    "append_to_stream",
    "notifier_channels",
]


def append_to_stream(
    uow: UnitOfWork,
    stream: str,
    messages: Sequence[tuple[str, Mapping[str, Any]]],
    at: dt.datetime,
) -> None:
    """Append ``(event type, payload)`` messages to the outbox stream ``stream`` (one that is
    not an order's: ``customer:<id>``, ``denied:<actor>``), numbered after the stream's last,
    each with the event id ``<stream>:<sequence>``."""
    first = uow.outbox.next_sequence(stream)
    uow.outbox.append(
        [
            OutboxMessage(event_id_of(stream, n), stream, n, event_type, dict(payload), at)
            for n, (event_type, payload) in enumerate(messages, start=first)
        ]
    )


def notifier_channels(notifiers: Iterable[Notifier]) -> list[Channel]:
    """``notifiers`` as channels named ``notifier-1``, ``notifier-2`` ... in order."""
    return [NotifierChannel(n, f"notifier-{i}") for i, n in enumerate(notifiers, 1)]


class OutboxDispatcher(OutboxRelay):
    """An :class:`OutboxRelay` built from notifiers (and, optionally, channels after them);
    :meth:`dispatch_once` is :meth:`OutboxRelay.run_once`.

    Its ``lease`` is zero unless given: like the dispatcher it always was, it runs from one
    thread at a time, and a batch a crash left behind is delivered again at once. Give it a
    positive ``lease`` (``bootstrap(delivery_lease=...)``) to run several at once.
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        notifiers: Iterable[Notifier],
        clock: Clock,
        *,
        channels: Iterable[Channel] = (),
        directory: CustomerDirectory | None = None,
        owner: str | None = None,
        lease: dt.timedelta = dt.timedelta(0),
        batch_size: int = 100,
        poll_interval: dt.timedelta = dt.timedelta(seconds=1),
        max_attempts: int = 8,
        base_delay: dt.timedelta = dt.timedelta(seconds=2),
        max_delay: dt.timedelta = dt.timedelta(hours=1),
    ) -> None:
        super().__init__(
            uow_factory,
            [*notifier_channels(notifiers), *channels],
            clock,
            directory=directory,
            owner=owner,
            lease=lease,
            batch_size=batch_size,
            poll_interval=poll_interval,
            max_attempts=max_attempts,
            base_delay=base_delay,
            max_delay=max_delay,
        )

    def dispatch_once(self, limit: int | None = None) -> DispatchReport:
        """Deliver up to ``limit`` (default ``batch_size``) due messages: :meth:`run_once`."""
        return self.run_once(limit)
