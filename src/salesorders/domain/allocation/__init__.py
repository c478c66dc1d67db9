"""Allocation policies: which warehouse (and batch) serves which order line, and why.

A policy turns an :class:`~salesorders.domain.plan.AllocationRequest` and a read-only
:class:`~salesorders.domain.snapshot.StockSnapshot` into an
:class:`~salesorders.domain.plan.AllocationPlan`. Every policy here keeps the same contract
(:class:`AllocationPolicy`), which :func:`plan_problems` checks and the public test kit
(``salesorders.testing.policies``) proves on random stock:

* pure and deterministic: the same request and stock give the same plan;
* never more than available per (SKU, warehouse) and per batch, counting every line of the order
  (two lines of one SKU share the same stock);
* allocated + backordered == requested for every line, or, for an all-or-nothing request, either a
  complete plan or an empty one whose ``shortages`` name every SKU short and by how much;
* only active warehouses that pass the policy's filters;
* a reason on every allocation and backorder that says what happened.

The built-ins are composed from three parts:

* **filters** (:class:`WarehouseFilter`) decide which warehouses may serve a destination. Inactive
  warehouses never serve. :class:`ShipsToDestination` is on by default; :class:`ExcludeWarehouses`
  removes warehouses by id.
* **rankings** (:class:`Ranking`) order the eligible warehouses: :class:`ByPriority` (an explicit
  id order, else ``Warehouse.priority``, then id) and :class:`ByDistance` (distance table, else
  coordinates, else zone/region match; ties broken by another ranking, priority by default).
* **policies** walk the ranking: :class:`RankedPolicy` (with :class:`PriorityPolicy` and
  :class:`NearestPolicy` as the named cases) fills each line from the best-ranked warehouse with
  stock left; :class:`FewestShipmentsPolicy` first picks as few warehouses as possible.

Inside a warehouse, stock on hand is used before anything incoming. Where the snapshot lists
batches for a (SKU, warehouse), every unit comes from a batch, earliest expiry first and batches
without an expiry last (FEFO). What cannot be served from stock on hand is backordered; incoming
stock for the SKU at an eligible warehouse, earliest ETA first, sets each backorder's
``expected_date`` (earlier backorders of the same plan use up incoming stock first).

Speed: the ranked, filtered warehouse list and the reason text of each warehouse are computed once
per destination and cached on the policy; a call then costs one pass over lines x ranked
warehouses. Filters and rankings must therefore be pure functions of (warehouse, destination).
"""

from __future__ import annotations

from salesorders.domain.allocation.policies import (
    AllocationPolicy,
    FewestShipmentsPolicy,
    NearestPolicy,
    PriorityPolicy,
    RankedPolicy,
)
from salesorders.domain.allocation.ranking import (
    DEFAULT_FILTERS,
    ByDistance,
    ByPriority,
    ExcludeWarehouses,
    Ranking,
    ShipsToDestination,
    WarehouseFilter,
)
from salesorders.domain.allocation.verify import (
    PLAN_RULES,
    Eligibility,
    PlanProblem,
    plan_problems,
    verify_plan,
)

__all__ = [
    "DEFAULT_FILTERS",
    "PLAN_RULES",
    "AllocationPolicy",
    "ByDistance",
    "ByPriority",
    "Eligibility",
    "ExcludeWarehouses",
    "FewestShipmentsPolicy",
    "NearestPolicy",
    "PlanProblem",
    "PriorityPolicy",
    "RankedPolicy",
    "Ranking",
    "ShipsToDestination",
    "WarehouseFilter",
    "plan_problems",
    "verify_plan",
]
