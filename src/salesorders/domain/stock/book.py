"""The :class:`StockBook`: stock in memory, with the same verbs as the service.

The book is for scripts, documentation and property tests. It is a
:class:`~salesorders.domain.stock.desk.StockDesk` over its own
:class:`~salesorders.domain.stock.tables.StockTables`, so it moves stock exactly as the service
does over a store: lock, run one operation, apply the change. Times are passed in
(timezone-aware); nothing reads a clock. Quantities are :class:`~decimal.Decimal` or ``int`` with
at most ``quantity_places`` decimal places; floats are refused. A method that raises changes
nothing.
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


class StockBook(StockDesk):
    """Stock in memory with the same verbs as the service: for scripts, docs and tests.

    A :class:`~salesorders.domain.stock.desk.StockDesk` over its own
    :class:`~salesorders.domain.stock.tables.StockTables`, plus reading, reports and backorders.
    Low-stock alerts collect in :attr:`alerts` (see :meth:`collect_events`).
    """

    __slots__ = ("_backorders", "_tables")

    def __init__(self, warehouses: Iterable[Warehouse] = (), *, quantity_places: int = 0) -> None:
        self._tables = StockTables(quantity_places)
        super().__init__(self._tables)
        self._backorders: dict[str, tuple[Backorder, ...]] = {}
        for warehouse in warehouses:
            self.add_warehouse(warehouse)

    @classmethod
    def over(cls, tables: StockTables) -> StockBook:
        """A book over existing rows (e.g. a memory store's ``stock_tables``)."""
        book = cls.__new__(cls)
        StockDesk.__init__(book, tables)
        book._tables = tables
        book._backorders = {}
        return book

    @property
    def tables(self) -> StockTables:
        """The rows behind the book."""
        return self._tables

    # ------------------------------------------------------------------ warehouses and levels

    @property
    def warehouses(self) -> Mapping[str, Warehouse]:
        """Read-only mapping of warehouse id to warehouse; the same object until one is added."""
        return self._tables.warehouse_view

    # ------------------------------------------------------------------ receipts

    def incoming(self) -> tuple[IncomingStock, ...]:
        """Every expected receipt (transfers in transit too), by ETA then id."""
        return self._tables.incoming()

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

    # ------------------------------------------------------------------ other movements

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
        in_transit: bool = False,
        actor: str = "",
        reason: str = "",
    ) -> tuple[LedgerEntry, ...]:
        """Move unreserved stock between warehouses; a batch keeps its id and expiry.

        Unlike the service's :class:`~salesorders.service.commands.TransferStock`, the book moves
        it in one step by default: the TRANSFER_OUT and TRANSFER_IN entries. With ``in_transit``
        the stock is expected at the destination until :meth:`receive_expected` takes it in.
        """
        return super().transfer(
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
        events, self.alerts = self.alerts, []
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
