"""Which warehouses may serve a destination, and in what order: the filters
(:class:`WarehouseFilter`), the rankings (:class:`Ranking`: by priority, by distance) and the
route per destination they give, computed once and cached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

import attrs

from salesorders.domain.allocation.checks import _exact
from salesorders.domain.warehouse import Destination, Warehouse
from salesorders.errors import ValidationError

_NOTHING = Decimal(0)
_ROUTE_CACHE_LIMIT = 1024


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
