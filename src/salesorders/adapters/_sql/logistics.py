"""Logistics figures in SQL: what an order's save writes for them, the listings the database
answers, and the backfill of schema version 6.

The domain defines the figures (:mod:`salesorders.domain.logistics`); the stores keep what the
listings need in rows written from those definitions whenever an order is stored:

* ``shipments``: one row per shipment (its status and ``delivered_at`` as the domain derives
  them), written only when the order's shipments changed — by the same save, in one statement;
* ``orders.confirmed_at``, ``first_shipped_at``, ``shipped_at`` (in full) and ``delivered_at``
  (in full): the order's lead-time milestones, in the save's own ``UPDATE`` (no extra
  statement).

The listings then read those columns through partial indexes (open shipments) and the
``(placed_at, id)`` index, a page at a time, without reading an order document.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Final, TypeVar

from salesorders.adapters._sql.dialect import Dialect, _chunks, _day, _opt_time, _time
from salesorders.adapters._sql.session import Row, Session
from salesorders.domain.fulfilment import Shipment, ShipmentStatus
from salesorders.domain.logistics import (
    LateShipment,
    LeadTime,
    OpenShipment,
    lead_time,
    lead_time_of,
)
from salesorders.domain.logistics_queries import (
    Key,
    LateShipmentQuery,
    LeadTimeQuery,
    Page,
    ShipmentQuery,
    decode_cursor,
    encode_cursor,
    expect_query,
    late_key,
    lead_key,
    open_key,
)
from salesorders.domain.order import Order
from salesorders.domain.order_values import AuditEntry
from salesorders.serialization import Serializer

__all__ = [
    "LogisticsStatements",
    "SqlLogistics",
    "backfill_logistics",
    "milestones",
    "write_shipments",
]

T = TypeVar("T")

_SHIPMENT_COLUMNS: Final = (
    "order_id, shipment_id, warehouse_id, carrier, service_level, tracking_number, shipped_at, "
    "promised_date, status, delivered_at"
)
_SHIPMENT_TYPES: Final = ("text",) * 6 + ("ts", "date", "text", "ts")
_MILESTONE_TYPES: Final = ("text", "ts", "ts", "ts", "ts")
#: The condition of an open shipment (the partial indexes repeat it word for word).
_OPEN: Final = "s.delivered_at IS NULL AND s.status <> 'returned_to_sender'"
_NO_MILESTONES: Final = (None, None, None, None)
_BACKFILL_BATCH: Final = 500


class LogisticsStatements:
    """The logistics statements of one store, rendered for its dialect (once, or once per
    shape of a listing or row count)."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        b = dialect.types["binary"]
        self._open_key = f"s.shipped_at, s.order_id{b}, s.shipment_id{b}"
        self._lead_key = f"placed_at, id{b}"
        self.backfill_batch = dialect.render(
            "SELECT id, number, placed_at, CAST(doc AS TEXT) FROM {p}orders "
            "WHERE placed_at IS NOT NULL AND id > ? ORDER BY id LIMIT ?"
        )

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one instance per store, kept for its life
    def shipments_upsert(self, count: int) -> str:
        rows = self.dialect.rows(_SHIPMENT_TYPES, count)
        return self.dialect.render(
            f"INSERT INTO {{p}}shipments ({_SHIPMENT_COLUMNS}) {rows} "
            "ON CONFLICT (order_id, shipment_id) DO UPDATE SET "
            "warehouse_id = excluded.warehouse_id, carrier = excluded.carrier, "
            "service_level = excluded.service_level, tracking_number = excluded.tracking_number, "
            "shipped_at = excluded.shipped_at, promised_date = excluded.promised_date, "
            "status = excluded.status, delivered_at = excluded.delivered_at"
        )

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one instance per store, kept for its life
    def milestones_update(self, count: int) -> str:
        rows = self.dialect.rows(_MILESTONE_TYPES, count)
        return self.dialect.render(
            "WITH v (id, confirmed_at, first_shipped_at, shipped_at, delivered_at) AS "
            f"({rows}) UPDATE {{p}}orders AS t SET confirmed_at = v.confirmed_at, "
            "first_shipped_at = v.first_shipped_at, shipped_at = v.shipped_at, "
            "delivered_at = v.delivered_at FROM v WHERE t.id = v.id"
        )

    @functools.lru_cache(maxsize=32)  # noqa: B019 - one instance per store, kept for its life
    def shipments(self, late: bool, carrier: bool, warehouse: bool, after: bool) -> str:
        """Open shipments (``late``: promised before a day), filtered, after a cursor."""
        key = ("s.promised_date, " if late else "") + self._open_key
        conditions = [_OPEN]
        if late:
            conditions.append("s.promised_date < ?")
        if carrier:
            conditions.append("s.carrier = ?")
        if warehouse:
            conditions.append("s.warehouse_id = ?")
        if after:
            marks = ", ".join(["?"] * len(key.split(",")))
            conditions.append(f"({key}) > ({marks})")
        return self.dialect.render(
            "SELECT s.order_id, o.number, s.shipment_id, s.warehouse_id, s.carrier, "
            "s.service_level, s.tracking_number, s.shipped_at, s.promised_date, s.status "
            "FROM {p}shipments AS s JOIN {p}orders AS o ON o.id = s.order_id "
            f"WHERE {' AND '.join(conditions)} ORDER BY {key} LIMIT ?"
        )

    @functools.lru_cache(maxsize=32)  # noqa: B019 - one instance per store, kept for its life
    def lead_times(self, start: bool, end: bool, after: bool) -> str:
        conditions = ["placed_at IS NOT NULL"]
        if start:
            conditions.append("placed_at >= ?")
        if end:
            conditions.append("placed_at < ?")
        if after:
            conditions.append(f"({self._lead_key}) > (?, ?)")
        return self.dialect.render(
            "SELECT id, number, placed_at, confirmed_at, first_shipped_at, shipped_at, "
            f"delivered_at FROM {{p}}orders WHERE {' AND '.join(conditions)} "
            f"ORDER BY {self._lead_key} LIMIT ?"
        )


# --------------------------------------------------------------------------- writes


def milestones(order: Order, d: Dialect) -> tuple[Any, Any, Any, Any]:
    """The lead-time columns of ``order``: confirmed, first shipped, shipped and delivered."""
    if order.placed_at is None:
        return _NO_MILESTONES
    lead = lead_time(order)
    assert lead is not None
    return _milestone_values(lead, d)


def _milestone_values(lead: LeadTime, d: Dialect) -> tuple[Any, Any, Any, Any]:
    return (
        d.opt_time(lead.confirmed_at),
        d.opt_time(lead.first_shipped_at),
        d.opt_time(lead.last_shipped_at),
        d.opt_time(lead.delivered_at),
    )


def _shipment_row(order_id: str, shipment: Shipment, d: Dialect) -> tuple[Any, ...]:
    return (
        order_id,
        shipment.id,
        shipment.warehouse_id,
        shipment.carrier,
        shipment.service_level,
        shipment.tracking_number,
        d.time(shipment.shipped_at),
        d.opt_day(shipment.promised_date),
        shipment.status.value,
        d.opt_time(shipment.delivered_at),
    )


def write_shipments(
    session: Session,
    sql: LogisticsStatements,
    order_id: str,
    shipments: Sequence[Shipment],
) -> None:
    """Store the rows of ``shipments`` of an order (new ones added, known ones replaced)."""
    d = sql.dialect
    rows = [_shipment_row(order_id, shipment, d) for shipment in shipments]
    _write(session, rows, sql.shipments_upsert, d, len(_SHIPMENT_TYPES))


def _write(
    session: Session, rows: Sequence[Row], statement: Callable[[int], str], d: Dialect, width: int
) -> None:
    for chunk in _chunks(rows, d.rows_per_statement(width)):
        session.run(statement(len(chunk)), d.pack(chunk, width))


# --------------------------------------------------------------------------- listings


def _page(
    listing: str, rows: list[Row], limit: int, build: Callable[[Row], T], key: Callable[[T], Key]
) -> Page[T]:
    """The page of the first ``limit`` of ``rows`` (one more was read to learn if more follow)."""
    items = tuple(build(row) for row in rows[:limit])
    more = len(rows) > limit
    return Page(items, encode_cursor(listing, key(items[-1])) if more else None)


def _open_shipment(row: Row) -> OpenShipment:
    order_id, number, shipment_id, warehouse_id, carrier, service_level, tracking = row[:7]
    return OpenShipment(
        order_id,
        number,
        shipment_id,
        warehouse_id,
        carrier,
        service_level,
        tracking,
        _time(row[7]),
        _day(row[8]),
        ShipmentStatus(row[9]),
    )


class SqlLogistics:
    """The three listings of one unit of work, answered by the database."""

    __slots__ = ("_d", "_session", "_sql")

    def __init__(self, session: Session, sql: LogisticsStatements) -> None:
        self._session = session
        self._sql = sql
        self._d = sql.dialect

    def _shipment_rows(
        self, query: ShipmentQuery | LateShipmentQuery, on: dt.date | None, listing: str
    ) -> list[Row]:
        d = self._d
        params: list[Any] = []
        if on is not None:
            params.append(d.day(on))
        if query.carrier is not None:
            params.append(query.carrier)
        if query.warehouse_id is not None:
            params.append(query.warehouse_id)
        if query.after is not None:
            key = decode_cursor(listing, query.after)
            if on is not None:
                params.append(d.day(key[0]))
                key = key[1:]
            params.extend((d.time(key[0]), key[1], key[2]))
        params.append(query.limit + 1)
        sql = self._sql.shipments(
            on is not None,
            query.carrier is not None,
            query.warehouse_id is not None,
            query.after is not None,
        )
        return self._session.rows(sql, params)

    def open_shipments(self, query: ShipmentQuery) -> Page[OpenShipment]:
        expect_query(query, ShipmentQuery)
        rows = self._shipment_rows(query, None, "open")
        return _page("open", rows, query.limit, _open_shipment, open_key)

    def late_shipments(self, query: LateShipmentQuery) -> Page[LateShipment]:
        expect_query(query, LateShipmentQuery)
        on = query.on
        rows = self._shipment_rows(query, on, "late")

        def build(row: Row) -> LateShipment:
            shipment = _open_shipment(row)
            assert shipment.promised_date is not None
            return LateShipment(shipment, on, (on - shipment.promised_date).days)

        return _page("late", rows, query.limit, build, late_key)

    def lead_times(self, query: LeadTimeQuery) -> Page[LeadTime]:
        expect_query(query, LeadTimeQuery)
        d = self._d
        params: list[Any] = []
        if query.placed_from is not None:
            params.append(d.time(query.placed_from))
        if query.placed_to is not None:
            params.append(d.time(query.placed_to))
        if query.after is not None:
            placed_at, order_id = decode_cursor("lead", query.after)
            params.extend((d.time(placed_at), order_id))
        params.append(query.limit + 1)
        sql = self._sql.lead_times(
            query.placed_from is not None, query.placed_to is not None, query.after is not None
        )
        rows = self._session.rows(sql, params)

        def build(row: Row) -> LeadTime:
            order_id, number, placed, confirmed, first, shipped, delivered = row
            return LeadTime(
                order_id,
                number,
                _time(placed),
                _opt_time(confirmed),
                _opt_time(first),
                _opt_time(shipped),
                _opt_time(delivered),
            )

        return _page("lead", rows, query.limit, build, lead_key)


# --------------------------------------------------------------------------- backfill


def backfill_logistics(session: Session, dialect: Dialect) -> None:
    """Schema version 6: fill the shipment rows and the lead-time milestones of the placed
    orders already stored, from their documents, a batch of orders at a time.

    Only the parts the figures need are read (audit trail, line quantities, shipments), so an
    order on a host's workflow needs no workflow registry here.
    """
    sql = LogisticsStatements(dialect)
    serializer = Serializer()
    last = ""
    while True:
        rows = session.rows(sql.backfill_batch, (last, _BACKFILL_BATCH))
        if not rows:
            return
        times: list[Row] = []
        shipment_rows: list[Row] = []
        for order_id, number, placed_at, doc in rows:
            data = json.loads(doc)
            audit = [serializer.load(entry, AuditEntry) for entry in data.get("audit", ())]
            shipments = [serializer.load(s, Shipment) for s in data.get("shipments", ())]
            ordered = {
                line["line_id"]: Decimal(line["quantity"]) - Decimal(line.get("cancelled", 0))
                for line in data.get("lines", ())
            }
            lead = lead_time_of(order_id, number, _time(placed_at), audit, ordered, shipments)
            values = _milestone_values(lead, dialect)
            if values != _NO_MILESTONES:
                times.append((order_id, *values))
            shipment_rows.extend(_shipment_row(order_id, s, dialect) for s in shipments)
        _write(session, times, sql.milestones_update, dialect, len(_MILESTONE_TYPES))
        _write(session, shipment_rows, sql.shipments_upsert, dialect, len(_SHIPMENT_TYPES))
        last = rows[-1][0]
