"""The fulfilment use cases: ship, track, deliver, complete, and cancel lines (short ship).

Shipping consumes the order's reservations through the stock engine (SHIPMENT ledger entries) and
records one :class:`~salesorders.domain.fulfilment.Shipment` per warehouse on the order, in one
unit of work with the outbox messages, like every other command.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Final

import attrs

from salesorders.domain.checks import check_name, require_id
from salesorders.domain.fulfilment import (
    Shipment,
    ShipmentStatus,
    ShippedLine,
    TrackingEvent,
    check_shipment_texts,
)
from salesorders.domain.money import to_quantity
from salesorders.domain.order import Order
from salesorders.domain.stock import LowStock, Reservation, StockDesk
from salesorders.errors import ValidationError
from salesorders.ports import Carrier, CarrierBooking, TrackingNumbers, UnitOfWork
from salesorders.service.commands import (
    CancelLine,
    CancelLines,
    CompleteOrder,
    DeliverOrder,
    PromiseDelivery,
    RecordShipmentEvent,
    ShipLine,
    ShipOrder,
)
from salesorders.service.compensation import on_failure
from salesorders.service.results import OrderResult

__all__ = ["Fulfilment", "latest_first"]

_ZERO: Final = Decimal(0)

#: Writes an order's new events (and stock alerts) to the outbox; returns the command's result.
Publish = Callable[[UnitOfWork, Order, Sequence[LowStock]], OrderResult]


class Fulfilment:
    """The fulfilment handlers, wired to the carriers the service knows and, if the host gave
    one, the check of tracking numbers."""

    def __init__(
        self,
        carriers: Mapping[str, Carrier],
        publish: Publish,
        tracking_numbers: TrackingNumbers | None = None,
    ) -> None:
        self.carriers = carriers
        self.tracking_numbers = tracking_numbers
        self._publish = publish

    # ------------------------------------------------------------------ shipping

    def ship_order(self, uow: UnitOfWork, command: ShipOrder, now: dt.datetime) -> OrderResult:
        order = uow.orders.get(command.order_id)
        alerts = self.ship(
            uow,
            order,
            command.lines,
            now,
            carrier=command.carrier,
            service_level=command.service_level,
            tracking_number=command.tracking_number,
            actor=command.actor,
            reason=command.reason,
        )
        uow.orders.save(order)
        return self._publish(uow, order, alerts)

    def ship(
        self,
        uow: UnitOfWork,
        order: Order,
        lines: Sequence[ShipLine],
        now: dt.datetime,
        *,
        carrier: str = "",
        service_level: str = "",
        tracking_number: str | None = None,
        actor: str = "",
        reason: str = "",
    ) -> list[LowStock]:
        """Ship ``lines`` (none: everything still to ship) of ``order`` from its reservations,
        one shipment per warehouse; the order's ``consume`` transition fires once every line has
        shipped. Returns the stock's low-stock alerts."""
        tracking_number = self._tracking_number(carrier, tracking_number)
        event = order.shipping_event()
        order.workflow.next_state(order.state, event, order, order.id)  # refuse early
        wanted = _wanted(order, lines)
        open_held = [r for r in uow.stock.reservations(order.id) if r.open > 0]
        by_warehouse = _from_reservations(wanted, open_held, bool(lines))
        if tracking_number is not None and len(by_warehouse) > 1:
            raise ValidationError(
                "tracking_number",
                tracking_number,
                f"would be shared by {len(by_warehouse)} shipments (the goods come from "
                + ", ".join(sorted(by_warehouse))
                + ")",
                "ship one warehouse's lines per command, or let the carrier book each shipment",
            )
        booker = self._carrier(carrier, tracking_number)
        skus = {line.line_id: line.sku for line in order.lines}
        count = len(order.shipments)
        shipments: list[Shipment] = []
        for warehouse_id, parts in by_warehouse.items():
            count += 1
            shipment_id = f"{order.id}-S{count}"
            quantities: dict[str, Decimal] = {}
            for reservation, quantity in parts:
                quantities[reservation.line_id] = (
                    quantities.get(reservation.line_id, _ZERO) + quantity
                )
            tracking, label = tracking_number, None
            check_shipment_texts(shipment_id, carrier, service_level, tracking, label)
            shipment = Shipment(
                shipment_id,
                warehouse_id,
                tuple(ShippedLine(lid, skus[lid], q) for lid, q in quantities.items()),
                now,
                carrier,
                service_level,
                tracking,
                label,
                order.shipping_address,
                order.promised_date,
            )
            if booker is not None:
                booking = booker.book(shipment)
                on_failure(functools.partial(booker.cancel, shipment, booking))
                check_shipment_texts(
                    shipment_id, carrier, "", booking.tracking_number, booking.label_ref
                )
                booking = self._checked_booking(carrier, booking)
                shipment = attrs.evolve(
                    shipment, tracking_number=booking.tracking_number, label_ref=booking.label_ref
                )
            shipments.append(shipment)
        # Every item shipped from is locked at once, in (SKU, warehouse) order, before the
        # shipments consume their reservations one by one (each SHIPMENT entry names its own).
        if len(by_warehouse) > 1:
            uow.stock.lock(
                sorted({r.item_key for parts in by_warehouse.values() for r, _ in parts})
            )
        desk = StockDesk(uow.stock)
        for shipment, parts in zip(shipments, by_warehouse.values(), strict=True):
            desk.consume_order(
                order.id,
                parts,
                now,
                reason=reason or f"shipment {shipment.id}",
                actor=actor,
            )
        for shipment in shipments:
            order.add_shipment(shipment, actor=actor, reason=reason)
        return desk.alerts

    def _carrier(self, name: str, tracking_number: str | None) -> Carrier | None:
        """The carrier that books the shipments: a known one, when no tracking number is given."""
        if not name or tracking_number is not None:
            return None
        return self.carriers.get(name)

    def _tracking_number(self, carrier: str, number: str | None) -> str | None:
        """``number`` as the host's :class:`TrackingNumbers` stores it; without one, unchanged."""
        if number is None or self.tracking_numbers is None:
            return number
        check_name(carrier, "carrier")
        require_id(number, "tracking_number")
        return require_id(self.tracking_numbers.check(carrier, number), "tracking_number")

    def _checked_booking(self, carrier: str, booking: CarrierBooking) -> CarrierBooking:
        """A carrier's booking (its texts checked), its tracking number checked like one a
        command gives."""
        checker = self.tracking_numbers
        if checker is None:
            return booking
        try:
            number = require_id(checker.check(carrier, booking.tracking_number), "tracking_number")
        except ValidationError as error:
            raise ValidationError(
                error.field,
                error.value,
                f"{error.problem}, booked by carrier {carrier!r}",
                "nothing shipped (the bookings this command made are cancelled); check the carrier",
            ) from error
        return attrs.evolve(booking, tracking_number=number)

    # ------------------------------------------------------------------ tracking and delivery

    def record_shipment_event(
        self, uow: UnitOfWork, command: RecordShipmentEvent, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        shipment = order.shipment(command.shipment_id)
        status: object = command.status
        if command.carrier_code is not None:
            if command.status is not None:
                raise ValidationError(
                    "carrier_code",
                    command.carrier_code,
                    "is given with a status",
                    "give either status or carrier_code",
                )
            carrier = self.carriers.get(shipment.carrier)
            if carrier is None:
                raise ValidationError(
                    "carrier_code",
                    command.carrier_code,
                    f"needs the carrier {shipment.carrier!r} of shipment {shipment.id}",
                    "bootstrap the service with that carrier, or give a status",
                )
            status = carrier.status_of(command.carrier_code)
        elif status is None:
            raise ValidationError(
                "status",
                None,
                "is required",
                "give one of " + ", ".join(s.value for s in ShipmentStatus),
            )
        at = now if command.occurred_at is None else command.occurred_at
        try:
            event = TrackingEvent.checked(status, at, command.location, command.note)
            order.track(shipment.id, event, actor=command.actor)
        except ValidationError as error:
            if error.field != "at":
                raise
            raise ValidationError(
                "occurred_at", command.occurred_at, error.problem, error.hint
            ) from error
        uow.orders.save(order)
        return self._publish(uow, order, ())

    def promise_delivery(
        self, uow: UnitOfWork, command: PromiseDelivery, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        order.promise(command.promised_date, now, actor=command.actor, reason=command.reason)
        uow.orders.save(order)
        return self._publish(uow, order, ())

    def deliver_order(
        self, uow: UnitOfWork, command: DeliverOrder, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        order.deliver(now, actor=command.actor, reason=command.reason)
        uow.orders.save(order)
        return self._publish(uow, order, ())

    def complete_order(
        self, uow: UnitOfWork, command: CompleteOrder, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        order.complete(now, actor=command.actor, reason=command.reason)
        uow.orders.save(order)
        return self._publish(uow, order, ())

    # ------------------------------------------------------------------ short shipping

    def cancel_lines(self, uow: UnitOfWork, command: CancelLines, now: dt.datetime) -> OrderResult:
        order = uow.orders.get(command.order_id)
        if not isinstance(command.lines, tuple):
            raise ValidationError("lines", command.lines, "must be a tuple of CancelLine")
        precision = {line.line_id: line.quantity_precision for line in order.lines}
        quantities: dict[str, Decimal | None] = {}
        for index, item in enumerate(command.lines):
            if not isinstance(item, CancelLine):
                raise ValidationError(f"lines[{index}]", item, "must be a CancelLine")
            if item.line_id in quantities:
                raise ValidationError(
                    f"lines[{index}].line_id", item.line_id, "is named twice; name each line once"
                )
            quantities[item.line_id] = (
                None
                if item.quantity is None
                else to_quantity(
                    item.quantity, f"lines[{index}].quantity", precision.get(item.line_id, 0)
                )
            )
        freed = order.cancel_lines(quantities, now, actor=command.actor, reason=command.reason)
        desk = StockDesk(uow.stock)
        if freed:
            desk.release_parts(
                order.id,
                latest_first(freed, uow.stock.reservations(order.id)),
                now,
                reason=command.reason,
                actor=command.actor,
            )
        uow.orders.save(order)
        return self._publish(uow, order, desk.alerts)


def latest_first(
    freed: Mapping[str, Decimal], held: Sequence[Reservation]
) -> list[tuple[Reservation, Decimal | None]]:
    """Which open reservations give back each line's freed quantity, newest first."""
    parts: list[tuple[Reservation, Decimal | None]] = []
    for line_id, quantity in freed.items():
        left = quantity
        for reservation in reversed(held):
            if reservation.line_id != line_id or reservation.open <= 0 or left <= 0:
                continue
            take = min(reservation.open, left)
            parts.append((reservation, take))
            left -= take
    return parts


def _wanted(order: Order, lines: Sequence[ShipLine]) -> dict[str, Decimal]:
    """Quantity to ship per line id: what the command names, or every line's rest."""
    shipped = order.shipped_quantities()
    by_id = {line.line_id: line for line in order.lines}
    if not lines:
        return {
            line.line_id: line.open_quantity - shipped.get(line.line_id, _ZERO)
            for line in order.lines
            if line.open_quantity > shipped.get(line.line_id, _ZERO)
        }
    wanted: dict[str, Decimal] = {}
    for index, item in enumerate(lines):
        if not isinstance(item, ShipLine):
            raise ValidationError(f"lines[{index}]", item, "must be a ShipLine")
        line = by_id.get(item.line_id) if isinstance(item.line_id, str) else None
        if line is None:
            raise ValidationError(
                f"lines[{index}].line_id", item.line_id, f"is not a line of order {order.id}"
            )
        rest = (
            line.open_quantity - shipped.get(line.line_id, _ZERO) - wanted.get(line.line_id, _ZERO)
        )
        if item.quantity is None:
            quantity = rest
        else:
            field = f"lines[{index}].quantity"
            quantity = to_quantity(item.quantity, field, line.quantity_precision)
            if quantity > rest:
                raise ValidationError(
                    field,
                    item.quantity,
                    f"is more than the {rest} of line {line.line_id} still to ship",
                    "ship at most what the line ordered",
                )
        if quantity > 0:
            wanted[line.line_id] = wanted.get(line.line_id, _ZERO) + quantity
    if not wanted:
        raise ValidationError("lines", lines, "leave nothing to ship")
    return wanted


def _from_reservations(
    wanted: Mapping[str, Decimal], held: Sequence[Reservation], named: bool
) -> dict[str, list[tuple[Reservation, Decimal]]]:
    """Which open reservations serve each line's quantity, grouped by warehouse.

    Refuses a line whose open reservations hold less than it should ship.
    """
    grouped: dict[str, list[tuple[Reservation, Decimal]]] = {}
    for index, (line_id, quantity) in enumerate(wanted.items()):
        left = quantity
        for reservation in held:
            if reservation.line_id != line_id or left <= 0:
                continue
            take = min(reservation.open, left)
            grouped.setdefault(reservation.warehouse_id, []).append((reservation, take))
            left -= take
        if left > 0:
            reserved = quantity - left
            field = f"lines[{index}].quantity" if named else "lines"
            raise ValidationError(
                field,
                str(quantity),
                f"line {line_id}: only {reserved} of {quantity} is reserved",
                "ship what is reserved, or allocate the backorder first",
            )
    if not grouped:
        raise ValidationError("lines", tuple(wanted), "have nothing reserved to ship")
    return grouped
