"""Queries over the logistics figures, their pages and cursors, and the reference answers.

A query is checked when it is built, so every store sees the same valid queries: a bad field
raises :class:`~salesorders.errors.ValidationError` naming it. Each listing has one fixed order
and pages by it with an opaque cursor (``after`` is the ``next_cursor`` of the previous page):

=====================  ====================================================  ===============
listing                order                                                 query
=====================  ====================================================  ===============
open shipments         shipped_at, order id, shipment id                     ShipmentQuery
late shipments         promised date, shipped_at, order id, shipment id      LateShipmentQuery
lead times             placed_at, order id                                   LeadTimeQuery
=====================  ====================================================  ===============

Ids compare as strings, character by character (code point order), in every store. A cursor
belongs to one listing: passing it to another is refused (field ``after``). The cursor codec
here is the one every store uses. :func:`select_open_shipments`,
:func:`select_late_shipments` and :func:`select_lead_times` answer a query over orders held in
memory: the reference every store's answer must equal.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, Generic, TypeVar

import attrs

from salesorders.domain.checks import aware_time, check_name, check_text, optional_id, page_limit
from salesorders.domain.logistics import (
    LateShipment,
    LeadTime,
    OpenShipment,
    late_shipment,
    lead_time,
    open_shipments_of,
)
from salesorders.domain.order import Order
from salesorders.errors import ValidationError

__all__ = [
    "LateShipmentQuery",
    "LeadTimeQuery",
    "Page",
    "ShipmentQuery",
    "decode_cursor",
    "encode_cursor",
    "expect_query",
    "late_key",
    "lead_key",
    "open_key",
    "select_late_shipments",
    "select_lead_times",
    "select_open_shipments",
]

T = TypeVar("T")
Key = tuple[Any, ...]

_UTC: Final = dt.UTC

#: The value kinds of each listing's sort key, in order (the cursor's layout).
_LAYOUTS: Final[dict[str, tuple[str, ...]]] = {
    "open": ("time", "text", "text"),
    "late": ("day", "time", "text", "text"),
    "lead": ("time", "text"),
}


@attrs.frozen(slots=True)
class Page(Generic[T]):
    """One page of a listing; ``next_cursor`` is ``None`` on the last page."""

    items: tuple[T, ...]
    next_cursor: str | None = None


# --------------------------------------------------------------------------- cursors


def _encode_value(kind: str, value: Any) -> str:
    if kind == "time":
        return str(value.astimezone(_UTC).isoformat(timespec="microseconds"))
    if kind == "day":
        return str(value.isoformat())
    return str(value)


def _decode_value(kind: str, text: Any) -> Any:
    if not isinstance(text, str):
        raise ValueError(text)
    if kind == "time":
        at = dt.datetime.fromisoformat(text)
        if at.utcoffset() is None:
            raise ValueError(text)
        return at
    if kind == "day":
        return dt.date.fromisoformat(text)
    return text


def encode_cursor(listing: str, key: Key) -> str:
    """The opaque cursor of the row with sort ``key`` in ``listing`` (``open``, ``late``,
    ``lead``)."""
    values = [_encode_value(k, v) for k, v in zip(_LAYOUTS[listing], key, strict=True)]
    raw = json.dumps([listing, *values], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(listing: str, cursor: object) -> Key:
    """The sort key a cursor of ``listing`` stands for; anything else raises
    :class:`~salesorders.errors.ValidationError` (field ``after``)."""
    problem = ValidationError(
        "after",
        cursor,
        f"is not a cursor of the {listing} listing",
        "pass the next_cursor of the previous page of the same listing, or None",
    )
    if not isinstance(cursor, str):
        raise problem
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise problem from None
    layout = _LAYOUTS[listing]
    if not isinstance(data, list) or len(data) != len(layout) + 1 or data[0] != listing:
        raise problem
    try:
        return tuple(_decode_value(kind, text) for kind, text in zip(layout, data[1:], strict=True))
    except (ValueError, TypeError):
        raise problem from None


# --------------------------------------------------------------------------- queries


def _cursor_of(listing: str) -> Callable[[object, attrs.Attribute[Any], object], None]:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            check_text(value, "after")
            decode_cursor(listing, value)

    return check


def _check_limit(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    page_limit(value)


def _check_carrier(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_name(value, "carrier")


def _check_id(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    optional_id(value, attribute.name)


def _check_day(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValidationError(
            attribute.name, value, "must be a datetime.date", "pass e.g. datetime.date(2026, 6, 1)"
        )


def _check_time(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        aware_time(value, attribute.name)


def _check_window(instance: LeadTimeQuery, attribute: attrs.Attribute[Any], value: object) -> None:
    _check_time(instance, attribute, value)
    start = instance.placed_from
    if value is not None and start is not None and value <= start:  # type: ignore[operator]
        raise ValidationError(
            "placed_to",
            value,
            f"must be after placed_from ({start.isoformat()})",
            "placed_from is inclusive and placed_to exclusive",
        )


@attrs.frozen(slots=True)
class ShipmentQuery:
    """Open shipments, optionally of one ``carrier`` (``""``: shipments without one) and one
    ``warehouse_id``; ``limit`` per page (1 to 10,000)."""

    carrier: str | None = attrs.field(default=None, validator=_check_carrier)
    warehouse_id: str | None = attrs.field(default=None, validator=_check_id)
    limit: int = attrs.field(default=50, validator=_check_limit)
    after: str | None = attrs.field(default=None, validator=_cursor_of("open"))


@attrs.frozen(slots=True)
class LateShipmentQuery:
    """Open shipments whose promised date is before ``on`` (a ``datetime.date``), filtered like
    :class:`ShipmentQuery`."""

    on: dt.date = attrs.field(validator=_check_day)
    carrier: str | None = attrs.field(default=None, validator=_check_carrier)
    warehouse_id: str | None = attrs.field(default=None, validator=_check_id)
    limit: int = attrs.field(default=50, validator=_check_limit)
    after: str | None = attrs.field(default=None, validator=_cursor_of("late"))


@attrs.frozen(slots=True)
class LeadTimeQuery:
    """Lead times of the orders placed from ``placed_from`` (inclusive) to ``placed_to``
    (exclusive), timezone-aware datetimes; either may be ``None`` (no bound)."""

    placed_from: dt.datetime | None = attrs.field(default=None, validator=_check_time)
    placed_to: dt.datetime | None = attrs.field(default=None, validator=_check_window)
    limit: int = attrs.field(default=50, validator=_check_limit)
    after: str | None = attrs.field(default=None, validator=_cursor_of("lead"))


def expect_query(query: object, kind: type[T]) -> T:
    """``query`` if it is a ``kind``, else :class:`~salesorders.errors.ValidationError`
    (field ``query``)."""
    if not isinstance(query, kind):
        raise ValidationError("query", query, f"must be a {kind.__name__}")
    return query


# --------------------------------------------------------------------------- sort keys


def open_key(shipment: OpenShipment) -> Key:
    return (shipment.shipped_at, shipment.order_id, shipment.shipment_id)


def late_key(late: LateShipment) -> Key:
    return (late.shipment.promised_date, *open_key(late.shipment))


def lead_key(lead: LeadTime) -> Key:
    return (lead.placed_at, lead.order_id)


# --------------------------------------------------------------------------- reference answers


def _wanted(shipment: OpenShipment, carrier: str | None, warehouse_id: str | None) -> bool:
    return (carrier is None or shipment.carrier == carrier) and (
        warehouse_id is None or shipment.warehouse_id == warehouse_id
    )


def _page(
    found: Sequence[T], key: Callable[[T], Key], listing: str, limit: int, after: str | None
) -> Page[T]:
    ordered = sorted(found, key=key)
    start = 0
    if after is not None:
        start = bisect.bisect_right([key(item) for item in ordered], decode_cursor(listing, after))
    items = tuple(ordered[start : start + limit])
    more = start + limit < len(ordered)
    return Page(items, encode_cursor(listing, key(items[-1])) if more else None)


def select_open_shipments(orders: Iterable[Order], query: ShipmentQuery) -> Page[OpenShipment]:
    """One page of the open shipments of ``orders`` that ``query`` asks for."""
    expect_query(query, ShipmentQuery)
    found = [
        shipment
        for order in orders
        for shipment in open_shipments_of(order)
        if _wanted(shipment, query.carrier, query.warehouse_id)
    ]
    return _page(found, open_key, "open", query.limit, query.after)


def select_late_shipments(orders: Iterable[Order], query: LateShipmentQuery) -> Page[LateShipment]:
    """One page of the shipments of ``orders`` late on ``query.on``."""
    expect_query(query, LateShipmentQuery)
    found = []
    for order in orders:
        for shipment in open_shipments_of(order):
            late = late_shipment(shipment, query.on)
            if late is not None and _wanted(shipment, query.carrier, query.warehouse_id):
                found.append(late)
    return _page(found, late_key, "late", query.limit, query.after)


def select_lead_times(orders: Iterable[Order], query: LeadTimeQuery) -> Page[LeadTime]:
    """One page of the lead times of the orders placed within ``query``'s window."""
    expect_query(query, LeadTimeQuery)
    start, end = query.placed_from, query.placed_to
    found = []
    for order in orders:
        placed = order.placed_at
        if placed is None or (start is not None and placed < start):
            continue
        if end is not None and placed >= end:
            continue
        found.append(lead_time(order))
    return _page(
        [lead for lead in found if lead is not None], lead_key, "lead", query.limit, query.after
    )
