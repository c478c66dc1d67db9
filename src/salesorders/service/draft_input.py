"""A command's line as the domain takes it: a :class:`~salesorders.domain.order.NewLine` with
its unit price entered, quoted by the price book, or the catalogue's default price."""

from __future__ import annotations

from collections.abc import Mapping

from moneyed import Money

from salesorders.domain.catalog import Product
from salesorders.domain.money import to_quantity
from salesorders.domain.order import NewLine
from salesorders.domain.pricing import ExchangeRate, PriceBook, PriceQuote
from salesorders.errors import NoPriceError, ValidationError
from salesorders.service.commands import LineSpec
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
) -> NewLine:
    """The line to add for ``line`` on an order in ``currency`` (converting from ``rate``'s
    base, quoting for ``customer_group``)."""
    if not isinstance(line, LineSpec):
        raise ValidationError("", line, "must be a LineSpec")  # named by its line: lines[i]
    product = None if products is None else products[line.sku]
    precision = quantity_precision(line, product)
    if line.unit_price is not None:
        return NewLine(
            line.sku,
            line.quantity,
            line.unit_price,
            line.description,
            line.discounts,
            line.taxes,
            precision,
            None,
            "entered",
            line.price_precision,
        )
    price = _quote(line, precision, product, price_book, currency, rate, customer_group)
    if isinstance(price, PriceQuote):
        return NewLine.quoted(
            price,
            line.quantity,
            description=line.description,
            discounts=line.discounts,
            taxes=line.taxes,
            quantity_precision=precision,
        )
    return NewLine(
        line.sku,
        line.quantity,
        price,
        line.description,
        line.discounts,
        line.taxes,
        precision,
        None,
        _DEFAULT_PRICE,
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
