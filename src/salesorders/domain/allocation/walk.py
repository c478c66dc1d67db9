"""The allocation pass over a stock snapshot: lines filled from a route's warehouses in turn,
batches used earliest expiry first (FEFO), and what is left short backordered against incoming
stock (or, for an all-or-nothing request, reported as shortages) to finish the plan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from salesorders.domain.allocation.checks import _exact, _refuse_quantity
from salesorders.domain.allocation.ranking import _Route
from salesorders.domain.plan import (
    Allocation,
    AllocationPlan,
    AllocationRequest,
    Backorder,
    DemandLine,
)
from salesorders.domain.snapshot import AvailableBatch, IncomingStock, StockSnapshot
from salesorders.errors import Shortage

_NOTHING = Decimal(0)


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
