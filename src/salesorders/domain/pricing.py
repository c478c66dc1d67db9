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

import bisect
import datetime as dt
import enum
import itertools
from collections.abc import Iterable, Mapping, Sequence
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
)
from types import MappingProxyType
from typing import Any

import attrs
from moneyed import Money

from salesorders.domain.checks import (
    aware_time,
    check_name,
    check_text,
    optional_id,
    require_id,
    require_name,
)
from salesorders.domain.money import (
    EXACT_CONTEXT,
    Rounding,
    allocate_decimal,
    check_currency,
    check_price_precision,
    currency_exponent,
    minor_unit,
    price_places,
    same_currency,
    to_decimal,
    within_places,
)
from salesorders.errors import ExchangeRateUnavailableError, NoPriceError, ValidationError

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
    "price_document",
    "to_unit_price",
]

# The one inexact step (taking tax out of a tax-inclusive amount) divides with 40 digits: far
# more than the 28 needed to decide a rounding at the minor unit for amounts below 10**15.
_DIVISION = Context(prec=40, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero])
# Inverse exchange rates are kept to this many significant digits.
INVERSE_RATE_DIGITS = 10
_INVERSE = Context(
    prec=INVERSE_RATE_DIGITS, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero]
)

_mul = EXACT_CONTEXT.multiply
_sub = EXACT_CONTEXT.subtract

_ZERO = Decimal(0)
_ONE = Decimal(1)
_HUNDRED = Decimal(100)
_QUANTITY_LIMIT = Decimal(10) ** 9
_AMOUNT_LIMIT = Decimal(10) ** 15
_DOCUMENT_LIMIT = Decimal(10) ** 23

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


# --------------------------------------------------------------------------- input checks


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


_DEFAULT_POLICY = PricingPolicy()


# --------------------------------------------------------------------------- pricing


def price_document(
    currency: str,
    lines: Sequence[LineToPrice],
    *,
    order_discounts: Sequence[Discount] = (),
    shipping: Charge | None = None,
    policy: PricingPolicy = _DEFAULT_POLICY,
) -> PricedDocument:
    """Price ``lines`` in ``currency``: discounts, then taxes, then exact totals.

    Prices, fixed discounts and ``shipping`` are net under ``TaxMode.EXCLUSIVE`` and gross under
    ``TaxMode.INCLUSIVE``. Line discounts apply in order to what is left of the line amount;
    ``order_discounts`` then apply in order to the sum of the discounted lines and are spread over
    the lines in proportion to their discounted amounts; they never reduce ``shipping``. Fixed
    discounts and the shipping amount must be at the currency's precision. Tax is rounded per
    line or per document as ``policy.tax_rounding`` says.

    Guarantees: every amount is quantized to the currency's minor unit and never negative;
    ``net + tax == gross`` on every line and on the document; totals are the sums of the lines.

    Raises :class:`~salesorders.errors.ValidationError` naming the field (for example
    ``order_discounts[0].value``), including for a document whose subtotal or grand total
    reaches ``10**23``, and :class:`~salesorders.errors.UnknownCurrencyError`.
    """
    quantum = minor_unit(currency)
    exponent = currency_exponent(currency)
    rounding: str = policy.rounding._value_
    inclusive = policy.tax_mode is TaxMode.INCLUSIVE
    per_line = policy.tax_rounding is TaxRounding.PER_LINE
    if per_line and not order_discounts:
        return _price_per_line(lines, shipping, quantum, rounding, inclusive, exponent)
    return _price_in_passes(
        lines, order_discounts, shipping, quantum, rounding, inclusive, exponent, per_line
    )


def _price_in_passes(
    lines: Sequence[LineToPrice],
    order_discounts: Sequence[Discount],
    shipping: Charge | None,
    quantum: Decimal,
    rounding: str,
    inclusive: bool,
    exponent: int,
    per_line: bool,
) -> PricedDocument:
    """The general path: line discounts, then order discounts, then taxes, then totals."""
    amounts, bases = _discounted_lines(lines, quantum, rounding)
    shares = None
    taxable = bases
    if order_discounts:
        shares = _order_discount_shares(bases, order_discounts, quantum, rounding, exponent)
        if shares is not None:
            taxable = [base - share for base, share in zip(bases, shares, strict=True)]
    all_taxes = [line.taxes for line in lines]
    if shipping is not None:
        taxable = [*taxable, _shipping_base(shipping, quantum)]
        all_taxes.append(shipping.taxes)
    if per_line:
        taxed = [
            _tax_on(base, taxes, quantum, rounding, inclusive, exponent)
            for base, taxes in zip(taxable, all_taxes, strict=True)
        ]
    else:
        taxed = _tax_per_document(taxable, all_taxes, quantum, rounding, inclusive, exponent)
    return _document(amounts, bases, shares, taxable, taxed, inclusive, quantum - quantum)


def _price_per_line(
    lines: Sequence[LineToPrice],
    shipping: Charge | None,
    quantum: Decimal,
    rounding: str,
    inclusive: bool,
    exponent: int,
) -> PricedDocument:
    """The common case in one pass: tax rounded per line and no order discounts to spread.

    Gives exactly what the general path gives (a property test compares them); it only avoids
    the intermediate lists on the order's hot path.
    """
    zero = quantum - quantum
    priced: list[PricedLine] = []
    by_component: dict[str, Decimal] = {}
    subtotal = left = net_total = tax_total = zero
    for index, line in enumerate(lines):
        if line.__class__ is not LineToPrice:
            raise ValidationError(f"lines[{index}]", line, "must be a LineToPrice")
        amount = _mul(line.quantity, line.unit_price).quantize(quantum, rounding, EXACT_CONTEXT)
        value = amount
        if line.discounts:
            field = f"lines[{index}].discounts"
            value = _apply_discounts(amount, line.discounts, quantum, rounding, field)
        tax, components = _tax_on(value, line.taxes, quantum, rounding, inclusive, exponent)
        if inclusive:
            net, gross = value - tax, value
        else:
            net, gross = value, value + tax
        priced.append(PricedLine(amount, amount - value, zero, net, tax, gross, components))
        subtotal += amount
        left += value
        net_total += net
        tax_total += tax
        for name, part in components:  # _collect, inlined on the hot path
            known = by_component.get(name)
            by_component[name] = part if known is None else known + part
    shipping_net = shipping_tax = zero
    if shipping is not None:
        charge = _shipping_base(shipping, quantum)
        shipping_tax, components = _tax_on(
            charge, shipping.taxes, quantum, rounding, inclusive, exponent
        )
        shipping_net = charge - shipping_tax if inclusive else charge
        net_total += shipping_net
        tax_total += shipping_tax
        _collect(by_component, components)
    return _totalled(
        priced, subtotal, left, net_total, tax_total, shipping_net, shipping_tax, by_component
    )


def _totalled(
    priced: list[PricedLine],
    subtotal: Decimal,
    left: Decimal,
    net_total: Decimal,
    tax_total: Decimal,
    shipping_net: Decimal,
    shipping_tax: Decimal,
    by_component: dict[str, Decimal],
) -> PricedDocument:
    """The priced document from its totals (``left``: the subtotal after discounts), checked."""
    return _checked(
        PricedDocument(
            tuple(priced),
            subtotal,
            subtotal - left,
            net_total,
            tax_total,
            shipping_net,
            shipping_tax,
            net_total + tax_total,
            tuple(by_component.items()),
        )
    )


def _collect(by_component: dict[str, Decimal], components: TaxAmounts) -> None:
    """Add a line's taxes to the per-component totals."""
    for name, part in components:
        known = by_component.get(name)
        by_component[name] = part if known is None else known + part


def _checked(document: PricedDocument) -> PricedDocument:
    """Refuse a document too large for the sums to have stayed exact."""
    if document.subtotal >= _DOCUMENT_LIMIT or document.grand_total >= _DOCUMENT_LIMIT:
        raise ValidationError(
            "lines",
            document.grand_total,
            "the document total must stay below 10**23",
            "split the order",
        )
    return document


def _discounted_lines(
    lines: Sequence[LineToPrice], quantum: Decimal, rounding: str
) -> tuple[list[Decimal], list[Decimal]]:
    """Each line's rounded amount, and what is left of it after the line's own discounts."""
    amounts: list[Decimal] = []
    bases: list[Decimal] = []
    for index, line in enumerate(lines):
        if line.__class__ is not LineToPrice:
            raise ValidationError(f"lines[{index}]", line, "must be a LineToPrice")
        amount = _mul(line.quantity, line.unit_price).quantize(quantum, rounding, EXACT_CONTEXT)
        amounts.append(amount)
        if line.discounts:
            field = f"lines[{index}].discounts"
            bases.append(_apply_discounts(amount, line.discounts, quantum, rounding, field))
        else:
            bases.append(amount)
    return amounts, bases


def _apply_discounts(
    amount: Decimal, discounts: Sequence[Discount], quantum: Decimal, rounding: str, field: str
) -> Decimal:
    """What is left of ``amount`` after ``discounts`` in order; never below zero.

    A percentage takes its share of what is left, rounded; a fixed amount is capped at what is
    left. 100 % leaves exactly zero.
    """
    remaining = amount
    for index, discount in enumerate(discounts):
        if discount.kind is DiscountKind.PERCENTAGE:
            cut = _mul(remaining, discount.value).scaleb(-2, EXACT_CONTEXT)
            cut = cut.quantize(quantum, rounding, EXACT_CONTEXT)
        else:
            cut = min(_fixed_value(discount, quantum, f"{field}[{index}].value"), remaining)
        remaining = remaining - cut
    return remaining


def _fixed_value(discount: Discount, quantum: Decimal, field: str) -> Decimal:
    value = discount.value
    exact = value.quantize(quantum, ROUND_HALF_EVEN, EXACT_CONTEXT)
    if exact != value:
        raise ValidationError(
            field, value, "has more decimal places than the currency allows", "round it first"
        )
    return exact


def _order_discount_shares(
    bases: list[Decimal],
    discounts: Sequence[Discount],
    quantum: Decimal,
    rounding: str,
    exponent: int,
) -> list[Decimal] | None:
    """Each line's share of the order discounts, or None when there is nothing to spread."""
    for index, discount in enumerate(discounts):
        if not isinstance(discount, Discount):
            raise ValidationError(f"order_discounts[{index}]", discount, "must be a Discount")
    total = sum(bases, quantum - quantum)
    left = _apply_discounts(total, discounts, quantum, rounding, "order_discounts")
    spread = total - left
    if spread == 0:
        return None
    return allocate_decimal(spread, bases, exponent)


def _shipping_base(shipping: Charge, quantum: Decimal) -> Decimal:
    if not isinstance(shipping, Charge):
        raise ValidationError("shipping", shipping, "must be a Charge or None")
    amount = shipping.amount
    exact = amount.quantize(quantum, ROUND_HALF_EVEN, EXACT_CONTEXT)
    if exact != amount:
        raise ValidationError(
            "shipping.amount", amount, "has more decimal places than the currency allows"
        )
    return exact


# --------------------------------------------------------------------------- tax


def _tax_on(
    base: Decimal,
    taxes: tuple[TaxComponent, ...],
    quantum: Decimal,
    rounding: str,
    inclusive: bool,
    exponent: int,
) -> tuple[Decimal, TaxAmounts]:
    """The tax on one line or charge rounded on its own, and its split by component.

    EXCLUSIVE: each component is ``round(base * rate)``. INCLUSIVE: the tax contained in
    ``base`` for the summed rates is rounded once, then split over the components by rate.
    """
    if not taxes:
        return quantum - quantum, ()
    if not inclusive:
        if len(taxes) == 1:
            tax = taxes[0]
            amount = _mul(base, tax.rate).quantize(quantum, rounding, EXACT_CONTEXT)
            return amount, ((tax.name, amount),)
        parts = [_mul(base, t.rate).quantize(quantum, rounding, EXACT_CONTEXT) for t in taxes]
        return sum(parts, quantum - quantum), _named(taxes, parts)
    if len(taxes) == 1:
        tax = taxes[0]
        amount = _inclusive_tax(base, tax.rate, quantum, rounding)
        return amount, ((tax.name, amount),)
    amount = _inclusive_tax(base, sum([t.rate for t in taxes], _ZERO), quantum, rounding)
    return amount, _named(taxes, _split_by_rate(amount, taxes, exponent))


def _inclusive_tax(gross: Decimal, total_rate: Decimal, quantum: Decimal, rounding: str) -> Decimal:
    """round(gross - gross / (1 + total_rate)): the tax contained in a tax-inclusive amount."""
    if total_rate == 0:
        return quantum - quantum
    net = _DIVISION.divide(gross, total_rate + _ONE)
    return _sub(gross, net).quantize(quantum, rounding, EXACT_CONTEXT)


def _split_by_rate(
    amount: Decimal, taxes: tuple[TaxComponent, ...], exponent: int
) -> list[Decimal]:
    """Split a combined tax over its components in proportion to their rates."""
    if amount == 0:
        return [amount] * len(taxes)
    return allocate_decimal(amount, [t.rate for t in taxes], exponent)


def _named(taxes: tuple[TaxComponent, ...], amounts: Sequence[Decimal]) -> TaxAmounts:
    return tuple(zip([t.name for t in taxes], amounts, strict=True))


def _tax_per_document(
    bases: list[Decimal],
    all_taxes: list[tuple[TaxComponent, ...]],
    quantum: Decimal,
    rounding: str,
    inclusive: bool,
    exponent: int,
) -> list[tuple[Decimal, TaxAmounts]]:
    """Round tax once per document and spread it back over the lines (and the shipping).

    EXCLUSIVE: per distinct component (name and rate), ``round(sum of bases * rate)``.
    INCLUSIVE: per distinct combination of components, the tax contained in the summed gross
    amounts, then split within each line over its components by rate. Shares are weighted by the
    line bases, so no line's tax exceeds what its gross amount contains.
    """
    zero = quantum - quantum
    amounts = [[zero] * len(taxes) for taxes in all_taxes]
    if inclusive:
        _spread_inclusive(bases, all_taxes, amounts, quantum, rounding, exponent)
    else:
        _spread_exclusive(bases, all_taxes, amounts, quantum, rounding, exponent)
    return [
        (sum(parts, zero), _named(taxes, parts))
        for taxes, parts in zip(all_taxes, amounts, strict=True)
    ]


def _spread_exclusive(
    bases: list[Decimal],
    all_taxes: list[tuple[TaxComponent, ...]],
    amounts: list[list[Decimal]],
    quantum: Decimal,
    rounding: str,
    exponent: int,
) -> None:
    groups: dict[tuple[str, Decimal], list[tuple[int, int]]] = {}
    for owner, taxes in enumerate(all_taxes):
        for position, tax in enumerate(taxes):
            groups.setdefault((tax.name, tax.rate), []).append((owner, position))
    for (_, rate), members in groups.items():
        weights = [bases[owner] for owner, _ in members]
        total = _mul(sum(weights, _ZERO), rate).quantize(quantum, rounding, EXACT_CONTEXT)
        if total == 0:
            continue
        shares = allocate_decimal(total, weights, exponent)
        for (owner, position), share in zip(members, shares, strict=True):
            amounts[owner][position] = share


def _spread_inclusive(
    bases: list[Decimal],
    all_taxes: list[tuple[TaxComponent, ...]],
    amounts: list[list[Decimal]],
    quantum: Decimal,
    rounding: str,
    exponent: int,
) -> None:
    groups: dict[frozenset[tuple[str, Decimal]], list[int]] = {}
    for owner, taxes in enumerate(all_taxes):
        if taxes:
            groups.setdefault(frozenset((t.name, t.rate) for t in taxes), []).append(owner)
    for combination, owners in groups.items():
        weights = [bases[owner] for owner in owners]
        total_rate = sum([rate for _, rate in combination], _ZERO)
        total = _inclusive_tax(sum(weights, _ZERO), total_rate, quantum, rounding)
        if total == 0:
            continue
        for owner, share in zip(owners, allocate_decimal(total, weights, exponent), strict=True):
            amounts[owner] = _split_by_rate(share, all_taxes[owner], exponent)


# --------------------------------------------------------------------------- totals


def _document(
    amounts: list[Decimal],
    bases: list[Decimal],
    shares: list[Decimal] | None,
    taxable: list[Decimal],
    taxed: list[tuple[Decimal, TaxAmounts]],
    inclusive: bool,
    zero: Decimal,
) -> PricedDocument:
    """Build the priced lines and the totals; ``taxable`` ends with the shipping, if any."""
    priced: list[PricedLine] = []
    by_component: dict[str, Decimal] = {}
    subtotal = left = net_total = tax_total = zero
    for index, amount in enumerate(amounts):
        value = taxable[index]
        tax, components = taxed[index]
        if inclusive:
            net, gross = value - tax, value
        else:
            net, gross = value, value + tax
        share = zero if shares is None else shares[index]
        priced.append(PricedLine(amount, amount - bases[index], share, net, tax, gross, components))
        subtotal += amount
        left += value
        net_total += net
        tax_total += tax
        _collect(by_component, components)
    shipping_net = shipping_tax = zero
    if len(taxable) > len(amounts):
        shipping_tax, components = taxed[-1]
        shipping_net = taxable[-1] - shipping_tax if inclusive else taxable[-1]
        net_total += shipping_net
        tax_total += shipping_tax
        _collect(by_component, components)
    return _totalled(
        priced, subtotal, left, net_total, tax_total, shipping_net, shipping_tax, by_component
    )


# --------------------------------------------------------------------------- price lists


@attrs.frozen(slots=True)
class PriceBreak:
    """``unit_price`` applies from ``min_quantity`` (inclusive) up to the next break."""

    min_quantity: Decimal = attrs.field(converter=_to_min_quantity)
    unit_price: Decimal = attrs.field(converter=_to_unit_price)


def _to_breaks(value: Iterable[PriceBreak]) -> tuple[PriceBreak, ...]:
    breaks = tuple(value)
    if not breaks:
        raise ValidationError("breaks", breaks, "must not be empty", "give at least one break")
    for index, item in enumerate(breaks):
        if not isinstance(item, PriceBreak):
            raise ValidationError(f"breaks[{index}]", item, "must be a PriceBreak")
    ordered = tuple(sorted(breaks, key=lambda item: item.min_quantity))
    for previous, item in itertools.pairwise(ordered):
        if item.min_quantity == previous.min_quantity:
            raise ValidationError(
                "breaks",
                item.min_quantity,
                "has two breaks with the same min_quantity",
                "keep one price per min_quantity",
            )
    return ordered


@attrs.frozen(slots=True)
class PriceListEntry:
    """The price of one SKU: quantity breaks, stored sorted by ``min_quantity``.

    Breaks may be given in any order; their min quantities must be distinct.
    """

    sku: str = attrs.field(validator=_check_id)
    breaks: tuple[PriceBreak, ...] = attrs.field(converter=_to_breaks)

    def break_for(self, quantity: Decimal) -> PriceBreak | None:
        """The largest break whose ``min_quantity <= quantity``, or None."""
        index = bisect.bisect_right(self.breaks, quantity, key=_min_quantity)
        return self.breaks[index - 1] if index else None


def _min_quantity(item: PriceBreak) -> Decimal:
    return item.min_quantity


def _to_entries(
    value: Mapping[str, PriceListEntry] | Iterable[PriceListEntry],
) -> Mapping[str, PriceListEntry]:
    items = value.items() if isinstance(value, Mapping) else ((e.sku, e) for e in value)
    entries: dict[str, PriceListEntry] = {}
    for key, entry in items:
        if not isinstance(entry, PriceListEntry):
            raise ValidationError(f"entries[{key!r}]", entry, "must be a PriceListEntry")
        if key != entry.sku:
            raise ValidationError(
                f"entries[{key!r}]", entry.sku, "is filed under another SKU", "key it by its SKU"
            )
        if key in entries:
            raise ValidationError(
                f"entries[{key!r}]", key, "appears twice", "give one entry per SKU"
            )
        entries[key] = entry
    return MappingProxyType(entries)


@attrs.frozen(slots=True)
class PriceList:
    """Prices of SKUs in one currency, for one customer group or (``None``) for everyone.

    ``entries`` maps SKU to entry (an iterable of entries is accepted too); it is read-only.
    """

    id: str = attrs.field(validator=_check_id)
    currency: str = attrs.field(validator=_checked_currency)
    entries: Mapping[str, PriceListEntry] = attrs.field(converter=_to_entries, hash=False)
    customer_group: str | None = attrs.field(default=None)
    name: str = attrs.field(default="", validator=_check_optional_name)

    @customer_group.validator
    def _check_group(self, attribute: attrs.Attribute[str | None], value: object) -> None:
        optional_id(value, "customer_group")


@attrs.frozen(slots=True)
class PriceQuote:
    """The unit price found for a SKU, with where it came from (``reason``).

    ``price_precision``: the decimal places the price book allows a unit price in ``currency``
    (``None``: the library's default, see :func:`~salesorders.domain.money.price_places`).
    """

    sku: str
    currency: str
    unit_price: Decimal
    price_list_id: str
    min_quantity: Decimal
    reason: str
    price_precision: int | None = None


class PriceBook:
    """Looks up unit prices in a set of price lists. Immutable after construction.

    For a customer group the group's lists of the currency are searched first, then the general
    lists (``customer_group=None``) of that currency. Several lists for the same currency and
    group are searched in the order given. The first list with a break that applies wins.

    ``price_precision``: how many decimal places a unit price may have, in every list; by default
    the currency's minor unit plus 4 (6 for USD, 4 for JPY). A finer price is refused here, and
    the lines quoted from the book accept the book's precision.
    """

    __slots__ = ("_index", "_precision", "_price_lists")

    def __init__(
        self, price_lists: Iterable[PriceList], *, price_precision: int | None = None
    ) -> None:
        self._precision = check_price_precision(price_precision)
        lists = tuple(price_lists)
        seen: set[str] = set()
        index: dict[tuple[str, str | None], dict[str, list[tuple[PriceList, PriceListEntry]]]] = {}
        for position, price_list in enumerate(lists):
            if not isinstance(price_list, PriceList):
                raise ValidationError(f"price_lists[{position}]", price_list, "must be a PriceList")
            if price_list.id in seen:
                raise ValidationError(
                    f"price_lists[{position}].id", price_list.id, "is used twice", "use unique ids"
                )
            seen.add(price_list.id)
            _check_price_places(price_list, position, price_precision)
            by_sku = index.setdefault((price_list.currency, price_list.customer_group), {})
            for sku, entry in price_list.entries.items():
                by_sku.setdefault(sku, []).append((price_list, entry))
        self._price_lists = lists
        self._index = {
            key: {sku: tuple(found) for sku, found in by_sku.items()}
            for key, by_sku in index.items()
        }

    @property
    def price_lists(self) -> tuple[PriceList, ...]:
        return self._price_lists

    @property
    def price_precision(self) -> int | None:
        return self._precision

    def quote(
        self, sku: str, currency: str, quantity: Decimal, customer_group: str | None = None
    ) -> PriceQuote:
        """The unit price of ``quantity`` of ``sku`` in ``currency`` for ``customer_group``.

        Uses the largest break whose ``min_quantity <= quantity``. Raises
        :class:`~salesorders.errors.NoPriceError` when no list has one, and
        :class:`~salesorders.errors.ValidationError` for a bad quantity or currency.
        """
        check_currency(currency)
        amount = _to_quantity(quantity)
        keys: tuple[tuple[str, str | None], ...] = ((currency, None),)
        if customer_group is not None:
            keys = ((currency, customer_group), (currency, None))
        for key in keys:
            for price_list, entry in self._index.get(key, {}).get(sku, ()):
                found = entry.break_for(amount)
                if found is not None:
                    return _quote(sku, price_list, found, self._precision)
        raise NoPriceError(sku, currency, customer_group)


def _check_price_places(price_list: PriceList, position: int, precision: int | None) -> None:
    """Refuse a break whose unit price is finer than the book allows in the list's currency."""
    places = price_places(price_list.currency, precision)
    for sku, entry in price_list.entries.items():
        for index, item in enumerate(entry.breaks):
            if not within_places(item.unit_price, places):
                raise ValidationError(
                    f"price_lists[{position}].entries[{sku!r}].breaks[{index}].unit_price",
                    item.unit_price,
                    f"has more than {places} decimal places",
                    "round the price, or give the price book a larger price_precision",
                )


def _quote(sku: str, price_list: PriceList, found: PriceBreak, precision: int | None) -> PriceQuote:
    group = f" (group {price_list.customer_group})" if price_list.customer_group else ""
    reason = f"price list {price_list.id}{group}, break >= {found.min_quantity}"
    return PriceQuote(
        sku,
        price_list.currency,
        found.unit_price,
        price_list.id,
        found.min_quantity,
        reason,
        precision,
    )


# --------------------------------------------------------------------------- conversion


def _check_rate_pair(instance: ExchangeRate, attribute: attrs.Attribute[str], value: str) -> None:
    check_currency(value, attribute.name)


@attrs.frozen(slots=True)
class ExchangeRate:
    """One unit of ``base`` is worth ``rate`` units of ``quote``, as published at ``as_of``.

    ``rate`` is a positive Decimal (floats refused), ``as_of`` is timezone-aware. An order stores
    the rate it used, so its totals never change when rates move.
    """

    base: str = attrs.field(validator=_check_rate_pair)
    quote: str = attrs.field(validator=_check_rate_pair)
    rate: Decimal = attrs.field(converter=_to_exchange_rate)
    as_of: dt.datetime = attrs.field(validator=_check_aware)
    source: str = attrs.field(default="", validator=_check_free_text)

    def __attrs_post_init__(self) -> None:
        if self.base == self.quote and self.rate != 1:
            raise ValidationError("rate", self.rate, f"must be 1 from {self.base} to itself")

    def convert(self, amount: Decimal, rounding: Rounding = Rounding.HALF_UP) -> Decimal:
        """``amount`` in ``base`` converted to ``quote``, rounded to the quote's minor unit.

        Refuses floats and amounts of ``10**15`` or more (either sign).
        """
        value = to_decimal(amount, "amount")
        if abs(value) >= _AMOUNT_LIMIT:
            raise ValidationError("amount", amount, f"must be less than {_AMOUNT_LIMIT:,}")
        return _mul(value, self.rate).quantize(
            minor_unit(self.quote), rounding.value, EXACT_CONTEXT
        )

    def convert_money(self, amount: Money, rounding: Rounding = Rounding.HALF_UP) -> Money:
        """Convert a :class:`Money` in ``base``; refuses any other currency."""
        if not isinstance(amount, Money):
            raise ValidationError("amount", amount, "must be a Money")
        value = same_currency(amount, self.base, "amount")
        return Money(self.convert(value, rounding), self.quote)

    def inverse(self) -> ExchangeRate:
        """The rate from ``quote`` to ``base``: ``1 / rate`` to 10 significant digits (half-even).

        Converting there and back may therefore differ from the start by a minor unit.
        """
        if self.base == self.quote:
            return self
        source = f"inverse of {self.base}/{self.quote}" + (f" {self.source}" if self.source else "")
        rate = _INVERSE.divide(_ONE, self.rate)
        return ExchangeRate(self.quote, self.base, rate, self.as_of, source)


class StaticExchangeRates:
    """Exchange rates held in memory: an :class:`~salesorders.ports.ExchangeRates` source.

    ``rate(base, quote, at)`` returns the latest stored rate for the pair with ``as_of <= at``;
    without one, the inverse (:meth:`ExchangeRate.inverse`) of the latest stored reverse pair;
    rate 1 when ``base == quote``; otherwise it raises
    :class:`~salesorders.errors.ExchangeRateUnavailableError`. Immutable after construction.
    """

    __slots__ = ("_pairs",)

    def __init__(self, rates: Iterable[ExchangeRate]) -> None:
        pairs: dict[tuple[str, str], dict[dt.datetime, ExchangeRate]] = {}
        for index, rate in enumerate(rates):
            if not isinstance(rate, ExchangeRate):
                raise ValidationError(f"rates[{index}]", rate, "must be an ExchangeRate")
            by_time = pairs.setdefault((rate.base, rate.quote), {})
            known = by_time.get(rate.as_of)
            if known is not None and known.rate != rate.rate:
                raise ValidationError(
                    f"rates[{index}]",
                    rate,
                    f"conflicts with rate {known.rate} for the same pair and time",
                    "give one rate per pair and as_of",
                )
            by_time[rate.as_of] = rate
        self._pairs: dict[tuple[str, str], tuple[tuple[dt.datetime, ...], tuple[ExchangeRate, ...]]]
        self._pairs = {}
        for pair, by_time in pairs.items():
            ordered = sorted(by_time.values(), key=lambda rate: rate.as_of)
            self._pairs[pair] = (tuple(r.as_of for r in ordered), tuple(ordered))

    def rate(self, base: str, quote: str, at: dt.datetime) -> ExchangeRate:
        """The rate converting one ``base`` into ``quote`` valid at ``at`` (timezone-aware)."""
        check_currency(base, "base")
        check_currency(quote, "quote")
        aware_time(at, "at")
        if base == quote:
            return ExchangeRate(base, quote, _ONE, at, "identity")
        direct = self._latest((base, quote), at)
        if direct is not None:
            return direct
        reverse = self._latest((quote, base), at)
        if reverse is not None:
            return reverse.inverse()
        raise ExchangeRateUnavailableError(base, quote)

    def _latest(self, pair: tuple[str, str], at: dt.datetime) -> ExchangeRate | None:
        found = self._pairs.get(pair)
        if found is None:
            return None
        times, rates = found
        index = bisect.bisect_right(times, at)
        return rates[index - 1] if index else None
