"""Multi-warehouse stock: items, batches, reservations, an append-only ledger and low-stock alerts.

The :class:`StockBook` is the inventory aggregate. It holds one :class:`StockItem` per (SKU,
warehouse), the :class:`Reservation` of every order line, the expected receipts and an append-only
list of :class:`LedgerEntry`. Every operation is one small atomic step: it validates everything
first, then changes the figures and appends ledger entries whose ``on_hand_delta`` and
``reserved_delta`` say exactly what changed. An operation that raises changes nothing.

Invariants, for every item and every batch::

    on_hand >= 0        0 <= reserved <= on_hand
    item figures   == fold_ledger(ledger)
    item.reserved  == sum of the open quantity of its reservations

Stock received with a ``batch_id`` is held in that :class:`Batch`; stock received without one is
*unbatched*. The item's ``on_hand`` and ``reserved`` are totals over both. A reservation naming a
batch draws on that batch; one without a batch draws on unbatched stock. Every reservation also
has to fit the item's :attr:`StockItem.available`, which keeps the safety stock free.

:func:`fold_ledger` and :func:`reconcile` are pure functions over items, reservations and ledger
entries, so a storage adapter can load its rows and run the same checks (the drift detector).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Collection, Container, Iterable, Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

import attrs

from salesorders.domain.checks import aware_time, require_text
from salesorders.domain.money import to_decimal, to_quantity
from salesorders.domain.plan import Allocation, AllocationPlan, Backorder
from salesorders.domain.snapshot import AvailableBatch, IncomingStock, StockSnapshot
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import (
    InsufficientStockError,
    InvalidQuantityError,
    NotFoundError,
    ReservationError,
    Shortage,
    UnknownStockItemError,
    UnknownWarehouseError,
    ValidationError,
)

__all__ = [
    "AvailabilityRow",
    "BackorderSummary",
    "Batch",
    "Discrepancy",
    "LedgerEntry",
    "LowStock",
    "Movement",
    "Reservation",
    "ReservedRow",
    "StockBook",
    "StockItem",
    "StockLevels",
    "find_shortages",
    "fold_batches",
    "fold_ledger",
    "fold_reservations",
    "plan_demand",
    "reconcile",
    "reservable_batches",
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
    ``low_stock`` is True while :attr:`available` is at or below ``reorder_point``. Items are owned
    by their :class:`StockBook`: change them only through the book's operations.
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


def _new_reservation(
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


@attrs.frozen(slots=True)
class AvailabilityRow:
    """One line of :meth:`StockBook.availability`."""

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
    """One line of :meth:`StockBook.reserved_vs_on_hand`."""

    sku: str
    warehouse_id: str
    on_hand: Decimal
    reserved: Decimal
    unreserved: Decimal
    open_reservations: int


@attrs.frozen(slots=True)
class BackorderSummary:
    """Backordered quantity of one SKU over every recorded order (see ``backorders_by_sku``).

    ``earliest_expected`` is the earliest expected date among its backorders, if any has one.
    """

    sku: str
    quantity: Decimal
    order_ids: tuple[str, ...]
    earliest_expected: dt.date | None


# --------------------------------------------------------------------------- pure functions


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


# --------------------------------------------------------------------------- validation helpers


def _optional_text(value: object, field: str) -> str | None:
    return None if value is None else require_text(value, field)


def _expiry(value: object, field: str = "expiry") -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValidationError(field, value, "must be a datetime.date or None")
    return value


def _ordered_fefo(batch: Batch) -> tuple[bool, dt.date, str]:
    expiry = batch.expiry
    return (expiry is None, expiry or dt.date.min, batch.batch_id)


_Row = tuple[Any, ...]


# --------------------------------------------------------------------------- the stock book


class StockBook:
    """The inventory aggregate: warehouses, items, reservations, incoming stock and the ledger.

    Pure and in memory. Times are passed in (timezone-aware); nothing reads a clock. Quantities are
    :class:`~decimal.Decimal` or ``int`` with at most ``quantity_places`` decimal places (0: whole
    units); floats are refused. Every operation validates fully before it changes anything.
    """

    __slots__ = (
        "_backorders",
        "_by_order",
        "_by_sku",
        "_events",
        "_incoming",
        "_items",
        "_ledger",
        "_pending",
        "_places",
        "_repeats",
        "_reservations",
        "_sequence",
        "_unit",
        "_warehouse_view",
        "_warehouses",
    )

    def __init__(self, warehouses: Iterable[Warehouse] = (), *, quantity_places: int = 0) -> None:
        if isinstance(quantity_places, bool) or not isinstance(quantity_places, int):
            raise ValidationError("quantity_places", quantity_places, "must be an int")
        if quantity_places < 0:
            raise ValidationError("quantity_places", quantity_places, "must not be negative")
        self._places = quantity_places
        self._unit = Decimal(1).scaleb(-quantity_places)
        self._warehouses: dict[str, Warehouse] = {}
        self._warehouse_view: Mapping[str, Warehouse] = MappingProxyType({})
        self._items: dict[ItemKey, StockItem] = {}
        self._by_sku: dict[str, list[StockItem]] = {}
        self._reservations: dict[str, Reservation] = {}
        self._repeats: dict[str, int] = {}
        self._by_order: dict[str, list[str]] = {}
        self._ledger: list[LedgerEntry] = []
        # Reservation rows not yet built into LedgerEntry objects (see _hold); always newer than
        # every entry in _ledger, so the ledger's order is _ledger followed by _pending.
        self._pending: list[_Row] = []
        self._sequence = 0
        self._events: list[LowStock] = []
        self._incoming: dict[str, IncomingStock] = {}
        self._backorders: dict[str, tuple[Backorder, ...]] = {}
        for warehouse in warehouses:
            self.add_warehouse(warehouse)

    # ------------------------------------------------------------------ warehouses and levels

    def add_warehouse(self, warehouse: Warehouse) -> None:
        """Register a warehouse, or replace the one with the same id (to change its priority...)."""
        if not isinstance(warehouse, Warehouse):
            raise ValidationError("warehouse", warehouse, "must be a Warehouse")
        require_text(warehouse.id, "warehouse.id")
        self._warehouses[warehouse.id] = warehouse
        # A new read-only mapping on every change: consumers may cache by its identity.
        self._warehouse_view = MappingProxyType(dict(self._warehouses))

    @property
    def warehouses(self) -> Mapping[str, Warehouse]:
        """Read-only mapping of warehouse id to warehouse; the same object until one is added."""
        return self._warehouse_view

    def set_levels(
        self,
        sku: str,
        warehouse_id: str,
        *,
        safety_stock: Decimal | int | None = None,
        reorder_point: Decimal | int | None = None,
        reorder_quantity: Decimal | int | None = None,
        at: dt.datetime | None = None,
    ) -> StockItem:
        """Set the safety stock, reorder point and reorder quantity of an item (created if new).

        ``None`` leaves a level unchanged. Safety stock and reorder point may be zero; the reorder
        quantity must be positive. Low stock is evaluated at the next movement, or at once when
        ``at`` is given (then a :class:`LowStock` may be raised).
        """
        self._check_warehouse(warehouse_id)
        require_text(sku, "sku")
        levels = StockLevels.checked(self._places, safety_stock, reorder_point, reorder_quantity)
        moment = None if at is None else aware_time(at)
        item = self._item_or_new(sku, warehouse_id)
        levels.apply_to(item)
        if moment is not None:
            self._watch(item, moment)
        return item

    # ------------------------------------------------------------------ receipts

    def receive(
        self,
        sku: str,
        warehouse_id: str,
        quantity: Decimal | int,
        at: dt.datetime,
        *,
        batch_id: str | None = None,
        expiry: dt.date | None = None,
        actor: str = "",
        reason: str = "",
    ) -> LedgerEntry:
        """Add received stock (to a batch when ``batch_id`` is given, created if new).

        ``expiry`` needs a ``batch_id`` and must match the batch's expiry if the batch exists.
        """
        self._check_warehouse(warehouse_id)
        require_text(sku, "sku")
        amount = self._quantity(quantity, "quantity")
        aware_time(at)
        self._check_batch_expiry(sku, warehouse_id, batch_id, expiry)
        item = self._item_or_new(sku, warehouse_id)
        self._add_on_hand(item, batch_id, expiry, amount)
        entry = self._append(Movement.RECEIPT, item, amount, _ZERO, at, batch_id, actor, reason)
        self._watch(item, at)
        return entry

    def expect(self, incoming: IncomingStock) -> None:
        """Record stock expected to arrive; it shows in snapshots and the incoming report."""
        if not isinstance(incoming, IncomingStock):
            raise ValidationError("incoming", incoming, "must be an IncomingStock")
        require_text(incoming.id, "incoming.id")
        require_text(incoming.sku, "incoming.sku")
        self._check_warehouse(incoming.warehouse_id)
        quantity = self._quantity(incoming.quantity, "incoming.quantity")
        if isinstance(incoming.eta, dt.datetime) or not isinstance(incoming.eta, dt.date):
            raise ValidationError("incoming.eta", incoming.eta, "must be a datetime.date")
        if incoming.id in self._incoming:
            raise ValidationError(
                "incoming.id", incoming.id, "is already expected", "use a new id per shipment"
            )
        if quantity.__class__ is not incoming.quantity.__class__:
            incoming = attrs.evolve(incoming, quantity=quantity)
        self._incoming[incoming.id] = incoming

    def incoming(self) -> tuple[IncomingStock, ...]:
        """Every expected receipt, by ETA then id."""
        return tuple(sorted(self._incoming.values(), key=lambda i: (i.eta, i.id)))

    def receive_expected(
        self,
        incoming_id: str,
        at: dt.datetime,
        *,
        quantity: Decimal | int | None = None,
        batch_id: str | None = None,
        expiry: dt.date | None = None,
        actor: str = "",
        reason: str = "",
    ) -> LedgerEntry:
        """Receive an expected shipment (all of it unless ``quantity`` says otherwise).

        The shipment leaves the incoming list; a partial receipt leaves the remainder expected.
        The ledger reason defaults to ``"incoming <id>"``.
        """
        expected = self._incoming.get(incoming_id)
        if expected is None:
            raise NotFoundError("incoming stock", str(incoming_id))
        amount = expected.quantity if quantity is None else self._quantity(quantity, "quantity")
        entry = self.receive(
            expected.sku,
            expected.warehouse_id,
            amount,
            at,
            batch_id=batch_id,
            expiry=expiry,
            actor=actor,
            reason=reason or f"incoming {incoming_id}",
        )
        if amount < expected.quantity:
            self._incoming[incoming_id] = attrs.evolve(
                expected, quantity=expected.quantity - amount
            )
        else:
            del self._incoming[incoming_id]
        return entry

    # ------------------------------------------------------------------ reservations

    def reserve(
        self,
        order_id: str,
        line_id: str,
        sku: str,
        warehouse_id: str,
        quantity: Decimal | int,
        at: dt.datetime,
        *,
        batch_id: str | None = None,
        actor: str = "",
    ) -> Reservation:
        """Reserve ``quantity`` for one order line; raises InsufficientStockError if short."""
        require_text(order_id, "order_id")
        require_text(line_id, "line_id")
        amount = self._quantity(quantity, "quantity")
        aware_time(at)
        item = self._existing_item(sku, warehouse_id)
        if batch_id is not None and batch_id not in item.batches:
            raise self._unknown_batch(item, batch_id, "batch_id")
        allocation = Allocation(line_id, sku, warehouse_id, amount, batch_id)
        return self.reserve_plan(AllocationPlan(order_id, (allocation,)), at, actor)[0]

    def reserve_plan(
        self, plan: AllocationPlan, at: dt.datetime, actor: str = ""
    ) -> tuple[Reservation, ...]:
        """Reserve every allocation of ``plan`` atomically: all of them, or none.

        Demand is summed per (SKU, warehouse, batch) and per (SKU, warehouse) and checked against
        what is reservable before anything changes; if any is short, raises
        :class:`InsufficientStockError` naming every SKU short and by how much. A plan that carries
        ``shortages`` (an all-or-nothing plan that could not be met) is refused the same way.
        Returns one reservation per allocation, in plan order.
        """
        if plan.shortages:
            raise InsufficientStockError(plan.shortages, plan.order_id)
        if at.__class__ is not dt.datetime or at.tzinfo is not dt.UTC:
            aware_time(at)
        order_id = plan.order_id
        if order_id.__class__ is not str or not order_id:
            require_text(order_id, "plan.order_id")
        allocations = plan.allocations
        items = self._items
        whole = self._places == 0
        targets: list[StockItem] = []
        amounts: list[Decimal] = []
        totals: dict[ItemKey, Decimal] = {}
        batched = short = False
        for allocation in allocations:
            amount = allocation.quantity
            if not (
                whole
                and amount.__class__ is Decimal
                and amount.is_finite()
                and amount > 0
                and amount == amount.to_integral_value()
            ):
                field = f"allocations[{allocations.index(allocation)}].quantity"
                amount = self._quantity(amount, field)
            line_id = allocation.line_id
            if line_id.__class__ is not str or not line_id:
                require_text(line_id, f"allocations[{allocations.index(allocation)}].line_id")
            key = (allocation.sku, allocation.warehouse_id)
            item = items.get(key)
            if item is None:
                item = self._existing_item(*key)
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
            self._check_batched(plan, amounts, totals)
        elif short:
            raise InsufficientStockError(find_shortages(items, totals, {}), order_id)
        return self._hold(order_id, allocations, targets, amounts, at, actor)

    def _check_batched(
        self, plan: AllocationPlan, amounts: list[Decimal], totals: Mapping[ItemKey, Decimal]
    ) -> None:
        """The checks of a plan touching batched stock: batch ids, then every bucket and item."""
        items = self._items
        buckets: dict[BucketKey, Decimal] = {}
        for index, (allocation, amount) in enumerate(zip(plan.allocations, amounts, strict=True)):
            item = items[(allocation.sku, allocation.warehouse_id)]
            batch_id = allocation.batch_id
            if batch_id is not None and batch_id not in item.batches:
                raise self._unknown_batch(item, batch_id, f"allocations[{index}].batch_id")
            bucket = (allocation.sku, allocation.warehouse_id, batch_id)
            buckets[bucket] = buckets.get(bucket, _ZERO) + amount
        short = find_shortages(items, totals, buckets)
        if short:
            raise InsufficientStockError(short, plan.order_id)

    def release(
        self,
        reservation_id: str,
        at: dt.datetime,
        quantity: Decimal | int | None = None,
        reason: str = "",
        *,
        actor: str = "",
    ) -> LedgerEntry:
        """Give back ``quantity`` (default: all still open) of a reservation to available stock."""
        return self._settle(reservation_id, quantity, at, Movement.RELEASE, actor, reason)

    def release_order(
        self, order_id: str, at: dt.datetime, reason: str = "", actor: str = ""
    ) -> tuple[LedgerEntry, ...]:
        """Release everything still open for ``order_id`` (e.g. on cancellation).

        Returns one RELEASE entry per reservation that had something open; calling it again
        releases nothing and returns an empty tuple.
        """
        aware_time(at)
        ids = self._by_order.get(order_id, ())
        return tuple(
            self.release(rid, at, reason=reason, actor=actor)
            for rid in ids
            if self._reservations[rid].open > 0
        )

    def consume(
        self,
        reservation_id: str,
        at: dt.datetime,
        quantity: Decimal | int | None = None,
        *,
        actor: str = "",
        reason: str = "",
    ) -> LedgerEntry:
        """Ship ``quantity`` (default: all open) of a reservation; on hand and reserved drop."""
        return self._settle(reservation_id, quantity, at, Movement.SHIPMENT, actor, reason)

    def _settle(
        self,
        reservation_id: str,
        quantity: Decimal | int | None,
        at: dt.datetime,
        movement: Movement,
        actor: str,
        reason: str,
    ) -> LedgerEntry:
        """Close part of a reservation: released back to stock, or shipped (consumed) from it."""
        shipped = movement is Movement.SHIPMENT
        reservation, amount = self._open_part(
            reservation_id, quantity, "consume" if shipped else "release"
        )
        aware_time(at)
        item = self._items[reservation.item_key]
        batch_id = reservation.batch_id
        self._change_reserved(item, batch_id, -amount)
        if shipped:
            self._change_on_hand(item, batch_id, -amount)
            settled = attrs.evolve(reservation, consumed=reservation.consumed + amount)
        else:
            settled = attrs.evolve(reservation, released=reservation.released + amount)
        self._reservations[reservation.id] = settled
        entry = self._append(
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
        self._watch(item, at)
        return entry

    def reservation(self, reservation_id: str) -> Reservation:
        """The reservation with that id; raises ReservationError if there is none."""
        found = self._reservations.get(reservation_id)
        if found is None:
            raise ReservationError(
                str(reservation_id),
                f"no reservation {reservation_id!r}; check the id (see reservations())",
            )
        return found

    def reservations(
        self, order_id: str | None = None, *, open_only: bool = False
    ) -> tuple[Reservation, ...]:
        """Reservations in the order they were made, of one order if ``order_id`` is given."""
        if order_id is None:
            found: Iterable[Reservation] = self._reservations.values()
        else:
            found = (self._reservations[rid] for rid in self._by_order.get(order_id, ()))
        return tuple(r for r in found if not open_only or r.open > 0)

    # ------------------------------------------------------------------ other movements

    def return_to_stock(
        self,
        sku: str,
        warehouse_id: str,
        quantity: Decimal | int,
        at: dt.datetime,
        *,
        return_id: str,
        batch_id: str | None = None,
        expiry: dt.date | None = None,
        order_id: str | None = None,
        line_id: str | None = None,
        actor: str = "",
        reason: str = "",
    ) -> LedgerEntry:
        """Put returned goods back on hand (into a batch when ``batch_id`` is given)."""
        self._check_warehouse(warehouse_id)
        require_text(sku, "sku")
        amount = self._quantity(quantity, "quantity")
        aware_time(at)
        require_text(return_id, "return_id")
        _optional_text(order_id, "order_id")
        _optional_text(line_id, "line_id")
        self._check_batch_expiry(sku, warehouse_id, batch_id, expiry)
        item = self._item_or_new(sku, warehouse_id)
        self._add_on_hand(item, batch_id, expiry, amount)
        entry = self._append(
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
        self._watch(item, at)
        return entry

    def adjust(
        self,
        sku: str,
        warehouse_id: str,
        counted: Decimal | int,
        at: dt.datetime,
        reason: str,
        *,
        batch_id: str | None = None,
        actor: str = "",
    ) -> LedgerEntry:
        """Record a stock count: an ADJUSTMENT entry of ``counted - on_hand`` (even when zero).

        Without ``batch_id``, ``counted`` is the item's total and the difference falls on the
        unbatched stock; with it, ``counted`` is the batch's. The count may not fall below what is
        reserved there: release or consume those reservations first.
        """
        item = self._existing_item(sku, warehouse_id)
        amount = to_level(counted, "counted", self._places)
        aware_time(at)
        require_text(reason, "reason")
        if batch_id is None:
            current = item.on_hand
            floor = item.on_hand - item.unreserved_in(None)
        else:
            batch = self._existing_batch(item, batch_id)
            current = batch.on_hand
            floor = batch.reserved
        if amount < floor:
            raise ValidationError(
                "counted",
                counted,
                f"is below the {floor} of {sku} in {warehouse_id} that is reserved or held in "
                "batches",
                "release or consume reservations first, or count each batch with batch_id",
            )
        delta = amount - current
        self._change_on_hand(item, batch_id, delta)
        entry = self._append(Movement.ADJUSTMENT, item, delta, _ZERO, at, batch_id, actor, reason)
        self._watch(item, at)
        return entry

    def write_off(
        self,
        sku: str,
        warehouse_id: str,
        quantity: Decimal | int,
        at: dt.datetime,
        reason: str,
        *,
        batch_id: str | None = None,
        actor: str = "",
    ) -> LedgerEntry:
        """Remove damaged, lost or expired stock; only unreserved stock can be written off."""
        item = self._existing_item(sku, warehouse_id)
        amount = self._quantity(quantity, "quantity")
        aware_time(at)
        require_text(reason, "reason")
        self._check_removable(item, batch_id, amount)
        self._change_on_hand(item, batch_id, -amount)
        entry = self._append(Movement.WRITE_OFF, item, -amount, _ZERO, at, batch_id, actor, reason)
        self._watch(item, at)
        return entry

    def transfer(
        self,
        sku: str,
        from_warehouse: str,
        to_warehouse: str,
        quantity: Decimal | int,
        at: dt.datetime,
        *,
        transfer_id: str,
        batch_id: str | None = None,
        actor: str = "",
        reason: str = "",
    ) -> tuple[LedgerEntry, LedgerEntry]:
        """Move unreserved stock between warehouses; a batch keeps its id and expiry.

        Returns the TRANSFER_OUT entry of the source and the TRANSFER_IN entry of the destination.
        """
        source = self._existing_item(sku, from_warehouse)
        self._check_warehouse(to_warehouse)
        if to_warehouse == from_warehouse:
            raise ValidationError(
                "to_warehouse", to_warehouse, "is the source warehouse", "pick another warehouse"
            )
        amount = self._quantity(quantity, "quantity")
        aware_time(at)
        require_text(transfer_id, "transfer_id")
        self._check_removable(source, batch_id, amount)
        expiry = None if batch_id is None else source.batches[batch_id].expiry
        self._check_batch_expiry(sku, to_warehouse, batch_id, expiry)
        target = self._item_or_new(sku, to_warehouse)
        self._change_on_hand(source, batch_id, -amount)
        self._add_on_hand(target, batch_id, expiry, amount)
        out_entry = self._append(
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
        in_entry = self._append(
            Movement.TRANSFER_IN,
            target,
            amount,
            _ZERO,
            at,
            batch_id,
            actor,
            reason,
            transfer_id=transfer_id,
        )
        self._watch(source, at)
        self._watch(target, at)
        return out_entry, in_entry

    # ------------------------------------------------------------------ reading

    def item(self, sku: str, warehouse_id: str) -> StockItem:
        """The item of ``sku`` in ``warehouse_id``; raises UnknownStockItemError if none."""
        return self._existing_item(sku, warehouse_id)

    def items(self) -> tuple[StockItem, ...]:
        """Every item, by SKU then warehouse."""
        return tuple(self._items[key] for key in sorted(self._items))

    def ledger(self) -> tuple[LedgerEntry, ...]:
        """Every ledger entry, oldest first."""
        return tuple(self._entries())

    def ledger_after(self, sequence: int) -> tuple[LedgerEntry, ...]:
        """The entries with a sequence above ``sequence`` (to persist or publish new movements)."""
        return tuple(self._entries()[max(sequence, 0) :])

    def collect_events(self) -> list[LowStock]:
        """Return and forget the low-stock alerts raised since the last call."""
        events, self._events = self._events, []
        return events

    def snapshot(self, skus: Iterable[str]) -> StockSnapshot:
        """What is available for ``skus``: the input of an allocation policy.

        ``available`` lists (SKU, warehouse) pairs with something available; ``batches`` lists
        the batches with something reservable, earliest expiry first (no expiry last), each capped
        at the item's available; ``incoming`` lists expected receipts per SKU by ETA.
        """
        available: dict[ItemKey, Decimal] = {}
        batches: dict[ItemKey, tuple[AvailableBatch, ...]] = {}
        incoming: dict[str, tuple[IncomingStock, ...]] = {}
        wanted = dict.fromkeys(skus)  # once each, in the order given
        by_sku = self._by_sku
        for sku in wanted:
            for item in by_sku.get(sku, ()):
                free = item.on_hand - item.reserved - item.safety_stock
                if free > 0:
                    key = (sku, item.warehouse_id)
                    available[key] = free
                    if item.batches:
                        lots = reservable_batches(item, free)
                        if lots:
                            batches[key] = lots
        if self._incoming:
            incoming = _incoming_for(self._incoming.values(), wanted)
        return StockSnapshot(self._warehouse_view, available, batches, incoming)

    def reconcile(self) -> tuple[Discrepancy, ...]:
        """Run :func:`reconcile` over this book's items, reservations and ledger."""
        return reconcile(self._items.values(), self._reservations.values(), self._entries())

    # ------------------------------------------------------------------ reports

    def availability(self) -> tuple[AvailabilityRow, ...]:
        """On hand, reserved, safety stock, available and incoming per SKU and warehouse."""
        incoming: dict[ItemKey, Decimal] = {}
        for shipment in self._incoming.values():
            key = (shipment.sku, shipment.warehouse_id)
            incoming[key] = incoming.get(key, _ZERO) + shipment.quantity
        rows = [
            AvailabilityRow(
                item.sku,
                item.warehouse_id,
                item.on_hand,
                item.reserved,
                item.safety_stock,
                item.available,
                incoming.pop(item.key, _ZERO),
                item.low_stock,
            )
            for item in self.items()
        ]
        rows.extend(
            AvailabilityRow(sku, wh, _ZERO, _ZERO, _ZERO, _ZERO, quantity, False)
            for (sku, wh), quantity in incoming.items()
        )
        rows.sort(key=lambda row: (row.sku, row.warehouse_id))
        return tuple(rows)

    def reserved_vs_on_hand(self) -> tuple[ReservedRow, ...]:
        """Reserved against on hand per SKU and warehouse, with the count of open reservations."""
        counts: dict[ItemKey, int] = {}
        for reservation in self._reservations.values():
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
            for item in self.items()
        )

    def incoming_by_date(self) -> dict[dt.date, tuple[IncomingStock, ...]]:
        """Expected receipts grouped by ETA, dates ascending, each day by SKU, warehouse and id."""
        days: dict[dt.date, list[IncomingStock]] = {}
        for shipment in self._incoming.values():
            days.setdefault(shipment.eta, []).append(shipment)
        return {
            day: tuple(sorted(days[day], key=lambda i: (i.sku, i.warehouse_id, i.id)))
            for day in sorted(days)
        }

    def record_backorders(self, plan: AllocationPlan) -> tuple[Backorder, ...]:
        """Remember the backorders of ``plan`` for its order, replacing what was recorded before.

        A plan without backorders clears the order's. Returns what is now recorded.
        """
        require_text(plan.order_id, "plan.order_id")
        if plan.backorders:
            self._backorders[plan.order_id] = plan.backorders
        else:
            self._backorders.pop(plan.order_id, None)
        return plan.backorders

    def clear_backorders(self, order_id: str) -> None:
        """Forget the recorded backorders of ``order_id`` (served, or cancelled)."""
        self._backorders.pop(order_id, None)

    def backorders_by_sku(self) -> tuple[BackorderSummary, ...]:
        """Backordered quantity per SKU over all recorded orders, by SKU."""
        quantities: dict[str, Decimal] = {}
        orders: dict[str, list[str]] = {}
        earliest: dict[str, dt.date] = {}
        for order_id in sorted(self._backorders):
            for backorder in self._backorders[order_id]:
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

    # ------------------------------------------------------------------ internals

    def _quantity(self, value: object, field: str) -> Decimal:
        return to_quantity(value, field, self._places)

    def _check_warehouse(self, warehouse_id: str) -> None:
        if warehouse_id not in self._warehouses:
            raise UnknownWarehouseError(warehouse_id)

    def _existing_item(self, sku: str, warehouse_id: str) -> StockItem:
        item = self._items.get((sku, warehouse_id))
        if item is None:
            self._check_warehouse(warehouse_id)
            raise UnknownStockItemError(sku, warehouse_id)
        return item

    def _existing_batch(self, item: StockItem, batch_id: str) -> Batch:
        batch = item.batches.get(batch_id)
        if batch is None:
            raise self._unknown_batch(item, batch_id, "batch_id")
        return batch

    @staticmethod
    def _unknown_batch(item: StockItem, batch_id: object, field: str) -> ValidationError:
        return ValidationError(
            field,
            batch_id,
            f"is not a batch of {item.sku} in {item.warehouse_id}",
            "receive the batch first, or name one of "
            + (", ".join(sorted(item.batches)) or "no batches (omit batch_id)"),
        )

    def _item_or_new(self, sku: str, warehouse_id: str) -> StockItem:
        key = (sku, warehouse_id)
        item = self._items.get(key)
        if item is None:
            item = StockItem(sku, warehouse_id)
            self._items[key] = item
            self._by_sku.setdefault(sku, []).append(item)
        return item

    def _check_batch_expiry(
        self, sku: str, warehouse_id: str, batch_id: str | None, expiry: object
    ) -> None:
        when = _expiry(expiry)
        if batch_id is None:
            if when is not None:
                raise ValidationError(
                    "expiry", expiry, "needs a batch_id", "give the batch the expiry belongs to"
                )
            return
        require_text(batch_id, "batch_id")
        item = self._items.get((sku, warehouse_id))
        batch = None if item is None else item.batches.get(batch_id)
        if batch is not None and when is not None and batch.expiry not in (None, when):
            raise ValidationError(
                "expiry",
                expiry,
                f"differs from batch {batch_id}'s expiry {batch.expiry} in {warehouse_id}",
                "use a new batch id for stock with another expiry",
            )

    def _check_removable(self, item: StockItem, batch_id: str | None, amount: Decimal) -> None:
        if batch_id is not None:
            self._existing_batch(item, batch_id)
        unreserved = item.unreserved_in(batch_id)
        if amount > unreserved:
            raise InsufficientStockError([Shortage(item.sku, amount, unreserved)])

    def _open_part(
        self, reservation_id: str, quantity: object, verb: str
    ) -> tuple[Reservation, Decimal]:
        reservation = self.reservation(reservation_id)
        still_open = reservation.open
        if quantity is None:
            if still_open <= 0:
                raise ReservationError(
                    reservation.id,
                    f"reservation {reservation.id} has nothing open to {verb} (released "
                    f"{reservation.released}, consumed {reservation.consumed})",
                )
            return reservation, still_open
        amount = self._quantity(quantity, "quantity")
        if amount > still_open:
            raise ReservationError(
                reservation.id,
                f"cannot {verb} {amount} of reservation {reservation.id}: only {still_open} is "
                f"open; {verb} at most {still_open}",
            )
        return reservation, amount

    def _hold(
        self,
        order_id: str,
        allocations: tuple[Allocation, ...],
        items: list[StockItem],
        amounts: list[Decimal],
        at: dt.datetime,
        actor: str,
    ) -> tuple[Reservation, ...]:
        """Apply checked allocations: reservations, reserved figures, ledger rows, alerts."""
        known = self._reservations
        pending = self._pending
        sequence = self._sequence
        made: list[Reservation] = []
        ids: list[str] = []
        watched: list[StockItem] = []
        for allocation, item, amount in zip(allocations, items, amounts, strict=True):
            line_id = allocation.line_id
            batch_id = allocation.batch_id
            wh = item.warehouse_id
            if batch_id is None:
                rid = f"{order_id}/{line_id}/{wh}"
            else:
                rid = f"{order_id}/{line_id}/{wh}/{batch_id}"
                item.batches[batch_id].reserved += amount
            if rid in known:
                rid = self._repeated_id(rid)
            reservation = _new_reservation(rid, order_id, line_id, item.sku, wh, amount, batch_id)
            known[rid] = reservation
            made.append(reservation)
            ids.append(rid)
            item.reserved += amount
            sequence += 1
            # A plain row on the hot path; it becomes a LedgerEntry when the ledger is read.
            pending.append(
                (sequence, item.sku, wh, amount, at, batch_id, actor, order_id, line_id, rid)
            )
            if item.reorder_point is not None:
                watched.append(item)
        self._sequence = sequence
        listed = self._by_order.get(order_id)
        if listed is None:
            self._by_order[order_id] = ids
        else:
            listed.extend(ids)
        for item in watched:
            self._watch(item, at)
        return tuple(made)

    def _repeated_id(self, base: str) -> str:
        """The id of the same line reserved again in the same place (after a change): numbered."""
        counter = self._repeats.get(base, 1)
        rid = base
        while rid in self._reservations:
            counter += 1
            rid = f"{base}#{counter}"
        self._repeats[base] = counter
        return rid

    @staticmethod
    def _change_reserved(item: StockItem, batch_id: str | None, delta: Decimal) -> None:
        item.reserved += delta
        if batch_id is not None:
            item.batches[batch_id].reserved += delta

    @staticmethod
    def _change_on_hand(item: StockItem, batch_id: str | None, delta: Decimal) -> None:
        item.on_hand += delta
        if batch_id is not None:
            item.batches[batch_id].on_hand += delta

    @staticmethod
    def _add_on_hand(
        item: StockItem, batch_id: str | None, expiry: dt.date | None, amount: Decimal
    ) -> None:
        item.on_hand += amount
        if batch_id is not None:
            batch = item.batches.get(batch_id)
            if batch is None:
                item.batches[batch_id] = Batch(batch_id, expiry, amount)
            else:
                batch.on_hand += amount
                if batch.expiry is None:
                    batch.expiry = expiry

    def _append(
        self,
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
        ledger = self._entries()
        self._sequence += 1
        entry = LedgerEntry(
            self._sequence,
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
        ledger.append(entry)
        return entry

    def _entries(self) -> list[LedgerEntry]:
        """The whole ledger as entries, building any pending reservation rows first."""
        if self._pending:
            self._ledger.extend([_reservation_entry(*row) for row in self._pending])
            self._pending.clear()
        return self._ledger

    def _watch(self, item: StockItem, at: dt.datetime) -> None:
        """Raise LowStock when available is at/below the reorder point and was not already."""
        point = item.reorder_point
        if point is None:
            return
        free = item.on_hand - item.reserved - item.safety_stock
        if free <= point:
            if not item.low_stock:
                item.low_stock = True
                available = free if free > 0 else _ZERO
                suggested = item.reorder_quantity or point - available + self._unit
                self._events.append(
                    LowStock(item.sku, item.warehouse_id, available, point, suggested, at)
                )
        elif item.low_stock:
            item.low_stock = False

    # ------------------------------------------------------------------ undo points

    def has_reservations(self, order_id: str) -> bool:
        """True when any reservation (open or not) was ever made for ``order_id``."""
        return order_id in self._by_order

    def undo_point(
        self,
        item_keys: Collection[ItemKey],
        reservation_ids: Sequence[str] = (),
        *,
        renumbers: bool = False,
    ) -> Callable[[], None]:
        """Capture what an operation on ``item_keys`` may change; calling the result restores it.

        For a storage adapter that keeps the book in memory and must roll a unit of work back:
        the items' figures, levels and batches (items the operation creates are removed), the
        ledger (entries appended after this point are cut), the reservations ``reservation_ids``
        as they are now, reservations made after this point (removed), and with ``renumbers``
        the counters that number repeated reservation ids. Undo points must be applied in the
        reverse order they were taken.
        """
        repeats = dict(self._repeats) if renumbers else None
        items = self._items
        saved = [(key, items.get(key)) for key in item_keys]
        states = [(item, _item_state(item)) for _, item in saved if item is not None]
        new_keys = [key for key, item in saved if item is None]
        ledger_length = len(self._ledger) + len(self._pending)
        sequence = self._sequence
        reservation_count = len(self._reservations)
        released = [(rid, self._reservations[rid]) for rid in reservation_ids]

        def undo() -> None:
            for item, state in states:
                _restore_item(item, state)
            for key in new_keys:
                created = items.pop(key, None)
                if created is not None:
                    kept = [i for i in self._by_sku.get(key[0], ()) if i is not created]
                    if kept:
                        self._by_sku[key[0]] = kept
                    else:
                        self._by_sku.pop(key[0], None)
            del self._entries()[ledger_length:]  # pending rows are built first, then cut
            self._sequence = sequence
            for rid, reservation in released:
                self._reservations[rid] = reservation
            if repeats is not None:
                self._repeats.clear()
                self._repeats.update(repeats)
            if len(self._reservations) > reservation_count:
                for rid in list(self._reservations)[reservation_count:]:
                    gone = self._reservations.pop(rid)
                    listed_ids = self._by_order.get(gone.order_id)
                    if listed_ids is not None:
                        listed_ids.remove(rid)
                        if not listed_ids:
                            del self._by_order[gone.order_id]

        return undo

    def warehouse_undo_point(self) -> Callable[[], None]:
        """Capture the registered warehouses; calling the result restores them."""
        before = (dict(self._warehouses), self._warehouse_view)

        def undo() -> None:
            self._warehouses, self._warehouse_view = before

        return undo

    def incoming_undo_point(self, incoming_id: str) -> Callable[[], None]:
        """Calling the result forgets the expected receipt ``incoming_id`` recorded after it."""
        incoming = self._incoming
        existed = incoming.get(incoming_id)

        def undo() -> None:
            if existed is None:
                incoming.pop(incoming_id, None)
            else:
                incoming[incoming_id] = existed

        return undo


def _item_state(item: StockItem) -> tuple[Any, ...]:
    batches = (
        tuple((b.batch_id, b.expiry, b.on_hand, b.reserved) for b in item.batches.values())
        if item.batches
        else ()
    )
    return (
        item.on_hand,
        item.reserved,
        item.safety_stock,
        item.reorder_point,
        item.reorder_quantity,
        item.low_stock,
        batches,
    )


def _restore_item(item: StockItem, state: tuple[Any, ...]) -> None:
    (
        item.on_hand,
        item.reserved,
        item.safety_stock,
        item.reorder_point,
        item.reorder_quantity,
        item.low_stock,
        batches,
    ) = state
    if batches or item.batches:
        item.batches.clear()
        for batch_id, expiry, on_hand, reserved in batches:
            item.batches[batch_id] = Batch(batch_id, expiry, on_hand, reserved)


def _reservation_entry(
    sequence: int,
    sku: str,
    warehouse_id: str,
    amount: Decimal,
    at: dt.datetime,
    batch_id: str | None,
    actor: str,
    order_id: str,
    line_id: str,
    reservation_id: str,
) -> LedgerEntry:
    """The RESERVATION entry of a pending row (see ``StockBook._hold``)."""
    return LedgerEntry(
        sequence,
        Movement.RESERVATION,
        sku,
        warehouse_id,
        _ZERO,
        amount,
        at,
        batch_id,
        actor,
        "",
        order_id,
        line_id,
        None,
        reservation_id,
        None,
    )


def _incoming_for(
    shipments: Iterable[IncomingStock], skus: Container[str]
) -> dict[str, tuple[IncomingStock, ...]]:
    grouped: dict[str, list[IncomingStock]] = {}
    for shipment in shipments:
        if shipment.sku in skus:
            grouped.setdefault(shipment.sku, []).append(shipment)
    return {
        sku: tuple(sorted(found, key=lambda i: (i.eta, i.id))) for sku, found in grouped.items()
    }


def reservable_batches(item: StockItem, cap: Decimal) -> tuple[AvailableBatch, ...]:
    """Batches with something reservable, earliest expiry first (FEFO), each capped at ``cap``."""
    lots = []
    for batch in sorted(item.batches.values(), key=_ordered_fefo):
        free = batch.on_hand - batch.reserved
        if free > cap:
            free = cap
        if free > 0:
            lots.append(AvailableBatch(batch.batch_id, free, batch.expiry))
    return tuple(lots)


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
