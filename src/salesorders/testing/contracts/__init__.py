"""Contract test suites for the storage ports: run them against your own adapter.

One abstract suite per port. None is named ``Test*``, so pytest collects them only through a
subclass of yours that implements the factory hook::

    from salesorders.testing.contracts import AllContracts

    class TestMyStore(AllContracts):
        def make_uow_factory(self):          # a UnitOfWorkFactory over a fresh, empty store
            return MyStore(...).unit_of_work

        def dispose_uow_factory(self, factory):   # optional: close what you opened
            ...

The hook
    ``make_uow_factory(self) -> UnitOfWorkFactory`` — required; called at most once per test
    (pytest builds a new suite instance for every test), it must return a factory over a **fresh,
    empty** store. ``dispose_uow_factory(self, factory) -> None`` — optional teardown.

Capability flags (class attributes)
    ``supports_concurrency: ClassVar[bool] = True`` — set ``False`` to skip the thread races;
    ``concurrency_threads: ClassVar[int] = 8`` — how many threads the races start.
    ``quantity_places: ClassVar[int] = 3`` — decimal places of stock quantities (below 3 skips the
    fractional-quantity test).

The suites
    :class:`UnitOfWorkContract` (commit/rollback atomic across every repository),
    :class:`OrderRepositoryContract`, :class:`StockRepositoryContract`,
    :class:`OutboxStoreContract`, :class:`IdempotencyStoreContract`,
    :class:`OrderNumbersContract`, :class:`LogisticsContract` (the order repository's open and
    late shipments and lead times, equal to the domain's reference answers), and
    :class:`AllContracts` combining the seven.

Each test opens its own units of work through the factory and never holds two open at once in
one thread, so an adapter that serializes units of work with a single lock passes too. The suites
need pytest (``pip install salesorders[dev]``).
"""

from __future__ import annotations

from salesorders.testing.contracts._base import T0, AdapterContract, plan_for, sample_order
from salesorders.testing.contracts.idempotency import IdempotencyStoreContract
from salesorders.testing.contracts.logistics import LogisticsContract
from salesorders.testing.contracts.numbers import OrderNumbersContract
from salesorders.testing.contracts.orders import OrderRepositoryContract
from salesorders.testing.contracts.outbox import OutboxStoreContract
from salesorders.testing.contracts.stock import StockRepositoryContract
from salesorders.testing.contracts.unit_of_work import UnitOfWorkContract

__all__ = [
    "T0",
    "AdapterContract",
    "AllContracts",
    "IdempotencyStoreContract",
    "LogisticsContract",
    "OrderNumbersContract",
    "OrderRepositoryContract",
    "OutboxStoreContract",
    "StockRepositoryContract",
    "UnitOfWorkContract",
    "plan_for",
    "sample_order",
]


class AllContracts(
    UnitOfWorkContract,
    OrderRepositoryContract,
    StockRepositoryContract,
    OutboxStoreContract,
    IdempotencyStoreContract,
    OrderNumbersContract,
    LogisticsContract,
):
    """Every contract suite at once."""
