"""``salesorders orders list|show|track``: the orders of a store, one order, its tracking.

Lists come newest first, a page at a time, with the total the filters match and the cursor of the
next page; ``--json`` writes the library's read views (:class:`~salesorders.service.views.
OrderSummary`, :class:`~salesorders.service.views.OrderView`) with the one serializer.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from moneyed import Money

from salesorders.cli.output import Column, Output, counted
from salesorders.cli.store import open_service
from salesorders.domain.fulfilment import Shipment
from salesorders.domain.order import Order
from salesorders.errors import ValidationError
from salesorders.ports import OrderQuery
from salesorders.serialization import Serializer
from salesorders.service import SalesService
from salesorders.service.views import OrderSummary, OrderView, ShipmentView

__all__ = ["list_orders", "parse_moment", "show_order", "track_orders"]


def parse_moment(text: str, field: str, *, end: bool = False) -> dt.datetime:
    """``text`` as a timezone-aware datetime: an ISO 8601 date means the start of that day in
    UTC (with ``end``, the start of the next day, so the day is included); a datetime without
    an offset is read as UTC."""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time(), dt.UTC)
            return moment + dt.timedelta(days=1) if end else moment
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            field, text, "is not an ISO 8601 date or datetime", "write e.g. 2026-11-27"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def order_filters(args: argparse.Namespace, **page: Any) -> OrderQuery:
    """The query of the listing filters (``--customer``, ``--state``, ``--sku``, ``--from``,
    ``--to``) with the ``page`` arguments (``limit``, ``after`` ...)."""
    return OrderQuery(
        customer_id=args.customer,
        state=args.state,
        sku=args.sku,
        created_from=None if args.date_from is None else parse_moment(args.date_from, "--from"),
        created_to=None if args.date_to is None else parse_moment(args.date_to, "--to", end=True),
        **page,
    )


def list_orders(args: argparse.Namespace, out: Output) -> int:
    """One page of orders, newest first, with the total and the next page's cursor."""
    query = order_filters(
        args, limit=args.limit, after=args.after, newest_first=True, with_total=True
    )
    with open_service(args.store, args.schema) as service:
        page = service.list_orders(query)
    if args.json:
        dump = Serializer().dump
        out.json(
            {
                "orders": [dump(OrderSummary.of(order)) for order in page.orders],
                "total": page.total,
                "next_cursor": page.next_cursor,
            }
        )
        return 0
    out.table(
        [
            Column("number", keep=True),
            Column("customer"),
            Column("state"),
            Column("allocation"),
            Column("payment"),
            Column("total", right=True, keep=True),
            Column("created"),
        ],
        [
            [
                order.number or order.id,
                order.customer_id,
                order.state,
                order.allocation_status,
                order.payment_figures.status.value,
                out.money(Money(order.totals.grand_total, order.currency)),
                f"{order.created_at:%Y-%m-%d}",
            ]
            for order in page.orders
        ],
    )
    out.line(f"{len(page.orders)} of {counted(page.total or 0, 'order')}, newest first")
    if page.next_cursor is not None:
        out.line("next page: --after (the cursor below)")
        out.stream.write(f"{page.next_cursor}\n")  # whole, to copy: a cursor is not wrapped
    return 0


def _find(service: SalesService, number: str) -> Order:
    view = service.view_order(number)  # by id, or else by number: NotFoundError names it
    return service.get_order(view.order_id)


def show_order(args: argparse.Namespace, out: Output) -> int:
    """One order: its statuses, lines, totals, shipments and payments."""
    with open_service(args.store, args.schema) as service:
        order = _find(service, args.number)
    view = OrderView.of(order)
    if args.json:
        out.json(Serializer().dump(view))
        return 0
    out.line(f"Order {view.number or view.order_id} of {view.customer_id}, {view.currency}")
    out.line(
        f"  state {view.state}; allocation {view.allocation_status}; fulfilment "
        f"{view.fulfilment_status.value}; payment {view.payment_status.value}; returns "
        f"{view.return_status.value}"
    )
    placed = f"{view.placed_at:%Y-%m-%d %H:%M}" if view.placed_at else "not yet"
    out.line(f"  created {view.created_at:%Y-%m-%d %H:%M}, placed {placed}, version {view.version}")
    rate = order.exchange_rate
    if rate is not None and rate.base != rate.quote:
        out.line(
            f"  exchange rate frozen at 1 {rate.base} = {rate.rate} {rate.quote} "
            f"(as of {rate.as_of:%Y-%m-%d %H:%M}{', ' + rate.source if rate.source else ''})"
        )
    out.heading("Lines")
    out.table(
        [
            Column("line"),
            Column("sku"),
            Column("qty", right=True),
            Column("unit", right=True),
            Column("gross", right=True),
            Column("stock"),
        ],
        [
            [
                line.line_id,
                line.sku,
                str(line.quantity - line.cancelled),
                out.money(line.unit_price),
                out.money(line.gross),
                _stock_note(line.allocated, line.backordered, line.backorder_expected),
            ]
            for line in view.lines
        ],
    )
    totals = view.totals
    out.heading("Totals")
    out.table(
        [
            Column("subtotal", right=True),
            Column("discounts", right=True),
            Column("shipping", right=True),
            Column("tax", right=True),
            Column("total", right=True),
        ],
        [
            [
                out.money(totals.subtotal),
                out.money(totals.discount_total),
                out.money(totals.shipping + totals.shipping_tax),
                out.money(totals.tax_total),
                out.money(totals.grand_total),
            ]
        ],
    )
    out.line(f"  balance due {out.money(view.balance_due)}")
    if view.shipments:
        out.heading("Shipments")
        _shipment_table(order.shipments, out)
    if order.payments:
        out.heading("Payments")
        out.table(
            [
                Column("id"),
                Column("method"),
                Column("amount", right=True),
                Column("status"),
                Column("reference"),
            ],
            [
                [
                    p.id,
                    p.method.value,
                    out.money(Money(p.amount, p.currency)),
                    p.status.value,
                    p.reference,
                ]
                for p in order.payments
            ],
        )
    return 0


def _stock_note(allocated: Any, backordered: Any, expected: dt.date | None) -> str:
    if not backordered:
        return f"{allocated} reserved" if allocated else ""
    when = f" until {expected}" if expected else ""
    return f"{allocated} reserved, {backordered} backordered{when}"


def _shipment_table(shipments: tuple[Shipment, ...], out: Output) -> None:
    out.table(
        [
            Column("id"),
            Column("from"),
            Column("carrier"),
            Column("tracking"),
            Column("status"),
            Column("last seen"),
        ],
        [
            [
                s.id[-2:],
                s.warehouse_id,
                " ".join(part for part in (s.carrier, s.service_level) if part) or "-",
                s.tracking_number or "-",
                s.status.value,
                (
                    f"{s.events[-1].at:%Y-%m-%d %H:%M} {s.events[-1].location}".strip()
                    if s.events
                    else f"{s.shipped_at:%Y-%m-%d %H:%M}"
                ),
            ]
            for s in shipments
        ],
    )


def _tracking_document(order: Order) -> dict[str, Any]:
    dump = Serializer().dump
    return {
        "order_id": order.id,
        "number": order.number,
        "customer_id": order.customer_id,
        "state": order.state,
        "fulfilment_status": order.fulfilment_status.value,
        "shipments": [
            {**dump(ShipmentView.of(s)), "events": [dump(event) for event in s.events]}
            for s in order.shipments
        ],
    }


def track_orders(args: argparse.Namespace, out: Output) -> int:
    """Where one order's shipments are, or where each of a customer's orders stands."""
    if (args.number is None) == (args.customer is None):
        raise ValidationError(
            "orders track",
            args.number or args.customer,
            "needs an order number or --customer, not both",
            "e.g. orders track SO-2026-000002, or orders track --customer C-ANNA",
        )
    with open_service(args.store, args.schema) as service:
        if args.number is not None:
            orders = [_find(service, args.number)]
        else:
            orders = _customer_orders(service, args.customer)
    if args.json:
        out.json({"orders": [_tracking_document(order) for order in orders]})
        return 0
    if args.number is not None:
        (order,) = orders
        out.line(
            f"Order {order.number} of {order.customer_id}: state {order.state}, "
            f"fulfilment {order.fulfilment_status.value}"
        )
        for shipment in order.shipments:
            out.heading(
                f"Shipment {shipment.id[-2:]} from {shipment.warehouse_id} by "
                f"{shipment.carrier or '-'} {shipment.tracking_number or ''}".rstrip()
            )
            rows = [[f"{shipment.shipped_at:%Y-%m-%d %H:%M}", "shipped", "", ""]] + [
                [f"{e.at:%Y-%m-%d %H:%M}", e.status.value, e.location, e.note]
                for e in shipment.events
            ]
            out.table([Column("at"), Column("status"), Column("where"), Column("note")], rows)
        if not order.shipments:
            out.line("  nothing shipped yet")
        return 0
    out.line(f"Orders of {args.customer}, newest first")
    out.table(
        [
            Column("number"),
            Column("state"),
            Column("fulfilment"),
            Column("tracking"),
            Column("status"),
        ],
        [
            [
                order.number or order.id,
                order.state,
                order.fulfilment_status.value,
                ", ".join(s.tracking_number or "-" for s in order.shipments) or "-",
                ", ".join(s.status.value for s in order.shipments) or "-",
            ]
            for order in orders
        ],
    )
    return 0


def _customer_orders(service: SalesService, customer: str) -> list[Order]:
    orders: list[Order] = []
    query = OrderQuery(customer_id=customer, limit=100, newest_first=True)
    while True:
        page = service.list_orders(query)
        orders.extend(page.orders)
        if page.next_cursor is None:
            return orders
        query = OrderQuery(
            customer_id=customer, limit=100, newest_first=True, after=page.next_cursor
        )
