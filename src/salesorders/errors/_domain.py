"""The errors of refused business commands: orders, workflows, pricing, stock, allocation and
payments (see :mod:`salesorders.errors`)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from salesorders.errors._base import SalesOrdersError


class OrderError(SalesOrdersError):
    """An order refused a command. The order is exactly as it was before the call."""

    code = "order_refused"
    http_status = 409
    title = "Order refused the command"

    def __init__(self, order_id: str, message: str) -> None:
        self.order_id = order_id
        super().__init__(message)


class InvalidTransitionError(OrderError):
    """The event is not allowed in the order's current state."""

    code = "invalid_transition"
    http_status = 409
    title = "Transition not allowed"

    def __init__(self, order_id: str, state: str, event: str, allowed: Sequence[str]) -> None:
        self.state = state
        self.event = event
        self.allowed = tuple(allowed)
        allowed_text = ", ".join(self.allowed) if self.allowed else "none (final state)"
        super().__init__(
            order_id,
            f"order {order_id}: cannot {event!r} in state {state!r}; "
            f"allowed events: {allowed_text}",
        )


class GuardRejectedError(OrderError):
    """A workflow guard rejected the transition."""

    code = "guard_rejected"
    http_status = 409
    title = "Workflow guard rejected the transition"

    def __init__(
        self, order_id: str, state: str, event: str, guard: str, hint: str | None = None
    ) -> None:
        self.state = state
        self.event = event
        self.guard = guard
        advice = hint or f"satisfy {guard!r} first (for example record the payment or approval)"
        super().__init__(
            order_id,
            f"order {order_id}: {event!r} from {state!r} needs guard {guard!r} to pass; {advice}",
        )


class OrderNotEditableError(OrderError):
    """Lines, addresses and discounts can only be edited while the order is a draft."""

    code = "order_not_editable"
    http_status = 409
    title = "Order not editable"

    def __init__(self, order_id: str, state: str, action: str) -> None:
        self.state = state
        self.action = action
        super().__init__(
            order_id,
            f"order {order_id}: cannot {action} in state {state!r}; only draft orders are "
            "editable, request a change instead (RequestChange)",
        )


class LineNotFoundError(OrderError):
    """The order has no line with that id."""

    code = "line_not_found"
    http_status = 404
    title = "Order line not found"

    def __init__(self, order_id: str, line_id: str) -> None:
        self.line_id = line_id
        super().__init__(order_id, f"order {order_id}: no line {line_id!r}; check the line id")


class WorkflowDefinitionError(SalesOrdersError):
    """A workflow definition failed validation. ``problems`` lists every problem found."""

    code = "invalid_workflow_definition"
    http_status = 500
    title = "Invalid workflow definition"

    def __init__(self, workflow: str, problems: Sequence[str]) -> None:
        self.workflow = workflow
        self.problems = tuple(problems)
        super().__init__(f"workflow {workflow!r} is invalid: " + "; ".join(self.problems))


# --------------------------------------------------------------------------- pricing


class PricingError(SalesOrdersError):
    """A price or a rate could not be determined."""

    code = "pricing_failed"
    http_status = 422
    title = "Price not determined"


class NoPriceError(PricingError):
    """No price list entry matches the SKU, currency and customer group."""

    code = "no_price"
    http_status = 422
    title = "No price"

    def __init__(self, sku: str, currency: str, customer_group: str | None) -> None:
        self.sku = sku
        self.currency = currency
        self.customer_group = customer_group
        super().__init__(
            f"no price for SKU {sku!r} in {currency} for customer group {customer_group!r}; "
            "add a price list entry or give the unit price explicitly"
        )


class ExchangeRateUnavailableError(PricingError):
    """The exchange rate source has no rate for the currency pair."""

    code = "exchange_rate_unavailable"
    http_status = 422
    title = "Exchange rate unavailable"

    def __init__(self, base: str, quote: str) -> None:
        self.base = base
        self.quote = quote
        super().__init__(f"no exchange rate from {base} to {quote}; supply a rate for this pair")


# --------------------------------------------------------------------------- inventory


class Shortage:
    """How much of a SKU is missing: ``requested - available``."""

    __slots__ = ("available", "requested", "sku")

    def __init__(self, sku: str, requested: Decimal, available: Decimal) -> None:
        self.sku = sku
        self.requested = requested
        self.available = available

    @property
    def missing(self) -> Decimal:
        return self.requested - self.available

    def __repr__(self) -> str:
        return f"Shortage({self.sku!r}, requested={self.requested}, available={self.available})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Shortage) and (self.sku, self.requested, self.available) == (
            other.sku,
            other.requested,
            other.available,
        )

    def __hash__(self) -> int:
        return hash((self.sku, self.requested, self.available))


class InventoryError(SalesOrdersError):
    """A stock operation was refused. Stock is unchanged."""

    code = "inventory_refused"
    http_status = 409
    title = "Stock operation refused"


class InsufficientStockError(InventoryError):
    """Not enough available stock. ``shortages`` names every SKU short and by how much.

    ``order_id`` is the stored order that could not be served. When placing a new order failed
    (``order_created`` is False) the order was not created, so ``order_id`` is ``None`` and the
    message says so instead of naming an order that does not exist.
    """

    code = "insufficient_stock"
    http_status = 409
    title = "Insufficient stock"

    def __init__(
        self,
        shortages: Sequence[Shortage],
        order_id: str | None = None,
        *,
        order_created: bool = True,
    ) -> None:
        self.shortages = tuple(shortages)
        self.order_created = order_created
        self.order_id = order_id if order_created else None
        listing = ", ".join(f"{s.sku} short by {s.missing}" for s in self.shortages)
        if not order_created:
            prefix = "the order was not created: "
        else:
            prefix = f"order {order_id}: " if order_id else ""
        super().__init__(
            f"{prefix}insufficient stock: {listing}; receive stock, or allow partial "
            "allocation with backorders"
        )


class UnknownWarehouseError(InventoryError):
    code = "unknown_warehouse"
    http_status = 404
    title = "Unknown warehouse"

    def __init__(self, warehouse_id: str) -> None:
        self.warehouse_id = warehouse_id
        super().__init__(f"no warehouse {warehouse_id!r}; register it first")


class UnknownStockItemError(InventoryError):
    code = "unknown_stock_item"
    http_status = 404
    title = "Unknown stock item"

    def __init__(self, sku: str, warehouse_id: str) -> None:
        self.sku = sku
        self.warehouse_id = warehouse_id
        super().__init__(
            f"no stock item for SKU {sku!r} in warehouse {warehouse_id!r}; receive stock first"
        )


class ReservationError(InventoryError):
    """A reservation cannot be released or consumed as asked."""

    code = "reservation_refused"
    http_status = 409
    title = "Reservation refused"

    def __init__(self, reservation_id: str, message: str) -> None:
        self.reservation_id = reservation_id
        super().__init__(message)


class AllocationError(SalesOrdersError):
    """An allocation policy produced a plan that breaks the allocation rules."""

    code = "invalid_allocation"
    http_status = 500
    title = "Invalid allocation plan"


# --------------------------------------------------------------------------- payments


class PaymentGatewayError(SalesOrdersError):
    """The payment gateway refused or failed a call; the order is unchanged.

    ``operation`` is ``authorize``, ``capture``, ``void`` or ``refund``. A gateway that timed out
    raises :class:`OperationalError` instead (the service retries it with the same idempotency
    key, so the gateway answers the retry without moving money twice).
    """

    code = "payment_gateway_failed"
    http_status = 502
    title = "Payment gateway failed"

    def __init__(self, operation: str, message: str) -> None:
        self.operation = operation
        super().__init__(f"payment gateway {operation}: {message}")


class PaymentDeclinedError(PaymentGatewayError):
    """The gateway declined: ask the customer for another payment method."""

    code = "payment_declined"
    http_status = 402
    title = "Payment declined"
