"""Orders from a spreadsheet: one row per order line, consecutive rows with one reference form
one order, placed (or created as drafts) through the service under an id derived from the
reference, so importing a file again creates nothing new.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, cast

import attrs

from salesorders.domain.catalog import MAX_QUANTITY_PRECISION
from salesorders.domain.checks import ID_MAX_LENGTH, require_id
from salesorders.domain.money import within_places
from salesorders.domain.order_values import LineSpec
from salesorders.errors import (
    BadCell,
    ConflictError,
    NotFoundError,
    SpreadsheetError,
    ValidationError,
)
from salesorders.ports import BarcodeCatalog, Catalog
from salesorders.service.commands import CreateDraft, PlaceOrder
from salesorders.service.sales import SalesService
from salesorders.spreadsheets.cells import RowCells, is_blank
from salesorders.spreadsheets.layouts import LINE_COLUMNS, Layout, read_header_row
from salesorders.spreadsheets.report import (
    ImportMode,
    ImportReport,
    Progress,
    Unit,
    run_import,
    written,
)
from salesorders.spreadsheets.sources import Limits, Source, open_rows, source_name

__all__ = ["DEFAULT_ORDER_ID_PREFIX", "check_orders", "import_orders", "order_id_for"]

#: What an imported order's id starts with: ``import:`` + its reference.
DEFAULT_ORDER_ID_PREFIX = "import:"


def order_id_for(reference: str, prefix: str = DEFAULT_ORDER_ID_PREFIX) -> str:
    """The id of the order imported under ``reference``: ``prefix + reference``, the same on
    every import, so an order already imported is found and skipped."""
    return require_id(prefix + require_id(reference, "reference"), "order_id")


@attrs.frozen(slots=True)
class _Line:
    row: int
    sku: str
    quantity: Decimal
    unit_price: Decimal | None
    description: str


#: A row's number, customer, currency and customer group (``None``: a bad or empty cell).
_Head = tuple[int, str | None, str | None, str | None]


@attrs.frozen(slots=True)
class _Order:
    order_id: str
    customer: str
    currency: str
    customer_group: str | None
    lines: tuple[LineSpec, ...]


class _OrderReader:
    """Reads a file's rows into order units, checking every cell."""

    def __init__(
        self,
        catalog: Catalog | None,
        barcodes: BarcodeCatalog | None,
        prefix: str,
    ) -> None:
        if not isinstance(prefix, str):
            raise ValidationError("order_id_prefix", prefix, "must be a string", "e.g. 'import:'")
        if len(prefix) >= ID_MAX_LENGTH:
            raise ValidationError("order_id_prefix", prefix, "leaves no room for a reference")
        self.catalog = catalog
        self.barcodes = barcodes
        self.prefix = prefix
        self.precision = 0 if catalog is None else MAX_QUANTITY_PRECISION

    def units(self, rows: Iterator[tuple[int, list[Any]]], layout: Layout) -> Iterator[Unit]:
        columns, headers = read_header_row(rows, layout)
        if "sku" not in columns and "barcode" not in columns:
            raise SpreadsheetError.listing(
                [BadCell(1, "sku", "", "is missing: give a sku or a barcode column", "add one")]
            )
        if "barcode" in columns and self.barcodes is None:
            raise ValidationError(
                "barcodes",
                None,
                "is needed to read the file's barcode column",
                "pass barcodes=MemoryBarcodes(...) (a BarcodeCatalog)",
            )
        seen: dict[str, int] = {}
        current: list[_Line] = []
        heads: list[_Head] = []
        bad: list[BadCell] = []
        reference = ""
        first = last = 0
        for number, cells in rows:
            if is_blank(cells):
                continue
            row_bad: list[BadCell] = []
            line, ref, head = self._line(RowCells(number, cells, columns, headers, row_bad))
            if ref is None:
                # A row without a readable reference is reported on its own; the order being
                # read stays open, so its next row is not taken for a split order.
                lines = [] if line is None else [line]
                yield self._unit(f"(row {number})", number, number, lines, [head], row_bad, headers)
                continue
            key = ref
            if key != reference:
                if heads:
                    yield self._unit(reference, first, last, current, heads, bad, headers)
                reference, first, current, heads, bad = key, number, [], [], []
                earlier = seen.setdefault(ref, number)
                if earlier != number:
                    row_bad.append(_split_order(number, headers, ref, earlier))
            last = number
            bad.extend(row_bad)
            heads.append(head)
            if line is not None:
                current.append(line)
        if heads:
            yield self._unit(reference, first, last, current, heads, bad, headers)

    def _line(self, cells: RowCells) -> tuple[_Line | None, str | None, _Head]:
        ref = cells.identifier("reference", max_length=ID_MAX_LENGTH - len(self.prefix))
        customer = cells.identifier("customer")
        currency = cells.currency("currency")
        group = cells.identifier("customer_group", required=False)
        head = (cells.row, customer, currency, group)
        sku = self._sku(cells)
        quantity = cells.quantity("quantity", self.precision)
        price = cells.unit_price("unit_price", currency, required=False)
        description = cells.free_text("description")
        if cells.bad or sku is None or quantity is None:
            return None, ref, head
        return _Line(cells.row, sku, quantity, price, description), ref, head

    def _sku(self, cells: RowCells) -> str | None:
        if cells.text("barcode"):
            barcodes = self.barcodes
            assert barcodes is not None  # checked with the header
            from salesorders.barcodes import gtin14  # the barcodes extra, only when used

            def lookup(text: str) -> str:
                sku = barcodes.sku_for(gtin14(text, "barcode"))
                if sku is None:
                    raise ValidationError(
                        "barcode",
                        text,
                        "is not in the barcode catalogue",
                        "add the barcode to the catalogue, or give the SKU",
                    )
                return sku

            return cells.checked("barcode", lookup)
        return cells.identifier("sku")

    def _unit(
        self,
        reference: str,
        first: int,
        last: int,
        lines: list[_Line],
        heads: list[_Head],
        bad: list[BadCell],
        headers: dict[str, str],
    ) -> Unit:
        bad = _sorted(bad + _same_heads(heads, headers) + self._catalog_checks(lines, headers))
        if bad:
            return Unit(reference, first, last, tuple(bad), None)
        _, customer, currency, group = heads[0]
        assert customer is not None  # rows with a bad cell are out
        assert currency is not None
        specs = tuple(LineSpec(x.sku, x.quantity, x.unit_price, x.description) for x in lines)
        order = _Order(self.prefix + reference, customer, currency, group, specs)
        return Unit(reference, first, last, (), order)

    def _catalog_checks(self, lines: list[_Line], headers: dict[str, str]) -> list[BadCell]:
        """With a catalogue, every SKU is known and every quantity fits the product's unit."""
        bad: list[BadCell] = []
        if self.catalog is not None:
            products = self.catalog.products({line.sku for line in lines})
            column = headers.get("sku", headers.get("barcode", "sku"))
            for line in lines:
                product = products.get(line.sku)
                if product is None:
                    bad.append(
                        BadCell(
                            line.row,
                            column,
                            line.sku,
                            "is not in the catalogue",
                            "check the SKU, or add the product to the catalogue first",
                        )
                    )
                elif not within_places(line.quantity, product.quantity_precision):
                    places = product.quantity_precision
                    unit = "whole units" if places == 0 else f"at most {places} decimal places"
                    bad.append(
                        BadCell(
                            line.row,
                            headers["quantity"],
                            str(line.quantity),
                            f"must be in {unit} ({line.sku} is sold by the {product.unit})",
                            "round the quantity to the product's unit",
                        )
                    )
        return bad


def _same_heads(heads: list[_Head], headers: dict[str, str]) -> list[BadCell]:
    """Every row of an order names the customer, currency and group of its first row that
    names one."""
    bad: list[BadCell] = []
    names = ("customer", "currency", "customer_group")
    for position, name in enumerate(names, 1):
        first: tuple[int, str | None] | None = None
        for head in heads:
            value = cast(str | None, head[position])
            if value is None and name != "customer_group":
                continue  # already a bad cell
            if first is None:
                first = (head[0], value)
            elif value != first[1]:
                bad.append(
                    BadCell(
                        head[0],
                        headers.get(name, name),
                        value or "",
                        f"differs from row {first[0]}'s {first[1] or ''!r} for this order",
                        "one order has one customer, currency and customer group",
                    )
                )
    return bad


def _sorted(cells: list[BadCell]) -> list[BadCell]:
    """Bad cells in file order: by row, then as they were found."""
    return sorted(cells, key=lambda cell: cell.row)


def _split_order(row: int, headers: dict[str, str], reference: str, earlier: int) -> BadCell:
    return BadCell(
        row,
        headers.get("reference", "reference"),
        reference,
        f"continues an order whose rows stopped before (it began at row {earlier})",
        "keep the rows of one order together, one after the other",
    )


def _service_catalog(service: SalesService) -> Catalog | None:
    found: Catalog | None = getattr(service.handlers, "catalog", None)
    return found


def check_orders(
    source: Source,
    *,
    format: str | None = None,
    encoding: str = "utf-8",
    catalog: Catalog | None = None,
    barcodes: BarcodeCatalog | None = None,
    order_id_prefix: str = DEFAULT_ORDER_ID_PREFIX,
    limits: Limits | None = None,
) -> tuple[BadCell, ...]:
    """Every bad cell of an order file (empty: it would import), writing nothing. A bad header
    raises :class:`~salesorders.errors.SpreadsheetError` at once."""
    reader = _OrderReader(catalog, barcodes, order_id_prefix)
    bad: list[BadCell] = []
    with open_rows(source, format, encoding, limits) as rows:
        for unit in reader.units(rows, LINE_COLUMNS):
            bad.extend(unit.bad)
    return tuple(bad)


def import_orders(
    service: SalesService,
    source: Source,
    *,
    format: str | None = None,
    mode: ImportMode | str = ImportMode.ALL_OR_NOTHING,
    confirm: bool = False,
    allow_backorder: bool = True,
    drafts: bool = False,
    encoding: str = "utf-8",
    catalog: Catalog | None = None,
    barcodes: BarcodeCatalog | None = None,
    order_id_prefix: str = DEFAULT_ORDER_ID_PREFIX,
    actor: str = "",
    limits: Limits | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the orders of ``source`` (CSV or XLSX; see docs/import.md for the columns).

    Every cell is checked first (against ``catalog``, by default the service's). Then each
    order is placed (``confirm``: and reserved, backordering a shortage unless
    ``allow_backorder`` is false; ``drafts``: created as a draft instead) under the id
    ``order_id_prefix + reference``; an order whose id exists is skipped. ``mode`` says what a
    bad cell or a refused order does (see :class:`ImportMode`); the report says what became of
    every reference.
    """
    if not isinstance(service, SalesService):
        raise ValidationError("service", service, "must be a SalesService", "use bootstrap(...)")
    if drafts and confirm:
        raise ValidationError(
            "confirm",
            confirm,
            "cannot go with drafts=True",
            "a draft is placed and confirmed later",
        )
    reader = _OrderReader(
        catalog if catalog is not None else _service_catalog(service), barcodes, order_id_prefix
    )

    @contextlib.contextmanager
    def units() -> Iterator[Iterator[Unit]]:
        with open_rows(source, format, encoding, limits) as rows:
            yield reader.units(rows, LINE_COLUMNS)

    def write(unit: Unit) -> Any:
        order: _Order = unit.payload
        try:
            service.get_order(order.order_id)
            return written(unit, False, order.order_id)
        except NotFoundError:
            pass
        fields = (order.customer, order.currency, order.lines, order.order_id, order.customer_group)
        command: CreateDraft | PlaceOrder
        if drafts:
            command = CreateDraft(*fields, actor=actor)
        else:
            command = PlaceOrder(
                *fields, confirm=confirm, all_or_nothing=not allow_backorder, actor=actor
            )
        try:
            service.handle(command)
        except ConflictError as error:
            if type(error) is not ConflictError:
                raise
            return written(unit, False, order.order_id)  # imported meanwhile by someone else
        return written(unit, True, order.order_id)

    return run_import("orders", units, write, mode, progress, source_name(source))
