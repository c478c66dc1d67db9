"""The stock model: items, batches, reservations, ledger entries, alerts, and the change value.

A :class:`StockItem` holds the stock of one (SKU, warehouse); stock received with a ``batch_id``
is held in a :class:`Batch`, the rest is *unbatched*. The item's ``on_hand`` and ``reserved`` are
totals over both. A :class:`Reservation` holds stock for one order line; a :class:`LedgerEntry`
records one movement, and the ledger is append-only.

Every operation of :mod:`salesorders.domain.stock.operations` reads the rows a command locked and
returns a :class:`StockChange`: the new state of every item it touched, the reservations it made or
settled, the ledger entries it wrote and the low-stock alerts it raised. A store applies the change
as a whole; nothing else changes stock.

Invariants, for every item and every batch::

    on_hand >= 0        0 <= reserved <= on_hand
    item figures   == fold_ledger(ledger)
    item.reserved  == sum of the open quantity of its reservations
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

import attrs

from salesorders.domain.money import to_decimal, to_quantity
from salesorders.domain.snapshot import IncomingStock
from salesorders.errors import InvalidQuantityError

__all__ = [
    "Batch",
    "BucketKey",
    "ItemKey",
    "LedgerEntry",
    "LockedStock",
    "LowStock",
    "Movement",
    "Reservation",
    "StockChange",
    "StockItem",
    "StockLevels",
    "new_entry",
    "new_reservation",
    "numbered",
    "reservation_entry",
    "to_level",
]

_ZERO: Final = Decimal(0)

ItemKey = tuple[str, str]
"""(sku, warehouse_id)"""

BucketKey = tuple[str, str, str | None]
"""(sku, warehouse_id, batch_id); ``None`` is the unbatched stock."""


class Movement(enum.Enum):
    """What a ledger entry records."""

    RECEIPT = "receipt"
    RESERVATION = "reservation"
    RELEASE = "release"
    SHIPMENT = "shipment"
    RETURN = "return"
    ADJUSTMENT = "adjustment"
    WRITE_OFF = "write_off"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"


@attrs.frozen(slots=True)
class LedgerEntry:
    """One append-only movement of a (SKU, warehouse), and of a batch when ``batch_id`` is set.

    ``on_hand_delta`` and ``reserved_delta`` are exactly what the movement changed. ``sequence``
    numbers entries of one book 1, 2, 3 ... in the order they happened.
    """

    sequence: int
    movement: Movement
    sku: str
    warehouse_id: str
    on_hand_delta: Decimal
    reserved_delta: Decimal
    at: dt.datetime
    batch_id: str | None = None
    actor: str = ""
    reason: str = ""
    order_id: str | None = None
    line_id: str | None = None
    return_id: str | None = None
    reservation_id: str | None = None
    transfer_id: str | None = None


@attrs.define(slots=True)
class Batch:
    """A lot of a SKU in one warehouse, with its own figures and an optional expiry date."""

    batch_id: str
    expiry: dt.date | None = None
    on_hand: Decimal = _ZERO
    reserved: Decimal = _ZERO

    @property
    def unreserved(self) -> Decimal:
        """On hand and not reserved: what can be reserved, written off or moved from the batch."""
        return self.on_hand - self.reserved


@attrs.define(slots=True)
class StockItem:
    """The stock of one SKU in one warehouse.

    ``on_hand`` and ``reserved`` are totals over the batches and the unbatched stock.
    ``low_stock`` is True while :attr:`available` is at or below ``reorder_point``. Stores hand out
    copies; stock changes only through the operations, which return a :class:`StockChange`.
    """

    sku: str
    warehouse_id: str
    on_hand: Decimal = _ZERO
    reserved: Decimal = _ZERO
    safety_stock: Decimal = _ZERO
    reorder_point: Decimal | None = None
    reorder_quantity: Decimal | None = None
    low_stock: bool = False
    batches: dict[str, Batch] = attrs.field(factory=dict)

    @property
    def key(self) -> ItemKey:
        return (self.sku, self.warehouse_id)

    @property
    def available(self) -> Decimal:
        """``on_hand - reserved - safety_stock``, never below zero: what new orders may reserve."""
        free = self.on_hand - self.reserved - self.safety_stock
        return free if free > 0 else _ZERO

    @property
    def unbatched_on_hand(self) -> Decimal:
        """On hand outside any batch."""
        on_hand = self.on_hand
        for batch in self.batches.values():
            on_hand -= batch.on_hand
        return on_hand

    @property
    def unbatched_reserved(self) -> Decimal:
        """Reserved by reservations that name no batch."""
        reserved = self.reserved
        for batch in self.batches.values():
            reserved -= batch.reserved
        return reserved

    def copy(self) -> StockItem:
        """A copy with its own batches, to change without touching this one."""
        return StockItem(
            self.sku,
            self.warehouse_id,
            self.on_hand,
            self.reserved,
            self.safety_stock,
            self.reorder_point,
            self.reorder_quantity,
            self.low_stock,
            {k: Batch(b.batch_id, b.expiry, b.on_hand, b.reserved) for k, b in self.batches.items()}
            if self.batches
            else {},
        )

    def unreserved_in(self, batch_id: str | None) -> Decimal:
        """Unreserved stock in the batch (``None``: outside batches), safety stock not deducted.

        An unknown batch has nothing unreserved.
        """
        if batch_id is None:
            if not self.batches:
                return self.on_hand - self.reserved
            return self.unbatched_on_hand - self.unbatched_reserved
        batch = self.batches.get(batch_id)
        return _ZERO if batch is None else batch.on_hand - batch.reserved

    def reservable_in(self, batch_id: str | None) -> Decimal:
        """What a new reservation of the batch (``None``: unbatched) may take.

        The smaller of the batch's unreserved stock and the item's :attr:`available`.
        """
        unreserved = self.unreserved_in(batch_id)
        available = self.available
        return unreserved if unreserved < available else available


def to_level(value: object, field: str, places: int) -> Decimal:
    """A non-negative stock quantity with at most ``places`` decimals: a count, a safety stock,
    a reorder point. Zero is allowed, unlike for quantities that move stock."""
    number = to_decimal(value, field)
    if number < 0:
        raise InvalidQuantityError(field, value, "must not be negative")
    if number > 0:
        to_quantity(number, field, places)
    return number


@attrs.frozen(slots=True)
class StockLevels:
    """New safety stock, reorder point and reorder quantity for a stock item, already checked.

    ``None`` keeps the item's current level. Build it with :meth:`checked` before touching any
    item, so that bad input changes nothing.
    """

    safety_stock: Decimal | None = None
    reorder_point: Decimal | None = None
    reorder_quantity: Decimal | None = None

    @classmethod
    def checked(
        cls,
        places: int,
        safety_stock: Decimal | int | None,
        reorder_point: Decimal | int | None,
        reorder_quantity: Decimal | int | None,
    ) -> StockLevels:
        """Safety stock and reorder point may be zero; the reorder quantity must be positive."""
        return cls(
            None if safety_stock is None else to_level(safety_stock, "safety_stock", places),
            None if reorder_point is None else to_level(reorder_point, "reorder_point", places),
            None
            if reorder_quantity is None
            else to_quantity(reorder_quantity, "reorder_quantity", places),
        )

    def apply_to(self, item: StockItem) -> None:
        if self.safety_stock is not None:
            item.safety_stock = self.safety_stock
        if self.reorder_point is not None:
            item.reorder_point = self.reorder_point
        if self.reorder_quantity is not None:
            item.reorder_quantity = self.reorder_quantity


@attrs.frozen(slots=True)
class Reservation:
    """Stock held for one order line in one warehouse (and batch).

    ``open`` is still held; ``released`` went back to available; ``consumed`` was shipped.
    """

    # No validators or converters here: the reservation hot path fills the slots directly.
    id: str
    order_id: str
    line_id: str
    sku: str
    warehouse_id: str
    quantity: Decimal
    batch_id: str | None = None
    released: Decimal = _ZERO
    consumed: Decimal = _ZERO

    @property
    def open(self) -> Decimal:
        return self.quantity - self.released - self.consumed

    @property
    def item_key(self) -> ItemKey:
        return (self.sku, self.warehouse_id)


def _slot_setters(cls: type, names: tuple[str, ...]) -> tuple[Any, ...]:
    fields = tuple(field.name for field in attrs.fields(cls))
    if fields != names:  # pragma: no cover - guards the fast constructor below
        raise TypeError(f"{cls.__name__} fields changed: {fields}; update the fast constructor")
    return tuple(cls.__dict__[name].__set__ for name in names)


(_SET_ID, _SET_ORDER, _SET_LINE, _SET_SKU, _SET_WH, _SET_QTY, _SET_BATCH, _SET_REL, _SET_CON) = (
    _slot_setters(
        Reservation,
        (
            "id",
            "order_id",
            "line_id",
            "sku",
            "warehouse_id",
            "quantity",
            "batch_id",
            "released",
            "consumed",
        ),
    )
)


def new_reservation(
    rid: str,
    order_id: str,
    line_id: str,
    sku: str,
    warehouse_id: str,
    quantity: Decimal,
    batch_id: str | None,
) -> Reservation:
    """``Reservation(rid, ..., batch_id)`` at about half the cost, for the reservation hot path.

    Fills the slots directly (a frozen attrs class sets each field through a generic
    ``object.__setattr__``). Valid because Reservation has no validators or converters; the field
    list is checked at import.
    """
    reservation: Reservation = object.__new__(Reservation)
    _SET_ID(reservation, rid)
    _SET_ORDER(reservation, order_id)
    _SET_LINE(reservation, line_id)
    _SET_SKU(reservation, sku)
    _SET_WH(reservation, warehouse_id)
    _SET_QTY(reservation, quantity)
    _SET_BATCH(reservation, batch_id)
    _SET_REL(reservation, _ZERO)
    _SET_CON(reservation, _ZERO)
    return reservation


@attrs.frozen(slots=True)
class LowStock:
    """Raised once each time an item's available stock falls to or below its reorder point.

    ``suggested_quantity`` is the item's ``reorder_quantity`` when set; otherwise the quantity that
    brings ``available`` one unit above the reorder point.
    """

    sku: str
    warehouse_id: str
    available: Decimal
    reorder_point: Decimal
    suggested_quantity: Decimal
    at: dt.datetime


@attrs.frozen(slots=True)
class StockChange:
    """What one stock operation changed: the value every store applies as a whole.

    * ``items``: the new state of every item touched (figures, levels, low-stock flag, batches);
      an item the store has not seen yet is created.
    * ``batches``: ``(sku, warehouse_id, batch)`` for every batch whose figures changed or that
      is new (so a row store writes only those).
    * ``reservations``: reservations made by the operation; ``settled``: existing reservations
      with new ``released`` / ``consumed`` figures.
    * ``ledger``: the entries to append, in order, with ``sequence`` 0 (the store numbers them).
    * ``alerts``: the :class:`LowStock` alerts raised (the service writes them to the outbox).
    * ``expected``: expected receipts added or left with a new quantity; ``arrived``: ids of
      expected receipts received in full (they leave the list).
    * ``levels``: True when the operation changed safety stock, reorder point or quantity.
    """

    items: tuple[StockItem, ...] = ()
    batches: tuple[tuple[str, str, Batch], ...] = ()
    reservations: tuple[Reservation, ...] = ()
    settled: tuple[Reservation, ...] = ()
    ledger: tuple[LedgerEntry, ...] = ()
    alerts: tuple[LowStock, ...] = ()
    expected: tuple[IncomingStock, ...] = ()
    arrived: tuple[str, ...] = ()
    levels: bool = False

    @classmethod
    def of_reservations(
        cls,
        items: tuple[StockItem, ...],
        batches: tuple[tuple[str, str, Batch], ...],
        reservations: tuple[Reservation, ...],
        ledger: tuple[LedgerEntry, ...],
        alerts: tuple[LowStock, ...],
    ) -> StockChange:
        """The change of a reservation, built at slot speed (the reservation hot path).

        StockChange has no validators or converters; its field list is checked at import.
        """
        change: StockChange = object.__new__(cls)
        fill = _CHANGE_SETTERS
        for setter, value in zip(
            fill,
            (items, batches, reservations, (), ledger, alerts, (), (), False),
            strict=True,
        ):
            setter(change, value)
        return change

    @classmethod
    def of_reservation_run(cls, changes: Sequence[StockChange]) -> StockChange:
        """Reservations computed one after another on the same locked items, as one change.

        The items and batches are the locked objects themselves, so the last state of each is
        the one kept; reservations, ledger entries and alerts follow in the order made.
        """
        if len(changes) == 1:
            return changes[0]
        items: dict[ItemKey, StockItem] = {}
        batches: dict[BucketKey, tuple[str, str, Batch]] = {}
        reservations: list[Reservation] = []
        ledger: list[LedgerEntry] = []
        alerts: list[LowStock] = []
        for change in changes:
            for item in change.items:
                items[(item.sku, item.warehouse_id)] = item
            for sku, wh, batch in change.batches:
                batches[(sku, wh, batch.batch_id)] = (sku, wh, batch)
            reservations.extend(change.reservations)
            ledger.extend(change.ledger)
            alerts.extend(change.alerts)
        return cls.of_reservations(
            tuple(items.values()),
            tuple(batches.values()),
            tuple(reservations),
            tuple(ledger),
            tuple(alerts),
        )

    def followed_by(self, then: StockChange) -> StockChange:
        """This change and then ``then`` (computed on the same locked items), as one change."""
        items = {item.key: item for item in (*self.items, *then.items)}
        batches = {(s, w, b.batch_id): (s, w, b) for s, w, b in (*self.batches, *then.batches)}
        return StockChange(
            items=tuple(items.values()),
            batches=tuple(batches.values()),
            reservations=self.reservations + then.reservations,
            settled=self.settled + then.settled,
            ledger=self.ledger + then.ledger,
            alerts=self.alerts + then.alerts,
            expected=self.expected + then.expected,
            arrived=self.arrived + then.arrived,
            levels=self.levels or then.levels,
        )


_LEDGER_FIELDS = (
    "sequence",
    "movement",
    "sku",
    "warehouse_id",
    "on_hand_delta",
    "reserved_delta",
    "at",
    "batch_id",
    "actor",
    "reason",
    "order_id",
    "line_id",
    "return_id",
    "reservation_id",
    "transfer_id",
)
_LEDGER_SETTERS = _slot_setters(LedgerEntry, _LEDGER_FIELDS)
_CHANGE_SETTERS = _slot_setters(
    StockChange,
    (
        "items",
        "batches",
        "reservations",
        "settled",
        "ledger",
        "alerts",
        "expected",
        "arrived",
        "levels",
    ),
)
_SET_SEQUENCE = _LEDGER_SETTERS[0]


def new_entry(
    movement: Movement,
    item: StockItem,
    on_hand_delta: Decimal,
    reserved_delta: Decimal,
    at: dt.datetime,
    batch_id: str | None,
    actor: str,
    reason: str,
    *,
    order_id: str | None = None,
    line_id: str | None = None,
    return_id: str | None = None,
    reservation_id: str | None = None,
    transfer_id: str | None = None,
) -> LedgerEntry:
    """A ledger entry of ``item`` not yet numbered (``sequence`` 0), built at slot speed."""
    return _entry(
        movement,
        item.sku,
        item.warehouse_id,
        on_hand_delta,
        reserved_delta,
        at,
        batch_id,
        actor,
        reason,
        order_id,
        line_id,
        return_id,
        reservation_id,
        transfer_id,
    )


def reservation_entry(reservation: Reservation, at: dt.datetime, actor: str) -> LedgerEntry:
    """The RESERVATION entry of a new reservation (unnumbered)."""
    return _entry(
        Movement.RESERVATION,
        reservation.sku,
        reservation.warehouse_id,
        _ZERO,
        reservation.quantity,
        at,
        reservation.batch_id,
        actor,
        "",
        reservation.order_id,
        reservation.line_id,
        None,
        reservation.id,
        None,
    )


def _entry(
    movement: Movement,
    sku: str,
    warehouse_id: str,
    on_hand_delta: Decimal,
    reserved_delta: Decimal,
    at: dt.datetime,
    batch_id: str | None,
    actor: str,
    reason: str,
    order_id: str | None,
    line_id: str | None,
    return_id: str | None,
    reservation_id: str | None,
    transfer_id: str | None,
) -> LedgerEntry:
    """``LedgerEntry(0, ...)`` at about half the cost: fills the slots directly (LedgerEntry has
    no validators or converters; the field list is checked at import)."""
    entry: LedgerEntry = object.__new__(LedgerEntry)
    (
        set_sequence,
        set_movement,
        set_sku,
        set_warehouse,
        set_on_hand,
        set_reserved,
        set_at,
        set_batch,
        set_actor,
        set_reason,
        set_order,
        set_line,
        set_return,
        set_reservation,
        set_transfer,
    ) = _LEDGER_SETTERS
    set_sequence(entry, 0)
    set_movement(entry, movement)
    set_sku(entry, sku)
    set_warehouse(entry, warehouse_id)
    set_on_hand(entry, on_hand_delta)
    set_reserved(entry, reserved_delta)
    set_at(entry, at)
    set_batch(entry, batch_id)
    set_actor(entry, actor)
    set_reason(entry, reason)
    set_order(entry, order_id)
    set_line(entry, line_id)
    set_return(entry, return_id)
    set_reservation(entry, reservation_id)
    set_transfer(entry, transfer_id)
    return entry


def set_sequence(entry: LedgerEntry, sequence: int) -> None:
    """Number an entry of a :class:`StockChange` in place, as its store appends it (once)."""
    _SET_SEQUENCE(entry, sequence)


def numbered(entry: LedgerEntry, sequence: int) -> LedgerEntry:
    """The entry with the ``sequence`` the store gave it when appending it.

    An entry of a :class:`StockChange` is built unnumbered (``sequence`` 0) and belongs to that
    change: it is numbered in place, once. An entry already numbered is copied instead.
    """
    if entry.sequence:
        entry = attrs.evolve(entry)
    _LEDGER_SETTERS[0](entry, sequence)
    return entry


@attrs.frozen(slots=True)
class LockedStock:
    """The rows a command locked: the input of the stock operations.

    ``items`` are fresh copies of the stored items (keys with no stored row are missing unless
    the lock created them); ``reservations`` are the reservations of the order named when locking
    (empty otherwise), in the order they were made.
    """

    items: dict[ItemKey, StockItem]
    reservations: tuple[Reservation, ...] = ()
