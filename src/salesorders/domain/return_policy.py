"""Which lines may come back, until when, and at what fee: the :class:`ReturnPolicy` port and the
built-in :class:`StandardReturnPolicy`.

A policy answers three questions for a SKU and a :class:`ReturnReason`: how many days after
delivery a return is accepted (:meth:`ReturnPolicy.window_days`, 0: not returnable), the
restocking fee as a percentage of the refunded goods (:meth:`ReturnPolicy.restocking_fee`), and
whether the returned units' share of the shipping charge is refunded
(:meth:`ReturnPolicy.refunds_shipping`). The order applies the answers (one home for the rule: see
:func:`salesorders.domain.returns.line_eligibility`); a host's own policy only decides numbers, and
:mod:`salesorders.testing.return_policies` checks it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from decimal import Decimal
from typing import Final, Protocol, runtime_checkable

import attrs

from salesorders.domain.checks import require_id
from salesorders.domain.money import to_decimal
from salesorders.errors import ValidationError

__all__ = [
    "MAX_WINDOW_DAYS",
    "ReturnPolicy",
    "ReturnReason",
    "ReturnWindow",
    "StandardReturnPolicy",
    "check_fee_percent",
    "check_window_days",
    "return_reason",
]

MAX_WINDOW_DAYS: Final = 3650
_ZERO: Final = Decimal(0)
_HUNDRED: Final = Decimal(100)


class ReturnReason(enum.Enum):
    """Why a line comes back. ``no_reason`` is the customer's choice (a no-reason return); the
    others are the seller's fault."""

    NO_REASON = "no_reason"
    DEFECTIVE = "defective"
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    NOT_AS_DESCRIBED = "not_as_described"

    @property
    def seller_fault(self) -> bool:
        return self is not ReturnReason.NO_REASON


def return_reason(value: object, field: str = "reason") -> ReturnReason:
    """``value`` as a :class:`ReturnReason` (its value string is accepted too)."""
    try:
        return value if isinstance(value, ReturnReason) else ReturnReason(value)
    except ValueError:
        raise ValidationError(
            field,
            value,
            "is not a return reason",
            "use one of " + ", ".join(r.value for r in ReturnReason),
        ) from None


def check_window_days(days: object, field: str) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_WINDOW_DAYS:
        raise ValidationError(
            field, days, f"must be a whole number of days from 0 to {MAX_WINDOW_DAYS}"
        )
    return days


def check_fee_percent(percent: object, field: str) -> Decimal:
    value = to_decimal(percent, field)
    if not _ZERO <= value <= _HUNDRED:
        raise ValidationError(field, percent, "must be a percentage from 0 to 100")
    return value


@runtime_checkable
class ReturnPolicy(Protocol):
    """The host's return rules (``bootstrap(return_policy=...)``).

    Contract: every method is pure and deterministic (same input, same answer).
    ``window_days`` is an int from 0 to :data:`MAX_WINDOW_DAYS` (days after delivery; 0: the SKU
    is not returnable for that reason); ``restocking_fee`` a ``Decimal`` percentage from 0 to 100
    of the refunded goods; ``refunds_shipping`` a bool.
    """

    def window_days(self, sku: str, reason: ReturnReason) -> int: ...

    def restocking_fee(self, sku: str, reason: ReturnReason) -> Decimal: ...

    def refunds_shipping(self, sku: str, reason: ReturnReason) -> bool: ...


def _days(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    check_window_days(value, attribute.name)


def _percent(value: object) -> Decimal:
    return check_fee_percent(value, "restocking_fee")


@attrs.frozen(slots=True)
class ReturnWindow:
    """The rules for a category or a SKU: days after delivery for a no-reason return and for a
    seller-fault one, and the restocking fee (percent) taken on no-reason returns."""

    no_reason_days: int = attrs.field(default=7, validator=_days)
    seller_fault_days: int = attrs.field(default=30, validator=_days)
    restocking_fee: Decimal = attrs.field(default=_ZERO, converter=_percent)


_DEFAULT_WINDOW: Final = ReturnWindow()


def _windows(value: object) -> Mapping[str, ReturnWindow]:
    if not isinstance(value, Mapping):
        raise ValidationError("windows", value, "must be a mapping of names to ReturnWindow")
    for key, window in value.items():
        require_id(key, "windows")
        if not isinstance(window, ReturnWindow):
            raise ValidationError(f"windows[{key}]", window, "must be a ReturnWindow")
    return dict(value)


def _categories(value: object) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise ValidationError("categories", value, "must be a mapping of SKUs to categories")
    for sku, category in value.items():
        require_id(sku, "categories")
        require_id(category, f"categories[{sku}]")
    return dict(value)


def _flag(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise ValidationError(attribute.name, value, "must be True or False")


@attrs.frozen(slots=True)
class StandardReturnPolicy:
    """The built-in policy: 7 days for a no-reason return after delivery, 30 days for a
    seller-fault reason, no restocking fee, unless ``by_sku`` or ``by_category`` (with
    ``categories`` mapping SKUs to categories) say otherwise — a SKU's own window first, then its
    category's, then ``default``. The restocking fee is taken on no-reason returns only. The
    shipping charge's share is refunded on seller-fault returns, and on no-reason returns too
    with ``refund_shipping_without_reason``.
    """

    default: ReturnWindow = attrs.field(default=_DEFAULT_WINDOW)
    by_category: Mapping[str, ReturnWindow] = attrs.field(factory=dict, converter=_windows)
    by_sku: Mapping[str, ReturnWindow] = attrs.field(factory=dict, converter=_windows)
    categories: Mapping[str, str] = attrs.field(factory=dict, converter=_categories)
    refund_shipping_without_reason: bool = attrs.field(default=False, validator=_flag)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.default, ReturnWindow):
            raise ValidationError("default", self.default, "must be a ReturnWindow")

    def window_for(self, sku: str) -> ReturnWindow:
        found = self.by_sku.get(sku)
        if found is not None:
            return found
        category = self.categories.get(sku)
        if category is not None and category in self.by_category:
            return self.by_category[category]
        return self.default

    def window_days(self, sku: str, reason: ReturnReason) -> int:
        window = self.window_for(sku)
        return window.seller_fault_days if reason.seller_fault else window.no_reason_days

    def restocking_fee(self, sku: str, reason: ReturnReason) -> Decimal:
        return _ZERO if reason.seller_fault else self.window_for(sku).restocking_fee

    def refunds_shipping(self, sku: str, reason: ReturnReason) -> bool:
        return reason.seller_fault or self.refund_shipping_without_reason
