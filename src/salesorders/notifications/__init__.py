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
from salesorders.notifications.context import (
    CONTEXT_VARIABLES,
    BackorderSummary,
    LineSummary,
    notice_context,
)
from salesorders.notifications.quiet_hours import QuietHours
from salesorders.notifications.sms import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SmsAlphabet,
    SmsGateway,
    SmsLength,
    shorten_sms,
    sms_segments,
)
from salesorders.notifications.templates import BUILTIN_LOCALES, TemplateCatalog
from salesorders.service.relay import NotifierChannel, OutboxRelay

__all__ = [
    "BUILTIN_LOCALES",
    "CHANNEL_NAME",
    "CONTEXT_VARIABLES",
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "BackorderSummary",
    "Channel",
    "CustomerContact",
    "CustomerDirectory",
    "Deferred",
    "InMemoryCustomerDirectory",
    "LineSummary",
    "Notice",
    "NoticeRenderer",
    "NotifierChannel",
    "OutboxRelay",
    "Outcome",
    "QuietHours",
    "Rendered",
    "Sent",
    "Skipped",
    "SmsAlphabet",
    "SmsGateway",
    "SmsLength",
    "TemplateCatalog",
    "notice_context",
    "shorten_sms",
    "sms_segments",
]

publish(globals(), __name__, __all__)
