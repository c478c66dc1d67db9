"""The column layouts of the files the library imports, with their English and Chinese headers.

A header cell names a column by its name or one of its aliases; case, spaces, ``_`` and ``-``
do not matter (``Unit Price``, ``unit_price`` and ``单价`` are the same column). A header naming
no column of the layout, naming one twice, or a required column missing, is a bad cell of row 1.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final

import attrs

from salesorders.errors import BadCell, SpreadsheetError

__all__ = [
    "LINE_COLUMNS",
    "PRICE_COLUMNS",
    "STOCK_COLUMNS",
    "Column",
    "Layout",
    "read_header",
    "read_header_row",
]


@attrs.frozen(slots=True)
class Column:
    """One column of a layout: its ``name``, the other headers it may be written as, and
    whether every file must have it."""

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = True
    meaning: str = ""


@attrs.frozen(slots=True)
class Layout:
    """The columns of one kind of file, by name."""

    kind: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def headers(self) -> dict[str, str]:
        """Every accepted header (normalised) and the column it names."""
        found: dict[str, str] = {}
        for column in self.columns:
            for header in (column.name, *column.aliases):
                found[_normal(header)] = column.name
        return found


def _normal(header: str) -> str:
    return "".join(header.split()).replace("_", "").replace("-", "").casefold()


#: Order lines: one row per line; consecutive rows with the same reference form one order.
LINE_COLUMNS: Final = Layout(
    "orders",
    (
        Column(
            "reference",
            ("order_ref", "order reference", "external_ref", "订单号", "订单编号", "外部单号"),
            meaning="the order's reference in the system it comes from; the order id derives "
            "from it",
        ),
        Column("customer", ("customer_id", "客户", "客户编号"), meaning="the customer id"),
        Column("currency", ("币种", "货币"), meaning="the order's ISO 4217 currency"),
        Column("sku", ("商品编码", "货号"), False, "the SKU (or give a barcode)"),
        Column(
            "barcode",
            ("gtin", "ean", "upc", "条码", "条形码"),
            False,
            "a GTIN-8/12/13/14 turned into the SKU by a barcode lookup",
        ),
        Column("quantity", ("qty", "数量"), meaning="how many, in the product's unit"),
        Column(
            "unit_price",
            ("price", "单价"),
            False,
            "in the order currency; empty: the price book's or the catalogue's price",
        ),
        Column("description", ("描述", "品名", "商品名称"), False, "the line's description"),
        Column("customer_group", ("group", "客户组"), False, "the customer's price group"),
    ),
)

#: Stock counts: the counted on-hand figure of a SKU in a warehouse (a batch, optionally).
STOCK_COLUMNS: Final = Layout(
    "stock",
    (
        Column("sku", ("商品编码", "货号"), meaning="the SKU"),
        Column("warehouse", ("warehouse_id", "仓库", "仓库编号"), meaning="the warehouse id"),
        Column(
            "counted",
            ("quantity", "qty", "on_hand", "数量", "盘点数量", "库存"),
            meaning="the on-hand figure counted",
        ),
        Column("batch", ("batch_id", "lot", "批次", "批号"), False, "the batch counted"),
    ),
)

#: Price lists: one row per quantity break; rows with the same price list id form one list.
PRICE_COLUMNS: Final = Layout(
    "prices",
    (
        Column("price_list", ("price_list_id", "价目表", "价格表"), meaning="the list's id"),
        Column("currency", ("币种", "货币"), meaning="the list's ISO 4217 currency"),
        Column("sku", ("商品编码", "货号"), meaning="the SKU"),
        Column("unit_price", ("price", "单价"), meaning="the unit price from this break on"),
        Column(
            "min_quantity",
            ("break", "from_quantity", "起订量", "最小数量"),
            False,
            "the break's smallest quantity (empty: 1)",
        ),
        Column("customer_group", ("group", "客户组"), False, "empty: every customer"),
        Column("name", ("list_name", "名称"), False, "the list's name"),
    ),
)


def read_header(layout: Layout, cells: Sequence[Any]) -> tuple[dict[str, int], list[BadCell]]:
    """The index of each column the header row names, and the bad cells of the header."""
    headers = layout.headers()
    found: dict[str, int] = {}
    bad: list[BadCell] = []
    accepted = ", ".join(layout.names)
    for index, cell in enumerate(cells):
        text = "" if cell is None else str(cell).strip()
        if not text:
            continue
        name = headers.get(_normal(text))
        if name is None:
            bad.append(
                BadCell(
                    1,
                    text,
                    text,
                    f"is not a column of the {layout.kind} layout",
                    f"use one of {accepted} (or an alias; see the docs)",
                )
            )
        elif name in found:
            bad.append(BadCell(1, text, text, f"names the {name} column twice", "keep one"))
        else:
            found[name] = index
    for column in layout.columns:
        if column.required and column.name not in found:
            aliases = " / ".join(column.aliases)
            bad.append(
                BadCell(
                    1,
                    column.name,
                    "",
                    "is a required column missing from the header",
                    f"add a column headed {column.name} ({aliases})",
                )
            )
    return found, bad


def read_header_row(
    rows: Iterator[tuple[int, list[Any]]], layout: Layout
) -> tuple[dict[str, int], dict[str, str]]:
    """Read the header (the first row) of ``rows``: the index of each column and its header as
    written, by column name; a bad header raises
    :class:`~salesorders.errors.SpreadsheetError` listing every bad header cell."""
    for _, cells in rows:
        if all(cell is None or not str(cell).strip() for cell in cells):
            raise SpreadsheetError.listing(
                [BadCell(1, "", "", "is empty: the first row must be the header", "add it")]
            )
        columns, bad = read_header(layout, cells)
        if bad:
            raise SpreadsheetError.listing(bad)
        headers = {name: str(cells[index]).strip() for name, index in columns.items()}
        return columns, headers
    raise SpreadsheetError.listing(
        [BadCell(1, "", "", "is missing: the file is empty", "export the sheet with its header")]
    )
