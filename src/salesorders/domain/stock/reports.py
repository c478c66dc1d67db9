"""What the stock figures say: the allocation snapshot and the stock reports. Pure functions.

Every store builds its :class:`~salesorders.domain.snapshot.StockSnapshot` with
:func:`build_snapshot` from the rows it loaded, so "available" means the same everywhere: on hand,
less reserved, less safety stock, less the unreserved stock of batches that have expired on the
snapshot's day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final

import attrs

from salesorders.domain.plan import Backorder
from salesorders.domain.snapshot import AvailableBatch, IncomingStock, StockSnapshot
from salesorders.domain.stock.model import ItemKey, Reservation, StockItem
from salesorders.domain.warehouse import Warehouse

__all__ = [
    "AvailabilityRow",
    "BackorderSummary",
    "ReservedRow",
    "availability",
    "backorders_by_sku",
    "build_snapshot",
    "incoming_by_date",
    "reservable_batches",
    "reserved_vs_on_hand",
    "snapshot_entry",
]

_ZERO: Final = Decimal(0)


@attrs.frozen(slots=True)
class AvailabilityRow:
    """One line of :func:`availability`. ``incoming`` includes stock in transit to it."""

    sku: str
    warehouse_id: str
    on_hand: Decimal
    reserved: Decimal
    safety_stock: Decimal
    available: Decimal
    incoming: Decimal
    low_stock: bool


@attrs.frozen(slots=True)
class ReservedRow:
    """One line of :func:`reserved_vs_on_hand`."""

    sku: str
    warehouse_id: str
    on_hand: Decimal
    reserved: Decimal
    unreserved: Decimal
    open_reservations: int


@attrs.frozen(slots=True)
class BackorderSummary:
    """Backordered quantity of one SKU over every recorded order (see :func:`backorders_by_sku`).

    ``earliest_expected`` is the earliest expected date among its backorders, if any has one.
    """

    sku: str
    quantity: Decimal
    order_ids: tuple[str, ...]
    earliest_expected: dt.date | None


def _fefo(batch: object) -> tuple[bool, dt.date, str]:
    expiry = batch.expiry  # type: ignore[attr-defined]
    return (expiry is None, expiry or dt.date.min, batch.batch_id)  # type: ignore[attr-defined]


def reservable_batches(
    item: StockItem, cap: Decimal, on: dt.date | None = None
) -> tuple[AvailableBatch, ...]:
    """Batches with something reservable, earliest expiry first (FEFO), each capped at ``cap``.

    With ``on``, batches that expired before that day are left out.
    """
    lots = []
    for batch in sorted(item.batches.values(), key=_fefo):
        if on is not None and batch.expiry is not None and batch.expiry < on:
            continue
        free = batch.on_hand - batch.reserved
        if free > cap:
            free = cap
        if free > 0:
            lots.append(AvailableBatch(batch.batch_id, free, batch.expiry))
    return tuple(lots)


def usable_available(item: StockItem, on: dt.date | None) -> Decimal:
    """What new orders may reserve of ``item`` on day ``on``: available less expired stock."""
    free = item.on_hand - item.reserved - item.safety_stock
    if on is not None and item.batches:
        for batch in item.batches.values():
            if batch.expiry is not None and batch.expiry < on:
                free -= batch.on_hand - batch.reserved
    return free if free > 0 else _ZERO


def snapshot_entry(
    item: StockItem, on: dt.date | None = None
) -> tuple[Decimal, tuple[AvailableBatch, ...]]:
    """What a snapshot for day ``on`` lists of ``item``: its available stock (zero: the item is
    not listed) and its reservable batches (see :func:`build_snapshot`)."""
    if not item.batches:
        free = item.on_hand - item.reserved - item.safety_stock
        return (free, ()) if free > 0 else (_ZERO, ())
    free = usable_available(item, on)
    if free > 0:
        return free, reservable_batches(item, free, on)
    return _ZERO, ()


def build_snapshot(
    warehouses: Mapping[str, Warehouse],
    items: Iterable[StockItem],
    incoming: Iterable[IncomingStock],
    skus: Iterable[str],
    on: dt.date | None = None,
) -> StockSnapshot:
    """The allocation input for ``skus`` on day ``on``: available stock, reservable batches (no
    expired ones) and expected receipts per SKU by ETA.

    ``items`` may hold other SKUs; only those of ``skus`` are used.
    """
    wanted = dict.fromkeys(skus)
    available: dict[ItemKey, Decimal] = {}
    batches: dict[ItemKey, tuple[AvailableBatch, ...]] = {}
    for item in items:
        if item.sku not in wanted:
            continue
        free, lots = snapshot_entry(item, on)
        if free > 0:
            key = (item.sku, item.warehouse_id)
            available[key] = free
            if lots:
                batches[key] = lots
    grouped: dict[str, list[IncomingStock]] = {}
    for shipment in incoming:
        if shipment.sku in wanted:
            grouped.setdefault(shipment.sku, []).append(shipment)
    expected = {
        sku: tuple(sorted(found, key=lambda i: (i.eta, i.id))) for sku, found in grouped.items()
    }
    return StockSnapshot(warehouses, available, batches, expected, on)


def availability(
    items: Iterable[StockItem], incoming: Iterable[IncomingStock]
) -> tuple[AvailabilityRow, ...]:
    """On hand, reserved, safety stock, available and incoming per SKU and warehouse."""
    arriving: dict[ItemKey, Decimal] = {}
    for shipment in incoming:
        key = (shipment.sku, shipment.warehouse_id)
        arriving[key] = arriving.get(key, _ZERO) + shipment.quantity
    rows = [
        AvailabilityRow(
            item.sku,
            item.warehouse_id,
            item.on_hand,
            item.reserved,
            item.safety_stock,
            item.available,
            arriving.pop(item.key, _ZERO),
            item.low_stock,
        )
        for item in items
    ]
    rows.extend(
        AvailabilityRow(sku, wh, _ZERO, _ZERO, _ZERO, _ZERO, quantity, False)
        for (sku, wh), quantity in arriving.items()
    )
    rows.sort(key=lambda row: (row.sku, row.warehouse_id))
    return tuple(rows)


def reserved_vs_on_hand(
    items: Iterable[StockItem], reservations: Iterable[Reservation]
) -> tuple[ReservedRow, ...]:
    """Reserved against on hand per SKU and warehouse, with the count of open reservations."""
    counts: dict[ItemKey, int] = {}
    for reservation in reservations:
        if reservation.open > 0:
            key = reservation.item_key
            counts[key] = counts.get(key, 0) + 1
    return tuple(
        ReservedRow(
            item.sku,
            item.warehouse_id,
            item.on_hand,
            item.reserved,
            item.on_hand - item.reserved,
            counts.get(item.key, 0),
        )
        for item in sorted(items, key=lambda i: i.key)
    )


def incoming_by_date(
    incoming: Iterable[IncomingStock],
) -> dict[dt.date, tuple[IncomingStock, ...]]:
    """Expected receipts grouped by ETA, dates ascending, each day by SKU, warehouse and id."""
    days: dict[dt.date, list[IncomingStock]] = {}
    for shipment in incoming:
        days.setdefault(shipment.eta, []).append(shipment)
    return {
        day: tuple(sorted(days[day], key=lambda i: (i.sku, i.warehouse_id, i.id)))
        for day in sorted(days)
    }


def backorders_by_sku(
    backorders: Mapping[str, Iterable[Backorder]],
) -> tuple[BackorderSummary, ...]:
    """Backordered quantity per SKU over ``{order_id: backorders}``, by SKU."""
    quantities: dict[str, Decimal] = {}
    orders: dict[str, list[str]] = {}
    earliest: dict[str, dt.date] = {}
    for order_id in sorted(backorders):
        for backorder in backorders[order_id]:
            sku = backorder.sku
            quantities[sku] = quantities.get(sku, _ZERO) + backorder.quantity
            listed = orders.setdefault(sku, [])
            if order_id not in listed:
                listed.append(order_id)
            day = backorder.expected_date
            if day is not None and (sku not in earliest or day < earliest[sku]):
                earliest[sku] = day
    return tuple(
        BackorderSummary(sku, quantities[sku], tuple(orders[sku]), earliest.get(sku))
        for sku in sorted(quantities)
    )
