"""What the service returns: small immutable values that survive a round trip through JSON."""

from __future__ import annotations

import attrs
from moneyed import Money

from salesorders.domain.order import Order

__all__ = ["DispatchReport", "OrderResult"]


@attrs.frozen(slots=True)
class OrderResult:
    """The outcome of an order command.

    ``allocation_status`` is ``"unallocated"``, ``"allocated"``, ``"partially_allocated"`` or
    ``"backordered"``; ``fulfilment_status`` is ``"unfulfilled"``, ``"partially_shipped"``,
    ``"shipped"``, ``"partially_delivered"`` or ``"delivered"``; ``shipment_ids`` names the order's
    shipments. Stored under the command's idempotency key and returned again for a retry.
    """

    order_id: str
    number: str | None
    state: str
    version: int
    grand_total: Money
    allocation_status: str
    fulfilment_status: str = "unfulfilled"
    shipment_ids: tuple[str, ...] = ()

    @classmethod
    def of(cls, order: Order) -> OrderResult:
        """The result describing ``order`` as it is now."""
        return cls(
            order.id,
            order.number,
            order.state,
            order.version,
            Money(order.totals.grand_total, order.currency),
            order.allocation_status,
            order.fulfilment_status.value,
            tuple(s.id for s in order.shipments),
        )


@attrs.frozen(slots=True)
class DispatchReport:
    """One dispatch round: messages delivered, failed (to be retried) and parked as dead."""

    delivered: int = 0
    failed: int = 0
    dead: int = 0
