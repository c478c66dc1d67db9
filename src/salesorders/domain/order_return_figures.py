"""The order's derived return figures, kept beside the aggregate's core.

:class:`OrderReturnFigures` is a base of :class:`~salesorders.domain.order.Order` (through
:class:`~salesorders.domain.order_returns.OrderReturns`): ``returned_quantities()``,
``return_status``, ``credited``, ``repairs_charged`` and ``amount_owed`` (what the payment figures
count the balance from), the return eligibility of each line under a policy, the exact refund of
returned units, and where a refund goes among the payments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from salesorders.domain.checks import aware_time, next_free_id
from salesorders.domain.fulfilment import Shipment, ShipmentStatus
from salesorders.domain.return_policy import ReturnPolicy
from salesorders.domain.returns import (
    CreditNote,
    CreditNoteLine,
    LineEligibility,
    OrderReturn,
    RefundShare,
    ReturnLine,
    ReturnState,
    ReturnStatus,
    Settlement,
    credit_note_lines,
    line_eligibility,
    shipping_shares,
)
from salesorders.errors import ValidationError

if TYPE_CHECKING:
    from salesorders.domain.order_values import OrderLine, Totals
    from salesorders.domain.payments import Payment, PaymentFigures
    from salesorders.domain.repairs import Repair

__all__ = ["OrderReturnFigures"]

_ZERO: Final = Decimal(0)


class OrderReturnFigures:
    """Derived return figures of the order (a base class of ``Order``)."""

    if not TYPE_CHECKING:
        __slots__ = ()  # Order keeps its fields in slots; this base adds none

    if TYPE_CHECKING:
        id: str
        currency: str
        lines: tuple[OrderLine, ...]
        shipments: tuple[Shipment, ...]
        payments: tuple[Payment, ...]
        returns: tuple[OrderReturn, ...]
        credit_notes: tuple[CreditNote, ...]
        repairs: tuple[Repair, ...]
        totals: Totals

        def delivered_quantities(self) -> dict[str, Decimal]: ...

        @property
        def payment_figures(self) -> PaymentFigures: ...

    def returned_quantities(self) -> dict[str, Decimal]:
        """Units of each line that came back (received or exchanged returns)."""
        return _sum_quantities(r for r in self.returns if r.came_back)

    def _in_returns(self) -> dict[str, Decimal]:
        """Units of each line in open or received returns (not rejected ones)."""
        return _sum_quantities(r for r in self.returns if r.state is not ReturnState.REJECTED)

    @property
    def return_status(self) -> ReturnStatus:
        back = self.returned_quantities()
        if not back:
            if any(r.open for r in self.returns):
                return ReturnStatus.REQUESTED
            return ReturnStatus.NONE
        delivered = self.delivered_quantities()
        replacements = self._replacement_ids()
        complete = all(
            back.get(line_id, _ZERO) >= quantity
            for line_id, quantity in delivered.items()
            if line_id not in replacements
        )
        return ReturnStatus.RETURNED if complete else ReturnStatus.PARTIALLY_RETURNED

    @property
    def credited(self) -> Decimal:
        """What the order's credit notes credited the customer, in all."""
        return sum((note.amount for note in self.credit_notes), _ZERO)

    @property
    def repairs_charged(self) -> Decimal:
        """What closed repairs charged the customer, in all."""
        return sum((repair.charged for repair in self.repairs), _ZERO)

    @property
    def amount_owed(self) -> Decimal:
        """What the customer owes for the order: the grand total, less the credit notes, plus the
        repairs charged to them. The balance due and the customer credit are counted from it."""
        return self.totals.grand_total - self.credited + self.repairs_charged

    def order_return(self, return_id: str) -> OrderReturn:
        for found in self.returns:
            if found.id == return_id:
                return found
        raise ValidationError(
            "return_id", return_id, f"is not a return of order {self.id}", "check the return id"
        )

    def credit_note(self, number: str) -> CreditNote:
        for note in self.credit_notes:
            if note.number == number:
                return note
        raise ValidationError("number", number, f"is not a credit note of order {self.id}")

    def next_return_id(self) -> str:
        return next_free_id("R", (r.id for r in self.returns))

    def return_eligibility(
        self, policy: ReturnPolicy, at: dt.datetime, line_ids: Collection[str] | None = None
    ) -> tuple[LineEligibility, ...]:
        """What ``policy`` lets come back of each line (of ``line_ids``, or all) at ``at``, and
        why not."""
        aware_time(at)
        delivered = self.delivered_quantities()
        in_returns = self._in_returns()
        replacements = self._replacement_ids()
        return tuple(
            line_eligibility(
                line,
                delivered.get(line.line_id, _ZERO),
                self._delivered_at(line.line_id),
                in_returns.get(line.line_id, _ZERO),
                policy,
                at,
            )
            for line in self.lines
            if line.line_id not in replacements and (line_ids is None or line.line_id in line_ids)
        )

    def refund_for(
        self, returned: Sequence[ReturnLine], policy: ReturnPolicy
    ) -> tuple[CreditNoteLine, ...]:
        """The exact refund of ``returned`` units after what was credited already."""
        shares = shipping_shares(
            self.lines,
            self.totals.shipping_net + self.totals.shipping_tax,
            self.currency,
            self._replacement_ids(),
        )
        credited: dict[str, Decimal] = {}
        for note in self.credit_notes:
            for item in note.lines:
                credited[item.line_id] = credited.get(item.line_id, _ZERO) + item.quantity
        by_id = {line.line_id: line for line in self.lines}
        return credit_note_lines(self.currency, by_id, shares, credited, returned, policy)

    def refund_shares(
        self, credit: Decimal, settlement: Settlement, added: Decimal = _ZERO
    ) -> tuple[RefundShare, ...]:
        """What a credit of ``credit`` (with ``added`` owed for a replacement) pays back to which
        payment: nothing for store credit; otherwise what the customer would have paid beyond
        what they owe after it (never more than ``credit``), from the most recent payment back."""
        if settlement is Settlement.STORE_CREDIT:
            return ()
        figures = self.payment_figures
        owed_after = self.amount_owed + added - credit
        left = min(credit, figures.net_paid - owed_after)
        shares = []
        for payment in reversed(self.payments):
            if left <= 0:
                break
            take = min(payment.refundable, left)
            if take > 0:
                shares.append(RefundShare(payment.id, take))
                left -= take
        return tuple(shares)

    def _replacement_ids(self) -> frozenset[str]:
        return frozenset(r.replacement_line_id for r in self.returns if r.replacement_line_id)

    def _delivered_at(self, line_id: str) -> dt.datetime | None:
        """When the line's last delivered shipment was delivered (its window starts then)."""
        found = [
            s.delivered_at
            for s in self.shipments
            if s.delivered_at is not None
            and s.status is not ShipmentStatus.RETURNED_TO_SENDER
            and any(x.line_id == line_id for x in s.lines)
        ]
        return max(found) if found else None


def _sum_quantities(returns: Iterable[OrderReturn]) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    for item in returns:
        for line_id, quantity in item.quantities().items():
            found[line_id] = found.get(line_id, _ZERO) + quantity
    return found
