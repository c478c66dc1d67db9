"""``salesorders audit verify`` and ``salesorders audit export``: the store's audit log from
the command line.

``verify`` checks the hash chains of the records (of one stream, or between two times) and exits
1 naming the first broken link; ``export`` writes them as JSON Lines or CSV (spreadsheet formulas
neutralised), to standard output or a file.
"""

from __future__ import annotations

import argparse
from typing import Any

from salesorders.cli.orders import parse_moment
from salesorders.cli.output import Output, counted
from salesorders.cli.store import open_service
from salesorders.ports import AuditQuery

__all__ = ["add_audit_commands", "export_audit", "verify_audit"]


def add_audit_commands(
    commands: Any, store: argparse.ArgumentParser, listing: argparse.ArgumentParser
) -> None:
    """Register ``audit verify|export`` on the command line's subparsers."""
    audit = commands.add_parser("audit", help="verify or export the audit log")
    actions = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify", parents=[store, listing], help="check the hash chains; exit 1 if one is broken"
    )
    export = actions.add_parser(
        "export", parents=[store], help="write the records as JSON Lines or CSV"
    )
    for sub in (verify, export):
        sub.add_argument("--from", dest="date_from", metavar="WHEN", help="recorded from (ISO)")
        sub.add_argument(
            "--to", dest="date_to", metavar="WHEN", help="recorded before (a date: that whole day)"
        )
        sub.add_argument("--stream", help="one stream, e.g. order:ID or customer:ID")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--output", metavar="FILE", help="write to FILE (default: stdout)")
    verify.set_defaults(run=verify_audit)
    export.set_defaults(run=export_audit)


def _query(args: argparse.Namespace) -> AuditQuery:
    return AuditQuery(
        since=None if args.date_from is None else parse_moment(args.date_from, "--from"),
        until=None if args.date_to is None else parse_moment(args.date_to, "--to", end=True),
        stream=args.stream,
    )


def verify_audit(args: argparse.Namespace, out: Output) -> int:
    """Check the chains; exit 1 naming the first broken link."""
    query = _query(args)
    with open_service(args.store, args.schema) as service:
        report = service.verify_audit(query)
    broken = report.broken
    if args.json:
        out.json(
            {
                "checked": report.checked,
                "intact": report.intact,
                "broken": None
                if broken is None
                else {
                    "stream": broken.stream,
                    "sequence": broken.sequence,
                    "problem": broken.problem,
                },
            }
        )
    elif broken is None:
        out.line(f"{counted(report.checked, 'audit record')} checked; every hash chain intact")
    else:
        out.line(
            f"{counted(report.checked, 'audit record')} checked; broken at {broken.stream} "
            f"record {broken.sequence}: {broken.problem}"
        )
    return 0 if broken is None else 1


def export_audit(args: argparse.Namespace, out: Output) -> int:
    """Write the records, streaming; say how many on standard error when writing a file."""
    query = _query(args)
    with open_service(args.store, args.schema) as service:
        if args.output is None:
            service.export_audit(out.stream, query, format=args.format)
            return 0
        with open(args.output, "w", encoding="utf-8", newline="") as target:
            written = service.export_audit(target, query, format=args.format)
    out.line(f"wrote {counted(written, 'audit record')} to {args.output}")
    return 0
