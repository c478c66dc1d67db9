"""Tables out to CSV and XLSX, safe to open in a spreadsheet program.

:func:`write_table` writes any table — columns and rows, such as an analytics report — streamed
row by row. Text cells starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return are
written with a leading single quote (OWASP's advice against formula injection), so a customer
name like ``=HYPERLINK(...)`` stays text in every program. Numbers the library computes
(``Decimal``, ``int``) are written as exact decimal text and never quoted; money is an amount
column beside a currency column. :func:`export_orders` and :func:`export_lines` write orders
and their lines in the layouts :data:`ORDER_EXPORT_COLUMNS` and :data:`LINE_EXPORT_COLUMNS`.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import enum
import io
import os
import typing
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import IO, Any, Final

import attrs
from moneyed import Money

from salesorders.domain.order import Order
from salesorders.errors import ValidationError
from salesorders.ports import OrderQuery
from salesorders.service.sales import SalesService
from salesorders.spreadsheets.sources import load_openpyxl

__all__ = [
    "LINE_EXPORT_COLUMNS",
    "ORDER_EXPORT_COLUMNS",
    "Target",
    "export_lines",
    "export_orders",
    "iter_orders",
    "neutralise",
    "order_line_rows",
    "order_rows",
    "write_records",
    "write_table",
]

#: Where a table goes: a path (the format from its suffix) or a binary file object.
Target = str | os.PathLike[str] | IO[bytes]

#: What makes a spreadsheet program read a text cell as a formula.
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")

ORDER_EXPORT_COLUMNS: Final = (
    "order_id", "number", "customer_id", "customer_group", "state", "currency",
    "created_at", "placed_at", "lines", "subtotal", "discount_total", "shipping_net",
    "shipping_tax", "net_total", "tax_total", "grand_total",
)  # fmt: skip

LINE_EXPORT_COLUMNS: Final = (
    "order_id", "number", "line_id", "sku", "description", "quantity", "cancelled",
    "currency", "unit_price", "amount", "discount", "net", "tax", "gross", "allocated",
    "backordered",
)  # fmt: skip


def neutralise(text: str) -> str:
    """``text`` with a leading ``'`` if a spreadsheet program would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value: Any) -> str | int:
    """One cell as written: text neutralised, numbers exact, dates ISO 8601, nothing empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Money):
        return format(value.amount, "f")  # the currency goes in its own column
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return _cell(value.value)
    if isinstance(value, tuple | list | frozenset | set):
        # Several values in one cell (a report's value per currency): "110.50 USD; 5.31 EUR".
        items = sorted(value, key=str) if isinstance(value, frozenset | set) else value
        return neutralise("; ".join(_item_text(item) for item in items))
    if isinstance(value, float):
        raise ValidationError(
            "rows", value, "holds a float", "give exact numbers as Decimal (or int)"
        )
    return neutralise(str(value))


def _item_text(value: Any) -> str:
    """One value of a cell that holds several, as exact text (money with its currency)."""
    if isinstance(value, Money):
        return f"{format(value.amount, 'f')} {value.currency.code}"
    text = _cell(value)
    return text if isinstance(text, str) else str(text)


def _format(target: Target, format: str | None) -> str:
    if format is not None:
        if format not in ("csv", "xlsx"):
            raise ValidationError("format", format, "must be 'csv' or 'xlsx'")
        return format
    if isinstance(target, str | os.PathLike):
        suffix = os.fspath(target).rsplit(".", 1)[-1].lower()
        if suffix in ("csv", "xlsx"):
            return suffix
    raise ValidationError(
        "format", None, "cannot tell from the target",
        "name the file .csv or .xlsx, or pass format='csv' or format='xlsx'",
    )  # fmt: skip


@contextlib.contextmanager
def _binary_target(target: Target) -> Iterator[IO[bytes]]:
    if isinstance(target, str | os.PathLike):
        with open(target, "wb") as stream:
            yield stream
    elif hasattr(target, "write"):
        yield target
    else:
        raise ValidationError(
            "target", target, "must be a path or a binary file object", "open it with 'wb'"
        )


def write_table(
    target: Target,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    format: str | None = None,
    sheet: str = "Sheet1",
    encoding: str = "utf-8-sig",
) -> int:
    """Write a header of ``columns`` and then ``rows`` to ``target``; returns the rows written.

    CSV is written in ``encoding`` (by default UTF-8 with a byte order mark, which spreadsheet
    programs need to read it as UTF-8; ``"gb18030"`` for older Chinese Excel); XLSX (``pip
    install "salesorders[xlsx]"``) as one sheet named ``sheet``, streamed. A row of another
    length than ``columns`` is refused.
    """
    kind = _format(target, format)
    header = [_cell(name) for name in columns]
    width = len(header)
    if encoding not in ("utf-8", "utf-8-sig", "gb18030"):
        raise ValidationError("encoding", encoding, "is not supported", "use 'utf-8-sig'")
    count = 0

    def cells() -> Iterator[list[str | int]]:
        nonlocal count
        for index, row in enumerate(rows):
            if len(row) != width:
                raise ValidationError(
                    f"rows[{index}]", len(row), f"has another length than the {width} columns"
                )
            count += 1
            yield [_cell(value) for value in row]

    with _binary_target(target) as stream:
        if kind == "csv":
            text = io.TextIOWrapper(stream, encoding=encoding, newline="")
            try:
                writer = csv.writer(text)
                writer.writerow(header)
                writer.writerows(cells())
                text.flush()
            finally:
                text.detach()
        else:
            openpyxl = load_openpyxl()
            workbook = openpyxl.Workbook(write_only=True)
            worksheet = workbook.create_sheet(sheet)
            worksheet.append(header)
            for row in cells():
                worksheet.append(row)
            workbook.save(stream)
    return count


def _holds_money(annotation: Any) -> bool:
    """Whether a field annotated ``annotation`` holds money (``Money``, ``Money | None``)."""
    if isinstance(annotation, str):  # an annotation left unresolved: read its text
        return "Money" in annotation.replace("|", " ").split()
    if isinstance(annotation, type):
        return issubclass(annotation, Money)
    if typing.get_origin(annotation) in (tuple, list, frozenset, set):
        return False  # several amounts in one cell name their own currencies
    return any(_holds_money(arg) for arg in typing.get_args(annotation))


def record_columns(record_type: type) -> tuple[tuple[str, ...], tuple[tuple[str, bool], ...]]:
    """The columns of an attrs class's rows: one per field, and a ``<field>_currency`` column
    after each ``Money`` field; and each field with whether it holds money."""
    if not attrs.has(record_type):
        raise ValidationError(
            "records", record_type.__name__, "are not attrs instances", "pass rows to write_table"
        )
    try:
        hints = typing.get_type_hints(record_type)
    except NameError:  # annotations naming what the class's module does not hold
        hints = {}
    fields = tuple(
        (f.name, _holds_money(hints.get(f.name, f.type))) for f in attrs.fields(record_type)
    )
    columns: list[str] = []
    for name, money in fields:
        columns.append(name)
        if money:
            columns.append(f"{name}_currency")
    return tuple(columns), fields


def write_records(
    target: Target,
    records: Iterable[Any],
    *,
    record_type: type | None = None,
    format: str | None = None,
    sheet: str = "Sheet1",
    encoding: str = "utf-8-sig",
) -> int:
    """Write attrs instances (report rows, say) as a table: one column per field, money as its
    exact amount beside a ``<field>_currency`` column (a field of several amounts, such as a
    report's value per currency, is one text cell: ``"110.50 USD; 5.31 EUR"``); returns the rows
    written. The columns come from ``record_type``, else from the first record (all must be of
    its class)."""
    items = iter(records)
    first = next(items, _NOTHING)
    chosen = record_type or (type(first) if first is not _NOTHING else None)
    if chosen is None:
        raise ValidationError(
            "record_type", None, "is needed when there are no records", "pass record_type=..."
        )
    columns, fields = record_columns(chosen)

    def rows() -> Iterator[list[Any]]:
        for index, record in enumerate(_chain(first, items)):
            if type(record) is not chosen:
                raise ValidationError(
                    f"records[{index}]", type(record).__name__, f"is not a {chosen.__name__}"
                )
            row: list[Any] = []
            for name, money in fields:
                value = getattr(record, name)
                row.append(value)
                if money:
                    row.append(value.currency.code if isinstance(value, Money) else None)
            yield row

    return write_table(target, columns, rows(), format=format, sheet=sheet, encoding=encoding)


_NOTHING: Final = object()


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    if first is not _NOTHING:
        yield first
    yield from rest


def iter_orders(service: SalesService, query: OrderQuery | None = None) -> Iterator[Order]:
    """Every order ``query`` matches (by default all, oldest first), a page at a time: every
    filter of ``query`` holds on every page."""
    base = query or OrderQuery(limit=500)
    page = service.list_orders(base)
    while True:
        yield from page.orders
        if page.next_cursor is None:
            return
        page = service.list_orders(attrs.evolve(base, after=page.next_cursor, with_total=False))


def order_rows(orders: Iterable[Order]) -> Iterator[tuple[Any, ...]]:
    """One row per order in :data:`ORDER_EXPORT_COLUMNS`' order."""
    for order in orders:
        totals = order.totals
        yield (
            order.id, order.number, order.customer_id, order.customer_group, order.state,
            order.currency, order.created_at, order.placed_at, len(order.lines),
            totals.subtotal, totals.discount_total, totals.shipping_net, totals.shipping_tax,
            totals.net_total, totals.tax_total, totals.grand_total,
        )  # fmt: skip


def order_line_rows(orders: Iterable[Order]) -> Iterator[tuple[Any, ...]]:
    """One row per order line in :data:`LINE_EXPORT_COLUMNS`' order."""
    for order in orders:
        for line in order.lines:
            yield (
                order.id, order.number, line.line_id, line.sku, line.description,
                line.quantity, line.cancelled, order.currency, line.unit_price, line.amount,
                line.line_discount + line.order_discount, line.net, line.tax, line.gross,
                line.allocated, line.backordered,
            )  # fmt: skip


def export_orders(target: Target, orders: Iterable[Order], *, format: str | None = None) -> int:
    """Write one row per order (:data:`ORDER_EXPORT_COLUMNS`); returns the rows written.
    ``orders``: e.g. ``iter_orders(service)``."""
    return write_table(target, ORDER_EXPORT_COLUMNS, order_rows(orders), format=format)


def export_lines(target: Target, orders: Iterable[Order], *, format: str | None = None) -> int:
    """Write one row per order line (:data:`LINE_EXPORT_COLUMNS`); returns the rows written."""
    return write_table(target, LINE_EXPORT_COLUMNS, order_line_rows(orders), format=format)
