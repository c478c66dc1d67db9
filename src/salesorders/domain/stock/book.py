"""The :class:`StockBook`: stock in memory, with the same verbs as the service.

The book is for scripts, documentation and property tests. It keeps its rows in
:class:`~salesorders.domain.stock.tables.StockTables` and moves stock with a
:class:`~salesorders.domain.stock.desk.StockDesk` over them, exactly as the service does over a
store: lock, run one operation, apply the change. Times are passed in (timezone-aware); nothing
reads a clock. Quantities are :class:`~decimal.Decimal` or ``int`` with at most
``quantity_places`` decimal places; floats are refused. A method that raises changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal

from salesorders.domain.checks import require_id
from salesorders.domain.money import to_quantity
from salesorders.domain.plan import Allocation, AllocationPlan, Backorder
from salesorders.domain.snapshot import IncomingStock, StockSnapshot
from salesorders.domain.stock import operations as ops
from salesorders.domain.stock.desk import StockDesk
from salesorders.domain.stock.ledger import Discrepancy, reconcile
from salesorders.domain.stock.model import LedgerEntry, LowStock, Reservation, StockItem
from salesorders.domain.stock.reports import (
    AvailabilityRow,
    BackorderSummary,
    ReservedRow,
    availability,
    backorders_by_sku,
    incoming_by_date,
    reserved_vs_on_hand,
)
from salesorders.domain.stock.tables import StockTables
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import ReservationError, UnknownStockItemError

__all__ = ["StockBook"]


class StockBook:
    """Stock in memory with the same verbs as the service: for scripts, docs and tests."""

    __slots__ = ("_backorders", "_desk", "_tables")

    def __init__(self, warehouses: Iterable[Warehouse] = (), *, quantity_places: int = 0) -> None:
        self._tables = StockTables(quantity_places)
        self._desk = StockDesk(self._tables)
        self._backorders: dict[str, tuple[Backorder, ...]] = {}
        for warehouse in warehouses:
            self.add_warehouse(warehouse)

    @classmethod
    def over(cls, tables: StockTables) -> StockBook:
        """A book over existing rows (e.g. a memory store's ``stock_tables``)."""
        book = cls.__new__(cls)
        book._tables = tables
        book._desk = StockDesk(tables)
        book._backorders = {}
        return book

    @property
    def tables(self) -> StockTables:
        """The rows behind the book."""
        return self._tables

    @property
    def desk(self) -> StockDesk:
        """The desk that runs the book's operations over its rows."""
        return self._desk

    # ------------------------------------------------------------------ warehouses and levels

    def add_warehouse(self, warehouse: Warehouse) -> None:
        """Register a warehouse, or replace the one with the same id (to change its priority...)."""
        self._desk.add_warehouse(warehouse)

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
        """Set the levels of an item, created if new (see :func:`.operations.set_levels`)."""
        return self._desk.set_levels(
            sku,
            warehouse_id,
            safety_stock=safety_stock,
            reorder_point=reorder_point,
            reorder_quantity=reorder_quantity,
            at=at,
        )

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
        return self._desk.receive(
            sku,
            warehouse_id,
            quantity,
            at,
            batch_id=batch_id,
            expiry=expiry,
            actor=actor,
            reason=reason,
        )

    def expect(self, incoming: IncomingStock) -> None:
        """Record stock expected to arrive; it shows in snapshots and the incoming report."""
        self._desk.expect(incoming)

    def incoming(self) -> tuple[IncomingStock, ...]:
        """Every expected receipt (transfers in transit too), by ETA then id."""
        return self._tables.incoming()

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
        return self._desk.receive_expected(
            incoming_id,
            at,
            quantity=quantity,
            batch_id=batch_id,
            expiry=expiry,
            actor=actor,
            reason=reason,
        )

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
        require_id(order_id, "order_id")
        require_id(line_id, "line_id")
        amount = to_quantity(quantity, "quantity", self._tables.quantity_places)
        item = self.item(sku, warehouse_id)
        if batch_id is not None:
            ops.existing_batch(item, batch_id)
        allocation = Allocation(line_id, sku, warehouse_id, amount, batch_id)
        return self.reserve_plan(AllocationPlan(order_id, (allocation,)), at, actor)[0]

    def reserve_plan(
        self, plan: AllocationPlan, at: dt.datetime, actor: str = ""
    ) -> tuple[Reservation, ...]:
        """Reserve every allocation of ``plan`` atomically: all of them, or none."""
        return self._desk.reserve(plan, at, actor)

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
        return self._desk.release(reservation_id, at, quantity, reason=reason, actor=actor)

    def release_order(
        self, order_id: str, at: dt.datetime, reason: str = "", actor: str = ""
    ) -> tuple[LedgerEntry, ...]:
        """Release everything still open for ``order_id`` (none: an empty tuple)."""
        return self._desk.release_order(order_id, at, reason, actor)

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
        return self._desk.consume(reservation_id, at, quantity, reason=reason, actor=actor)

    def reservation(self, reservation_id: str) -> Reservation:
        """The reservation with that id; raises ReservationError if there is none."""
        found = self._tables.reservation(reservation_id)
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
        found = self._tables.reservations(order_id)
        return tuple(r for r in found if r.open > 0) if open_only else found

    def has_reservations(self, order_id: str) -> bool:
        """True when any reservation (open or not) was ever made for ``order_id``."""
        return order_id in self._tables.order_rows

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
        return self._desk.return_to_stock(
            sku,
            warehouse_id,
            quantity,
            at,
            return_id=return_id,
            batch_id=batch_id,
            expiry=expiry,
            order_id=order_id,
            line_id=line_id,
            actor=actor,
            reason=reason,
        )

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
        return self._desk.adjust(
            sku,
            warehouse_id,
            counted,
            at,
            reason,
            batch_id=batch_id,
            release_excess=release_excess,
            actor=actor,
        )

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
        return self._desk.write_off(
            sku, warehouse_id, quantity, at, reason, batch_id=batch_id, actor=actor
        )

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
        return self._desk.transfer(
            sku,
            from_warehouse,
            to_warehouse,
            quantity,
            at,
            transfer_id=transfer_id,
            batch_id=batch_id,
            eta=eta,
            in_transit=in_transit,
            actor=actor,
            reason=reason,
        )

    # ------------------------------------------------------------------ reading

    def item(self, sku: str, warehouse_id: str) -> StockItem:
        """The item of ``sku`` in ``warehouse_id``; raises UnknownStockItemError if none."""
        item = self._tables.item_rows.get((sku, warehouse_id))
        if item is None:
            ops.check_warehouse(self._tables.warehouse_rows, warehouse_id)
            raise UnknownStockItemError(sku, warehouse_id)
        return item

    def items(self) -> tuple[StockItem, ...]:
        """Every item, by SKU then warehouse."""
        return self._tables.items()

    def ledger(self) -> tuple[LedgerEntry, ...]:
        """Every ledger entry, oldest first."""
        return self._tables.ledger()

    def ledger_after(self, sequence: int) -> tuple[LedgerEntry, ...]:
        """The entries with a sequence above ``sequence``."""
        return tuple(self._tables.ledger_rows[max(sequence, 0) :])

    def collect_events(self) -> list[LowStock]:
        """Return and forget the low-stock alerts raised since the last call."""
        events, self._desk.alerts = self._desk.alerts, []
        return events

    def snapshot(self, skus: Iterable[str], on: dt.date | None = None) -> StockSnapshot:
        """What is available for ``skus`` on day ``on``: the input of an allocation policy."""
        return self._tables.snapshot(list(skus), on)

    def reconcile(self) -> tuple[Discrepancy, ...]:
        """Run :func:`~salesorders.domain.stock.ledger.reconcile` over this book."""
        tables = self._tables
        return reconcile(
            tables.item_rows.values(), tables.reservation_rows.values(), tables.ledger_rows
        )

    # ------------------------------------------------------------------ reports

    def availability(self) -> tuple[AvailabilityRow, ...]:
        """On hand, reserved, safety stock, available and incoming per SKU and warehouse."""
        return availability(self.items(), self._tables.incoming_rows.values())

    def reserved_vs_on_hand(self) -> tuple[ReservedRow, ...]:
        """Reserved against on hand per SKU and warehouse, with the count of open reservations."""
        return reserved_vs_on_hand(self.items(), self._tables.reservation_rows.values())

    def incoming_by_date(self) -> dict[dt.date, tuple[IncomingStock, ...]]:
        """Expected receipts grouped by ETA, dates ascending."""
        return incoming_by_date(self._tables.incoming_rows.values())

    def record_backorders(self, plan: AllocationPlan) -> tuple[Backorder, ...]:
        """Remember the backorders of ``plan`` for its order, replacing what was recorded before."""
        require_id(plan.order_id, "plan.order_id")
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
