"""Stock rows in memory, in the shape of the stock port: lock, apply, snapshot and reads.

:class:`StockTables` is what the :class:`~salesorders.domain.stock.book.StockBook` keeps its stock
in, and what the memory store persists. It holds rows only: every rule is in the operations, and
:class:`~salesorders.domain.stock.desk.StockDesk` runs them over these tables exactly as it runs
them over a database. Its row attributes (``item_rows``, ``reservation_rows`` ...) are public so
that a store can keep a journal of what a change replaced.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from types import MappingProxyType
from typing import Final

from salesorders.domain.checks import require_id
from salesorders.domain.snapshot import IncomingStock, StockSnapshot
from salesorders.domain.stock.model import (
    ItemKey,
    LedgerEntry,
    LockedStock,
    Reservation,
    StockChange,
    StockItem,
    set_sequence,
)
from salesorders.domain.stock.model import numbered as number
from salesorders.domain.stock.reports import build_snapshot
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import ValidationError

__all__ = ["StockTables", "check_places"]

_NO_RESERVATIONS: Final[tuple[Reservation, ...]] = ()


def check_places(quantity_places: object) -> int:
    """The number of decimal places a stock quantity may have: an int of 0 or more."""
    if isinstance(quantity_places, bool) or not isinstance(quantity_places, int):
        raise ValidationError("quantity_places", quantity_places, "must be an int")
    if quantity_places < 0:
        raise ValidationError("quantity_places", quantity_places, "must not be negative")
    return quantity_places


class StockTables:
    """Warehouses, items, reservations, expected receipts and the ledger, as rows in memory."""

    __slots__ = (
        "_places",
        "_warehouse_view",
        "incoming_rows",
        "item_rows",
        "ledger_rows",
        "order_rows",
        "reservation_rows",
        "sku_rows",
        "warehouse_rows",
    )

    def __init__(self, quantity_places: int = 0) -> None:
        self._places = check_places(quantity_places)
        self.warehouse_rows: dict[str, Warehouse] = {}
        self._warehouse_view: Mapping[str, Warehouse] = MappingProxyType({})
        self.item_rows: dict[ItemKey, StockItem] = {}
        self.sku_rows: dict[str, dict[str, StockItem]] = {}  # sku -> warehouse id -> item
        self.reservation_rows: dict[str, Reservation] = {}
        self.order_rows: dict[str, list[str]] = {}  # order id -> reservation ids, in order
        self.ledger_rows: list[LedgerEntry] = []
        self.incoming_rows: dict[str, IncomingStock] = {}

    @property
    def quantity_places(self) -> int:
        return self._places

    # ------------------------------------------------------------------ warehouses

    def add_warehouse(self, warehouse: Warehouse) -> None:
        """Register a warehouse, or replace the one with the same id."""
        if not isinstance(warehouse, Warehouse):
            raise ValidationError("warehouse", warehouse, "must be a Warehouse")
        require_id(warehouse.id, "warehouse.id")
        self.set_warehouses({**self.warehouse_rows, warehouse.id: warehouse})

    def set_warehouses(self, warehouses: dict[str, Warehouse]) -> None:
        self.warehouse_rows = warehouses
        # A new read-only mapping on every change: consumers may cache by its identity.
        self._warehouse_view = MappingProxyType(dict(warehouses))

    def warehouses(self) -> dict[str, Warehouse]:
        return dict(self.warehouse_rows)

    @property
    def warehouse_view(self) -> Mapping[str, Warehouse]:
        """Read-only warehouses by id; the same object until one is added or replaced."""
        return self._warehouse_view

    # ------------------------------------------------------------------ lock and apply

    def lock(
        self, keys: Iterable[ItemKey], *, order_id: str | None = None, create: bool = False
    ) -> LockedStock:
        """Copies of the items of ``keys`` (new empty ones with ``create``), and with
        ``order_id`` that order's reservations."""
        found: dict[ItemKey, StockItem] = {}
        items = self.item_rows
        for key in keys:
            item = items.get(key)
            if item is not None:
                found[key] = item.copy()
            elif create:
                found[key] = StockItem(key[0], key[1])
        held = _NO_RESERVATIONS
        if order_id is not None:
            ids = self.order_rows.get(order_id)
            if ids:
                rows = self.reservation_rows
                held = tuple([rows[rid] for rid in ids])
        return LockedStock(found, held)

    def lock_incoming(self, incoming_id: str) -> IncomingStock | None:
        return self.incoming_rows.get(incoming_id)

    def apply(self, change: StockChange, *, numbered: bool = True) -> tuple[LedgerEntry, ...]:
        """Store the change; its ledger entries are numbered in place and returned (also
        without ``numbered``: numbering costs nothing here)."""
        items = self.item_rows
        by_sku = self.sku_rows
        for item in change.items:
            items[(item.sku, item.warehouse_id)] = item
            place = by_sku.get(item.sku)
            if place is None:
                by_sku[item.sku] = {item.warehouse_id: item}
            else:
                place[item.warehouse_id] = item
        reservations = self.reservation_rows
        orders = self.order_rows
        for reservation in change.reservations:
            reservations[reservation.id] = reservation
            listed = orders.get(reservation.order_id)
            if listed is None:
                orders[reservation.order_id] = [reservation.id]
            else:
                listed.append(reservation.id)
        for reservation in change.settled:
            reservations[reservation.id] = reservation
        if change.expected or change.arrived:
            incoming = self.incoming_rows
            for expected in change.expected:
                incoming[expected.id] = expected
            for incoming_id in change.arrived:
                incoming.pop(incoming_id, None)
        ledger = self.ledger_rows
        entries = change.ledger
        if any(entry.sequence for entry in entries):  # applied before: number copies
            entries = tuple([number(entry, 0) for entry in entries])
        sequence = len(ledger)
        for entry in entries:
            sequence += 1
            set_sequence(entry, sequence)
        ledger.extend(entries)
        return entries

    # ------------------------------------------------------------------ reading

    def snapshot(self, skus: Collection[str], on: dt.date | None = None) -> StockSnapshot:
        wanted = dict.fromkeys(skus)
        by_sku = self.sku_rows
        found = [item for sku in wanted for item in by_sku.get(sku, {}).values()]
        return build_snapshot(self._warehouse_view, found, self.incoming_rows.values(), wanted, on)

    def reservation(self, reservation_id: str) -> Reservation | None:
        return self.reservation_rows.get(reservation_id)

    def reservations(self, order_id: str | None = None) -> tuple[Reservation, ...]:
        """Reservations in the order they were made, of one order if ``order_id`` is given."""
        rows = self.reservation_rows
        if order_id is None:
            return tuple(rows.values())
        return tuple([rows[rid] for rid in self.order_rows.get(order_id, ())])

    def open_reservations(self, keys: Collection[ItemKey]) -> tuple[Reservation, ...]:
        """Open reservations of the items ``keys``, in the order they were made."""
        return tuple(r for r in self.reservation_rows.values() if r.open > 0 and r.item_key in keys)

    def incoming(self) -> tuple[IncomingStock, ...]:
        """Every expected receipt (transfers in transit too), by ETA then id."""
        return tuple(sorted(self.incoming_rows.values(), key=lambda i: (i.eta, i.id)))

    def items(self) -> tuple[StockItem, ...]:
        """Every item (the stored objects, not copies), by SKU then warehouse."""
        rows = self.item_rows
        return tuple(rows[key] for key in sorted(rows))

    def ledger(self) -> tuple[LedgerEntry, ...]:
        return tuple(self.ledger_rows)
