"""``salesorders outbox dead|redrive|purge|deliveries``: the outbox's dead letters and log.

``dead`` lists the messages the relay parked as dead (a channel refused them for good, or they
failed too often); ``redrive`` makes them pending again (the channels that already sent them are
not called again); ``purge`` deletes the messages delivered longer ago than ``--older-than`` days,
with their delivery log (pending and dead messages are kept); ``deliveries`` shows an order's
delivery log, per message and channel. All go through the relay's own methods.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
from typing import Any

from salesorders.cli.output import Column, Output, counted
from salesorders.cli.store import open_service
from salesorders.errors import NotFoundError, ValidationError

__all__ = [
    "add_outbox_commands",
    "list_dead",
    "purge_delivered",
    "redrive_dead",
    "show_deliveries",
]


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number of days, 0 or more: {text!r}")
    return value


def add_outbox_commands(
    commands: Any, store: argparse.ArgumentParser, listing: argparse.ArgumentParser
) -> None:
    """Register ``outbox dead|redrive|purge|deliveries`` on the command line's subparsers."""
    outbox = commands.add_parser("outbox", help="dead messages, redrive, purge, delivery log")
    actions = outbox.add_subparsers(dest="outbox_command", metavar="ACTION", required=True)
    dead = actions.add_parser("dead", parents=[store, listing], help="the dead messages")
    dead.set_defaults(run=list_dead)
    redrive = actions.add_parser(
        "redrive", parents=[store, listing], help="make dead messages pending again"
    )
    redrive.add_argument("event_ids", nargs="*", metavar="EVENT_ID", help="the dead messages")
    redrive.add_argument("--all", action="store_true", help="every dead message")
    redrive.set_defaults(run=redrive_dead)
    purge = actions.add_parser(
        "purge", parents=[store, listing], help="delete old delivered messages and their log"
    )
    purge.add_argument(
        "--older-than", type=_days, required=True, metavar="DAYS", help="delivered before that"
    )
    purge.set_defaults(run=purge_delivered)
    log = actions.add_parser("deliveries", parents=[store, listing], help="an order's delivery log")
    log.add_argument("order", metavar="ORDER", help="the order's number (or id)")
    log.set_defaults(run=show_deliveries)


def _moment(when: dt.datetime | None) -> str | None:
    return None if when is None else when.astimezone(dt.UTC).isoformat()


def list_dead(args: argparse.Namespace, out: Output) -> int:
    """The dead messages, by stream and sequence."""
    with open_service(args.store, args.schema) as service:
        dead = service.relay.dead()
    if args.json:
        out.json(
            [
                {
                    "event_id": m.event_id,
                    "stream_id": m.stream_id,
                    "sequence": m.sequence,
                    "event_type": m.event_type,
                    "attempts": m.attempts,
                    "last_error": m.last_error,
                    "occurred_at": _moment(m.occurred_at),
                }
                for m in dead
            ]
        )
        return 0
    if not dead:
        out.line("no dead messages")
        return 0
    out.line(f"{counted(len(dead), 'dead message')}:")
    out.table(
        (
            Column("event id", keep=True),
            Column("stream"),
            Column("seq", right=True),
            Column("type"),
            Column("tries", right=True),
            Column("last error", wrap=True),
        ),
        [
            (
                m.event_id,
                m.stream_id,
                str(m.sequence),
                m.event_type,
                str(m.attempts),
                m.last_error or "-",
            )
            for m in dead
        ],
    )
    return 0


def redrive_dead(args: argparse.Namespace, out: Output) -> int:
    """Make the named dead messages (or ``--all``) pending again; an id that is not dead
    refuses the whole command before anything changes."""
    if bool(args.event_ids) == bool(args.all):
        raise ValidationError(
            "EVENT_ID",
            args.event_ids,
            "give the dead messages' event ids or --all, not both",
            "salesorders outbox dead lists them",
        )
    with open_service(args.store, args.schema) as service:
        relay = service.relay
        if args.all:
            redriven = relay.redrive_all()
        else:
            dead = {m.event_id for m in relay.dead()}
            for event_id in args.event_ids:
                if event_id not in dead:
                    raise NotFoundError("dead outbox message", event_id)
            for event_id in dict.fromkeys(args.event_ids):
                relay.redrive(event_id)
            redriven = len(dict.fromkeys(args.event_ids))
    if args.json:
        out.json({"redriven": redriven})
    else:
        out.line(f"redrove {counted(redriven, 'dead message')}; the relay delivers them next")
    return 0


def purge_delivered(args: argparse.Namespace, out: Output) -> int:
    """Delete the messages delivered more than ``--older-than`` days ago; print how many."""
    with open_service(args.store, args.schema) as service:
        purged = service.relay.purge(dt.timedelta(days=args.older_than))
    if args.json:
        out.json({"purged": purged})
    else:
        out.line(f"purged {counted(purged, 'delivered message')}")
    return 0


def show_deliveries(args: argparse.Namespace, out: Output) -> int:
    """An order's delivery log: per message (by sequence) and channel."""
    with open_service(args.store, args.schema) as service:
        view = service.view_order(args.order)  # by id, or else by number
        log = service.deliveries(view.order_id)
    label = view.number or view.order_id
    if args.json:
        out.json(
            {
                "order_id": view.order_id,
                "number": view.number,
                "deliveries": [
                    {
                        "event_id": r.event_id,
                        "event_type": r.event_type,
                        "channel": r.channel,
                        "status": r.status,
                        "recipient": r.recipient,
                        "attempts": r.attempts,
                        "last_error": r.last_error,
                        "provider_id": r.provider_id,
                        "updated_at": _moment(r.updated_at),
                    }
                    for r in log
                ],
            }
        )
        return 0
    if not log:
        out.line(f"Order {label}: nothing delivered yet")
        return 0
    out.line(f"Order {label}: {counted(len(log), 'delivery', 'deliveries')}")
    out.table(
        (
            Column("type"),
            Column("channel"),
            Column("status"),
            Column("to"),
            Column("failed", right=True),
            Column("last error", wrap=True),
        ),
        [
            (
                r.event_type,
                r.channel,
                r.status,
                r.recipient or "-",
                str(r.attempts),
                r.last_error or "-",
            )
            for r in log
        ],
    )
    return 0
