"""Pricing: discounts, taxes (modes and rounding), totals, price lists and conversion."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from decimal import Decimal
from fractions import Fraction

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesorders.domain.money import Money, Rounding, currency_exponent, minor_unit
from salesorders.domain.pricing import (
    INVERSE_RATE_DIGITS,
    Charge,
    Discount,
    DiscountKind,
    ExchangeRate,
    LineToPrice,
    PriceBook,
    PriceBreak,
    PricedDocument,
    PriceList,
    PriceListEntry,
    PricingPolicy,
    StaticExchangeRates,
    TaxComponent,
    TaxMode,
    TaxRounding,
    price_document,
)
from salesorders.domain.pricing.document import _price_in_passes, _price_per_line
from salesorders.errors import (
    CurrencyMismatchError,
    ExchangeRateUnavailableError,
    FloatNotAllowedError,
    NoPriceError,
    UnknownCurrencyError,
    ValidationError,
)
from salesorders.testing import strategies as sst

D = Decimal
VAT = TaxComponent("VAT", D("0.19"))
REDUCED = TaxComponent("VAT7", D("0.07"))
GST = TaxComponent("GST", D("0.05"))
PST = TaxComponent("PST", D("0.07"))
EXCLUSIVE_DOC = PricingPolicy(tax_rounding=TaxRounding.PER_DOCUMENT)
INCLUSIVE = PricingPolicy(tax_mode=TaxMode.INCLUSIVE)
INCLUSIVE_DOC = PricingPolicy(tax_mode=TaxMode.INCLUSIVE, tax_rounding=TaxRounding.PER_DOCUMENT)
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def line(quantity: str, price: str, *taxes: TaxComponent, discounts: tuple[Discount, ...] = ()):
    return LineToPrice(D(quantity), D(price), discounts, taxes)


# --------------------------------------------------------------------------- oracle and checks


def rnd(value: Fraction, exponent: int, rounding: Rounding = Rounding.HALF_UP) -> Fraction:
    """Round a non-negative exact value to ``exponent`` places."""
    scaled = value * 10**exponent
    floor = math.floor(scaled)
    rest = scaled - floor
    half = Fraction(1, 2)
    if rest > half or (rest == half and (rounding is Rounding.HALF_UP or floor % 2 == 1)):
        floor += 1
    return Fraction(floor, 10**exponent)


def check_document(doc: PricedDocument, currency: str, policy: PricingPolicy) -> None:
    """Every invariant of a priced document."""
    exponent = currency_exponent(currency)
    inclusive = policy.tax_mode is TaxMode.INCLUSIVE

    def amount_ok(value: Decimal) -> None:
        assert isinstance(value, Decimal)
        assert value.as_tuple().exponent == -exponent, f"{value} not at {currency} precision"
        assert value >= 0, f"negative amount {value}"

    for priced in doc.lines:
        for value in attrs.astuple(priced, recurse=False)[:6]:
            amount_ok(value)
        assert priced.net + priced.tax == priced.gross, "net + tax == gross on every line"
        assert sum((t for _, t in priced.taxes), D(0)) == priced.tax
        left = priced.amount - priced.line_discount - priced.order_discount
        assert left == (priced.gross if inclusive else priced.net)
    for value in attrs.astuple(doc, recurse=False)[1:8]:
        amount_ok(value)
    lines = doc.lines
    assert doc.subtotal == sum((p.amount for p in lines), D(0))
    assert doc.discount_total == sum((p.line_discount + p.order_discount for p in lines), D(0))
    assert doc.net_total == sum((p.net for p in lines), D(0)) + doc.shipping_net
    assert doc.tax_total == sum((p.tax for p in lines), D(0)) + doc.shipping_tax
    assert doc.grand_total == doc.net_total + doc.tax_total, "grand total == net + tax"
    assert sum((t for _, t in doc.taxes_by_component), D(0)) == doc.tax_total
    names = [name for name, _ in doc.taxes_by_component]
    assert len(names) == len(set(names))


# --------------------------------------------------------------------------- value objects


def test_tax_rates_are_fractions_validated_and_floats_refused() -> None:
    assert TaxComponent("VAT", "0.19").rate == D("0.19")
    with pytest.raises(FloatNotAllowedError) as error:
        TaxComponent("VAT", 0.19)
    assert error.value.field == "rate"
    with pytest.raises(ValidationError, match="fraction from 0 to 1"):
        TaxComponent("VAT", D(19))
    with pytest.raises(ValidationError, match="fraction from 0 to 1"):
        TaxComponent("VAT", D("-0.01"))
    with pytest.raises(ValidationError) as named:
        TaxComponent("", D("0.1"))
    assert named.value.field == "name"


def test_discounts_are_validated_by_kind() -> None:
    assert Discount.percentage("15", "loyalty") == Discount(
        DiscountKind.PERCENTAGE, D(15), "loyalty"
    )
    assert Discount.fixed(5).value == D(5)
    assert Discount.percentage(100).value == D(100)
    with pytest.raises(ValidationError, match="at most 100"):
        Discount.percentage("100.01")
    with pytest.raises(ValidationError, match="greater than zero"):
        Discount.percentage(0)
    with pytest.raises(ValidationError, match="greater than zero"):
        Discount.fixed("-1")
    with pytest.raises(FloatNotAllowedError) as error:
        Discount.fixed(2.5)
    assert error.value.field == "value"
    with pytest.raises(ValidationError, match="DiscountKind"):
        Discount("percentage", D(5))  # type: ignore[arg-type]


def test_lines_and_charges_are_validated() -> None:
    with pytest.raises(ValidationError, match="greater than zero") as quantity:
        LineToPrice(D(0), D(1))
    assert quantity.value.field == "quantity"
    with pytest.raises(FloatNotAllowedError) as price:
        LineToPrice(D(1), 9.99)
    assert price.value.field == "unit_price"
    with pytest.raises(ValidationError, match="must not be negative"):
        LineToPrice(D(1), D("-1"))
    with pytest.raises(ValidationError, match="less than"):
        LineToPrice(D(1), D(10) ** 15)
    with pytest.raises(ValidationError, match="appears twice") as twice:
        LineToPrice(D(1), D(1), taxes=(VAT, TaxComponent("VAT", D("0.07"))))
    assert twice.value.field == "taxes[1].name"
    with pytest.raises(ValidationError, match="must be a Discount"):
        LineToPrice(D(1), D(1), discounts=("10%",))  # type: ignore[arg-type]
    with pytest.raises(FloatNotAllowedError):
        Charge(4.9)
    with pytest.raises(ValidationError, match="TaxMode"):
        PricingPolicy(tax_mode="inclusive")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- amounts and discounts


def test_line_amount_is_a_rounding_point() -> None:
    doc = price_document("USD", [line("3", "0.0125")])
    assert doc.lines[0].amount == D("0.04")  # 0.0375 rounded half up
    even = price_document("USD", [line("1", "0.125")], policy=PricingPolicy(Rounding.HALF_EVEN))
    assert even.lines[0].amount == D("0.12")


def test_line_discounts_apply_in_order_to_what_is_left() -> None:
    discounts = (Discount.percentage(10), Discount.fixed("5.00"), Discount.percentage("50"))
    doc = price_document("EUR", [line("2", "19.99", discounts=discounts)])
    # 39.98 - 4.00 (10 %) = 35.98; - 5.00 = 30.98; - 15.49 (50 %) = 15.49
    priced = doc.lines[0]
    assert priced.amount == D("39.98")
    assert priced.line_discount == D("24.49")
    assert priced.net == D("15.49")
    assert doc.discount_total == D("24.49")


def test_a_fixed_discount_never_takes_a_line_below_zero() -> None:
    doc = price_document("EUR", [line("1", "3.00", VAT, discounts=(Discount.fixed(10),))])
    assert doc.lines[0].line_discount == D("3.00")
    assert doc.lines[0].net == doc.lines[0].tax == doc.lines[0].gross == D("0.00")


@pytest.mark.parametrize("currency", ["JPY", "USD", "KWD", "CLF"])
def test_a_full_discount_leaves_exactly_zero(currency: str) -> None:
    full = (Discount.percentage(100),)
    doc = price_document(currency, [line("7", "13.3333", VAT, discounts=full)])
    assert doc.grand_total == 0
    assert doc.lines[0].gross == 0
    assert doc.grand_total.as_tuple().exponent == -currency_exponent(currency)


def test_order_discounts_are_spread_by_discounted_line_amounts() -> None:
    lines = [
        line("1", "30.00"),
        line("1", "10.00", discounts=(Discount.fixed(10),)),
        line("1", "20.00"),
    ]
    doc = price_document("EUR", lines, order_discounts=[Discount.fixed("10.00")])
    assert [p.order_discount for p in doc.lines] == [D("6.00"), D("0.00"), D("4.00")]
    assert doc.discount_total == D("20.00")


def test_order_discounts_apply_in_order_and_are_capped() -> None:
    lines = [line("1", "60.00"), line("1", "40.00")]
    doc = price_document(
        "EUR",
        lines,
        order_discounts=[Discount.percentage(10), Discount.fixed("500")],
    )
    assert [p.order_discount for p in doc.lines] == [D("60.00"), D("40.00")]
    assert doc.grand_total == D("0.00")


def test_order_discount_on_zero_lines_spreads_nothing() -> None:
    lines = [line("1", "0"), line("2", "0")]
    doc = price_document("USD", lines, order_discounts=[Discount.fixed(5)])
    assert [p.order_discount for p in doc.lines] == [D("0.00"), D("0.00")]


def test_order_discounts_spread_exactly_in_thirds() -> None:
    lines = [line("1", "1.00"), line("1", "1.00"), line("1", "1.00")]
    doc = price_document("USD", lines, order_discounts=[Discount.fixed("1.00")])
    assert [p.order_discount for p in doc.lines] == [D("0.34"), D("0.33"), D("0.33")]


def test_fixed_discounts_finer_than_the_currency_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as on_line:
        price_document("JPY", [line("1", "100", discounts=(Discount.fixed("0.5"),))])
    assert on_line.value.field == "lines[0].discounts[0].value"
    with pytest.raises(ValidationError) as on_order:
        price_document(
            "USD",
            [line("1", "100")],
            order_discounts=[Discount.percentage(5), Discount.fixed("0.005")],
        )
    assert on_order.value.field == "order_discounts[1].value"
    with pytest.raises(ValidationError) as shipping:
        price_document("JPY", [], shipping=Charge(D("4.5")))
    assert shipping.value.field == "shipping.amount"


def test_bad_documents_are_refused() -> None:
    with pytest.raises(UnknownCurrencyError):
        price_document("EURO", [])
    with pytest.raises(ValidationError) as not_a_line:
        price_document("EUR", [line("1", "1"), ("1", "1")])  # type: ignore[list-item]
    assert not_a_line.value.field == "lines[1]"
    with pytest.raises(ValidationError, match="must be a Discount"):
        price_document("EUR", [line("1", "1")], order_discounts=["5%"])  # type: ignore[list-item]
    huge = line("999999999", "999999999999999")
    with pytest.raises(ValidationError, match="10\\*\\*23"):
        price_document("EUR", [huge, huge])


@pytest.mark.parametrize("currency", ["JPY", "USD", "KWD", "CLF"])
def test_an_empty_document_is_zero_at_the_currency_precision(currency: str) -> None:
    doc = price_document(currency, [])
    check_document(doc, currency, PricingPolicy())
    assert doc.grand_total == 0
    assert doc.lines == ()
    assert doc.taxes_by_component == ()


# --------------------------------------------------------------------------- tax


def test_exclusive_tax_per_component() -> None:
    doc = price_document("CAD", [line("1", "10.99", GST, PST)])
    priced = doc.lines[0]
    assert priced.taxes == (("GST", D("0.55")), ("PST", D("0.77")))  # 0.5495, 0.7693
    assert priced.tax == D("1.32")
    assert priced.gross == D("12.31")


def test_inclusive_tax_is_taken_out_of_the_gross_amount() -> None:
    doc = price_document("EUR", [line("1", "119.00", VAT)], policy=INCLUSIVE)
    priced = doc.lines[0]
    assert (priced.gross, priced.tax, priced.net) == (D("119.00"), D("19.00"), D("100.00"))
    odd = price_document("EUR", [line("1", "9.99", VAT)], policy=INCLUSIVE).lines[0]
    assert odd.tax == D("1.60")  # 9.99 - 9.99 / 1.19 = 1.595...
    assert odd.net == D("8.39")


def test_inclusive_tax_with_several_components_is_split_by_rate() -> None:
    doc = price_document("CAD", [line("1", "11.20", GST, PST)], policy=INCLUSIVE)
    priced = doc.lines[0]
    assert priced.tax == D("1.20")  # 11.20 * 0.12 / 1.12
    assert priced.taxes == (("GST", D("0.50")), ("PST", D("0.70")))
    assert priced.net == D("10.00")


def test_zero_rate_and_untaxed_lines() -> None:
    zero_rated = TaxComponent("VAT0", D(0))
    for policy in (PricingPolicy(), INCLUSIVE, EXCLUSIVE_DOC, INCLUSIVE_DOC):
        doc = price_document(
            "GBP", [line("2", "5.00", zero_rated), line("1", "1.00")], policy=policy
        )
        assert doc.tax_total == D("0.00")
        assert doc.lines[0].taxes == (("VAT0", D("0.00")),)
        assert doc.lines[1].taxes == ()
        check_document(doc, "GBP", policy)


def test_per_line_and_per_document_rounding_differ_by_one_cent() -> None:
    lines = [line("1", "1.50", VAT) for _ in range(3)]  # tax 0.285 on each line
    per_line = price_document("EUR", lines)
    per_document = price_document("EUR", lines, policy=EXCLUSIVE_DOC)
    assert per_line.tax_total == D("0.87")  # 3 x round(0.285)
    assert per_document.tax_total == D("0.86")  # round(4.50 x 0.19 = 0.855)
    assert [p.tax for p in per_document.lines] == [D("0.29"), D("0.29"), D("0.28")]
    assert per_document.grand_total == D("5.36")


def test_per_document_rounding_is_per_distinct_component() -> None:
    lines = [line("1", "1.50", VAT), line("1", "1.50", REDUCED), line("1", "1.50", VAT)]
    doc = price_document("EUR", lines, policy=EXCLUSIVE_DOC)
    assert doc.taxes_by_component == (("VAT", D("0.57")), ("VAT7", D("0.11")))  # 0.57, 0.105


def test_inclusive_per_document_extracts_tax_from_the_summed_gross() -> None:
    lines = [line("1", "1.99", VAT) for _ in range(3)]
    per_line = price_document("EUR", lines, policy=INCLUSIVE)
    per_document = price_document("EUR", lines, policy=INCLUSIVE_DOC)
    assert per_line.tax_total == D("0.96")  # 3 x round(0.3177...)
    assert per_document.tax_total == D("0.95")  # round(5.97 - 5.97 / 1.19 = 0.9532...)
    assert per_line.grand_total == per_document.grand_total == D("5.97")


def test_shipping_is_taxed_and_not_discounted_by_order_discounts() -> None:
    doc = price_document(
        "EUR",
        [line("1", "100.00", VAT)],
        order_discounts=[Discount.percentage(10)],
        shipping=Charge(D("4.90"), (VAT,)),
    )
    assert doc.shipping_net == D("4.90")
    assert doc.shipping_tax == D("0.93")  # 0.931
    assert doc.net_total == D("94.90")
    assert doc.tax_total == D("18.03")
    assert doc.grand_total == D("112.93")
    gross = price_document("EUR", [], shipping=Charge(D("5.95"), (VAT,)), policy=INCLUSIVE)
    assert (gross.shipping_net, gross.shipping_tax, gross.grand_total) == (
        D("5.00"),
        D("0.95"),
        D("5.95"),
    )


def test_shipping_joins_the_per_document_tax_base() -> None:
    doc = price_document(
        "EUR", [line("1", "1.50", VAT)], shipping=Charge(D("1.50"), (VAT,)), policy=EXCLUSIVE_DOC
    )
    assert doc.tax_total == D("0.57")  # round(3.00 x 0.19), not 0.29 + 0.29
    check_document(doc, "EUR", EXCLUSIVE_DOC)


@pytest.mark.parametrize(
    ("currency", "price", "tax"),
    [("JPY", "1980", "376"), ("KWD", "1.985", "0.377"), ("CLF", "1.9855", "0.3772")],
)
def test_taxes_round_to_each_currencys_minor_unit(currency: str, price: str, tax: str) -> None:
    doc = price_document(currency, [line("1", price, VAT)])
    assert doc.tax_total == D(tax)
    check_document(doc, currency, PricingPolicy())


def test_pricing_never_rounds_implicitly_in_the_callers_context() -> None:
    lines = [
        line("3", "19.999", VAT, GST, discounts=(Discount.percentage("12.5"),)),
        line("1", "5.00", REDUCED),
    ]
    for policy in (PricingPolicy(), INCLUSIVE, EXCLUSIVE_DOC, INCLUSIVE_DOC):
        expected = price_document("EUR", lines, order_discounts=[Discount.fixed(3)], policy=policy)
        with decimal.localcontext() as context:
            context.traps[decimal.Inexact] = True
            context.traps[decimal.Rounded] = True
            again = price_document("EUR", lines, order_discounts=[Discount.fixed(3)], policy=policy)
        assert again == expected


# --------------------------------------------------------------------------- properties


@st.composite
def documents(
    draw: st.DrawFn,
) -> tuple[str, list[LineToPrice], list[Discount], Charge | None, PricingPolicy]:
    currency = draw(sst.currencies())
    lines = draw(st.lists(sst.lines_to_price(currency), max_size=5))
    order_discounts = draw(st.lists(sst.discounts(currency), max_size=2))
    shipping = draw(
        st.none()
        | st.builds(
            Charge,
            sst.amounts(currency, max_value=100),
            st.lists(sst.tax_components(), max_size=2, unique_by=lambda t: t.name).map(tuple),
        )
    )
    return currency, lines, order_discounts, shipping, draw(sst.pricing_policies())


@settings(max_examples=300)
@given(documents())
def test_priced_documents_keep_every_invariant(case) -> None:
    currency, lines, order_discounts, shipping, policy = case
    doc = price_document(
        currency, lines, order_discounts=order_discounts, shipping=shipping, policy=policy
    )
    check_document(doc, currency, policy)
    assert len(doc.lines) == len(lines)
    again = price_document(
        currency, lines, order_discounts=order_discounts, shipping=shipping, policy=policy
    )
    assert again == doc


@settings(max_examples=150)
@given(st.data(), sst.currencies(), sst.pricing_policies())
def test_per_line_pricing_matches_an_exact_oracle(data, currency, policy) -> None:
    policy = attrs.evolve(policy, tax_rounding=TaxRounding.PER_LINE)
    lines = data.draw(st.lists(sst.lines_to_price(currency), min_size=1, max_size=4))
    doc = price_document(currency, lines, policy=policy)
    exponent = currency_exponent(currency)
    for given_line, priced in zip(lines, doc.lines, strict=True):
        amount = rnd(
            Fraction(given_line.quantity) * Fraction(given_line.unit_price),
            exponent,
            policy.rounding,
        )
        left = amount
        for discount in given_line.discounts:
            if discount.kind is DiscountKind.PERCENTAGE:
                left -= rnd(left * Fraction(discount.value) / 100, exponent, policy.rounding)
            else:
                left -= min(Fraction(discount.value), left)
        assert priced.amount == amount
        assert priced.amount - priced.line_discount == left
        rates = [Fraction(t.rate) for t in given_line.taxes]
        if policy.tax_mode is TaxMode.EXCLUSIVE:
            expected = [rnd(left * r, exponent, policy.rounding) for r in rates]
            assert [t for _, t in priced.taxes] == expected
        else:
            total = sum(rates, Fraction(0))
            assert priced.tax == rnd(left * total / (1 + total), exponent, policy.rounding)
            for (_, part), rate in zip(priced.taxes, rates, strict=True):
                share = Fraction(priced.tax) * rate / total if total else Fraction(0)
                assert abs(Fraction(part) - share) < Fraction(1, 10**exponent)


@settings(max_examples=150)
@given(st.data(), sst.currencies(), st.sampled_from(Rounding))
def test_per_document_tax_is_one_rounding_per_component(data, currency, rounding) -> None:
    rate = data.draw(st.decimals(min_value=0, max_value=D("0.3"), places=4))
    tax = TaxComponent("VAT", rate)
    prices = data.draw(st.lists(sst.unit_prices(currency), min_size=1, max_size=6))
    lines = [LineToPrice(D(1), price, taxes=(tax,)) for price in prices]
    policy = PricingPolicy(rounding, tax_rounding=TaxRounding.PER_DOCUMENT)
    doc = price_document(currency, lines, policy=policy)
    exponent = currency_exponent(currency)
    net = sum((Fraction(p.net) for p in doc.lines), Fraction(0))
    assert doc.tax_total == rnd(net * Fraction(rate), exponent, rounding)
    per_line = price_document(
        currency, lines, policy=attrs.evolve(policy, tax_rounding=TaxRounding.PER_LINE)
    )
    difference = abs(per_line.tax_total - doc.tax_total)
    assert difference <= minor_unit(currency) * len(lines)
    for priced in doc.lines:  # every line's tax within one minor unit of its exact share
        assert abs(Fraction(priced.tax) - Fraction(priced.net) * Fraction(rate)) < Fraction(
            2, 10**exponent
        )


@settings(max_examples=100)
@given(st.data(), sst.currencies(), sst.pricing_policies())
def test_a_full_order_discount_zeroes_every_line(data, currency, policy) -> None:
    lines = data.draw(st.lists(sst.lines_to_price(currency), min_size=1, max_size=4))
    doc = price_document(currency, lines, order_discounts=[Discount.percentage(100)], policy=policy)
    assert doc.grand_total == 0
    assert all(p.net == p.tax == p.gross == 0 for p in doc.lines)
    assert doc.discount_total == doc.subtotal
    check_document(doc, currency, policy)


@settings(max_examples=100)
@given(st.data(), sst.currencies())
def test_order_discount_shares_are_fair(data, currency) -> None:
    lines = data.draw(st.lists(sst.lines_to_price(currency, max_taxes=0), min_size=1, max_size=5))
    discount = data.draw(sst.discounts(currency))
    doc = price_document(currency, lines, order_discounts=[discount])
    bases = [Fraction(p.amount - p.line_discount) for p in doc.lines]
    total = sum((Fraction(p.order_discount) for p in doc.lines), Fraction(0))
    for priced, base in zip(doc.lines, bases, strict=True):
        share = total * base / sum(bases) if sum(bases) else Fraction(0)
        assert abs(Fraction(priced.order_discount) - share) < Fraction(
            1, 10 ** currency_exponent(currency)
        )


def test_the_document_check_catches_a_broken_document() -> None:
    doc = price_document("EUR", [line("1", "1.50", VAT), line("2", "3.00", VAT)])
    check_document(doc, "EUR", PricingPolicy())
    off_by_a_cent = attrs.evolve(doc.lines[0], gross=doc.lines[0].gross + D("0.01"))
    broken = attrs.evolve(doc, lines=(off_by_a_cent, doc.lines[1]))
    with pytest.raises(AssertionError, match="net \\+ tax == gross"):
        check_document(broken, "EUR", PricingPolicy())
    wrong_total = attrs.evolve(doc, grand_total=doc.grand_total + D("0.01"))
    with pytest.raises(AssertionError, match="grand total"):
        check_document(wrong_total, "EUR", PricingPolicy())
    unrounded = attrs.evolve(doc, shipping_tax=D("0.0"))
    with pytest.raises(AssertionError, match="precision"):
        check_document(unrounded, "EUR", PricingPolicy())


# --------------------------------------------------------------------------- price lists


def entry(sku: str, *breaks: tuple[str, str]) -> PriceListEntry:
    return PriceListEntry(sku, tuple(PriceBreak(D(q), D(p)) for q, p in breaks))


@pytest.fixture
def book() -> PriceBook:
    general = PriceList(
        "LIST-EUR",
        "EUR",
        [entry("MUG", ("1", "9.90"), ("10", "8.50")), entry("PEN", ("1", "1.20"))],
    )
    wholesale = PriceList(
        "WHOLESALE-EUR",
        "EUR",
        {"MUG": entry("MUG", ("100", "6.00"), ("10", "7.00"))},
        customer_group="wholesale",
        name="Wholesale",
    )
    dollars = PriceList("LIST-USD", "USD", [entry("MUG", ("1", "10.90"))])
    return PriceBook([general, wholesale, dollars])


def test_the_largest_applicable_break_wins(book: PriceBook) -> None:
    assert book.quote("MUG", "EUR", D(1)).unit_price == D("9.90")
    assert book.quote("MUG", "EUR", D(9)).unit_price == D("9.90")
    quote = book.quote("MUG", "EUR", D(10))
    assert (quote.unit_price, quote.min_quantity, quote.price_list_id) == (
        D("8.50"),
        D(10),
        "LIST-EUR",
    )
    assert quote.reason == "price list LIST-EUR, break >= 10"
    assert book.quote("MUG", "USD", D(50)).unit_price == D("10.90")


def test_the_customer_groups_list_comes_first(book: PriceBook) -> None:
    quote = book.quote("MUG", "EUR", D(150), customer_group="wholesale")
    assert quote.unit_price == D("6.00")
    assert quote.reason == "price list WHOLESALE-EUR (group wholesale), break >= 100"
    # below the group's smallest break, and for SKUs the group list lacks: the general list
    assert book.quote("MUG", "EUR", D(5), customer_group="wholesale").price_list_id == "LIST-EUR"
    assert book.quote("PEN", "EUR", D(5), customer_group="wholesale").unit_price == D("1.20")
    assert book.quote("PEN", "EUR", D(5), customer_group="retail").unit_price == D("1.20")


def test_no_price_is_an_error(book: PriceBook) -> None:
    with pytest.raises(NoPriceError) as error:
        book.quote("MUG", "JPY", D(1))
    assert (error.value.sku, error.value.currency) == ("MUG", "JPY")
    with pytest.raises(NoPriceError):
        book.quote("PEN", "USD", D(1), customer_group="wholesale")
    with pytest.raises(NoPriceError):
        PriceBook([PriceList("L", "EUR", [entry("X", ("5", "1"))])]).quote("X", "EUR", D(4))
    with pytest.raises(FloatNotAllowedError):
        book.quote("MUG", "EUR", 1.0)  # type: ignore[arg-type]
    with pytest.raises(UnknownCurrencyError):
        book.quote("MUG", "EURO", D(1))


def test_lists_of_the_same_currency_and_group_are_searched_in_order() -> None:
    promo = PriceList("PROMO", "EUR", [entry("MUG", ("1", "5.00"))])
    regular = PriceList("REGULAR", "EUR", [entry("MUG", ("1", "9.90")), entry("PEN", ("1", "1"))])
    book = PriceBook([promo, regular])
    assert book.quote("MUG", "EUR", D(1)).price_list_id == "PROMO"
    assert book.quote("PEN", "EUR", D(1)).price_list_id == "REGULAR"
    assert book.price_lists == (promo, regular)


def test_price_list_entries_are_validated_and_sorted() -> None:
    sorted_entry = entry("MUG", ("10", "8"), ("1", "9"), ("100", "7"))
    assert [b.min_quantity for b in sorted_entry.breaks] == [D(1), D(10), D(100)]
    with pytest.raises(ValidationError, match="must not be empty"):
        PriceListEntry("MUG", ())
    with pytest.raises(ValidationError, match="same min_quantity"):
        entry("MUG", ("1", "9"), ("1.0", "8"))
    with pytest.raises(ValidationError, match="another SKU"):
        PriceList("L", "EUR", {"PEN": entry("MUG", ("1", "1"))})
    with pytest.raises(ValidationError, match="appears twice"):
        PriceList("L", "EUR", [entry("MUG", ("1", "1")), entry("MUG", ("2", "1"))])
    with pytest.raises(UnknownCurrencyError):
        PriceList("L", "EURO", [])
    with pytest.raises(ValidationError, match="used twice"):
        PriceBook([PriceList("L", "EUR", []), PriceList("L", "USD", [])])
    with pytest.raises(FloatNotAllowedError):
        PriceBreak(D(1), 9.99)


def test_price_lists_are_immutable() -> None:
    entries = {"MUG": entry("MUG", ("1", "1"))}
    price_list = PriceList("L", "EUR", entries)
    entries["PEN"] = entry("PEN", ("1", "2"))
    assert "PEN" not in price_list.entries
    with pytest.raises(TypeError):
        price_list.entries["PEN"] = entries["PEN"]  # type: ignore[index]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        price_list.currency = "USD"  # type: ignore[misc]
    assert hash(price_list) == hash(PriceList("L", "EUR", {"MUG": entry("MUG", ("1", "1"))}))


# --------------------------------------------------------------------------- conversion


def test_exchange_rates_are_validated() -> None:
    with pytest.raises(FloatNotAllowedError) as error:
        ExchangeRate("EUR", "USD", 1.08, T0)
    assert error.value.field == "rate"
    with pytest.raises(ValidationError, match="greater than zero"):
        ExchangeRate("EUR", "USD", D(0), T0)
    with pytest.raises(UnknownCurrencyError) as code:
        ExchangeRate("EUR", "DOLLAR", D(1), T0)
    assert code.value.field == "quote"
    with pytest.raises(ValidationError, match="timezone-aware") as naive:
        ExchangeRate("EUR", "USD", D("1.08"), dt.datetime(2026, 1, 1))
    assert naive.value.field == "as_of"
    with pytest.raises(ValidationError, match="must be 1"):
        ExchangeRate("EUR", "EUR", D(2), T0)


def test_conversion_rounds_to_the_quote_currency() -> None:
    rate = ExchangeRate("EUR", "JPY", D("161.2345"), T0, "ECB")
    assert rate.convert(D("10.00")) == D(1612)
    assert rate.convert(D("0.01")) == D(2)  # 1.612345
    kwd = ExchangeRate("USD", "KWD", D("0.30745"), T0)
    assert kwd.convert(D("3.00")) == D("0.922")  # 0.92235
    assert kwd.convert(D("3.00"), Rounding.HALF_EVEN) == D("0.922")
    assert kwd.convert(D("5.00"), Rounding.HALF_EVEN) == D("1.537")  # 1.53725
    assert kwd.convert(D("5.00")) == D("1.537")
    with pytest.raises(FloatNotAllowedError):
        kwd.convert(3.0)  # type: ignore[arg-type]


def test_convert_money_refuses_another_currency() -> None:
    rate = ExchangeRate("EUR", "USD", D("1.0825"), T0)
    assert rate.convert_money(Money("100.00", "EUR")) == Money("108.25", "USD")
    with pytest.raises(CurrencyMismatchError) as error:
        rate.convert_money(Money("100.00", "GBP"))
    assert error.value.expected == "EUR"


@settings(max_examples=150)
@given(sst.exchange_rates(), st.data(), st.sampled_from(Rounding))
def test_conversions_are_rounded_to_the_target_currency(rate, data, rounding) -> None:
    amount = data.draw(sst.amounts(rate.base, max_value=1_000_000))
    converted = rate.convert(amount, rounding)
    exponent = currency_exponent(rate.quote)
    assert converted.as_tuple().exponent == -exponent
    assert Fraction(converted) == rnd(Fraction(amount) * Fraction(rate.rate), exponent, rounding)


def test_static_rates_pick_the_latest_rate_not_after_the_moment() -> None:
    day = dt.timedelta(days=1)
    old = ExchangeRate("EUR", "USD", D("1.05"), T0)
    new = ExchangeRate("EUR", "USD", D("1.10"), T0 + day)
    rates = StaticExchangeRates([new, old])
    assert rates.rate("EUR", "USD", T0 + day / 2) is old
    assert rates.rate("EUR", "USD", T0 + 2 * day) is new
    in_shanghai = (T0 + day).astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert rates.rate("EUR", "USD", in_shanghai) is new
    with pytest.raises(ExchangeRateUnavailableError) as early:
        rates.rate("EUR", "USD", T0 - day)
    assert (early.value.base, early.value.quote) == ("EUR", "USD")


def test_static_rates_give_identity_and_inverse_rates() -> None:
    rates = StaticExchangeRates([ExchangeRate("EUR", "USD", D("1.08"), T0, "ECB")])
    identity = rates.rate("JPY", "JPY", T0)
    assert identity.rate == 1
    assert identity.convert(D(1234)) == D(1234)
    inverse = rates.rate("USD", "EUR", T0)
    assert (inverse.base, inverse.quote) == ("USD", "EUR")
    assert inverse.rate == D("0.9259259259")  # 1 / 1.08 to 10 significant digits
    assert len(inverse.rate.as_tuple().digits) == INVERSE_RATE_DIGITS
    assert inverse.source == "inverse of EUR/USD ECB"
    with pytest.raises(ExchangeRateUnavailableError):
        rates.rate("USD", "JPY", T0)


def test_static_rates_refuse_bad_input() -> None:
    with pytest.raises(ValidationError, match="conflicts"):
        StaticExchangeRates(
            [ExchangeRate("EUR", "USD", D("1.08"), T0), ExchangeRate("EUR", "USD", D("1.09"), T0)]
        )
    rates = StaticExchangeRates([])
    with pytest.raises(ValidationError) as naive:
        rates.rate("EUR", "USD", dt.datetime(2026, 1, 1))
    assert naive.value.field == "at"
    with pytest.raises(UnknownCurrencyError):
        rates.rate("EUR", "XXXX", T0)


@settings(max_examples=100)
@given(documents())
def test_the_one_pass_path_gives_what_the_general_path_gives(case) -> None:
    currency, lines, _, shipping, policy = case
    quantum, exponent = minor_unit(currency), currency_exponent(currency)
    mode = policy.rounding.value
    inclusive = policy.tax_mode is TaxMode.INCLUSIVE
    one_pass = _price_per_line(lines, shipping, quantum, mode, inclusive, exponent)
    general = _price_in_passes(
        lines, (), shipping, quantum, mode, inclusive, exponent, per_line=True
    )
    assert one_pass == general
