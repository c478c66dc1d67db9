"""The order's value objects: its lines, the lines to add, addresses, totals and audit entries.

:class:`~salesorders.domain.order.Order` holds them; they are frozen, and a changed line is a new
:class:`OrderLine` (see :func:`with_prices` and :func:`with_allocation`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import attrs
from moneyed import Money

from salesorders.domain.checks import check_name, require_name
from salesorders.domain.money import to_quantity
from salesorders.domain.pricing import (
    Discount,
    PricedLine,
    PriceQuote,
    TaxComponent,
)
from salesorders.errors import ValidationError

__all__ = [
    "Address",
    "AuditEntry",
    "LineFields",
    "LineSpec",
    "OrderLine",
    "Totals",
    "priced_line",
    "with_allocation",
    "with_prices",
]

_ZERO = Decimal(0)


@attrs.frozen(slots=True)
class Address:
    """A postal address. ``country`` is an ISO 3166-1 alpha-2 code; ``region`` feeds allocation.

    ``name``, ``line1`` and ``city`` are required; every field is a name of at most
    :data:`~salesorders.domain.checks.NAME_MAX_LENGTH` characters.
    """

    name: str
    line1: str
    city: str
    country: str
    line2: str = ""
    region: str = ""
    postal_code: str = ""
    phone: str = ""
    email: str = ""

    def __attrs_post_init__(self) -> None:
        for field in ("name", "line1", "city"):
            require_name(getattr(self, field), f"address.{field}")
        for field in ("line2", "region", "postal_code", "phone", "email"):
            check_name(getattr(self, field), f"address.{field}")
        country = self.country
        if not (
            isinstance(country, str)
            and len(country) == 2
            and country.isascii()
            and country.isalpha()
            and country.isupper()
        ):
            raise ValidationError(
                "address.country",
                self.country,
                "must be an ISO 3166-1 alpha-2 code",
                "use e.g. 'US', 'CN' or 'DE'",
            )


@attrs.frozen(slots=True)
class OrderLine:
    """One line of an order, with its priced amounts in the order currency.

    ``price_source`` says where the unit price came from (a price list and break, a conversion, or
    "entered"). ``amount`` is quantity × unit price rounded; ``net + tax == gross`` exactly.
    """

    line_id: str
    sku: str
    quantity: Decimal
    unit_price: Decimal
    description: str = ""
    discounts: tuple[Discount, ...] = ()
    taxes: tuple[TaxComponent, ...] = ()
    quantity_precision: int = 0
    price_source: str = "entered"
    amount: Decimal = _ZERO
    line_discount: Decimal = _ZERO
    order_discount: Decimal = _ZERO
    net: Decimal = _ZERO
    tax: Decimal = _ZERO
    gross: Decimal = _ZERO
    allocated: Decimal = _ZERO
    backordered: Decimal = _ZERO
    backorder_expected: dt.date | None = None
    cancelled: Decimal = _ZERO

    @property
    def open_quantity(self) -> Decimal:
        """What the order still wants of this line: ``quantity`` less what was cancelled."""
        return self.quantity - self.cancelled


@attrs.frozen(slots=True)
class LineSpec:
    """One line to put on an order: what a command, :meth:`Order.add_lines` and
    :meth:`Order.add_line`'s parameters all take.

    ``unit_price`` in the order currency, or in the currency of the order's exchange rate base
    (a ``Money``; a plain number is in the order currency). ``None`` asks the service's price book
    for a quote (quantity breaks, customer group), then the catalogue's default price; the
    domain's own ``add_lines`` needs a price. The quantity must fit ``quantity_precision``
    decimal places (0: whole units; through the service with a catalogue, the product's). The unit
    price may have at most ``price_precision`` decimal places (``None``: its currency's minor
    unit plus 4). ``line_id`` defaults to the next ``L<n>``; ``price_source`` says where the price
    came from (``"entered"``; a quote's reason when quoted).
    """

    sku: str
    quantity: Decimal | int | str
    unit_price: Money | Decimal | str | int | None = None
    description: str = ""
    taxes: tuple[TaxComponent, ...] = ()
    discounts: tuple[Discount, ...] = ()
    quantity_precision: int = 0
    price_precision: int | None = None
    line_id: str | None = None
    price_source: str = "entered"

    @classmethod
    def quoted(
        cls,
        quote: PriceQuote,
        quantity: Decimal | int | str,
        *,
        description: str = "",
        discounts: Iterable[Discount] = (),
        taxes: Iterable[TaxComponent] = (),
        quantity_precision: int = 0,
    ) -> LineSpec:
        """A line priced from a price-list quote; the quote's reason becomes the price source."""
        qty = to_quantity(quantity, "quantity", quantity_precision)
        if qty < quote.min_quantity:
            raise ValidationError(
                "quantity",
                quantity,
                f"is below the quote's break of {quote.min_quantity}",
                "quote the price again for this quantity",
            )
        return cls(
            quote.sku,
            qty,
            Money(quote.unit_price, quote.currency),
            description,
            tuple(taxes),
            tuple(discounts),
            quantity_precision,
            quote.price_precision,
            None,
            quote.reason,
        )


#: A new line's checked fields, as :class:`OrderLine` orders them up to ``price_source``.
LineFields = tuple[
    str, str, Decimal, Decimal, str, tuple[Discount, ...], tuple[TaxComponent, ...], int, str
]


def _line_setters() -> tuple[Any, ...]:
    names = tuple(field.name for field in attrs.fields(OrderLine))
    if names != _LINE_FIELDS:  # pragma: no cover - guards the fast constructor below
        raise TypeError(f"OrderLine fields changed: {names}; update the fast constructor")
    return tuple(OrderLine.__dict__[name].__set__ for name in names)


_LINE_FIELDS = (
    "line_id",
    "sku",
    "quantity",
    "unit_price",
    "description",
    "discounts",
    "taxes",
    "quantity_precision",
    "price_source",
    "amount",
    "line_discount",
    "order_discount",
    "net",
    "tax",
    "gross",
    "allocated",
    "backordered",
    "backorder_expected",
    "cancelled",
)
(
    _SET_ID,
    _SET_SKU,
    _SET_QUANTITY,
    _SET_PRICE,
    _SET_DESCRIPTION,
    _SET_DISCOUNTS,
    _SET_TAXES,
    _SET_PRECISION,
    _SET_SOURCE,
    _SET_AMOUNT,
    _SET_LINE_DISCOUNT,
    _SET_ORDER_DISCOUNT,
    _SET_NET,
    _SET_TAX,
    _SET_GROSS,
    _SET_ALLOCATED,
    _SET_BACKORDERED,
    _SET_EXPECTED,
    _SET_CANCELLED,
) = _line_setters()


def _new_line(
    line_id: str,
    sku: str,
    quantity: Decimal,
    unit_price: Decimal,
    description: str,
    discounts: tuple[Discount, ...],
    taxes: tuple[TaxComponent, ...],
    quantity_precision: int,
    price_source: str,
    priced: PricedLine | OrderLine,
    allocated: Decimal,
    backordered: Decimal,
    expected: dt.date | None = None,
    cancelled: Decimal = _ZERO,
) -> OrderLine:
    """An OrderLine with the amounts of ``priced``, filling the slots directly (cheaper than the
    attrs ``__init__`` of a frozen class). Valid because OrderLine has no validators or
    converters; the field list is checked at import."""
    line: OrderLine = object.__new__(OrderLine)
    _SET_ID(line, line_id)
    _SET_SKU(line, sku)
    _SET_QUANTITY(line, quantity)
    _SET_PRICE(line, unit_price)
    _SET_DESCRIPTION(line, description)
    _SET_DISCOUNTS(line, discounts)
    _SET_TAXES(line, taxes)
    _SET_PRECISION(line, quantity_precision)
    _SET_SOURCE(line, price_source)
    _SET_AMOUNT(line, priced.amount)
    _SET_LINE_DISCOUNT(line, priced.line_discount)
    _SET_ORDER_DISCOUNT(line, priced.order_discount)
    _SET_NET(line, priced.net)
    _SET_TAX(line, priced.tax)
    _SET_GROSS(line, priced.gross)
    _SET_ALLOCATED(line, allocated)
    _SET_BACKORDERED(line, backordered)
    _SET_EXPECTED(line, expected)
    _SET_CANCELLED(line, cancelled)
    return line


def priced_line(fields: LineFields, priced: PricedLine) -> OrderLine:
    """A new line, built once: its checked ``fields`` with the amounts of ``priced``."""
    return _new_line(*fields, priced, _ZERO, _ZERO)


def with_prices(line: OrderLine, priced: PricedLine) -> OrderLine:
    """``line`` with the amounts of ``priced`` (its allocation kept)."""
    return _new_line(
        line.line_id, line.sku, line.quantity, line.unit_price, line.description,
        line.discounts, line.taxes, line.quantity_precision, line.price_source,
        priced, line.allocated, line.backordered, line.backorder_expected, line.cancelled,
    )  # fmt: skip


def with_allocation(
    line: OrderLine,
    allocated: Decimal,
    backordered: Decimal,
    expected: dt.date | None = None,
) -> OrderLine:
    """``line`` with what was allocated and backordered for it, and when the backordered part
    is expected (its amounts and cancelled quantity kept)."""
    return _new_line(
        line.line_id, line.sku, line.quantity, line.unit_price, line.description,
        line.discounts, line.taxes, line.quantity_precision, line.price_source,
        line, allocated, backordered, expected if backordered else None, line.cancelled,
    )  # fmt: skip


def with_cancelled(
    line: OrderLine, cancelled: Decimal, allocated: Decimal, backordered: Decimal
) -> OrderLine:
    """``line`` with ``cancelled`` of it cancelled in all, and what stays allocated and
    backordered (its amounts are repriced by the order)."""
    return _new_line(
        line.line_id, line.sku, line.quantity, line.unit_price, line.description,
        line.discounts, line.taxes, line.quantity_precision, line.price_source,
        line, allocated, backordered, line.backorder_expected if backordered else None,
        cancelled,
    )  # fmt: skip


@attrs.frozen(slots=True)
class Totals:
    """The order's totals in its currency. ``net_total + tax_total == grand_total`` exactly."""

    currency: str
    subtotal: Decimal = _ZERO
    discount_total: Decimal = _ZERO
    net_total: Decimal = _ZERO
    tax_total: Decimal = _ZERO
    shipping_net: Decimal = _ZERO
    shipping_tax: Decimal = _ZERO
    grand_total: Decimal = _ZERO

    def money(self, field: str) -> Money:
        """One total as :class:`Money`, e.g. ``totals.money("grand_total")``."""
        value = getattr(self, field)
        if not isinstance(value, Decimal) or field == "currency":
            raise ValidationError("field", field, "is not a total of the order")
        return Money(value, self.currency)


@attrs.frozen(slots=True)
class AuditEntry:
    """One workflow transition: who moved the order from where to where, when and why."""

    event: str
    from_state: str
    to_state: str
    at: dt.datetime
    actor: str = ""
    reason: str = ""
