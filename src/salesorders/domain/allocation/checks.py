"""Checks on the numbers a policy reads: line quantities must be positive, finite Decimals, and
snapshot figures are taken as Decimals (floats refused), each error naming its field.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import NoReturn

from salesorders.domain.money import to_decimal
from salesorders.domain.plan import AllocationRequest, DemandLine
from salesorders.errors import InvalidQuantityError, ValidationError


def _refuse_quantity(lines: Sequence[DemandLine], line: DemandLine) -> NoReturn:
    """Raise the error that names the line's bad quantity (floats included) and what to do."""
    field = f"lines[{list(lines).index(line)}].quantity"
    quantity: object = line.quantity
    value = to_decimal(quantity, field)
    if type(quantity) is not Decimal:
        raise ValidationError(
            field, quantity, "must be a decimal.Decimal", "build the line with Decimal('3')"
        )
    raise InvalidQuantityError(field, value, "must be greater than zero")


def _check_request(request: AllocationRequest) -> None:
    """Refuse quantities that are not positive finite Decimals, before anything else reads them."""
    for line in request.lines:
        quantity = line.quantity
        if type(quantity) is not Decimal or not quantity.is_finite() or quantity <= 0:
            _refuse_quantity(request.lines, line)


def _exact(value: object, field: str) -> Decimal:
    """``value`` if it is a Decimal, else converted by ``to_decimal`` (which refuses floats)."""
    return value if type(value) is Decimal else to_decimal(value, field)
