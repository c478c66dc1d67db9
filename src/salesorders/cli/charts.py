"""Charts of a report: a file drawn with matplotlib (``--chart out.png|out.svg``) and a preview
in the terminal drawn with plotext (``--preview``), both from the ``charts`` extra
(``pip install "salesorders[charts]"``).

One chart per report: the orders per period, or, for a grouped report, per group; with a
reporting currency, the value in it rather than the count.
"""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from salesorders.analytics import Report
from salesorders.errors import MissingExtraError, ValidationError

__all__ = [
    "ChartData",
    "chart_data",
    "check_chart_path",
    "check_preview",
    "preview",
    "save_chart",
]

_FORMATS = (".png", ".svg")


@attrs.frozen
class ChartData:
    """What a chart draws: a title, one label and one height per bar, and the axis's name."""

    title: str
    labels: tuple[str, ...]
    heights: tuple[Decimal, ...]
    measure: str


def chart_data(report: Report) -> ChartData:
    """The bars of ``report``: orders (or value in the reporting currency) per period, or per
    group summed over the periods when the report is grouped."""
    query = report.query
    currency = query.reporting_currency
    measure = f"value ({currency})" if currency else "orders"
    totals: dict[str, Decimal] = {}
    for row in report.rows:
        key = (row.group or "(none)") if query.group_by else row.period.isoformat()
        height = Decimal(row.value.amount) if currency and row.value else Decimal(row.orders)
        totals[key] = totals.get(key, Decimal(0)) + height
    by = f"by {query.group_by}" if query.group_by else f"per {query.period}"
    last = query.end - dt.timedelta(microseconds=1)  # the end is exclusive
    window = f"{query.start:%Y-%m-%d} to {last:%Y-%m-%d}"
    title = f"{measure[0].upper()}{measure[1:]} {by}, {window}"
    return ChartData(title, tuple(totals), tuple(totals.values()), measure)


def _module(name: str, option: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as missing:
        raise MissingExtraError.needs("charts", name.split(".")[0], option) from missing


def check_chart_path(path: str) -> Path:
    """``path`` if it names a PNG or SVG file in an existing directory."""
    target = Path(path)
    if target.suffix.lower() not in _FORMATS:
        raise ValidationError(
            "--chart", path, "must end in .png or .svg", "e.g. --chart report.svg"
        )
    if not target.parent.is_dir():
        raise ValidationError("--chart", path, "is in a directory that does not exist")
    return target


def save_chart(data: ChartData, path: str) -> Path:
    """Draw ``data`` as a bar chart into ``path`` (PNG or SVG, by its suffix), reproducibly:
    the same data gives the same file."""
    target = check_chart_path(path)
    matplotlib = _module("matplotlib", "--chart")
    matplotlib.use("Agg")  # no display: files only
    pyplot = _module("matplotlib.pyplot", "--chart")
    with matplotlib.rc_context({"svg.hashsalt": "salesorders"}):  # the same ids every time
        _draw(pyplot, data, target)
    return target


def _draw(pyplot: Any, data: ChartData, target: Path) -> None:
    figure, axes = pyplot.subplots(figsize=(8, 4.5), dpi=100)
    try:
        positions = list(range(len(data.labels)))
        axes.bar(positions, [float(h) for h in data.heights], color="#3b6ea5")
        axes.set_xticks(positions, data.labels, rotation=30 if len(data.labels) > 6 else 0)
        axes.set_ylabel(data.measure)
        axes.set_title(data.title)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        fixed = {"Date": None} if target.suffix.lower() == ".svg" else {"Software": None}
        figure.savefig(target, format=target.suffix.lower()[1:], metadata=fixed)
    finally:
        pyplot.close(figure)


def check_preview() -> None:
    """Refuse ``--preview`` at once, naming the extra, when plotext is not installed."""
    _module("plotext", "--preview")


def preview(data: ChartData, width: int, colour: bool) -> str:
    """``data`` as a bar chart drawn in text, ``width`` columns wide."""
    plotext = _module("plotext", "--preview")
    figure = plotext.figure
    figure.clear()
    figure.plot_size(width, 16)
    figure.theme("default" if colour else "colorless")
    figure.draw(figure.bar(list(data.labels), [float(h) for h in data.heights]))
    figure.title(data.title)
    text = str(figure.build())
    if not colour:
        text = str(plotext.uncolorize(text))
    return "\n".join(line.rstrip() for line in text.splitlines())
