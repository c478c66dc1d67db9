"""Exchanges: the return of a line with a replacement line on the same order.

:class:`OrderExchanges` is a base of :class:`~salesorders.domain.order.Order`: it receives an
approved return like :meth:`~salesorders.domain.order_returns.OrderReturns.receive_return` and
adds the replacement line, priced on its own (the original sale's order discounts and shipping
stay as they were). The credit note credits the returned units; the replacement's gross is owed:
the difference is due from the customer, or credited to them — settled both ways.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import attrs

from salesorders.domain import events as ev
from salesorders.domain.checks import aware_time, check_name, check_text
from salesorders.domain.order_returns import GatewayRefund, OrderReturns
from salesorders.domain.order_values import LineSpec, priced_line, with_allocation
from salesorders.domain.pricing import price_document
from salesorders.domain.return_policy import ReturnPolicy
from salesorders.domain.returns import CreditNote, Inspection, ReturnState, Settlement
from salesorders.errors import OrderError, ValidationError

if TYPE_CHECKING:
    from salesorders.domain.order_values import LineFields, OrderLine
    from salesorders.domain.pricing import LineToPrice, PricingPolicy
    from salesorders.domain.workflow import Workflow

__all__ = ["OrderExchanges"]

_ZERO: Final = Decimal(0)


class OrderExchanges(OrderReturns):
    """The exchange verb of the order (a base class of ``Order``)."""

    if not TYPE_CHECKING:
        __slots__ = ()  # Order keeps its fields in slots; this base adds none

    if TYPE_CHECKING:
        pricing: PricingPolicy
        next_line_number: int
        workflow: Workflow

        def _build_line(
            self, new: LineSpec, number: int, used: set[str]
        ) -> tuple[LineFields, LineToPrice]: ...

    def replacement_line(self, replacement: LineSpec) -> OrderLine:
        """The replacement line an exchange would add: built and priced on its own (order
        discounts and shipping of the original sale stay as they were)."""
        if self.state in self.workflow.finals:
            raise OrderError(
                self.id,
                f"order {self.id}: is {self.state}; cannot add a replacement line to it "
                "(receive the return with ReceiveReturn and place a new order for the "
                "replacement)",
            )
        if not isinstance(replacement, LineSpec):
            raise ValidationError("replacement", replacement, "must be a LineSpec")
        used = {line.line_id for line in self.lines}
        try:
            fields, to_price = self._build_line(replacement, self.next_line_number, used)
        except ValidationError as error:
            raise error.under("replacement") from error
        document = price_document(self.currency, [to_price], policy=self.pricing)
        return priced_line(fields, document.lines[0])

    def exchange_return(
        self,
        return_id: str,
        inspections: Sequence[Inspection],
        replacement: LineSpec,
        at: dt.datetime,
        *,
        number: str,
        policy: ReturnPolicy,
        settlement: Settlement,
        allocated: Decimal = _ZERO,
        refunds: Sequence[GatewayRefund] = (),
        actor: str = "",
        reason: str = "",
    ) -> CreditNote:
        """Receive an approved return and add ``replacement`` in its place (``allocated`` of it
        was reserved by the service). The credit note credits the returned units; the
        replacement adds its gross to what is owed: the difference is due from the customer, or
        credited to them (refunded per ``settlement``)."""
        found, checked = self.check_receipt(return_id, inspections)
        aware_time(at)
        check_name(actor, "actor")
        check_text(reason, "reason")
        line = self.replacement_line(replacement)
        if not _ZERO <= allocated <= line.quantity:
            raise ValidationError("allocated", str(allocated), "must be from 0 to the quantity")
        added = line.gross
        note = self._credit_note(found, number, at, policy, settlement, refunds, actor, added)
        totals = self.totals
        self.lines = (*self.lines, with_allocation(line, allocated, line.quantity - allocated))
        self.next_line_number += 1
        self.totals = attrs.evolve(
            totals,
            subtotal=totals.subtotal + line.amount,
            discount_total=totals.discount_total + line.line_discount,
            net_total=totals.net_total + line.net,
            tax_total=totals.tax_total + line.tax,
            grand_total=totals.grand_total + line.gross,
        )
        state = ReturnState.EXCHANGED
        done = self._settle(found, checked, note, refunds, at, actor, reason, state, line.line_id)
        self._return_event(
            ev.ReturnExchanged,
            done,
            at,
            actor,
            reason,
            replacement_line_id=line.line_id,
            replacement_sku=line.sku,
            difference=str(added - note.amount),
            currency=self.currency,
        )
        return note
