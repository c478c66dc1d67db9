"""Reserving the plans of many orders in turn: one lock of their stock, one change stored.

Serving backorders allocates order after order from the same stock. A
:class:`ReservationRun` (built by :meth:`StockDesk.reservation_run
<salesorders.domain.stock.desk.StockDesk.reservation_run>`) locks, once and in (SKU, warehouse)
order, every item a snapshot lists stock of; reserves each plan with the same pure verb as a single
reservation (:func:`~salesorders.domain.stock.reservations.reserve`) on those locked items, so each
plan is checked against what the plans before it left; keeps its :attr:`~ReservationRun.snapshot`
equal to the snapshot the store would give now; and stores every reservation as one change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from salesorders.domain.plan import AllocationPlan
from salesorders.domain.snapshot import StockSnapshot
from salesorders.domain.stock import reservations as holds
from salesorders.domain.stock.model import ItemKey, LedgerEntry, Reservation, StockChange, StockItem
from salesorders.domain.stock.reports import snapshot_entry
from salesorders.errors import ValidationError

if TYPE_CHECKING:
    from salesorders.domain.stock.desk import StockRows

__all__ = ["ReservationRun"]

_ZERO: Final = Decimal(0)

#: Stores a change (the desk's apply, which also collects its low-stock alerts).
Apply = Callable[[StockChange, bool], tuple[LedgerEntry, ...]]


class ReservationRun:
    """Plans reserved one after another against one lock of their stock, stored as one change.

    :attr:`snapshot` is the allocation input for every SKU of the snapshot the run started from,
    kept current: after each :meth:`reserve` it lists what the store's snapshot would list once
    the reservations so far were stored (the same domain function computes both). Policies read
    it and never change it; it changes only in :meth:`reserve`. Nothing is stored until
    :meth:`apply`; the unit of work undoes the whole run if anything fails.
    """

    __slots__ = (
        "_apply",
        "_available",
        "_batches",
        "_changes",
        "_keys",
        "_places",
        "_repo",
        "_totals",
        "items",
        "snapshot",
    )

    def __init__(self, repo: StockRows, places: int, apply: Apply, snapshot: StockSnapshot) -> None:
        self._repo = repo
        self._places = places
        self._apply = apply
        self._changes: list[StockChange] = []
        available = self._available = dict(snapshot.available)
        batches = self._batches = dict(snapshot.batches)
        self.snapshot = StockSnapshot(
            snapshot.warehouses, available, batches, snapshot.incoming, snapshot.on
        )
        keys: dict[str, list[ItemKey]] = {}
        totals: dict[str, Decimal] = {}
        for key, quantity in available.items():
            keys.setdefault(key[0], []).append(key)
            if quantity > 0:
                totals[key[0]] = totals.get(key[0], _ZERO) + quantity
        self._keys = keys
        self._totals = totals
        self.items: dict[ItemKey, StockItem] = dict(repo.lock(sorted(available)).items)

    def total_available(self, sku: str) -> Decimal:
        """What is still available of ``sku`` over every warehouse (as the snapshot's
        :meth:`~salesorders.domain.snapshot.StockSnapshot.total_available`)."""
        return self._totals.get(sku, _ZERO)

    def snapshot_of(self, skus: Iterable[str]) -> StockSnapshot:
        """The current snapshot of ``skus`` only: what the store's ``snapshot(skus)`` would give
        now (for a policy that should see only the SKUs it is asked for)."""
        wanted = dict.fromkeys(skus)
        available = self._available
        batches = self._batches
        incoming = self.snapshot.incoming
        listed = [key for sku in wanted for key in self._keys.get(sku, ()) if key in available]
        return StockSnapshot(
            self.snapshot.warehouses,
            {key: available[key] for key in listed},
            {key: batches[key] for key in listed if key in batches},
            {sku: incoming[sku] for sku in wanted if sku in incoming},
            self.snapshot.on,
        )

    def reserve(
        self,
        plan: AllocationPlan,
        at: dt.datetime,
        actor: str = "",
        *,
        warehouses: Collection[str] | None = None,
    ) -> tuple[Reservation, ...]:
        """Reserve a whole plan or nothing, against what the plans before it left (see
        :func:`~salesorders.domain.stock.reservations.reserve`)."""
        if not isinstance(plan, AllocationPlan):
            raise ValidationError("plan", plan, "must be an AllocationPlan")
        items = self.items
        missing = {(a.sku, a.warehouse_id) for a in plan.allocations} - items.keys()
        if missing:  # stock the snapshot listed none of: lock it too, so the check sees it
            items.update(self._repo.lock(sorted(missing)).items)
        held = self._repo.reservations(plan.order_id)
        change = holds.reserve(
            items,
            plan,
            at,
            places=self._places,
            held=[r.id for r in held] if held else (),
            actor=actor,
            warehouses=self.snapshot.warehouses if warehouses is None else warehouses,
        )
        self._changes.append(change)
        for item in change.items:
            self._refresh(item)
        return change.reservations

    def apply(self) -> None:
        """Store every reservation of the run as one change (nothing if none was made)."""
        if self._changes:
            self._apply(StockChange.of_reservation_run(self._changes), False)
            self._changes = []

    def _refresh(self, item: StockItem) -> None:
        """List ``item`` in the snapshot as the store's snapshot would list it now."""
        key = (item.sku, item.warehouse_id)
        free, lots = snapshot_entry(item, self.snapshot.on)
        available = self._available
        before = available.get(key, _ZERO)
        if free > 0:
            if key not in available:  # an item the run locked after it started
                listed = self._keys.setdefault(key[0], [])
                if key not in listed:
                    listed.append(key)
            available[key] = free
        else:
            available.pop(key, None)
        if lots:
            self._batches[key] = lots
        else:
            self._batches.pop(key, None)
        change = (free if free > 0 else _ZERO) - (before if before > 0 else _ZERO)
        if change:
            self._totals[key[0]] = self._totals.get(key[0], _ZERO) + change
