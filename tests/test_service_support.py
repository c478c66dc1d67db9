"""Shared builders for the service tests (no tests here)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from moneyed import Money

from salesorders.adapters.memory import MemoryStore
from salesorders.domain.stock import Discrepancy, reconcile
from salesorders.domain.warehouse import Warehouse
from salesorders.service import (
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
    bootstrap,
)

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


class WrappedUnitOfWork:
    """Another unit of work, passed through: subclasses replace the parts a test breaks or
    watches (a repository, ``commit``); everything else reaches the wrapped one."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __enter__(self) -> Any:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._inner.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def line(sku: str, quantity: int | str, price: str = "10.00") -> LineSpec:
    return LineSpec(sku, quantity, usd(price))


def new_order(*lines: LineSpec, **fields: Any) -> PlaceOrder:
    """A PlaceOrder that creates the order (customer C-1, USD) with ``lines``."""
    fields.setdefault("customer_id", "C-1")
    fields.setdefault("currency", "USD")
    return PlaceOrder(lines=lines or (line("SKU-A", 1),), **fields)


class Recorder:
    """A sleep function that records the delays it was asked for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def make_service(
    store: MemoryStore | None = None,
    *,
    clock: ManualClock | None = None,
    stock: dict[tuple[str, str], int] | None = None,
    uow: Callable[[], Any] | None = None,
    **options: Any,
) -> tuple[SalesService, MemoryStore, ManualClock]:
    """A service over a memory store with warehouses W1 (priority 1) and W2 (priority 2).

    ``stock`` maps (sku, warehouse) to a quantity received at start.
    """
    store = store or MemoryStore()
    clock = clock or ManualClock(T0)
    options.setdefault("rng", random.Random(7))
    options.setdefault("sleep", Recorder())
    service = bootstrap(uow=uow or store.unit_of_work, clock=clock, **options)
    setup = bootstrap(uow=store.unit_of_work, clock=clock)
    with store.unit_of_work() as work:
        known = work.stock.warehouses()
    for warehouse_id, priority in (("W1", 1), ("W2", 2)):
        if warehouse_id not in known:
            setup.handle(RegisterWarehouse(warehouse=Warehouse(warehouse_id, priority=priority)))
    for (sku, warehouse_id), quantity in (stock or {}).items():
        setup.handle(ReceiveStock(sku=sku, warehouse_id=warehouse_id, quantity=Decimal(quantity)))
    return service, store, clock


def figures(store: MemoryStore) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """(on_hand, reserved) per (sku, warehouse)."""
    with store.unit_of_work() as uow:
        return {(i.sku, i.warehouse_id): (i.on_hand, i.reserved) for i in uow.stock.items()}


def outbox(store: MemoryStore, stream: str | None = None) -> list[tuple[str, str]]:
    """(event_id, event_type) of every outbox message."""
    with store.unit_of_work() as uow:
        return [(m.event_id, m.event_type) for m in uow.outbox.messages(stream)]


def stock_drift(uow: Any) -> tuple[Discrepancy, ...]:
    """The drift detector over what the store's stock port reads back."""
    return reconcile(uow.stock.items(), uow.stock.reservations(), uow.stock.ledger())
