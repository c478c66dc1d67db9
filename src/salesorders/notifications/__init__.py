"""Customer communication: what channels are handed and answer, the customers' contact details,
templates, and the channels' shared rules.

The transports live in :mod:`salesorders.adapters` (SMTP email, signed webhooks, SMS gateways,
message brokers); the relay that feeds them from the outbox is
:class:`OutboxRelay` (also importable from :mod:`salesorders.service`).
"""

from __future__ import annotations

from salesorders._public import publish
from salesorders.notifications.channel import (
    Channel,
    Deferred,
    Notice,
    NoticeRenderer,
    Outcome,
    Rendered,
    Sent,
    Skipped,
)
from salesorders.notifications.contacts import (
    CHANNEL_NAME,
    CustomerContact,
    CustomerDirectory,
    InMemoryCustomerDirectory,
)
from salesorders.service.relay import NotifierChannel, OutboxRelay

__all__ = [
    "CHANNEL_NAME",
    "Channel",
    "CustomerContact",
    "CustomerDirectory",
    "Deferred",
    "InMemoryCustomerDirectory",
    "Notice",
    "NoticeRenderer",
    "NotifierChannel",
    "OutboxRelay",
    "Outcome",
    "Rendered",
    "Sent",
    "Skipped",
]

publish(globals(), __name__, __all__)
