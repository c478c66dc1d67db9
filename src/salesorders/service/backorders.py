"""Serving backorders: stock that arrived, allocated to the order lines waiting for it.

``AllocateBackorders`` — and, with ``bootstrap(serve_backorders_on_receipt=True)``, every receipt
— serves the waiting orders in turn, oldest placement first. Each order's waiting lines are
allocated by the service's policy from what the orders before it left, the plan is checked as
every plan of a policy the service does not trust is, and reserved; each order served gets an
``OrderAllocationChanged`` event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from salesorders.domain.allocation import AllocationPolicy
from salesorders.domain.checks import require_id
from salesorders.domain.events import OrderEvent
from salesorders.domain.plan import AllocationRequest
from salesorders.domain.stock import LowStock, StockDesk
from salesorders.ports import MAX_PAGE_SIZE, UnitOfWork
from salesorders.service.commands import AllocateBackorders
from salesorders.service.plans import check_plan, trusted
from salesorders.service.results import OrderResult

__all__ = ["MAX_WAITING", "Backorders"]

#: Writes orders' events and stock alerts to the outbox.
Publish = Callable[[UnitOfWork, Sequence[OrderEvent], Sequence[LowStock]], None]

#: How many waiting orders one receipt serves at most (the repository's page limit).
MAX_WAITING = MAX_PAGE_SIZE


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
        desk = StockDesk(uow.stock)
        served: list[OrderResult] = []
        exhausted: set[str] = set()
        for order in uow.orders.waiting(limit):
            request = order.backorder_request(None if sku is None else (sku,))
            wanted = [line for line in request.lines if line.sku not in exhausted]
            if not wanted:
                continue
            request = AllocationRequest(request.order_id, tuple(wanted), request.destination)
            snapshot = uow.stock.snapshot(dict.fromkeys(ln.sku for ln in wanted), now.date())
            exhausted.update(ln.sku for ln in wanted if not snapshot.total_available(ln.sku))
            plan = self.policy.allocate(request, snapshot)
            if not self._trusted:
                check_plan(self.policy, request, snapshot, plan)
            if not plan.allocations:
                continue
            desk.reserve_plan(plan, now, actor, warehouses=snapshot.warehouses)
            order.allocate_backorders(plan, now, actor=actor)
            uow.orders.save(order)
            self._publish(uow, order.pull_events(), ())
            served.append(OrderResult.of(order))
        self._publish(uow, (), desk.alerts)
        return tuple(served)
