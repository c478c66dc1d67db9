"""The command line's parser: every command, its options, and the function that runs it.

Built with argparse (the standard library, so the demo needs no extra). Each command's parser
sets ``run``, a :data:`Command`; the options every store command takes come from shared parents.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

import babel

from salesorders.cli.audit import add_audit_commands
from salesorders.cli.demo import DEFAULT_DEMO_STORE, run_demo
from salesorders.cli.maintenance import migrate, purge_idempotency
from salesorders.cli.orders import list_orders, show_order, track_orders
from salesorders.cli.outbox import add_outbox_commands
from salesorders.cli.output import Output
from salesorders.cli.relay import add_relay_command
from salesorders.cli.report import GROUPS, PERIODS, show_report
from salesorders.cli.sheets import export_file, import_file
from salesorders.cli.stock import show_stock

__all__ = ["Command", "build_parser"]

Command = Callable[[argparse.Namespace, Output], int]


def _locale(text: str) -> str:
    try:
        return str(babel.Locale.parse(text))
    except (ValueError, TypeError, babel.UnknownLocaleError):
        raise argparse.ArgumentTypeError(
            f"unknown locale {text!r}; use a name like en_US, de_DE or ja_JP"
        ) from None


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def _common_options() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The options every store command takes, and ``--json``."""
    store = argparse.ArgumentParser(add_help=False)
    where = os.environ.get("SALESORDERS_STORE")
    store.add_argument(
        "--store",
        default=where,
        required=where is None,
        metavar="PATH|DSN",
        help="an SQLite store file or a postgresql:// DSN (default: $SALESORDERS_STORE)",
    )
    store.add_argument(
        "--schema", default="salesorders", help="the PostgreSQL schema (default: salesorders)"
    )
    store.add_argument(
        "--locale", type=_locale, default="en_US", help="how money is written (default: en_US)"
    )
    store.add_argument(
        "--plain", action="store_true", help="plain text tables even when rich is installed"
    )
    listing = argparse.ArgumentParser(add_help=False)
    listing.add_argument("--json", action="store_true", help="write JSON instead of tables")
    return store, listing


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command, each with its ``run`` function as a default."""
    parser = argparse.ArgumentParser(
        prog="salesorders",
        description="salesorders operator tools: orders, stock, reports, spreadsheets, maintenance",
        epilog="exit codes: 0 success, 1 a problem found, 2 usage or input error",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    store, listing = _common_options()
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser("demo", help="play the demo on a fresh SQLite store")
    demo.add_argument(
        "--store",
        "--db",
        dest="store",
        default=DEFAULT_DEMO_STORE,
        help=f"the demo's SQLite file, recreated on each run (default: ./{DEFAULT_DEMO_STORE})",
    )
    demo.add_argument("--plain", action="store_true", help="plain text tables")
    demo.set_defaults(run=lambda args, out: run_demo(args.store, out), locale="en_US")

    orders = commands.add_parser("orders", help="list, show and track orders")
    order_commands = orders.add_subparsers(dest="orders_command", metavar="ACTION", required=True)
    listed = order_commands.add_parser(
        "list", parents=[store, listing], help="orders newest first, a page at a time"
    )
    listed.add_argument("--customer", help="only this customer's orders")
    listed.add_argument("--state", help="only orders in this state (e.g. confirmed)")
    listed.add_argument("--sku", help="only orders with a line of this SKU")
    listed.add_argument("--from", dest="date_from", metavar="WHEN", help="created from (ISO)")
    listed.add_argument(
        "--to", dest="date_to", metavar="WHEN", help="created up to (a date: that whole day)"
    )
    listed.add_argument("--limit", type=_whole_number, default=20, help="page size (default 20)")
    listed.add_argument("--after", metavar="CURSOR", help="the cursor the last page printed")
    listed.set_defaults(run=list_orders)
    shown = order_commands.add_parser(
        "show", parents=[store, listing], help="one order: lines, totals, shipments, payments"
    )
    shown.add_argument("number", help="the order's number (or id)")
    shown.set_defaults(run=show_order)
    tracked = order_commands.add_parser(
        "track", parents=[store, listing], help="an order's shipments, or a customer's orders"
    )
    tracked.add_argument("number", nargs="?", help="the order's number (or id)")
    tracked.add_argument("--customer", help="every order of this customer instead")
    tracked.set_defaults(run=track_orders)

    stock = commands.add_parser(
        "stock", parents=[store, listing], help="stock per SKU and warehouse; reconciliation"
    )
    stock.add_argument("--sku", help="only this SKU")
    stock.add_argument("--warehouse", help="only this warehouse")
    stock.set_defaults(run=show_stock)

    migrating = commands.add_parser(
        "migrate", parents=[store, listing], help="apply the schema migrations"
    )
    migrating.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if migrations are pending"
    )
    migrating.set_defaults(run=migrate)

    reporting = commands.add_parser(
        "report", parents=[store, listing], help="analytics of the orders placed in a window"
    )
    reporting.add_argument(
        "--from", dest="date_from", metavar="WHEN", help="placed from (default: a year ago)"
    )
    reporting.add_argument(
        "--to", dest="date_to", metavar="WHEN", help="placed up to (a date: that whole day)"
    )
    reporting.add_argument("--period", choices=PERIODS, default="month", help="default: month")
    reporting.add_argument("--group-by", choices=GROUPS, help="one row per group and period")
    reporting.add_argument("--currency", help="also total the values in this currency")
    reporting.add_argument(
        "--rate",
        action="append",
        default=[],
        metavar="CODE=RATE",
        help="one CODE is RATE of --currency (default: the rate frozen on each order)",
    )
    reporting.add_argument("--top", type=_whole_number, default=5, help="top SKUs and customers")
    reporting.add_argument("--chart", metavar="FILE", help="draw a chart into FILE (.png, .svg)")
    reporting.add_argument("--preview", action="store_true", help="draw the chart in text")
    reporting.add_argument(
        "--output", metavar="FILE", help="also write the report's rows to FILE (.csv, .xlsx)"
    )
    reporting.set_defaults(run=show_report)

    _sheet_commands(commands, store, listing)

    purge = commands.add_parser(
        "purge-idempotency", parents=[store, listing], help="delete expired idempotency records"
    )
    purge.set_defaults(run=purge_idempotency)

    add_relay_command(commands, store)
    add_outbox_commands(commands, store, listing)
    add_audit_commands(commands, store, listing)
    return parser


def _sheet_commands(
    commands: Any, store: argparse.ArgumentParser, listing: argparse.ArgumentParser
) -> None:
    """``import orders|stock FILE`` and ``export orders|lines FILE``."""
    sheet = argparse.ArgumentParser(add_help=False)
    sheet.add_argument("file", metavar="FILE", help="a .csv or .xlsx file")
    sheet.add_argument("--format", choices=("csv", "xlsx"), help="default: from the suffix")
    importing = commands.add_parser("import", help="import orders or stock counts from a sheet")
    kinds = importing.add_subparsers(dest="kind", metavar="WHAT", required=True)
    for kind, text in (("orders", "orders, one row per line"), ("stock", "stock counts")):
        sub = kinds.add_parser(kind, parents=[store, listing, sheet], help=text)
        sub.add_argument("--encoding", default="utf-8", help="a CSV file's (default: utf-8)")
        sub.add_argument(
            "--good-rows",
            action="store_true",
            help="write what is good, report the rest (default: all or nothing)",
        )
        sub.add_argument("--actor", default="import", help="who the audit trail names")
        sub.set_defaults(run=import_file)
        if kind == "orders":
            sub.add_argument("--check", action="store_true", help="check only, write nothing")
            sub.add_argument("--confirm", action="store_true", help="confirm (reserve) them")
            sub.add_argument("--drafts", action="store_true", help="create drafts instead")
            sub.add_argument(
                "--no-backorder", action="store_true", help="refuse orders short of stock"
            )
        else:
            sub.add_argument(
                "--release-excess",
                action="store_true",
                help="let a count below the reserved stock release reservations",
            )
    exporting = commands.add_parser("export", help="export orders or their lines to a sheet")
    kinds = exporting.add_subparsers(dest="kind", metavar="WHAT", required=True)
    for kind, text in (("orders", "one row per order"), ("lines", "one row per order line")):
        sub = kinds.add_parser(kind, parents=[store, listing, sheet], help=text)
        sub.add_argument("--customer", help="only this customer's orders")
        sub.add_argument("--state", help="only orders in this state")
        sub.add_argument("--sku", help="only orders with a line of this SKU")
        sub.add_argument("--from", dest="date_from", metavar="WHEN", help="created from")
        sub.add_argument("--to", dest="date_to", metavar="WHEN", help="created up to")
        sub.set_defaults(run=export_file)
