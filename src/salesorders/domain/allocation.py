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

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, NoReturn, Protocol, runtime_checkable

import attrs

from salesorders.domain.money import to_decimal
from salesorders.domain.plan import (
    Allocation,
    AllocationPlan,
    AllocationRequest,
    Backorder,
    DemandLine,
)
from salesorders.domain.snapshot import AvailableBatch, IncomingStock, StockSnapshot
from salesorders.domain.warehouse import Destination, Warehouse
from salesorders.errors import (
    AllocationError,
    InvalidQuantityError,
    Shortage,
    ValidationError,
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

_NOTHING = Decimal(0)
_ROUTE_CACHE_LIMIT = 1024

Eligibility = Callable[[Warehouse, AllocationRequest], bool]
"""``eligible(warehouse, request) -> bool``: may this warehouse serve this request?"""


# --------------------------------------------------------------------------- protocols


@runtime_checkable
class AllocationPolicy(Protocol):
    """Decides which warehouse (and batch) serves each line of a request.

    ``allocate`` must be pure and deterministic and return a plan that keeps the rules listed in
    the module docstring; :func:`plan_problems` lists any rule a plan breaks.
    """

    @property
    def name(self) -> str:
        """A short name for reports and error messages, e.g. ``"priority"``."""
        ...

    def allocate(self, request: AllocationRequest, snapshot: StockSnapshot) -> AllocationPlan:
        """Plan the allocation of ``request`` from ``snapshot``; never changes either."""
        ...


@runtime_checkable
class WarehouseFilter(Protocol):
    """Decides whether a warehouse may serve a destination. Must be pure."""

    def admits(self, warehouse: Warehouse, destination: Destination) -> bool: ...


@runtime_checkable
class Ranking(Protocol):
    """Orders eligible warehouses for a destination, best first. Must be pure.

    ``sort_key`` gives a comparable key (lower ranks first); ``explain`` states the fact the key
    rests on (``"priority 1"``, ``"distance 120"``); ``headline`` names the winner of the ranking
    for a destination (``"nearest warehouse to CN-East"``).
    """

    def sort_key(self, warehouse: Warehouse, destination: Destination) -> tuple[Any, ...]: ...

    def explain(self, warehouse: Warehouse, destination: Destination) -> str: ...

    def headline(self, destination: Destination) -> str: ...


# --------------------------------------------------------------------------- filters


@attrs.frozen(slots=True)
class ShipsToDestination:
    """Admits warehouses that deliver to the destination's region (``Warehouse.ships_to``).

    A warehouse with an empty ``ships_to`` delivers everywhere; a destination without a region is
    served by every warehouse.
    """

    def admits(self, warehouse: Warehouse, destination: Destination) -> bool:
        return warehouse.serves(destination.region)


def _warehouse_ids(ids: Iterable[str]) -> frozenset[str]:
    if isinstance(ids, str):
        raise ValidationError(
            "warehouse_ids", ids, "must be a collection of ids, not one string", "wrap it: {'W1'}"
        )
    result = frozenset(ids)
    for item in result:
        if not isinstance(item, str):
            raise ValidationError("warehouse_ids", item, "must be a warehouse id string")
    return result


@attrs.frozen(slots=True)
class ExcludeWarehouses:
    """Admits every warehouse except those whose id is in ``warehouse_ids``."""

    warehouse_ids: frozenset[str] = attrs.field(converter=_warehouse_ids)

    def admits(self, warehouse: Warehouse, destination: Destination) -> bool:
        return warehouse.id not in self.warehouse_ids


DEFAULT_FILTERS: tuple[WarehouseFilter, ...] = (ShipsToDestination(),)
"""The filters a built-in policy uses unless given others: ship to the destination's region."""


# --------------------------------------------------------------------------- rankings


def _order_ids(order: Sequence[str] | None) -> tuple[str, ...] | None:
    if order is None:
        return None
    if isinstance(order, str):
        raise ValidationError(
            "order",
            order,
            "must be a sequence of warehouse ids, not one string",
            "e.g. ['W2', 'W1']",
        )
    ids = tuple(order)
    for index, item in enumerate(ids):
        if not isinstance(item, str):
            raise ValidationError(f"order[{index}]", item, "must be a warehouse id string")
    if len(set(ids)) != len(ids):
        raise ValidationError("order", order, "lists a warehouse twice", "list each id once")
    return ids


@attrs.frozen(slots=True)
class ByPriority:
    """Ranks warehouses in ``order`` (explicit ids) first, the rest by ``Warehouse.priority``.

    Lower priority numbers rank first; equal priorities rank by warehouse id.
    """

    order: tuple[str, ...] | None = attrs.field(default=None, converter=_order_ids)
    _positions: dict[str, int] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        positions = {wid: index for index, wid in enumerate(self.order or ())}
        object.__setattr__(self, "_positions", positions)

    def sort_key(self, warehouse: Warehouse, destination: Destination) -> tuple[Any, ...]:
        position = self._positions.get(warehouse.id)
        if position is not None:
            return (0, position, warehouse.id)
        return (1, warehouse.priority, warehouse.id)

    def explain(self, warehouse: Warehouse, destination: Destination) -> str:
        position = self._positions.get(warehouse.id)
        if position is not None:
            return f"position {position + 1} in the configured warehouse order"
        if self.order is not None:
            return f"priority {warehouse.priority}, after the configured warehouse order"
        return f"priority {warehouse.priority}"

    def headline(self, destination: Destination) -> str:
        return "highest-priority warehouse"


def _table_distance(warehouse: Warehouse, key: str) -> Decimal | None:
    for name, distance in warehouse.distances:
        if name == key:
            return _exact(distance, f"warehouses[{warehouse.id!r}].distances[{key!r}]")
    return None


def _straight_line(warehouse: Warehouse, destination: Destination) -> Decimal | None:
    if warehouse.coordinates is None or destination.coordinates is None:
        return None
    field = f"warehouses[{warehouse.id!r}].coordinates"
    x1, y1 = (_exact(c, field) for c in warehouse.coordinates)
    x2, y2 = (_exact(c, "destination.coordinates") for c in destination.coordinates)
    return ((x1 - x2) ** 2 + (y1 - y2) ** 2).sqrt()


def _distance(warehouse: Warehouse, destination: Destination) -> tuple[int, Decimal, str]:
    """(tier, distance, explanation): the lower tier and then the shorter distance rank first."""
    zone, region = destination.zone, destination.region
    if zone is not None and (distance := _table_distance(warehouse, zone)) is not None:
        return (0, distance, f"distance {distance} to zone {zone}")
    if region is not None and (distance := _table_distance(warehouse, region)) is not None:
        return (0, distance, f"distance {distance}")
    if (distance := _straight_line(warehouse, destination)) is not None:
        return (1, distance, f"straight-line distance {distance:.2f} between coordinates")
    if zone is not None and warehouse.zone == zone:
        return (2, _NOTHING, f"same zone {zone}, no distance known")
    if region is not None and warehouse.region == region:
        return (3, _NOTHING, f"same region {region}, no distance known")
    return (4, _NOTHING, "no distance known")


@attrs.frozen(slots=True)
class ByDistance:
    """Ranks warehouses nearest first, ties broken by ``then`` (priority by default).

    The distance of a warehouse to a destination is, in this order of preference:

    1. its distance table (``Warehouse.distances``) entry for the destination's zone, else region;
    2. the straight-line (Euclidean) distance between the warehouse's and the destination's
       coordinates, computed exactly in Decimal on the plane (no earth curvature: use projected
       coordinates, or a distance table where that matters);
    3. no distance: a warehouse in the destination's zone, then one in its region, then the rest.

    A tier always ranks before the next, because table distances and coordinates need not share a
    unit: a warehouse with a table entry ranks before one whose distance is computed.
    """

    then: Ranking = attrs.field(factory=ByPriority)

    def sort_key(self, warehouse: Warehouse, destination: Destination) -> tuple[Any, ...]:
        tier, distance, _ = _distance(warehouse, destination)
        return (tier, distance, *self.then.sort_key(warehouse, destination))

    def explain(self, warehouse: Warehouse, destination: Destination) -> str:
        return _distance(warehouse, destination)[2]

    def headline(self, destination: Destination) -> str:
        if destination.region is not None:
            return f"nearest warehouse to {destination.region}"
        if destination.zone is not None:
            return f"nearest warehouse to zone {destination.zone}"
        return "nearest warehouse to the destination"


# --------------------------------------------------------------------------- routes (cached)


class _Route:
    """The eligible warehouses for one destination, best first, with a text per warehouse."""

    __slots__ = ("order", "rank")

    def __init__(self, order: tuple[tuple[str, str], ...]) -> None:
        self.order = order
        self.rank = {warehouse_id: index for index, (warehouse_id, _) in enumerate(order)}


class _Router:
    """Filters and ranks warehouses per destination, once; later calls reuse the result.

    The cache is keyed by destination and holds the warehouse objects it was built from, so a
    snapshot with other (or changed) warehouses is ranked again.
    """

    __slots__ = ("_describe", "_routes", "filters", "ranking")

    def __init__(
        self,
        ranking: Ranking,
        filters: Iterable[WarehouseFilter],
        describe: Callable[[Warehouse, Destination], str],
    ) -> None:
        self.ranking = ranking
        self.filters = _filters(filters)
        self._describe = describe
        self._routes: dict[object, tuple[tuple[Warehouse, ...], _Route]] = {}

    def admits(self, warehouse: Warehouse, destination: Destination) -> bool:
        """Active, and admitted by every filter."""
        return warehouse.active and all(f.admits(warehouse, destination) for f in self.filters)

    def route(self, destination: Destination, warehouses: Mapping[str, Warehouse]) -> _Route:
        key = (destination.region, destination.zone, destination.coordinates)
        current = tuple(warehouses.values())
        cached = self._routes.get(key)
        if cached is not None and cached[0] == current:
            return cached[1]
        route = self._build(destination, current)
        if len(self._routes) >= _ROUTE_CACHE_LIMIT:
            self._routes.clear()
        self._routes[key] = (current, route)
        return route

    def _build(self, destination: Destination, warehouses: tuple[Warehouse, ...]) -> _Route:
        eligible = [w for w in warehouses if self.admits(w, destination)]
        sort_key = self.ranking.sort_key
        eligible.sort(key=lambda w: (sort_key(w, destination), w.id))  # id: a total order
        return _Route(tuple((w.id, self._describe(w, destination)) for w in eligible))


def _filters(filters: Iterable[WarehouseFilter]) -> tuple[WarehouseFilter, ...]:
    result = tuple(filters)
    for index, item in enumerate(result):
        if not callable(getattr(item, "admits", None)):
            raise ValidationError(
                f"filters[{index}]",
                item,
                "is not a warehouse filter",
                "give objects with admits(warehouse, destination), e.g. ShipsToDestination()",
            )
    return result


# --------------------------------------------------------------------------- the allocation walk


def _refuse_quantity(lines: Sequence[DemandLine], line: DemandLine) -> NoReturn:
    """Raise the error that names the line's bad quantity (floats included) and what to do."""
    field = f"lines[{list(lines).index(line)}].quantity"
    quantity: object = line.quantity
    value = to_decimal(quantity, field)
    if type(quantity) is not Decimal:
        raise ValidationError(
            field, quantity, "must be a decimal.Decimal", "build the line with Decimal('3')"
        )
    raise InvalidQuantityError(field, value, "must be greater than zero")


def _check_request(request: AllocationRequest) -> None:
    """Refuse quantities that are not positive finite Decimals, before anything else reads them."""
    for line in request.lines:
        quantity = line.quantity
        if type(quantity) is not Decimal or not quantity.is_finite() or quantity <= 0:
            _refuse_quantity(request.lines, line)


def _exact(value: object, field: str) -> Decimal:
    """``value`` if it is a Decimal, else converted by ``to_decimal`` (which refuses floats)."""
    return value if type(value) is Decimal else to_decimal(value, field)


def _batch_note(batch: AvailableBatch) -> str:
    if batch.expiry is None:
        return f"batch {batch.batch_id} has no expiry date, used after dated batches"
    return f"batch {batch.batch_id} expires {batch.expiry.isoformat()}, earliest expiry first"


def _fefo(key: tuple[str, str], batches: Sequence[AvailableBatch]) -> list[list[Any]]:
    """[batch_id, left, note] per batch, earliest expiry first, undated last, then by id."""
    ordered = sorted(batches, key=lambda b: (b.expiry is None, b.expiry or dt.date.min, b.batch_id))
    field = f"batches[{key[0]!r}, {key[1]!r}]"
    return [[b.batch_id, _exact(b.available, field), _batch_note(b)] for b in ordered]


class _Walk:
    """One allocation pass: consumption per (SKU, warehouse) and per batch, across all lines."""

    __slots__ = ("allocations", "available", "batches", "fefo", "short", "used")

    def __init__(self, snapshot: StockSnapshot) -> None:
        self.available = snapshot.available
        self.batches = snapshot.batches
        self.used: dict[tuple[str, str], Decimal] = {}
        self.fefo: dict[tuple[str, str], list[list[Any]]] = {}
        self.allocations: list[Allocation] = []
        self.short: list[tuple[DemandLine, Decimal]] = []

    def free(self, key: tuple[str, str]) -> Decimal:
        """What is still free at (SKU, warehouse): available minus used, batch-capped, >= 0."""
        free = self.available.get(key)
        if free is None:
            return _NOTHING
        if type(free) is not Decimal:
            free = _exact(free, f"available[{key[0]!r}, {key[1]!r}]")
        spent = self.used.get(key)
        if spent is not None:
            free -= spent
        if self.batches and key in self.batches:
            in_batches = sum((e[1] for e in self._fefo(key) if e[1] > 0), _NOTHING)
            free = min(free, in_batches)
        return free if free > 0 else _NOTHING

    def fill(self, lines: Sequence[DemandLine], order: tuple[tuple[str, str], ...]) -> None:
        """Serve each line from the warehouses of ``order`` in turn; record what is left short.

        Refuses a line quantity that is not a positive, finite Decimal before using it.
        """
        available = self.available
        batches = self.batches
        used = self.used
        allocations = self.allocations
        for line in lines:
            sku = line.sku
            remaining = line.quantity
            if type(remaining) is not Decimal or not remaining.is_finite() or remaining <= 0:
                _refuse_quantity(lines, line)
            for warehouse_id, reason in order:
                key = (sku, warehouse_id)
                free = available.get(key)
                if free is None:
                    continue
                if type(free) is not Decimal:
                    free = _exact(free, f"available[{sku!r}, {warehouse_id!r}]")
                spent = used.get(key)
                if spent is not None:
                    free -= spent
                if free <= 0:
                    continue
                if batches and key in batches:
                    take = self._take_batches(line, key, min(free, remaining), reason)
                    if not take:
                        continue
                elif remaining <= free:
                    # the usual case: this warehouse serves the rest of the line
                    allocations.append(
                        Allocation(line.line_id, sku, warehouse_id, remaining, None, reason)
                    )
                    used[key] = remaining if spent is None else spent + remaining
                    break
                else:
                    take = free
                    allocations.append(
                        Allocation(line.line_id, sku, warehouse_id, take, None, reason)
                    )
                used[key] = take if spent is None else spent + take
                remaining -= take
                if not remaining:
                    break
            else:
                self.short.append((line, remaining))

    def _fefo(self, key: tuple[str, str]) -> list[list[Any]]:
        entries = self.fefo.get(key)
        if entries is None:
            entries = self.fefo[key] = _fefo(key, self.batches[key])
        return entries

    def _take_batches(
        self, line: DemandLine, key: tuple[str, str], wanted: Decimal, reason: str
    ) -> Decimal:
        taken = _NOTHING
        for entry in self._fefo(key):
            left = entry[1]
            if left <= 0:
                continue
            take = min(left, wanted - taken)
            entry[1] = left - take
            self.allocations.append(
                Allocation(line.line_id, line.sku, key[1], take, entry[0], f"{reason}; {entry[2]}")
            )
            taken += take
            if taken == wanted:
                break
        return taken


def _incoming_queue(incoming: Iterable[IncomingStock], rank: Mapping[str, int]) -> list[list[Any]]:
    """[eta, rank, id, warehouse_id, left] for incoming stock at eligible warehouses, ETA first."""
    queue = []
    for item in incoming:
        position = rank.get(item.warehouse_id)
        if position is None:
            continue
        quantity = item.quantity
        if type(quantity) is not Decimal:
            quantity = _exact(quantity, f"incoming[{item.id!r}].quantity")
        if quantity > 0:
            queue.append([item.eta, position, item.id, item.warehouse_id, quantity])
    queue.sort(key=lambda e: (e[0], e[1], e[2]))
    return queue


def _backorders(
    short: Sequence[tuple[DemandLine, Decimal]],
    incoming: Mapping[str, Sequence[IncomingStock]],
    rank: Mapping[str, int],
) -> list[Backorder]:
    """Backorder what is short; incoming stock, earliest ETA first, sets the expected dates."""
    queues: dict[str, list[list[Any]]] = {}
    result: list[Backorder] = []
    for line, missing in short:
        sku = line.sku
        queue = queues.get(sku)
        if queue is None:
            queue = queues[sku] = _incoming_queue(incoming.get(sku, ()), rank)
        expected_some = False
        for entry in queue:
            left = entry[4]
            if left <= 0:
                continue
            take = min(left, missing)
            entry[4] = left - take
            reason = (
                f"no stock left in eligible warehouses; expected {entry[0].isoformat()} "
                f"with incoming {entry[2]} at {entry[3]}"
            )
            result.append(Backorder(line.line_id, sku, take, entry[0], reason))
            expected_some = True
            missing -= take
            if not missing:
                break
        if missing:
            further = "further " if expected_some else ""
            reason = f"no stock left in eligible warehouses and no {further}incoming stock expected"
            result.append(Backorder(line.line_id, sku, missing, None, reason))
    return result


def _shortages(
    request: AllocationRequest, short: Sequence[tuple[DemandLine, Decimal]]
) -> tuple[Shortage, ...]:
    missing: dict[str, Decimal] = {}
    for line, quantity in short:
        missing[line.sku] = missing.get(line.sku, _NOTHING) + quantity
    demand = request.demand_by_sku()
    return tuple(
        Shortage(sku, demand[sku], demand[sku] - missing[sku]) for sku in demand if sku in missing
    )


def _finish(
    request: AllocationRequest, snapshot: StockSnapshot, walk: _Walk, route: _Route
) -> AllocationPlan:
    if not walk.short:
        return AllocationPlan(request.order_id, tuple(walk.allocations))
    if request.all_or_nothing:
        return AllocationPlan(request.order_id, shortages=_shortages(request, walk.short))
    backorders = _backorders(walk.short, snapshot.incoming, route.rank)
    return AllocationPlan(request.order_id, tuple(walk.allocations), tuple(backorders))


# --------------------------------------------------------------------------- policies


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
        """Plan ``request`` from ``snapshot``; see the module docstring for the guarantees."""
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
    ``"distance"`` or any :class:`Ranking`). Lines are then filled from the picked warehouses in
    the order they were picked. Cost: picks x eligible warehouses x SKUs.

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
        """Pick warehouses greedily; return (warehouse id, reason) in pick order."""
        open_demand = request.demand_by_sku()
        capacity: dict[tuple[str, str], Decimal] = {}  # free stock, filled in as it is needed
        picks: list[tuple[int, int, int]] = []  # (route index, SKUs served in full, SKUs open)
        picked: set[int] = set()
        while open_demand:
            best = _best_pick(route, picked, open_demand, capacity, walk)
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
        count = len(picks)
        return tuple(
            _pick_reason(route, pick, number, count) for number, pick in enumerate(picks, 1)
        )

    def _explain(self, warehouse: Warehouse, destination: Destination) -> str:
        return self._router.ranking.explain(warehouse, destination)

    def __repr__(self) -> str:
        return f"FewestShipmentsPolicy(tie_breaker={self.ranking!r}, filters={self.filters!r})"


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


# --------------------------------------------------------------------------- plan checks

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
