"""What the service returns: small immutable values that survive a round trip through JSON."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs
from moneyed import Money

from salesorders.domain.order import Order

__all__ = ["BackorderedLine", "DispatchReport", "OrderResult"]


@attrs.frozen(slots=True)
class BackorderedLine:
    """A line waiting for stock: how much, and when it is expected (``None``: not known)."""

    line_id: str
    sku: str
    quantity: Decimal
    expected_date: dt.date | None = None


@attrs.frozen(slots=True)
class OrderResult:
    """The outcome of an order command.

    ``allocation_status`` is ``"unallocated"``, ``"allocated"``, ``"partially_allocated"`` or
    ``"backordered"``; ``fulfilment_status`` is ``"unfulfilled"``, ``"partially_shipped"``,
    ``"shipped"``, ``"partially_delivered"`` or ``"delivered"``; ``shipment_ids`` names the order's
    shipments; ``backorders`` are the lines waiting for stock, with the date it is expected.
    ``payment_status`` is ``"unpaid"``, ``"authorized"``, ``"partially_paid"``, ``"paid"``,
    ``"overpaid"``, ``"partially_refunded"`` or ``"refunded"``; ``balance_due`` is what is left to
    pay and ``customer_credit`` what was paid beyond the grand total (``None`` in results stored
    before payments existed). ``return_status`` is ``"none"``, ``"requested"``,
    ``"partially_returned"`` or ``"returned"``.
    Stored under the command's idempotency key and returned again for a retry.
    """

    order_id: str
    number: str | None
    state: str
    version: int
    grand_total: Money
    allocation_status: str
    fulfilment_status: str = "unfulfilled"
    shipment_ids: tuple[str, ...] = ()
    backorders: tuple[BackorderedLine, ...] = ()
    payment_status: str = "unpaid"
    balance_due: Money | None = None
    customer_credit: Money | None = None
    return_status: str = "none"

    @classmethod
    def of(cls, order: Order) -> OrderResult:
        """The result describing ``order`` as it is now."""
        figures = order.payment_figures
        return cls(
            order.id,
            order.number,
            order.state,
            order.version,
            Money(order.totals.grand_total, order.currency),
            order.allocation_status,
            order.fulfilment_status.value,
            tuple([s.id for s in order.shipments]),
            tuple(
                [
                    BackorderedLine(
                        line.line_id, line.sku, line.backordered, line.backorder_expected
                    )
                    for line in order.lines
                    if line.backordered
                ]
            ),
            figures.status.value,
            Money(figures.balance_due, order.currency),
            Money(figures.customer_credit, order.currency),
            order.return_status.value,
        )


@attrs.frozen(slots=True)
class DispatchReport:
    """One relay round: messages delivered, failed (to be retried), parked as dead, and deferred
    (a channel asked to be tried later, without counting an attempt)."""

    delivered: int = 0
    failed: int = 0
    dead: int = 0
    deferred: int = 0
