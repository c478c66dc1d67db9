"""The schema as numbered migrations, and applying the missing ones when a store opens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import attrs

from salesorders import errors
from salesorders.adapters._sql.analytics_writes import backfill_analytics
from salesorders.adapters._sql.dialect import Dialect
from salesorders.adapters._sql.logistics import backfill_logistics
from salesorders.adapters._sql.orders import backfill_waiting
from salesorders.adapters._sql.session import Session
from salesorders.adapters._sql.tickets import backfill_tickets

__all__ = [
    "LATEST_VERSION",
    "MIGRATIONS",
    "Migration",
    "migrate",
    "render_migration",
    "schema_version",
]


@attrs.frozen(slots=True)
class Migration:
    """One step of the schema: ``statements`` are templates rendered by a :class:`Dialect`;
    ``backfill``, if any, then fills what the step added from the rows already stored, in the
    same transaction. ``sqlite`` and ``postgresql`` are statements for that dialect only, run
    after the shared ones."""

    version: int
    description: str
    statements: tuple[str, ...]
    backfill: Callable[[Session, Dialect], None] | None = None
    sqlite: tuple[str, ...] = ()
    postgresql: tuple[str, ...] = ()


_OUTBOX_PENDING: Final = (
    "CREATE INDEX outbox_pending ON {p}outbox (stream_id, sequence) WHERE status = 'pending'"
)
_OUTBOX_DEAD: Final = (
    "CREATE INDEX outbox_dead ON {p}outbox (stream_id, sequence) WHERE status = 'dead'"
)
_OUTBOX_DELIVERED: Final = (
    "CREATE INDEX outbox_delivered ON {p}outbox (delivered_at) WHERE status = 'delivered'"
)
_OUTBOX_ROW: Final = (
    "event_id, stream_id, sequence, event_type, payload, occurred_at, attempts, status, "
    "last_error, next_attempt_at, delivered_at, lease_owner, lease_until"
)


def _check_event_ids(session: Session, dialect: Dialect) -> None:
    """Refuse to key the outbox by stream and sequence while a message's id names another
    place: the unit of work rolls the migration back and the store does not open."""
    rows = session.rows(
        dialect.render(
            "SELECT event_id, stream_id, sequence FROM {p}outbox "
            "WHERE event_id <> stream_id || ':' || CAST(sequence AS {text})"
        )
    )
    if rows:
        event_id, stream_id, sequence = rows[0]
        raise errors.DataError(
            f"{len(rows)} outbox message(s) have an event_id that is not "
            f"'<stream_id>:<sequence>' (first: {event_id!r} at {stream_id!r}, {sequence}); this "
            "version keys messages by stream and sequence: deliver and purge them with the "
            "version that stored them, or give them those ids, then open the store again"
        )


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(
        1,
        "orders, stock, outbox, idempotency records and order numbers",
        (
            """CREATE TABLE {p}orders (
                id {text} PRIMARY KEY,
                number {text} UNIQUE,
                customer_id {text} NOT NULL,
                state {text} NOT NULL,
                currency {text} NOT NULL,
                created_at {ts} NOT NULL,
                placed_at {ts},
                version {int} NOT NULL,
                doc {json} NOT NULL)""",
            """CREATE TABLE {p}order_number_series (
                series {text} PRIMARY KEY,
                last {int} NOT NULL)""",
            """CREATE TABLE {p}warehouses (
                id {text} PRIMARY KEY,
                doc {json} NOT NULL)""",
            """CREATE TABLE {p}stock_items (
                sku {text} NOT NULL,
                warehouse_id {text} NOT NULL,
                on_hand {dec} NOT NULL,
                reserved {dec} NOT NULL,
                safety_stock {dec} NOT NULL,
                reorder_point {dec},
                reorder_quantity {dec},
                low_stock {int} NOT NULL,
                batch_count {int} NOT NULL,
                PRIMARY KEY (sku, warehouse_id))""",
            """CREATE TABLE {p}batches (
                sku {text} NOT NULL,
                warehouse_id {text} NOT NULL,
                batch_id {text} NOT NULL,
                expiry {date},
                on_hand {dec} NOT NULL,
                reserved {dec} NOT NULL,
                PRIMARY KEY (sku, warehouse_id, batch_id))""",
            """CREATE TABLE {p}incoming (
                id {text} PRIMARY KEY,
                sku {text} NOT NULL,
                warehouse_id {text} NOT NULL,
                quantity {dec} NOT NULL,
                eta {date} NOT NULL)""",
            """CREATE TABLE {p}reservations (
                id {text} PRIMARY KEY{position_column},
                order_id {text} NOT NULL,
                line_id {text} NOT NULL,
                sku {text} NOT NULL,
                warehouse_id {text} NOT NULL,
                batch_id {text},
                quantity {dec} NOT NULL,
                released {dec} NOT NULL,
                consumed {dec} NOT NULL)""",
            "CREATE INDEX reservations_by_order ON {p}reservations (order_id)",
            """CREATE TABLE {p}stock_ledger (
                sequence {ledger_key},
                movement {text} NOT NULL,
                sku {text} NOT NULL,
                warehouse_id {text} NOT NULL,
                on_hand_delta {dec} NOT NULL,
                reserved_delta {dec} NOT NULL,
                at {ts} NOT NULL,
                batch_id {text},
                actor {text} NOT NULL,
                reason {text} NOT NULL,
                order_id {text},
                line_id {text},
                return_id {text},
                reservation_id {text},
                transfer_id {text})""",
            """CREATE TABLE {p}outbox (
                event_id {text} PRIMARY KEY,
                stream_id {text} NOT NULL,
                sequence {int} NOT NULL,
                event_type {text} NOT NULL,
                payload {json} NOT NULL,
                occurred_at {ts} NOT NULL,
                attempts {int} NOT NULL,
                status {text} NOT NULL,
                last_error {text},
                next_attempt_at {ts},
                delivered_at {ts},
                UNIQUE (stream_id, sequence))""",
            """CREATE TABLE {p}idempotency (
                key {text} PRIMARY KEY,
                command {text} NOT NULL,
                fingerprint {text} NOT NULL,
                result {json} NOT NULL,
                created_at {ts} NOT NULL,
                expires_at {ts} NOT NULL)""",
        ),
    ),
    Migration(
        2,
        "indexes for listing orders, due outbox messages, the ledger and expired keys",
        (
            "CREATE INDEX orders_by_created ON {p}orders (created_at, id)",
            "CREATE INDEX orders_by_customer ON {p}orders (customer_id, created_at, id)",
            "CREATE INDEX orders_by_state ON {p}orders (state, created_at, id)",
            _OUTBOX_PENDING,
            _OUTBOX_DEAD,
            "CREATE INDEX stock_ledger_by_item ON {p}stock_ledger (sku, warehouse_id, sequence)",
            "CREATE INDEX idempotency_by_expiry ON {p}idempotency (expires_at)",
            "CREATE INDEX incoming_by_sku ON {p}incoming (sku)",
        ),
    ),
    Migration(
        3,
        "an index for listing the orders of one customer in one state",
        (
            "CREATE INDEX orders_by_customer_state ON {p}orders "
            "(customer_id, state, created_at, id)",
        ),
    ),
    Migration(
        4,
        "expected receipts carry a batch, its expiry and the source of a transfer in transit",
        (
            "ALTER TABLE {p}incoming ADD COLUMN batch_id {text}",
            "ALTER TABLE {p}incoming ADD COLUMN expiry {date}",
            "ALTER TABLE {p}incoming ADD COLUMN transfer_from {text}",
            "CREATE INDEX reservations_open_by_item ON {p}reservations (sku, warehouse_id)",
        ),
    ),
    Migration(
        5,
        "orders waiting for backordered stock, oldest placement first",
        (
            "ALTER TABLE {p}orders ADD COLUMN waiting {int} NOT NULL DEFAULT 0",
            "CREATE INDEX orders_waiting ON {p}orders (placed_at, id) WHERE waiting = 1",
        ),
        backfill_waiting,
    ),
    Migration(
        6,
        "shipments and the lead-time milestones of orders, for the logistics listings",
        (
            """CREATE TABLE {p}shipments (
                order_id {text} NOT NULL,
                shipment_id {text} NOT NULL,
                warehouse_id {text} NOT NULL,
                carrier {text} NOT NULL,
                service_level {text} NOT NULL,
                tracking_number {text},
                shipped_at {ts} NOT NULL,
                promised_date {date},
                status {text} NOT NULL,
                delivered_at {ts},
                PRIMARY KEY (order_id, shipment_id))""",
            "CREATE INDEX shipments_open ON {p}shipments "
            "(shipped_at, order_id{binary}, shipment_id{binary}) "
            "WHERE delivered_at IS NULL AND status <> 'returned_to_sender'",
            "CREATE INDEX shipments_late ON {p}shipments "
            "(promised_date, shipped_at, order_id{binary}, shipment_id{binary}) "
            "WHERE delivered_at IS NULL AND status <> 'returned_to_sender'",
            "ALTER TABLE {p}orders ADD COLUMN confirmed_at {ts}",
            "ALTER TABLE {p}orders ADD COLUMN first_shipped_at {ts}",
            "ALTER TABLE {p}orders ADD COLUMN shipped_at {ts}",
            "ALTER TABLE {p}orders ADD COLUMN delivered_at {ts}",
            "CREATE INDEX orders_by_placed ON {p}orders (placed_at, id{binary})",
        ),
        backfill_logistics,
    ),
    Migration(
        7,
        "no index on the stock ledger by item, which no query reads",
        # The ledger is read in sequence order only (its primary key); the index cost every
        # reservation, receipt and shipment a write to three more pages.
        ("DROP INDEX {p}stock_ledger_by_item",),
    ),
    Migration(
        8,
        "no index on orders by customer and state, which the index by customer serves",
        # A customer's orders in one state are listed through orders_by_customer (customer,
        # created, id): the customer's orders in listing order, filtered by state, no sort.
        # The dropped index cost every new order, and every change of state, index pages.
        ("DROP INDEX {p}orders_by_customer_state",),
    ),
    Migration(
        9,
        "analytics facts: columns of the order row and one row per order line",
        # No index: reports scan orders by placement (orders_by_placed), and the line facts are
        # keyed by order, so a save writes no page of any other B-tree.
        (
            "ALTER TABLE {p}orders ADD COLUMN customer_group {text}",
            "ALTER TABLE {p}orders ADD COLUMN grand_total {int}",
            "ALTER TABLE {p}orders ADD COLUMN rate_base {text}",
            "ALTER TABLE {p}orders ADD COLUMN rate {dec}",
            "ALTER TABLE {p}orders ADD COLUMN facts {int} NOT NULL DEFAULT 0",
            """CREATE TABLE {p}order_lines (
                order_id {text} NOT NULL,
                line_id {text} NOT NULL,
                sku {text} NOT NULL,
                quantity {int} NOT NULL,
                net {int} NOT NULL,
                PRIMARY KEY (order_id, line_id)){without_rowid}""",
        ),
        backfill_analytics,
    ),
    Migration(
        10,
        "outbox leases per stream for concurrent relays, and the delivery log per channel",
        (
            "ALTER TABLE {p}outbox ADD COLUMN lease_owner {text}",
            "ALTER TABLE {p}outbox ADD COLUMN lease_until {ts}",
            """CREATE TABLE {p}outbox_deliveries (
                event_id {text} NOT NULL,
                channel {text} NOT NULL,
                stream_id {text} NOT NULL,
                sequence {int} NOT NULL,
                event_type {text} NOT NULL,
                recipient {text} NOT NULL,
                status {text} NOT NULL,
                attempts {int} NOT NULL,
                last_error {text},
                provider_id {text},
                updated_at {ts} NOT NULL,
                PRIMARY KEY (event_id, channel))""",
            "CREATE INDEX outbox_deliveries_by_stream ON {p}outbox_deliveries "
            "(stream_id, sequence, channel)",
            _OUTBOX_DELIVERED,
        ),
    ),
    Migration(
        11,
        "customer feedback tickets: one row per ticket, the open ones indexed by due time",
        # The due query reads the open tickets due by a time through the partial index, then
        # filters by assignee or department: open tickets are few beside all tickets.
        (
            """CREATE TABLE {p}order_tickets (
                order_id {text} NOT NULL,
                ticket_id {text} NOT NULL,
                status {text} NOT NULL,
                department {text} NOT NULL,
                assignee {text} NOT NULL,
                due_at {ts} NOT NULL,
                category {text} NOT NULL,
                priority {text} NOT NULL,
                PRIMARY KEY (order_id, ticket_id)){without_rowid}""",
            "CREATE INDEX order_tickets_open ON {p}order_tickets (due_at) WHERE status = 'open'",
        ),
        backfill_tickets,
    ),
    Migration(
        12,
        "the audit log: one row per command run or denied, chained by hashes, by position",
        # The position only grows (never reused after a purge), so a reader pages by it; the
        # unique key finds the last record of a stream, the index by time serves reading by
        # time and purging. before and after are JSON text, kept exactly as they were hashed.
        (
            """CREATE TABLE {p}audit_log (
                position {serial_key},
                stream {text} NOT NULL,
                sequence {int} NOT NULL,
                at {ts} NOT NULL,
                actor {text} NOT NULL,
                channel {text} NOT NULL,
                action {text} NOT NULL,
                outcome {text} NOT NULL,
                subject {text} NOT NULL,
                reason {text} NOT NULL,
                before {text} NOT NULL,
                after {text} NOT NULL,
                previous_hash {text} NOT NULL,
                hash {text} NOT NULL,
                UNIQUE (stream, sequence))""",
            "CREATE INDEX audit_log_by_time ON {p}audit_log (at)",
        ),
    ),
    Migration(
        13,
        "customer records: one row per customer, the record as a document, its tier beside it",
        (
            """CREATE TABLE {p}customers (
                id {text} PRIMARY KEY,
                tier {text} NOT NULL,
                version {int} NOT NULL,
                updated_at {ts} NOT NULL,
                doc {json} NOT NULL){without_rowid}""",
        ),
    ),
    Migration(
        14,
        "outbox messages keyed by stream and sequence alone; SQLite finds the reservations of "
        "an order through their ids",
        # An event id is "<stream>:<sequence>" (outbox_ports.event_id_of), so the key of the
        # pair is the key of the id too, and the outbox drops the id's own (every message wrote
        # it). SQLite cannot drop a key: the table is rebuilt, its partial indexes with it.
        # Every reservation id starts with "<order id>/", and SQLite compares text byte by
        # byte, so the id's key holds an order's reservations side by side (see
        # Dialect.order_reservations_by_id); the index by order cost every reservation a write
        # to one more B-tree. PostgreSQL's collation may not order by bytes: see version 15.
        (),
        backfill=_check_event_ids,
        sqlite=(
            "DROP INDEX {p}reservations_by_order",
            """CREATE TABLE {p}outbox_by_stream (
                event_id {text} NOT NULL,
                stream_id {text} NOT NULL,
                sequence {int} NOT NULL,
                event_type {text} NOT NULL,
                payload {json} NOT NULL,
                occurred_at {ts} NOT NULL,
                attempts {int} NOT NULL,
                status {text} NOT NULL,
                last_error {text},
                next_attempt_at {ts},
                delivered_at {ts},
                lease_owner {text},
                lease_until {ts},
                PRIMARY KEY (stream_id, sequence))""",
            f"INSERT INTO {{p}}outbox_by_stream ({_OUTBOX_ROW}) "
            f"SELECT {_OUTBOX_ROW} FROM {{p}}outbox",
            "DROP TABLE {p}outbox",
            "ALTER TABLE {p}outbox_by_stream RENAME TO outbox",
            _OUTBOX_PENDING,
            _OUTBOX_DEAD,
            _OUTBOX_DELIVERED,
        ),
        postgresql=(
            "ALTER TABLE {p}outbox DROP CONSTRAINT outbox_pkey",
            "ALTER TABLE {p}outbox DROP CONSTRAINT outbox_stream_id_sequence_key",
            "ALTER TABLE {p}outbox ADD CONSTRAINT outbox_pkey PRIMARY KEY (stream_id, sequence)",
        ),
    ),
    Migration(
        15,
        "PostgreSQL compares reservation ids byte by byte and finds the reservations of an order "
        "through their ids",
        # As SQLite since version 14: with the "C" collation the key of the reservation ids
        # holds an order's reservations side by side, from "<order id>/" up to "<order id>0",
        # and the index by order, which cost every reservation a write to one more B-tree, goes.
        # Changing the collation rebuilds the key's index; the rows stay where they are.
        (),
        postgresql=(
            "ALTER TABLE {p}reservations ALTER COLUMN id TYPE {text}{binary}",
            "DROP INDEX {p}reservations_by_order",
        ),
    ),
)

#: The schema version this library writes.
LATEST_VERSION: Final = MIGRATIONS[-1].version

_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS {p}schema_version (
    version {int} PRIMARY KEY,
    description {text} NOT NULL,
    applied_at {ts} NOT NULL)"""


def render_migration(dialect: Dialect, migration: Migration) -> list[str]:
    """The statements of ``migration`` for ``dialect``: the version table if missing, the
    migration's own statements, and the row recording the new version."""
    statements = [dialect.render(_VERSION_TABLE)]
    statements.extend(dialect.render(template) for template in migration.statements)
    own = {"sqlite": migration.sqlite, "postgresql": migration.postgresql}.get(dialect.name, ())
    statements.extend(dialect.render(template) for template in own)
    statements.append(
        dialect.render(
            "INSERT INTO {p}schema_version (version, description, applied_at) "
            f"VALUES ({migration.version}, '{migration.description}', CURRENT_TIMESTAMP)"
        )
    )
    return statements


def schema_version(session: Session, dialect: Dialect) -> int:
    """The schema version of the database (0: no schema yet)."""
    rows = session.rows(dialect.render("SELECT MAX(version) FROM {p}schema_version"))
    return int(rows[0][0] or 0)


def migrate(session: Session, dialect: Dialect) -> list[int]:
    """Apply the missing migrations inside the caller's transaction; return their versions.

    A database written by a newer library version is refused with
    :class:`~salesorders.errors.NotSupportedError` rather than misread.
    """
    session.run(dialect.render(_VERSION_TABLE))
    current = schema_version(session, dialect)
    if current > LATEST_VERSION:
        raise errors.NotSupportedError(
            f"the database schema is at version {current}, newer than the version "
            f"{LATEST_VERSION} this library knows; upgrade salesorders"
        )
    applied = []
    for migration in MIGRATIONS:
        if migration.version > current:
            for statement in render_migration(dialect, migration):
                session.run(statement)
            if migration.backfill is not None:
                migration.backfill(session, dialect)
            applied.append(migration.version)
    return applied
