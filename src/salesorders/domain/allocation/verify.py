"""The plan contract: :func:`plan_problems` lists every rule (:data:`PLAN_RULES`) an allocation
plan breaks for its request and snapshot, and :func:`verify_plan` refuses a plan that breaks any.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

import attrs

from salesorders.domain.plan import Allocation, AllocationPlan, AllocationRequest, Backorder
from salesorders.domain.snapshot import StockSnapshot
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import AllocationError

_NOTHING = Decimal(0)


Eligibility = Callable[[Warehouse, AllocationRequest], bool]
"""``eligible(warehouse, request) -> bool``: may this warehouse serve this request?"""


PLAN_RULES: frozenset[str] = frozenset(
    {"quantities", "availability", "demand", "accounting", "eligibility", "reasons"}
)
"""The rules :func:`plan_problems` checks, by name."""


@attrs.frozen(slots=True)
class PlanProblem:
    """One broken rule in a plan: ``rule`` is one of :data:`PLAN_RULES`."""

    rule: str
    message: str


def _active(warehouse: Warehouse, request: AllocationRequest) -> bool:
    return warehouse.active


def _positive(quantity: object) -> bool:
    return isinstance(quantity, Decimal) and quantity.is_finite() and quantity > 0


def _stock(value: object) -> Decimal:
    """A snapshot quantity as a Decimal, treating anything below zero as nothing."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return number if number > 0 else _NOTHING


def plan_problems(
    request: AllocationRequest,
    snapshot: StockSnapshot,
    plan: AllocationPlan,
    eligible: Eligibility | None = None,
) -> tuple[PlanProblem, ...]:
    """Every rule ``plan`` breaks as an answer to ``request`` over ``snapshot``; empty if none.

    ``eligible(warehouse, request)`` says which warehouses may serve (default: active ones).
    The rules (:data:`PLAN_RULES`):

    * ``quantities``: every allocated and backordered quantity is a positive, finite Decimal;
    * ``reasons``: every allocation and backorder has a non-empty reason;
    * ``demand``: the plan is for the request's order, refers only to its lines and their SKUs,
      and allocates no line more than it asks for;
    * ``availability``: per (SKU, warehouse) no more than available, per batch no more than the
      batch holds, and only batches the snapshot lists;
    * ``eligibility``: only known warehouses that are eligible;
    * ``accounting``: allocated + backordered == requested per line; an all-or-nothing plan is
      complete, or empty with ``shortages`` naming every SKU short (requested = the SKU's total
      demand, 0 <= available < requested, no more available than eligible warehouses hold); a
      partial plan has no shortages.
    """
    judge = eligible or _active
    problems: list[PlanProblem] = []
    problems.extend(_entry_problems(request, snapshot, plan, judge))
    problems.extend(_availability_problems(snapshot, plan))
    problems.extend(_accounting_problems(request, snapshot, plan, judge))
    return tuple(problems)


def verify_plan(
    request: AllocationRequest,
    snapshot: StockSnapshot,
    plan: AllocationPlan,
    eligible: Eligibility | None = None,
) -> AllocationPlan:
    """Return ``plan`` if it keeps every rule of :func:`plan_problems`, else raise.

    Raises :class:`~salesorders.errors.AllocationError` listing every problem; use it before
    reserving a plan made by a policy you do not trust.
    """
    problems = plan_problems(request, snapshot, plan, eligible)
    if problems:
        listing = "; ".join(f"[{p.rule}] {p.message}" for p in problems)
        raise AllocationError(
            f"order {request.order_id}: the allocation plan breaks the rules: {listing}; "
            "fix the policy, or allocate with a built-in policy"
        )
    return plan


def _entry_problems(
    request: AllocationRequest,
    snapshot: StockSnapshot,
    plan: AllocationPlan,
    eligible: Eligibility,
) -> Iterable[PlanProblem]:
    if plan.order_id != request.order_id:
        yield PlanProblem(
            "demand", f"plan is for order {plan.order_id!r}, not {request.order_id!r}"
        )
    skus = {line.line_id: line.sku for line in request.lines}
    entries: list[Allocation | Backorder] = [*plan.allocations, *plan.backorders]
    for entry in entries:
        kind = "allocation" if isinstance(entry, Allocation) else "backorder"
        label = f"{kind} of line {entry.line_id!r} ({entry.sku} x{entry.quantity})"
        if not _positive(entry.quantity):
            yield PlanProblem("quantities", f"{label}: quantity must be a positive Decimal")
        if not isinstance(entry.reason, str) or not entry.reason.strip():
            yield PlanProblem("reasons", f"{label}: has no reason")
        if entry.line_id not in skus:
            yield PlanProblem("demand", f"{label}: the request has no such line")
        elif skus[entry.line_id] != entry.sku:
            yield PlanProblem("demand", f"{label}: the line asks for {skus[entry.line_id]}")
    for allocation in plan.allocations:
        warehouse = snapshot.warehouses.get(allocation.warehouse_id)
        where = f"allocation of line {allocation.line_id!r} from {allocation.warehouse_id}"
        if warehouse is None:
            yield PlanProblem("eligibility", f"{where}: no such warehouse in the snapshot")
        elif not eligible(warehouse, request):
            yield PlanProblem("eligibility", f"{where}: the warehouse is not eligible")


def _availability_problems(snapshot: StockSnapshot, plan: AllocationPlan) -> Iterable[PlanProblem]:
    per_pair: dict[tuple[str, str], Decimal] = {}
    per_batch: dict[tuple[str, str, str], Decimal] = {}
    for a in plan.allocations:
        if not _positive(a.quantity):
            continue
        key = (a.sku, a.warehouse_id)
        per_pair[key] = per_pair.get(key, _NOTHING) + a.quantity
        if a.batch_id is not None:
            batch_key = (a.sku, a.warehouse_id, a.batch_id)
            per_batch[batch_key] = per_batch.get(batch_key, _NOTHING) + a.quantity
    for (sku, wid), total in per_pair.items():
        free = _stock(snapshot.available.get((sku, wid), _NOTHING))
        if total > free:
            yield PlanProblem(
                "availability", f"{sku} at {wid}: allocated {total}, available {free}"
            )
    for (sku, wid, batch_id), total in per_batch.items():
        batch = next(
            (b for b in snapshot.batches.get((sku, wid), ()) if b.batch_id == batch_id), None
        )
        if batch is None:
            yield PlanProblem("availability", f"{sku} at {wid}: no batch {batch_id!r}")
        elif total > _stock(batch.available):
            yield PlanProblem(
                "availability",
                f"{sku} at {wid} batch {batch_id}: allocated {total}, "
                f"batch holds {batch.available}",
            )


def _eligible_stock(
    sku: str, request: AllocationRequest, snapshot: StockSnapshot, eligible: Eligibility
) -> Decimal:
    return sum(
        (
            _stock(snapshot.available.get((sku, w.id), _NOTHING))
            for w in snapshot.warehouses.values()
            if eligible(w, request)
        ),
        _NOTHING,
    )


def _accounting_problems(
    request: AllocationRequest,
    snapshot: StockSnapshot,
    plan: AllocationPlan,
    eligible: Eligibility,
) -> Iterable[PlanProblem]:
    requested: dict[str, Decimal] = {}
    for line in request.lines:
        requested[line.line_id] = requested.get(line.line_id, _NOTHING) + line.quantity
    allocated = dict.fromkeys(requested, _NOTHING)
    backordered = dict(allocated)
    for a in plan.allocations:
        if a.line_id in allocated and _positive(a.quantity):
            allocated[a.line_id] += a.quantity
    for b in plan.backorders:
        if b.line_id in backordered and _positive(b.quantity):
            backordered[b.line_id] += b.quantity
    for line_id, wanted in requested.items():
        if allocated[line_id] > wanted:
            yield PlanProblem(
                "demand", f"line {line_id!r}: allocated {allocated[line_id]}, requested {wanted}"
            )
    if request.all_or_nothing and plan.shortages:
        yield from _shortage_problems(request, snapshot, plan, eligible)
        return
    if plan.shortages:
        yield PlanProblem(
            "accounting", "a partial request's plan has shortages; backorder what is missing"
        )
    if request.all_or_nothing and plan.backorders:
        yield PlanProblem(
            "accounting",
            "an all-or-nothing plan has backorders; return a complete plan or shortages",
        )
    for line_id, wanted in requested.items():
        accounted = allocated[line_id] + backordered[line_id]
        if accounted != wanted:
            yield PlanProblem(
                "accounting",
                f"line {line_id!r}: allocated {allocated[line_id]} + backordered "
                f"{backordered[line_id]} != requested {wanted}",
            )


def _shortage_problems(
    request: AllocationRequest,
    snapshot: StockSnapshot,
    plan: AllocationPlan,
    eligible: Eligibility,
) -> Iterable[PlanProblem]:
    if plan.allocations or plan.backorders:
        yield PlanProblem(
            "accounting",
            "an all-or-nothing plan with shortages must allocate and backorder nothing",
        )
    demand = request.demand_by_sku()
    named: set[str] = set()
    for shortage in plan.shortages:
        sku = shortage.sku
        if sku not in demand:
            yield PlanProblem("demand", f"shortage of {sku}: the request does not ask for it")
            continue
        if sku in named:
            yield PlanProblem("accounting", f"shortage of {sku} is named twice")
        named.add(sku)
        if shortage.requested != demand[sku]:
            yield PlanProblem(
                "accounting",
                f"shortage of {sku}: requested {shortage.requested}, the order asks {demand[sku]}",
            )
        if not _NOTHING <= shortage.available < shortage.requested:
            yield PlanProblem(
                "accounting",
                f"shortage of {sku}: available {shortage.available} must be at least 0 and "
                f"less than requested {shortage.requested}",
            )
        stock = _eligible_stock(sku, request, snapshot, eligible)
        if shortage.available > stock:
            yield PlanProblem(
                "accounting",
                f"shortage of {sku}: claims {shortage.available} available, eligible "
                f"warehouses hold {stock}",
            )
    for sku, need in demand.items():
        if sku not in named and _eligible_stock(sku, request, snapshot, eligible) < need:
            yield PlanProblem(
                "accounting", f"{sku} is short (asks {need}) but the shortages do not name it"
            )
