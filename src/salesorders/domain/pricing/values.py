"""Pricing values: tax components, discounts, the pricing policy, lines to price and charges,
and the priced lines and documents that :func:`~salesorders.domain.pricing.price_document` returns.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import attrs

from salesorders.domain.money import Rounding
from salesorders.domain.pricing.checks import (
    _AMOUNT_LIMIT,
    _check_free_text,
    _check_name,
    _enum_of,
    _to_charge_amount,
    _to_discount_value,
    _to_quantity,
    _to_tax_rate,
    _to_unit_price,
)
from salesorders.errors import ValidationError

_HUNDRED = Decimal(100)

TaxAmounts = tuple[tuple[str, Decimal], ...]


class TaxMode(enum.Enum):
    """Whether prices, charges and fixed discounts include tax (INCLUSIVE) or not (EXCLUSIVE)."""

    EXCLUSIVE = "exclusive"
    INCLUSIVE = "inclusive"


class TaxRounding(enum.Enum):
    """Where tax is rounded: on every line, or once per document and tax component."""

    PER_LINE = "per_line"
    PER_DOCUMENT = "per_document"


class DiscountKind(enum.Enum):
    """A percentage of the amount, or a fixed amount in the document currency."""

    PERCENTAGE = "percentage"
    FIXED = "fixed"


# --------------------------------------------------------------------------- value objects


@attrs.frozen(slots=True)
class TaxComponent:
    """One tax on a line or a charge (VAT, GST, a state or city sales tax).

    ``rate`` is a fraction from 0 to 1: ``Decimal("0.19")`` for 19 %. Floats are refused.
    """

    name: str = attrs.field(validator=_check_name)
    rate: Decimal = attrs.field(converter=_to_tax_rate)


def _check_discount(
    instance: Discount, attribute: attrs.Attribute[Decimal], value: Decimal
) -> None:
    if instance.kind is DiscountKind.PERCENTAGE and value > _HUNDRED:
        raise ValidationError(
            "value", value, "a percentage must be at most 100", "write 15 % as Decimal('15')"
        )


@attrs.frozen(slots=True)
class Discount:
    """A discount on a line or on the whole order.

    PERCENTAGE: ``value`` is in percent, ``0 < value <= 100``. FIXED: ``value`` is an amount in the
    document currency, ``> 0``, for the whole line (or order), never taking it below zero. In
    tax-inclusive pricing a fixed discount includes tax, like the prices it reduces.
    """

    kind: DiscountKind = attrs.field(validator=_enum_of(DiscountKind))
    value: Decimal = attrs.field(converter=_to_discount_value, validator=_check_discount)
    reason: str = attrs.field(default="", validator=_check_free_text)

    @classmethod
    def percentage(cls, value: Decimal | int | str, reason: str = "") -> Discount:
        """``value`` percent off; ``Discount.percentage(Decimal("15"))`` is 15 % off."""
        return cls(DiscountKind.PERCENTAGE, value, reason)

    @classmethod
    def fixed(cls, value: Decimal | int | str, reason: str = "") -> Discount:
        """``value`` off in the document currency, capped at what is left to discount."""
        return cls(DiscountKind.FIXED, value, reason)


@attrs.frozen(slots=True)
class PricingPolicy:
    """How a document is priced: the rounding rule, the tax mode and where tax is rounded."""

    rounding: Rounding = attrs.field(default=Rounding.HALF_UP, validator=_enum_of(Rounding))
    tax_mode: TaxMode = attrs.field(default=TaxMode.EXCLUSIVE, validator=_enum_of(TaxMode))
    tax_rounding: TaxRounding = attrs.field(
        default=TaxRounding.PER_LINE, validator=_enum_of(TaxRounding)
    )


def _to_discounts(value: Iterable[Discount]) -> tuple[Discount, ...]:
    if value == ():
        return ()
    discounts = tuple(value)
    for index, discount in enumerate(discounts):
        if not isinstance(discount, Discount):
            raise ValidationError(f"discounts[{index}]", discount, "must be a Discount")
    return discounts


def _to_taxes(value: Iterable[TaxComponent]) -> tuple[TaxComponent, ...]:
    if value == ():
        return ()
    taxes = tuple(value)
    if len(taxes) == 1 and taxes[0].__class__ is TaxComponent:
        return taxes
    names: set[str] = set()
    for index, tax in enumerate(taxes):
        if not isinstance(tax, TaxComponent):
            raise ValidationError(f"taxes[{index}]", tax, "must be a TaxComponent")
        if tax.name in names:
            raise ValidationError(
                f"taxes[{index}].name", tax.name, "appears twice", "list each tax component once"
            )
        names.add(tax.name)
    return taxes


@attrs.frozen(slots=True)
class LineToPrice:
    """A line to price: ``quantity`` (> 0) at ``unit_price`` (>= 0, in the policy's tax mode).

    The unit price may be finer than the currency (``Decimal("0.0125")`` USD); the line amount is
    rounded. ``discounts`` apply in order; ``taxes`` have distinct names.
    """

    quantity: Decimal = attrs.field(converter=_to_quantity)
    unit_price: Decimal = attrs.field(converter=_to_unit_price)
    discounts: tuple[Discount, ...] = attrs.field(default=(), converter=_to_discounts)
    taxes: tuple[TaxComponent, ...] = attrs.field(default=(), converter=_to_taxes)


def check_line(
    quantity: object,
    unit_price: object,
    discounts: Iterable[Discount] = (),
    taxes: Iterable[TaxComponent] = (),
) -> None:
    """Refuse what :class:`LineToPrice` would refuse of a line, without building one: for a
    caller that knows the line's path (``lines[2]``) and wants it in the error."""
    _to_quantity(quantity)
    _to_unit_price(unit_price)
    if discounts:
        _to_discounts(discounts)
    if taxes:
        _to_taxes(taxes)


def line_to_price(
    quantity: Decimal,
    unit_price: Decimal,
    discounts: Iterable[Discount] = (),
    taxes: Iterable[TaxComponent] = (),
) -> LineToPrice:
    """``LineToPrice(quantity, unit_price, discounts, taxes)`` for a quantity that
    :func:`~salesorders.domain.money.to_quantity` returned and a unit price that
    :func:`~salesorders.domain.pricing.check_unit_price` (or a conversion of one) returned.

    Makes, in the same order and with the same errors, the constructor's checks that can still
    refuse such values: the quantity's and the price's upper bounds, the discounts, the taxes.
    Fills the slots directly (LineToPrice's converters are exactly these checks).
    """
    line: LineToPrice = object.__new__(LineToPrice)
    _SET_QUANTITY(line, _to_quantity(quantity))
    _SET_UNIT_PRICE(line, unit_price if unit_price < _AMOUNT_LIMIT else _to_unit_price(unit_price))
    _SET_DISCOUNTS(line, _to_discounts(discounts))
    _SET_TAXES(line, _to_taxes(taxes))
    return line


def _setters(cls: type, names: tuple[str, ...]) -> tuple[Any, ...]:
    fields = tuple(field.name for field in attrs.fields(cls))
    if fields != names:  # pragma: no cover - guards the fast constructor above
        raise TypeError(f"{cls.__name__} fields changed: {fields}; update the fast constructor")
    return tuple(cls.__dict__[name].__set__ for name in names)


_SET_QUANTITY, _SET_UNIT_PRICE, _SET_DISCOUNTS, _SET_TAXES = _setters(
    LineToPrice, ("quantity", "unit_price", "discounts", "taxes")
)


@attrs.frozen(slots=True)
class Charge:
    """A document-level charge such as shipping, in the policy's tax mode.

    ``amount`` must be at the document currency's precision. Order discounts do not reduce it.
    """

    amount: Decimal = attrs.field(converter=_to_charge_amount)
    taxes: tuple[TaxComponent, ...] = attrs.field(default=(), converter=_to_taxes)


@attrs.frozen(slots=True)
class PricedLine:
    """A priced line; every amount is at the currency's precision and ``net + tax == gross``.

    ``amount`` is ``quantity * unit_price`` rounded, in the tax mode of the prices.
    ``line_discount`` comes from the line's own discounts, ``order_discount`` is this line's share
    of the order discounts. ``taxes`` lists the tax per component name and sums to ``tax``.
    """

    amount: Decimal
    line_discount: Decimal
    order_discount: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal
    taxes: TaxAmounts


_PRICED_SETTERS = _setters(
    PricedLine, ("amount", "line_discount", "order_discount", "net", "tax", "gross", "taxes")
)


def new_priced_line(
    amount: Decimal,
    line_discount: Decimal,
    order_discount: Decimal,
    net: Decimal,
    tax: Decimal,
    gross: Decimal,
    taxes: TaxAmounts,
) -> PricedLine:
    """``PricedLine(...)`` with its slots filled directly, for the pricing hot path (PricedLine
    has no validators or converters; the field list is checked at import)."""
    line: PricedLine = object.__new__(PricedLine)
    set_amount, set_line, set_order, set_net, set_tax, set_gross, set_taxes = _PRICED_SETTERS
    set_amount(line, amount)
    set_line(line, line_discount)
    set_order(line, order_discount)
    set_net(line, net)
    set_tax(line, tax)
    set_gross(line, gross)
    set_taxes(line, taxes)
    return line


@attrs.frozen(slots=True)
class PricedDocument:
    """A priced order or quotation; totals are exact sums of the lines (and the shipping).

    ``grand_total == net_total + tax_total``; ``net_total`` and ``tax_total`` include shipping;
    ``subtotal`` is the sum of the line amounts before discounts; ``taxes_by_component`` sums
    the taxes per component name, lines first, then shipping, in order of first appearance.
    """

    lines: tuple[PricedLine, ...]
    subtotal: Decimal
    discount_total: Decimal
    net_total: Decimal
    tax_total: Decimal
    shipping_net: Decimal
    shipping_tax: Decimal
    grand_total: Decimal
    taxes_by_component: TaxAmounts
