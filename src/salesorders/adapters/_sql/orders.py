"""Orders as JSON documents with indexed columns, their listing cursors, and order numbers."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from salesorders import errors
from salesorders.adapters._sql.analytics import SqlAnalytics
from salesorders.adapters._sql.analytics_writes import LineFactsWriter, order_fact_values
from salesorders.adapters._sql.dialect import Dialect, _json_text, _time, _utc_text
from salesorders.adapters._sql.logistics import SqlLogistics, milestones, write_shipments
from salesorders.adapters._sql.session import Session
from salesorders.adapters._sql.tickets import SqlTickets, TicketRows
from salesorders.domain.checks import aware_time, require_text
from salesorders.domain.fulfilment import Shipment
from salesorders.domain.logistics import LateShipment, LeadTime, OpenShipment
from salesorders.domain.logistics_queries import (
    LateShipmentQuery,
    LeadTimeQuery,
    Page,
    ShipmentQuery,
)
from salesorders.domain.order import Order
from salesorders.domain.ticket_sla import DueTicket, TicketQuery
from salesorders.ports import OrderPage, OrderQuery

if TYPE_CHECKING:
    from salesorders.adapters._sql.unit_of_work import StoreConfig

__all__ = ["SqlOrderNumbers", "SqlOrderRepository"]


_CURSOR_TAG: Final = "o1"
_NEWEST_FIRST_TAG: Final = "o1d"  # a newest-first listing's cursors


def _page_size(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise errors.ValidationError("limit", limit, "must be an int from 1 to 10,000")
    return limit


def _encode_cursor(created_at: dt.datetime, order_id: str, newest_first: bool = False) -> str:
    tag = _NEWEST_FIRST_TAG if newest_first else _CURSOR_TAG
    raw = _json_text([tag, _utc_text(created_at), order_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: object, newest_first: bool = False) -> tuple[dt.datetime, str]:
    problem = errors.ValidationError(
        "after",
        cursor,
        "is not a cursor of this order listing",
        "pass the next_cursor of the previous page, or None for the first page",
    )
    if not isinstance(cursor, str):
        raise problem
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        tag, created, order_id = json.loads(raw)
        at = dt.datetime.fromisoformat(created)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise problem from None
    expected = _NEWEST_FIRST_TAG if newest_first else _CURSOR_TAG
    if tag != expected or not isinstance(order_id, str) or at.utcoffset() is None:
        raise problem
    return at, order_id


class SqlOrderRepository:
    """Orders as JSON documents with indexed columns and an optimistic version.

    Each order's shipments are also rows of ``shipments``, written when they changed: the
    repository remembers the shipments of every order it read or wrote in this unit of work
    and, on save, writes only the shipments that are not among them (all of an order's
    shipments when it did not read the order; shipments are never removed from an order).
    """

    __slots__ = (
        "_d",
        "_lines",
        "_logistics",
        "_serializer",
        "_session",
        "_shipments",
        "_sql",
        "_tickets",
    )

    def __init__(self, session: Session, config: StoreConfig) -> None:
        self._session = session
        self._sql = config.sql
        self._d = config.dialect
        self._serializer = config.serializer
        self._logistics = SqlLogistics(session, config.sql.logistics)
        self._shipments: dict[str, tuple[Shipment, ...]] = {}
        self._lines = LineFactsWriter(session, config.sql.analytics)
        self._tickets = TicketRows(session, config.sql.tickets)

    @property
    def analytics(self) -> SqlAnalytics:
        """The analytics of the orders (and stock ledger) as this unit of work sees them."""
        return SqlAnalytics(self._session, self._d)

    def _document(self, order: Order, version: int) -> str:
        data = self._serializer.document(Order)(order)
        data["version"] = version
        return _json_text(data)

    def _load(self, doc: str, version: int) -> Order:
        order = self._serializer.load(json.loads(doc), Order)
        order.version = int(version)
        self._shipments[order.id] = order.shipments
        self._lines.remember(order)
        self._tickets.remember(order)
        return order

    def _store_shipments(self, order: Order) -> None:
        """Write the shipments of ``order`` that changed since this unit of work read it."""
        current = order.shipments
        known = self._shipments.get(order.id)
        if current is known:
            return
        changed = current if known is None else [s for s in current if s not in known]
        if changed:
            write_shipments(self._session, self._sql.logistics, order.id, changed)
        self._shipments[order.id] = current

    def add(self, order: Order) -> None:
        """Store a new order at version 1; an id or number already stored is a ConflictError."""
        if not isinstance(order, Order):
            raise errors.ValidationError("order", order, "must be an Order")
        d = self._d
        params = (
            order.id,
            order.number,
            order.customer_id,
            order.state,
            order.currency,
            d.time(order.created_at),
            d.opt_time(order.placed_at),
            1,
            self._document(order, 1),
            int(order.waiting),
            *milestones(order, d),
            *order_fact_values(order, d),
        )
        try:
            self._session.run(self._sql.order_insert, params)
        except errors.IntegrityError as error:
            raise errors.ConflictError(
                f"order {order.id!r} (number {order.number!r}) is already stored; "
                "use a new order id, or get and save the stored order"
            ) from error
        self._store_shipments(order)
        self._lines.write(order)
        self._tickets.write(order)
        order.version = 1

    def save(self, order: Order) -> None:
        """Store a changed order if nobody saved it since it was read; bump its version."""
        if not isinstance(order, Order):
            raise errors.ValidationError("order", order, "must be an Order")
        d = self._d
        expected = order.version
        params = (
            order.number,
            order.customer_id,
            order.state,
            order.currency,
            d.opt_time(order.placed_at),
            expected + 1,
            self._document(order, expected + 1),
            int(order.waiting),
            *milestones(order, d),
            *order_fact_values(order, d),
            order.id,
            expected,
        )
        try:
            changed = self._session.count(self._sql.order_update, params)
        except errors.IntegrityError as error:
            raise errors.ConflictError(
                f"order {order.id!r}: number {order.number!r} is used by another order"
            ) from error
        if changed == 0:
            rows = self._session.rows(self._sql.order_version, (order.id,))
            if not rows:
                raise errors.NotFoundError("order", order.id)
            raise errors.ConcurrencyConflictError(order.id, expected, int(rows[0][0]))
        self._store_shipments(order)
        self._lines.write(order)
        self._tickets.write(order)
        order.version = expected + 1

    def waiting(self, limit: int = 1000) -> tuple[Order, ...]:
        """Orders with backordered lines, oldest placement first (at most ``limit``)."""
        rows = self._session.rows(self._sql.orders_waiting, (_page_size(limit),))
        return tuple(self._load(doc, int(version)) for doc, version in rows)

    def open_shipments(self, query: ShipmentQuery) -> Page[OpenShipment]:
        return self._logistics.open_shipments(query)

    def late_shipments(self, query: LateShipmentQuery) -> Page[LateShipment]:
        return self._logistics.late_shipments(query)

    def lead_times(self, query: LeadTimeQuery) -> Page[LeadTime]:
        return self._logistics.lead_times(query)

    def tickets_due(self, query: TicketQuery) -> tuple[DueTicket, ...]:
        """The open tickets ``query`` lists, from the ``order_tickets`` rows."""
        return SqlTickets(self._session, self._sql.tickets).due(query)

    def get(self, order_id: str) -> Order:
        rows = self._session.rows(self._sql.order_by_id, (order_id,))
        if not rows:
            raise errors.NotFoundError("order", str(order_id))
        return self._load(*rows[0])

    def get_by_number(self, number: str) -> Order:
        rows = self._session.rows(self._sql.order_by_number, (number,))
        if not rows:
            raise errors.NotFoundError("order number", str(number))
        return self._load(*rows[0])

    def list(self, query: OrderQuery) -> OrderPage:
        """Orders by ``(created_at, id)`` (newest first: descending) after the cursor, filtered;
        ``limit`` per page, and how many match when the query asks ``with_total``."""
        if not isinstance(query, OrderQuery):
            raise errors.ValidationError("query", query, "must be an OrderQuery")
        limit = query.limit
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise errors.ValidationError("limit", limit, "must be an int of at least 1")
        d = self._d
        params: list[Any] = []
        if query.customer_id is not None:
            params.append(query.customer_id)
        if query.state is not None:
            params.append(query.state)
        if query.created_from is not None:
            params.append(d.time(aware_time(query.created_from, "created_from")))
        if query.created_to is not None:
            params.append(d.time(aware_time(query.created_to, "created_to")))
        if query.sku is not None:
            params.append(query.sku)
        filters = (
            query.customer_id is not None,
            query.state is not None,
            query.created_from is not None,
            query.created_to is not None,
        )
        sku = query.sku is not None
        total = None
        if query.with_total:
            counted = self._session.rows(self._sql.order_count(*filters, sku), tuple(params))
            total = int(counted[0][0])
        newest = query.newest_first
        if query.after is not None:
            after_time, after_id = _decode_cursor(query.after, newest)
            params.extend((d.time(after_time), after_id))
        params.append(limit + 1)
        sql = self._sql.order_list(*filters, query.after is not None, newest, sku)
        rows = self._session.rows(sql, params)
        page = rows[:limit]
        orders = tuple(self._load(doc, version) for doc, version, _, _ in page)
        cursor = None
        if len(rows) > limit:
            _, _, created_at, order_id = page[-1]
            cursor = _encode_cursor(_time(created_at), order_id, newest)
        return OrderPage(orders, cursor, total)


# --------------------------------------------------------------------------- numbers


class SqlOrderNumbers:
    """Gap-free numbers: the series row is incremented (and row-locked) inside the unit of work."""

    __slots__ = ("_session", "_sql")

    def __init__(self, session: Session, config: StoreConfig) -> None:
        self._session = session
        self._sql = config.sql

    def next_number(self, series: str) -> int:
        require_text(series, "series")
        return int(self._session.rows(self._sql.next_number, (series,), writes=True)[0][0])


#: How many stored orders the schema-5 backfill reads at a time.
_WAITING_BATCH = 500


def backfill_waiting(session: Session, dialect: Dialect) -> None:
    """Schema version 5: mark the stored orders that wait for backordered stock, read from their
    documents a batch at a time (saves keep the column up to date from then on)."""
    select = dialect.render(
        "SELECT id, CAST(doc AS TEXT) FROM {p}orders "
        "WHERE placed_at IS NOT NULL AND id{binary} > ? ORDER BY id{binary} LIMIT ?"
    )
    mark = dialect.render("UPDATE {p}orders SET waiting = 1 WHERE id = ?")
    last = ""
    while True:
        rows = session.rows(select, (last, _WAITING_BATCH))
        if not rows:
            return
        for order_id, doc in rows:
            lines = json.loads(doc).get("lines", ())
            if any(Decimal(str(line.get("backordered", 0))) > 0 for line in lines):
                session.run(mark, (order_id,))
        last = rows[-1][0]
