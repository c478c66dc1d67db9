"""The straightforward way of serving backorders, one order at a time: the reference the service's
batched serving must match, result for result and row for row.

Each waiting order (oldest placement first, or ranked by a priority like the service ranks them)
gets its own snapshot of the SKUs it waits for, its own plan, its own lock and reservation, and
its own outbox write; the stock alerts are written at the end. This is how the service served
backorders before it shared the snapshot, the lock and the writes across the orders.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from salesorders.domain.checks import require_id
from salesorders.domain.order import Order
from salesorders.domain.plan import AllocationRequest
from salesorders.domain.stock import StockDesk
from salesorders.ports import UnitOfWork
from salesorders.service import SalesService
from salesorders.service.commands import AllocateBackorders
from salesorders.service.handlers import Handlers
from salesorders.service.plans import check_plan, trusted
from salesorders.service.results import OrderResult

__all__ = ["serve_one_at_a_time", "use_reference_serving"]


def serve_one_at_a_time(
    handlers: Handlers,
    uow: UnitOfWork,
    sku: str | None,
    limit: int,
    actor: str,
    now: dt.datetime,
    priority: Callable[[Order], Any] | None = None,
) -> tuple[OrderResult, ...]:
    """Serve the waiting lines (of ``sku``, or all) of at most ``limit`` waiting orders."""
    policy = handlers.policy
    desk = StockDesk(uow.stock)
    served: list[OrderResult] = []
    exhausted: set[str] = set()
    if priority is None:
        orders = list(uow.orders.waiting(limit))
    else:
        orders = sorted(
            uow.orders.waiting(10_000),
            key=lambda o: (priority(o), o.placed_at or o.created_at, o.id),
        )[:limit]
    for order in orders:
        request = order.backorder_request(None if sku is None else (sku,))
        wanted = [line for line in request.lines if line.sku not in exhausted]
        if not wanted:
            continue
        request = AllocationRequest(request.order_id, tuple(wanted), request.destination)
        snapshot = uow.stock.snapshot(dict.fromkeys(ln.sku for ln in wanted), now.date())
        exhausted.update(ln.sku for ln in wanted if not snapshot.total_available(ln.sku))
        plan = policy.allocate(request, snapshot)
        if not trusted(policy):
            check_plan(policy, request, snapshot, plan)
        if not plan.allocations:
            continue
        desk.reserve_plan(plan, now, actor, warehouses=snapshot.warehouses)
        order.allocate_backorders(plan, now, actor=actor)
        uow.orders.save(order)
        served.append(handlers._published(uow, order))
    handlers._publish(uow, (), desk.alerts)
    return tuple(served)


def use_reference_serving(
    service: SalesService, priority: Callable[[Order], Any] | None = None
) -> None:
    """Make ``service`` serve backorders (``AllocateBackorders`` and receipts) the reference way."""
    handlers = service.handlers

    def allocate(
        uow: UnitOfWork, command: AllocateBackorders, now: dt.datetime
    ) -> tuple[OrderResult, ...]:
        if command.sku is not None:
            require_id(command.sku, "sku")
        return serve_one_at_a_time(
            handlers, uow, command.sku, command.limit, command.actor, now, priority
        )

    def serve(
        uow: UnitOfWork, sku: str | None, limit: int, actor: str, now: dt.datetime
    ) -> tuple[OrderResult, ...]:
        return serve_one_at_a_time(handlers, uow, sku, limit, actor, now, priority)

    handlers.routes[AllocateBackorders] = (allocate, tuple[OrderResult, ...])
    handlers.backorders.serve = serve  # type: ignore[method-assign]
