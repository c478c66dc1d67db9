"""Shipments and their tracking: what left which warehouse, with which carrier, and what happened.

A :class:`Shipment` is immutable; tracking adds :class:`TrackingEvent` values to a new copy. The
order keeps its shipments and derives from them each line's shipped and delivered quantities and
its :class:`FulfilmentStatus` (see :func:`fulfilment_status`). The rules that need the order
(what may ship, when the order becomes shipped or delivered) are methods of the order; the rules
here only need the shipments.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final

import attrs

from salesorders.domain.checks import aware_time, check_name, check_text, require_id
from salesorders.domain.order_values import Address
from salesorders.errors import NotFoundError, ValidationError

__all__ = [
    "FulfilmentStatus",
    "Shipment",
    "ShipmentStatus",
    "ShippedLine",
    "TrackingEvent",
    "delivered_quantities",
    "fulfilment_status",
    "shipped_quantities",
]

_ZERO: Final = Decimal(0)


class ShipmentStatus(enum.Enum):
    """Where a shipment is. ``shipped`` until the carrier reports anything else."""

    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    FAILED_ATTEMPT = "failed_attempt"
    EXCEPTION = "exception"
    RETURNED_TO_SENDER = "returned_to_sender"


class FulfilmentStatus(enum.Enum):
    """How much of an order has shipped and been delivered (derived from its shipments)."""

    UNFULFILLED = "unfulfilled"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    PARTIALLY_DELIVERED = "partially_delivered"
    DELIVERED = "delivered"


@attrs.frozen(slots=True)
class ShippedLine:
    """``quantity`` of an order line in a shipment."""

    line_id: str
    sku: str
    quantity: Decimal


@attrs.frozen(slots=True)
class TrackingEvent:
    """One status report of a shipment: when, where, and a note (a carrier's own words)."""

    status: ShipmentStatus
    at: dt.datetime
    location: str = ""
    note: str = ""

    @classmethod
    def checked(
        cls, status: object, at: object, location: object = "", note: object = ""
    ) -> TrackingEvent:
        """A tracking event from outside input: every field checked, naming it."""
        try:
            kind = status if isinstance(status, ShipmentStatus) else ShipmentStatus(status)
        except ValueError:
            raise ValidationError(
                "status",
                status,
                "is not a shipment status",
                "use one of " + ", ".join(s.value for s in ShipmentStatus),
            ) from None
        return cls(
            kind,
            aware_time(at, "at"),
            check_name(location, "location"),
            check_text(note, "note"),
        )


@attrs.frozen(slots=True)
class Shipment:
    """Goods of an order that left one warehouse together.

    ``promised_date`` is the order's promised delivery date when it shipped; ``on_time`` says
    whether it was delivered by then (``None`` while not delivered or without a promise).
    """

    id: str
    warehouse_id: str
    lines: tuple[ShippedLine, ...]
    shipped_at: dt.datetime
    carrier: str = ""
    service_level: str = ""
    tracking_number: str | None = None
    label_ref: str | None = None
    shipping_address: Address | None = None
    promised_date: dt.date | None = None
    events: tuple[TrackingEvent, ...] = ()

    @property
    def status(self) -> ShipmentStatus:
        return self.events[-1].status if self.events else ShipmentStatus.SHIPPED

    @property
    def delivered_at(self) -> dt.datetime | None:
        """When the shipment was delivered (the first ``delivered`` report), if it was."""
        for event in self.events:
            if event.status is ShipmentStatus.DELIVERED:
                return event.at
        return None

    @property
    def on_time(self) -> bool | None:
        delivered = self.delivered_at
        if delivered is None or self.promised_date is None:
            return None
        return delivered.date() <= self.promised_date

    def tracked(self, event: TrackingEvent) -> Shipment:
        """This shipment with ``event`` recorded. Reports may arrive out of order: they are kept
        in time order. A delivered shipment takes no further reports but ``returned_to_sender``."""
        if not isinstance(event, TrackingEvent):
            raise ValidationError("event", event, "must be a TrackingEvent")
        if event.at < self.shipped_at:
            raise ValidationError(
                "at",
                event.at,
                f"is before shipment {self.id} left ({self.shipped_at.isoformat()})",
                "check the event's time",
            )
        if self.delivered_at is not None and event.status is not ShipmentStatus.RETURNED_TO_SENDER:
            raise ValidationError(
                "status",
                event.status.value,
                f"cannot follow the delivery of shipment {self.id}",
                "only returned_to_sender may follow a delivery",
            )
        events = tuple(sorted((*self.events, event), key=lambda e: e.at))
        return attrs.evolve(self, events=events)


def check_shipment_texts(
    shipment_id: object,
    carrier: object,
    service_level: object,
    tracking_number: object,
    label_ref: object,
) -> None:
    require_id(shipment_id, "shipment_id")
    check_name(carrier, "carrier")
    check_name(service_level, "service_level")
    if tracking_number is not None:
        require_id(tracking_number, "tracking_number")
    if label_ref is not None:
        check_text(label_ref, "label_ref")


def shipped_quantities(shipments: Iterable[Shipment]) -> dict[str, Decimal]:
    """Shipped quantity per line id over ``shipments``."""
    totals: dict[str, Decimal] = {}
    for shipment in shipments:
        for line in shipment.lines:
            totals[line.line_id] = totals.get(line.line_id, _ZERO) + line.quantity
    return totals


def delivered_quantities(shipments: Iterable[Shipment]) -> dict[str, Decimal]:
    """Delivered quantity per line id: the lines of shipments delivered and not returned."""
    return shipped_quantities(
        s
        for s in shipments
        if s.delivered_at is not None and s.status is not ShipmentStatus.RETURNED_TO_SENDER
    )


def fulfilment_status(
    ordered: Mapping[str, Decimal], shipments: Iterable[Shipment]
) -> FulfilmentStatus:
    """The fulfilment status of lines ``ordered`` (line id → quantity to fulfil)."""
    kept = tuple(shipments)
    shipped = shipped_quantities(kept)
    delivered = delivered_quantities(kept)
    wanted = {line_id: q for line_id, q in ordered.items() if q > 0}
    if not shipped:
        return FulfilmentStatus.UNFULFILLED
    all_shipped = all(shipped.get(line_id, _ZERO) >= q for line_id, q in wanted.items())
    if delivered:
        all_delivered = all(delivered.get(line_id, _ZERO) >= q for line_id, q in wanted.items())
        if all_delivered:
            return FulfilmentStatus.DELIVERED
        return FulfilmentStatus.PARTIALLY_DELIVERED
    return FulfilmentStatus.SHIPPED if all_shipped else FulfilmentStatus.PARTIALLY_SHIPPED


def shipment_of(shipments: Iterable[Shipment], shipment_id: str) -> Shipment:
    for shipment in shipments:
        if shipment.id == shipment_id:
            return shipment
    raise NotFoundError("shipment", str(shipment_id))
