"""Exact money: minor units, rounding, floats refused, allocation, localized formatting."""

from __future__ import annotations

import decimal
from decimal import Decimal
from fractions import Fraction

import moneyed
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import salesorders
from salesorders.domain.money import (
    Money,
    Rounding,
    allocate,
    allocate_decimal,
    check_currency,
    currency_exponent,
    format_money,
    get_locale,
    minor_unit,
    money,
    price_places,
    quantize,
    same_currency,
    to_decimal,
    to_quantity,
    zero,
)
from salesorders.errors import (
    CurrencyMismatchError,
    FloatNotAllowedError,
    InvalidQuantityError,
    SalesOrdersError,
    UnknownCurrencyError,
    ValidationError,
)
from salesorders.testing import strategies as sst

EXPONENTS = {"JPY": 0, "KRW": 0, "USD": 2, "EUR": 2, "CNY": 2, "KWD": 3, "BHD": 3, "CLF": 4}


# --------------------------------------------------------------------------- minor units


@pytest.mark.parametrize(("code", "exponent"), sorted(EXPONENTS.items()))
def test_minor_units_follow_iso_4217(code: str, exponent: int) -> None:
    assert currency_exponent(code) == exponent
    assert minor_unit(code) == Decimal(1).scaleb(-exponent)
    assert zero(code).amount.as_tuple().exponent == -exponent


@pytest.mark.parametrize("code", ["XYZ", "usd", "", None, 840])
def test_unknown_currencies_are_refused(code: object) -> None:
    with pytest.raises(UnknownCurrencyError) as error:
        check_currency(code, "lines[0].currency")
    assert error.value.field == "lines[0].currency"
    with pytest.raises(UnknownCurrencyError):
        minor_unit(str(code))
    with pytest.raises(UnknownCurrencyError):
        currency_exponent(str(code))


# --------------------------------------------------------------------------- floats refused


@pytest.mark.parametrize("field", ["unit_price", "lines[2].quantity", "rate"])
def test_floats_are_refused_naming_the_field(field: str) -> None:
    with pytest.raises(FloatNotAllowedError) as error:
        to_decimal(0.1, field)
    assert error.value.field == field
    assert field in str(error.value)
    assert "Decimal" in str(error.value)
    assert isinstance(error.value, TypeError)
    assert isinstance(error.value, ValidationError)


def test_floats_are_refused_by_money_quantity_and_allocation() -> None:
    with pytest.raises(FloatNotAllowedError, match="amount"):
        money(19.99, "USD")
    with pytest.raises(FloatNotAllowedError, match="quantity"):
        to_quantity(1.0)
    with pytest.raises(FloatNotAllowedError, match=r"weights\[1\]"):
        allocate_decimal(Decimal("1.00"), [Decimal(1), 0.5], 2)  # type: ignore[list-item]
    with pytest.raises(FloatNotAllowedError, match="amount"):
        allocate_decimal(1.0, [1], 2)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "problem"),
    [(True, "boolean"), ("abc", "not a decimal"), ("NaN", "finite"), (Decimal("Inf"), "finite")],
)
def test_to_decimal_refuses_non_numbers(value: object, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        to_decimal(value, "price")


def test_to_decimal_accepts_exact_inputs() -> None:
    assert to_decimal(" 12.50 ", "x") == Decimal("12.50")
    assert to_decimal(3, "x") == Decimal(3)
    assert to_decimal(Decimal("0.1"), "x") == Decimal("0.1")


# --------------------------------------------------------------------------- money and rounding


def test_money_refuses_hidden_rounding_and_rounds_when_asked() -> None:
    with pytest.raises(ValidationError, match="more decimal places than JPY"):
        money("100.5", "JPY")
    assert money("100.5", "JPY", rounding=Rounding.HALF_UP).amount == Decimal(101)
    assert money("100.5", "JPY", rounding=Rounding.HALF_EVEN).amount == Decimal(100)
    assert money("1.2345", "CLF").amount == Decimal("1.2345")
    with pytest.raises(ValidationError, match="more decimal places than KWD"):
        money("1.2345", "KWD")


def test_money_refuses_absurd_sizes_with_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="too large"):
        money("1e30", "USD")
    with pytest.raises(ValidationError, match="too large"):
        money("1e999999999", "USD")


def test_money_names_the_currency_field() -> None:
    with pytest.raises(UnknownCurrencyError) as error:
        money("1", "EURO", "shipping")
    assert error.value.field == "shipping.currency"


def test_the_packages_money_raises_the_librarys_errors_naming_the_field() -> None:
    assert salesorders.Money is Money
    with pytest.raises(moneyed.CurrencyDoesNotExist):
        moneyed.Money("1", "XYZ")  # py-moneyed's own error, outside SalesOrdersError
    with pytest.raises(UnknownCurrencyError) as unknown:
        Money("1", "XYZ")
    assert isinstance(unknown.value, SalesOrdersError)
    assert unknown.value.field == "currency"
    with pytest.raises(UnknownCurrencyError):
        Money("1", moneyed.Currency("XYZ"))
    with pytest.raises(FloatNotAllowedError) as binary:
        Money(0.1 + 0.2, "USD")
    assert binary.value.field == "amount"
    with pytest.raises(ValidationError) as text:
        Money("twelve", "USD")
    assert text.value.field == "amount"
    with pytest.raises(ValidationError) as missing:
        Money("1")
    assert missing.value.field == "currency"


def test_the_packages_money_is_py_moneyeds_money() -> None:
    price = Money("1.50", "usd")
    assert isinstance(price, moneyed.Money)
    assert price == moneyed.Money("1.50", "USD")
    assert price.currency.code == "USD"
    assert type(price + price) is Money
    assert (price * 3).amount == Decimal("4.50")
    assert Money(currency="EUR").amount == 0


@pytest.mark.parametrize(
    ("code", "places"), [("USD", 6), ("EUR", 6), ("JPY", 4), ("KWD", 7), ("CLF", 8)]
)
def test_unit_prices_may_have_four_places_beyond_the_minor_unit(code: str, places: int) -> None:
    assert price_places(code) == places
    assert price_places(code, 9) == 9


@pytest.mark.parametrize("precision", [-1, 13, True, "6", 6.0])
def test_a_price_precision_is_an_int_from_0_to_12(precision: object) -> None:
    with pytest.raises(ValidationError) as caught:
        price_places("USD", precision)
    assert caught.value.field == "price_precision"


@pytest.mark.parametrize(
    ("amount", "code", "half_up", "half_even"),
    [
        ("2.5", "JPY", "3", "2"),
        ("0.125", "USD", "0.13", "0.12"),
        ("0.0125", "KWD", "0.013", "0.012"),
        ("1.00005", "CLF", "1.0001", "1.0000"),
        ("-0.125", "USD", "-0.13", "-0.12"),
    ],
)
def test_quantize_applies_the_rounding_policy(
    amount: str, code: str, half_up: str, half_even: str
) -> None:
    up = quantize(Decimal(amount), code)
    even = quantize(Decimal(amount), code, Rounding.HALF_EVEN)
    assert str(up) == half_up
    assert str(even) == half_even


def test_quantize_refuses_absurd_sizes_quickly() -> None:
    with pytest.raises(ValidationError, match="too large"):
        quantize(Decimal("1e999999999"), "USD")


def test_quantize_ignores_the_callers_decimal_context() -> None:
    big = Decimal("12345678901234567890123.125")
    with decimal.localcontext() as context:
        context.prec = 5
        assert quantize(big, "USD") == Decimal("12345678901234567890123.13")


def test_same_currency_checks_the_currency() -> None:
    assert same_currency(Money("1.50", "EUR"), "EUR", "amount") == Decimal("1.50")
    with pytest.raises(CurrencyMismatchError) as error:
        same_currency(Money("1.50", "USD"), "EUR", "payment")
    assert error.value.field == "payment"
    assert error.value.expected == "EUR"


# --------------------------------------------------------------------------- quantities


def test_quantities_are_positive_and_in_the_units_precision() -> None:
    assert to_quantity("3") == Decimal(3)
    assert to_quantity("1.250", precision=3) == Decimal("1.250")
    assert to_quantity("2.000") == Decimal("2.000")
    with pytest.raises(InvalidQuantityError, match="whole units"):
        to_quantity("1.5")
    with pytest.raises(InvalidQuantityError, match="at most 2 decimal places"):
        to_quantity("1.255", precision=2)
    with pytest.raises(InvalidQuantityError, match="greater than zero"):
        to_quantity("0")
    with pytest.raises(InvalidQuantityError, match="greater than zero"):
        to_quantity(-1)


def test_quantity_precision_is_checked_exactly_beyond_28_digits() -> None:
    # 1 + 10**-29 rounds to 1 at the default 28 digits; it still is not a whole number.
    with pytest.raises(InvalidQuantityError):
        to_quantity("1.00000000000000000000000000001")


# --------------------------------------------------------------------------- allocation


def test_fowler_five_cents_split_three_to_seven() -> None:
    parts = allocate(Money("0.05", "USD"), [3, 7])
    assert [p.amount for p in parts] == [Decimal("0.02"), Decimal("0.03")]
    assert all(p.currency.code == "USD" for p in parts)


def test_fowler_two_dollars_split_in_three() -> None:
    parts = allocate(Money("2.00", "USD"), [1, 1, 1])
    assert [p.amount for p in parts] == [Decimal("0.67"), Decimal("0.67"), Decimal("0.66")]


@pytest.mark.parametrize(
    ("code", "amount", "expected"),
    [
        ("JPY", "100", ["34", "33", "33"]),
        ("KWD", "1.000", ["0.334", "0.333", "0.333"]),
        ("CLF", "1.0000", ["0.3334", "0.3333", "0.3333"]),
    ],
)
def test_allocation_in_every_exponent(code: str, amount: str, expected: list[str]) -> None:
    parts = allocate(Money(amount, code), [1, 1, 1])
    assert [str(p.amount) for p in parts] == expected


def test_negative_amounts_split_like_their_absolute_value() -> None:
    parts = allocate_decimal(Decimal("-2.00"), [1, 1, 1, 0], 2)
    assert parts == [Decimal("-0.67"), Decimal("-0.67"), Decimal("-0.66"), Decimal("0")]
    assert str(parts[3]) == "0.00"  # no negative zero


def test_allocation_is_exact_for_numbers_beyond_the_default_precision() -> None:
    amount = Decimal("12345678901234567890123.01")
    weights = [Decimal("3.3333333333333333333333333333"), Decimal("6.6666666666666666666666666667")]
    parts = allocate_decimal(amount, weights, 2)
    assert sum(map(Fraction, parts)) == Fraction(amount)  # exact, unlike a 28-digit Decimal sum
    exact = [Fraction(amount) * Fraction(w) / sum(map(Fraction, weights)) for w in weights]
    assert all(abs(Fraction(p) - e) < Fraction(1, 100) for p, e in zip(parts, exact, strict=True))


@pytest.mark.parametrize(
    ("weights", "problem"),
    [
        ([], "must not be empty"),
        ([0, 0], "must not all be zero"),
        ([1, -1], "must not be negative"),
        ([Decimal("NaN")], "finite"),
        ([True], "Decimal or an int"),
        (["1"], "Decimal or an int"),
    ],
)
def test_allocation_refuses_bad_weights(weights: list[object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        allocate_decimal(Decimal("1.00"), weights, 2)  # type: ignore[arg-type]


def test_allocation_refuses_an_amount_finer_than_the_exponent_or_absurdly_large() -> None:
    with pytest.raises(ValidationError, match="more than 2 decimal places"):
        allocate_decimal(Decimal("1.005"), [1, 1], 2)
    with pytest.raises(ValidationError, match="too large"):
        allocate_decimal(Decimal("1e999999999"), [1, 1], 2)


def check_allocation(
    amount: Decimal, weights: list[Decimal], parts: list[Decimal], exp: int
) -> None:
    """The allocation contract: exact sum, each part within one minor unit, at the precision."""
    unit = Fraction(1, 10**exp)
    assert len(parts) == len(weights)
    assert sum(parts, Decimal(0)) == amount, "parts must sum exactly to the amount"
    total_weight = sum(map(Fraction, weights))
    for part, weight in zip(parts, weights, strict=True):
        share = Fraction(amount) * Fraction(weight) / total_weight
        assert abs(Fraction(part) - share) < unit, "each part within one minor unit of its share"
        assert part.as_tuple().exponent == -exp
        if weight == 0:
            assert part == 0


weights_lists = st.lists(
    st.decimals(min_value=0, max_value=1000, places=3), min_size=1, max_size=8
).filter(lambda ws: sum(ws) > 0)


@settings(max_examples=150)
@given(
    currency=sst.currencies(),
    data=st.data(),
    weights=weights_lists,
)
def test_allocate_is_exact_fair_and_deterministic(
    currency: str, data: st.DataObject, weights: list[Decimal]
) -> None:
    exp = currency_exponent(currency)
    amount = data.draw(sst.amounts(currency, min_value=-10_000, max_value=10_000))
    parts = allocate_decimal(amount, weights, exp)
    check_allocation(amount, weights, parts, exp)
    assert allocate_decimal(amount, list(weights), exp) == parts


@pytest.mark.parametrize("exponent", [0, 2, 3, 4])
def test_every_exponent_is_drawn_by_the_strategies(exponent: int) -> None:
    code = find(sst.currencies(), lambda c: currency_exponent(c) == exponent)
    assert currency_exponent(code) == exponent
    amount = find(sst.amounts(code), lambda a: a > 0)
    assert amount.as_tuple().exponent == -exponent


def test_currencies_can_be_limited_to_exponents() -> None:
    kwd_like = find(sst.currencies(exponents=[3]), lambda c: True)
    assert currency_exponent(kwd_like) == 3
    assert set(sst.CURRENCIES_BY_EXPONENT) == {0, 2, 3, 4}
    with pytest.raises(ValidationError) as error:
        sst.currencies(exponents=[1])
    assert error.value.field == "exponents"


@settings(max_examples=50)
@given(sst.currencies(exponents=[0, 4]), st.data())
def test_moneys_are_at_the_currency_precision(currency: str, data: st.DataObject) -> None:
    drawn = data.draw(sst.moneys(currency))
    assert drawn.currency.code == currency
    assert drawn.amount.as_tuple().exponent == -currency_exponent(currency)


def naive_allocate(amount: Decimal, weights: list[Decimal], exp: int) -> list[Decimal]:
    """A broken allocator: rounds every share on its own and loses (or invents) cents."""
    total = sum(weights)
    quantum = Decimal(1).scaleb(-exp)
    return [(amount * w / total).quantize(quantum) for w in weights]


def test_the_allocation_check_catches_a_broken_allocator() -> None:
    with pytest.raises(AssertionError, match="sum exactly"):
        check_allocation(
            Decimal("0.05"),
            [Decimal(1), Decimal(1)],
            naive_allocate(Decimal("0.05"), [Decimal(1), Decimal(1)], 2),
            2,
        )

    def broken(case: tuple[str, Decimal, list[Decimal]]) -> bool:
        currency, amount, weights = case
        exp = currency_exponent(currency)
        try:
            check_allocation(amount, weights, naive_allocate(amount, weights, exp), exp)
        except AssertionError:
            return True
        return False

    cases = sst.currencies().flatmap(
        lambda c: st.tuples(st.just(c), sst.amounts(c, max_value=100), weights_lists)
    )
    currency, amount, weights = find(cases, broken)
    assert broken((currency, amount, weights))


# --------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("locale", "code", "amount", "text"),
    [
        ("en_US", "USD", "1234.5", "$1,234.50"),
        ("en_US", "JPY", "1234", "¥1,234"),
        ("en_US", "KWD", "1234.5", "KWD1,234.500"),
        ("zh_CN", "CNY", "1234.5", "¥1,234.50"),
        ("zh_CN", "USD", "1234.5", "US$1,234.50"),
        ("de_DE", "EUR", "1234.5", "1.234,50\xa0€"),
        ("de_DE", "CLF", "1234.5", "1.234,5000\xa0CLF"),
        ("ja_JP", "JPY", "1234", "￥1,234"),
        ("ja_JP", "USD", "1234.5", "$1,234.50"),
        ("en_US", "USD", "-1234.5", "-$1,234.50"),
        ("nl_NL", "EUR", "-1234.5", "€\xa0-1.234,50"),
    ],
)
def test_format_money_is_localized(locale: str, code: str, amount: str, text: str) -> None:
    assert format_money(Money(amount, code), locale) == text


def test_format_money_rounds_with_the_library_policy() -> None:
    assert format_money(Money("0.125", "USD"), "en_US") == "$0.13"
    assert format_money(Money("0.125", "USD"), "en_US", Rounding.HALF_EVEN) == "$0.12"


def test_unknown_locales_are_refused() -> None:
    with pytest.raises(ValidationError) as error:
        get_locale("xx_NOPE")
    assert error.value.field == "locale"
