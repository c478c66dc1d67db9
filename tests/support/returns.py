"""Helpers for the return, exchange and repair tests: a service over any store with a fake
payment gateway and stock in W1, and an order placed, paid in full, shipped and delivered."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from moneyed import Money

from salesorders.domain.pricing import Discount, TaxComponent
from salesorders.domain.returns import Inspection, InspectionOutcome
from salesorders.domain.warehouse import Warehouse
from salesorders.service import (
    AuthorizePayment,
    CapturePayment,
    DeliverOrder,
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
    ShipOrder,
    bootstrap,
)
from salesorders.testing.fakes import FakePaymentGateway

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
SKUS = ("SKU-A", "SKU-B", "SKU-C")


def returns_service(
    store: Any, clock: ManualClock, gateway: FakePaymentGateway, **options: Any
) -> SalesService:
    """A service over ``store`` with 100 of each SKU in W1 and an empty W2."""
    built = bootstrap(
        store=store, clock=clock, sleep=lambda _s: None, payment_gateway=gateway, **options
    )
    built.handle(RegisterWarehouse(warehouse=Warehouse("W1", priority=1)))
    built.handle(RegisterWarehouse(warehouse=Warehouse("W2", priority=2)))
    for sku in SKUS:
        built.handle(ReceiveStock(sku=sku, warehouse_id="W1", quantity=100, reason="PO-1"))
    return built


def delivered_order(
    service: SalesService,
    clock: ManualClock,
    lines: tuple[LineSpec, ...],
    *,
    currency: str = "USD",
    discounts: tuple[Discount, ...] = (),
    shipping: str | None = None,
    shipping_taxes: tuple[TaxComponent, ...] = (),
    pay: bool = True,
) -> str:
    """An order of ``lines`` placed, confirmed, paid in full by card, shipped and delivered."""
    placed = service.handle(
        PlaceOrder(
            customer_id="C-1",
            currency=currency,
            lines=lines,
            discounts=discounts,
            shipping=None if shipping is None else Money(shipping, currency),
            shipping_taxes=shipping_taxes,
            confirm=True,
        )
    )
    order_id = placed.order_id
    if pay:
        service.handle(AuthorizePayment(order_id=order_id, amount=placed.grand_total))
        service.handle(CapturePayment(order_id=order_id, payment_id="P1"))
    service.handle(ShipOrder(order_id=order_id, tracking_number="TRACK-1"))
    clock.advance(DAY)
    service.handle(DeliverOrder(order_id=order_id))
    return order_id


def spec(sku: str, quantity: int | str, price: str, currency: str = "USD") -> LineSpec:
    return LineSpec(sku=sku, quantity=quantity, unit_price=Money(price, currency))


def restock(line_id: str, quantity: int | str, warehouse: str = "W1") -> Inspection:
    return Inspection(line_id, Decimal(quantity), InspectionOutcome.RESTOCK, warehouse)


def write_off(line_id: str, quantity: int | str) -> Inspection:
    return Inspection(line_id, Decimal(quantity), InspectionOutcome.WRITE_OFF)


def on_hand(service: SalesService, sku: str, warehouse: str = "W1") -> Decimal:
    for item in service.stock_items():
        if item.sku == sku and item.warehouse_id == warehouse:
            return item.on_hand
    return Decimal(0)
