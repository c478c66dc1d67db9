"""Misuses the type checker must catch: every line marked ``# error`` is reported by
`mypy --strict`, and no other line (checked by `.ci/check_typing_examples.py`)."""

from __future__ import annotations

from salesorders import CancelOrder, LineSpec, OrderResult, PlaceOrder, ReceiveStock, bootstrap
from salesorders.adapters.memory import MemoryStore
from salesorders.stock import LedgerEntry

service = bootstrap(store=MemoryStore())
wrong_result: LedgerEntry = service.handle(CancelOrder(order_id="O-1", reason="x"))  # error
also_wrong: OrderResult = service.handle(ReceiveStock(sku="A", warehouse_id="W", quantity=1))  # error
no_currency = PlaceOrder(customer_id="C-1", lines=(LineSpec("A", 1),))  # error
not_a_line = PlaceOrder(customer_id="C-1", currency="EUR", lines=("A",))  # error
unknown_field = CancelOrder(order_id="O-1", reason="x", refund=True)  # error
service.handle("PlaceOrder")  # error
