"""Stock items, batches, reservations, expected receipts and the append-only ledger as rows.

The repository only locks, loads and applies: every rule is in :mod:`salesorders.domain.stock`.

**No oversell.** ``lock`` reads the stock rows of a whole command in one statement (PostgreSQL:
``SELECT ... ORDER BY sku, warehouse_id FOR UPDATE``, so locks are always taken in (SKU,
warehouse) order and two commands cannot deadlock; SQLite: the unit of work already holds the
database's single write lock). ``apply`` writes a change with one ``UPDATE ... FROM (VALUES ...)``
plus multi-row inserts (a reservation on PostgreSQL in one statement). ``snapshot`` locks the rows
it reads the same way, so the plan an allocation policy makes from it still fits when it is
reserved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
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
from salesorders.domain.checks import require_id
from salesorders.domain.snapshot import IncomingStock, StockSnapshot
from salesorders.domain.stock import (
    Batch,
    LedgerEntry,
    LockedStock,
    Movement,
    Reservation,
    StockChange,
    StockItem,
    build_snapshot,
)
from salesorders.domain.stock.model import numbered
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
    """The stock port over SQL rows: lock, load, apply."""

    __slots__ = ("_config", "_d", "_read", "_session", "_sql")

    def __init__(self, session: Session, config: StoreConfig) -> None:
        self._session = session
        self._config = config
        self._sql = config.sql
        self._d = config.dialect
        #: The SKUs the last snapshot read and its item and batch rows, while they stay current
        #: (see Dialect.snapshot_rows_stay_current and Dialect.snapshot_locks_items); any stock
        #: write of this unit of work drops it. The batch rows are ``None`` where only the item
        #: rows stay current (PostgreSQL).
        self._read: tuple[frozenset[str], list[Row], list[Row] | None] | None = None

    @property
    def quantity_places(self) -> int:
        return self._config.places

    # ------------------------------------------------------------------ warehouses

    def add_warehouse(self, warehouse: Warehouse) -> None:
        """Register a warehouse, or replace the one with the same id."""
        if not isinstance(warehouse, Warehouse):
            raise errors.ValidationError("warehouse", warehouse, "must be a Warehouse")
        require_id(warehouse.id, "warehouse.id")
        self._read = None
        doc = _json_text(self._config.serializer.dump(warehouse))
        self._session.run(self._sql.warehouse_upsert, (warehouse.id, doc))

    def warehouses(self) -> dict[str, Warehouse]:
        decode = self._config.warehouses.decode
        return {wid: decode(doc) for wid, doc in self._session.rows(self._sql.warehouse_all)}

    # ------------------------------------------------------------------ lock and load

    def lock(
        self, keys: Collection[ItemKey], *, order_id: str | None = None, create: bool = False
    ) -> LockedStock:
        """The items of ``keys`` with their batches, row-locked in key order on PostgreSQL.

        A lock of items whose SKUs the unit of work's last snapshot read, with no stock written
        since, is answered from the item rows that snapshot read: on SQLite they cannot have
        changed (the unit of work holds the database's write lock), on PostgreSQL the snapshot
        holds their row locks (and returned each row as the last writer left it). On PostgreSQL
        every key must be among those rows, and the batches of items that have some are read
        again under the locks, in one statement. ``order_id`` and ``create`` always read the
        database.
        """
        ordered = sorted(keys)
        read = self._read
        if (
            read is not None
            and order_id is None
            and not create
            and all(sku in read[0] for sku, _ in ordered)
        ):
            items, batched = _items_read(ordered, read[1], read[2])
            if read[2] is not None:
                return LockedStock(items)
            if len(items) == len(ordered):
                self._read_batches(items, batched)
                return LockedStock(items)
        if create:
            self._read = None
            for sku, warehouse_id in ordered:
                self._session.run(self._sql.item_create, (sku, warehouse_id))
        items, held = self._read_items(ordered, order_id)
        reservations: tuple[Reservation, ...] = ()
        if held and order_id is not None:
            rows = self._session.rows(
                self._sql.reservations_of_order, self._d.order_reservation_params(order_id)
            )
            reservations = tuple(map(_reservation, rows))
        return LockedStock(items, reservations)

    def lock_incoming(self, incoming_id: str) -> IncomingStock | None:
        rows = self._session.rows(self._sql.incoming_one, (incoming_id,))
        return _incoming(rows[0]) if rows else None

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
                params.extend(d.order_reservation_params(order_id))
            statement = self._sql.lock_items(len(chunk), order_id is not None)
            for row in self._session.rows(statement, params):
                key = (row[0], row[1])
                items[key] = _item(row)
                if row[8]:
                    batched.append(key)
                held = int(row[9])
        if order_id is not None and not items:
            # no item row carried the count: ask for it alone
            held = len(
                self._session.rows(self._sql.reservation_ids, d.order_reservation_params(order_id))
            )
        self._read_batches(items, batched)
        return items, held

    def _read_batches(self, items: dict[ItemKey, StockItem], batched: Sequence[ItemKey]) -> None:
        """Add the batches of the ``batched`` items, read after their locks are held."""
        d = self._d
        for chunk in _chunks(batched, d.rows_per_statement(2)):
            for row in self._session.rows(self._sql.batches_of(len(chunk)), d.pack(chunk, 2)):
                items[(row[0], row[1])].batches[row[2]] = _batch(row)

    # ------------------------------------------------------------------ apply

    def apply(self, change: StockChange, *, numbered: bool = False) -> tuple[LedgerEntry, ...]:
        """Write the change; with ``numbered``, return its ledger entries with their sequences."""
        self._read = None
        d = self._d
        if (
            change.reservations
            and d.writes_in_one_statement
            and not (numbered or change.settled or change.levels)
            and not (change.expected or change.arrived)
        ):
            figure_rows = self._figure_rows(change.items)
            batch_rows = self._batch_rows(change.batches)
            reservation_rows = self._reservation_rows(change.reservations)
            ledger_rows = self._ledger_rows(change.ledger)
            params = (
                len(figure_rows) * len(_FIGURE_TYPES)
                + len(batch_rows) * len(_BATCH_TYPES)
                + len(reservation_rows) * len(_RESERVATION_TYPES)
                + len(ledger_rows) * len(_LEDGER_TYPES)
            )
            if params <= d.max_params:
                statement = self._sql.reserve_writes(
                    len(figure_rows), len(batch_rows), len(reservation_rows), len(ledger_rows)
                )
                values = d.pack(figure_rows, 0) + d.pack(batch_rows, 0)
                values += d.pack(reservation_rows, 0) + d.pack(ledger_rows, 0)
                self._session.run(statement, values)
                return ()
        if change.items:
            if change.reservations or change.settled:
                # reserving and settling only ever touch items that were locked and exist
                rows = self._figure_rows(change.items)
                self._insert(self._sql.items_update, rows, len(_FIGURE_TYPES))
            else:
                self._insert(
                    self._sql.items_upsert, self._item_rows(change.items), len(_ITEM_TYPES)
                )
        if change.batches:
            rows = self._batch_rows(change.batches)
            self._insert(self._sql.batches_upsert, rows, len(_BATCH_TYPES))
        if change.reservations:
            rows = self._reservation_rows(change.reservations)
            self._insert(self._sql.reservations_insert, rows, len(_RESERVATION_TYPES))
        if change.settled:
            rows = [(r.id, d.dec(r.released), d.dec(r.consumed)) for r in change.settled]
            self._insert(self._sql.reservations_update, rows, 3)
        for incoming in change.expected:
            self._session.run(
                self._sql.incoming_upsert,
                (
                    incoming.id,
                    incoming.sku,
                    incoming.warehouse_id,
                    d.dec(incoming.quantity),
                    d.day(incoming.eta),
                    incoming.batch_id,
                    d.opt_day(incoming.expiry),
                    incoming.transfer_from,
                ),
            )
        for incoming_id in change.arrived:
            self._session.run(self._sql.incoming_delete, (incoming_id,))
        if numbered:
            return self._append_numbered(change.ledger)
        if change.ledger:
            rows = self._ledger_rows(change.ledger)
            self._insert(self._sql.ledger_append, rows, len(_LEDGER_TYPES))
        return ()

    def _append_numbered(self, entries: Sequence[LedgerEntry]) -> tuple[LedgerEntry, ...]:
        d = self._d
        rows = self._ledger_rows(entries)
        width = len(_LEDGER_TYPES)
        step = d.rows_per_statement(width)
        created: list[LedgerEntry] = []
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            returned = self._session.rows(
                self._sql.ledger_insert(len(chunk)), d.pack(chunk, width), writes=True
            )
            sequences = sorted(int(row[0]) for row in returned)
            for sequence, entry in zip(sequences, entries[start : start + step], strict=True):
                created.append(numbered(entry, sequence))
        return tuple(created)

    # ------------------------------------------------------------------ snapshot

    def snapshot(self, skus: Collection[str], on: dt.date | None = None) -> StockSnapshot:
        """Available stock, reservable batches and expected receipts of ``skus``, one statement.

        The snapshot is an allocation's input, so on PostgreSQL it row-locks the stock items it
        reads (in (SKU, warehouse) order, like ``lock``) until the unit of work ends: a plan
        made from it cannot be overtaken by another unit of work before it is reserved.
        """
        wanted = list(dict.fromkeys(skus))
        d = self._d
        rows = self._session.rows(*self._snapshot_statement(wanted))
        items: dict[ItemKey, StockItem] = {}
        lots: list[Row] = []
        expected: list[IncomingStock] = []
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
                expected.append(
                    IncomingStock(
                        row[3],
                        row[1],
                        row[2],
                        _dec(row[4]),
                        _day(row[10]),  # type: ignore[arg-type]
                        row[7],
                        _day(row[8]),
                        row[9],
                    )
                )
            else:
                docs.append((row[3], row[11]))
        for row in lots:
            item = items.get((row[1], row[2]))
            if item is not None:
                item.batches[row[3]] = _lot(row)
        if d.snapshot_rows_stay_current:
            self._read = (frozenset(wanted), [r for r in rows if r[0] == 0], lots)
        elif d.snapshot_locks_items and wanted:
            self._read = (frozenset(wanted), [r for r in rows if r[0] == 0], None)
        warehouses = self._config.warehouses.mapping(docs)
        return build_snapshot(warehouses, items.values(), expected, wanted, on)

    def snapshot_ahead(self, skus: Collection[str]) -> None:
        """Say that :meth:`snapshot` of ``skus`` comes next: on PostgreSQL (pipelined) it is sent
        with the next statement whose answer is waited for (the idempotency lookup), saving the
        snapshot its own round trip; its row locks are then taken after that statement's."""
        if self._session.reads_ahead:
            self._session.read_ahead(*self._snapshot_statement(list(dict.fromkeys(skus))))

    def _snapshot_statement(self, wanted: list[str]) -> tuple[str, Sequence[Any]]:
        if not wanted:
            return self._sql.warehouses_only, ()
        packed = self._d.pack([(sku,) for sku in wanted], 1)
        return self._sql.snapshot(len(wanted)), packed * 3

    # ------------------------------------------------------------------ reading

    def reservation(self, reservation_id: str) -> Reservation | None:
        rows = self._session.rows(self._sql.reservation_by_id, (reservation_id,))
        return _reservation(rows[0]) if rows else None

    def reservations(self, order_id: str | None = None) -> tuple[Reservation, ...]:
        """Reservations in the order they were made, of one order if ``order_id`` is given."""
        if order_id is None:
            rows = self._session.rows(self._sql.reservations_all)
        else:
            rows = self._session.rows(
                self._sql.reservations_of_order, self._d.order_reservation_params(order_id)
            )
        return tuple(map(_reservation, rows))

    def open_reservations(self, keys: Collection[ItemKey]) -> tuple[Reservation, ...]:
        found: list[Reservation] = []
        for sku, warehouse_id in sorted(keys):
            rows = self._session.rows(self._sql.reservations_open_at, (sku, warehouse_id))
            found.extend(map(_reservation, rows))
        return tuple(found)

    def incoming(self) -> tuple[IncomingStock, ...]:
        return tuple(map(_incoming, self._session.rows(self._sql.incoming_all)))

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

    # ------------------------------------------------------------------ rows

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

    def _item_rows(self, items: Iterable[StockItem]) -> list[Row]:
        d = self._d
        return [
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

    def _batch_rows(self, batches: Iterable[tuple[str, str, Batch]]) -> list[Row]:
        d = self._d
        return [
            (sku, wh, b.batch_id, d.opt_day(b.expiry), d.dec(b.on_hand), d.dec(b.reserved))
            for sku, wh, b in batches
        ]

    def _reservation_rows(self, reservations: Iterable[Reservation]) -> list[Row]:
        d = self._d
        return [
            (
                r.id,
                r.order_id,
                r.line_id,
                r.sku,
                r.warehouse_id,
                d.dec(r.quantity),
                r.batch_id,
                d.dec(r.released),
                d.dec(r.consumed),
            )
            for r in reservations
        ]

    def _ledger_rows(self, entries: Iterable[LedgerEntry]) -> list[Row]:
        d = self._d
        return [
            (
                e.movement.value,
                e.sku,
                e.warehouse_id,
                d.dec(e.on_hand_delta),
                d.dec(e.reserved_delta),
                d.time(e.at),
                e.batch_id,
                e.actor,
                e.reason,
                e.order_id,
                e.line_id,
                e.return_id,
                e.reservation_id,
                e.transfer_id,
            )
            for e in entries
        ]


def _lot(row: Row) -> Batch:
    """A batch from a snapshot's row."""
    return Batch(row[3], _day(row[10]), _dec(row[4]), _dec(row[5]))


def _items_read(
    keys: Sequence[ItemKey], rows: Sequence[Row], lots: Sequence[Row] | None
) -> tuple[dict[ItemKey, StockItem], list[ItemKey]]:
    """Fresh items of ``keys`` from a snapshot's rows, as ``lock`` reads them (keys with no row
    are missing), and the keys of those that count batches, in key order. With ``lots`` the
    batches are added from them; without, they are left for the caller to read."""
    wanted = set(keys)
    items: dict[ItemKey, StockItem] = {}
    batched: set[ItemKey] = set()
    for row in rows:
        key = (row[1], row[2])
        if key in wanted:
            if row[15]:
                batched.add(key)
            items[key] = StockItem(
                row[1],
                row[2],
                _dec(row[4]),
                _dec(row[5]),
                _dec(row[6]),
                _opt_dec(row[12]),
                _opt_dec(row[13]),
                bool(row[14]),
            )
    for row in lots or ():
        key = (row[1], row[2])
        if key in batched:
            items[key].batches[row[3]] = _lot(row)
    found = {key: items[key] for key in keys if key in items}
    return found, [key for key in found if key in batched]


def _incoming(row: Row) -> IncomingStock:
    return IncomingStock(
        row[0],
        row[1],
        row[2],
        _dec(row[3]),
        _day(row[4]),  # type: ignore[arg-type]
        row[5],
        _day(row[6]),
        row[7],
    )
