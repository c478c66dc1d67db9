"""Type-checked examples of the public API: `mypy --strict typing-examples/public_api.py` passes.

Each line says what a caller may rely on: the types commands take and the service returns.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from salesorders import (
    Address,
    CancelOrder,
    ChangeAction,
    ChangeResult,
    Execution,
    LineSpec,
    ManualClock,
    Money,
    Order,
    OrderPage,
    OrderQuery,
    OrderResult,
    PlaceDraft,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    RequestChange,
    SalesService,
    Warehouse,
    bootstrap,
    money,
)
from salesorders.adapters.memory import MemoryStore
from salesorders.errors import InsufficientStockError, SalesOrdersError
from salesorders.pricing import Discount, TaxComponent
from salesorders.stock import LedgerEntry, PriorityPolicy

clock = ManualClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
service: SalesService = bootstrap(
    store=MemoryStore(), clock=clock, allocation_policy=PriorityPolicy()
)
registered: None = service.handle(RegisterWarehouse(warehouse=Warehouse("EAST")))
received: LedgerEntry = service.handle(
    ReceiveStock(sku="TEA", warehouse_id="EAST", quantity=Decimal(10))
)

price: Money = money("12.50", "EUR")
line = LineSpec("TEA", 2, price, taxes=(TaxComponent("VAT", "0.19"),))
place = PlaceOrder(
    customer_id="C-1",
    currency="EUR",
    lines=(line,),
    discounts=(Discount.percentage("10", "welcome"),),
    shipping_address=Address(name="Li", line1="1 Road", city="Shanghai", country="CN"),
    confirm=True,
    idempotency_key="checkout-1",
)
result: OrderResult = service.handle(place, scope="shop-a")
done: Execution[Any] = service.execute(place, scope="shop-a")
replayed: bool = done.replayed
order: Order = service.get_order(result.order_id)
page: OrderPage = service.list_orders(OrderQuery(customer_id="C-1"))
placed: OrderResult = service.handle(PlaceDraft(order_id="a-draft-id"))
change: ChangeResult = service.handle(
    RequestChange(
        order_id=result.order_id, actions=(ChangeAction.set_quantity("L1", 3),), reason="more"
    )
)
cancelled: OrderResult = service.handle(CancelOrder(order_id=result.order_id, reason="test"))

try:
    service.handle(place)
except InsufficientStockError as short:
    missing = [shortage.sku for shortage in short.shortages]
except SalesOrdersError as error:
    problem: dict[str, Any] = error.to_problem()
    status: int = error.http_status
    code: str = error.code
