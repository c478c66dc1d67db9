"""Prices, taxes, discounts, exchange rates and exact money.

Price books and lists quote unit prices (quantity breaks, customer groups, validity); a
:class:`PricingPolicy` says how an order is priced (tax mode and rounding, rounding of money);
:func:`price_document` prices a document's lines exactly. Money helpers format, allocate and
round amounts in an ISO 4217 currency's minor unit.
"""

from salesorders._public import publish
from salesorders.domain.money import (
    Money,
    Rounding,
    allocate,
    currency_exponent,
    format_money,
    minor_unit,
    money,
    price_places,
    quantize,
)
from salesorders.domain.pricing import (
    Charge,
    Discount,
    DiscountKind,
    ExchangeRate,
    LineToPrice,
    PriceBook,
    PriceBreak,
    PricedDocument,
    PricedLine,
    PriceList,
    PriceListEntry,
    PriceQuote,
    PricingPolicy,
    StaticExchangeRates,
    TaxComponent,
    TaxMode,
    TaxRounding,
    price_document,
)

__all__ = [
    "Charge",
    "Discount",
    "DiscountKind",
    "ExchangeRate",
    "LineToPrice",
    "Money",
    "PriceBook",
    "PriceBreak",
    "PriceList",
    "PriceListEntry",
    "PriceQuote",
    "PricedDocument",
    "PricedLine",
    "PricingPolicy",
    "Rounding",
    "StaticExchangeRates",
    "TaxComponent",
    "TaxMode",
    "TaxRounding",
    "allocate",
    "currency_exponent",
    "format_money",
    "minor_unit",
    "money",
    "price_document",
    "price_places",
    "quantize",
]

publish(globals(), __name__, __all__)
