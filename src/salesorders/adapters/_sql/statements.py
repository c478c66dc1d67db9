"""Every statement of the SQL repositories, rendered once per store for its dialect."""

from __future__ import annotations

import functools
import threading
from typing import Any

from salesorders.adapters._sql.analytics_writes import AnalyticsStatements
from salesorders.adapters._sql.dialect import Dialect
from salesorders.adapters._sql.logistics import LogisticsStatements
from salesorders.adapters._sql.tickets import TicketStatements

__all__ = ["OUTBOX_PAIRS_PER_STATEMENT", "Statements"]

#: The most messages one ``outbox_delivered_many`` marks: its conditions are a chain of ORs, which
#: SQLite parses as deep as it is long (at most 1,000 levels).
OUTBOX_PAIRS_PER_STATEMENT = 250


_ITEM_COLUMNS = (
    "sku, warehouse_id, on_hand, reserved, safety_stock, reorder_point, reorder_quantity, "
    "low_stock, batch_count"
)
_ITEM_TYPES = ("text", "text", "dec", "dec", "dec", "dec", "dec", "int", "int")
_FIGURE_TYPES = ("text", "text", "dec", "dec", "int", "int")
_BATCH_COLUMNS = "sku, warehouse_id, batch_id, expiry, on_hand, reserved"
_BATCH_TYPES = ("text", "text", "text", "date", "dec", "dec")
_RESERVATION_COLUMNS = (
    "id, order_id, line_id, sku, warehouse_id, quantity, batch_id, released, consumed"
)
_RESERVATION_TYPES = ("text", "text", "text", "text", "text", "dec", "text", "dec", "dec")
_LEDGER_COLUMNS = (
    "movement, sku, warehouse_id, on_hand_delta, reserved_delta, at, batch_id, actor, reason, "
    "order_id, line_id, return_id, reservation_id, transfer_id"
)
_LEDGER_TYPES = (
    "text", "text", "text", "dec", "dec", "ts", "text", "text", "text",
    "text", "text", "text", "text", "text",
)  # fmt: skip
_INCOMING_COLUMNS = "id, sku, warehouse_id, quantity, eta, batch_id, expiry, transfer_from"
_OUTBOX_COLUMNS = (
    "event_id, stream_id, sequence, event_type, payload, occurred_at, attempts, status, "
    "last_error, next_attempt_at, delivered_at"
)
_OUTBOX_TYPES = ("text", "text", "int", "text", "json", "ts", "int", "text", "text", "ts", "ts")
_OUTBOX_RESULT = (
    "event_id, stream_id, sequence, event_type, CAST(payload AS TEXT), occurred_at, "
    "attempts, status, last_error, next_attempt_at, delivered_at"
)
_OUTBOX_SELECT = "SELECT " + _OUTBOX_RESULT + " FROM {p}outbox"
_DELIVERY_COLUMNS = (
    "event_id, channel, stream_id, event_type, recipient, status, attempts, last_error, "
    "provider_id, updated_at"
)
_DELIVERY_TYPES = ("text", "text", "text", "text", "text", "text", "int", "text", "text", "ts")
_DELIVERY_UPSERT = (
    "ON CONFLICT (event_id, channel) DO UPDATE SET "
    "stream_id = excluded.stream_id, event_type = excluded.event_type, "
    "recipient = excluded.recipient, status = excluded.status, "
    "attempts = excluded.attempts, last_error = excluded.last_error, "
    "provider_id = excluded.provider_id, updated_at = excluded.updated_at"
)
_DELIVERY_SELECT = (
    "SELECT event_id, channel, stream_id, event_type, recipient, status, attempts, last_error, "
    "provider_id, updated_at FROM {p}outbox_deliveries"
)
#: Parameters: now, now, owner, limit, now, limit, owner, lease_until. The heads of the streams
#: to take (the lowest pending sequence, due, not leased by another owner), then their due
#: pending messages up to the first that waits, leased in the same statement.
_OUTBOX_CLAIM = (
    "WITH heads AS (SELECT h.stream_id, h.sequence FROM {p}outbox AS h "
    "WHERE h.status = 'pending' AND (h.next_attempt_at IS NULL OR h.next_attempt_at <= ?) "
    "AND (h.lease_owner IS NULL OR h.lease_until <= ? OR h.lease_owner = ?) "
    "AND NOT EXISTS (SELECT 1 FROM {p}outbox AS e WHERE e.stream_id = h.stream_id "
    "AND e.status = 'pending' AND e.sequence < h.sequence) "
    "ORDER BY h.stream_id, h.sequence LIMIT ?{skip_locked}), "
    "picked AS (SELECT m.stream_id, m.sequence FROM {p}outbox AS m "
    "JOIN heads ON m.stream_id = heads.stream_id "
    "WHERE m.status = 'pending' AND NOT EXISTS (SELECT 1 FROM {p}outbox AS w "
    "WHERE w.stream_id = m.stream_id AND w.status = 'pending' AND w.sequence <= m.sequence "
    "AND w.next_attempt_at > ?) ORDER BY m.stream_id, m.sequence LIMIT ?) "
    "UPDATE {p}outbox SET lease_owner = ?, lease_until = ? "
    "WHERE status = 'pending' "
    "AND (stream_id, sequence) IN (SELECT stream_id, sequence FROM picked) "
    "RETURNING " + _OUTBOX_RESULT
)


class Statements:
    """Every statement of the repositories, rendered once per store for its dialect.

    Bulk statements (many rows in one statement) are rendered per row count and cached; the
    drivers prepare each text once it is used often.
    """

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        r = dialect.render
        # orders
        self.order_insert = r(
            "INSERT INTO {p}orders (id, number, customer_id, state, currency, created_at, "
            "placed_at, version, doc, waiting, confirmed_at, first_shipped_at, shipped_at, "
            "delivered_at, customer_group, grand_total, rate_base, rate, facts) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS {json}), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self.order_update = r(
            "UPDATE {p}orders SET number = ?, customer_id = ?, state = ?, currency = ?, "
            "placed_at = ?, version = ?, doc = CAST(? AS {json}), waiting = ?, "
            "confirmed_at = ?, first_shipped_at = ?, shipped_at = ?, delivered_at = ?, "
            "customer_group = ?, grand_total = ?, rate_base = ?, rate = ?, facts = ? "
            "WHERE id = ? AND version = ?"
        )
        self.logistics = LogisticsStatements(dialect)
        self.analytics = AnalyticsStatements(dialect)
        self.tickets = TicketStatements(dialect)
        self.order_version = r("SELECT version FROM {p}orders WHERE id = ?")
        self.orders_waiting = r(
            "SELECT CAST(doc AS TEXT), version FROM {p}orders WHERE waiting = 1 "
            "ORDER BY placed_at, id LIMIT ?"
        )
        self.order_by_id = r("SELECT CAST(doc AS TEXT), version FROM {p}orders WHERE id = ?")
        self.order_by_number = r(
            "SELECT CAST(doc AS TEXT), version FROM {p}orders WHERE number = ?"
        )
        # numbers
        self.next_number = r(
            "INSERT INTO {p}order_number_series AS s (series, last) VALUES (?, 1) "
            "ON CONFLICT (series) DO UPDATE SET last = s.last + 1 RETURNING last"
        )
        # idempotency
        self.idempotency_get = r(
            "SELECT key, command, fingerprint, CAST(result AS TEXT), created_at, expires_at "
            "FROM {p}idempotency WHERE key = ? AND expires_at > ?"
        )
        self.idempotency_put = r(
            "INSERT INTO {p}idempotency AS r (key, command, fingerprint, result, created_at, "
            "expires_at) VALUES (?, ?, ?, CAST(? AS {json}), ?, ?) ON CONFLICT (key) DO UPDATE "
            "SET command = excluded.command, fingerprint = excluded.fingerprint, "
            "result = excluded.result, created_at = excluded.created_at, "
            "expires_at = excluded.expires_at WHERE r.expires_at <= excluded.created_at "
            "RETURNING key"
        )
        self.idempotency_purge = r("DELETE FROM {p}idempotency WHERE expires_at <= ?")
        # outbox
        self.outbox_next_sequence = r(
            "SELECT COALESCE(MAX(sequence), 0) + 1 FROM {p}outbox WHERE stream_id = ?"
        )
        self.outbox_due = r(
            _OUTBOX_SELECT + " AS m WHERE status = 'pending' "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) "
            "AND NOT EXISTS (SELECT 1 FROM {p}outbox AS e WHERE e.stream_id = m.stream_id "
            "AND e.sequence < m.sequence AND e.status = 'pending' AND e.next_attempt_at > ?) "
            "ORDER BY stream_id, sequence LIMIT ?"
        )
        self.outbox_delivered = r(
            "UPDATE {p}outbox SET status = 'delivered', delivered_at = ?, lease_owner = NULL, "
            "lease_until = NULL WHERE stream_id = ? AND sequence = ?"
        )
        self.outbox_failed = r(
            "UPDATE {p}outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, "
            "status = ?, lease_owner = NULL, lease_until = NULL "
            "WHERE stream_id = ? AND sequence = ?"
        )
        # PostgreSQL: concurrent relays skip the heads another one is claiming instead of
        # waiting for it; SQLite: the unit of work holds the one write lock (BEGIN IMMEDIATE).
        skip_locked = " FOR UPDATE OF h SKIP LOCKED" if dialect.name == "postgresql" else ""
        self.outbox_claim = dialect.render(_OUTBOX_CLAIM.replace("{skip_locked}", skip_locked))
        self.outbox_postpone = r(
            "UPDATE {p}outbox SET next_attempt_at = ?, lease_owner = NULL, lease_until = NULL "
            "WHERE stream_id = ? AND sequence = ? AND status = 'pending'"
        )
        self.outbox_record_delivery = r(
            "INSERT INTO {p}outbox_deliveries (event_id, channel, stream_id, sequence, event_type, "
            "recipient, status, attempts, last_error, provider_id, updated_at) "
            "SELECT event_id, ?, ?, sequence, ?, ?, ?, ?, ?, ?, ? FROM {p}outbox "
            "WHERE stream_id = ? AND sequence = ? ON CONFLICT (event_id, channel) DO UPDATE SET "
            "stream_id = excluded.stream_id, event_type = excluded.event_type, "
            "recipient = excluded.recipient, status = excluded.status, "
            "attempts = excluded.attempts, last_error = excluded.last_error, "
            "provider_id = excluded.provider_id, updated_at = excluded.updated_at"
        )
        self.outbox_deliveries_all = r(_DELIVERY_SELECT + " ORDER BY stream_id, sequence, channel")
        self.outbox_deliveries_stream = r(
            _DELIVERY_SELECT + " WHERE stream_id = ? ORDER BY sequence, channel"
        )
        self.outbox_deliveries_event = r(_DELIVERY_SELECT + " WHERE event_id = ? ORDER BY channel")
        self.outbox_purge_deliveries = r(
            "DELETE FROM {p}outbox_deliveries WHERE event_id IN (SELECT event_id FROM {p}outbox "
            "WHERE status = 'delivered' AND delivered_at < ?)"
        )
        self.outbox_purge = r(
            "DELETE FROM {p}outbox WHERE status = 'delivered' AND delivered_at < ?"
        )
        self.outbox_redrive = r(
            "UPDATE {p}outbox SET status = 'pending', attempts = 0, next_attempt_at = ? "
            "WHERE stream_id = ? AND sequence = ? AND status = 'dead'"
        )
        self.outbox_dead = r(_OUTBOX_SELECT + " WHERE status = 'dead' ORDER BY stream_id, sequence")
        self.outbox_all = r(_OUTBOX_SELECT + " ORDER BY stream_id, sequence")
        self.outbox_stream = r(_OUTBOX_SELECT + " WHERE stream_id = ? ORDER BY sequence")
        # stock
        self.warehouse_upsert = r(
            "INSERT INTO {p}warehouses (id, doc) VALUES (?, CAST(? AS {json})) "
            "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc"
        )
        self.warehouse_all = r("SELECT id, CAST(doc AS TEXT) FROM {p}warehouses ORDER BY id")
        self.warehouse_exists = r("SELECT id FROM {p}warehouses WHERE id = ?")
        self.item_create = r(
            f"INSERT INTO {{p}}stock_items ({_ITEM_COLUMNS}) "
            "VALUES (?, ?, 0, 0, 0, NULL, NULL, 0, 0) ON CONFLICT (sku, warehouse_id) DO NOTHING"
        )
        self.items_all = r(
            f"SELECT {_ITEM_COLUMNS} FROM {{p}}stock_items ORDER BY sku, warehouse_id"
        )
        self.batches_all = r(
            f"SELECT {_BATCH_COLUMNS} FROM {{p}}batches ORDER BY sku, warehouse_id, batch_id"
        )
        self.incoming_upsert = r(
            f"INSERT INTO {{p}}incoming ({_INCOMING_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET quantity = excluded.quantity"
        )
        self.incoming_delete = r("DELETE FROM {p}incoming WHERE id = ?")
        self.incoming_one = r(
            f"SELECT {_INCOMING_COLUMNS} FROM {{p}}incoming WHERE id = ?" + dialect.lock_rows
        )
        self.incoming_all = r(f"SELECT {_INCOMING_COLUMNS} FROM {{p}}incoming ORDER BY eta, id")
        self.reservations_open_at = r(
            f"SELECT {_RESERVATION_COLUMNS} FROM {{p}}reservations WHERE sku = ? "
            "AND warehouse_id = ? AND quantity > released + consumed ORDER BY {position}"
        )
        self.reservations_all = r(
            f"SELECT {_RESERVATION_COLUMNS} FROM {{p}}reservations ORDER BY {{position}}"
        )
        self.reservations_of_order = r(
            f"SELECT {_RESERVATION_COLUMNS} FROM {{p}}reservations "
            f"WHERE {dialect.order_reservations()} ORDER BY {{position}}"
        )
        self.reservation_by_id = r(
            f"SELECT {_RESERVATION_COLUMNS} FROM {{p}}reservations WHERE id = ?"
        )
        self.reservation_ids = r(
            f"SELECT id FROM {{p}}reservations WHERE {dialect.order_reservations()}"
        )
        self.ledger_all = r(
            f"SELECT sequence, {_LEDGER_COLUMNS} FROM {{p}}stock_ledger ORDER BY sequence"
        )
        self.warehouses_only = r(
            "SELECT 3, NULL, NULL, id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
            "CAST(doc AS TEXT) FROM {p}warehouses"
        )
        self._cache: dict[tuple[str, Any], str] = {}
        self._lock = threading.Lock()

    def _bulk(self, name: str, count: Any) -> str:
        key = (name, count)
        found = self._cache.get(key)
        if found is None:
            found = getattr(self, "_render_" + name)(count)
            with self._lock:
                self._cache[key] = found
        return found

    # Bulk statements: one text per row count (SQLite) or one text for all (PostgreSQL).

    def lock_items(self, count: int, with_held: bool) -> str:
        return self._bulk("lock_items_held" if with_held else "lock_items", count)

    def _render_lock_items(self, count: int, held: str = "0") -> str:
        rows = self.dialect.rows(("text", "text"), count)
        columns = ", ".join("i." + name.strip() for name in _ITEM_COLUMNS.split(","))
        return self.dialect.render(
            f"WITH v (sku, warehouse_id) AS ({rows}) SELECT {columns}, {held} "
            "FROM v JOIN {p}stock_items AS i ON i.sku = v.sku AND i.warehouse_id = v.warehouse_id "
            "ORDER BY i.sku, i.warehouse_id" + self.dialect.lock_items
        )

    def _render_lock_items_held(self, count: int) -> str:
        held = (
            "(SELECT COUNT(*) FROM {p}reservations AS r "
            f"WHERE {self.dialect.order_reservations('r.')})"
        )
        return self._render_lock_items(count, held)

    def batches_of(self, count: int) -> str:
        return self._bulk("batches_of", count)

    def _render_batches_of(self, count: int) -> str:
        rows = self.dialect.rows(("text", "text"), count)
        columns = ", ".join("b." + name.strip() for name in _BATCH_COLUMNS.split(","))
        return self.dialect.render(
            f"WITH v (sku, warehouse_id) AS ({rows}) SELECT {columns} "
            "FROM v JOIN {p}batches AS b ON b.sku = v.sku AND b.warehouse_id = v.warehouse_id"
        )

    def snapshot(self, count: int) -> str:
        return self._bulk("snapshot", count)

    def _render_snapshot(self, count: int) -> str:
        skus = self.dialect.rows(("text",), count)
        # Where ``lock`` can be answered from the snapshot's item rows, the items' other figures
        # come too, in four trailing columns (see Dialect.snapshot_rows_stay_current and
        # Dialect.snapshot_locks_items); the other kinds of row leave them empty.
        d = self.dialect
        levels = d.snapshot_rows_stay_current or d.snapshot_locks_items
        locked = ", reorder_point, reorder_quantity, low_stock, batch_count" if levels else ""
        empty = ", NULL, NULL, NULL, NULL"
        tail = locked or empty
        return d.render(
            "WITH locked AS (SELECT sku, warehouse_id, on_hand, reserved, safety_stock"
            f"{locked} "
            f"FROM {{p}}stock_items AS i WHERE sku IN ({skus}) ORDER BY sku, warehouse_id"
            f"{d.lock_items}) "
            "SELECT 0, sku, warehouse_id, NULL, on_hand, reserved, safety_stock, NULL, NULL, "
            f"NULL, NULL, NULL{tail} FROM locked "
            "UNION ALL SELECT 1, sku, warehouse_id, batch_id, on_hand, reserved, NULL, NULL, "
            f"NULL, NULL, expiry, NULL{empty} FROM {{p}}batches WHERE sku IN ({skus}) "
            "UNION ALL SELECT 2, sku, warehouse_id, id, quantity, NULL, NULL, batch_id, "
            "CAST(expiry AS TEXT), "
            f"transfer_from, eta, NULL{empty} FROM {{p}}incoming WHERE sku IN ({skus}) "
            "UNION ALL SELECT 3, NULL, NULL, id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
            f"CAST(doc AS TEXT){empty} FROM {{p}}warehouses"
        )

    def items_update(self, count: int) -> str:
        return self._bulk("items_update", count)

    def _render_items_update(self, count: int) -> str:
        rows = self.dialect.rows(_FIGURE_TYPES, count)
        return self.dialect.render(
            "WITH v (sku, warehouse_id, on_hand, reserved, low_stock, batch_count) AS "
            f"({rows}) UPDATE {{p}}stock_items AS t SET on_hand = v.on_hand, "
            "reserved = v.reserved, low_stock = v.low_stock, batch_count = v.batch_count "
            "FROM v WHERE t.sku = v.sku AND t.warehouse_id = v.warehouse_id"
        )

    def items_upsert(self, count: int) -> str:
        return self._bulk("items_upsert", count)

    def _render_items_upsert(self, count: int) -> str:
        rows = self.dialect.rows(_ITEM_TYPES, count)
        return self.dialect.render(
            f"INSERT INTO {{p}}stock_items ({_ITEM_COLUMNS}) {rows} "
            "ON CONFLICT (sku, warehouse_id) DO UPDATE SET on_hand = excluded.on_hand, "
            "reserved = excluded.reserved, safety_stock = excluded.safety_stock, "
            "reorder_point = excluded.reorder_point, "
            "reorder_quantity = excluded.reorder_quantity, low_stock = excluded.low_stock, "
            "batch_count = excluded.batch_count"
        )

    def batches_upsert(self, count: int) -> str:
        return self._bulk("batches_upsert", count)

    def _render_batches_upsert(self, count: int) -> str:
        rows = self.dialect.rows(_BATCH_TYPES, count)
        return self.dialect.render(
            f"INSERT INTO {{p}}batches ({_BATCH_COLUMNS}) {rows} "
            "ON CONFLICT (sku, warehouse_id, batch_id) DO UPDATE SET expiry = excluded.expiry, "
            "on_hand = excluded.on_hand, reserved = excluded.reserved"
        )

    def reservations_insert(self, count: int) -> str:
        return self._bulk("reservations_insert", count)

    def _render_reservations_insert(self, count: int) -> str:
        rows = self.dialect.rows(_RESERVATION_TYPES, count)
        return self.dialect.render(f"INSERT INTO {{p}}reservations ({_RESERVATION_COLUMNS}) {rows}")

    def reservations_update(self, count: int) -> str:
        return self._bulk("reservations_update", count)

    def _render_reservations_update(self, count: int) -> str:
        rows = self.dialect.rows(("text", "dec", "dec"), count)
        return self.dialect.render(
            f"WITH v (id, released, consumed) AS ({rows}) UPDATE {{p}}reservations AS t "
            "SET released = v.released, consumed = v.consumed FROM v WHERE t.id = v.id"
        )

    def ledger_insert(self, count: int) -> str:
        return self._bulk("ledger_insert", count)

    def _render_ledger_insert(self, count: int) -> str:
        rows = self.dialect.rows(_LEDGER_TYPES, count)
        return self.dialect.render(
            f"INSERT INTO {{p}}stock_ledger ({_LEDGER_COLUMNS}) {rows} "
            "RETURNING sequence, reservation_id"
        )

    def ledger_append(self, count: int) -> str:
        return self._bulk("ledger_append", count)

    def _render_ledger_append(self, count: int) -> str:
        rows = self.dialect.rows(_LEDGER_TYPES, count)
        return self.dialect.render(f"INSERT INTO {{p}}stock_ledger ({_LEDGER_COLUMNS}) {rows}")

    def outbox_insert(self, count: int) -> str:
        return self._bulk("outbox_insert", count)

    def _render_outbox_insert(self, count: int) -> str:
        rows = self.dialect.rows(_OUTBOX_TYPES, count)
        return self.dialect.render(f"INSERT INTO {{p}}outbox ({_OUTBOX_COLUMNS}) {rows}")

    def outbox_delivered_many(self, count: int) -> str:
        """Parameters: delivered_at, then ``count`` (stream id, sequence) pairs (at most
        :data:`OUTBOX_PAIRS_PER_STATEMENT`); returns the ids marked."""
        return self._bulk("outbox_delivered_many", count)

    def _render_outbox_delivered_many(self, count: int) -> str:
        # One search of the key per pair (SQLite plans "(a, b) IN (VALUES ...)" as a scan)
        pairs = " OR ".join(["(stream_id = ? AND sequence = ?)"] * count)
        return self.dialect.render(
            "UPDATE {p}outbox SET status = 'delivered', delivered_at = ?, lease_owner = NULL, "
            f"lease_until = NULL WHERE {pairs} RETURNING event_id"
        )

    def outbox_record_deliveries(self, count: int) -> str:
        """Upserts ``count`` delivery records (``_DELIVERY_TYPES`` each, then the stream and
        sequence their event id names), taking each one's sequence from its message; returns the
        event ids stored."""
        return self._bulk("outbox_record_deliveries", count)

    def _render_outbox_record_deliveries(self, count: int) -> str:
        rows = self.dialect.rows((*_DELIVERY_TYPES, "text", "int"), count)
        # "WHERE true": SQLite reads an ON after a join as the join's own without it
        return self.dialect.render(
            f"WITH v ({_DELIVERY_COLUMNS}, at_stream, at_sequence) AS ({rows}) "
            "INSERT INTO {p}outbox_deliveries (event_id, channel, stream_id, sequence, "
            "event_type, recipient, status, attempts, last_error, provider_id, updated_at) "
            "SELECT v.event_id, v.channel, v.stream_id, o.sequence, v.event_type, v.recipient, "
            "v.status, v.attempts, v.last_error, v.provider_id, v.updated_at "
            "FROM v JOIN {p}outbox AS o ON o.stream_id = v.at_stream "
            "AND o.sequence = v.at_sequence WHERE true " + _DELIVERY_UPSERT + " RETURNING event_id"
        )

    def reserve_writes(self, figures: int, batches: int, reservations: int, ledger: int) -> str:
        """One statement writing what ``reserve`` changed (data-modifying CTEs, PostgreSQL)."""
        return self._bulk("reserve_writes", (figures, batches, reservations, ledger))

    def _render_reserve_writes(self, counts: tuple[int, int, int, int]) -> str:
        figures, batches, reservations, ledger = counts
        rows = self.dialect.rows
        parts = [
            "WITH v (sku, warehouse_id, on_hand, reserved, low_stock, batch_count) AS "
            f"({rows(_FIGURE_TYPES, figures)})",
            "figures AS (UPDATE {p}stock_items AS t SET on_hand = v.on_hand, "
            "reserved = v.reserved, low_stock = v.low_stock, batch_count = v.batch_count "
            "FROM v WHERE t.sku = v.sku AND t.warehouse_id = v.warehouse_id)",
        ]
        if batches:
            parts.append(
                f"lots AS (INSERT INTO {{p}}batches ({_BATCH_COLUMNS}) "
                f"{rows(_BATCH_TYPES, batches)} ON CONFLICT (sku, warehouse_id, batch_id) "
                "DO UPDATE SET expiry = excluded.expiry, on_hand = excluded.on_hand, "
                "reserved = excluded.reserved)"
            )
        parts.append(
            f"held AS (INSERT INTO {{p}}reservations ({_RESERVATION_COLUMNS}) "
            f"{rows(_RESERVATION_TYPES, reservations)})"
        )
        return self.dialect.render(
            ", ".join(parts) + f" INSERT INTO {{p}}stock_ledger ({_LEDGER_COLUMNS}) "
            f"{rows(_LEDGER_TYPES, ledger)}"
        )

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one Statements per store, kept for its life
    def order_list(
        self,
        customer: bool,
        state: bool,
        start: bool,
        end: bool,
        after: bool,
        newest: bool = False,
        sku: bool = False,
    ) -> str:
        """A page of orders by ``(created_at, id)``, or newest first by the same index backwards."""
        conditions = _order_filters(customer, state, start, end, sku)
        if after:
            conditions.append(f"(created_at, id) {'<' if newest else '>'} (?, ?)")
        where = (" WHERE " + " AND ".join(conditions)) if conditions else ""
        order = "created_at DESC, id DESC" if newest else "created_at, id"
        return self.dialect.render(
            "SELECT CAST(doc AS TEXT), version, created_at, id FROM {p}orders"
            f"{where} ORDER BY {order} LIMIT ?"
        )

    @functools.lru_cache(maxsize=32)  # noqa: B019 - one Statements per store, kept for its life
    def order_count(
        self, customer: bool, state: bool, start: bool, end: bool, sku: bool = False
    ) -> str:
        """How many orders the filters of a listing match (through the same indexes)."""
        conditions = _order_filters(customer, state, start, end, sku)
        where = (" WHERE " + " AND ".join(conditions)) if conditions else ""
        return self.dialect.render(f"SELECT COUNT(*) FROM {{p}}orders{where}")


def _order_filters(
    customer: bool, state: bool, start: bool, end: bool, sku: bool = False
) -> list[str]:
    conditions = []
    if customer:
        conditions.append("customer_id = ?")
    if state:
        # a customer's orders come through the index by customer, in listing order
        conditions.append("{filter_only}state = ?" if customer else "state = ?")
    if start:
        conditions.append("created_at >= ?")
    if end:
        conditions.append("created_at < ?")
    if sku:
        # the order's line facts, found by their key (order_id, line_id)
        conditions.append(
            "EXISTS (SELECT 1 FROM {p}order_lines AS l WHERE l.order_id = {p}orders.id "
            "AND l.sku = ?)"
        )
    return conditions
