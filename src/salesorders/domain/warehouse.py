"""Warehouses and shipping destinations: where stock lives and where it goes."""

from __future__ import annotations

from decimal import Decimal

import attrs

from salesorders.domain.checks import check_name, require_id

__all__ = ["Destination", "Warehouse"]


@attrs.frozen(slots=True)
class Warehouse:
    """A place that holds stock.

    ``priority``: lower serves first under the priority policy. ``ships_to``: the regions this
    warehouse delivers to (empty means everywhere). ``distances``: an explicit distance table from
    this warehouse to regions or zones, used by the nearest policy before coordinates.

    ``id`` is an id (at most :data:`~salesorders.domain.checks.ID_MAX_LENGTH` characters); the
    name, region, zone and the regions and zones named are names (at most
    :data:`~salesorders.domain.checks.NAME_MAX_LENGTH`).
    """

    id: str
    name: str = ""
    region: str = ""
    zone: str = ""
    coordinates: tuple[Decimal, Decimal] | None = None
    priority: int = 100
    active: bool = True
    ships_to: frozenset[str] = frozenset()
    distances: tuple[tuple[str, Decimal], ...] = ()

    def __attrs_post_init__(self) -> None:
        require_id(self.id, "warehouse.id")
        for field in ("name", "region", "zone"):
            check_name(getattr(self, field), f"warehouse.{field}")
        for region in self.ships_to:
            check_name(region, "warehouse.ships_to")
        for index, entry in enumerate(self.distances):
            if isinstance(entry, tuple) and entry:
                check_name(entry[0], f"warehouse.distances[{index}]")

    def serves(self, region: str | None) -> bool:
        """True when the warehouse is active and delivers to ``region``."""
        return self.active and (not self.ships_to or region is None or region in self.ships_to)


@attrs.frozen(slots=True)
class Destination:
    """Where an order is shipped: a region (e.g. ``"CN-East"``), a zone and/or coordinates."""

    region: str | None = None
    zone: str | None = None
    coordinates: tuple[Decimal, Decimal] | None = None
