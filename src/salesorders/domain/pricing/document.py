"""Pricing a document: line amounts, line and order discounts, taxes, shipping and exact totals
(:func:`price_document`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal

from salesorders.domain.money import (
    EXACT_CONTEXT,
    allocate_decimal,
    currency_exponent,
    minor_unit,
)
from salesorders.domain.pricing.checks import _DOCUMENT_LIMIT
from salesorders.domain.pricing.tax import _tax_on, _tax_per_document
from salesorders.domain.pricing.values import (
    Charge,
    Discount,
    DiscountKind,
    LineToPrice,
    PricedDocument,
    PricedLine,
    PricingPolicy,
    TaxAmounts,
    TaxMode,
    TaxRounding,
    new_priced_line,
)
from salesorders.errors import ValidationError

_mul = EXACT_CONTEXT.multiply

_DEFAULT_POLICY = PricingPolicy()


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
        priced.append(new_priced_line(amount, amount - value, zero, net, tax, gross, components))
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
        discount = amount - bases[index]
        priced.append(new_priced_line(amount, discount, share, net, tax, gross, components))
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
