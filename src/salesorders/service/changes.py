"""The change use cases: request, approve, decline and cancel a change of a placed order, and the
query of the changes awaiting review.

Approval is one unit of work: the order works out the change against itself as it is now and
says what stock the increases need; the service's allocation policy plans it (a plan of a policy
the service does not trust is checked); the order applies the change with that plan (refusing a
shortage, or backordering it, as the command says) before anything is reserved; then the plan
is reserved and what the change frees is released — the newest reservations first — through the
stock engine (every item either touches locked first, in (SKU, warehouse) order), and the order,
its events and the stock's alerts are saved together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import attrs

from salesorders.domain.allocation import AllocationPolicy
from salesorders.domain.changes import ChangePreview, ChangeRequest, ChangeStatus
from salesorders.domain.checks import page_limit
from salesorders.domain.order import Order
from salesorders.domain.order_changes import ON_SHORTAGE
from salesorders.domain.stock import LowStock, StockDesk
from salesorders.errors import ValidationError
from salesorders.ports import UnitOfWork
from salesorders.service.change_commands import (
    ApproveChange,
    CancelChange,
    DeclineChange,
    RequestChange,
)
from salesorders.service.fulfilment import latest_first
from salesorders.service.payments import orders_oldest_first
from salesorders.service.plans import check_plan, trusted
from salesorders.service.results import OrderResult

__all__ = ["ChangeAwaitingReview", "ChangeResult", "Changes", "changes_awaiting_review"]

#: Writes an order's new events (and stock alerts) to the outbox; returns the command's result.
Publish = Callable[[UnitOfWork, Order, Sequence[LowStock]], OrderResult]


@attrs.frozen(slots=True)
class ChangeResult:
    """The outcome of a change command: the order as it is now and the change request (its
    preview — or, once approved, the figures at approval — its status and its decision)."""

    order: OrderResult
    change: ChangeRequest

    @property
    def change_id(self) -> str:
        return self.change.id

    @property
    def status(self) -> ChangeStatus:
        return self.change.status

    @property
    def preview(self) -> ChangePreview:
        return self.change.preview


@attrs.frozen(slots=True)
class ChangeAwaitingReview:
    """A change request waiting for a reviewer's decision."""

    order_id: str
    number: str | None
    change: ChangeRequest


class Changes:
    """The change handlers, wired to the service's allocation policy (built by ``Handlers``)."""

    def __init__(
        self, policy: AllocationPolicy, publish: Publish, *, distinct_approver: bool = False
    ) -> None:
        self.policy = policy
        self.distinct_approver = distinct_approver
        self._trusted = trusted(policy)
        self._publish = publish

    def request_change(
        self, uow: UnitOfWork, command: RequestChange, now: dt.datetime
    ) -> ChangeResult:
        order = uow.orders.get(command.order_id)
        actions = command.actions
        if not isinstance(actions, tuple):
            raise ValidationError("actions", actions, "must be a tuple of ChangeAction")
        change = order.request_change(
            actions, now, actor=command.actor, reason=command.reason, change_id=command.change_id
        )
        return self._saved(uow, order, change.id, ())

    def approve_change(
        self, uow: UnitOfWork, command: ApproveChange, now: dt.datetime
    ) -> ChangeResult:
        order = uow.orders.get(command.order_id)
        if command.on_shortage not in ON_SHORTAGE:
            raise ValidationError(
                "on_shortage", command.on_shortage, "must be 'refuse' or 'backorder'"
            )
        demand = order.change_demand(
            command.change_id, actor=command.actor, distinct_approver=self.distinct_approver
        )
        request = demand.request
        plan = None
        snapshot = None
        if request.lines:
            skus = dict.fromkeys(line.sku for line in request.lines)
            snapshot = uow.stock.snapshot(skus, now.date())
            plan = self.policy.allocate(request, snapshot)
            if not self._trusted:
                check_plan(self.policy, request, snapshot, plan)
        freed = order.approve_change(
            command.change_id,
            now,
            actor=command.actor,
            reason=command.reason,
            plan=plan,
            on_shortage=command.on_shortage,
            distinct_approver=self.distinct_approver,
            demand=demand,
        )
        desk = StockDesk(uow.stock)
        allocations = () if plan is None else plan.allocations
        parts = latest_first(freed, uow.stock.reservations(order.id)) if freed else []
        if allocations and parts:
            # Every item reserved from or released to is locked at once, in (SKU, warehouse)
            # order, so two approvals moving the same SKUs the other way round cannot deadlock.
            keys = {(a.sku, a.warehouse_id) for a in allocations}
            uow.stock.lock(sorted(keys | {r.item_key for r, _ in parts}))
        if plan is not None and allocations and snapshot is not None:
            desk.reserve_plan(plan, now, command.actor, warehouses=snapshot.warehouses)
        if parts:
            reason = command.reason or f"change {command.change_id}"
            desk.release_parts(order.id, parts, now, reason=reason, actor=command.actor)
        return self._saved(uow, order, command.change_id, desk.alerts)

    def decline_change(
        self, uow: UnitOfWork, command: DeclineChange, now: dt.datetime
    ) -> ChangeResult:
        order = uow.orders.get(command.order_id)
        order.decline_change(
            command.change_id,
            now,
            actor=command.actor,
            reason=command.reason,
            distinct_approver=self.distinct_approver,
        )
        return self._saved(uow, order, command.change_id, ())

    def cancel_change(
        self, uow: UnitOfWork, command: CancelChange, now: dt.datetime
    ) -> ChangeResult:
        order = uow.orders.get(command.order_id)
        order.cancel_change(command.change_id, now, actor=command.actor, reason=command.reason)
        return self._saved(uow, order, command.change_id, ())

    def _saved(
        self, uow: UnitOfWork, order: Order, change_id: str, alerts: Sequence[LowStock]
    ) -> ChangeResult:
        uow.orders.save(order)
        return ChangeResult(self._publish(uow, order, alerts), order.change(change_id))


def changes_awaiting_review(uow: UnitOfWork, limit: int) -> tuple[ChangeAwaitingReview, ...]:
    """Change requests waiting for review, oldest requested first (at most ``limit``)."""
    page_limit(limit)
    found = [
        ChangeAwaitingReview(order.id, order.number, change)
        for order in orders_oldest_first(uow)
        for change in order.changes
        if change.awaiting_review
    ]
    found.sort(key=lambda r: (r.change.requested_at, r.order_id, r.change.id))
    return tuple(found[:limit])
