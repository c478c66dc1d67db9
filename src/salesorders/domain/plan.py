"""Allocation requests and plans: what an order asks for and which warehouse serves it.

An :class:`AllocationPolicy <salesorders.domain.allocation.AllocationPolicy>` turns an
:class:`AllocationRequest` and a :class:`~salesorders.domain.snapshot.StockSnapshot` into an
:class:`AllocationPlan`; the stock book applies a plan as reservations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import attrs

from salesorders.domain.warehouse import Destination
from salesorders.errors import Shortage

__all__ = ["Allocation", "AllocationPlan", "AllocationRequest", "Backorder", "DemandLine"]

_NOTHING = Decimal(0)


@attrs.frozen(slots=True)
class DemandLine:
    """One order line's demand: ``quantity`` of ``sku``."""

    line_id: str
    sku: str
    quantity: Decimal


@attrs.frozen(slots=True)
class AllocationRequest:
    """What an order needs allocated, where it ships, and whether a partial plan is acceptable."""

    order_id: str
    lines: tuple[DemandLine, ...]
    destination: Destination = Destination()
    all_or_nothing: bool = False

    def demand_by_sku(self) -> dict[str, Decimal]:
        """Total demand per SKU: several lines of one SKU are summed before checking stock."""
        totals: dict[str, Decimal] = {}
        for line in self.lines:
            totals[line.sku] = totals.get(line.sku, _NOTHING) + line.quantity
        return totals


@attrs.frozen(slots=True)
class Allocation:
    """``quantity`` of a line served from ``warehouse_id`` (and ``batch_id``), and why."""

    line_id: str
    sku: str
    warehouse_id: str
    quantity: Decimal
    batch_id: str | None = None
    reason: str = ""


@attrs.frozen(slots=True)
class Backorder:
    """The part of a line that could not be allocated, with the date stock is expected, and why."""

    line_id: str
    sku: str
    quantity: Decimal
    expected_date: dt.date | None = None
    reason: str = ""


@attrs.frozen(slots=True)
class AllocationPlan:
    """A policy's answer: allocations per line and warehouse, backorders, and SKUs short.

    ``shortages`` is filled when an all-or-nothing request could not be met (then ``allocations`` is
    empty) and names every SKU short and by how much.
    """

    order_id: str
    allocations: tuple[Allocation, ...] = ()
    backorders: tuple[Backorder, ...] = ()
    shortages: tuple[Shortage, ...] = ()

    @property
    def complete(self) -> bool:
        """True when every requested unit is allocated."""
        return not self.backorders and not self.shortages

    @property
    def is_empty(self) -> bool:
        return not self.allocations

    def allocated_for(self, line_id: str) -> Decimal:
        return sum((a.quantity for a in self.allocations if a.line_id == line_id), _NOTHING)

    def backordered_for(self, line_id: str) -> Decimal:
        return sum((b.quantity for b in self.backorders if b.line_id == line_id), _NOTHING)

    def reasons(self) -> Iterator[str]:
        """Every decision, explained: one line of text per allocation and backorder."""
        for a in self.allocations:
            yield f"{a.line_id} {a.sku} x{a.quantity} from {a.warehouse_id}: {a.reason}"
        for b in self.backorders:
            yield f"{b.line_id} {b.sku} x{b.quantity} backordered: {b.reason}"
