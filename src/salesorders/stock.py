"""Stock: items per SKU and warehouse, the ledger, reservations, and how orders are allocated.

Allocation policies (:class:`PriorityPolicy`, :class:`NearestPolicy`,
:class:`FewestShipmentsPolicy`, or a :class:`RankedPolicy` of your own rankings and filters) turn
an :class:`AllocationRequest` and a :class:`StockSnapshot` into an :class:`AllocationPlan`;
:func:`verify_plan` checks any plan against the snapshot. :class:`StockBook` is a stock engine in
memory for policies and tests; :func:`reconcile` and :func:`fold_ledger` audit stored stock.
"""

from salesorders._public import publish
from salesorders.domain.allocation import (
    AllocationPolicy,
    ByDistance,
    ByPriority,
    Eligibility,
    ExcludeWarehouses,
    FewestShipmentsPolicy,
    NearestPolicy,
    PlanProblem,
    PriorityPolicy,
    RankedPolicy,
    Ranking,
    ShipsToDestination,
    WarehouseFilter,
    plan_problems,
    verify_plan,
)
from salesorders.domain.catalog import Product
from salesorders.domain.plan import (
    Allocation,
    AllocationPlan,
    AllocationRequest,
    Backorder,
    DemandLine,
)
from salesorders.domain.snapshot import AvailableBatch, IncomingStock, StockSnapshot
from salesorders.domain.stock import (
    Batch,
    Discrepancy,
    LedgerEntry,
    LowStock,
    Movement,
    Reservation,
    StockBook,
    StockDesk,
    StockItem,
    StockLevels,
    fold_ledger,
    reconcile,
)
from salesorders.domain.stock.reports import (
    availability,
    backorders_by_sku,
    incoming_by_date,
    reserved_vs_on_hand,
)
from salesorders.domain.warehouse import Destination, Warehouse

__all__ = [
    "Allocation",
    "AllocationPlan",
    "AllocationPolicy",
    "AllocationRequest",
    "AvailableBatch",
    "Backorder",
    "Batch",
    "ByDistance",
    "ByPriority",
    "DemandLine",
    "Destination",
    "Discrepancy",
    "Eligibility",
    "ExcludeWarehouses",
    "FewestShipmentsPolicy",
    "IncomingStock",
    "LedgerEntry",
    "LowStock",
    "Movement",
    "NearestPolicy",
    "PlanProblem",
    "PriorityPolicy",
    "Product",
    "RankedPolicy",
    "Ranking",
    "Reservation",
    "ShipsToDestination",
    "StockBook",
    "StockDesk",
    "StockItem",
    "StockLevels",
    "StockSnapshot",
    "Warehouse",
    "WarehouseFilter",
    "availability",
    "backorders_by_sku",
    "fold_ledger",
    "incoming_by_date",
    "plan_problems",
    "reconcile",
    "reserved_vs_on_hand",
    "verify_plan",
]

publish(globals(), __name__, __all__)
