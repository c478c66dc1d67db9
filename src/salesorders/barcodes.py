"""Barcode entry: GTIN-8/12/13/14 (EAN, UPC) checked, looked up, and scanned onto an order.

:func:`check_gtin` validates a code with python-stdnum (``pip install "salesorders[barcodes]"``)
and refuses a bad check digit, length or character with an
:class:`~salesorders.errors.InvalidBarcodeError` naming the field. A
:class:`~salesorders.ports.BarcodeCatalog` turns a code into a SKU (:class:`MemoryBarcodes` keeps
the codes in memory). :class:`ScanEntry` collects the lines of an order from scans: scanning a
SKU already on the entry adds to that line's quantity, so ten scans of one product make one
line of ten, ready for a :class:`~salesorders.PlaceOrder` or :class:`~salesorders.CreateDraft`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from moneyed import Money

from salesorders._public import publish
from salesorders.domain.checks import check_text, require_id
from salesorders.domain.money import to_quantity
from salesorders.domain.order_values import LineSpec
from salesorders.errors import InvalidBarcodeError, MissingExtraError, ValidationError
from salesorders.ports import BarcodeCatalog, Catalog
from salesorders.service.commands import CreateDraft, PlaceOrder

__all__ = ["MemoryBarcodes", "ScanEntry", "check_gtin", "gtin14"]

_PROBLEMS = {
    "InvalidFormat": ("must be digits only", "scan it again, or type the digits under the bars"),
    "InvalidLength": (
        "must have 8, 12, 13 or 14 digits (GTIN-8, UPC-A, EAN-13, GTIN-14)",
        "scan it again: a digit is missing or extra",
    ),
    "InvalidChecksum": (
        "has a wrong check digit (the last digit)",
        "scan it again, or check the digits for a typing error",
    ),
}


def _ean() -> Any:
    try:
        from stdnum import ean
    except ImportError as missing:
        raise MissingExtraError.needs("barcodes", "python-stdnum", "checking barcodes") from missing
    return ean


def check_gtin(code: object, field: str = "barcode") -> str:
    """``code`` as its digits (spaces and hyphens removed) if it is a valid GTIN-8, -12, -13 or
    -14; else :class:`~salesorders.errors.InvalidBarcodeError` naming ``field``."""
    if not isinstance(code, str):
        raise InvalidBarcodeError(
            field, code, "must be a string of digits", "pass the code as text"
        )
    check_text(code, field, 100)
    ean = _ean()
    try:
        return str(ean.validate(code))
    except Exception as error:  # stdnum's ValidationError subclasses, named below
        problem, hint = _PROBLEMS.get(type(error).__name__, (str(error), "scan it again"))
        raise InvalidBarcodeError(field, code, problem, hint) from error


def gtin14(code: object, field: str = "barcode") -> str:
    """The checked code written with 14 digits (leading zeros), the form a lookup keys on: the
    UPC ``036000291452`` and the EAN-13 ``0036000291452`` are the same product."""
    return check_gtin(code, field).zfill(14)


class MemoryBarcodes:
    """A :class:`~salesorders.ports.BarcodeCatalog` in memory: GTINs (any length) to SKUs.

    Every code is checked when it is added; two forms of one code (UPC and EAN-13) are one.
    """

    __slots__ = ("_skus",)

    def __init__(self, codes: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        self._skus: dict[str, str] = {}
        pairs = codes.items() if isinstance(codes, Mapping) else codes
        for code, sku in pairs:
            self.add(code, sku)

    def add(self, code: str, sku: str) -> None:
        """Let ``code`` name ``sku``; a code already naming another SKU is refused."""
        key = gtin14(code, f"codes[{code!r}]")
        require_id(sku, f"codes[{code!r}]")
        known = self._skus.get(key)
        if known is not None and known != sku:
            raise ValidationError(
                f"codes[{code!r}]", sku, f"already names {known}", "one code names one SKU"
            )
        self._skus[key] = sku

    def sku_for(self, gtin: str) -> str | None:
        """The SKU of the 14-digit ``gtin``, or ``None``."""
        return self._skus.get(gtin)


def _sku_of(barcodes: BarcodeCatalog, code: object, field: str) -> str:
    sku = barcodes.sku_for(gtin14(code, field))
    if sku is None:
        raise ValidationError(
            field,
            code,
            "is not in the barcode catalogue",
            "add the product's barcode to the catalogue, or enter its SKU",
        )
    return sku


class ScanEntry:
    """The lines of one order being entered by scanning barcodes (or typing SKUs).

    ``scan(code)`` adds ``quantity`` (1 by default) of the code's SKU; a SKU already on the
    entry gets the quantity added to its line instead of a second line. With a ``catalog``
    (the service's :class:`~salesorders.ports.Catalog`) an unknown SKU is refused and the
    quantity may have the product's decimal places; without one, whole units. A unit price
    given for a SKU already priced differently is refused (one line has one price). Nothing
    changes when a call is refused.
    """

    __slots__ = ("_barcodes", "_catalog", "_lines")

    def __init__(self, barcodes: BarcodeCatalog, *, catalog: Catalog | None = None) -> None:
        if not callable(getattr(barcodes, "sku_for", None)):
            raise ValidationError(
                "barcodes", barcodes, "must be a BarcodeCatalog", "pass e.g. MemoryBarcodes(...)"
            )
        self._barcodes = barcodes
        self._catalog = catalog
        self._lines: dict[str, LineSpec] = {}

    def scan(
        self, code: str, quantity: Decimal | int | str = 1, *, unit_price: Money | None = None
    ) -> LineSpec:
        """Add ``quantity`` of the product the barcode ``code`` names; returns its line."""
        return self.add(_sku_of(self._barcodes, code, "barcode"), quantity, unit_price=unit_price)

    def add(
        self,
        sku: str,
        quantity: Decimal | int | str = 1,
        *,
        unit_price: Money | None = None,
        description: str = "",
    ) -> LineSpec:
        """Add ``quantity`` of ``sku`` (typed rather than scanned); returns its line."""
        require_id(sku, "sku")
        check_text(description, "description")
        if unit_price is not None and not isinstance(unit_price, Money):
            raise ValidationError("unit_price", unit_price, "must be a Money or None")
        precision = self._precision(sku)
        added = to_quantity(quantity, "quantity", precision)
        line = self._lines.get(sku)
        if line is None:
            line = LineSpec(sku, added, unit_price, description, quantity_precision=precision)
        else:
            if unit_price is not None and line.unit_price not in (None, unit_price):
                raise ValidationError(
                    "unit_price",
                    unit_price,
                    f"differs from the {line.unit_price} of {sku}'s line",
                    "one line has one price: enter the other price on another order",
                )
            line = LineSpec(
                sku,
                Decimal(line.quantity) + added,
                unit_price if line.unit_price is None else line.unit_price,
                line.description or description,
                quantity_precision=precision,
            )
        self._lines[sku] = line
        return line

    def _precision(self, sku: str) -> int:
        if self._catalog is None:
            return 0
        product = self._catalog.products([sku]).get(sku)
        if product is None:
            raise ValidationError(
                "sku", sku, "is not in the catalogue", "check the SKU, or add the product first"
            )
        return product.quantity_precision

    @property
    def lines(self) -> tuple[LineSpec, ...]:
        """The lines so far, one per SKU, in the order each SKU was first entered."""
        return tuple(self._lines.values())

    def clear(self) -> None:
        """Start again with no lines."""
        self._lines.clear()

    def place_order(self, customer_id: str, currency: str, **fields: Any) -> PlaceOrder:
        """A :class:`~salesorders.PlaceOrder` of the lines entered (``fields``: its others)."""
        return PlaceOrder(customer_id, currency, self._checked_lines(), **fields)

    def create_draft(self, customer_id: str, currency: str, **fields: Any) -> CreateDraft:
        """A :class:`~salesorders.CreateDraft` (a quotation) of the lines entered."""
        return CreateDraft(customer_id, currency, self._checked_lines(), **fields)

    def _checked_lines(self) -> tuple[LineSpec, ...]:
        if not self._lines:
            raise ValidationError("lines", (), "are empty", "scan or add a product first")
        return self.lines


publish(globals(), __name__, __all__)
