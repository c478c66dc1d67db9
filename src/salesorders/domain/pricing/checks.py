"""Input bounds for pricing: the size limits that keep every step exact, and the checks and
attrs validators the pricing values use to refuse what is out of bounds (floats included).
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

import attrs

from salesorders.domain.checks import aware_time, check_name, check_text, require_id, require_name
from salesorders.domain.money import check_currency, price_places, to_decimal, within_places
from salesorders.errors import ValidationError

_QUANTITY_LIMIT = Decimal(10) ** 9
_AMOUNT_LIMIT = Decimal(10) ** 15
_DOCUMENT_LIMIT = Decimal(10) ** 23


def _bounded(value: object, field: str, limit: Decimal, *, positive: bool) -> Decimal:
    number = to_decimal(value, field)
    if positive and number <= 0:
        raise ValidationError(field, value, "must be greater than zero")
    if number < 0:
        raise ValidationError(field, value, "must not be negative")
    if number >= limit:
        raise ValidationError(field, value, f"must be less than {limit:,}", "check the unit")
    return number.copy_abs()  # never a negative zero


def _to_quantity(value: object) -> Decimal:
    if isinstance(value, Decimal) and value.is_finite() and 0 < value < _QUANTITY_LIMIT:
        return value  # the common case, checked without the general path's calls
    return _bounded(value, "quantity", _QUANTITY_LIMIT, positive=True)


def to_unit_price(value: object, field: str = "unit_price") -> Decimal:
    """A unit price: a number from 0 to below ``10**15`` (floats refused), else a
    :class:`~salesorders.errors.ValidationError` naming ``field``."""
    if isinstance(value, Decimal) and value.is_finite() and 0 < value < _AMOUNT_LIMIT:
        return value  # the common case, checked without the general path's calls
    return _bounded(value, field, _AMOUNT_LIMIT, positive=False)


def _to_unit_price(value: object) -> Decimal:
    return to_unit_price(value)


def check_unit_price(
    value: object, currency: str, precision: int | None = None, field: str = "unit_price"
) -> Decimal:
    """A unit price in ``currency`` as :func:`to_unit_price` accepts it, with at most
    :func:`~salesorders.domain.money.price_places` decimal places (``precision`` when given,
    else the currency's minor unit plus 4)."""
    price = to_unit_price(value, field)
    places = price_places(currency, precision)
    if not within_places(price, places):
        raise ValidationError(
            field,
            value,
            f"has more than {places} decimal places for a unit price in {currency}",
            "round it, or allow more places with price_precision",
        )
    return price


def _to_charge_amount(value: object) -> Decimal:
    return _bounded(value, "amount", _AMOUNT_LIMIT, positive=False)


def _to_min_quantity(value: object) -> Decimal:
    return _bounded(value, "min_quantity", _QUANTITY_LIMIT, positive=False)


def _to_discount_value(value: object) -> Decimal:
    return _bounded(value, "value", _AMOUNT_LIMIT, positive=True)


def _to_tax_rate(value: object) -> Decimal:
    rate = to_decimal(value, "rate")
    if not 0 <= rate <= 1:
        raise ValidationError(
            "rate", value, "must be a fraction from 0 to 1", "write 19 % as Decimal('0.19')"
        )
    return rate.copy_abs()  # never a negative zero


def _to_exchange_rate(value: object) -> Decimal:
    return _bounded(value, "rate", _AMOUNT_LIMIT, positive=True)


def _check_id(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    require_id(value, attribute.name)


def _check_name(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    require_name(value, attribute.name)


def _check_optional_name(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_name(value, attribute.name)


def _check_free_text(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_text(value, attribute.name)


def _check_aware(instance: object, attribute: attrs.Attribute[dt.datetime], value: object) -> None:
    aware_time(value, attribute.name)


def _checked_currency(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_currency(value, attribute.name)


def _enum_of(kind: type[enum.Enum]) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, kind):
            raise ValidationError(
                attribute.name, value, f"must be a {kind.__name__}", f"use {kind.__name__} members"
            )

    return check
