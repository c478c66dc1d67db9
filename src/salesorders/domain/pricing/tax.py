"""Tax on a priced document: per line or charge, or rounded once per document and spread back,
for tax-exclusive and tax-inclusive prices, split over the tax components by rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
)

from salesorders.domain.money import EXACT_CONTEXT, allocate_decimal
from salesorders.domain.pricing.values import TaxAmounts, TaxComponent

# The one inexact step (taking tax out of a tax-inclusive amount) divides with 40 digits: far
# more than the 28 needed to decide a rounding at the minor unit for amounts below 10**15.
_DIVISION = Context(prec=40, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero])

_mul = EXACT_CONTEXT.multiply
_sub = EXACT_CONTEXT.subtract

_ZERO = Decimal(0)
_ONE = Decimal(1)


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
