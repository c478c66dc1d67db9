"""``salesorders import`` and ``salesorders export``: spreadsheets in and out.

Imports and exports are :mod:`salesorders.spreadsheets`' own (CSV, or XLSX with the ``xlsx``
extra); this module reports what they did. An import that leaves part of its file unwritten (a
bad cell, a refused order) exits 1, after saying which references and which cells.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from salesorders.cli.orders import order_filters
from salesorders.cli.output import Column, Output, counted, is_terminal, rich_available
from salesorders.cli.store import open_service
from salesorders.errors import BadCell
from salesorders.spreadsheets import (
    ImportReport,
    ImportStatus,
    Progress,
    check_orders,
    export_lines,
    export_orders,
    import_orders,
    import_stock_counts,
    iter_orders,
    rich_progress,
)

__all__ = ["export_file", "import_file"]


@contextlib.contextmanager
def _progress() -> Iterator[Progress | None]:
    """A progress bar on stderr when it is a terminal and rich is installed."""
    if not (rich_available() and is_terminal(sys.stderr)):
        yield None
        return
    with rich_progress(transient=True) as progress:
        yield progress


def _cell_document(cell: BadCell) -> dict[str, Any]:
    return {
        "row": cell.row,
        "column": cell.column,
        "value": cell.value,
        "problem": cell.problem,
        "hint": cell.hint,
    }


def _report_document(report: ImportReport) -> dict[str, Any]:
    return {
        "kind": report.kind,
        "rows": report.rows,
        "complete": report.complete,
        "outcomes": [
            {
                "reference": o.reference,
                "status": o.status.value,
                "first_row": o.first_row,
                "last_row": o.last_row,
                "key": o.key,
                "code": o.code,
                "message": o.message,
            }
            for o in report.outcomes
        ],
        "bad_cells": [_cell_document(cell) for cell in report.bad_cells],
    }


def _bad_cells_table(cells: tuple[BadCell, ...], out: Output) -> None:
    out.table(
        [Column("row", right=True), Column("column"), Column("value"),
         Column("problem", wrap=True)],
        [
            [str(c.row), c.column, c.value, f"{c.problem}; {c.hint}" if c.hint else c.problem]
            for c in cells
        ],
    )  # fmt: skip


def _print_report(report: ImportReport, file: str, out: Output) -> None:
    out.line(
        f"{file}: {counted(report.rows, 'row')}; created {len(report.created)}, skipped "
        f"{len(report.skipped)} (already there), failed {len(report.failed)}, not attempted "
        f"{len(report.not_attempted)}"
    )
    failed = [o for o in report.outcomes if o.status is ImportStatus.FAILED]
    if failed:
        out.heading("Failed")
        out.table(
            [Column("reference"), Column("rows"), Column("why", wrap=True)],
            [[o.reference, f"{o.first_row}-{o.last_row}", o.message or o.code] for o in failed],
        )
    if report.bad_cells:
        out.heading("Bad cells")
        _bad_cells_table(report.bad_cells, out)
    if not report.complete:
        out.line("nothing was written for the failed references; fix them and import again")


def import_file(args: argparse.Namespace, out: Output) -> int:
    """Import orders or stock counts; with ``--check`` (orders) only check the file."""
    options: dict[str, Any] = {"format": args.format, "encoding": args.encoding}
    mode = "good_rows" if args.good_rows else "all_or_nothing"
    with open_service(args.store, args.schema) as service:
        if args.kind == "orders" and args.check:
            bad = check_orders(args.file, **options)
            if args.json:
                out.json({"bad_cells": [_cell_document(cell) for cell in bad]})
            elif bad:
                out.line(f"{args.file}: {counted(len(bad), 'bad cell')}; nothing was written")
                _bad_cells_table(bad, out)
            else:
                out.line(f"{args.file}: every cell is good; nothing was written (--check)")
            return 1 if bad else 0
        with _progress() as progress:
            if args.kind == "orders":
                report = import_orders(
                    service,
                    args.file,
                    mode=mode,
                    confirm=args.confirm,
                    allow_backorder=not args.no_backorder,
                    drafts=args.drafts,
                    actor=args.actor,
                    progress=progress,
                    **options,
                )
            else:
                report = import_stock_counts(
                    service,
                    args.file,
                    mode=mode,
                    release_excess=args.release_excess,
                    actor=args.actor,
                    progress=progress,
                    **options,
                )
    if args.json:
        out.json(_report_document(report))
    else:
        _print_report(report, args.file, out)
    return 0 if report.complete else 1


def export_file(args: argparse.Namespace, out: Output) -> int:
    """Export the orders (or their lines) the filters match to a CSV or XLSX file."""
    query = order_filters(args, limit=500)
    write = export_orders if args.kind == "orders" else export_lines
    with open_service(args.store, args.schema) as service:
        rows = write(args.file, iter_orders(service, query), format=args.format)
    noun = "order" if args.kind == "orders" else "order line"
    if args.json:
        out.json({"file": args.file, "kind": args.kind, "rows": rows})
    else:
        out.line(f"wrote {counted(rows, noun)} to {args.file}")
    return 0
