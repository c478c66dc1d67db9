"""Multi-warehouse stock: one engine for every store.

* :mod:`~salesorders.domain.stock.model` — items, batches, reservations, ledger entries, alerts,
  and :class:`StockChange`, the value every operation returns and every store applies;
* :mod:`~salesorders.domain.stock.operations` — receive, expect, receive expected, set levels,
  adjust, write off, transfer, return to stock;
* :mod:`~salesorders.domain.stock.reservations` — reserve a plan, release, consume;
* :mod:`~salesorders.domain.stock.ledger` — folds and the drift detector (:func:`reconcile`);
* :mod:`~salesorders.domain.stock.reports` — the allocation snapshot and the stock reports;
* :mod:`~salesorders.domain.stock.desk` — :class:`StockDesk`, the one place that runs lock →
  operation → apply over a store's rows;
* :mod:`~salesorders.domain.stock.runs` — :class:`ReservationRun`, the plans of many orders
  reserved in turn against one lock and stored as one change (the desk builds it);
* :mod:`~salesorders.domain.stock.tables` — :class:`StockTables`, stock rows in memory;
* :mod:`~salesorders.domain.stock.book` — :class:`StockBook`, stock in memory for scripts and tests.
"""

from salesorders.domain.stock.book import StockBook
from salesorders.domain.stock.desk import StockDesk, StockRows
from salesorders.domain.stock.ledger import (
    Discrepancy,
    fold_batches,
    fold_ledger,
    fold_reservations,
    plan_demand,
    reconcile,
)
from salesorders.domain.stock.model import (
    Batch,
    BucketKey,
    ItemKey,
    LedgerEntry,
    LockedStock,
    LowStock,
    Movement,
    Reservation,
    StockChange,
    StockItem,
    StockLevels,
    to_level,
)
from salesorders.domain.stock.reports import (
    AvailabilityRow,
    BackorderSummary,
    ReservedRow,
    build_snapshot,
    reservable_batches,
)
from salesorders.domain.stock.reservations import find_shortages
from salesorders.domain.stock.runs import ReservationRun
from salesorders.domain.stock.tables import StockTables

__all__ = [
    "AvailabilityRow",
    "BackorderSummary",
    "Batch",
    "BucketKey",
    "Discrepancy",
    "ItemKey",
    "LedgerEntry",
    "LockedStock",
    "LowStock",
    "Movement",
    "Reservation",
    "ReservationRun",
    "ReservedRow",
    "StockBook",
    "StockChange",
    "StockDesk",
    "StockItem",
    "StockLevels",
    "StockRows",
    "StockTables",
    "build_snapshot",
    "find_shortages",
    "fold_batches",
    "fold_ledger",
    "fold_reservations",
    "plan_demand",
    "reconcile",
    "reservable_batches",
    "to_level",
]
