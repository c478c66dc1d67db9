"""Exact money on top of py-moneyed.

* Precision comes from ISO 4217 minor units: JPY 0, USD/EUR/CNY 2, KWD/BHD 3, CLF 4.
* Rounding is an explicit :class:`Rounding` policy (half-up by default, half-even selectable). It is
  applied only where the library documents it: line amounts, percentage discounts, tax amounts and
  conversions (see :mod:`salesorders.domain.pricing`), and when formatting a finer amount.
* Floats are refused wherever an amount, a price, a rate or a quantity enters.
* :func:`allocate` splits an amount into parts that sum exactly to it.
* :func:`format_money` formats with babel and an explicit locale (never the process locale).
* :class:`Money` is py-moneyed's ``Money`` refusing what the library refuses (an unknown currency,
  a float, a non-number) with errors rooted at :class:`~salesorders.errors.SalesOrdersError`;
  the library accepts any py-moneyed ``Money``.
* A unit price may be finer than its currency: :func:`price_places` says by how much.

Inside loops the library computes with :class:`~decimal.Decimal` and builds :class:`Money` only at
the API boundary: a ``Decimal`` add is an order of magnitude cheaper than a ``Money`` add.
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Sequence
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

import babel
import babel.numbers
import moneyed
from moneyed import CURRENCIES

from salesorders.errors import (
    CurrencyMismatchError,
    FloatNotAllowedError,
    InvalidQuantityError,
    UnknownCurrencyError,
    ValidationError,
)

__all__ = [
    "EXACT_CONTEXT",
    "MAX_PRICE_PLACES",
    "PRICE_EXTRA_PLACES",
    "Money",
    "Rounding",
    "allocate",
    "allocate_decimal",
    "check_currency",
    "check_price_precision",
    "currency_exponent",
    "format_money",
    "get_locale",
    "minor_unit",
    "money",
    "price_places",
    "quantize",
    "same_currency",
    "to_decimal",
    "to_quantity",
    "within_places",
    "zero",
]

DecimalLike = Decimal | int | str

# Additions, subtractions, multiplications and quantizations in this context are exact whatever
# the size of the operands, and independent of the caller's thread-local decimal context.
# Never divide in it (an inexact quotient would need unlimited digits).
EXACT_CONTEXT = Context(
    prec=MAX_PREC,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
# An amount has at most this many digits before the decimal point.
_MAX_AMOUNT_DIGITS = 24
_ZERO = Decimal(0)

#: A unit price may have this many decimal places beyond its currency's minor unit by default.
PRICE_EXTRA_PLACES = 4
#: The most decimal places a unit price may be given to allow (``price_precision``).
MAX_PRICE_PLACES = 12


class Rounding(enum.Enum):
    """How an amount is rounded to its currency's minor unit."""

    HALF_UP = ROUND_HALF_UP
    HALF_EVEN = ROUND_HALF_EVEN


def _exponent_of(sub_unit: int) -> int:
    exponent = 0
    while sub_unit >= 10:
        sub_unit //= 10
        exponent += 1
    return exponent


# ISO 4217 minor units per currency code, computed once from py-moneyed's table.
_EXPONENTS: dict[str, int] = {
    code: _exponent_of(currency.sub_unit)
    for code, currency in CURRENCIES.items()
    if code != "DEFAULT"
}
_QUANTUMS: dict[str, Decimal] = {code: Decimal(1).scaleb(-e) for code, e in _EXPONENTS.items()}
_PRICE_PLACES: dict[str, int] = {code: e + PRICE_EXTRA_PLACES for code, e in _EXPONENTS.items()}


def check_currency(code: object, field: str = "currency") -> str:
    """Return ``code`` if it is an ISO 4217 code; else raise :class:`UnknownCurrencyError`."""
    if isinstance(code, str) and code in _EXPONENTS:
        return code
    raise UnknownCurrencyError(field, code)


def currency_exponent(code: str) -> int:
    """The number of minor-unit digits of ``code`` (JPY 0, USD 2, KWD 3, CLF 4)."""
    try:
        return _EXPONENTS[code]
    except KeyError:
        raise UnknownCurrencyError("currency", code) from None


def minor_unit(code: str) -> Decimal:
    """The smallest amount of ``code``: ``Decimal('0.01')`` for USD, ``Decimal('1')`` for JPY."""
    try:
        return _QUANTUMS[code]
    except KeyError:
        raise UnknownCurrencyError("currency", code) from None


def to_decimal(value: object, field: str) -> Decimal:
    """Convert ``value`` to a finite Decimal; refuse floats, booleans and anything not a number."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValidationError(field, value, "must be a finite number")
        return value
    if isinstance(value, bool):
        raise ValidationError(field, value, "must be a number, not a boolean")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        raise FloatNotAllowedError(field, value)
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValidationError(
                field, value, "is not a decimal number", "write it like '12.50'"
            ) from None
        if not result.is_finite():
            raise ValidationError(field, value, "must be a finite number")
        return result
    raise ValidationError(
        field, value, f"expected a Decimal, int or numeric string, not {type(value).__name__}"
    )


class Money(moneyed.Money):
    """py-moneyed's ``Money``, built from input the library accepts.

    An unknown currency raises :class:`~salesorders.errors.UnknownCurrencyError` (py-moneyed's own
    ``Money("1", "XYZ")`` raises its ``CurrencyDoesNotExist``), a float
    :class:`~salesorders.errors.FloatNotAllowedError`, and an amount that is not a number a
    :class:`~salesorders.errors.ValidationError` — each naming the field. The amount is kept as
    given (use :func:`money` to refuse amounts finer than the currency). Instances are py-moneyed
    ``Money`` objects in every other respect, and the library accepts any py-moneyed ``Money``.
    """

    def __init__(
        self, amount: object = _ZERO, currency: str | moneyed.Currency | None = None
    ) -> None:
        if currency is None:
            raise ValidationError("currency", None, "is required", "give an ISO 4217 code")
        code = currency.code if isinstance(currency, moneyed.Currency) else currency
        if not isinstance(code, str) or code.upper() not in _EXPONENTS:
            raise UnknownCurrencyError("currency", currency)
        super().__init__(to_decimal(amount, "amount"), currency)


def check_price_precision(precision: object, field: str = "price_precision") -> int | None:
    """Return ``precision`` if it is ``None`` or an int from 0 to :data:`MAX_PRICE_PLACES`."""
    return None if precision is None else _given_places(precision, field)


def _given_places(precision: object, field: str) -> int:
    if (
        isinstance(precision, bool)
        or not isinstance(precision, int)
        or not 0 <= precision <= MAX_PRICE_PLACES
    ):
        raise ValidationError(
            field,
            precision,
            f"must be an int from 0 to {MAX_PRICE_PLACES}",
            "give the number of decimal places a unit price may have, or None",
        )
    return precision


def price_places(currency: str, precision: object = None, field: str = "price_precision") -> int:
    """How many decimal places a unit price in ``currency`` may have.

    ``precision`` when given (see :func:`check_price_precision`), else the currency's minor unit
    plus :data:`PRICE_EXTRA_PLACES`: 6 for USD, 4 for JPY, 7 for KWD.
    """
    if precision is not None:
        return _given_places(precision, field)
    places = _PRICE_PLACES.get(currency)
    if places is None:
        raise UnknownCurrencyError("currency", currency)
    return places


def within_places(number: Decimal, places: int) -> bool:
    """True when the finite ``number`` has no more than ``places`` decimal places that matter
    (trailing zeros do not: ``Decimal("1.50")`` is within 1 place)."""
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    # Only a number written with more places than allowed can be finer than that; the exact
    # check then costs no more than the digits it was written with.
    return -exponent <= places or number.quantize(_places(places), context=EXACT_CONTEXT) == number


def quantize(amount: Decimal, currency: str, rounding: Rounding = Rounding.HALF_UP) -> Decimal:
    """Round ``amount`` to the minor unit of ``currency`` with the given rounding policy.

    Exact whatever the caller's decimal context; amounts of ``10**24`` or more are refused with a
    :class:`ValidationError` (they are input errors, and would be costly to round).
    """
    if amount.adjusted() >= _MAX_AMOUNT_DIGITS:
        raise ValidationError(
            "amount", amount, "is too large for an amount", f"stay below 10**{_MAX_AMOUNT_DIGITS}"
        )
    return amount.quantize(minor_unit(currency), rounding.value, EXACT_CONTEXT)


def money(
    amount: object,
    currency: object,
    field: str = "amount",
    *,
    rounding: Rounding | None = None,
) -> Money:
    """Build a :class:`Money` from untrusted input.

    Refuses floats, unknown currencies and amounts of ``10**24`` or more. Without ``rounding`` an
    amount finer than the currency's minor unit is refused (nothing is rounded silently); with it
    the amount is rounded.
    """
    code = check_currency(currency, f"{field}.currency" if field != "amount" else "currency")
    value = to_decimal(amount, field)
    if value.adjusted() >= _MAX_AMOUNT_DIGITS:
        raise ValidationError(
            field, amount, "is too large for an amount", f"stay below 10**{_MAX_AMOUNT_DIGITS}"
        )
    quantum = _QUANTUMS[code]
    rounded = value.quantize(quantum, (rounding or Rounding.HALF_UP).value, EXACT_CONTEXT)
    if rounding is None and rounded != value:
        raise ValidationError(
            field,
            amount,
            f"has more decimal places than {code} allows ({_EXPONENTS[code]})",
            "round it first or pass an explicit rounding policy",
        )
    return Money(rounded, code)


def zero(currency: str) -> Money:
    """Zero in ``currency``, at the currency's precision."""
    return Money(Decimal(0).quantize(minor_unit(currency)), currency)


def same_currency(amount: moneyed.Money, currency: str, field: str) -> Decimal:
    """Return the amount of ``amount`` after checking it is in ``currency``."""
    if amount.currency.code != currency:
        raise CurrencyMismatchError(field, amount, currency)
    return Decimal(amount.amount)


# --------------------------------------------------------------------------- quantities


def to_quantity(value: object, field: str = "quantity", precision: int = 0) -> Decimal:
    """Validate a quantity: positive, and with at most ``precision`` decimal places.

    ``precision`` is 0 for products counted in units and e.g. 3 for products sold by the kg.
    """
    if value.__class__ is int and value > 0 and precision >= 0:
        return Decimal(value)  # whole units, within any precision: the common case at once
    if isinstance(value, float):
        raise FloatNotAllowedError(field, value)
    number = to_decimal(value, field)
    if number <= 0:
        raise InvalidQuantityError(field, value, "must be greater than zero")
    if precision < 0:
        raise ValidationError(
            f"{field}_precision", precision, "must be zero or more decimal places"
        )
    if not within_places(number, precision):
        unit = "whole units" if precision == 0 else f"at most {precision} decimal places"
        raise InvalidQuantityError(
            field, value, f"must be in {unit}", "round the quantity to the product's unit"
        )
    return number


@functools.lru_cache(maxsize=32)
def _places(precision: int) -> Decimal:
    return Decimal(1).scaleb(-precision)


# --------------------------------------------------------------------------- allocation


def allocate_decimal(
    amount: Decimal, weights: Sequence[Decimal | int], exponent: int
) -> list[Decimal]:
    """Split ``amount`` (at ``exponent`` decimal places) in proportion to ``weights``.

    The parts sum exactly to ``amount``; each is within one minor unit of its exact share. The
    remainder goes one minor unit at a time to the largest fractional remainders, ties to the
    earliest position, so the result is deterministic. Negative amounts are split like their
    absolute value and negated. Weights must be non-negative with a positive sum; a part whose
    weight is zero is always zero. Every part has exactly ``exponent`` places. The arithmetic is
    exact integer arithmetic in minor units; amounts of ``10**24`` or more are refused.
    """
    integer_weights, total_weight = _integer_weights(weights)
    minor = _minor_units(amount, exponent)
    negative = minor < 0
    if negative:
        minor = -minor
    parts: list[int] = []
    remainders: list[int] = []
    for weight in integer_weights:
        part, remainder = divmod(minor * weight, total_weight)
        parts.append(part)
        remainders.append(remainder)
    leftover = minor - sum(parts)
    if leftover:
        # A stable sort keeps equal remainders in position order: ties go to the earliest part.
        ranking = sorted(range(len(parts)), key=remainders.__getitem__, reverse=True)
        for index in ranking[:leftover]:
            parts[index] += 1
    if negative:
        return [Decimal(-part).scaleb(-exponent, EXACT_CONTEXT) for part in parts]
    return [Decimal(part).scaleb(-exponent, EXACT_CONTEXT) for part in parts]


def _integer_weights(weights: Sequence[Decimal | int]) -> tuple[list[int], int]:
    """The weights scaled to integers with the same ratios, and their sum."""
    if len(weights) == 0:
        raise ValidationError("weights", weights, "must not be empty", "give one weight per part")
    numerators: list[int] = []
    denominators: list[int] = []
    for index, weight in enumerate(weights):
        if isinstance(weight, Decimal):
            if not weight.is_finite():
                raise ValidationError(f"weights[{index}]", weight, "must be a finite number")
        elif weight.__class__ is not int:  # refuses booleans too
            if isinstance(weight, float):
                raise FloatNotAllowedError(f"weights[{index}]", weight)
            raise ValidationError(
                f"weights[{index}]", weight, "must be a Decimal or an int", "pass Decimal weights"
            )
        numerator, denominator = weight.as_integer_ratio()
        if numerator < 0:
            raise ValidationError(f"weights[{index}]", weight, "must not be negative")
        numerators.append(numerator)
        denominators.append(denominator)
    common = math.lcm(*denominators)
    scaled = [n * (common // d) for n, d in zip(numerators, denominators, strict=True)]
    total = sum(scaled)
    if total == 0:
        raise ValidationError(
            "weights", weights, "must not all be zero", "give at least one positive weight"
        )
    return scaled, total


def _minor_units(amount: Decimal, exponent: int) -> int:
    """``amount`` as a whole number of minor units; refuses finer or absurdly large amounts."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        amount = to_decimal(amount, "amount")
    if amount.adjusted() >= _MAX_AMOUNT_DIGITS:
        raise ValidationError(
            "amount", amount, "is too large for an amount", f"stay below 10**{_MAX_AMOUNT_DIGITS}"
        )
    scaled = amount.scaleb(exponent, EXACT_CONTEXT)
    minor = int(scaled)
    if minor != scaled:
        raise ValidationError(
            "amount", amount, f"has more than {exponent} decimal places", "round it first"
        )
    return minor


def allocate(amount: moneyed.Money, weights: Sequence[Decimal | int]) -> list[Money]:
    """Split ``amount`` into ``len(weights)`` parts that sum exactly to it.

    Used for order-level discounts, shipping and tax spread over lines, and partial refunds.

    >>> [str(m.amount) for m in allocate(Money("0.05", "USD"), [3, 7])]
    ['0.02', '0.03']
    >>> [str(m.amount) for m in allocate(Money("2.00", "USD"), [1, 1, 1])]
    ['0.67', '0.67', '0.66']
    """
    code = amount.currency.code
    parts = allocate_decimal(Decimal(amount.amount), weights, currency_exponent(code))
    return [Money(part, code) for part in parts]


# --------------------------------------------------------------------------- formatting


@functools.lru_cache(maxsize=64)
def get_locale(name: str) -> babel.Locale:
    """Parse a locale identifier such as ``"en_US"`` or ``"zh_CN"`` once and cache it."""
    try:
        return babel.Locale.parse(name)
    except (ValueError, babel.UnknownLocaleError) as error:
        raise ValidationError(
            "locale", name, "is not a known locale", "use an identifier such as 'en_US' or 'zh_CN'"
        ) from error


def format_money(amount: moneyed.Money, locale: str, rounding: Rounding = Rounding.HALF_UP) -> str:
    """Format ``amount`` for ``locale`` with babel, at the currency's ISO 4217 precision.

    An amount finer than the minor unit is first rounded with ``rounding`` (the library's policy,
    not babel's own half-even), so the text always shows the amount the library computes with.

    >>> format_money(Money("1234.5", "USD"), "en_US")
    '$1,234.50'
    """
    code = amount.currency.code
    return babel.numbers.format_currency(
        quantize(Decimal(amount.amount), code, rounding),
        code,
        locale=get_locale(locale),
        format=_iso_pattern(locale, code),
        currency_digits=False,
    )


@functools.lru_cache(maxsize=512)
def _iso_pattern(locale: str, code: str) -> str:
    # CLDR's currency digits differ from ISO 4217 for a few currencies (e.g. HUF): use ISO's.
    # Both the positive and the negative sub-pattern (after ';') get the ISO digits.
    pattern = str(get_locale(locale).currency_formats["standard"].pattern)
    digits = currency_exponent(code)
    return ";".join(_with_digits(part, digits) for part in pattern.split(";"))


def _with_digits(pattern: str, digits: int) -> str:
    head, point, tail = pattern.partition("0.")
    if not point:
        # pattern without decimals, e.g. '¤#,##0'
        index = pattern.rfind("0") + 1
        head, tail = pattern[:index], pattern[index:]
        decimals = "." + "0" * digits if digits else ""
        return head + decimals + tail
    rest = tail.lstrip("0#")
    decimals = "0." + "0" * digits if digits else "0"
    return head + decimals + rest
