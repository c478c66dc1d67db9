"""Serving backorders: stock that arrived, allocated to the order lines waiting for it.

``AllocateBackorders`` — and, with ``bootstrap(serve_backorders_on_receipt=True)``, every receipt
— serves the waiting orders in turn: oldest placement first, or in the order of the host's
``backorder_priority``. Each order's waiting lines are allocated by the service's policy from
what the orders before it left, the plan is checked as every plan of a policy the service does
not trust is, and reserved; each order served gets an ``OrderAllocationChanged`` event.

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
from operator import itemgetter
from typing import Any

from salesorders.domain.allocation import AllocationPolicy
from salesorders.domain.checks import require_id
from salesorders.domain.events import OrderEvent
from salesorders.domain.order import Order
from salesorders.domain.plan import AllocationRequest
from salesorders.domain.snapshot import AvailableBatch, IncomingStock, StockSnapshot
from salesorders.domain.stock import LowStock, StockDesk
from salesorders.domain.stock.runs import ReservationRun
from salesorders.errors import ValidationError
from salesorders.ports import MAX_PAGE_SIZE, StockRepository, UnitOfWork
from salesorders.service.commands import AllocateBackorders
from salesorders.service.plans import check_plan, trusted
from salesorders.service.results import OrderResult

__all__ = ["MAX_WAITING", "BackorderPriority", "Backorders"]

#: Writes orders' events and stock alerts to the outbox, in one go.
Publish = Callable[[UnitOfWork, Sequence[OrderEvent], Sequence[LowStock]], None]

#: The host's priority of a waiting order: its sort key, lower served first.
BackorderPriority = Callable[[Order], Any]

#: How many waiting orders one receipt serves at most (the repository's page limit); with a
#: priority, how many waiting orders are ranked.
MAX_WAITING = MAX_PAGE_SIZE

#: How many SKUs one snapshot statement reads.
_SNAPSHOT_SKUS = 1_000

_first = itemgetter(0)


class Backorders:
    """The backorder handlers, wired to the service's policy and outbox (built by ``Handlers``).

    ``priority``: ``None`` serves waiting orders oldest placement first; a callable taking a
    waiting :class:`~salesorders.domain.order.Order` (it must not change it) and returning a sort
    key serves them by (key, placement time, id), lower keys first.
    """

    def __init__(
        self,
        policy: AllocationPolicy,
        publish: Publish,
        priority: BackorderPriority | None = None,
    ) -> None:
        if priority is not None and not callable(priority):
            raise ValidationError(
                "backorder_priority",
                priority,
                "must be a callable taking an Order and returning its sort key (lower first)",
                "pass e.g. lambda order: 0 if order.customer_group == 'vip' else 1, or None "
                "for placement order",
            )
        self.policy = policy
        self.priority = priority
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
        for order in self._waiting(uow, limit):
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

    def _waiting(self, uow: UnitOfWork, limit: int) -> Sequence[Order]:
        """The waiting orders to serve, in turn: the repository's (oldest placement first), or,
        with a priority, every waiting order ranked by (key, placement time, id)."""
        priority = self.priority
        if priority is None:
            return uow.orders.waiting(limit)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_WAITING:
            raise ValidationError("limit", limit, f"must be an int from 1 to {MAX_WAITING:,}")
        ranked = [
            ((priority(order), order.placed_at or order.created_at, order.id), order)
            for order in uow.orders.waiting(MAX_WAITING)
        ]
        try:
            ranked.sort(key=_first)
        except TypeError as error:
            raise ValidationError(
                "backorder_priority",
                priority,
                f"returned sort keys that cannot be compared with each other ({error})",
                "return keys of one type for every order, e.g. numbers or tuples of numbers",
            ) from error
        return [order for _, order in ranked[:limit]]


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
