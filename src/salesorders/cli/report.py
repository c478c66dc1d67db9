"""``salesorders report``: the analytics of the orders placed in a window, as tables, as JSON,
and as a chart (``--chart out.png|out.svg``, ``--preview`` in the terminal).

The figures are :mod:`salesorders.analytics`' own (:meth:`~salesorders.service.SalesService.
report`, ``lead_time_percentiles``, ``top_skus``, ``top_customers``); this module only lays them
out.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from moneyed import Money

from salesorders.analytics import GROUPS, PERIODS, Report, ReportQuery, ReportRow
from salesorders.cli.charts import (
    chart_data,
    check_chart_path,
    check_preview,
    preview,
    save_chart,
)
from salesorders.cli.orders import parse_moment
from salesorders.cli.output import Column, Output, is_terminal
from salesorders.cli.store import open_service
from salesorders.errors import ValidationError
from salesorders.serialization import Serializer
from salesorders.spreadsheets import write_records

__all__ = ["GROUPS", "PERIODS", "show_report"]

_DEFAULT_DAYS = 365


def _rates(pairs: Sequence[str]) -> dict[str, str]:
    rates: dict[str, str] = {}
    for pair in pairs:
        code, sep, rate = pair.partition("=")
        if not sep:
            raise ValidationError("--rate", pair, "must be CURRENCY=RATE", "e.g. --rate EUR=1.08")
        rates[code.strip().upper()] = rate.strip()
    return rates


def _query(args: argparse.Namespace) -> ReportQuery:
    if args.date_to is None:
        end = dt.datetime.combine(dt.datetime.now(dt.UTC).date(), dt.time(), dt.UTC)
        end += dt.timedelta(days=1)
    else:
        end = parse_moment(args.date_to, "--to", end=True)
    start = (
        end - dt.timedelta(days=_DEFAULT_DAYS)
        if args.date_from is None
        else parse_moment(args.date_from, "--from")
    )
    rates = _rates(args.rate)
    return ReportQuery(
        start=start,
        end=end,
        period=args.period,
        group_by=args.group_by,
        reporting_currency=args.currency,
        rates=rates or None,
        limit=args.top,
    )


def _percent(rate: Decimal | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _duration(seconds: Decimal | None) -> str:
    if seconds is None:
        return "-"
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return f"{days}d {hours}h" if days else f"{hours}h {minutes:02}m"


def _values(out: Output, values: Sequence[Money]) -> str:
    return ", ".join(out.money(value) for value in values) or "-"


def _report_table(report: Report, out: Output) -> None:
    grouped = report.query.group_by is not None
    currency = report.query.reporting_currency
    columns = [Column(report.query.period)]
    if grouped:
        columns.append(Column(str(report.query.group_by), keep=True))
    columns += [
        Column("orders", right=True),
        Column(
            f"value {currency}" if currency else "value",
            right=currency is not None,
            wrap=currency is None,
        ),
        Column("cancel", right=True),
        Column("backord", right=True),
        Column("return", right=True),
        Column("on time", right=True),
    ]
    rows = []
    for row in report.rows:
        cells = [row.period.isoformat()] + ([row.group or "-"] if grouped else [])
        value = out.money(row.value) if row.value is not None else _values(out, row.values)
        cells += [
            str(row.orders),
            value,
            _percent(row.cancellation_rate),
            _percent(row.backorder_rate),
            _percent(row.return_rate),
            _percent(row.on_time_rate),
        ]
        rows.append(cells)
    out.table(columns, rows)


def _check_output(path: str) -> Path:
    """``path`` if it names a CSV or XLSX file in an existing directory."""
    target = Path(path)
    if target.suffix.lower() not in (".csv", ".xlsx"):
        raise ValidationError(
            "--output", path, "must end in .csv or .xlsx", "e.g. --output report.xlsx"
        )
    if not target.parent.is_dir():
        raise ValidationError("--output", path, "is in a directory that does not exist")
    return target


def show_report(args: argparse.Namespace, out: Output) -> int:
    """The report, lead times and top SKUs and customers of the window."""
    query = _query(args)
    if args.chart is not None:
        check_chart_path(args.chart)  # refuse a bad path before reading anything
    if args.preview:
        check_preview()
    output = None if args.output is None else _check_output(args.output)
    with open_service(args.store, args.schema) as service:
        report = service.report(query)
        lead_times = service.lead_time_percentiles(query)
        top_skus = service.top_skus(query)
        top_customers = service.top_customers(query)
    data = chart_data(report)
    if args.chart is not None:
        save_chart(data, args.chart)
    if output is not None:
        write_records(output, report.rows, record_type=ReportRow)
    if args.json:
        dump = Serializer().dump
        out.json(
            {
                "report": dump(report),
                "lead_times": dump(lead_times),
                "top_skus": [dump(sku) for sku in top_skus],
                "top_customers": [dump(customer) for customer in top_customers],
            }
        )
        return 0
    out.line(
        f"Orders placed from {query.start:%Y-%m-%d %H:%M} up to {query.end:%Y-%m-%d %H:%M} UTC, "
        f"per {query.period}" + (f", by {query.group_by}" if query.group_by else "")
    )
    if not report.rows:
        out.line("  no orders placed in this window")
    else:
        _report_table(report, out)
    if lead_times.rows:
        out.heading("Lead times (nearest-rank percentiles)")
        out.table(
            [
                Column(query.period),
                Column("stage"),
                Column("orders", right=True),
                Column("p50", right=True),
                Column("p90", right=True),
                Column("p99", right=True),
            ],
            [
                [
                    r.period.isoformat(),
                    r.stage.replace("_", " "),
                    str(r.count),
                    _duration(r.p50),
                    _duration(r.p90),
                    _duration(r.p99),
                ]
                for r in lead_times.rows
            ],
        )
    if top_skus:
        out.heading("Top SKUs")
        out.table(
            [
                Column("sku"),
                Column("units", right=True),
                Column("orders", right=True),
                Column("value", wrap=True),
            ],
            [[s.sku, str(s.quantity), str(s.orders), _values(out, s.values)] for s in top_skus],
        )
    if top_customers:
        out.heading("Top customers")
        out.table(
            [Column("customer"), Column("orders", right=True), Column("value", wrap=True)],
            [[c.customer_id, str(c.orders), _values(out, c.values)] for c in top_customers],
        )
    if args.chart is not None:
        out.heading(f"Chart written to {args.chart}")
    if output is not None:
        out.heading(f"Rows written to {output}")
    if args.preview:
        out.stream.write("\n" + preview(data, out.width, is_terminal(out.stream)) + "\n")
    return 0
