"""The in-memory store: the reference implementation of every storage port.

``MemoryStore().unit_of_work`` is a :class:`~salesorders.ports.UnitOfWorkFactory`. A unit of work
holds the store's one lock from ``__enter__`` to ``__exit__``, so units of work run one at a time
(thread-safe, trivially serializable). Changes are applied in place and each records how to undo
itself in a journal; ``rollback`` replays the journal backwards, so a rolled-back unit of work
leaves the store exactly as it found it. Orders are copied on the way in and out (their fields are
immutable values, so a shallow copy isolates them). Stock lives in domain
:class:`~salesorders.domain.stock.StockTables`; its repository journals the rows a change replaces.

``store.read()`` opens a read (a :class:`MemoryRead`): a unit of work whose changes are refused
with :class:`~salesorders.errors.ProgrammingError` (each is undone before the error is raised).
It holds the store's lock too: units of work change the store in place, so a read without the
lock could see a change that is then rolled back, or half of one.

Nothing is persisted: the store lives as long as the object.

:class:`MemoryCatalog` is a product catalogue held in memory (a
:class:`~salesorders.ports.Catalog`), for tests, demos and hosts whose catalogue is small.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import datetime as dt
import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from types import MappingProxyType, TracebackType
from typing import Any, Self

import attrs

from salesorders.adapters._memory_audit import AuditTables, MemoryAuditLog
from salesorders.adapters._memory_customers import MemoryCustomerRepository
from salesorders.adapters._memory_outbox import MemoryOutboxStore, OutboxTables
from salesorders.adapters._memory_personal import MemoryPersonalData
from salesorders.domain.catalog import Product
from salesorders.domain.logistics import LateShipment, LeadTime, OpenShipment
from salesorders.domain.logistics_queries import (
    LateShipmentQuery,
    LeadTimeQuery,
    Page,
    ShipmentQuery,
    select_late_shipments,
    select_lead_times,
    select_open_shipments,
)
from salesorders.domain.order import Order
from salesorders.domain.snapshot import IncomingStock, StockSnapshot
from salesorders.domain.stock import (
    LedgerEntry,
    LockedStock,
    Reservation,
    StockBook,
    StockChange,
    StockItem,
    StockTables,
)
from salesorders.domain.ticket_sla import DueTicket, TicketQuery, select_tickets_due
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import (
    ConcurrencyConflictError,
    ConflictError,
    IdempotencyConflictError,
    NotFoundError,
    NotSupportedError,
    ValidationError,
)
from salesorders.ports import (
    IdempotencyRecord,
    OrderPage,
    OrderQuery,
    UnitOfWork,
    read_only_refusal,
)
from salesorders.serialization import Serializer

__all__ = ["MemoryCatalog", "MemoryRead", "MemoryStore", "MemoryUnitOfWork"]

Undo = Callable[[], None]


def _make_order_copier() -> Callable[[Order], Order]:
    """Generate ``copy(order)``: a new Order sharing the (immutable) field values, no events.

    Generated once from the attrs fields, like attrs' own methods: one plain assignment per
    field is an order of magnitude faster than a loop of getattr/setattr.
    """
    names = [field.name for field in attrs.fields(Order) if field.name != "events"]
    body = "".join(f"    new.{name} = order.{name}\n" for name in names)
    source = (
        "def copy_order(order, _new=object.__new__, _cls=Order):\n"
        "    new = _new(_cls)\n" + body + "    new.events = []\n    return new\n"
    )
    namespace: dict[str, Any] = {"Order": Order}
    exec(compile(source, "<salesorders order copier>", "exec"), namespace)
    copier: Callable[[Order], Order] = namespace["copy_order"]
    return copier


_copy_order = _make_order_copier()


# --------------------------------------------------------------------------- orders


class _Orders:
    """Orders by id, with a number index; ``list`` sorts by (created_at, id)."""

    __slots__ = ("by_id", "by_number")

    def __init__(self) -> None:
        self.by_id: dict[str, Order] = {}
        self.by_number: dict[str, str] = {}


class MemoryOrderRepository:
    __slots__ = ("_data", "_journal")

    def __init__(self, data: _Orders, journal: list[Undo]) -> None:
        self._data = data
        self._journal = journal

    def add(self, order: Order) -> None:
        by_id = self._data.by_id
        if order.id in by_id:
            raise ConflictError(f"order {order.id!r} already exists; use a new id")
        order.version = 1
        by_id[order.id] = _copy_order(order)
        self._index_number(order.id, None, order.number)
        self._journal.append(lambda: self._forget(order.id))

    def save(self, order: Order) -> None:
        stored = self._data.by_id.get(order.id)
        if stored is None:
            raise NotFoundError("order", order.id)
        if stored.version != order.version:
            raise ConcurrencyConflictError(order.id, order.version, stored.version)
        order.version += 1
        number = order.number
        self._data.by_id[order.id] = _copy_order(order)
        self._index_number(order.id, stored.number, number)
        self._journal.append(lambda: self._restore(stored, number))

    def waiting(self, limit: int = 1000) -> tuple[Order, ...]:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise ValidationError("limit", limit, "must be an int from 1 to 10,000")
        found = [o for o in self._data.by_id.values() if o.waiting]
        found.sort(key=lambda o: (o.placed_at or o.created_at, o.id))
        return tuple(_copy_order(o) for o in found[:limit])

    # The reference answers, over every stored order (their fields are immutable values).

    def open_shipments(self, query: ShipmentQuery) -> Page[OpenShipment]:
        return select_open_shipments(self._data.by_id.values(), query)

    def late_shipments(self, query: LateShipmentQuery) -> Page[LateShipment]:
        return select_late_shipments(self._data.by_id.values(), query)

    def lead_times(self, query: LeadTimeQuery) -> Page[LeadTime]:
        return select_lead_times(self._data.by_id.values(), query)

    def tickets_due(self, query: TicketQuery) -> tuple[DueTicket, ...]:
        return select_tickets_due(self._data.by_id.values(), query)

    def get(self, order_id: str) -> Order:
        stored = self._data.by_id.get(order_id)
        if stored is None:
            raise NotFoundError("order", order_id)
        return _copy_order(stored)

    def get_by_number(self, number: str) -> Order:
        order_id = self._data.by_number.get(number)
        if order_id is None:
            raise NotFoundError("order number", number)
        return _copy_order(self._data.by_id[order_id])

    def list(self, query: OrderQuery) -> OrderPage:
        limit = query.limit  # OrderQuery checked its fields when it was built
        newest = query.newest_first
        after = _decode_cursor(query.after, newest) if query.after is not None else None
        matches = sorted(
            (o for o in self._data.by_id.values() if _matches(o, query)),
            key=lambda o: (o.created_at, o.id),
        )
        total = len(matches) if query.with_total else None  # every match, before the cursor
        if after is not None:
            keys = [(o.created_at, o.id) for o in matches]
            if newest:  # the orders before the cursor
                matches = matches[: bisect.bisect_left(keys, after)]
            else:
                matches = matches[bisect.bisect_right(keys, after) :]
        if newest:
            matches.reverse()
        page = matches[:limit]
        more = len(matches) > limit
        cursor = _encode_cursor(page[-1], newest) if more and page else None
        return OrderPage(tuple(_copy_order(o) for o in page), cursor, total)

    def _index_number(self, order_id: str, old: str | None, new: str | None) -> None:
        if old == new:
            return
        if old is not None:
            self._data.by_number.pop(old, None)
        if new is not None:
            self._data.by_number[new] = order_id

    def _forget(self, order_id: str) -> None:
        removed = self._data.by_id.pop(order_id)
        if removed.number is not None:
            self._data.by_number.pop(removed.number, None)

    def _restore(self, stored: Order, saved_number: str | None) -> None:
        self._data.by_id[stored.id] = stored
        self._index_number(stored.id, saved_number, stored.number)


def _matches(order: Order, query: OrderQuery) -> bool:
    if query.customer_id is not None and order.customer_id != query.customer_id:
        return False
    if query.state is not None and order.state != query.state:
        return False
    if query.created_from is not None and order.created_at < query.created_from:
        return False
    if query.sku is not None and all(line.sku != query.sku for line in order.lines):
        return False
    return query.created_to is None or order.created_at < query.created_to


def _encode_cursor(order: Order, newest_first: bool = False) -> str:
    # a newest-first listing's cursors start with "-", so one cannot page the other way
    text = f"{'-' if newest_first else ''}{order.created_at.isoformat()}|{order.id}"
    return base64.urlsafe_b64encode(text.encode()).decode()


def _decode_cursor(cursor: str, newest_first: bool = False) -> tuple[dt.datetime, str]:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        moment, _, order_id = text.partition("|")
        descending = moment.startswith("-")
        at = dt.datetime.fromisoformat(moment.removeprefix("-"))
    except (ValueError, binascii.Error, UnicodeError, AttributeError):
        at = None
        order_id = ""
        descending = newest_first
    if at is None or at.utcoffset() is None or not order_id or descending != newest_first:
        raise ValidationError(
            "after", cursor, "is not a cursor of this repository", "pass a page's next_cursor"
        )
    return (at, order_id)


# --------------------------------------------------------------------------- stock


class MemoryStockRepository:
    """The stock port over :class:`~salesorders.domain.stock.StockTables`.

    ``lock`` hands out copies (the store's one lock already serializes units of work);
    ``apply`` journals the rows it replaces, so a rollback puts them back.
    """

    __slots__ = ("_journal", "_tables")

    def __init__(self, tables: StockTables, journal: list[Undo]) -> None:
        self._tables = tables
        self._journal = journal

    @property
    def quantity_places(self) -> int:
        return self._tables.quantity_places

    # ------------------------------------------------------------------ changes

    def add_warehouse(self, warehouse: Warehouse) -> None:
        tables = self._tables
        before = tables.warehouse_rows
        tables.add_warehouse(warehouse)
        self._journal.append(lambda: tables.set_warehouses(before))

    def lock(
        self,
        keys: Collection[tuple[str, str]],
        *,
        order_id: str | None = None,
        create: bool = False,
    ) -> LockedStock:
        return self._tables.lock(keys, order_id=order_id, create=create)

    def lock_incoming(self, incoming_id: str) -> IncomingStock | None:
        return self._tables.lock_incoming(incoming_id)

    def apply(self, change: StockChange, *, numbered: bool = False) -> tuple[LedgerEntry, ...]:
        tables = self._tables
        rows = tables.item_rows
        keys = [(item.sku, item.warehouse_id) for item in change.items]
        replaced_items = [(key, rows.get(key)) for key in keys]
        added = change.reservations
        settled = change.settled
        replaced = [tables.reservation_rows[r.id] for r in settled] if settled else ()
        moved = change.expected or change.arrived
        expected: list[tuple[str, IncomingStock | None]] = []
        if moved:
            incoming = tables.incoming_rows
            expected = [(i.id, incoming.get(i.id)) for i in change.expected]
            expected += [(i, incoming.get(i)) for i in change.arrived]
        length = len(tables.ledger_rows)

        def undo() -> None:
            for key, item in replaced_items:
                _put_item(tables, key, item)
            reservations = tables.reservation_rows
            orders = tables.order_rows
            for reservation in added:
                reservations.pop(reservation.id)
                listed = orders[reservation.order_id]
                listed.remove(reservation.id)
                if not listed:
                    del orders[reservation.order_id]
            for reservation in replaced:
                reservations[reservation.id] = reservation
            incoming = tables.incoming_rows
            for iid, before in reversed(expected):
                if before is None:
                    incoming.pop(iid, None)
                else:
                    incoming[iid] = before
            del tables.ledger_rows[length:]

        entries = tables.apply(change)
        self._journal.append(undo)
        return entries if numbered else ()

    # ------------------------------------------------------------------ reading

    def warehouses(self) -> dict[str, Warehouse]:
        return self._tables.warehouses()

    def snapshot(self, skus: Collection[str], on: dt.date | None = None) -> StockSnapshot:
        return self._tables.snapshot(skus, on)

    def reservation(self, reservation_id: str) -> Reservation | None:
        return self._tables.reservation(reservation_id)

    def reservations(self, order_id: str | None = None) -> tuple[Reservation, ...]:
        return self._tables.reservations(order_id)

    def open_reservations(self, keys: Collection[tuple[str, str]]) -> tuple[Reservation, ...]:
        return self._tables.open_reservations(keys)

    def incoming(self) -> tuple[IncomingStock, ...]:
        return self._tables.incoming()

    def items(self) -> tuple[StockItem, ...]:
        return tuple(item.copy() for item in self._tables.items())

    def ledger(self) -> tuple[LedgerEntry, ...]:
        return self._tables.ledger()


def _put_item(tables: StockTables, key: tuple[str, str], item: StockItem | None) -> None:
    """Put back the item stored under ``key`` before a change (``None``: there was none)."""
    sku, warehouse_id = key
    if item is None:
        tables.item_rows.pop(key, None)
        place = tables.sku_rows.get(sku)
        if place is not None:
            place.pop(warehouse_id, None)
            if not place:
                del tables.sku_rows[sku]
    else:
        tables.item_rows[key] = item
        tables.sku_rows.setdefault(sku, {})[warehouse_id] = item


# --------------------------------------------------------------------------- idempotency, numbers


class MemoryIdempotencyStore:
    __slots__ = ("_journal", "_records")

    def __init__(self, records: dict[str, IdempotencyRecord], journal: list[Undo]) -> None:
        self._records = records
        self._journal = journal

    def get(self, key: str, now: dt.datetime) -> IdempotencyRecord | None:
        record = self._records.get(key)
        return record if record is not None and record.expires_at > now else None

    def put(self, record: IdempotencyRecord) -> None:
        records = self._records
        previous = records.get(record.key)
        if previous is not None and previous.expires_at > record.created_at:
            raise IdempotencyConflictError(record.key, record.command)
        records[record.key] = record
        self._journal.append(lambda: self._restore(record.key, previous))

    def purge_expired(self, now: dt.datetime) -> int:
        records = self._records
        expired = [(k, r) for k, r in records.items() if r.expires_at <= now]
        for key, _ in expired:
            del records[key]

        def undo() -> None:
            records.update(expired)

        self._journal.append(undo)
        return len(expired)

    def _restore(self, key: str, previous: IdempotencyRecord | None) -> None:
        if previous is None:
            self._records.pop(key, None)
        else:
            self._records[key] = previous


class MemoryOrderNumbers:
    __slots__ = ("_journal", "_series")

    def __init__(self, series: dict[str, int], journal: list[Undo]) -> None:
        self._series = series
        self._journal = journal

    def next_number(self, series: str) -> int:
        numbers = self._series
        last = numbers.get(series, 0)
        numbers[series] = last + 1

        def undo() -> None:
            if last:
                numbers[series] = last
            else:
                numbers.pop(series, None)

        self._journal.append(undo)
        return last + 1


# --------------------------------------------------------------------------- unit of work


class MemoryUnitOfWork:
    """One unit of work over a :class:`MemoryStore`; holds the store's lock while open.

    The repositories and the undo journal belong to the store: the lock makes a unit of work
    their only user while it is open, so opening one costs a few attribute reads.
    """

    __slots__ = (
        "_journal",
        "_lock",
        "_store",
        "audit",
        "customers",
        "idempotency",
        "numbers",
        "orders",
        "outbox",
        "personal_data",
        "stock",
    )

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._journal = store._journal
        self._lock = store._lock
        self.orders = store._order_repository
        self.stock = store._stock_repository
        self.outbox = store._outbox_store
        self.audit = store._audit_log
        self.customers = store._customers
        self.idempotency = store._idempotency_store
        self.numbers = store._order_numbers
        self.personal_data = store._personal_data

    def __enter__(self) -> Self:
        store = self._store
        me = threading.get_ident()
        if store._owner == me:
            raise NotSupportedError(
                "a memory unit of work is already open in this thread; finish it before "
                "opening another (units of work do not nest)"
            )
        self._lock.acquire()
        store._owner = me
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        finally:
            self._store._owner = None
            self._lock.release()

    def commit(self) -> None:
        """Keep every change: forget the journal."""
        self._journal.clear()

    def rollback(self) -> None:
        """Undo every change not committed, newest first."""
        journal = self._journal
        while journal:
            journal.pop()()


class _ReadJournal(list[Undo]):
    """The journal of a read: it undoes each change as soon as it is recorded, and refuses it."""

    __slots__ = ()

    def append(self, undo: Undo, /) -> None:
        undo()
        raise read_only_refusal()


class MemoryRead(MemoryUnitOfWork):
    """A read of a :class:`MemoryStore` (``store.read()``): a unit of work that holds the store's
    lock and refuses every change with :class:`~salesorders.errors.ProgrammingError`, leaving
    the store as it was. ``commit`` keeps nothing (there is nothing to keep)."""

    __slots__ = ()

    def __enter__(self) -> Self:
        super().__enter__()
        self._swap_journal(_ReadJournal())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._swap_journal(self._store._journal)
        super().__exit__(exc_type, exc, tb)

    def _swap_journal(self, journal: list[Undo]) -> None:
        """Point every repository at ``journal`` (safe: the store's lock is held)."""
        store = self._store
        store._order_repository._journal = journal
        store._stock_repository._journal = journal
        store._outbox_store._journal = journal
        store._audit_log._journal = journal
        store._idempotency_store._journal = journal
        store._personal_data._journal = journal
        store._customers._journal = journal
        store._order_numbers._journal = journal


class MemoryStore:
    """Every port in memory. ``store.unit_of_work()`` opens a :class:`MemoryUnitOfWork`.

    ``store.stock_tables`` holds the stock rows (read them only between units of work).
    Stock quantities may have up to ``quantity_places`` decimal places (3: e.g. kilograms).
    """

    __slots__ = (
        "_audit_log",
        "_customers",
        "_idempotency_store",
        "_journal",
        "_lock",
        "_order_numbers",
        "_order_repository",
        "_outbox_store",
        "_owner",
        "_personal_data",
        "_stock_repository",
        "stock_tables",
    )

    def __init__(self, *, quantity_places: int = 3) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None  # the thread holding the lock
        self._journal: list[Undo] = []
        self.stock_tables = StockTables(quantity_places)
        journal = self._journal
        self._order_repository = MemoryOrderRepository(_Orders(), journal)
        self._stock_repository = MemoryStockRepository(self.stock_tables, journal)
        outbox, audit, keys = OutboxTables(), AuditTables(), dict[str, IdempotencyRecord]()
        self._outbox_store = MemoryOutboxStore(outbox, journal)
        self._audit_log = MemoryAuditLog(audit, journal)
        self._idempotency_store = MemoryIdempotencyStore(keys, journal)
        self._personal_data = MemoryPersonalData(outbox, keys, audit, journal)
        self._customers = MemoryCustomerRepository({}, journal)
        self._order_numbers = MemoryOrderNumbers({}, journal)

    @property
    def book(self) -> StockBook:
        """A :class:`StockBook` over the store's stock rows, for reports and checks (use it only
        between units of work)."""
        return StockBook.over(self.stock_tables)

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work (the store's :class:`~salesorders.ports.UnitOfWorkFactory`)."""
        return MemoryUnitOfWork(self)

    def read(self) -> UnitOfWork:
        """A new read (a :class:`MemoryRead`): changes nothing, holds the store's lock."""
        return MemoryRead(self)

    def use_serializer(self, serializer: Serializer) -> None:
        """Accept the service's serializer (the :class:`~salesorders.ports.Store` port): this store
        keeps orders as objects, not documents, so there is nothing to read back with it."""
        if not isinstance(serializer, Serializer):
            raise ValidationError("serializer", serializer, "must be a Serializer")


class MemoryCatalog:
    """A product catalogue held in memory: a :class:`~salesorders.ports.Catalog`.

    Built from :class:`~salesorders.domain.catalog.Product` values (one per SKU); ``add`` puts a
    product in or replaces the one with its SKU. Reads see a consistent catalogue at any time.
    """

    __slots__ = ("_lock", "_products")

    def __init__(self, products: Iterable[Product] = ()) -> None:
        self._lock = threading.Lock()
        known: dict[str, Product] = {}
        for index, product in enumerate(products):
            if not isinstance(product, Product):
                raise ValidationError(f"products[{index}]", product, "must be a Product")
            if product.sku in known:
                raise ValidationError(
                    f"products[{index}].sku", product.sku, "appears twice", "give one per SKU"
                )
            known[product.sku] = product
        self._products: Mapping[str, Product] = MappingProxyType(known)

    def add(self, product: Product) -> None:
        """Put ``product`` in the catalogue, replacing the one with the same SKU."""
        if not isinstance(product, Product):
            raise ValidationError("product", product, "must be a Product")
        with self._lock:
            # a new read-only mapping on every change: a reader never sees one half-changed
            self._products = MappingProxyType({**self._products, product.sku: product})

    def products(self, skus: Collection[str]) -> Mapping[str, Product]:
        """The products of the ``skus`` the catalogue knows, by SKU."""
        known = self._products
        return {sku: known[sku] for sku in skus if sku in known}
