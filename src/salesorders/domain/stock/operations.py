"""The stock verbs: pure functions from the rows a command locked to a :class:`StockChange`.

Each verb validates everything first, then works on the items it was given (fresh copies the store
loaded and locked for this command) and returns the change: the items' new state, reservations,
ledger entries (``sequence`` 0: the store numbers them) and low-stock alerts. A verb that raises
has changed nothing a store will see. The stores never re-implement a rule: reservation ids,
batch and expiry checks, shortages and low-stock alerts live here only.

``items`` maps ``(sku, warehouse_id)`` to the locked :class:`StockItem`; a key missing from it has
no stock row. ``places`` is the number of decimal places a quantity may have (0: whole units).
Verbs that may create an item or move stock into a warehouse take ``warehouses``, the ids of the
registered warehouses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Final

from salesorders.domain.checks import aware_time, check_name, check_text, require_id, require_text
from salesorders.domain.money import to_quantity
from salesorders.domain.snapshot import IncomingStock
from salesorders.domain.stock.model import (
    Batch,
    ItemKey,
    LedgerEntry,
    LowStock,
    Movement,
    StockChange,
    StockItem,
    StockLevels,
    new_entry,
    to_level,
)
from salesorders.errors import (
    InsufficientStockError,
    Shortage,
    UnknownStockItemError,
    UnknownWarehouseError,
    ValidationError,
)

__all__ = [
    "adjust",
    "expect",
    "receive",
    "receive_expected",
    "return_to_stock",
    "set_levels",
    "transfer",
    "watch",
    "write_off",
]

_ZERO: Final = Decimal(0)

Items = Mapping[ItemKey, StockItem]


# --------------------------------------------------------------------------- shared steps


def unit_of(places: int) -> Decimal:
    """The smallest quantity with ``places`` decimals (1, 0.1, 0.001 ...)."""
    return Decimal(1).scaleb(-places)


def watch(item: StockItem, at: dt.datetime, places: int) -> LowStock | None:
    """The :class:`LowStock` alert when available falls to or below the reorder point.

    Raised once per crossing: the item's ``low_stock`` flag remembers it, and is cleared when
    available rises above the point again.
    """
    point = item.reorder_point
    if point is None:
        return None
    free = item.on_hand - item.reserved - item.safety_stock
    if free <= point:
        if not item.low_stock:
            item.low_stock = True
            available = free if free > 0 else _ZERO
            suggested = item.reorder_quantity or point - available + unit_of(places)
            return LowStock(item.sku, item.warehouse_id, available, point, suggested, at)
    elif item.low_stock:
        item.low_stock = False
    return None


def alerts_of(items: Collection[StockItem], at: dt.datetime, places: int) -> tuple[LowStock, ...]:
    """Watch every item; the alerts raised, in the order of ``items``."""
    found = []
    for item in items:
        if item.reorder_point is not None:
            alert = watch(item, at, places)
            if alert is not None:
                found.append(alert)
    return tuple(found)


def check_entry_texts(actor: object, reason: object) -> None:
    """Who moved stock, and why: texts every store can hold (a name, a free text)."""
    check_name(actor, "actor")
    check_text(reason, "reason")


def check_warehouse(warehouses: Collection[str], warehouse_id: object) -> None:
    if warehouse_id not in warehouses:
        raise UnknownWarehouseError(str(warehouse_id))


def existing_item(
    items: Items, sku: str, warehouse_id: str, warehouses: Collection[str] | None = None
) -> StockItem:
    """The locked item, or UnknownStockItemError (UnknownWarehouseError for an unknown warehouse
    when ``warehouses`` is given)."""
    item = items.get((sku, warehouse_id))
    if item is None:
        if warehouses is not None:
            check_warehouse(warehouses, warehouse_id)
        raise UnknownStockItemError(sku, warehouse_id)
    return item


def item_or_new(items: Items, sku: str, warehouse_id: str) -> StockItem:
    """The locked item, or a new empty one (the change will create it)."""
    item = items.get((sku, warehouse_id))
    return StockItem(sku, warehouse_id) if item is None else item


def existing_batch(item: StockItem, batch_id: object, field: str = "batch_id") -> Batch:
    batch = item.batches.get(batch_id) if isinstance(batch_id, str) else None
    if batch is None:
        raise ValidationError(
            field,
            batch_id,
            f"is not a batch of {item.sku} in {item.warehouse_id}",
            "receive the batch first, or name one of "
            + (", ".join(sorted(item.batches)) or "no batches (omit batch_id)"),
        )
    return batch


def expiry_date(value: object, field: str = "expiry") -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValidationError(field, value, "must be a datetime.date or None")
    return value


def check_batch_expiry(
    item: StockItem | None, warehouse_id: str, batch_id: object, expiry: object
) -> dt.date | None:
    """``expiry`` needs a ``batch_id`` and must match the expiry of an existing batch."""
    when = expiry_date(expiry)
    if batch_id is None:
        if when is not None:
            raise ValidationError(
                "expiry", expiry, "needs a batch_id", "give the batch the expiry belongs to"
            )
        return None
    lot = require_id(batch_id, "batch_id")
    batch = None if item is None else item.batches.get(lot)
    if batch is not None and when is not None and batch.expiry not in (None, when):
        raise ValidationError(
            "expiry",
            expiry,
            f"differs from batch {batch_id}'s expiry {batch.expiry} in {warehouse_id}",
            "use a new batch id for stock with another expiry",
        )
    return when


def add_on_hand(
    item: StockItem, batch_id: str | None, expiry: dt.date | None, amount: Decimal
) -> Batch | None:
    """Add ``amount`` to the item (and its batch, created if new); the batch touched."""
    item.on_hand += amount
    if batch_id is None:
        return None
    batch = item.batches.get(batch_id)
    if batch is None:
        batch = item.batches[batch_id] = Batch(batch_id, expiry, amount)
    else:
        batch.on_hand += amount
        if batch.expiry is None:
            batch.expiry = expiry
    return batch


def change_on_hand(item: StockItem, batch_id: str | None, delta: Decimal) -> Batch | None:
    item.on_hand += delta
    if batch_id is None:
        return None
    batch = item.batches[batch_id]
    batch.on_hand += delta
    return batch


def check_removable(item: StockItem, batch_id: str | None, amount: Decimal) -> None:
    """Only unreserved stock (of the batch, or outside batches) can leave without an order."""
    if batch_id is not None:
        existing_batch(item, batch_id)
    unreserved = item.unreserved_in(batch_id)
    if amount > unreserved:
        raise InsufficientStockError([Shortage(item.sku, amount, unreserved)])


def _one(
    item: StockItem,
    batch: Batch | None,
    entries: tuple[LedgerEntry, ...],
    at: dt.datetime,
    places: int,
) -> StockChange:
    alert = watch(item, at, places)
    return StockChange(
        items=(item,),
        batches=() if batch is None else ((item.sku, item.warehouse_id, batch),),
        ledger=entries,
        alerts=() if alert is None else (alert,),
    )


# --------------------------------------------------------------------------- levels and receipts


def set_levels(
    items: Items,
    warehouses: Collection[str],
    sku: str,
    warehouse_id: str,
    *,
    places: int,
    safety_stock: Decimal | int | None = None,
    reorder_point: Decimal | int | None = None,
    reorder_quantity: Decimal | int | None = None,
    at: dt.datetime | None = None,
) -> StockChange:
    """Set safety stock, reorder point and reorder quantity (``None`` keeps a level).

    The item is created if new. Safety stock and reorder point may be zero; the reorder quantity
    must be positive. With ``at``, low stock is evaluated at once (a :class:`LowStock` may be
    raised); otherwise at the item's next movement.
    """
    check_warehouse(warehouses, warehouse_id)
    require_id(sku, "sku")
    levels = StockLevels.checked(places, safety_stock, reorder_point, reorder_quantity)
    moment = None if at is None else aware_time(at)
    item = item_or_new(items, sku, warehouse_id)
    levels.apply_to(item)
    alert = None if moment is None else watch(item, moment, places)
    return StockChange(items=(item,), alerts=() if alert is None else (alert,), levels=True)


def receive(
    items: Items,
    warehouses: Collection[str],
    sku: str,
    warehouse_id: str,
    quantity: Decimal | int,
    at: dt.datetime,
    *,
    places: int,
    batch_id: str | None = None,
    expiry: dt.date | None = None,
    actor: str = "",
    reason: str = "",
) -> StockChange:
    """Add received stock (to a batch when ``batch_id`` is given, created if new): a RECEIPT.

    ``expiry`` needs a ``batch_id`` and must match the batch's expiry if the batch exists.
    """
    check_warehouse(warehouses, warehouse_id)
    require_id(sku, "sku")
    amount = to_quantity(quantity, "quantity", places)
    aware_time(at)
    check_entry_texts(actor, reason)
    when = check_batch_expiry(items.get((sku, warehouse_id)), warehouse_id, batch_id, expiry)
    item = item_or_new(items, sku, warehouse_id)
    batch = add_on_hand(item, batch_id, when, amount)
    entry = new_entry(Movement.RECEIPT, item, amount, _ZERO, at, batch_id, actor, reason)
    return _one(item, batch, (entry,), at, places)


def expect(
    warehouses: Collection[str],
    expected: Collection[str],
    incoming: IncomingStock,
    *,
    places: int,
) -> StockChange:
    """Record stock expected to arrive; ``expected`` holds the ids already expected."""
    if not isinstance(incoming, IncomingStock):
        raise ValidationError("incoming", incoming, "must be an IncomingStock")
    require_id(incoming.id, "incoming.id")
    require_id(incoming.sku, "incoming.sku")
    check_warehouse(warehouses, incoming.warehouse_id)
    quantity = to_quantity(incoming.quantity, "incoming.quantity", places)
    if isinstance(incoming.eta, dt.datetime) or not isinstance(incoming.eta, dt.date):
        raise ValidationError("incoming.eta", incoming.eta, "must be a datetime.date")
    if incoming.transfer_from is not None:
        raise ValidationError(
            "incoming.transfer_from",
            incoming.transfer_from,
            "is set only by a transfer",
            "transfer the stock instead (TransferStock)",
        )
    if incoming.batch_id is not None:
        require_id(incoming.batch_id, "incoming.batch_id")
    expiry_date(incoming.expiry, "incoming.expiry")
    if incoming.expiry is not None and incoming.batch_id is None:
        raise ValidationError(
            "incoming.expiry", incoming.expiry, "needs a batch_id", "give the batch as well"
        )
    if incoming.id in expected:
        raise ValidationError(
            "incoming.id", incoming.id, "is already expected", "use a new id per shipment"
        )
    if quantity.__class__ is not incoming.quantity.__class__:
        incoming = _with_quantity(incoming, quantity)
    return StockChange(expected=(incoming,))


def receive_expected(
    items: Items,
    warehouses: Collection[str],
    incoming: IncomingStock,
    at: dt.datetime,
    *,
    places: int,
    quantity: Decimal | int | None = None,
    batch_id: str | None = None,
    expiry: dt.date | None = None,
    actor: str = "",
    reason: str = "",
) -> StockChange:
    """Receive an expected shipment or an in-transit transfer, all of it unless ``quantity``.

    A partial receipt leaves the remainder expected; a full one (or more than expected, when
    the supplier over-delivers) takes it off the list. A
    transfer arrives as TRANSFER_IN (with its batch and expiry), anything else as a RECEIPT into
    ``batch_id`` (default: the batch the receipt was expected with). The reason defaults to
    ``"incoming <id>"``.
    """
    amount = incoming.quantity if quantity is None else to_quantity(quantity, "quantity", places)
    if incoming.transfer_from is not None and (batch_id is not None or expiry is not None):
        raise ValidationError(
            "batch_id", batch_id, "is set by the transfer", "omit batch_id and expiry"
        )
    lot = incoming.batch_id if batch_id is None else batch_id
    when = incoming.expiry if expiry is None and batch_id is None else expiry
    note = reason or f"incoming {incoming.id}"
    if incoming.transfer_from is None:
        change = receive(
            items,
            warehouses,
            incoming.sku,
            incoming.warehouse_id,
            amount,
            at,
            places=places,
            batch_id=lot,
            expiry=when,
            actor=actor,
            reason=note,
        )
    else:
        change = _transfer_in(items, warehouses, incoming, amount, at, places, actor, note)
    left = incoming.quantity - amount
    if left > 0:
        return change.followed_by(StockChange(expected=(_with_quantity(incoming, left),)))
    return change.followed_by(StockChange(arrived=(incoming.id,)))


def _transfer_in(
    items: Items,
    warehouses: Collection[str],
    incoming: IncomingStock,
    amount: Decimal,
    at: dt.datetime,
    places: int,
    actor: str,
    reason: str,
) -> StockChange:
    check_warehouse(warehouses, incoming.warehouse_id)
    aware_time(at)
    target = item_or_new(items, incoming.sku, incoming.warehouse_id)
    batch = add_on_hand(target, incoming.batch_id, incoming.expiry, amount)
    entry = new_entry(
        Movement.TRANSFER_IN,
        target,
        amount,
        _ZERO,
        at,
        incoming.batch_id,
        actor,
        reason,
        transfer_id=incoming.id,
    )
    return _one(target, batch, (entry,), at, places)


def _with_quantity(incoming: IncomingStock, quantity: Decimal) -> IncomingStock:
    return IncomingStock(
        incoming.id,
        incoming.sku,
        incoming.warehouse_id,
        quantity,
        incoming.eta,
        incoming.batch_id,
        incoming.expiry,
        incoming.transfer_from,
    )


# --------------------------------------------------------------------------- other movements


def return_to_stock(
    items: Items,
    warehouses: Collection[str],
    sku: str,
    warehouse_id: str,
    quantity: Decimal | int,
    at: dt.datetime,
    *,
    places: int,
    return_id: str,
    batch_id: str | None = None,
    expiry: dt.date | None = None,
    order_id: str | None = None,
    line_id: str | None = None,
    actor: str = "",
    reason: str = "",
) -> StockChange:
    """Put returned goods back on hand (into a batch when ``batch_id`` is given): a RETURN."""
    check_warehouse(warehouses, warehouse_id)
    require_id(sku, "sku")
    amount = to_quantity(quantity, "quantity", places)
    aware_time(at)
    check_entry_texts(actor, reason)
    require_id(return_id, "return_id")
    if order_id is not None:
        require_id(order_id, "order_id")
    if line_id is not None:
        require_id(line_id, "line_id")
    when = check_batch_expiry(items.get((sku, warehouse_id)), warehouse_id, batch_id, expiry)
    item = item_or_new(items, sku, warehouse_id)
    batch = add_on_hand(item, batch_id, when, amount)
    entry = new_entry(
        Movement.RETURN,
        item,
        amount,
        _ZERO,
        at,
        batch_id,
        actor,
        reason,
        order_id=order_id,
        line_id=line_id,
        return_id=return_id,
    )
    return _one(item, batch, (entry,), at, places)


def adjust(
    items: Items,
    sku: str,
    warehouse_id: str,
    counted: Decimal | int,
    at: dt.datetime,
    reason: str,
    *,
    places: int,
    batch_id: str | None = None,
    actor: str = "",
    warehouses: Collection[str] | None = None,
) -> StockChange:
    """Record a stock count: an ADJUSTMENT of ``counted - on_hand`` (even when zero).

    Without ``batch_id``, ``counted`` is the item's total and the difference falls on the
    unbatched stock; with it, ``counted`` is the batch's. A count below what is reserved there is
    refused (see :func:`~salesorders.domain.stock.reservations.release_excess` to release the
    excess first).
    """
    item = existing_item(items, sku, warehouse_id, warehouses)
    amount = to_level(counted, "counted", places)
    aware_time(at)
    check_entry_texts(actor, reason)
    require_text(reason, "reason")
    current, floor = count_floor(item, batch_id)
    if amount < floor:
        raise ValidationError(
            "counted",
            counted,
            f"is below the {floor} of {sku} in {warehouse_id} that is reserved or held in batches",
            "release the excess reservations (release_excess=True), or count each batch "
            "with batch_id",
        )
    delta = amount - current
    batch = change_on_hand(item, batch_id, delta)
    entry = new_entry(Movement.ADJUSTMENT, item, delta, _ZERO, at, batch_id, actor, reason)
    return _one(item, batch, (entry,), at, places)


def count_floor(item: StockItem, batch_id: str | None) -> tuple[Decimal, Decimal]:
    """``(on hand, lowest count allowed)`` of the item's unbatched total, or of a batch."""
    if batch_id is None:
        return item.on_hand, item.on_hand - item.unreserved_in(None)
    batch = existing_batch(item, batch_id)
    return batch.on_hand, batch.reserved


def write_off(
    items: Items,
    sku: str,
    warehouse_id: str,
    quantity: Decimal | int,
    at: dt.datetime,
    reason: str,
    *,
    places: int,
    batch_id: str | None = None,
    actor: str = "",
    warehouses: Collection[str] | None = None,
) -> StockChange:
    """Remove damaged, lost or expired stock: a WRITE_OFF of unreserved stock only."""
    item = existing_item(items, sku, warehouse_id, warehouses)
    amount = to_quantity(quantity, "quantity", places)
    aware_time(at)
    check_entry_texts(actor, reason)
    require_text(reason, "reason")
    check_removable(item, batch_id, amount)
    batch = change_on_hand(item, batch_id, -amount)
    entry = new_entry(Movement.WRITE_OFF, item, -amount, _ZERO, at, batch_id, actor, reason)
    return _one(item, batch, (entry,), at, places)


def transfer(
    items: Items,
    warehouses: Collection[str],
    sku: str,
    from_warehouse: str,
    to_warehouse: str,
    quantity: Decimal | int,
    at: dt.datetime,
    *,
    places: int,
    transfer_id: str,
    batch_id: str | None = None,
    eta: dt.date | None = None,
    in_transit: bool = True,
    actor: str = "",
    reason: str = "",
) -> StockChange:
    """Move unreserved stock between warehouses; a batch keeps its id and expiry.

    The source gets a TRANSFER_OUT at once. With ``in_transit`` (the default) the quantity is
    then in transit: an expected receipt at the destination with id ``transfer_id`` (due on
    ``eta``, default the day of ``at``) until :func:`receive_expected` takes it in as a
    TRANSFER_IN. Without it, the TRANSFER_IN is written at once too.
    """
    source = existing_item(items, sku, from_warehouse, warehouses)
    check_warehouse(warehouses, to_warehouse)
    if to_warehouse == from_warehouse:
        raise ValidationError(
            "to_warehouse", to_warehouse, "is the source warehouse", "pick another warehouse"
        )
    amount = to_quantity(quantity, "quantity", places)
    aware_time(at)
    check_entry_texts(actor, reason)
    require_id(transfer_id, "transfer_id")
    if eta is not None and (isinstance(eta, dt.datetime) or not isinstance(eta, dt.date)):
        raise ValidationError("eta", eta, "must be a datetime.date")
    check_removable(source, batch_id, amount)
    expiry = None if batch_id is None else source.batches[batch_id].expiry
    check_batch_expiry(items.get((sku, to_warehouse)), to_warehouse, batch_id, expiry)
    batch = change_on_hand(source, batch_id, -amount)
    out_entry = new_entry(
        Movement.TRANSFER_OUT,
        source,
        -amount,
        _ZERO,
        at,
        batch_id,
        actor,
        reason,
        transfer_id=transfer_id,
    )
    moving = IncomingStock(
        transfer_id,
        sku,
        to_warehouse,
        amount,
        eta or at.date(),
        batch_id,
        expiry,
        from_warehouse,
    )
    out = _one(source, batch, (out_entry,), at, places)
    if in_transit:
        return out.followed_by(StockChange(expected=(moving,)))
    return out.followed_by(
        _transfer_in(items, warehouses, moving, amount, at, places, actor, reason)
    )
