"""The demo's after-sales scene: a delivered order paid by bank transfer, one item sent back
damaged, the return reviewed, received back into stock and refunded to the cent.

Built on the service layer only, like the rest of the command line.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from moneyed import Money

from salesorders.cli.output import Output
from salesorders.domain.money import format_money
from salesorders.domain.order import Order
from salesorders.domain.returns import Inspection, InspectionOutcome
from salesorders.service import (
    ApprovePayment,
    ApproveReturn,
    DeliverOrder,
    ManualClock,
    ReceiveReturn,
    RecordPayment,
    RequestReturn,
    ReturnItem,
    SalesService,
)

__all__ = ["deliver_and_pay", "print_return", "return_one_item"]


def deliver_and_pay(service: SalesService, clock: ManualClock, order_id: str) -> None:
    """Deliver the order and have it paid by bank transfer, reviewed by finance."""
    service.handle(DeliverOrder(order_id=order_id, actor="dock"))
    order = service.get_order(order_id)
    service.handle(
        RecordPayment(
            order_id=order_id,
            method="bank_transfer",
            amount=order.grand_total,
            reference="SEPA-20261128-77",
            actor="finance:jo",
        )
    )
    service.handle(
        ApprovePayment(
            order_id=order_id, payment_id="P1", reason="on the statement", actor="fin:al"
        )
    )


def return_one_item(service: SalesService, clock: ManualClock, order_id: str) -> None:
    """Take back one unit of the order's first line as damaged: requested by customer service,
    approved by its lead, restocked into the warehouse it shipped from, refunded."""
    order = service.get_order(order_id)
    clock.advance(dt.timedelta(days=2))
    line = order.lines[0]
    service.handle(
        RequestReturn(
            order_id=order_id,
            lines=(ReturnItem(line.line_id, 1, "damaged"),),
            note="tin dented in transit",
            actor="cs:mia",
        )
    )
    service.handle(
        ApproveReturn(order_id=order_id, return_id="R1", reason="photo", actor="cs:lead")
    )
    clock.advance(dt.timedelta(days=3))
    warehouse = order.shipments[0].warehouse_id
    service.handle(
        ReceiveReturn(
            order_id=order_id,
            return_id="R1",
            inspections=(
                Inspection(line.line_id, Decimal(1), InspectionOutcome.RESTOCK, warehouse),
            ),
            actor="dock",
        )
    )


def print_return(order: Order, out: Output, locale: str) -> None:
    """The order's returns and credit notes, and what the customer owes after them."""

    def money(amount: Decimal) -> str:
        return format_money(Money(amount, order.currency), locale)

    out.heading(f"Return and refund of {order.number}")
    for item in order.returns:
        lines = ", ".join(f"{x.sku} x{x.quantity} ({x.reason.value})" for x in item.lines)
        out.line(
            f"  return {item.id}: {lines} requested by {item.requested_by}, {item.state.value}; "
            f"approved by {item.decided_by}: {item.decision_reason}"
        )
    for note in order.credit_notes:
        parts = ", ".join(
            f"{x.line_id} goods {money(x.goods)} + shipping {money(x.shipping)}" for x in note.lines
        )
        refunds = ", ".join(f"{s.payment_id} {money(s.amount)}" for s in note.refunds)
        out.line(
            f"  credit note {note.number}: {money(note.amount)} ({parts}); refunded to {refunds}"
        )
    figures = order.payment_figures
    out.line(
        f"  return status {order.return_status.value}; owed {money(order.amount_owed)}, "
        f"net paid {money(figures.net_paid)}, balance due {money(figures.balance_due)}"
    )
