"""Price lists from a spreadsheet: one row per quantity break, rows with one price list id form
one :class:`~salesorders.pricing.PriceList` (in any order), ready for a
:class:`~salesorders.pricing.PriceBook` given to ``bootstrap(price_book=...)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs

from salesorders.domain.pricing import PriceBreak, PriceList, PriceListEntry
from salesorders.errors import BadCell, SpreadsheetError, ValidationError
from salesorders.spreadsheets.cells import RowCells, is_blank
from salesorders.spreadsheets.layouts import PRICE_COLUMNS, read_header_row
from salesorders.spreadsheets.report import Progress, reporter
from salesorders.spreadsheets.sources import Limits, Source, open_rows, source_name

__all__ = ["read_price_lists"]

_ZERO = Decimal(0)


@attrs.define
class _List:
    row: int
    currency: str
    customer_group: str | None
    name: str
    breaks: dict[str, dict[Decimal, PriceBreak]] = attrs.field(factory=dict)


def _collect(
    rows: Iterator[tuple[int, list[Any]]], bad: list[BadCell], progress: Progress | None
) -> dict[str, _List]:
    columns, headers = read_header_row(rows, PRICE_COLUMNS)
    lists: dict[str, _List] = {}
    report = reporter(progress)
    number = 1
    for number, cells in rows:
        report("checking", number, None)
        if is_blank(cells):
            continue
        row = RowCells(number, cells, columns, headers, bad)
        before = len(bad)
        list_id = row.identifier("price_list")
        currency = row.currency("currency")
        sku = row.identifier("sku")
        price = row.unit_price("unit_price", currency, required=True)
        minimum = row.checked("min_quantity", _min_quantity, required=False)
        group = row.identifier("customer_group", required=False)
        name = row.free_text("name")
        if len(bad) > before or None in (list_id, currency, sku, price):
            continue
        assert list_id is not None and currency is not None and sku is not None  # noqa: PT018
        assert price is not None
        found = lists.setdefault(list_id, _List(number, currency, group, name))
        for column, mine, theirs in (
            ("currency", currency, found.currency),
            ("customer_group", group, found.customer_group),
            ("name", name or found.name, found.name),
        ):
            if mine != theirs:
                row.refuse(
                    column,
                    mine or "",
                    f"differs from row {found.row}'s {theirs or ''!r} for price list {list_id}",
                    "one price list has one currency, customer group and name",
                )
        breaks = found.breaks.setdefault(sku, {})
        quantity = _ZERO if minimum is None else minimum
        if quantity in breaks:
            row.refuse(
                "min_quantity",
                str(quantity),
                f"is a second break of {sku} from {quantity} in price list {list_id}",
                "keep one price per SKU and quantity break",
            )
        else:
            breaks[quantity] = PriceBreak(quantity, price)
    report("checking", number, number, force=True)
    return lists


def _min_quantity(text: str) -> Decimal:
    """A break's smallest quantity, as the price list's own check takes it."""
    return PriceBreak(text, _ZERO).min_quantity


def read_price_lists(
    source: Source,
    *,
    format: str | None = None,
    encoding: str = "utf-8",
    limits: Limits | None = None,
    progress: Progress | None = None,
) -> tuple[PriceList, ...]:
    """The price lists of ``source`` (columns ``price_list``, ``currency``, ``sku``,
    ``unit_price``, optionally ``min_quantity`` (empty: any quantity), ``customer_group`` and
    ``name``; see docs/import.md), in the order their first rows come. ``progress`` is called
    as the rows are read (phase ``"checking"``).

    Nothing is stored: build a ``PriceBook`` of them. Any bad cell raises
    :class:`~salesorders.errors.SpreadsheetError` listing every one.
    """
    bad: list[BadCell] = []
    with open_rows(source, format, encoding, limits) as rows:
        lists = _collect(rows, bad, progress)
    if bad:
        raise SpreadsheetError.listing(sorted(bad, key=lambda c: c.row), source_name(source))
    built = []
    for list_id, found in lists.items():
        entries = [
            PriceListEntry(sku, tuple(breaks.values())) for sku, breaks in found.breaks.items()
        ]
        try:
            built.append(
                PriceList(list_id, found.currency, entries, found.customer_group, found.name)
            )
        except ValidationError as error:
            raise SpreadsheetError.listing(
                [BadCell(found.row, "price_list", list_id, error.problem, error.hint)],
                source_name(source),
            ) from error
    return tuple(built)
