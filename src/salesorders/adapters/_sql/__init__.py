"""What the SQLite and PostgreSQL adapters share: schema, migrations, dialects, row mapping,
error translation, and the repositories themselves.

Each adapter supplies a :class:`Dialect` (how its database spells types, bulk rows and row
locks) and a :class:`Session` (how a statement reaches its driver); everything else is here, so
both stores behave the same way and are proven by the same contract suites. One module per
idea:

    dialect        Dialect, SQLiteDialect and the value codecs
    schema         the numbered migrations and applying them
    session        Session (one open transaction) and translate_error
    statements     every statement, rendered once per store
    orders         SqlOrderRepository (with its listing cursors) and SqlOrderNumbers
    logistics      shipment rows and lead-time columns written with each order, the logistics
                   listings, and the backfill of schema version 6
    outbox         SqlOutboxStore and SqlIdempotencyStore
    stock          SqlStockRepository
    audit          SqlAuditLog (the append-only, hash-chained audit log)
    unit_of_work   SqlUnitOfWork and StoreConfig (what one store's units of work share)

Storage layout (one row per fact, quantities exact)::

    orders              id, number (unique), customer_id, state, currency, created_at, placed_at,
                        version, doc (the order as the serializer's JSON document), waiting,
                        confirmed_at, first_shipped_at, shipped_at, delivered_at (lead times)
    shipments           order_id, shipment_id, warehouse_id, carrier, service_level,
                        tracking_number, shipped_at, promised_date, status, delivered_at
    order_number_series series, last                         gap-free numbers, taken in the UoW
    warehouses          id, doc
    stock_items         sku, warehouse_id, on_hand, reserved, safety_stock, reorder_point,
                        reorder_quantity, low_stock, batch_count
    batches             sku, warehouse_id, batch_id, expiry, on_hand, reserved
    incoming            id, sku, warehouse_id, quantity, eta
    reservations        id ("<order id>/..."), order_id, line_id, sku, warehouse_id, batch_id,
                        quantity, released, consumed
    stock_ledger        sequence, movement, deltas, at, ids ...   append-only
    outbox              stream_id, sequence (the key), event_id (names the two), event_type,
                        payload, occurred_at, attempts, status, last_error, next_attempt_at,
                        delivered_at, lease_owner, lease_until
    idempotency         key, command, fingerprint, result, created_at, expires_at
    audit_log           position, stream, sequence (unique per stream), at, actor, channel,
                        action, outcome, subject, reason, before, after, previous_hash, hash
    schema_version      version, description, applied_at

Quantities never pass through floating point: PostgreSQL stores ``NUMERIC``, SQLite stores
decimal strings and all arithmetic happens on :class:`~decimal.Decimal` in Python.
"""

from salesorders.adapters._sql.dialect import Dialect, SQLiteDialect
from salesorders.adapters._sql.orders import SqlOrderNumbers, SqlOrderRepository
from salesorders.adapters._sql.outbox import SqlIdempotencyStore, SqlOutboxStore
from salesorders.adapters._sql.schema import (
    LATEST_VERSION,
    MIGRATIONS,
    Migration,
    migrate,
    render_migration,
    schema_version,
)
from salesorders.adapters._sql.session import Row, Session, translate_error
from salesorders.adapters._sql.statements import Statements
from salesorders.adapters._sql.stock import SqlStockRepository
from salesorders.adapters._sql.unit_of_work import SqlUnitOfWork, StoreConfig

__all__ = [
    "LATEST_VERSION",
    "MIGRATIONS",
    "Dialect",
    "Migration",
    "Row",
    "SQLiteDialect",
    "Session",
    "SqlIdempotencyStore",
    "SqlOrderNumbers",
    "SqlOrderRepository",
    "SqlOutboxStore",
    "SqlStockRepository",
    "SqlUnitOfWork",
    "Statements",
    "StoreConfig",
    "migrate",
    "render_migration",
    "schema_version",
    "translate_error",
]
