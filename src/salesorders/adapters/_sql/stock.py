"""Stock items, batches, reservations, expected receipts and the append-only ledger as rows.

**No oversell.** ``reserve`` reads the stock rows of the whole plan in one statement (PostgreSQL:
``SELECT ... ORDER BY sku, warehouse_id FOR UPDATE``, so locks are always taken in (SKU,
warehouse) order and two plans cannot deadlock; SQLite: the unit of work already holds the
database's single write lock), checks the summed demand per (SKU, warehouse, batch) in Python,
and writes every row with one ``UPDATE ... FROM (VALUES ...)`` plus multi-row inserts (on
PostgreSQL all in one statement). ``snapshot`` locks the rows it reads the same way, so the plan
an allocation policy makes from it still fits when it is reserved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from salesorders import errors
from salesorders.adapters._sql.dialect import _chunks, _day, _dec, _json_text, _opt_dec, _time
from salesorders.adapters._sql.session import Row, Session
from salesorders.adapters._sql.statements import (
    _BATCH_TYPES,
    _FIGURE_TYPES,
    _ITEM_TYPES,
    _LEDGER_TYPES,
    _RESERVATION_TYPES,
)
from salesorders.domain.checks import aware_time, require_text
from salesorders.domain.money import to_quantity
from salesorders.domain.plan import AllocationPlan
from salesorders.domain.snapshot import AvailableBatch, IncomingStock, StockSnapshot
from salesorders.domain.stock import (
    Batch,
    LedgerEntry,
    LowStock,
    Movement,
    Reservation,
    StockItem,
    StockLevels,
    find_shortages,
    reservable_batches,
)
from salesorders.domain.warehouse import Warehouse

if TYPE_CHECKING:
    from salesorders.adapters._sql.unit_of_work import StoreConfig

__all__ = ["SqlStockRepository"]

_ZERO: Final = Decimal(0)

ItemKey = tuple[str, str]
BucketKey = tuple[str, str, str | None]


def _item(row: Row) -> StockItem:
    return StockItem(
        row[0],
        row[1],
        _dec(row[2]),
        _dec(row[3]),
        _dec(row[4]),
        _opt_dec(row[5]),
        _opt_dec(row[6]),
        bool(row[7]),
    )


def _batch(row: Row) -> Batch:
    return Batch(row[2], _day(row[3]), _dec(row[4]), _dec(row[5]))


def _reservation(row: Row) -> Reservation:
    return Reservation(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        _dec(row[5]),
        row[6],
        _dec(row[7]),
        _dec(row[8]),
    )


def _ledger_entry(row: Row) -> LedgerEntry:
    return LedgerEntry(
        int(row[0]),
        Movement(row[1]),
        row[2],
        row[3],
        _dec(row[4]),
        _dec(row[5]),
        _time(row[6]),
        row[7],
        row[8],
        row[9],
        row[10],
        row[11],
        row[12],
        row[13],
        row[14],
    )


class SqlStockRepository:
    """Stock items, batches, reservations, expected receipts and the append-only ledger.

    Operations follow :class:`~salesorders.domain.stock.StockBook`: each validates everything,
    reads the rows it changes (locked on PostgreSQL, in (SKU, warehouse) order), computes the new
    figures on :class:`~decimal.Decimal`, and writes rows and ledger entries in bulk statements.
    """

    __slots__ = ("_config", "_d", "_events", "_session", "_sql")

    def __init__(self, session: Session, config: StoreConfig) -> None:
        self._session = session
        self._config = config
        self._sql = config.sql
        self._d = config.dialect
        self._events: list[LowStock] = []

    # ------------------------------------------------------------------ validation

    def _quantity(self, value: object, field: str) -> Decimal:
        return to_quantity(value, field, self._config.places)

    def _require_warehouse(self, warehouse_id: str) -> None:
        if not self._session.rows(self._sql.warehouse_exists, (warehouse_id,)):
            raise errors.UnknownWarehouseError(warehouse_id)

    # ------------------------------------------------------------------ warehouses and levels

    def add_warehouse(self, warehouse: Warehouse) -> None:
        """Register a warehouse, or replace the one with the same id."""
        if not isinstance(warehouse, Warehouse):
            raise errors.ValidationError("warehouse", warehouse, "must be a Warehouse")
        require_text(warehouse.id, "warehouse.id")
        doc = _json_text(self._config.serializer.dump(warehouse))
        self._session.run(self._sql.warehouse_upsert, (warehouse.id, doc))

    def warehouses(self) -> dict[str, Warehouse]:
        decode = self._config.warehouses.decode
        return {wid: decode(doc) for wid, doc in self._session.rows(self._sql.warehouse_all)}

    def set_levels(
        self,
        sku: str,
        warehouse_id: str,
        *,
        safety_stock: Decimal | int | None = None,
        reorder_point: Decimal | int | None = None,
        reorder_quantity: Decimal | int | None = None,
    ) -> None:
        """Set the safety stock, reorder point and reorder quantity (``None`` keeps a level)."""
        self._require_warehouse(warehouse_id)
        require_text(sku, "sku")
        levels = StockLevels.checked(
            self._config.places, safety_stock, reorder_point, reorder_quantity
        )
        item = self._lock_new_item(sku, warehouse_id)
        levels.apply_to(item)
        self._upsert_items([item])

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
        """Add received stock (into a batch when ``batch_id`` is given); one RECEIPT entry."""
        self._require_warehouse(warehouse_id)
        require_text(sku, "sku")
        amount = self._quantity(quantity, "quantity")
        aware_time(at)
        when = self._check_expiry(batch_id, expiry)
        item = self._lock_new_item(sku, warehouse_id)
        batch = None
        if batch_id is not None:
            batch = item.batches.get(batch_id)
            if batch is not None and when is not None and batch.expiry not in (None, when):
                raise errors.ValidationError(
                    "expiry",
                    expiry,
                    f"differs from batch {batch_id}'s expiry {batch.expiry} in {warehouse_id}",
                    "use a new batch id for stock with another expiry",
                )
            if batch is None:
                batch = Batch(batch_id, when)
                item.batches[batch_id] = batch
            elif batch.expiry is None:
                batch.expiry = when
            batch.on_hand += amount
        item.on_hand += amount
        self._watch(item, at)
        self._upsert_items([item])
        if batch is not None:
            self._upsert_batches([(item, batch)])
        movement = (Movement.RECEIPT, sku, warehouse_id, amount, _ZERO, at, batch_id, actor, reason)
        return self._append_ledger([(*movement, None, None, None, None, None)])[0]

    @staticmethod
    def _check_expiry(batch_id: str | None, expiry: object) -> dt.date | None:
        if expiry is not None and (
            isinstance(expiry, dt.datetime) or not isinstance(expiry, dt.date)
        ):
            raise errors.ValidationError("expiry", expiry, "must be a datetime.date or None")
        if batch_id is None:
            if expiry is not None:
                raise errors.ValidationError(
                    "expiry", expiry, "needs a batch_id", "give the batch the expiry belongs to"
                )
            return None
        require_text(batch_id, "batch_id")
        return expiry

    def expect(self, incoming: IncomingStock) -> None:
        """Record stock expected to arrive; it shows in snapshots until it is received."""
        if not isinstance(incoming, IncomingStock):
            raise errors.ValidationError("incoming", incoming, "must be an IncomingStock")
        require_text(incoming.id, "incoming.id")
        require_text(incoming.sku, "incoming.sku")
        self._require_warehouse(incoming.warehouse_id)
        quantity = self._quantity(incoming.quantity, "incoming.quantity")
        eta = incoming.eta
        if isinstance(eta, dt.datetime) or not isinstance(eta, dt.date):
            raise errors.ValidationError("incoming.eta", eta, "must be a datetime.date")
        d = self._d
        params = (incoming.id, incoming.sku, incoming.warehouse_id, d.dec(quantity), d.day(eta))
        if not self._session.count(self._sql.incoming_insert, params):
            raise errors.ValidationError(
                "incoming.id", incoming.id, "is already expected", "use a new id per shipment"
            )

    # ------------------------------------------------------------------ snapshot

    def snapshot(self, skus: Collection[str]) -> StockSnapshot:
        """Available stock, reservable batches and expected receipts of ``skus``, one statement.

        The snapshot is an allocation's input, so on PostgreSQL it row-locks the stock items it
        reads (in (SKU, warehouse) order, like ``reserve``) until the unit of work ends: a plan
        made from it cannot be overtaken by another unit of work before it is reserved.
        """
        wanted = list(dict.fromkeys(skus))
        d = self._d
        if wanted:
            sql = self._sql.snapshot(len(wanted))
            packed = d.pack([(sku,) for sku in wanted], 1)
            rows = self._session.rows(sql, packed * 3)
        else:
            rows = self._session.rows(self._sql.warehouses_only)
        items: dict[ItemKey, StockItem] = {}
        lots: list[Row] = []
        expected: dict[str, list[IncomingStock]] = {}
        docs: list[tuple[str, str]] = []
        for row in rows:
            kind = row[0]
            if kind == 0:
                items[(row[1], row[2])] = StockItem(
                    row[1], row[2], _dec(row[4]), _dec(row[5]), _dec(row[6])
                )
            elif kind == 1:
                lots.append(row)
            elif kind == 2:
                shipment = IncomingStock(row[3], row[1], row[2], _dec(row[4]), _day(row[10]))  # type: ignore[arg-type]
                expected.setdefault(row[1], []).append(shipment)
            else:
                docs.append((row[3], row[11]))
        for row in lots:
            item = items.get((row[1], row[2]))
            if item is not None:
                item.batches[row[3]] = Batch(row[3], _day(row[10]), _dec(row[4]), _dec(row[5]))
        available: dict[ItemKey, Decimal] = {}
        batches: dict[ItemKey, tuple[AvailableBatch, ...]] = {}
        for key, item in items.items():
            free = item.available
            if free > 0:
                available[key] = free
                if item.batches:
                    reservable = reservable_batches(item, free)
                    if reservable:
                        batches[key] = reservable
        incoming = {
            sku: tuple(sorted(found, key=lambda i: (i.eta, i.id)))
            for sku, found in expected.items()
        }
        warehouses = self._config.warehouses.mapping(docs)
        return StockSnapshot(warehouses, available, batches, incoming)

    # ------------------------------------------------------------------ reservations

    def reserve(
        self, plan: AllocationPlan, at: dt.datetime, actor: str = ""
    ) -> tuple[Reservation, ...]:
        """Reserve every allocation of ``plan``, or none (InsufficientStockError names each SKU).

        Demand is summed per (SKU, warehouse, batch) and per (SKU, warehouse) and checked against
        the stock rows read for this plan (row-locked on PostgreSQL) before anything is written.
        """
        if not isinstance(plan, AllocationPlan):
            raise errors.ValidationError("plan", plan, "must be an AllocationPlan")
        if plan.shortages:
            raise errors.InsufficientStockError(plan.shortages, plan.order_id)
        aware_time(at)
        order_id = plan.order_id
        allocations = plan.allocations
        if not allocations:
            return ()
        unit = self._config.unit
        amounts: list[Decimal] = []
        totals: dict[ItemKey, Decimal] = {}
        buckets: dict[BucketKey, Decimal] = {}
        for index, allocation in enumerate(allocations):
            amount = allocation.quantity
            if not (type(amount) is Decimal and amount > 0 and amount % unit == 0):
                amount = self._quantity(amount, f"allocations[{index}].quantity")
            key = (allocation.sku, allocation.warehouse_id)
            bucket = (key[0], key[1], allocation.batch_id)
            totals[key] = totals.get(key, _ZERO) + amount
            buckets[bucket] = buckets.get(bucket, _ZERO) + amount
            amounts.append(amount)
        items, held = self._read_items(sorted(totals), order_id)
        self._require_items(items, ((a.sku, a.warehouse_id) for a in allocations))
        for index, allocation in enumerate(allocations):
            batch_id = allocation.batch_id
            item = items[(allocation.sku, allocation.warehouse_id)]
            if batch_id is not None and batch_id not in item.batches:
                raise errors.ValidationError(
                    f"allocations[{index}].batch_id",
                    batch_id,
                    f"is not a batch of {item.sku} in {item.warehouse_id}",
                    "allocate from a batch the snapshot listed",
                )
        shortages = find_shortages(items, totals, buckets)
        if shortages:
            raise errors.InsufficientStockError(shortages, order_id)
        return self._hold(order_id, allocations, amounts, items, held, at, actor)

    def _require_items(self, items: Mapping[ItemKey, StockItem], keys: Iterable[ItemKey]) -> None:
        """Every key must name a stock item; the first that does not is reported (a (SKU,
        warehouse) never stocked is :class:`~salesorders.errors.UnknownStockItemError`, an unknown
        warehouse :class:`~salesorders.errors.UnknownWarehouseError`)."""
        for sku, warehouse_id in keys:
            if (sku, warehouse_id) not in items:
                self._require_warehouse(warehouse_id)
                raise errors.UnknownStockItemError(sku, warehouse_id)

    def _hold(
        self,
        order_id: str,
        allocations: Sequence[Any],
        amounts: Sequence[Decimal],
        items: Mapping[ItemKey, StockItem],
        held: int,
        at: dt.datetime,
        actor: str,
    ) -> tuple[Reservation, ...]:
        taken: set[str] = set()
        if held:
            taken.update(
                row[0] for row in self._session.rows(self._sql.reservation_ids, (order_id,))
            )
        d = self._d
        when = d.time(at)
        reservations: list[Reservation] = []
        reservation_rows: list[Row] = []
        ledger_rows: list[Row] = []
        touched: dict[ItemKey, StockItem] = {}
        touched_batches: dict[BucketKey, tuple[StockItem, Batch]] = {}
        for allocation, amount in zip(allocations, amounts, strict=True):
            sku, wh, batch_id, line_id = (
                allocation.sku,
                allocation.warehouse_id,
                allocation.batch_id,
                allocation.line_id,
            )
            base = (
                f"{order_id}/{line_id}/{wh}"
                if batch_id is None
                else (f"{order_id}/{line_id}/{wh}/{batch_id}")
            )
            rid = base
            counter = 1
            while rid in taken:
                counter += 1
                rid = f"{base}#{counter}"
            taken.add(rid)
            item = items[(sku, wh)]
            item.reserved += amount
            touched[(sku, wh)] = item
            if batch_id is not None:
                batch = item.batches[batch_id]
                batch.reserved += amount
                touched_batches[(sku, wh, batch_id)] = (item, batch)
            reservations.append(Reservation(rid, order_id, line_id, sku, wh, amount, batch_id))
            dec_amount = d.dec(amount)
            zero = d.dec(_ZERO)
            reservation_rows.append(
                (rid, order_id, line_id, sku, wh, dec_amount, batch_id, zero, zero)
            )
            ledger_rows.append(
                (
                    Movement.RESERVATION.value,
                    sku,
                    wh,
                    zero,
                    dec_amount,
                    when,
                    batch_id,
                    actor,
                    "",
                    order_id,
                    line_id,
                    None,
                    rid,
                    None,
                )
            )
        for item in touched.values():
            self._watch(item, at)
        figure_rows = self._figure_rows(touched.values())
        batch_rows = self._batch_rows(touched_batches.values())
        params = (
            len(figure_rows) * len(_FIGURE_TYPES)
            + len(batch_rows) * len(_BATCH_TYPES)
            + len(reservation_rows) * len(_RESERVATION_TYPES)
            + len(ledger_rows) * len(_LEDGER_TYPES)
        )
        if d.writes_in_one_statement and params <= d.max_params:
            statement = self._sql.reserve_writes(
                len(figure_rows), len(batch_rows), len(reservation_rows), len(ledger_rows)
            )
            values = d.pack(figure_rows, 0) + d.pack(batch_rows, 0)
            values += d.pack(reservation_rows, 0) + d.pack(ledger_rows, 0)
            self._session.run(statement, values)
        else:
            self._insert(self._sql.items_update, figure_rows, len(_FIGURE_TYPES))
            if batch_rows:
                self._insert(self._sql.batches_upsert, batch_rows, len(_BATCH_TYPES))
            self._insert(self._sql.reservations_insert, reservation_rows, len(_RESERVATION_TYPES))
            self._insert(self._sql.ledger_append, ledger_rows, len(_LEDGER_TYPES))
        return tuple(reservations)

    def release_order(
        self, order_id: str, at: dt.datetime, reason: str = "", actor: str = ""
    ) -> tuple[LedgerEntry, ...]:
        """Release everything still open for ``order_id``: one RELEASE entry per reservation."""
        aware_time(at)
        rows = self._session.rows(self._sql.reservations_to_release, (order_id,))
        still_open = [r for r in map(_reservation, rows) if r.open > 0]
        if not still_open:
            return ()
        items = self._lock_items(sorted({r.item_key for r in still_open}))
        self._require_items(items, (r.item_key for r in still_open))
        changes: list[tuple[Reservation, Decimal]] = []
        for reservation in still_open:
            amount = reservation.open
            item = items[reservation.item_key]
            item.reserved -= amount
            if reservation.batch_id is not None and reservation.batch_id in item.batches:
                item.batches[reservation.batch_id].reserved -= amount
            changes.append((reservation, amount))
        touched = {r.item_key: items[r.item_key] for r in still_open}
        for item in touched.values():
            self._watch(item, at)
        self._update_items(list(touched.values()))
        batches = {
            (r.sku, r.warehouse_id, r.batch_id): (
                items[r.item_key],
                items[r.item_key].batches[r.batch_id],
            )
            for r in still_open
            if r.batch_id is not None and r.batch_id in items[r.item_key].batches
        }
        if batches:
            self._upsert_batches(list(batches.values()))
        d = self._d
        self._insert(
            self._sql.reservations_update,
            [(r.id, d.dec(r.released + amount), d.dec(r.consumed)) for r, amount in changes],
            3,
        )
        return self._append_ledger(
            [
                (
                    Movement.RELEASE,
                    r.sku,
                    r.warehouse_id,
                    _ZERO,
                    -amount,
                    at,
                    r.batch_id,
                    actor,
                    reason,
                    r.order_id,
                    r.line_id,
                    None,
                    r.id,
                    None,
                )
                for r, amount in changes
            ]
        )

    def reservations(self, order_id: str | None = None) -> tuple[Reservation, ...]:
        """Reservations in the order they were made, of one order if ``order_id`` is given."""
        if order_id is None:
            rows = self._session.rows(self._sql.reservations_all)
        else:
            rows = self._session.rows(self._sql.reservations_of_order, (order_id,))
        return tuple(map(_reservation, rows))

    # ------------------------------------------------------------------ reading

    def items(self) -> tuple[StockItem, ...]:
        """Every stock item with its batches, by SKU then warehouse."""
        found = {(row[0], row[1]): _item(row) for row in self._session.rows(self._sql.items_all)}
        for row in self._session.rows(self._sql.batches_all):
            item = found.get((row[0], row[1]))
            if item is not None:
                item.batches[row[2]] = _batch(row)
        return tuple(found.values())

    def ledger(self) -> tuple[LedgerEntry, ...]:
        """Every ledger entry, oldest first."""
        return tuple(map(_ledger_entry, self._session.rows(self._sql.ledger_all)))

    def pull_events(self) -> list[LowStock]:
        """Hand over the low-stock alerts raised in this unit of work since the last call."""
        events, self._events = self._events, []
        return events

    # ------------------------------------------------------------------ rows

    def _lock_items(self, keys: Sequence[ItemKey]) -> dict[ItemKey, StockItem]:
        """The stored items of ``keys`` with their batches, row-locked on PostgreSQL."""
        return self._read_items(keys, None)[0]

    def _lock_new_item(self, sku: str, warehouse_id: str) -> StockItem:
        """The item, created empty first if it is new, so two first receipts cannot race."""
        key = (sku, warehouse_id)
        self._session.run(self._sql.item_create, (sku, warehouse_id))
        return self._lock_items([key])[key]

    def _read_items(
        self, keys: Sequence[ItemKey], order_id: str | None
    ) -> tuple[dict[ItemKey, StockItem], int]:
        """Items of ``keys`` (locked in key order on PostgreSQL) and their batches; with
        ``order_id`` also how many reservations the order already holds.

        Batches are read by a second statement, after the item locks are held, and only for
        items whose row says they have batches: a batch changes only under its item's lock.
        """
        d = self._d
        items: dict[ItemKey, StockItem] = {}
        batched: list[ItemKey] = []
        held = 0
        for chunk in _chunks(keys, d.rows_per_statement(2) - 1):
            params = d.pack(chunk, 2)
            if order_id is not None:
                params.append(order_id)
            statement = self._sql.lock_items(len(chunk), order_id is not None)
            for row in self._session.rows(statement, params):
                key = (row[0], row[1])
                items[key] = _item(row)
                if row[8]:
                    batched.append(key)
                held = int(row[9])
        for chunk in _chunks(batched, d.rows_per_statement(2)):
            for row in self._session.rows(self._sql.batches_of(len(chunk)), d.pack(chunk, 2)):
                items[(row[0], row[1])].batches[row[2]] = _batch(row)
        return items, held

    def _insert(self, statement: Any, rows: Sequence[Row], width: int) -> None:
        d = self._d
        for chunk in _chunks(rows, d.rows_per_statement(width)):
            self._session.run(statement(len(chunk)), d.pack(chunk, width))

    def _figure_rows(self, items: Iterable[StockItem]) -> list[Row]:
        d = self._d
        return [
            (
                i.sku,
                i.warehouse_id,
                d.dec(i.on_hand),
                d.dec(i.reserved),
                int(i.low_stock),
                len(i.batches),
            )
            for i in items
        ]

    def _batch_rows(self, batches: Iterable[tuple[StockItem, Batch]]) -> list[Row]:
        d = self._d
        return [
            (
                item.sku,
                item.warehouse_id,
                b.batch_id,
                d.opt_day(b.expiry),
                d.dec(b.on_hand),
                d.dec(b.reserved),
            )
            for item, b in batches
        ]

    def _update_items(self, items: Sequence[StockItem]) -> None:
        self._insert(self._sql.items_update, self._figure_rows(items), len(_FIGURE_TYPES))

    def _upsert_items(self, items: Sequence[StockItem]) -> None:
        d = self._d
        rows = [
            (
                i.sku,
                i.warehouse_id,
                d.dec(i.on_hand),
                d.dec(i.reserved),
                d.dec(i.safety_stock),
                d.opt_dec(i.reorder_point),
                d.opt_dec(i.reorder_quantity),
                int(i.low_stock),
                len(i.batches),
            )
            for i in items
        ]
        self._insert(self._sql.items_upsert, rows, len(_ITEM_TYPES))

    def _upsert_batches(self, batches: Sequence[tuple[StockItem, Batch]]) -> None:
        self._insert(self._sql.batches_upsert, self._batch_rows(batches), len(_BATCH_TYPES))

    def _append_ledger(self, entries: Sequence[Row]) -> tuple[LedgerEntry, ...]:
        """Insert ledger entries ``(movement, sku, wh, on_hand_delta, reserved_delta, at,
        batch_id, actor, reason, order_id, line_id, return_id, reservation_id, transfer_id)``
        and return them with the sequences the database gave them."""
        d = self._d
        rows = [
            (
                e[0].value,
                e[1],
                e[2],
                d.dec(e[3]),
                d.dec(e[4]),
                d.time(e[5]),
                *e[6:],
            )
            for e in entries
        ]
        width = len(_LEDGER_TYPES)
        created: list[LedgerEntry] = []
        for start in range(0, len(rows), d.rows_per_statement(width)):
            chunk = rows[start : start + d.rows_per_statement(width)]
            returned = self._session.rows(
                self._sql.ledger_insert(len(chunk)), d.pack(chunk, width), writes=True
            )
            sequences = sorted(int(row[0]) for row in returned)
            for sequence, entry in zip(sequences, entries[start : start + len(chunk)], strict=True):
                created.append(LedgerEntry(sequence, *entry))
        return tuple(created)

    def _watch(self, item: StockItem, at: dt.datetime) -> None:
        """Raise LowStock when available falls to or below the reorder point (once per crossing)."""
        point = item.reorder_point
        if point is None:
            return
        free = item.on_hand - item.reserved - item.safety_stock
        if free <= point:
            if not item.low_stock:
                item.low_stock = True
                available = free if free > 0 else _ZERO
                suggested = item.reorder_quantity or point - available + self._config.unit
                self._events.append(
                    LowStock(item.sku, item.warehouse_id, available, point, suggested, at)
                )
        elif item.low_stock:
            item.low_stock = False
