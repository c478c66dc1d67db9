"""The ledger's arithmetic: folds, and the drift detector that checks figures against the ledger.

Pure functions over items, reservations and ledger entries, so any store can load its rows and run
the same checks: :func:`reconcile` lists every figure that disagrees with what the ledger and the
open reservations say it must be.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Final

import attrs

from salesorders.domain.plan import AllocationPlan
from salesorders.domain.stock.model import (
    BucketKey,
    ItemKey,
    LedgerEntry,
    Reservation,
    StockItem,
)

__all__ = [
    "Discrepancy",
    "fold_batches",
    "fold_ledger",
    "fold_reservations",
    "plan_demand",
    "reconcile",
]

_ZERO: Final = Decimal(0)


@attrs.frozen(slots=True)
class Discrepancy:
    """A figure that disagrees with what the ledger or the reservations say it must be.

    ``field`` names it (``"reserved"``, ``"batches[B7].on_hand"``,
    ``"reservations[o1/l1/W1].open"``); ``explanation`` says what differs and what to do.
    """

    sku: str
    warehouse_id: str
    field: str
    recorded: Decimal
    expected: Decimal
    explanation: str


def fold_ledger(entries: Iterable[LedgerEntry]) -> dict[ItemKey, tuple[Decimal, Decimal]]:
    """Sum the ledger into ``{(sku, warehouse_id): (on_hand, reserved)}``.

    Pure: the figures every item must show if nothing was changed outside the ledger.
    """
    totals: dict[ItemKey, tuple[Decimal, Decimal]] = {}
    for entry in entries:
        key = (entry.sku, entry.warehouse_id)
        on_hand, reserved = totals.get(key, (_ZERO, _ZERO))
        totals[key] = (on_hand + entry.on_hand_delta, reserved + entry.reserved_delta)
    return totals


def fold_batches(entries: Iterable[LedgerEntry]) -> dict[BucketKey, tuple[Decimal, Decimal]]:
    """Sum the entries that name a batch into ``{(sku, wh, batch_id): (on_hand, reserved)}``."""
    totals: dict[BucketKey, tuple[Decimal, Decimal]] = {}
    for entry in entries:
        if entry.batch_id is None:
            continue
        key = (entry.sku, entry.warehouse_id, entry.batch_id)
        on_hand, reserved = totals.get(key, (_ZERO, _ZERO))
        totals[key] = (on_hand + entry.on_hand_delta, reserved + entry.reserved_delta)
    return totals


def fold_reservations(entries: Iterable[LedgerEntry]) -> dict[str, Decimal]:
    """Sum ``reserved_delta`` per reservation id: the open quantity the ledger says each holds."""
    totals: dict[str, Decimal] = {}
    for entry in entries:
        if entry.reservation_id is not None:
            rid = entry.reservation_id
            totals[rid] = totals.get(rid, _ZERO) + entry.reserved_delta
    return totals


def plan_demand(plan: AllocationPlan) -> dict[BucketKey, Decimal]:
    """Total allocated quantity per (sku, warehouse, batch): several lines of one SKU summed."""
    demand: dict[BucketKey, Decimal] = {}
    for allocation in plan.allocations:
        key = (allocation.sku, allocation.warehouse_id, allocation.batch_id)
        demand[key] = demand.get(key, _ZERO) + allocation.quantity
    return demand


def reconcile(
    items: Iterable[StockItem],
    reservations: Iterable[Reservation],
    ledger: Iterable[LedgerEntry],
) -> tuple[Discrepancy, ...]:
    """Every disagreement between item figures, open reservations and the ledger. Pure.

    Checks, per item and per batch: on hand and reserved equal the ledger fold; reserved equals the
    open quantity of its reservations; ``0 <= reserved <= on_hand``; batches hold no more than the
    item. Per reservation: its open quantity equals the ledger's. Items or batches the ledger or
    the reservations know of but that are missing are reported too. An empty tuple: consistent.
    """
    entries = tuple(ledger)
    found: list[Discrepancy] = []
    held_items: dict[ItemKey, Decimal] = {}
    held_batches: dict[BucketKey, Decimal] = {}
    ledger_open = fold_reservations(entries)
    for r in sorted(reservations, key=lambda r: r.id):
        _check_reservation(r, ledger_open.get(r.id, _ZERO), found)
        held_items[r.item_key] = held_items.get(r.item_key, _ZERO) + r.open
        if r.batch_id is not None:
            held_key = (r.sku, r.warehouse_id, r.batch_id)
            held_batches[held_key] = held_batches.get(held_key, _ZERO) + r.open
    folded = fold_ledger(entries)
    folded_batches = fold_batches(entries)
    for item in sorted(items, key=lambda i: i.key):
        sku, wh = item.key
        figures = folded.pop(item.key, (_ZERO, _ZERO))
        held = held_items.pop(item.key, _ZERO)
        _check_figures(sku, wh, "", item.on_hand, item.reserved, figures, held, found)
        in_batches = sum((b.on_hand for b in item.batches.values()), _ZERO)
        if in_batches > item.on_hand:
            text = (
                f"{sku} in {wh}: batches hold {in_batches}, more than the {item.on_hand} on "
                "hand; recount the batches"
            )
            found.append(Discrepancy(sku, wh, "batches.on_hand", in_batches, item.on_hand, text))
        for batch_id in sorted(item.batches):
            batch = item.batches[batch_id]
            bucket = (sku, wh, batch_id)
            figures = folded_batches.pop(bucket, (_ZERO, _ZERO))
            held = held_batches.pop(bucket, _ZERO)
            prefix = f"batches[{batch_id}]."
            _check_figures(sku, wh, prefix, batch.on_hand, batch.reserved, figures, held, found)
    for (sku, wh), figures in sorted(folded.items()):
        _check_figures(sku, wh, "", _ZERO, _ZERO, figures, held_items.pop((sku, wh), _ZERO), found)
    for (sku, wh), held in sorted(held_items.items()):
        _check_figures(sku, wh, "", _ZERO, _ZERO, (_ZERO, _ZERO), held, found)
    for lost, figures in sorted(folded_batches.items(), key=_bucket_order):
        sku, wh, lost_batch = lost
        held = held_batches.pop(lost, _ZERO)
        prefix = f"batches[{lost_batch}]."
        _check_figures(sku, wh, prefix, _ZERO, _ZERO, figures, held, found)
    for (sku, wh, lost_batch), held in sorted(held_batches.items(), key=_bucket_order):
        prefix = f"batches[{lost_batch}]."
        _check_figures(sku, wh, prefix, _ZERO, _ZERO, (_ZERO, _ZERO), held, found)
    return tuple(found)


def _check_reservation(r: Reservation, expected: Decimal, found: list[Discrepancy]) -> None:
    field = f"reservations[{r.id}].open"
    held = r.open
    if held < 0 or r.released < 0 or r.consumed < 0:
        text = (
            f"reservation {r.id} of {r.quantity} released {r.released} and consumed "
            f"{r.consumed}: it cannot give back more than it held; restore it from the ledger"
        )
        found.append(Discrepancy(r.sku, r.warehouse_id, field, held, _ZERO, text))
    if held != expected:
        text = (
            f"reservation {r.id} holds {held} open but its ledger entries sum to {expected}; "
            "restore it from the ledger"
        )
        found.append(Discrepancy(r.sku, r.warehouse_id, field, held, expected, text))


def _check_figures(
    sku: str,
    wh: str,
    prefix: str,
    on_hand: Decimal,
    reserved: Decimal,
    folded: tuple[Decimal, Decimal],
    held: Decimal,
    found: list[Discrepancy],
) -> None:
    """Compare one item's (or batch's, with ``prefix``) figures with the ledger and reservations."""
    where = f"{sku} in {wh}" + (f", {prefix[:-1]}" if prefix else "")
    ledger_on_hand, ledger_reserved = folded

    def differ(field: str, recorded: Decimal, expected: Decimal, text: str) -> None:
        found.append(Discrepancy(sku, wh, prefix + field, recorded, expected, f"{where}: {text}"))

    if on_hand != ledger_on_hand:
        differ(
            "on_hand",
            on_hand,
            ledger_on_hand,
            f"on hand {on_hand} but the ledger sums to {ledger_on_hand} (difference "
            f"{on_hand - ledger_on_hand}); correct the figure or record the missing movement",
        )
    if reserved != ledger_reserved:
        differ(
            "reserved",
            reserved,
            ledger_reserved,
            f"reserved {reserved} but the ledger sums to {ledger_reserved} (difference "
            f"{reserved - ledger_reserved}); correct the figure from the ledger",
        )
    if reserved != held:
        differ(
            "reserved",
            reserved,
            held,
            f"reserved {reserved} but open reservations hold {held} (difference "
            f"{reserved - held}); release orphaned stock or restore the missing reservations",
        )
    if on_hand < 0:
        differ("on_hand", on_hand, _ZERO, f"on hand is negative ({on_hand}); count and adjust")
    if reserved < 0:
        differ("reserved", reserved, _ZERO, f"reserved is negative ({reserved})")
    elif reserved > on_hand:
        differ(
            "reserved",
            reserved,
            on_hand,
            f"reserved {reserved} exceeds on hand {on_hand} (oversold by {reserved - on_hand}); "
            "release reservations or receive stock",
        )


def _bucket_order(pair: tuple[BucketKey, Any]) -> tuple[str, str, str]:
    sku, wh, batch_id = pair[0]
    return (sku, wh, batch_id or "")
