"""Stock in memory: :class:`StockTables` (rows, ``lock``, ``apply``) and the :class:`StockBook`.

The book is for scripts, documentation and property tests: every method locks the rows it needs,
runs one verb of :mod:`~salesorders.domain.stock.operations` or
:mod:`~salesorders.domain.stock.reservations`, and applies the change, exactly as the service does
over a store. Times are passed in (timezone-aware); nothing reads a clock. Quantities are
:class:`~decimal.Decimal` or ``int`` with at most ``quantity_places`` decimal places; floats are
refused. A method that raises changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from decimal import Decimal
from types import MappingProxyType

from salesorders.domain.checks import require_text
from salesorders.domain.money import to_quantity
from salesorders.domain.plan import Allocation, AllocationPlan, Backorder
from salesorders.domain.snapshot import IncomingStock, StockSnapshot
from salesorders.domain.stock import operations as ops
from salesorders.domain.stock import reservations as holds
from salesorders.domain.stock.ledger import Discrepancy, reconcile
from salesorders.domain.stock.model import (
    ItemKey,
    LedgerEntry,
    LockedStock,
    LowStock,
    Reservation,
    StockChange,
    StockItem,
    numbered,
    to_level,
)
from salesorders.domain.stock.reports import (
    AvailabilityRow,
    BackorderSummary,
    ReservedRow,
    availability,
    backorders_by_sku,
    build_snapshot,
    incoming_by_date,
    reserved_vs_on_hand,
)
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import ReservationError, UnknownStockItemError, ValidationError

__all__ = ["StockBook", "StockTables"]


def check_places(quantity_places: object) -> int:
    if isinstance(quantity_places, bool) or not isinstance(quantity_places, int):
        raise ValidationError("quantity_places", quantity_places, "must be an int")
    if quantity_places < 0:
        raise ValidationError("quantity_places", quantity_places, "must not be negative")
    return quantity_places


class StockTables:
    """Stock rows in memory: warehouses, items, reservations, expected receipts and the ledger.

    :meth:`lock` hands out copies of items; :meth:`apply` stores a :class:`StockChange`. Both are
    plain row operations: the rules are in the verbs.
    """

    __slots__ = (
        "by_order",
        "by_sku",
        "incoming",
        "items",
        "ledger",
        "places",
        "reservations",
        "warehouse_view",
        "warehouses",
    )

    def __init__(self, quantity_places: int = 0) -> None:
        self.places = check_places(quantity_places)
        self.warehouses: dict[str, Warehouse] = {}
        self.warehouse_view: Mapping[str, Warehouse] = MappingProxyType({})
        self.items: dict[ItemKey, StockItem] = {}
        self.by_sku: dict[str, dict[str, StockItem]] = {}
        self.reservations: dict[str, Reservation] = {}
        self.by_order: dict[str, list[str]] = {}
        self.ledger: list[LedgerEntry] = []
        self.incoming: dict[str, IncomingStock] = {}

    def add_warehouse(self, warehouse: Warehouse) -> None:
        """Register a warehouse, or replace the one with the same id."""
        if not isinstance(warehouse, Warehouse):
            raise ValidationError("warehouse", warehouse, "must be a Warehouse")
        require_text(warehouse.id, "warehouse.id")
        self.set_warehouses({**self.warehouses, warehouse.id: warehouse})

    def set_warehouses(self, warehouses: dict[str, Warehouse]) -> None:
        self.warehouses = warehouses
        # A new read-only mapping on every change: consumers may cache by its identity.
        self.warehouse_view = MappingProxyType(dict(warehouses))

    def lock(
        self, keys: Iterable[ItemKey], *, order_id: str | None = None, create: bool = False
    ) -> LockedStock:
        """Copies of the items of ``keys`` (new empty ones with ``create``), and with
        ``order_id`` that order's reservations."""
        found: dict[ItemKey, StockItem] = {}
        items = self.items
        for key in keys:
            item = items.get(key)
            if item is not None:
                found[key] = item.copy()
            elif create:
                found[key] = StockItem(key[0], key[1])
        held: tuple[Reservation, ...] = ()
        if order_id is not None:
            ids = self.by_order.get(order_id)
            if ids:
                held = tuple(self.reservations[rid] for rid in ids)
        return LockedStock(found, held)

    def apply(self, change: StockChange) -> tuple[LedgerEntry, ...]:
        """Store the change; returns its ledger entries, numbered."""
        items = self.items
        by_sku = self.by_sku
        for item in change.items:
            items[item.key] = item
            place = by_sku.get(item.sku)
            if place is None:
                by_sku[item.sku] = {item.warehouse_id: item}
            else:
                place[item.warehouse_id] = item
        reservations = self.reservations
        for reservation in change.reservations:
            reservations[reservation.id] = reservation
            listed = self.by_order.get(reservation.order_id)
            if listed is None:
                self.by_order[reservation.order_id] = [reservation.id]
            else:
                listed.append(reservation.id)
        for reservation in change.settled:
            reservations[reservation.id] = reservation
        for incoming in change.expected:
            self.incoming[incoming.id] = incoming
        for incoming_id in change.arrived:
            self.incoming.pop(incoming_id, None)
        ledger = self.ledger
        start = len(ledger)
        entries = tuple(
            numbered(entry, start + index) for index, entry in enumerate(change.ledger, 1)
        )
        ledger.extend(entries)
        return entries

    def snapshot(self, skus: Iterable[str], on: dt.date | None = None) -> StockSnapshot:
        wanted = dict.fromkeys(skus)
        by_sku = self.by_sku
        found = [item for sku in wanted for item in by_sku.get(sku, {}).values()]
        return build_snapshot(self.warehouse_view, found, self.incoming.values(), wanted, on)

    def sorted_items(self) -> tuple[StockItem, ...]:
        return tuple(self.items[key] for key in sorted(self.items))

    def open_reservations(self, keys: Collection[ItemKey]) -> tuple[Reservation, ...]:
        """Open reservations of the items ``keys``, in the order they were made."""
        return tuple(r for r in self.reservations.values() if r.open > 0 and r.item_key in keys)


class StockBook:
    """Stock in memory with the same verbs as the service: for scripts, docs and tests."""

    __slots__ = ("_backorders", "_events", "_tables")

    def __init__(self, warehouses: Iterable[Warehouse] = (), *, quantity_places: int = 0) -> None:
        self._tables = StockTables(quantity_places)
        self._events: list[LowStock] = []
        self._backorders: dict[str, tuple[Backorder, ...]] = {}
        for warehouse in warehouses:
            self.add_warehouse(warehouse)

    @classmethod
    def over(cls, tables: StockTables) -> StockBook:
        """A book over existing rows (e.g. a memory store's ``stock_tables``)."""
        book = cls.__new__(cls)
        book._tables = tables
        book._events = []
        book._backorders = {}
        return book

    @property
    def tables(self) -> StockTables:
        """The rows behind the book."""
        return self._tables

    def _apply(self, change: StockChange) -> tuple[LedgerEntry, ...]:
        entries = self._tables.apply(change)
        self._events.extend(change.alerts)
        return entries

    def _lock(self, *keys: ItemKey, create: bool = False) -> dict[ItemKey, StockItem]:
        return self._tables.lock(keys, create=create).items

    @property
    def _places(self) -> int:
        return self._tables.places

    # ------------------------------------------------------------------ warehouses and levels

    def add_warehouse(self, warehouse: Warehouse) -> None:
        """Register a warehouse, or replace the one with the same id (to change its priority...)."""
        self._tables.add_warehouse(warehouse)

    @property
    def warehouses(self) -> Mapping[str, Warehouse]:
        """Read-only mapping of warehouse id to warehouse; the same object until one is added."""
        return self._tables.warehouse_view

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
        """Set the levels of an item (see :func:`.operations.set_levels`)."""
        change = ops.set_levels(
            self._lock((sku, warehouse_id)),
            self._tables.warehouses,
            sku,
            warehouse_id,
            places=self._places,
            safety_stock=safety_stock,
            reorder_point=reorder_point,
            reorder_quantity=reorder_quantity,
            at=at,
        )
        self._apply(change)
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
        """Add received stock (to a batch when ``batch_id`` is given, created if new)."""
        change = ops.receive(
            self._lock((sku, warehouse_id)),
            self._tables.warehouses,
            sku,
            warehouse_id,
            quantity,
            at,
            places=self._places,
            batch_id=batch_id,
            expiry=expiry,
            actor=actor,
            reason=reason,
        )
        return self._apply(change)[0]

    def expect(self, incoming: IncomingStock) -> None:
        """Record stock expected to arrive; it shows in snapshots and the incoming report."""
        tables = self._tables
        self._apply(ops.expect(tables.warehouses, tables.incoming, incoming, places=self._places))

    def incoming(self) -> tuple[IncomingStock, ...]:
        """Every expected receipt (transfers in transit too), by ETA then id."""
        return tuple(sorted(self._tables.incoming.values(), key=lambda i: (i.eta, i.id)))

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
        """Receive an expected shipment or a transfer in transit (all of it unless ``quantity``)."""
        expected = ops.incoming_or_missing(self._tables.incoming, incoming_id)
        change = ops.receive_expected(
            self._lock((expected.sku, expected.warehouse_id)),
            self._tables.warehouses,
            expected,
            at,
            places=self._places,
            quantity=quantity,
            batch_id=batch_id,
            expiry=expiry,
            actor=actor,
            reason=reason,
        )
        return self._apply(change)[0]

    # ------------------------------------------------------------------ reservations

    def reserve(
        self,
        order_id: str,
        line_id: str,
        sku: str,
        warehouse_id: str,
        quantity: Decimal | int,
        at: dt.datetime,
        *,
        batch_id: str | None = None,
        actor: str = "",
    ) -> Reservation:
        """Reserve ``quantity`` for one order line; raises InsufficientStockError if short."""
        require_text(order_id, "order_id")
        require_text(line_id, "line_id")
        amount = to_quantity(quantity, "quantity", self._places)
        item = self.item(sku, warehouse_id)
        if batch_id is not None:
            ops.existing_batch(item, batch_id)
        allocation = Allocation(line_id, sku, warehouse_id, amount, batch_id)
        return self.reserve_plan(AllocationPlan(order_id, (allocation,)), at, actor)[0]

    def reserve_plan(
        self, plan: AllocationPlan, at: dt.datetime, actor: str = ""
    ) -> tuple[Reservation, ...]:
        """Reserve every allocation of ``plan`` atomically: all of them, or none."""
        keys = dict.fromkeys((a.sku, a.warehouse_id) for a in plan.allocations)
        locked = self._tables.lock(keys, order_id=plan.order_id)
        change = holds.reserve(
            locked.items,
            plan,
            at,
            places=self._places,
            held=[r.id for r in locked.reservations],
            actor=actor,
            warehouses=self._tables.warehouses,
        )
        self._apply(change)
        return change.reservations

    def release(
        self,
        reservation_id: str,
        at: dt.datetime,
        quantity: Decimal | int | None = None,
        reason: str = "",
        *,
        actor: str = "",
    ) -> LedgerEntry:
        """Give back ``quantity`` (default: all still open) of a reservation to available stock."""
        reservation = self.reservation(reservation_id)
        change = holds.release(
            self._lock(reservation.item_key),
            [(reservation, quantity)],
            at,
            places=self._places,
            reason=reason,
            actor=actor,
        )
        return self._apply(change)[0]

    def release_order(
        self, order_id: str, at: dt.datetime, reason: str = "", actor: str = ""
    ) -> tuple[LedgerEntry, ...]:
        """Release everything still open for ``order_id`` (none: an empty tuple)."""
        held = self.reservations(order_id)
        change = holds.release_order(
            self._lock(*dict.fromkeys(r.item_key for r in held)),
            held,
            at,
            places=self._places,
            reason=reason,
            actor=actor,
        )
        return self._apply(change)

    def consume(
        self,
        reservation_id: str,
        at: dt.datetime,
        quantity: Decimal | int | None = None,
        *,
        actor: str = "",
        reason: str = "",
    ) -> LedgerEntry:
        """Ship ``quantity`` (default: all open) of a reservation; on hand and reserved drop."""
        reservation = self.reservation(reservation_id)
        change = holds.consume(
            self._lock(reservation.item_key),
            [(reservation, quantity)],
            at,
            places=self._places,
            reason=reason,
            actor=actor,
        )
        return self._apply(change)[0]

    def reservation(self, reservation_id: str) -> Reservation:
        """The reservation with that id; raises ReservationError if there is none."""
        found = self._tables.reservations.get(reservation_id)
        if found is None:
            raise ReservationError(
                str(reservation_id),
                f"no reservation {reservation_id!r}; check the id (see reservations())",
            )
        return found

    def reservations(
        self, order_id: str | None = None, *, open_only: bool = False
    ) -> tuple[Reservation, ...]:
        """Reservations in the order they were made, of one order if ``order_id`` is given."""
        tables = self._tables
        if order_id is None:
            found: Iterable[Reservation] = tables.reservations.values()
        else:
            found = (tables.reservations[rid] for rid in tables.by_order.get(order_id, ()))
        return tuple(r for r in found if not open_only or r.open > 0)

    def has_reservations(self, order_id: str) -> bool:
        """True when any reservation (open or not) was ever made for ``order_id``."""
        return order_id in self._tables.by_order

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
        """Put returned goods back on hand (into a batch when ``batch_id`` is given)."""
        change = ops.return_to_stock(
            self._lock((sku, warehouse_id)),
            self._tables.warehouses,
            sku,
            warehouse_id,
            quantity,
            at,
            places=self._places,
            return_id=return_id,
            batch_id=batch_id,
            expiry=expiry,
            order_id=order_id,
            line_id=line_id,
            actor=actor,
            reason=reason,
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
        actor: str = "",
        release_excess: bool = False,
    ) -> LedgerEntry:
        """Record a stock count: an ADJUSTMENT entry of ``counted - on_hand`` (even when zero).

        A count below what is reserved is refused, unless ``release_excess`` releases the
        newest reservations first (as RELEASE entries) so the count fits.
        """
        places = self._places
        if release_excess:
            key = (sku, warehouse_id)
            items = self._lock(key)
            amount = to_level(counted, "counted", places)
            freed = holds.release_excess(
                items,
                self._tables.open_reservations({key}),
                sku,
                warehouse_id,
                amount,
                at,
                places=places,
                batch_id=batch_id,
                reason=reason,
                actor=actor,
            )
            count = ops.adjust(
                items,
                sku,
                warehouse_id,
                amount,
                at,
                reason,
                places=places,
                batch_id=batch_id,
                actor=actor,
            )
            entries = self._apply(freed.followed_by(count))
            return entries[-1]
        change = ops.adjust(
            self._lock((sku, warehouse_id)),
            sku,
            warehouse_id,
            counted,
            at,
            reason,
            places=places,
            batch_id=batch_id,
            actor=actor,
            warehouses=self._tables.warehouses,
        )
        return self._apply(change)[0]

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
        """Remove damaged, lost or expired stock; only unreserved stock can be written off."""
        change = ops.write_off(
            self._lock((sku, warehouse_id)),
            sku,
            warehouse_id,
            quantity,
            at,
            reason,
            places=self._places,
            batch_id=batch_id,
            actor=actor,
            warehouses=self._tables.warehouses,
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
        in_transit: bool = False,
        eta: dt.date | None = None,
        actor: str = "",
        reason: str = "",
    ) -> tuple[LedgerEntry, ...]:
        """Move unreserved stock between warehouses; a batch keeps its id and expiry.

        Returns the TRANSFER_OUT entry and, unless ``in_transit``, the TRANSFER_IN entry. In
        transit, the stock is expected at the destination until :meth:`receive_expected` is
        called with the ``transfer_id``.
        """
        change = ops.transfer(
            self._lock((sku, from_warehouse), (sku, to_warehouse)),
            self._tables.warehouses,
            sku,
            from_warehouse,
            to_warehouse,
            quantity,
            at,
            places=self._places,
            transfer_id=transfer_id,
            batch_id=batch_id,
            eta=eta,
            in_transit=in_transit,
            actor=actor,
            reason=reason,
        )
        return self._apply(change)

    # ------------------------------------------------------------------ reading

    def item(self, sku: str, warehouse_id: str) -> StockItem:
        """The item of ``sku`` in ``warehouse_id``; raises UnknownStockItemError if none."""
        item = self._tables.items.get((sku, warehouse_id))
        if item is None:
            ops.check_warehouse(self._tables.warehouses, warehouse_id)
            raise UnknownStockItemError(sku, warehouse_id)
        return item

    def items(self) -> tuple[StockItem, ...]:
        """Every item, by SKU then warehouse."""
        return self._tables.sorted_items()

    def ledger(self) -> tuple[LedgerEntry, ...]:
        """Every ledger entry, oldest first."""
        return tuple(self._tables.ledger)

    def ledger_after(self, sequence: int) -> tuple[LedgerEntry, ...]:
        """The entries with a sequence above ``sequence``."""
        return tuple(self._tables.ledger[max(sequence, 0) :])

    def collect_events(self) -> list[LowStock]:
        """Return and forget the low-stock alerts raised since the last call."""
        events, self._events = self._events, []
        return events

    def snapshot(self, skus: Iterable[str], on: dt.date | None = None) -> StockSnapshot:
        """What is available for ``skus`` on day ``on``: the input of an allocation policy."""
        return self._tables.snapshot(skus, on)

    def reconcile(self) -> tuple[Discrepancy, ...]:
        """Run :func:`~salesorders.domain.stock.ledger.reconcile` over this book."""
        tables = self._tables
        return reconcile(tables.items.values(), tables.reservations.values(), tables.ledger)

    # ------------------------------------------------------------------ reports

    def availability(self) -> tuple[AvailabilityRow, ...]:
        """On hand, reserved, safety stock, available and incoming per SKU and warehouse."""
        return availability(self.items(), self._tables.incoming.values())

    def reserved_vs_on_hand(self) -> tuple[ReservedRow, ...]:
        """Reserved against on hand per SKU and warehouse, with the count of open reservations."""
        return reserved_vs_on_hand(self.items(), self._tables.reservations.values())

    def incoming_by_date(self) -> dict[dt.date, tuple[IncomingStock, ...]]:
        """Expected receipts grouped by ETA, dates ascending."""
        return incoming_by_date(self._tables.incoming.values())

    def record_backorders(self, plan: AllocationPlan) -> tuple[Backorder, ...]:
        """Remember the backorders of ``plan`` for its order, replacing what was recorded before."""
        require_text(plan.order_id, "plan.order_id")
        if plan.backorders:
            self._backorders[plan.order_id] = plan.backorders
        else:
            self._backorders.pop(plan.order_id, None)
        return plan.backorders

    def clear_backorders(self, order_id: str) -> None:
        """Forget the recorded backorders of ``order_id`` (served, or cancelled)."""
        self._backorders.pop(order_id, None)

    def backorders_by_sku(self) -> tuple[BackorderSummary, ...]:
        """Backordered quantity per SKU over all recorded orders, by SKU."""
        return backorders_by_sku(self._backorders)
