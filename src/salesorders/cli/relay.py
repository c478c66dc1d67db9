"""``salesorders relay``: the outbox relay as a long-running process.

It delivers the store's outbox to the channels the options name — email through an SMTP server
(``--smtp``), signed webhooks (``--webhook NAME=URL``), NATS JetStream (``--nats``) — with the
customers' contacts read from a JSON file (``--contacts``), until SIGINT or SIGTERM; ``--once``
delivers one batch and exits. It prints the channels and the store (a DSN's password hidden) when
it starts, and the messages delivered, failed, dead and deferred when it stops. Secrets may come
from the environment instead of the command line: ``SALESORDERS_SMTP_PASSWORD`` and
``SALESORDERS_WEBHOOK_SECRET_<NAME>``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from salesorders.cli.output import Output
from salesorders.cli.store import open_store, redacted
from salesorders.errors import MissingExtraError, ValidationError
from salesorders.notifications import (
    Channel,
    CustomerContact,
    InMemoryCustomerDirectory,
    OutboxRelay,
)
from salesorders.service import SystemClock
from salesorders.service.results import DispatchReport

__all__ = ["add_relay_command", "load_contacts", "run_relay"]

_CONTACT_FIELDS = tuple(field.name for field in attrs.fields(CustomerContact))
_CHANNEL_OPTIONS = "--smtp HOST[:PORT], --webhook NAME=URL or --nats URL"


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def add_relay_command(commands: Any, store: argparse.ArgumentParser) -> None:
    """Register ``relay`` on the command line's subparsers."""
    relay = commands.add_parser(
        "relay", parents=[store], help="deliver the outbox to email, webhooks or NATS"
    )
    relay.add_argument("--json", action="store_true", help="write the totals as JSON")
    relay.add_argument("--smtp", metavar="HOST[:PORT]", help="send email through this server")
    relay.add_argument("--smtp-user", metavar="NAME", help="log in to the SMTP server as NAME")
    relay.add_argument(
        "--smtp-password",
        metavar="TEXT",
        help="the SMTP password (default: $SALESORDERS_SMTP_PASSWORD)",
    )
    relay.add_argument("--starttls", action="store_true", help="upgrade SMTP with STARTTLS")
    relay.add_argument("--sender", metavar="ADDRESS", help="who the email is from (with --smtp)")
    relay.add_argument("--templates", metavar="DIR", help="templates overriding the built-ins")
    relay.add_argument("--contacts", metavar="FILE", help="the customers' contacts, a JSON list")
    relay.add_argument(
        "--webhook",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="post signed events to URL, as the channel webhook-NAME (repeatable)",
    )
    relay.add_argument(
        "--webhook-secret",
        action="append",
        default=[],
        metavar="NAME=whsec_...",
        help="a webhook's secret (default: $SALESORDERS_WEBHOOK_SECRET_<NAME>)",
    )
    relay.add_argument("--nats", metavar="URL", help="publish to NATS JetStream at URL")
    relay.add_argument(
        "--nats-prefix", default="salesorders", help="the subjects' prefix (default: salesorders)"
    )
    relay.add_argument(
        "--lease", type=_seconds, default=30.0, help="seconds a batch's streams are held (30)"
    )
    relay.add_argument("--batch", type=_count, default=100, help="messages per batch (100)")
    relay.add_argument("--poll", type=_seconds, default=1.0, help="seconds between polls (1)")
    relay.add_argument("--once", action="store_true", help="deliver one batch and exit")
    relay.add_argument(
        "--max-idle",
        type=_seconds,
        metavar="SECONDS",
        help="exit after finding nothing to do for this long (in whole polls)",
    )
    relay.set_defaults(run=run_relay)


# ---------------------------------------------------------------------- contacts


def load_contacts(path: str) -> InMemoryCustomerDirectory:
    """The contacts in the JSON file at ``path``: a list of objects with
    :class:`~salesorders.notifications.CustomerContact`'s fields. A bad entry raises
    :class:`~salesorders.errors.ValidationError` naming the entry and the field."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValidationError(
            "--contacts", path, f"is not JSON ({error})", "write a JSON list of contacts"
        ) from None
    if not isinstance(document, list):
        raise ValidationError(
            "--contacts", path, "must hold a JSON list of contact objects", "wrap them in [ ]"
        )
    directory = InMemoryCustomerDirectory()
    for index, entry in enumerate(document):
        where = f"--contacts {path} entry {index + 1}"
        if not isinstance(entry, dict):
            raise ValidationError(where, entry, 'must be an object like {"customer_id": ...}')
        unknown = sorted(set(entry) - set(_CONTACT_FIELDS))
        if unknown:
            raise ValidationError(
                f"{where}.{unknown[0]}",
                entry[unknown[0]],
                "is not a contact field",
                f"use {', '.join(_CONTACT_FIELDS)}",
            )
        if "customer_id" not in entry:
            raise _missing(f"{where}.customer_id", "is missing", "every contact needs one")
        try:
            contact = CustomerContact(**entry)
        except ValidationError as error:
            raise error.under(where) from None
        except (TypeError, ValueError) as error:
            raise ValidationError(where, entry, f"is not a contact ({error})") from None
        directory.put(contact)
    return directory


# ---------------------------------------------------------------------- channels


def _missing(field: str, problem: str, hint: str) -> ValidationError:
    """An option that is missing: the error names it and says what to give."""
    return ValidationError(field, None, problem, hint, message=f"{field}: {problem}; {hint}")


def _pairs(option: str, values: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for text in values:
        name, sep, value = text.partition("=")
        if not sep or not name or not value:
            raise ValidationError(option, text, "must be NAME=VALUE", f"like {option} crm=...")
        if name in found:
            raise ValidationError(option, text, f"names {name} twice", "give each name once")
        found[name] = value
    return found


def _smtp_channel(args: argparse.Namespace) -> Channel:
    from salesorders.adapters.smtp import EmailChannel, SmtpSettings
    from salesorders.notifications import TemplateCatalog

    if args.sender is None:
        raise _missing("--sender", "is needed with --smtp", "like --sender shop@example.com")
    host, sep, port_text = str(args.smtp).rpartition(":")
    if not sep or "]" in port_text:
        host, port_text = args.smtp, "25"
    if not port_text.isdigit():
        raise ValidationError("--smtp", args.smtp, "must be HOST or HOST:PORT")
    password = args.smtp_password or os.environ.get("SALESORDERS_SMTP_PASSWORD")
    if (args.smtp_user is None) != (password is None):
        missing = "--smtp-password" if password is None else "--smtp-user"
        raise _missing(missing, "is needed for an SMTP login", "give --smtp-user and a password")
    settings = SmtpSettings(
        host=host.strip("[]"),
        port=int(port_text),
        sender=args.sender,
        username=args.smtp_user,
        password=password,
        starttls=args.starttls,
    )
    catalog = TemplateCatalog(args.templates)
    return EmailChannel(settings, catalog, clock=SystemClock())


def _webhook_channels(args: argparse.Namespace) -> list[Channel]:
    urls = _pairs("--webhook", args.webhook)
    secrets = _pairs("--webhook-secret", args.webhook_secret)
    stray = sorted(set(secrets) - set(urls))
    if stray:
        raise ValidationError(
            "--webhook-secret", stray[0], "names no --webhook", "give the webhook's URL too"
        )
    from salesorders.adapters.webhook import WebhookEndpoint, webhook_channels

    endpoints = {}
    for name, url in urls.items():
        variable = "SALESORDERS_WEBHOOK_SECRET_" + name.upper().replace("-", "_")
        secret = secrets.get(name) or os.environ.get(variable)
        if secret is None:
            raise ValidationError(
                "--webhook-secret",
                name,
                "is missing for this webhook",
                f"give --webhook-secret {name}=whsec_... or set {variable}",
            )
        try:
            endpoints[name] = WebhookEndpoint(url, secret)
        except ValidationError as error:
            raise error.under(f"--webhook {name}") from None
    try:
        return list(webhook_channels(endpoints))
    except ImportError:
        raise MissingExtraError.needs("webhooks", "standardwebhooks", "--webhook") from None


@contextmanager
def _channels(args: argparse.Namespace) -> Iterator[list[Channel]]:
    """The channels the options name (the NATS connection closed on leaving)."""
    if not (args.smtp or args.webhook or args.nats):
        raise _missing("relay", "needs a channel to deliver to", f"give {_CHANNEL_OPTIONS}")
    channels: list[Channel] = []
    if args.smtp:
        channels.append(_smtp_channel(args))
    channels.extend(_webhook_channels(args))
    closing: Callable[[], None] | None = None
    if args.nats:
        try:
            from salesorders.adapters.nats import NatsPublisher
        except ImportError:
            raise MissingExtraError.needs("nats", "nats-py", "--nats") from None
        publisher = NatsPublisher(args.nats, prefix=args.nats_prefix)
        channels.append(publisher)
        closing = publisher.close
    try:
        yield channels
    finally:
        if closing is not None:
            closing()


# ---------------------------------------------------------------------- running


@contextmanager
def _stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` while inside (in the main thread; elsewhere the caller
    sets ``stop`` itself)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {
        number: signal.signal(number, lambda *_: stop.set())
        for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _totals(report: DispatchReport) -> dict[str, int]:
    return {
        "delivered": report.delivered,
        "failed": report.failed,
        "dead": report.dead,
        "deferred": report.deferred,
    }


def run_relay(args: argparse.Namespace, out: Output, stop: threading.Event | None = None) -> int:
    """Deliver the outbox to the channels until SIGINT/SIGTERM (or ``stop``), or one batch
    with ``--once``; print the totals."""
    directory = load_contacts(args.contacts) if args.contacts else None
    stop = stop if stop is not None else threading.Event()
    with _channels(args) as channels, open_store(args.store, args.schema) as store:
        poll = dt.timedelta(seconds=args.poll)
        relay = OutboxRelay(
            store.unit_of_work,
            channels,
            SystemClock(),
            directory=directory,
            lease=dt.timedelta(seconds=args.lease),
            batch_size=args.batch,
            poll_interval=poll,
        )
        names = ", ".join(channel.name for channel in channels)
        contacts = f", {len(directory)} contacts" if directory is not None else ""
        started = (
            f"relaying {redacted(args.store)} to {names} "
            f"(owner {relay.owner}, lease {args.lease:g}s{contacts})"
        )
        if not args.json:  # one line, written whole (a path is not wrapped)
            out.stream.write(started + "\n")
            out.stream.flush()
        if args.once:
            report = relay.run_once()
        else:
            idle = None if args.max_idle is None else max(1, math.ceil(args.max_idle / args.poll))
            with _stopped_by_signals(stop):
                report = relay.run(stop, max_idle=idle)
    totals = _totals(report)
    if args.json:
        out.json(totals)
    else:
        out.line(", ".join(f"{name} {number}" for name, number in totals.items()))
    return 0
