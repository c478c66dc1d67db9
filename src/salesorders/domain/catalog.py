"""The products a host sells, as the order side needs to know them.

A :class:`Product` says that a SKU exists, the unit it is sold in, how many decimal places its
quantities may have, and optionally a default unit price. The host keeps its catalogue behind the
:class:`~salesorders.ports.Catalog` port; when the service has one, an order line naming a SKU the
catalogue does not know is refused.
"""

from __future__ import annotations

import attrs
from moneyed import Money

from salesorders.domain.checks import require_id, require_name
from salesorders.domain.pricing import check_unit_price
from salesorders.errors import ValidationError

__all__ = ["MAX_QUANTITY_PRECISION", "Product"]

#: The most decimal places a product's quantities may have.
MAX_QUANTITY_PRECISION = 9


def _check_sku(instance: Product, attribute: attrs.Attribute[str], value: object) -> None:
    require_id(value, "sku")


def _check_unit(instance: Product, attribute: attrs.Attribute[str], value: object) -> None:
    require_name(value, "unit")


def _check_precision(instance: Product, attribute: attrs.Attribute[int], value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 0 <= value <= MAX_QUANTITY_PRECISION
    ):
        raise ValidationError(
            "quantity_precision",
            value,
            f"must be an int from 0 to {MAX_QUANTITY_PRECISION}",
            "0 for whole units, e.g. 3 for a product sold by the kg",
        )


def _check_price(
    instance: Product, attribute: attrs.Attribute[Money | None], value: object
) -> None:
    if value is None:
        return
    if not isinstance(value, Money):
        raise ValidationError("default_price", value, "must be a Money or None")
    check_unit_price(value.amount, value.currency.code, field="default_price")


@attrs.frozen(slots=True)
class Product:
    """One product of the catalogue.

    ``unit`` is what one quantity means (``"each"``, ``"kg"``); ``quantity_precision`` the decimal
    places a quantity may have (0: whole units); ``default_price`` the unit price used for a line
    without one when no price list has a price for it (``None``: no default).
    """

    sku: str = attrs.field(validator=_check_sku)
    unit: str = attrs.field(default="each", validator=_check_unit)
    quantity_precision: int = attrs.field(default=0, validator=_check_precision)
    default_price: Money | None = attrs.field(default=None, validator=_check_price)
