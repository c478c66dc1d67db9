"""Serving backorders: stock that arrived, allocated to the order lines waiting for it.

``AllocateBackorders`` — and, with ``bootstrap(serve_backorders_on_receipt=True)``, every receipt
— serves the waiting orders in turn, oldest placement first. Each order's waiting lines are
allocated by the service's policy from what the orders before it left, the plan is checked as
every plan of a policy the service does not trust is, and reserved; each order served gets an
``OrderAllocationChanged`` event.

The work is shared across the orders: the stock of every SKU they wait for is read in one
snapshot and locked once, in (SKU, warehouse) order (a
:class:`~salesorders.domain.stock.runs.ReservationRun`, which keeps the snapshot current as plans
are reserved), SKUs with nothing left are no longer asked for, and the reservations and the
outbox messages are written once for the whole command.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal

from salesorders.domain.allocation import AllocationPolicy
from salesorders.domain.checks import require_id
from salesorders.domain.events import OrderEvent
from salesorders.domain.order import Order
from salesorders.domain.plan import AllocationRequest
from salesorders.domain.snapshot import AvailableBatch, IncomingStock, StockSnapshot
from salesorders.domain.stock import LowStock, StockDesk
from salesorders.domain.stock.runs import ReservationRun
from salesorders.ports import MAX_PAGE_SIZE, StockRepository, UnitOfWork
from salesorders.service.commands import AllocateBackorders
from salesorders.service.plans import check_plan, trusted
from salesorders.service.results import OrderResult

__all__ = ["MAX_WAITING", "Backorders"]

#: Writes orders' events and stock alerts to the outbox, in one go.
Publish = Callable[[UnitOfWork, Sequence[OrderEvent], Sequence[LowStock]], None]

#: How many waiting orders one receipt serves at most (the repository's page limit).
MAX_WAITING = MAX_PAGE_SIZE

#: How many SKUs one snapshot statement reads.
_SNAPSHOT_SKUS = 1_000


class Backorders:
    """The backorder handlers, wired to the service's policy and outbox (built by ``Handlers``)."""

    def __init__(self, policy: AllocationPolicy, publish: Publish) -> None:
        self.policy = policy
        self._trusted = trusted(policy)
        self._publish = publish

    def allocate_backorders(
        self, uow: UnitOfWork, command: AllocateBackorders, now: dt.datetime
    ) -> tuple[OrderResult, ...]:
        if command.sku is not None:
            require_id(command.sku, "sku")
        return self.serve(uow, command.sku, command.limit, command.actor, now)

    def serve(
        self, uow: UnitOfWork, sku: str | None, limit: int, actor: str, now: dt.datetime
    ) -> tuple[OrderResult, ...]:
        """Allocate and reserve stock for the waiting lines (of ``sku``, or all) of at most
        ``limit`` waiting orders, in turn; the results of the orders served."""
        skus = None if sku is None else (sku,)
        requests: list[tuple[Order, AllocationRequest]] = []
        for order in uow.orders.waiting(limit):
            request = order.backorder_request(skus)
            if request.lines:
                requests.append((order, request))
        if not requests:
            return ()
        wanted = sorted({line.sku for _, request in requests for line in request.lines})
        desk = StockDesk(uow.stock)
        run = desk.reservation_run(_snapshot(uow.stock, wanted, now.date()))
        events: list[OrderEvent] = []
        served: list[OrderResult] = []
        for order in self._allocated(run, requests, actor, now):
            uow.orders.save(order)
            events.extend(order.pull_events())
            served.append(OrderResult.of(order))
        run.apply()
        self._publish(uow, events, desk.alerts)
        return tuple(served)

    def _allocated(
        self,
        run: ReservationRun,
        requests: Sequence[tuple[Order, AllocationRequest]],
        actor: str,
        now: dt.datetime,
    ) -> list[Order]:
        """Allocate, check and reserve each order's request in turn; the orders served."""
        policy = self.policy
        checked = not self._trusted
        stocked = {
            line.sku for _, r in requests for line in r.lines if run.total_available(line.sku)
        }
        if not (checked or stocked):
            return []  # nothing any order waits for is in stock
        exhausted: set[str] = set()
        served: list[Order] = []
        for order, request in requests:
            if exhausted:
                lines = tuple([line for line in request.lines if line.sku not in exhausted])
                if not lines:
                    continue
                if len(lines) < len(request.lines):
                    request = AllocationRequest(request.order_id, lines, request.destination)
            for line in request.lines:
                if not run.total_available(line.sku):
                    exhausted.add(line.sku)
            if checked:
                snapshot = run.snapshot_of([line.sku for line in request.lines])
                plan = policy.allocate(request, snapshot)
                check_plan(policy, request, snapshot, plan)
            else:
                plan = policy.allocate(request, run.snapshot)
            if not plan.allocations:
                continue
            run.reserve(plan, now, actor)
            order.allocate_backorders(plan, now, actor=actor)
            served.append(order)
            if not checked:
                # A trusted policy allocates only what is available: once no SKU asked for has
                # stock left, no later order can be served.
                stocked.difference_update(
                    [a.sku for a in plan.allocations if not run.total_available(a.sku)]
                )
                if not stocked:
                    break
        return served


def _snapshot(stock: StockRepository, skus: Sequence[str], on: dt.date) -> StockSnapshot:
    """One snapshot of ``skus`` (sorted), read a bounded number of SKUs per statement."""
    if len(skus) <= _SNAPSHOT_SKUS:
        return stock.snapshot(skus, on)
    parts = [
        stock.snapshot(skus[start : start + _SNAPSHOT_SKUS], on)
        for start in range(0, len(skus), _SNAPSHOT_SKUS)
    ]
    available: dict[tuple[str, str], Decimal] = {}
    batches: dict[tuple[str, str], tuple[AvailableBatch, ...]] = {}
    incoming: dict[str, tuple[IncomingStock, ...]] = {}
    for part in parts:
        available.update(part.available)
        batches.update(part.batches)
        incoming.update(part.incoming)
    return StockSnapshot(parts[0].warehouses, available, batches, incoming, on)
