"""Errors of customer communication: templates, channels and webhook signatures (see
:mod:`salesorders.errors`)."""

from __future__ import annotations

from salesorders.errors._base import SalesOrdersError, ValidationError


class TemplateError(ValidationError):
    """A notification template refused when it is loaded or rendered: bad syntax, or an attempt to
    reach attributes outside its context (the sandbox). ``field`` names the template."""

    code = "template_refused"
    http_status = 422
    title = "Template refused"


class DeliveryError(SalesOrdersError):
    """A channel could not deliver a notification now (a server down, a timeout, a 5xx answer).
    The relay retries it after the outbox's backoff. ``channel`` names the channel."""

    code = "delivery_failed"
    http_status = 502
    title = "Delivery failed"

    def __init__(self, channel: str, reason: str) -> None:
        self.channel = channel
        self.reason = reason
        super().__init__(f"{channel}: {reason}")


class PermanentDeliveryError(DeliveryError):
    """A channel's receiver refused a notification for good (an HTTP 4xx other than 408 or 429,
    an address the mail server rejects): the relay parks the message as dead at once, for a
    person to look at and re-drive."""

    code = "delivery_refused"
    http_status = 502
    title = "Delivery refused"


class WebhookVerificationError(SalesOrdersError):
    """A received webhook whose signature, id or timestamp does not verify: reject the request
    (answer 400) and do not act on it. ``reason`` says which check failed."""

    code = "webhook_not_verified"
    http_status = 400
    title = "Webhook not verified"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"webhook not verified: {reason}")
