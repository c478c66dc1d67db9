"""Reserving, releasing and consuming stock: pure verbs from locked rows to a StockChange.

A plan is reserved whole or not at all: demand is summed per (SKU, warehouse, batch) and per (SKU,
warehouse) and checked before anything changes; if any is short,
:class:`~salesorders.errors.InsufficientStockError` names every SKU short and by how much. Every
reservation must also fit the item's :attr:`~salesorders.domain.stock.model.StockItem.available`,
which keeps the safety stock free, and may not draw on a batch that has expired on the day of
the reservation.

Reservation ids are ``"<order>/<line>/<warehouse>[/<batch>]"``; the same line reserved again in
the same place (after a change) is numbered ``#2``, ``#3`` ...
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Container, Mapping, Sequence
from decimal import Decimal
from typing import Final

import attrs

from salesorders.domain.checks import aware_time, check_name, require_id
from salesorders.domain.money import to_quantity
from salesorders.domain.plan import Allocation, AllocationPlan
from salesorders.domain.stock.model import (
    BucketKey,
    ItemKey,
    LedgerEntry,
    Movement,
    Reservation,
    StockChange,
    StockItem,
    new_entry,
    new_reservation,
    reservation_entry,
)
from salesorders.domain.stock.operations import (
    alerts_of,
    check_entry_texts,
    count_floor,
    existing_item,
)
from salesorders.errors import (
    InsufficientStockError,
    ReservationError,
    Shortage,
    ValidationError,
)

__all__ = [
    "consume",
    "find_shortages",
    "release",
    "release_excess",
    "release_order",
    "reserve",
]

_ZERO: Final = Decimal(0)

#: A reservation and how much of it to settle (``None``: all still open).
Settlement = tuple[Reservation, Decimal | int | None]


def reserve(
    items: Mapping[ItemKey, StockItem],
    plan: AllocationPlan,
    at: dt.datetime,
    *,
    places: int,
    held: Collection[str] = (),
    actor: str = "",
    warehouses: Collection[str] | None = None,
) -> StockChange:
    """Reserve every allocation of ``plan``, or none; one reservation per allocation, in order.

    ``held`` is the ids of the reservations the order already has (so a repeated line gets a
    numbered id). A plan that carries ``shortages`` (an all-or-nothing plan that could not be met)
    is refused like a shortage. A (SKU, warehouse) that never held stock raises
    :class:`~salesorders.errors.UnknownStockItemError` (or UnknownWarehouseError when
    ``warehouses`` is given and lacks it).
    """
    if not isinstance(plan, AllocationPlan):
        raise ValidationError("plan", plan, "must be an AllocationPlan")
    if plan.shortages:
        raise InsufficientStockError(plan.shortages, plan.order_id)
    if at.__class__ is not dt.datetime or at.tzinfo is not dt.UTC:
        aware_time(at)
    order_id = plan.order_id
    require_id(order_id, "plan.order_id")
    check_name(actor, "actor")
    allocations = plan.allocations
    targets: list[StockItem] = []
    amounts: list[Decimal] = []
    totals: dict[ItemKey, Decimal] = {}
    batched = short = False
    for index, allocation in enumerate(allocations):
        amount = allocation.quantity
        if not _plain_quantity(amount, places):
            amount = to_quantity(amount, f"allocations[{index}].quantity", places)
        line_id = allocation.line_id
        if line_id.__class__ is not str or not line_id:
            require_id(line_id, f"allocations[{index}].line_id")
        key = (allocation.sku, allocation.warehouse_id)
        item = items.get(key)
        if item is None:
            item = existing_item(items, key[0], key[1], warehouses)
        if allocation.batch_id is not None or item.batches:
            batched = True
        earlier = totals.get(key)
        total = amount if earlier is None else earlier + amount
        totals[key] = total
        # Checking the running total checks each item's final total at its last allocation.
        if total > item.on_hand - item.reserved - item.safety_stock:
            short = True
        targets.append(item)
        amounts.append(amount)
    if batched:
        _check_batched(items, plan, amounts, totals, at.date())
    elif short:
        raise InsufficientStockError(find_shortages(items, totals, {}), order_id)
    return _hold(order_id, allocations, targets, amounts, held, at, actor, places)


def _plain_quantity(amount: object, places: int) -> bool:
    """The fast check of an allocated quantity: a positive finite Decimal within ``places``."""
    if amount.__class__ is not Decimal:
        return False
    assert isinstance(amount, Decimal)
    if not amount.is_finite() or amount <= 0:
        return False
    if amount == amount.to_integral_value():
        return True  # whole units: the usual case, and within any number of places
    exponent = amount.as_tuple().exponent
    return isinstance(exponent, int) and -exponent <= places


def _check_batched(
    items: Mapping[ItemKey, StockItem],
    plan: AllocationPlan,
    amounts: list[Decimal],
    totals: Mapping[ItemKey, Decimal],
    day: dt.date,
) -> None:
    """The checks of a plan touching batched stock: batch ids and expiry, then every bucket."""
    buckets: dict[BucketKey, Decimal] = {}
    for index, (allocation, amount) in enumerate(zip(plan.allocations, amounts, strict=True)):
        item = items[(allocation.sku, allocation.warehouse_id)]
        batch_id = allocation.batch_id
        if batch_id is not None:
            batch = item.batches.get(batch_id)
            if batch is None:
                raise ValidationError(
                    f"allocations[{index}].batch_id",
                    batch_id,
                    f"is not a batch of {item.sku} in {item.warehouse_id}",
                    "allocate from a batch the snapshot listed",
                )
            if batch.expiry is not None and batch.expiry < day:
                raise ValidationError(
                    f"allocations[{index}].batch_id",
                    batch_id,
                    f"expired on {batch.expiry.isoformat()} (before {day.isoformat()})",
                    "allocate from a batch that has not expired (write the expired one off)",
                )
        bucket = (allocation.sku, allocation.warehouse_id, batch_id)
        buckets[bucket] = buckets.get(bucket, _ZERO) + amount
    short = find_shortages(items, totals, buckets)
    if short:
        raise InsufficientStockError(short, plan.order_id)


def _hold(
    order_id: str,
    allocations: tuple[Allocation, ...],
    targets: list[StockItem],
    amounts: list[Decimal],
    held: Collection[str],
    at: dt.datetime,
    actor: str,
    places: int,
) -> StockChange:
    """Apply checked allocations to the items: reservations, ledger rows, alerts."""
    taken: set[str] | None = None
    made: list[Reservation] = []
    entries: list[LedgerEntry] = []
    touched: dict[ItemKey, StockItem] = {}
    batches: dict[BucketKey, tuple[str, str, object]] = {}
    for allocation, item, amount in zip(allocations, targets, amounts, strict=True):
        line_id = allocation.line_id
        batch_id = allocation.batch_id
        wh = item.warehouse_id
        if batch_id is None:
            rid = f"{order_id}/{line_id}/{wh}"
        else:
            rid = f"{order_id}/{line_id}/{wh}/{batch_id}"
            batch = item.batches[batch_id]
            batch.reserved += amount
            batches[(item.sku, wh, batch_id)] = (item.sku, wh, batch)
        if held or made:
            if taken is None:
                taken = {*held, *(r.id for r in made)}
            if rid in taken:
                rid = _numbered_id(rid, taken)
            taken.add(rid)
        reservation = new_reservation(rid, order_id, line_id, item.sku, wh, amount, batch_id)
        made.append(reservation)
        item.reserved += amount
        touched[(item.sku, wh)] = item
        entries.append(reservation_entry(reservation, at, actor))
    changed = tuple(touched.values())
    return StockChange.of_reservations(
        changed,
        tuple(batches.values()),  # type: ignore[arg-type]
        tuple(made),
        tuple(entries),
        alerts_of(changed, at, places),
    )


def _numbered_id(base: str, taken: Container[str]) -> str:
    counter = 2
    rid = f"{base}#{counter}"
    while rid in taken:
        counter += 1
        rid = f"{base}#{counter}"
    return rid


# --------------------------------------------------------------------------- settling


def release(
    items: Mapping[ItemKey, StockItem],
    parts: Sequence[Settlement],
    at: dt.datetime,
    *,
    places: int,
    reason: str = "",
    actor: str = "",
) -> StockChange:
    """Give back part of reservations (``None``: all still open): one RELEASE entry each."""
    return _settle(items, parts, at, Movement.RELEASE, places, reason, actor)


def consume(
    items: Mapping[ItemKey, StockItem],
    parts: Sequence[Settlement],
    at: dt.datetime,
    *,
    places: int,
    reason: str = "",
    actor: str = "",
) -> StockChange:
    """Ship part of reservations (``None``: all still open): on hand and reserved drop; one
    SHIPMENT entry each."""
    return _settle(items, parts, at, Movement.SHIPMENT, places, reason, actor)


def release_order(
    items: Mapping[ItemKey, StockItem],
    reservations: Sequence[Reservation],
    at: dt.datetime,
    *,
    places: int,
    reason: str = "",
    actor: str = "",
) -> StockChange:
    """Release everything still open of ``reservations`` (an order's, e.g. on cancellation).

    Nothing open is fine: the change is empty.
    """
    aware_time(at)
    parts = [(r, None) for r in reservations if r.open > 0]
    return release(items, parts, at, places=places, reason=reason, actor=actor)


def release_excess(
    items: Mapping[ItemKey, StockItem],
    reservations: Sequence[Reservation],
    sku: str,
    warehouse_id: str,
    counted: Decimal,
    at: dt.datetime,
    *,
    places: int,
    batch_id: str | None = None,
    reason: str = "",
    actor: str = "",
) -> StockChange:
    """Release the newest open reservations of the item (or batch) until ``counted`` is allowed.

    For a stock count that found less than is reserved: what no longer exists cannot be held.
    Releases as little as needed, newest reservation first; an empty change if none is needed.
    """
    item = existing_item(items, sku, warehouse_id)
    _, floor = count_floor(item, batch_id)
    excess = floor - counted
    parts: list[Settlement] = []
    for reservation in reversed(reservations):
        if excess <= 0:
            break
        if (
            reservation.item_key != item.key
            or reservation.batch_id != batch_id
            or reservation.open <= 0
        ):
            continue
        take = min(reservation.open, excess)
        parts.append((reservation, take))
        excess -= take
    return release(items, parts, at, places=places, reason=reason, actor=actor)


def _settle(
    items: Mapping[ItemKey, StockItem],
    parts: Sequence[Settlement],
    at: dt.datetime,
    movement: Movement,
    places: int,
    reason: str,
    actor: str,
) -> StockChange:
    shipped = movement is Movement.SHIPMENT
    verb = "consume" if shipped else "release"
    aware_time(at)
    check_entry_texts(actor, reason)
    checked = [_open_part(r, quantity, verb, places) for r, quantity in parts]
    for index, (reservation, _) in enumerate(checked):
        if any(r.id == reservation.id for r, _ in checked[:index]):
            raise ValidationError(
                "reservations", reservation.id, "is named twice", "settle each reservation once"
            )
    touched: dict[ItemKey, StockItem] = {}
    batches: dict[BucketKey, tuple[str, str, object]] = {}
    settled: list[Reservation] = []
    entries: list[LedgerEntry] = []
    for reservation, amount in checked:
        item = existing_item(items, reservation.sku, reservation.warehouse_id)
        batch_id = reservation.batch_id
        item.reserved -= amount
        if shipped:
            item.on_hand -= amount
        if batch_id is not None and batch_id in item.batches:
            batch = item.batches[batch_id]
            batch.reserved -= amount
            if shipped:
                batch.on_hand -= amount
            batches[(item.sku, item.warehouse_id, batch_id)] = (item.sku, item.warehouse_id, batch)
        if shipped:
            settled.append(attrs.evolve(reservation, consumed=reservation.consumed + amount))
        else:
            settled.append(attrs.evolve(reservation, released=reservation.released + amount))
        touched[(item.sku, item.warehouse_id)] = item
        entries.append(
            new_entry(
                movement,
                item,
                -amount if shipped else _ZERO,
                -amount,
                at,
                batch_id,
                actor,
                reason,
                order_id=reservation.order_id,
                line_id=reservation.line_id,
                reservation_id=reservation.id,
            )
        )
    changed = tuple(touched.values())
    return StockChange(
        items=changed,
        batches=tuple(batches.values()),  # type: ignore[arg-type]
        settled=tuple(settled),
        ledger=tuple(entries),
        alerts=alerts_of(changed, at, places),
    )


def _open_part(
    reservation: Reservation, quantity: object, verb: str, places: int
) -> tuple[Reservation, Decimal]:
    if not isinstance(reservation, Reservation):
        raise ValidationError("reservation", reservation, "must be a Reservation")
    still_open = reservation.open
    if quantity is None:
        if still_open <= 0:
            raise ReservationError(
                reservation.id,
                f"reservation {reservation.id} has nothing open to {verb} (released "
                f"{reservation.released}, consumed {reservation.consumed})",
            )
        return reservation, still_open
    amount = to_quantity(quantity, "quantity", places)
    if amount > still_open:
        raise ReservationError(
            reservation.id,
            f"cannot {verb} {amount} of reservation {reservation.id}: only {still_open} is "
            f"open; {verb} at most {still_open}",
        )
    return reservation, amount


# --------------------------------------------------------------------------- shortages


def find_shortages(
    items: Mapping[ItemKey, StockItem],
    totals: Mapping[ItemKey, Decimal],
    buckets: Mapping[BucketKey, Decimal],
) -> list[Shortage]:
    """One Shortage per SKU: demand and what was reservable over the warehouses that fall short.

    Per (SKU, warehouse) the shortfall is the larger of the item-level one (demand over
    ``available``) and the sum of the per-batch ones (demand over each batch's unreserved stock).
    """
    bucket_short: dict[ItemKey, Decimal] = {}
    for (sku, wh, batch_id), wanted in buckets.items():
        unreserved = items[(sku, wh)].unreserved_in(batch_id)
        if wanted > unreserved:
            key = (sku, wh)
            bucket_short[key] = bucket_short.get(key, _ZERO) + wanted - unreserved
    requested: dict[str, Decimal] = {}
    reservable: dict[str, Decimal] = {}
    for key, wanted in totals.items():
        short = max(wanted - items[key].available, bucket_short.get(key, _ZERO), _ZERO)
        if short > 0:
            sku = key[0]
            requested[sku] = requested.get(sku, _ZERO) + wanted
            reservable[sku] = reservable.get(sku, _ZERO) + wanted - short
    return [Shortage(sku, requested[sku], reservable[sku]) for sku in sorted(requested)]
