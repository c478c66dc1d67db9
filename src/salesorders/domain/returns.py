"""Returns (RMAs), their inspection, credit notes, and the exact refund arithmetic.

An :class:`OrderReturn` is requested for delivered units of order lines, each with a
:class:`~salesorders.domain.return_policy.ReturnReason`; a reviewer approves or rejects it; the
goods are received and inspected unit by unit (:class:`Inspection`: back to stock in a chosen
warehouse, or written off); a :class:`CreditNote` with a gap-free number records the refund.

The refund is exact. A line's ``gross`` already carries its share of the order-level discounts
and its tax; the shipping charge's gross is spread over the lines with
:func:`~salesorders.domain.money.allocate_decimal` in proportion to their gross
(:func:`shipping_shares`). Each amount is spread over the line's units cumulatively: the first
``n`` units of a line of ``Q`` carry ``allocate(amount, [n, Q - n])[0]``
(:func:`cumulative_share`), and a credit note for units ``n .. n + k`` refunds the difference of
two such figures. So any sequence of partial returns refunds at most the amount (within one
minor unit of the exact proportion at every step) and a full return refunds exactly it, to the
cent, in every currency.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

import attrs

from salesorders.domain.money import allocate_decimal, currency_exponent, minor_unit
from salesorders.domain.order_values import OrderLine
from salesorders.domain.return_policy import (
    ReturnPolicy,
    ReturnReason,
    check_fee_percent,
    check_window_days,
)
from salesorders.errors import ValidationError

__all__ = [
    "CreditNote",
    "CreditNoteLine",
    "Inspection",
    "InspectionOutcome",
    "LineEligibility",
    "OrderReturn",
    "RefundShare",
    "ReturnLine",
    "ReturnState",
    "ReturnStatus",
    "Settlement",
    "credit_note_lines",
    "cumulative_share",
    "line_eligibility",
    "shipping_shares",
]

_ZERO: Final = Decimal(0)
_HUNDRED: Final = Decimal(100)


class ReturnState(enum.Enum):
    """Where one return is: ``requested`` → ``approved`` → ``received`` (or ``exchanged``, when
    a replacement line was added for it), or ``rejected``."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    RECEIVED = "received"
    EXCHANGED = "exchanged"


class ReturnStatus(enum.Enum):
    """The order's return status, derived from its returns: ``none``; ``requested`` (a return is
    open and nothing came back yet); ``partially_returned``; ``returned`` (every delivered unit
    came back)."""

    NONE = "none"
    REQUESTED = "requested"
    PARTIALLY_RETURNED = "partially_returned"
    RETURNED = "returned"


class InspectionOutcome(enum.Enum):
    """What happens to inspected units: back on hand in a warehouse, or written off (damaged:
    no stock movement)."""

    RESTOCK = "restock"
    WRITE_OFF = "write_off"


class Settlement(enum.Enum):
    """Where a credit note's money goes: back to the original payments (refunded through the
    gateway for cards), or kept as store credit on the order."""

    ORIGINAL_PAYMENT = "original_payment"
    STORE_CREDIT = "store_credit"


@attrs.frozen(slots=True)
class ReturnLine:
    """``quantity`` of order line ``line_id`` coming back, and why."""

    line_id: str
    quantity: Decimal
    reason: ReturnReason
    sku: str = ""


@attrs.frozen(slots=True)
class Inspection:
    """``quantity`` units of ``line_id`` inspected: restocked into ``warehouse_id`` or written
    off."""

    line_id: str
    quantity: Decimal
    outcome: InspectionOutcome
    warehouse_id: str | None = None
    note: str = ""


@attrs.frozen(slots=True)
class RefundShare:
    """What of a credit note went back to one payment."""

    payment_id: str
    amount: Decimal


@attrs.frozen(slots=True)
class CreditNoteLine:
    """The refund for ``quantity`` units of a line: the goods (with their share of order
    discounts and tax), their share of shipping, less the restocking fee."""

    line_id: str
    quantity: Decimal
    goods: Decimal
    shipping: Decimal
    fee: Decimal

    @property
    def amount(self) -> Decimal:
        return self.goods + self.shipping - self.fee


@attrs.frozen(slots=True)
class CreditNote:
    """A gap-free numbered document (``CN-<year>-NNNNNN``) of what the customer is credited for a
    return: the order owes that much less. ``refunds`` say what went back to which payment;
    the rest (all of it for store credit) stays with the customer as credit."""

    number: str
    return_id: str
    currency: str
    lines: tuple[CreditNoteLine, ...]
    issued_at: dt.datetime
    settlement: Settlement
    refunds: tuple[RefundShare, ...] = ()
    issued_by: str = ""

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), _ZERO)

    @property
    def refunded(self) -> Decimal:
        return sum((share.amount for share in self.refunds), _ZERO)


@attrs.frozen(slots=True)
class OrderReturn:
    """One return (RMA) of an order, with who asked, who decided, when and why.

    ``estimate`` is the refund computed when it was requested (what the reviewer saw);
    ``credit_note`` the number of the credit note issued when the goods came back;
    ``replacement_line_id`` the line added for it by an exchange.
    """

    id: str
    lines: tuple[ReturnLine, ...]
    state: ReturnState
    requested_at: dt.datetime
    requested_by: str = ""
    note: str = ""
    estimate: Decimal = _ZERO
    decided_by: str = ""
    decided_at: dt.datetime | None = None
    decision_reason: str = ""
    received_at: dt.datetime | None = None
    received_by: str = ""
    inspections: tuple[Inspection, ...] = ()
    credit_note: str | None = None
    replacement_line_id: str | None = None

    @property
    def open(self) -> bool:
        return self.state in (ReturnState.REQUESTED, ReturnState.APPROVED)

    @property
    def awaiting_review(self) -> bool:
        return self.state is ReturnState.REQUESTED

    @property
    def came_back(self) -> bool:
        return self.state in (ReturnState.RECEIVED, ReturnState.EXCHANGED)

    def quantities(self) -> dict[str, Decimal]:
        found: dict[str, Decimal] = {}
        for line in self.lines:
            found[line.line_id] = found.get(line.line_id, _ZERO) + line.quantity
        return found


@attrs.frozen(slots=True)
class LineEligibility:
    """Whether (and how much of) a line may be returned now, and why not.

    ``delivered`` is what reached the customer; ``returned`` what is in open or received
    returns; ``returnable`` the rest. ``no_reason_until`` / ``seller_fault_until`` end the
    windows (``None``: not delivered, or not returnable for that kind of reason).
    ``restocking_fee`` is the percentage taken on a no-reason return.
    """

    line_id: str
    sku: str
    delivered: Decimal
    returned: Decimal
    returnable: Decimal
    delivered_at: dt.datetime | None
    no_reason_until: dt.datetime | None
    seller_fault_until: dt.datetime | None
    restocking_fee: Decimal
    why_not: str = ""

    @property
    def eligible(self) -> bool:
        return not self.why_not

    def until(self, reason: ReturnReason) -> dt.datetime | None:
        return self.seller_fault_until if reason.seller_fault else self.no_reason_until


def _window_end(delivered_at: dt.datetime | None, days: int) -> dt.datetime | None:
    if delivered_at is None or not days:
        return None
    return delivered_at + dt.timedelta(days=days)


def line_eligibility(
    line: OrderLine,
    delivered: Decimal,
    delivered_at: dt.datetime | None,
    in_returns: Decimal,
    policy: ReturnPolicy,
    at: dt.datetime,
) -> LineEligibility:
    """What ``policy`` lets come back of ``line`` at ``at``."""
    no_reason = _window_end(
        delivered_at,
        check_window_days(
            policy.window_days(line.sku, ReturnReason.NO_REASON), "return_policy.window_days"
        ),
    )
    fault = _window_end(
        delivered_at,
        check_window_days(
            policy.window_days(line.sku, ReturnReason.DEFECTIVE), "return_policy.window_days"
        ),
    )
    returnable = max(delivered - in_returns, _ZERO)
    if not delivered:
        why = "nothing of it was delivered"
    elif not returnable:
        why = "every delivered unit is already in a return"
    elif no_reason is None and fault is None:
        why = "its SKU is not returnable under the return policy"
    elif all(end is None or at > end for end in (no_reason, fault)):
        last = max(end for end in (no_reason, fault) if end is not None)
        why = f"its return window ended on {last.isoformat()}"
    else:
        why = ""
    return LineEligibility(
        line.line_id,
        line.sku,
        delivered,
        in_returns,
        returnable,
        delivered_at,
        no_reason,
        fault,
        check_fee_percent(
            policy.restocking_fee(line.sku, ReturnReason.NO_REASON), "return_policy.restocking_fee"
        ),
        why,
    )


def cumulative_share(amount: Decimal, done: Decimal, total: Decimal, exponent: int) -> Decimal:
    """What the first ``done`` of ``total`` units carry of ``amount``: ``allocate(amount,
    [done, total - done])[0]`` — zero for none, all of it for all, monotone in between."""
    if done <= 0 or not amount:
        return amount - amount
    if done >= total:
        return amount
    weights: list[Decimal | int] = [done, total - done]
    if done == done.to_integral_value() and total == total.to_integral_value():
        weights = [int(done), int(total - done)]  # the same ratio, without scaling decimals
    return allocate_decimal(amount, weights, exponent)[0]


def shipping_shares(
    lines: Sequence[OrderLine], shipping_gross: Decimal, currency: str, excluded: Iterable[str]
) -> dict[str, Decimal]:
    """The shipping charge's gross spread over ``lines`` in proportion to their gross (lines in
    ``excluded`` — replacements added by exchanges — carry none)."""
    left_out = set(excluded)
    exponent = currency_exponent(currency)
    # Each gross in minor units: the same ratios as the amounts, as plain ints.
    weights: list[Decimal | int] = [
        0 if line.line_id in left_out else int(line.gross.scaleb(exponent)) for line in lines
    ]
    if not shipping_gross or not any(weights):
        return {line.line_id: _ZERO for line in lines}
    parts = allocate_decimal(shipping_gross, weights, exponent)
    return {line.line_id: part for line, part in zip(lines, parts, strict=True)}


def credit_note_lines(
    currency: str,
    lines: Mapping[str, OrderLine],
    shipping: Mapping[str, Decimal],
    credited: Mapping[str, Decimal],
    returned: Sequence[ReturnLine],
    policy: ReturnPolicy,
) -> tuple[CreditNoteLine, ...]:
    """The refund of ``returned`` units, after ``credited`` units of each line were credited."""
    exponent = currency_exponent(currency)
    quantum = minor_unit(currency)
    done = dict(credited)
    result = []
    for item in returned:
        line = lines[item.line_id]
        total = line.open_quantity
        before = done.get(line.line_id, _ZERO)
        after = before + item.quantity
        if after > total:
            raise ValidationError(
                "quantity",
                str(item.quantity),
                f"with {before} credited already is more than the {total} of line {line.line_id}",
            )
        goods = cumulative_share(line.gross, after, total, exponent) - cumulative_share(
            line.gross, before, total, exponent
        )
        ship = _ZERO
        if policy.refunds_shipping(line.sku, item.reason):
            share = shipping.get(line.line_id, _ZERO)
            ship = cumulative_share(share, after, total, exponent) - cumulative_share(
                share, before, total, exponent
            )
        percent = check_fee_percent(
            policy.restocking_fee(line.sku, item.reason), "return_policy.restocking_fee"
        )
        fee = min((goods * percent / _HUNDRED).quantize(quantum, ROUND_HALF_UP), goods)
        done[line.line_id] = after
        result.append(CreditNoteLine(line.line_id, item.quantity, goods, ship, fee))
    return tuple(result)
