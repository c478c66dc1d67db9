"""The stock verbs over any set of stock rows: lock them, compute the change, apply it.

:class:`StockDesk` is the one place where the sequence lock → operation → apply is written. It
works over anything shaped like :class:`StockRows`: a store's
:class:`~salesorders.ports.StockRepository` (the service's handlers and the contract suites), or
the in-memory :class:`~salesorders.domain.stock.tables.StockTables` of a
:class:`~salesorders.domain.stock.book.StockBook`. Each method locks what its operation needs (in
(SKU, warehouse) order), runs one pure operation of :mod:`~salesorders.domain.stock.operations` or
:mod:`~salesorders.domain.stock.reservations`, and applies the returned
:class:`~salesorders.domain.stock.model.StockChange`. The low-stock alerts of every change are
collected in :attr:`StockDesk.alerts` for the outbox.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Protocol

from salesorders.domain.checks import aware_time
from salesorders.domain.plan import AllocationPlan
from salesorders.domain.snapshot import IncomingStock, StockSnapshot
from salesorders.domain.stock import operations as ops
from salesorders.domain.stock import reservations as holds
from salesorders.domain.stock.model import (
    ItemKey,
    LedgerEntry,
    LockedStock,
    LowStock,
    Reservation,
    StockChange,
    StockItem,
    to_level,
)
from salesorders.domain.stock.runs import ReservationRun
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import NotFoundError, ReservationError, ValidationError

__all__ = ["StockDesk", "StockRows"]


class StockRows(Protocol):
    """What the desk needs of a store: the persistence half of the stock port."""

    @property
    def quantity_places(self) -> int: ...

    def add_warehouse(self, warehouse: Warehouse) -> None: ...

    def warehouses(self) -> dict[str, Warehouse]: ...

    def lock(
        self, keys: Collection[ItemKey], *, order_id: str | None = None, create: bool = False
    ) -> LockedStock: ...

    def lock_incoming(self, incoming_id: str) -> IncomingStock | None: ...

    def apply(self, change: StockChange, *, numbered: bool = False) -> tuple[LedgerEntry, ...]: ...

    def snapshot(self, skus: Collection[str], on: dt.date | None = None) -> StockSnapshot: ...

    def reservation(self, reservation_id: str) -> Reservation | None: ...

    def reservations(self, order_id: str | None = None) -> tuple[Reservation, ...]: ...

    def open_reservations(self, keys: Collection[ItemKey]) -> tuple[Reservation, ...]: ...


class StockDesk:
    """Stock operations in one unit of work, over its stock port."""

    __slots__ = ("alerts", "places", "repo")

    def __init__(self, repo: StockRows) -> None:
        self.repo = repo
        self.places = repo.quantity_places
        self.alerts: list[LowStock] = []

    def _apply(self, change: StockChange, numbered: bool = True) -> tuple[LedgerEntry, ...]:
        entries = self.repo.apply(change, numbered=numbered)
        if change.alerts:
            self.alerts.extend(change.alerts)
        return entries

    def _creating(
        self,
        keys: Collection[ItemKey],
        run: Callable[[dict[ItemKey, StockItem]], StockChange],
        *,
        create: bool = True,
    ) -> StockChange:
        """Run an operation over the locked items of ``keys``; with ``create``, items it adds are
        stored (empty) and locked first, and the operation runs again on them.

        The operation sees its input before anything is created, so a refused operation creates
        nothing; a created row is locked like any other, so two first receipts cannot race.
        """
        ordered = sorted(set(keys))
        items = self.repo.lock(ordered).items
        change = run(items)
        if not create or len(items) == len(ordered):
            return change
        return run(self.repo.lock(ordered, create=True).items)

    def _warehouses(self) -> Mapping[str, Warehouse]:
        return self.repo.warehouses()

    # ------------------------------------------------------------------ warehouses and levels

    def add_warehouse(self, warehouse: Warehouse) -> None:
        if not isinstance(warehouse, Warehouse):
            raise ValidationError("warehouse", warehouse, "must be a Warehouse")
        self.repo.add_warehouse(warehouse)

    def set_levels(
        self,
        sku: str,
        warehouse_id: str,
        *,
        safety_stock: Decimal | int | None = None,
        reorder_point: Decimal | int | None = None,
        reorder_quantity: Decimal | int | None = None,
        at: dt.datetime | None = None,
    ) -> StockItem:
        warehouses = self._warehouses()
        change = self._creating(
            [(sku, warehouse_id)],
            lambda items: ops.set_levels(
                items,
                warehouses,
                sku,
                warehouse_id,
                places=self.places,
                safety_stock=safety_stock,
                reorder_point=reorder_point,
                reorder_quantity=reorder_quantity,
                at=at,
            ),
        )
        self._apply(change, numbered=False)
        return change.items[0]

    # ------------------------------------------------------------------ receipts

    def receive(
        self,
        sku: str,
        warehouse_id: str,
        quantity: Decimal | int,
        at: dt.datetime,
        *,
        batch_id: str | None = None,
        expiry: dt.date | None = None,
        actor: str = "",
        reason: str = "",
    ) -> LedgerEntry:
        """Receive stock: one RECEIPT entry (see :func:`.operations.receive`)."""
        warehouses = self._warehouses()
        change = self._creating(
            [(sku, warehouse_id)],
            lambda items: ops.receive(
                items,
                warehouses,
                sku,
                warehouse_id,
                quantity,
                at,
                places=self.places,
                batch_id=batch_id,
                expiry=expiry,
                actor=actor,
                reason=reason,
            ),
        )
        return self._apply(change)[0]

    def expect(self, incoming: IncomingStock) -> None:
        """Record stock expected to arrive (see :func:`.operations.expect`)."""
        if not isinstance(incoming, IncomingStock):
            raise ValidationError("incoming", incoming, "must be an IncomingStock")
        known = self.repo.lock_incoming(incoming.id) if isinstance(incoming.id, str) else None
        change = ops.expect(
            self._warehouses(),
            () if known is None else (incoming.id,),
            incoming,
            places=self.places,
        )
        self._apply(change, numbered=False)

    def receive_expected(
        self,
        incoming_id: str,
        at: dt.datetime,
        *,
        quantity: Decimal | int | None = None,
        batch_id: str | None = None,
        expiry: dt.date | None = None,
        actor: str = "",
        reason: str = "",
    ) -> LedgerEntry:
        """Receive an expected receipt or a transfer in transit, in whole or in part."""
        expected = self.repo.lock_incoming(incoming_id) if isinstance(incoming_id, str) else None
        if expected is None:
            raise NotFoundError("incoming stock", str(incoming_id))
        warehouses = self._warehouses()
        change = self._creating(
            [(expected.sku, expected.warehouse_id)],
            lambda items: ops.receive_expected(
                items,
                warehouses,
                expected,
                at,
                places=self.places,
                quantity=quantity,
                batch_id=batch_id,
                expiry=expiry,
                actor=actor,
                reason=reason,
            ),
        )
        return self._apply(change)[0]

    # ------------------------------------------------------------------ reservations

    def reserve_plan(
        self,
        plan: AllocationPlan,
        at: dt.datetime,
        actor: str = "",
        *,
        warehouses: Collection[str] | None = None,
        new_order: bool = False,
    ) -> tuple[Reservation, ...]:
        """Reserve a whole plan or nothing (see :func:`.reservations.reserve`).

        ``new_order``: the plan's order was created in this unit of work under an id nothing
        can hold stock for yet, so the reservations it already holds are not read.
        """
        if not isinstance(plan, AllocationPlan):
            raise ValidationError("plan", plan, "must be an AllocationPlan")
        keys = sorted({(a.sku, a.warehouse_id) for a in plan.allocations})
        locked = self.repo.lock(keys, order_id=None if new_order else plan.order_id)
        held = locked.reservations
        change = holds.reserve(
            locked.items,
            plan,
            at,
            places=self.places,
            held=[r.id for r in held] if held else (),
            actor=actor,
            warehouses=warehouses if warehouses is not None else _LazyWarehouses(self),
        )
        self._apply(change, numbered=False)
        return change.reservations

    def reservation_run(self, snapshot: StockSnapshot) -> ReservationRun:
        """Reserve the plans of many orders in turn: the items ``snapshot`` lists stock of are
        locked once, each plan is reserved against what the plans before it left, and
        :meth:`ReservationRun.apply` stores them all as one change (its alerts land in
        :attr:`alerts`). See :mod:`salesorders.domain.stock.runs`."""
        return ReservationRun(self.repo, self.places, self._apply, snapshot)

    def release_order(
        self, order_id: str, at: dt.datetime, reason: str = "", actor: str = ""
    ) -> tuple[LedgerEntry, ...]:
        """Release everything still open for ``order_id`` (none: an empty tuple)."""
        held = [r for r in self.repo.reservations(order_id) if r.open > 0]
        if not held:
            aware_time(at)
            return ()
        locked = self.repo.lock(sorted({r.item_key for r in held}), order_id=order_id)
        change = holds.release_order(
            locked.items, locked.reservations, at, places=self.places, reason=reason, actor=actor
        )
        return self._apply(change)

    def release(
        self,
        reservation_id: str,
        at: dt.datetime,
        quantity: Decimal | int | None = None,
        reason: str = "",
        *,
        actor: str = "",
    ) -> LedgerEntry:
        """Give back part (default: all open) of one reservation: a RELEASE entry."""
        return self._settle_one(holds.release, reservation_id, at, quantity, reason, actor)

    def consume(
        self,
        reservation_id: str,
        at: dt.datetime,
        quantity: Decimal | int | None = None,
        *,
        reason: str = "",
        actor: str = "",
    ) -> LedgerEntry:
        """Ship part (default: all open) of one reservation: a SHIPMENT entry."""
        return self._settle_one(holds.consume, reservation_id, at, quantity, reason, actor)

    def _settle_one(
        self,
        settle: Callable[..., StockChange],
        reservation_id: str,
        at: dt.datetime,
        quantity: Decimal | int | None,
        reason: str,
        actor: str,
    ) -> LedgerEntry:
        reservation, items = self._reservation(reservation_id)
        change = settle(
            items, [(reservation, quantity)], at, places=self.places, reason=reason, actor=actor
        )
        return self._apply(change)[0]

    def consume_order(
        self,
        order_id: str,
        parts: Sequence[tuple[Reservation, Decimal | None]],
        at: dt.datetime,
        *,
        reason: str = "",
        actor: str = "",
    ) -> None:
        """Ship parts of several reservations of one order at once: one SHIPMENT entry each.

        ``parts`` are ``(reservation, quantity)``; ``None`` ships all that is open. The
        reservations are read again under the lock, so the quantities are checked against what is
        open now.
        """
        self._settle_order(holds.consume, order_id, parts, at, reason, actor)

    def release_parts(
        self,
        order_id: str,
        parts: Sequence[tuple[Reservation, Decimal | None]],
        at: dt.datetime,
        *,
        reason: str = "",
        actor: str = "",
    ) -> None:
        """Give back parts of several reservations of one order at once (cancelled
        quantities): one RELEASE entry each, checked as :meth:`consume_order` checks."""
        self._settle_order(holds.release, order_id, parts, at, reason, actor)

    def _settle_order(
        self,
        settle: Callable[..., StockChange],
        order_id: str,
        parts: Sequence[tuple[Reservation, Decimal | None]],
        at: dt.datetime,
        reason: str,
        actor: str,
    ) -> None:
        keys = sorted({reservation.item_key for reservation, _ in parts})
        locked = self.repo.lock(keys, order_id=order_id)
        current = {r.id: r for r in locked.reservations}
        missing = [r.id for r, _ in parts if r.id not in current]
        if missing:
            raise ReservationError(
                missing[0], f"order {order_id} has no reservation {missing[0]!r}"
            )
        change = settle(
            locked.items,
            [(current[r.id], quantity) for r, quantity in parts],
            at,
            places=self.places,
            reason=reason,
            actor=actor,
        )
        self._apply(change, numbered=False)

    def _reservation(self, reservation_id: str) -> tuple[Reservation, dict[ItemKey, StockItem]]:
        found = self.repo.reservation(reservation_id) if isinstance(reservation_id, str) else None
        if found is None:
            raise ReservationError(
                str(reservation_id),
                f"no reservation {reservation_id!r}; check the id (see reservations())",
            )
        locked = self.repo.lock([found.item_key], order_id=found.order_id)
        current = next(r for r in locked.reservations if r.id == reservation_id)
        return current, locked.items

    # ------------------------------------------------------------------ other movements

    def return_to_stock(
        self,
        sku: str,
        warehouse_id: str,
        quantity: Decimal | int,
        at: dt.datetime,
        *,
        return_id: str,
        batch_id: str | None = None,
        expiry: dt.date | None = None,
        order_id: str | None = None,
        line_id: str | None = None,
        actor: str = "",
        reason: str = "",
    ) -> LedgerEntry:
        """Put returned goods back on hand: a RETURN entry."""
        warehouses = self._warehouses()
        change = self._creating(
            [(sku, warehouse_id)],
            lambda items: ops.return_to_stock(
                items,
                warehouses,
                sku,
                warehouse_id,
                quantity,
                at,
                places=self.places,
                return_id=return_id,
                batch_id=batch_id,
                expiry=expiry,
                order_id=order_id,
                line_id=line_id,
                actor=actor,
                reason=reason,
            ),
        )
        return self._apply(change)[0]

    def adjust(
        self,
        sku: str,
        warehouse_id: str,
        counted: Decimal | int,
        at: dt.datetime,
        reason: str,
        *,
        batch_id: str | None = None,
        release_excess: bool = False,
        actor: str = "",
    ) -> LedgerEntry:
        """Record a stock count; with ``release_excess``, release the newest reservations the
        count no longer covers first. Returns the ADJUSTMENT entry."""
        key = (sku, warehouse_id)
        items = self.repo.lock([key]).items
        if not release_excess:
            change = ops.adjust(
                items,
                sku,
                warehouse_id,
                counted,
                at,
                reason,
                places=self.places,
                batch_id=batch_id,
                actor=actor,
                warehouses=_LazyWarehouses(self),
            )
            return self._apply(change)[0]
        amount = to_level(counted, "counted", self.places)
        ops.existing_item(items, sku, warehouse_id, _LazyWarehouses(self))
        freed = holds.release_excess(
            items,
            self.repo.open_reservations([key]),
            sku,
            warehouse_id,
            amount,
            at,
            places=self.places,
            batch_id=batch_id,
            reason=reason,
            actor=actor,
        )
        counted_change = ops.adjust(
            items,
            sku,
            warehouse_id,
            amount,
            at,
            reason,
            places=self.places,
            batch_id=batch_id,
            actor=actor,
        )
        change = freed.followed_by(counted_change)
        return self._apply(change)[-1]

    def write_off(
        self,
        sku: str,
        warehouse_id: str,
        quantity: Decimal | int,
        at: dt.datetime,
        reason: str,
        *,
        batch_id: str | None = None,
        actor: str = "",
    ) -> LedgerEntry:
        """Remove damaged, lost or expired unreserved stock: a WRITE_OFF entry."""
        change = ops.write_off(
            self.repo.lock([(sku, warehouse_id)]).items,
            sku,
            warehouse_id,
            quantity,
            at,
            reason,
            places=self.places,
            batch_id=batch_id,
            actor=actor,
            warehouses=_LazyWarehouses(self),
        )
        return self._apply(change)[0]

    def transfer(
        self,
        sku: str,
        from_warehouse: str,
        to_warehouse: str,
        quantity: Decimal | int,
        at: dt.datetime,
        *,
        transfer_id: str,
        batch_id: str | None = None,
        eta: dt.date | None = None,
        in_transit: bool = True,
        actor: str = "",
        reason: str = "",
    ) -> tuple[LedgerEntry, ...]:
        """Move unreserved stock between warehouses (in transit until received, by default)."""
        warehouses = self._warehouses()
        if isinstance(transfer_id, str) and self.repo.lock_incoming(transfer_id) is not None:
            raise ValidationError(
                "transfer_id", transfer_id, "is already in transit", "use a new transfer id"
            )
        change = self._creating(
            [(sku, from_warehouse), (sku, to_warehouse)],
            lambda items: ops.transfer(
                items,
                warehouses,
                sku,
                from_warehouse,
                to_warehouse,
                quantity,
                at,
                places=self.places,
                transfer_id=transfer_id,
                batch_id=batch_id,
                eta=eta,
                in_transit=in_transit,
                actor=actor,
                reason=reason,
            ),
            create=not in_transit,
        )
        return self._apply(change)


class _LazyWarehouses(Collection[str]):
    """The registered warehouse ids, read only if an operation needs them (an error path)."""

    __slots__ = ("_desk", "_ids")

    def __init__(self, desk: StockDesk) -> None:
        self._desk = desk
        self._ids: Collection[str] | None = None

    def _load(self) -> Collection[str]:
        if self._ids is None:
            self._ids = self._desk._warehouses()
        return self._ids

    def __contains__(self, key: object) -> bool:
        return key in self._load()

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())
