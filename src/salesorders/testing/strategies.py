"""Hypothesis strategies for salesorders' domain types.

Use them to test your own policies, adapters and integrations against the library's invariants::

    from hypothesis import given
    from salesorders.domain.pricing import price_document
    from salesorders.testing import strategies as sst

    @given(sst.currencies().flatmap(
        lambda c: sst.lines_to_price(c).map(lambda line: (c, line))))
    def test_a_line_prices(case):
        currency, line = case
        document = price_document(currency, [line])
        assert document.grand_total == document.net_total + document.tax_total

Every strategy produces valid values (they pass the types' validation) at the currency's
precision, covering currencies with 0, 2, 3 and 4 minor-unit digits (JPY, USD, KWD, CLF).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from hypothesis import strategies as st

from salesorders.domain.money import Money, Rounding, currency_exponent, minor_unit, to_decimal
from salesorders.domain.pricing import (
    Discount,
    DiscountKind,
    ExchangeRate,
    LineToPrice,
    PricingPolicy,
    TaxComponent,
    TaxMode,
    TaxRounding,
)
from salesorders.errors import ValidationError

__all__ = [
    "CURRENCIES_BY_EXPONENT",
    "addresses",
    "allocation_cases",
    "allocation_requests",
    "amounts",
    "change_actions",
    "currencies",
    "destinations",
    "discounts",
    "draft_orders",
    "exchange_rates",
    "incoming_stock",
    "line_specs",
    "lines_to_price",
    "moments",
    "moneys",
    "orders",
    "pricing_policies",
    "quantities",
    "shipped_orders",
    "stock_books",
    "stock_items",
    "stock_quantities",
    "stock_snapshots",
    "tax_components",
    "unit_prices",
    "warehouse_ids",
    "warehouses",
]

_SAMPLE_CODES = (
    *("JPY", "KRW", "CLP", "ISK", "VND"),
    *("USD", "EUR", "CNY", "GBP", "CHF", "INR", "BRL", "CAD"),
    *("KWD", "BHD", "JOD", "OMR", "TND"),
    *("CLF", "UYW"),
)


def _by_exponent() -> dict[int, tuple[str, ...]]:
    table: dict[int, list[str]] = {}
    for code in _SAMPLE_CODES:
        table.setdefault(currency_exponent(code), []).append(code)
    return {exponent: tuple(codes) for exponent, codes in sorted(table.items())}


#: Real currencies drawn by :func:`currencies`, by number of minor-unit digits (0, 2, 3, 4).
CURRENCIES_BY_EXPONENT: dict[int, tuple[str, ...]] = _by_exponent()

_TAX_NAMES = ("VAT", "GST", "PST", "state", "county", "city", "eco")
_REASONS = ("", "loyalty", "coupon", "bulk order", "damaged box")
_ZONES = (
    dt.UTC,
    dt.timezone(dt.timedelta(hours=8)),
    dt.timezone(dt.timedelta(hours=-5)),
    dt.timezone(dt.timedelta(hours=5, minutes=30)),
)


def currencies(exponents: Iterable[int] | None = None) -> st.SearchStrategy[str]:
    """ISO 4217 codes from :data:`CURRENCIES_BY_EXPONENT`, shrinking towards JPY.

    ``exponents`` limits the minor-unit digits, e.g. ``currencies(exponents=[3])`` draws KWD,
    BHD ...; an exponent with no sample currency raises
    :class:`~salesorders.errors.ValidationError`.
    """
    wanted = sorted(CURRENCIES_BY_EXPONENT) if exponents is None else list(exponents)
    codes: list[str] = []
    for exponent in wanted:
        if exponent not in CURRENCIES_BY_EXPONENT:
            raise ValidationError(
                "exponents",
                exponent,
                "has no sample currency",
                f"choose among {sorted(CURRENCIES_BY_EXPONENT)}",
            )
        codes.extend(CURRENCIES_BY_EXPONENT[exponent])
    return st.sampled_from(codes)


def amounts(
    currency: str,
    min_value: Decimal | int | str = 0,
    max_value: Decimal | int | str = Decimal(1_000_000),
) -> st.SearchStrategy[Decimal]:
    """Decimals from ``min_value`` to ``max_value`` with exactly the currency's decimal places."""
    return st.decimals(
        min_value=to_decimal(min_value, "min_value"),
        max_value=to_decimal(max_value, "max_value"),
        places=currency_exponent(currency),
        allow_nan=False,
        allow_infinity=False,
    )


def moneys(
    currency: str | None = None,
    min_value: Decimal | int | str = 0,
    max_value: Decimal | int | str = Decimal(1_000_000),
) -> st.SearchStrategy[Money]:
    """:class:`Money` at the currency's precision; any sample currency when ``currency`` is None."""
    codes = currencies() if currency is None else st.just(currency)
    return codes.flatmap(
        lambda code: amounts(code, min_value, max_value).map(lambda value: Money(value, code))
    )


def unit_prices(
    currency: str, max_value: Decimal | int | str = Decimal(10_000)
) -> st.SearchStrategy[Decimal]:
    """Non-negative unit prices, up to two places finer than the currency (e.g. 0.0125 USD)."""
    return st.decimals(
        min_value=Decimal(0),
        max_value=to_decimal(max_value, "max_value"),
        places=currency_exponent(currency) + 2,
        allow_nan=False,
        allow_infinity=False,
    )


def quantities(
    precision: int = 0, max_value: Decimal | int | str = Decimal(1_000)
) -> st.SearchStrategy[Decimal]:
    """Positive quantities with at most ``precision`` decimal places (0: whole units)."""
    return st.decimals(
        min_value=Decimal(1).scaleb(-precision),
        max_value=to_decimal(max_value, "max_value"),
        places=precision,
        allow_nan=False,
        allow_infinity=False,
    )


def discounts(currency: str) -> st.SearchStrategy[Discount]:
    """Percentage discounts (0.01 to 100 %, 100 % included often) and fixed amounts in
    ``currency`` at its precision."""
    percentages = st.one_of(
        st.just(Decimal(100)),
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2),
    )
    fixed = amounts(currency, min_value=minor_unit(currency), max_value=Decimal(1_000))
    reasons = st.sampled_from(_REASONS)
    return st.one_of(
        st.builds(Discount, st.just(DiscountKind.PERCENTAGE), percentages, reasons),
        st.builds(Discount, st.just(DiscountKind.FIXED), fixed, reasons),
    )


def tax_components(max_rate: Decimal | str = Decimal("0.30")) -> st.SearchStrategy[TaxComponent]:
    """Tax components with a sample name and a rate from 0 to ``max_rate`` (4 places)."""
    rates = st.decimals(min_value=Decimal(0), max_value=to_decimal(max_rate, "max_rate"), places=4)
    return st.builds(TaxComponent, st.sampled_from(_TAX_NAMES), rates)


def pricing_policies() -> st.SearchStrategy[PricingPolicy]:
    """Every combination of rounding, tax mode and tax rounding."""
    return st.builds(
        PricingPolicy,
        st.sampled_from(Rounding),
        st.sampled_from(TaxMode),
        st.sampled_from(TaxRounding),
    )


def lines_to_price(
    currency: str, max_discounts: int = 2, max_taxes: int = 3
) -> st.SearchStrategy[LineToPrice]:
    """Lines in ``currency``: quantities with 0 to 3 decimals, discounts, distinct tax names."""
    return st.builds(
        LineToPrice,
        st.integers(min_value=0, max_value=3).flatmap(quantities),
        unit_prices(currency),
        st.lists(discounts(currency), max_size=max_discounts).map(tuple),
        st.lists(tax_components(), max_size=max_taxes, unique_by=_tax_name).map(tuple),
    )


def _tax_name(tax: TaxComponent) -> str:
    return tax.name


def exchange_rates(
    base: str | None = None, quote: str | None = None
) -> st.SearchStrategy[ExchangeRate]:
    """Exchange rates with a positive rate (up to 6 places) and a timezone-aware ``as_of``.

    ``base`` and ``quote`` are drawn (distinct) unless given; when both are the same currency
    the rate is 1.
    """
    bases = currencies() if base is None else st.just(base)
    return bases.flatmap(lambda code: _rates_from(code, quote))


def _rates_from(base: str, quote: str | None) -> st.SearchStrategy[ExchangeRate]:
    quotes = currencies().filter(lambda code: code != base) if quote is None else st.just(quote)
    rates = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(10_000), places=6)
    moments = st.datetimes(
        min_value=dt.datetime(2000, 1, 1),
        max_value=dt.datetime(2100, 1, 1),
        timezones=st.sampled_from(_ZONES),
    )
    return st.builds(
        _rate,
        st.just(base),
        quotes,
        rates,
        moments,
        st.sampled_from(("", "ECB", "central bank", "bank feed")),
    )


def _rate(base: str, quote: str, rate: Decimal, as_of: dt.datetime, source: str) -> ExchangeRate:
    return ExchangeRate(base, quote, Decimal(1) if base == quote else rate, as_of, source)


# --------------------------------------------------------------------------- one place for all
# Orders, stock and allocation inputs have their own modules; they are gathered here so every
# domain type's strategy is reachable from ``salesorders.testing.strategies``.

from salesorders.testing.change_strategies import change_actions  # noqa: E402
from salesorders.testing.order_strategies import (  # noqa: E402
    addresses,
    draft_orders,
    line_specs,
    moments,
    orders,
    shipped_orders,
)
from salesorders.testing.policies import (  # noqa: E402
    allocation_cases,
    allocation_requests,
    destinations,
    stock_snapshots,
)
from salesorders.testing.stock_strategies import (  # noqa: E402
    incoming_stock,
    stock_books,
    stock_items,
    warehouse_ids,
    warehouses,
)
from salesorders.testing.stock_strategies import quantities as stock_quantities  # noqa: E402
