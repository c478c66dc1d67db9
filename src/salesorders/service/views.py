"""Read views: what an API returns about an order, rather than the order's internal document.

:class:`OrderView` is one order in full (its lines with prices, totals and stock, its statuses,
its shipments); :class:`OrderSummary` is one row of a list of orders. Both are frozen values built
from an :class:`~salesorders.domain.order.Order` with ``of``, with money as ``Money`` in the
order's currency, and dump to JSON with the one :class:`~salesorders.serialization.Serializer`
(``Serializer().dump(OrderView.of(order))``); their JSON Schemas are in
:func:`salesorders.json_schema.schemas`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs
from moneyed import Money

from salesorders.domain.fulfilment import FulfilmentStatus, Shipment, ShipmentStatus
from salesorders.domain.order import Order, OrderLine
from salesorders.domain.payments import PaymentStatus
from salesorders.domain.returns import ReturnStatus

__all__ = ["LineView", "OrderSummary", "OrderView", "ShipmentView", "TotalsView"]


@attrs.frozen(slots=True)
class LineView:
    """One line of an order: what was ordered at what price, and where its stock stands.

    ``quantity`` is what was ordered, ``cancelled`` what of it was cancelled since; ``amount`` is
    quantity × unit price, ``discount`` the line's share of every discount, ``net + tax ==
    gross``. ``allocated`` units are reserved in a warehouse, ``backordered`` units wait for
    stock (expected on ``backorder_expected`` when known)."""

    line_id: str
    sku: str
    description: str
    quantity: Decimal
    cancelled: Decimal
    unit_price: Money
    amount: Money
    discount: Money
    net: Money
    tax: Money
    gross: Money
    allocated: Decimal
    backordered: Decimal
    backorder_expected: dt.date | None

    @classmethod
    def of(cls, line: OrderLine, currency: str) -> LineView:
        """The view of ``line`` of an order in ``currency``."""
        return cls(
            line.line_id,
            line.sku,
            line.description,
            line.quantity,
            line.cancelled,
            Money(line.unit_price, currency),
            Money(line.amount, currency),
            Money(line.line_discount + line.order_discount, currency),
            Money(line.net, currency),
            Money(line.tax, currency),
            Money(line.gross, currency),
            line.allocated,
            line.backordered,
            line.backorder_expected,
        )


@attrs.frozen(slots=True)
class TotalsView:
    """An order's totals: ``net_total + tax_total == grand_total`` (shipping included)."""

    subtotal: Money
    discount_total: Money
    shipping: Money
    shipping_tax: Money
    net_total: Money
    tax_total: Money
    grand_total: Money

    @classmethod
    def of(cls, order: Order) -> TotalsView:
        """The totals of ``order``."""
        totals = order.totals
        currency = order.currency
        return cls(
            Money(totals.subtotal, currency),
            Money(totals.discount_total, currency),
            Money(totals.shipping_net, currency),
            Money(totals.shipping_tax, currency),
            Money(totals.net_total, currency),
            Money(totals.tax_total, currency),
            Money(totals.grand_total, currency),
        )


@attrs.frozen(slots=True)
class ShipmentView:
    """One shipment: where it left from, with which carrier, where it is now."""

    shipment_id: str
    warehouse_id: str
    status: ShipmentStatus
    carrier: str
    tracking_number: str | None
    units: Decimal
    shipped_at: dt.datetime
    delivered_at: dt.datetime | None

    @classmethod
    def of(cls, shipment: Shipment) -> ShipmentView:
        """The view of ``shipment``."""
        return cls(
            shipment.id,
            shipment.warehouse_id,
            shipment.status,
            shipment.carrier,
            shipment.tracking_number,
            sum((line.quantity for line in shipment.lines), Decimal(0)),
            shipment.shipped_at,
            shipment.delivered_at,
        )


@attrs.frozen(slots=True)
class OrderView:
    """One order as an API shows it: lines, totals, statuses and shipments.

    ``allocation_status`` is ``unallocated``, ``allocated``, ``partially_allocated`` or
    ``backordered``; ``balance_due`` is what the customer still owes and ``customer_credit`` what
    they paid beyond it. ``version`` changes with every change of the order."""

    order_id: str
    number: str | None
    state: str
    customer_id: str
    currency: str
    lines: tuple[LineView, ...]
    totals: TotalsView
    allocation_status: str
    fulfilment_status: FulfilmentStatus
    payment_status: PaymentStatus
    return_status: ReturnStatus
    balance_due: Money
    customer_credit: Money
    shipments: tuple[ShipmentView, ...]
    promised_date: dt.date | None
    created_at: dt.datetime
    placed_at: dt.datetime | None
    updated_at: dt.datetime
    version: int

    @classmethod
    def of(cls, order: Order) -> OrderView:
        """The view of ``order`` as it is now."""
        figures = order.payment_figures
        currency = order.currency
        return cls(
            order.id,
            order.number,
            order.state,
            order.customer_id,
            currency,
            tuple([LineView.of(line, currency) for line in order.lines]),
            TotalsView.of(order),
            order.allocation_status,
            order.fulfilment_status,
            figures.status,
            order.return_status,
            Money(figures.balance_due, currency),
            Money(figures.customer_credit, currency),
            tuple([ShipmentView.of(shipment) for shipment in order.shipments]),
            order.promised_date,
            order.created_at,
            order.placed_at,
            order.updated_at,
            order.version,
        )


@attrs.frozen(slots=True)
class OrderSummary:
    """One order in a list: who ordered, how much, and where it stands."""

    order_id: str
    number: str | None
    state: str
    customer_id: str
    grand_total: Money
    allocation_status: str
    fulfilment_status: FulfilmentStatus
    payment_status: PaymentStatus
    return_status: ReturnStatus
    created_at: dt.datetime
    placed_at: dt.datetime | None
    version: int

    @classmethod
    def of(cls, order: Order) -> OrderSummary:
        """The summary of ``order`` as it is now."""
        return cls(
            order.id,
            order.number,
            order.state,
            order.customer_id,
            Money(order.totals.grand_total, order.currency),
            order.allocation_status,
            order.fulfilment_status,
            order.payment_figures.status,
            order.return_status,
            order.created_at,
            order.placed_at,
            order.version,
        )
