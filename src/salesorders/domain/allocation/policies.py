"""Allocation policies: the :class:`AllocationPolicy` protocol and the built-ins that walk a
ranking (:class:`RankedPolicy`, :class:`PriorityPolicy`, :class:`NearestPolicy`) or first pick as
few warehouses as possible (:class:`FewestShipmentsPolicy`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Protocol, runtime_checkable

import attrs

from salesorders.domain.allocation.checks import _check_request
from salesorders.domain.allocation.ranking import (
    DEFAULT_FILTERS,
    ByDistance,
    ByPriority,
    Ranking,
    WarehouseFilter,
    _Route,
    _Router,
)
from salesorders.domain.allocation.walk import _finish, _Walk
from salesorders.domain.plan import AllocationPlan, AllocationRequest
from salesorders.domain.snapshot import StockSnapshot
from salesorders.domain.warehouse import Destination, Warehouse
from salesorders.errors import ValidationError

_NOTHING = Decimal(0)


@runtime_checkable
class AllocationPolicy(Protocol):
    """Decides which warehouse (and batch) serves each line of a request.

    ``allocate`` must be pure and deterministic and return a plan that keeps the rules listed in
    the :mod:`salesorders.domain.allocation` docstring;
    :func:`~salesorders.domain.allocation.plan_problems` lists any rule a plan breaks.
    """

    @property
    def name(self) -> str:
        """A short name for reports and error messages, e.g. ``"priority"``."""
        ...

    def allocate(self, request: AllocationRequest, snapshot: StockSnapshot) -> AllocationPlan:
        """Plan the allocation of ``request`` from ``snapshot``; never changes either."""
        ...


class _RoutedPolicy:
    """What every built-in policy shares: a ranking, filters, which warehouses they admit, and
    the shortest remaining shelf life a batch must have to be allocated."""

    __slots__ = ("_router", "_shelf_life")

    _router: _Router
    _shelf_life: dt.timedelta | None

    @property
    def min_shelf_life(self) -> dt.timedelta | None:
        """Batches expiring sooner than this after the snapshot's day are not allocated."""
        return self._shelf_life

    def _set_shelf_life(self, value: object) -> None:
        if value is not None and (not isinstance(value, dt.timedelta) or value < dt.timedelta(0)):
            raise ValidationError(
                "min_shelf_life", value, "must be a non-negative datetime.timedelta or None"
            )
        self._shelf_life = value

    def _usable(self, snapshot: StockSnapshot) -> StockSnapshot:
        """The snapshot without batches too close to expiry for this policy."""
        shelf = self._shelf_life
        if shelf is None or not snapshot.batches:
            return snapshot
        day = snapshot.on
        if day is None:
            raise ValidationError(
                "snapshot.on",
                None,
                "is needed to judge shelf life",
                "take the snapshot for a day: snapshot(skus, on=date)",
            )
        kept = {
            key: tuple(b for b in lots if b.expiry is None or b.expiry - day >= shelf)
            for key, lots in snapshot.batches.items()
        }
        return attrs.evolve(snapshot, batches=kept)

    @property
    def ranking(self) -> Ranking:
        return self._router.ranking

    @property
    def filters(self) -> tuple[WarehouseFilter, ...]:
        """The policy's filters (inactive warehouses are always excluded as well)."""
        return self._router.filters

    def admits(self, warehouse: Warehouse, destination: Destination) -> bool:
        """True when ``warehouse`` may serve ``destination`` under this policy."""
        return self._router.admits(warehouse, destination)


class RankedPolicy(_RoutedPolicy):
    """Serves each line from the best-ranked eligible warehouse with stock left, then the next.

    Composable: any :class:`Ranking` and any :class:`WarehouseFilter` s. Each allocation's reason
    names the warehouse, why it ranked where it did, and, for batches, which batch and why.
    """

    __slots__ = ("_name",)

    def __init__(
        self,
        ranking: Ranking,
        filters: Iterable[WarehouseFilter] = DEFAULT_FILTERS,
        *,
        name: str = "ranked",
        min_shelf_life: dt.timedelta | None = None,
    ) -> None:
        self._name = name
        self._router = _Router(ranking, filters, self._reason)
        self._set_shelf_life(min_shelf_life)

    @property
    def name(self) -> str:
        return self._name

    def allocate(self, request: AllocationRequest, snapshot: StockSnapshot) -> AllocationPlan:
        """Plan ``request`` from ``snapshot``; see :mod:`salesorders.domain.allocation` for the
        guarantees."""
        route = self._router.route(request.destination, snapshot.warehouses)
        walk = _Walk(self._usable(snapshot))
        walk.fill(request.lines, route.order)
        return _finish(request, snapshot, walk, route)

    def _reason(self, warehouse: Warehouse, destination: Destination) -> str:
        ranking = self._router.ranking
        return (
            f"{warehouse.id}: {ranking.headline(destination)} with stock left "
            f"({ranking.explain(warehouse, destination)})"
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.ranking!r}, filters={self.filters!r}, "
            f"name={self._name!r})"
        )


class PriorityPolicy(RankedPolicy):
    """Warehouses in ``order`` (ids) first, then by ``Warehouse.priority`` (lower first), then id.

    Reason: ``"W1: highest-priority warehouse with stock left (priority 1)"``.
    """

    __slots__ = ()

    def __init__(
        self,
        order: Sequence[str] | None = None,
        filters: Iterable[WarehouseFilter] = DEFAULT_FILTERS,
        *,
        min_shelf_life: dt.timedelta | None = None,
    ) -> None:
        super().__init__(ByPriority(order), filters, name="priority", min_shelf_life=min_shelf_life)

    def __repr__(self) -> str:
        order = self.ranking.order if isinstance(self.ranking, ByPriority) else None
        return f"PriorityPolicy(order={order!r}, filters={self.filters!r})"


class NearestPolicy(RankedPolicy):
    """Nearest warehouse first (see :class:`ByDistance`), ties by ``tie_breaker`` (priority).

    Reason: ``"W2: nearest warehouse to CN-East with stock left (distance 120)"``.
    """

    __slots__ = ()

    def __init__(
        self,
        filters: Iterable[WarehouseFilter] = DEFAULT_FILTERS,
        tie_breaker: Ranking | None = None,
        *,
        min_shelf_life: dt.timedelta | None = None,
    ) -> None:
        ranking = ByDistance(tie_breaker) if tie_breaker is not None else ByDistance()
        super().__init__(ranking, filters, name="nearest", min_shelf_life=min_shelf_life)

    def __repr__(self) -> str:
        return f"NearestPolicy(filters={self.filters!r}, ranking={self.ranking!r})"


def _tie_breaker(value: str | Ranking) -> Ranking:
    if value == "priority":
        return ByPriority()
    if value == "distance":
        return ByDistance()
    if not isinstance(value, str) and isinstance(value, Ranking):
        return value
    raise ValidationError(
        "tie_breaker",
        value,
        "is not a known tie-breaker",
        "use 'priority', 'distance' or a Ranking",
    )


class FewestShipmentsPolicy(_RoutedPolicy):
    """Serves the whole order from as few warehouses as possible.

    A single eligible warehouse that can serve every SKU in full is preferred. Otherwise warehouses
    are picked greedily (a set cover): each time, the one serving the most still-open SKUs in full,
    then the most units; ties go to the better-ranked warehouse by ``tie_breaker`` (``"priority"``,
    ``"distance"`` or any :class:`Ranking`). The warehouses taken in rank order are worked out too,
    and kept when they serve as much with fewer warehouses, so the plan never uses more warehouses
    than :class:`PriorityPolicy` would. Lines are then filled from the picked warehouses in the
    order they were picked. Cost: picks x eligible warehouses x SKUs.

    Reasons: ``"W1: ships the whole order alone (fewest shipments; priority 1)"`` or
    ``"W2: shipment 2 of 2, serves 1 of 1 open SKUs in full (fewest shipments; priority 2)"``.
    """

    __slots__ = ()

    def __init__(
        self,
        tie_breaker: str | Ranking = "priority",
        filters: Iterable[WarehouseFilter] = DEFAULT_FILTERS,
        *,
        min_shelf_life: dt.timedelta | None = None,
    ) -> None:
        self._router = _Router(_tie_breaker(tie_breaker), filters, self._explain)
        self._set_shelf_life(min_shelf_life)

    @property
    def name(self) -> str:
        return "fewest-shipments"

    def allocate(self, request: AllocationRequest, snapshot: StockSnapshot) -> AllocationPlan:
        """Plan ``request`` from ``snapshot`` with as few warehouses as the greedy cover finds."""
        _check_request(request)
        route = self._router.route(request.destination, snapshot.warehouses)
        walk = _Walk(self._usable(snapshot))
        walk.fill(request.lines, self._shipments(request, route, walk))
        return _finish(request, snapshot, walk, route)

    def _shipments(
        self, request: AllocationRequest, route: _Route, walk: _Walk
    ) -> tuple[tuple[str, str], ...]:
        """Pick warehouses; return (warehouse id, reason) in pick order.

        The greedy cover is a good guess, not always the fewest: taking warehouses in rank order
        (what :class:`PriorityPolicy` does) can need fewer, so both are worked out and the one
        that serves more SKUs in full, then uses fewer warehouses, wins (the greedy one on a tie).
        """
        capacity: dict[tuple[str, str], Decimal] = {}  # free stock, filled in as it is needed
        picks, left = _cover(request, route, walk, capacity, _best_pick)
        if left or len(picks) > 1:  # one warehouse serving everything cannot be beaten
            ranked, ranked_left = _cover(request, route, walk, capacity, _ranked_pick)
            if (ranked_left, len(ranked)) < (left, len(picks)):
                picks = ranked
        count = len(picks)
        return tuple(
            _pick_reason(route, pick, number, count) for number, pick in enumerate(picks, 1)
        )

    def _explain(self, warehouse: Warehouse, destination: Destination) -> str:
        return self._router.ranking.explain(warehouse, destination)

    def __repr__(self) -> str:
        return f"FewestShipmentsPolicy(tie_breaker={self.ranking!r}, filters={self.filters!r})"


_Pick = Callable[
    [_Route, set[int], Mapping[str, Decimal], dict[tuple[str, str], Decimal], _Walk],
    tuple[int, int] | None,
]


def _cover(
    request: AllocationRequest,
    route: _Route,
    walk: _Walk,
    capacity: dict[tuple[str, str], Decimal],
    choose: _Pick,
) -> tuple[list[tuple[int, int, int]], int]:
    """Warehouses picked one by one with ``choose`` until the demand is met or none helps:
    the picks (route index, SKUs served in full, SKUs open) and how many SKUs stay open."""
    open_demand = request.demand_by_sku()
    picks: list[tuple[int, int, int]] = []
    picked: set[int] = set()
    while open_demand:
        best = choose(route, picked, open_demand, capacity, walk)
        if best is None:
            break
        index, covered = best
        picks.append((index, covered, len(open_demand)))
        picked.add(index)
        wid = route.order[index][0]
        for sku, need in list(open_demand.items()):
            left = need - capacity[(sku, wid)]
            if left > 0:
                open_demand[sku] = left
            else:
                del open_demand[sku]
    return picks, len(open_demand)


def _served(
    wid: str,
    open_demand: Mapping[str, Decimal],
    capacity: dict[tuple[str, str], Decimal],
    walk: _Walk,
) -> tuple[int, Decimal]:
    """(SKUs served in full, units served) of the open demand by warehouse ``wid``."""
    covered = 0
    units = _NOTHING
    for sku, need in open_demand.items():
        key = (sku, wid)
        can = capacity.get(key)
        if can is None:
            can = capacity[key] = walk.free(key)
        if can >= need:
            covered += 1
            units += need
        else:
            units += can
    return covered, units


def _ranked_pick(
    route: _Route,
    picked: set[int],
    open_demand: Mapping[str, Decimal],
    capacity: dict[tuple[str, str], Decimal],
    walk: _Walk,
) -> tuple[int, int] | None:
    """(route index, SKUs served in full) of the best-ranked warehouse not picked yet that
    serves anything, or None."""
    for index, (wid, _) in enumerate(route.order):
        if index in picked:
            continue
        covered, units = _served(wid, open_demand, capacity, walk)
        if units:
            return index, covered
    return None


def _best_pick(
    route: _Route,
    picked: set[int],
    open_demand: Mapping[str, Decimal],
    capacity: dict[tuple[str, str], Decimal],
    walk: _Walk,
) -> tuple[int, int] | None:
    """(route index, SKUs served in full) of the best next warehouse, or None if none helps."""
    best: tuple[int, int] | None = None
    best_score: tuple[int, Decimal] = (0, _NOTHING)
    everything = len(open_demand)
    for index, (wid, _) in enumerate(route.order):
        if index in picked:
            continue
        covered, units = _served(wid, open_demand, capacity, walk)
        if units and (best is None or (covered, units) > best_score):
            best, best_score = (index, covered), (covered, units)
            if covered == everything:
                break  # nothing later can beat it, and earlier ranks win ties
    return best


def _pick_reason(
    route: _Route, pick: tuple[int, int, int], number: int, count: int
) -> tuple[str, str]:
    index, covered, open_skus = pick
    wid, explain = route.order[index]
    if count == 1 and covered == open_skus:
        return wid, f"{wid}: ships the whole order alone (fewest shipments; {explain})"
    return wid, (
        f"{wid}: shipment {number} of {count}, serves {covered} of {open_skus} open SKUs in full "
        f"(fewest shipments; {explain})"
    )
