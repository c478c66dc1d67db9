"""A command's line as the domain takes it: a :class:`~salesorders.domain.order.LineSpec` with
its unit price entered, quoted by the price book, or the catalogue's default price."""

from __future__ import annotations

from collections.abc import Mapping

import attrs
from moneyed import Money

from salesorders.domain.catalog import Product
from salesorders.domain.money import to_quantity
from salesorders.domain.order import LineSpec
from salesorders.domain.pricing import ExchangeRate, PriceBook, PriceQuote
from salesorders.errors import NoPriceError, ValidationError
from salesorders.service.line_input import quantity_precision

__all__ = ["new_line"]

_DEFAULT_PRICE = "catalogue default price"


def new_line(
    line: LineSpec,
    products: Mapping[str, Product] | None,
    price_book: PriceBook | None,
    currency: str,
    rate: ExchangeRate | None,
    customer_group: str | None,
) -> LineSpec:
    """``line`` as the domain takes it on an order in ``currency``: itself when it carries its
    price and precision, else with the price quoted (converting from ``rate``'s base, for
    ``customer_group``) and the catalogue's quantity precision."""
    if not isinstance(line, LineSpec):
        raise ValidationError("", line, "must be a LineSpec")  # named by its line: lines[i]
    product = None if products is None else products[line.sku]
    precision = quantity_precision(line, product)
    if line.unit_price is not None:
        if precision == line.quantity_precision:
            return line  # taken as it is: checked and priced once, by the domain
        return attrs.evolve(line, quantity_precision=precision)
    price = _quote(line, precision, product, price_book, currency, rate, customer_group)
    if isinstance(price, PriceQuote):
        quoted = LineSpec.quoted(
            price,
            line.quantity,
            description=line.description,
            discounts=line.discounts,
            taxes=line.taxes,
            quantity_precision=precision,
        )
        return quoted if line.line_id is None else attrs.evolve(quoted, line_id=line.line_id)
    return attrs.evolve(
        line, unit_price=price, quantity_precision=precision, price_source=_DEFAULT_PRICE
    )


def _quote(
    line: LineSpec,
    precision: int,
    product: Product | None,
    book: PriceBook | None,
    currency: str,
    rate: ExchangeRate | None,
    customer_group: str | None,
) -> PriceQuote | Money:
    """The price book's quote; else the product's default price, if the catalogue has one."""
    default = None if product is None else product.default_price
    if book is None:
        if default is not None:
            return default
        raise ValidationError(
            "unit_price",
            None,
            "is required: the service has no price book",
            "give a unit price, or bootstrap the service with a price_book",
        )
    quantity = to_quantity(line.quantity, "quantity", precision)
    currencies = (currency,) if rate is None else (currency, rate.base)
    for code in currencies:
        try:
            return book.quote(line.sku, code, quantity, customer_group)
        except NoPriceError:
            if default is None and code == currencies[-1]:
                raise
    assert default is not None  # the loop raised otherwise
    return default
