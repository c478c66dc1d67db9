"""The shared hook, capability flags and helpers of every contract suite."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import ClassVar, TypeVar

from salesorders.domain.order import Order
from salesorders.domain.plan import Allocation, AllocationPlan
from salesorders.domain.stock import StockDesk
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import OperationalError
from salesorders.ports import UnitOfWork, UnitOfWorkFactory

__all__ = ["T0", "AdapterContract", "desk", "plan_for", "sample_order"]

T = TypeVar("T")

#: The instant the contract suites start their clocks at.
T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def sample_order(
    order_id: str = "O-1",
    *,
    customer_id: str = "C-1",
    currency: str = "USD",
    at: dt.datetime = T0,
    lines: Sequence[tuple[str, int | str, str]] = (("SKU-A", 2, "10.00"),),
) -> Order:
    """A draft order with ``lines`` of ``(sku, quantity, unit price)``; its events are pulled."""
    order = Order.create(order_id, customer_id, currency, at)
    for sku, quantity, price in lines:
        order.add_line(sku, quantity, Decimal(price), at)
    order.pull_events()
    return order


def plan_for(order_id: str, *allocations: tuple[str, str, str, int | str]) -> AllocationPlan:
    """A plan of ``(line_id, sku, warehouse_id, quantity)`` allocations."""
    return AllocationPlan(
        order_id,
        tuple(
            Allocation(line_id, sku, warehouse_id, Decimal(quantity), reason="contract test")
            for line_id, sku, warehouse_id, quantity in allocations
        ),
    )


def desk(uow: UnitOfWork) -> StockDesk:
    """The stock verbs over ``uow``'s stock port (lock, compute, apply)."""
    return StockDesk(uow.stock)


class AdapterContract:
    """Base of every contract suite: the factory hook, capability flags and helpers.

    Implement :meth:`make_uow_factory` to return a factory over a fresh, empty store; override
    :meth:`dispose_uow_factory` to close it after each test. pytest makes a new instance of the
    test class per test, and the factory is made once per instance, on first use.
    """

    #: The adapter is safe to use from several threads at once (each with its own unit of work).
    supports_concurrency: ClassVar[bool] = True
    #: How many threads the race tests start.
    concurrency_threads: ClassVar[int] = 8
    #: Decimal places the adapter's stock quantities keep (0: whole units only).
    quantity_places: ClassVar[int] = 3

    _factory: UnitOfWorkFactory | None = None

    # ------------------------------------------------------------------ hooks

    def make_uow_factory(self) -> UnitOfWorkFactory:
        """Return a unit-of-work factory over a fresh, empty store."""
        raise NotImplementedError("implement make_uow_factory() to return your adapter's factory")

    def dispose_uow_factory(self, factory: UnitOfWorkFactory) -> None:
        """Release what :meth:`make_uow_factory` opened (connections, files). Optional."""

    # ------------------------------------------------------------------ helpers

    @property
    def uow_factory(self) -> UnitOfWorkFactory:
        if self._factory is None:
            self._factory = self.make_uow_factory()
        return self._factory

    def teardown_method(self, method: object = None) -> None:
        if self._factory is not None:
            factory, self._factory = self._factory, None
            self.dispose_uow_factory(factory)

    def in_uow(self, work: Callable[[UnitOfWork], T], *, commit: bool = True) -> T:
        """Run ``work`` in a new unit of work; commit it unless ``commit`` is false."""
        with self.uow_factory() as uow:
            result = work(uow)
            if commit:
                uow.commit()
        return result

    def read(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run ``work`` in a new unit of work that is rolled back."""
        return self.in_uow(work, commit=False)

    def given_warehouses(self, *warehouse_ids: str) -> None:
        def add(uow: UnitOfWork) -> None:
            for priority, warehouse_id in enumerate(warehouse_ids):
                desk(uow).add_warehouse(Warehouse(warehouse_id, priority=priority))

        self.in_uow(add)

    def given_stock(self, *receipts: tuple[str, str, int | str]) -> None:
        """Receive ``(sku, warehouse_id, quantity)`` and commit."""

        def receive(uow: UnitOfWork) -> None:
            for sku, warehouse_id, quantity in receipts:
                desk(uow).receive(sku, warehouse_id, Decimal(quantity), T0, reason="contract")

        self.in_uow(receive)

    def given_order(self, order: Order) -> Order:
        self.in_uow(lambda uow: uow.orders.add(order))
        return order

    def race(
        self, work: Callable[[UnitOfWork, int], T], threads: int | None = None
    ) -> list[object]:
        """Run ``work(uow, index)`` in ``threads`` threads at once, each in its own committed unit
        of work. Returns per thread the result or the exception raised. Storage busy errors
        (:class:`OperationalError`) are retried, as the service layer does."""
        count = threads or self.concurrency_threads
        barrier = threading.Barrier(count)
        outcomes: list[object] = [None] * count

        def run(index: int) -> None:
            barrier.wait()
            for _ in range(50):
                try:
                    outcomes[index] = self.in_uow(lambda uow: work(uow, index))
                except OperationalError:
                    continue
                except Exception as error:  # the outcome under test
                    outcomes[index] = error
                return
            outcomes[index] = OperationalError("still busy after 50 attempts")

        workers = [threading.Thread(target=run, args=(i,)) for i in range(count)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        return outcomes
