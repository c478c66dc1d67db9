"""Logistics figures of orders: open and late shipments, and each order's lead times.

These are the reference definitions every store answers by (the memory store calls them over its
orders; the SQL stores keep what they need in columns written from them when an order is saved):

* A shipment is **open** while no delivery of it has been reported and it is not back with the
  sender: its status is ``shipped``, ``in_transit``, ``out_for_delivery``, ``failed_attempt`` or
  ``exception``, and it has no ``delivered`` report. A shipment reported ``returned_to_sender``
  (its latest report) is closed, like a delivered one; if the carrier takes it on again (a later
  ``in_transit`` report), it is open again.
* An open shipment is **late** on a day ``on`` when its promised date is before ``on``:
  promised for June 5, it is late from June 6 on, by one day on June 6. A shipment without a
  promised date is never late. A shipment that was delivered after its promise is not late (it
  is no longer open); its ``on_time`` says so.
* An order's **lead time** runs from its placement to its confirmation (the first ``confirm``
  in its audit trail), its shipments (the first to leave, and the one that completed it: every
  line shipped in full) and its delivery (when every line was delivered, the latest delivery
  among its shipments). Each is ``None`` until it happened; only placed orders have one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Final

import attrs

from salesorders.domain.fulfilment import (
    FulfilmentStatus,
    Shipment,
    ShipmentStatus,
    fulfilment_status,
    shipped_quantities,
)
from salesorders.domain.order import Order
from salesorders.domain.order_values import AuditEntry

__all__ = [
    "OPEN_STATUSES",
    "LateShipment",
    "LeadTime",
    "OpenShipment",
    "is_open",
    "late_shipment",
    "lead_time",
    "lead_time_of",
    "open_shipments_of",
]

_ZERO: Final = Decimal(0)

#: The statuses an open shipment may have (it is open only if no delivery was reported, too).
OPEN_STATUSES: Final = frozenset(
    {
        ShipmentStatus.SHIPPED,
        ShipmentStatus.IN_TRANSIT,
        ShipmentStatus.OUT_FOR_DELIVERY,
        ShipmentStatus.FAILED_ATTEMPT,
        ShipmentStatus.EXCEPTION,
    }
)


def is_open(shipment: Shipment) -> bool:
    """True while ``shipment`` is on its way: not delivered, not returned to its sender."""
    return shipment.delivered_at is None and shipment.status in OPEN_STATUSES


@attrs.frozen(slots=True)
class OpenShipment:
    """A shipment not yet delivered (and not returned to sender), with its order."""

    order_id: str
    order_number: str | None
    shipment_id: str
    warehouse_id: str
    carrier: str
    service_level: str
    tracking_number: str | None
    shipped_at: dt.datetime
    promised_date: dt.date | None
    status: ShipmentStatus

    @classmethod
    def of(cls, order_id: str, order_number: str | None, shipment: Shipment) -> OpenShipment:
        return cls(
            order_id,
            order_number,
            shipment.id,
            shipment.warehouse_id,
            shipment.carrier,
            shipment.service_level,
            shipment.tracking_number,
            shipment.shipped_at,
            shipment.promised_date,
            shipment.status,
        )


@attrs.frozen(slots=True)
class LateShipment:
    """An open shipment past its promised date on the day ``on``, by ``days_late`` days (1 or
    more)."""

    shipment: OpenShipment
    on: dt.date
    days_late: int


def open_shipments_of(order: Order) -> tuple[OpenShipment, ...]:
    """The order's open shipments, in the order they left."""
    return tuple(OpenShipment.of(order.id, order.number, s) for s in order.shipments if is_open(s))


def late_shipment(shipment: OpenShipment, on: dt.date) -> LateShipment | None:
    """``shipment`` as a late shipment on ``on``, or ``None`` if it is not late that day."""
    promised = shipment.promised_date
    if promised is None or promised >= on:
        return None
    return LateShipment(shipment, on, (on - promised).days)


@attrs.frozen(slots=True)
class LeadTime:
    """When a placed order passed each step of fulfilment (``None``: not yet), and how long
    each step took.

    ``last_shipped_at`` is when the order was shipped in full (the latest of its shipments, once
    every line has shipped); ``delivered_at`` is when it was delivered in full (the latest
    delivery of its shipments, once every line was delivered).
    """

    order_id: str
    order_number: str | None
    placed_at: dt.datetime
    confirmed_at: dt.datetime | None = None
    first_shipped_at: dt.datetime | None = None
    last_shipped_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None

    @property
    def placed_to_confirmed(self) -> dt.timedelta | None:
        return _between(self.placed_at, self.confirmed_at)

    @property
    def placed_to_shipped(self) -> dt.timedelta | None:
        """From placement until every line had shipped."""
        return _between(self.placed_at, self.last_shipped_at)

    @property
    def shipped_to_delivered(self) -> dt.timedelta | None:
        """From the shipment that completed the order until its last delivery."""
        return _between(self.last_shipped_at, self.delivered_at)

    @property
    def placed_to_delivered(self) -> dt.timedelta | None:
        return _between(self.placed_at, self.delivered_at)


def _between(start: dt.datetime | None, end: dt.datetime | None) -> dt.timedelta | None:
    return None if start is None or end is None else end - start


def lead_time(order: Order) -> LeadTime | None:
    """The lead time of ``order``; ``None`` while it has not been placed."""
    if order.placed_at is None:
        return None
    ordered = {line.line_id: line.open_quantity for line in order.lines} if order.shipments else {}
    return lead_time_of(
        order.id, order.number, order.placed_at, order.audit, ordered, order.shipments
    )


def lead_time_of(
    order_id: str,
    order_number: str | None,
    placed_at: dt.datetime,
    audit: Iterable[AuditEntry],
    ordered: Mapping[str, Decimal],
    shipments: Sequence[Shipment],
) -> LeadTime:
    """The lead time of an order given as its parts: its audit trail, its lines' quantities
    (line id → quantity ordered and not cancelled) and its shipments."""
    confirmed_at = next(
        (e.at for e in audit if e.event == "confirm" or e.to_state == "confirmed"), None
    )
    if not shipments:
        return LeadTime(order_id, order_number, placed_at, confirmed_at)
    first_shipped = min(s.shipped_at for s in shipments)
    shipped = shipped_quantities(shipments)
    in_full = all(shipped.get(line_id, _ZERO) >= q for line_id, q in ordered.items() if q > 0)
    last_shipped = max(s.shipped_at for s in shipments) if in_full else None
    delivered_at = None
    if fulfilment_status(ordered, shipments) is FulfilmentStatus.DELIVERED:
        delivered_at = max(
            s.delivered_at
            for s in shipments
            if s.delivered_at is not None and s.status is not ShipmentStatus.RETURNED_TO_SENDER
        )
    return LeadTime(
        order_id, order_number, placed_at, confirmed_at, first_shipped, last_shipped, delivered_at
    )
