"""Pricing: discounts, taxes, price lists with quantity breaks, and currency conversion.

Everything here is exact :class:`~decimal.Decimal` arithmetic in one currency per document.
Rounding to the currency's minor unit (see :mod:`salesorders.domain.money`) happens only at these
documented points, each with the policy's :class:`~salesorders.domain.money.Rounding`:

1. a line's amount: ``quantity * unit_price``;
2. each percentage discount: a percentage of the amount still left;
3. each tax: per line and component, or per document and component (:class:`TaxRounding`);
4. a currency conversion: the converted amount, in the target currency.

Splitting an amount over lines (an order discount, a document-level tax) never rounds: it uses
:func:`~salesorders.domain.money.allocate_decimal`, whose parts sum exactly to the whole.

Inputs are limited to sizes where every step stays exact: quantities below ``10**9``; prices,
discount amounts, charges and converted amounts below ``10**15``; document totals below ``10**23``.
Multiplications and roundings use a private decimal context, so they never depend on the caller's
context; sums of amounts use the caller's, which must keep Python's default 28 digits or more.

On the hot path (an order re-priced on every change) the arithmetic is plain ``Decimal``: no
``Money`` objects, one pass over the lines in the common case.
"""

from __future__ import annotations

from salesorders.domain.pricing.checks import check_unit_price, to_unit_price
from salesorders.domain.pricing.document import price_document
from salesorders.domain.pricing.exchange import (
    INVERSE_RATE_DIGITS,
    ExchangeRate,
    StaticExchangeRates,
)
from salesorders.domain.pricing.price_lists import (
    PriceBook,
    PriceBreak,
    PriceList,
    PriceListEntry,
    PriceQuote,
)
from salesorders.domain.pricing.values import (
    Charge,
    Discount,
    DiscountKind,
    LineToPrice,
    PricedDocument,
    PricedLine,
    PricingPolicy,
    TaxComponent,
    TaxMode,
    TaxRounding,
    check_line,
    line_to_price,
)

__all__ = [
    "INVERSE_RATE_DIGITS",
    "Charge",
    "Discount",
    "DiscountKind",
    "ExchangeRate",
    "LineToPrice",
    "PriceBook",
    "PriceBreak",
    "PriceList",
    "PriceListEntry",
    "PriceQuote",
    "PricedDocument",
    "PricedLine",
    "PricingPolicy",
    "StaticExchangeRates",
    "TaxComponent",
    "TaxMode",
    "TaxRounding",
    "check_line",
    "check_unit_price",
    "line_to_price",
    "price_document",
    "to_unit_price",
]
