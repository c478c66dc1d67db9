"""Checks of a command's line input shared by the handlers: SKUs named by their line, the
quantity precision agreed with the catalogue, and optional numbers."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from salesorders.domain.catalog import Product
from salesorders.domain.checks import require_id
from salesorders.domain.money import to_decimal
from salesorders.errors import ValidationError
from salesorders.service.commands import LineSpec

__all__ = ["line_skus", "optional_decimal", "quantity_precision"]


def line_skus(lines: Sequence[object]) -> list[str]:
    """The SKU of every line, each checked before the catalogue sees it, naming its line."""
    skus = []
    for index, line in enumerate(lines):
        if not isinstance(line, LineSpec):
            raise ValidationError(f"lines[{index}]", line, "must be a LineSpec")
        skus.append(require_id(line.sku, f"lines[{index}].sku"))
    return skus


def quantity_precision(line: LineSpec, product: Product | None) -> int:
    """The line's quantity precision: the product's when the catalogue knows it."""
    if product is None or line.quantity_precision == product.quantity_precision:
        return line.quantity_precision
    if line.quantity_precision != 0:
        raise ValidationError(
            "quantity_precision",
            line.quantity_precision,
            f"differs from the catalogue's {product.quantity_precision} for {product.sku}",
            "leave it at 0 to use the catalogue's",
        )
    return product.quantity_precision


def optional_decimal(value: object, field: str) -> Decimal | None:
    """``None`` stays ``None``; anything else must be an exact number (named ``field``)."""
    return None if value is None else to_decimal(value, field)
