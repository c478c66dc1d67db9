"""The order's fulfilment and backorder verbs, kept beside the aggregate's core.

:class:`OrderFulfilment` is a base of :class:`~salesorders.domain.order.Order`: shipments, tracking,
the derived fulfilment status, and stock allocated to backordered lines. Like every verb of the
order, each checks everything first and raises events; a verb that raises changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from salesorders.domain import events as ev
from salesorders.domain.checks import aware_time, check_name, check_text
from salesorders.domain.fulfilment import (
    FulfilmentStatus,
    Shipment,
    TrackingEvent,
    delivered_quantities,
    fulfilment_status,
    shipment_of,
    shipped_quantities,
)
from salesorders.domain.fulfilment import ShipmentStatus as _Status
from salesorders.domain.order_values import OrderLine, Totals, with_allocation, with_cancelled
from salesorders.domain.plan import AllocationPlan, AllocationRequest, DemandLine
from salesorders.domain.workflow import CONSUME
from salesorders.errors import OrderError, ValidationError

if TYPE_CHECKING:
    from salesorders.domain.pricing import Charge, Discount
    from salesorders.domain.warehouse import Destination
    from salesorders.domain.workflow import Workflow

__all__ = ["OrderFulfilment"]

_ZERO: Final = Decimal(0)


def _day(day: dt.date | None) -> str:
    return "" if day is None else day.isoformat()


class OrderFulfilment:
    """Fulfilment and backorder verbs of the order (a base class of ``Order``)."""

    if not TYPE_CHECKING:
        __slots__ = ()  # Order keeps its fields in slots; this base adds none

    if TYPE_CHECKING:
        id: str
        state: str
        workflow: Workflow
        lines: tuple[OrderLine, ...]
        shipments: tuple[Shipment, ...]
        promised_date: dt.date | None
        updated_at: dt.datetime
        event_sequence: int

        def can(self, event: str) -> bool: ...

        def allocation_request(self, *, all_or_nothing: bool = False) -> AllocationRequest: ...

        @property
        def destination(self) -> Destination: ...

        order_discounts: tuple[Discount, ...]
        shipping: Charge | None
        totals: Totals

        def transition(
            self,
            event: str,
            at: dt.datetime,
            *,
            plan: AllocationPlan | None = None,
            actor: str = "",
            reason: str = "",
        ) -> None: ...

        def _reprice(
            self,
            lines: tuple[OrderLine, ...],
            order_discounts: tuple[Discount, ...],
            shipping: Charge | None,
            at: dt.datetime,
        ) -> None: ...

        def _raise(self, event: ev.OrderEvent) -> None: ...

    @property
    def waiting(self) -> bool:
        """True while a line waits for backordered stock."""
        return any(line.backordered > 0 for line in self.lines)

    def backorder_request(self, skus: Collection[str] | None = None) -> AllocationRequest:
        """What the backordered lines (of ``skus``, or all) still need allocated."""
        lines = tuple(
            [
                DemandLine(line.line_id, line.sku, line.backordered)
                for line in self.lines
                if line.backordered > 0 and (skus is None or line.sku in skus)
            ]
        )
        return AllocationRequest(self.id, lines, self.destination)

    def allocate_backorders(
        self, plan: AllocationPlan, at: dt.datetime, *, actor: str = ""
    ) -> None:
        """Record stock allocated to backordered lines (after it was reserved).

        Refused, changing nothing: a plan for another order, for a line not on the order, or
        for more than a line has backordered.
        """
        aware_time(at)
        check_name(actor, "actor")
        if plan.order_id != self.id:
            raise ValidationError("plan.order_id", plan.order_id, f"is not order {self.id}")
        got: dict[str, Decimal] = {}
        for allocation in plan.allocations:
            earlier = got.get(allocation.line_id)
            got[allocation.line_id] = (
                allocation.quantity if earlier is None else earlier + allocation.quantity
            )
        by_id = {line.line_id: line for line in self.lines}
        for line_id, quantity in got.items():
            line = by_id.get(line_id)
            if line is None:
                raise ValidationError("plan.allocations", line_id, "names a line not on the order")
            if quantity > line.backordered:
                raise ValidationError(
                    "plan.allocations",
                    str(quantity),
                    f"allocates more to line {line_id} than its {line.backordered} backordered",
                )
        if not got:
            return
        lines = []
        changed = []
        waiting = []
        for line in self.lines:
            extra = got.get(line.line_id)
            if extra is not None:
                line = with_allocation(
                    line,
                    line.allocated + extra,
                    line.backordered - extra,
                    line.backorder_expected,
                )
                changed.append((line.line_id, str(line.allocated), str(line.backordered)))
                if line.backordered:
                    waiting.append(
                        (line.line_id, str(line.backordered), _day(line.backorder_expected))
                    )
            lines.append(line)
        self.lines = tuple(lines)
        self.updated_at = max(self.updated_at, at)
        self._raise(
            ev.OrderAllocationChanged(
                self.id,
                self.event_sequence + 1,
                at,
                actor,
                "stock arrived for backordered lines",
                lines=tuple(changed),
                backorders=tuple(waiting),
            )
        )

    # ------------------------------------------------------------------ short shipping

    def cancel_lines(
        self,
        quantities: Mapping[str, Decimal | None],
        at: dt.datetime,
        *,
        actor: str = "",
        reason: str,
    ) -> dict[str, Decimal]:
        """Cancel quantities of lines that have not shipped (``None``: all that is left of the
        line), a "short ship". The order is repriced for what it still wants, at the agreed unit
        prices. When every line's rest has now shipped, the order takes its shipping transition.

        Returns, per line, how much of what was allocated (reserved, not shipped) the
        cancellation frees: the caller releases that stock. The backordered part is cancelled
        first. Refused, changing nothing: a draft (edit its lines instead), an order in a final
        state, no reason, a line not on the order, a quantity that is not positive or is more
        than is left, or cancelling everything of an order nothing has shipped from (cancel the
        order instead).
        """
        aware_time(at)
        check_name(actor, "actor")
        check_text(reason, "reason")
        if not reason.strip():
            raise ValidationError(
                "reason", reason, "is required to cancel lines", "say why (e.g. out of stock)"
            )
        if self.state == self.workflow.initial:
            raise OrderError(
                self.id,
                f"order {self.id}: is a draft; change or remove its lines instead of cancelling",
            )
        if self.state in self.workflow.finals:
            raise OrderError(
                self.id, f"order {self.id}: is {self.state}; its lines can no longer be cancelled"
            )
        if not quantities:
            raise ValidationError("lines", (), "must name at least one line to cancel")
        shipped = self.shipped_quantities()
        by_id = {line.line_id: line for line in self.lines}
        wanted: dict[str, Decimal] = {}
        for index, (line_id, quantity) in enumerate(quantities.items()):
            line = by_id.get(line_id)
            if line is None:
                raise ValidationError(
                    f"lines[{index}].line_id", line_id, f"is not a line of order {self.id}"
                )
            left = line.open_quantity - shipped.get(line_id, _ZERO)
            field = f"lines[{index}].quantity"
            if quantity is None:
                quantity = left
                if not left:
                    raise ValidationError(
                        f"lines[{index}].line_id", line_id, "has nothing left to cancel"
                    )
            elif not quantity > 0:
                raise ValidationError(field, quantity, "must be positive")
            elif quantity > left:
                raise ValidationError(
                    field,
                    str(quantity),
                    f"is more than the {left} of line {line_id} not shipped or cancelled",
                    "cancel at most what is left; shipped goods come back through a return",
                )
            wanted[line_id] = quantity
        if not shipped and all(
            wanted.get(line.line_id, _ZERO) >= line.open_quantity for line in self.lines
        ):
            raise ValidationError(
                "lines",
                tuple(wanted),
                "would cancel everything and nothing has shipped",
                "cancel the order instead (CancelOrder)",
            )
        freed: dict[str, Decimal] = {}
        lines = []
        changed = []
        for line in self.lines:
            quantity = wanted.get(line.line_id)
            if quantity is None:
                lines.append(line)
                continue
            from_backorder = min(quantity, line.backordered)
            from_allocated = min(quantity - from_backorder, line.allocated)
            if from_allocated:
                freed[line.line_id] = from_allocated
            updated = with_cancelled(
                line,
                line.cancelled + quantity,
                line.allocated - from_allocated,
                line.backordered - from_backorder,
            )
            lines.append(updated)
            changed.append((line.line_id, str(quantity), str(updated.open_quantity)))
        before = self.totals.grand_total
        self._reprice(tuple(lines), self.order_discounts, self.shipping, at)
        self._raise(
            ev.OrderLinesCancelled(
                self.id,
                self.event_sequence + 1,
                at,
                actor,
                reason,
                lines=tuple(changed),
                grand_total_before=before,
                grand_total=self.totals.grand_total,
            )
        )
        if shipped and all(
            shipped.get(line.line_id, _ZERO) >= line.open_quantity for line in self.lines
        ):
            event = self.shipping_event()
            if self.can(event):
                self.transition(event, at, actor=actor, reason=reason)
        return freed

    # ------------------------------------------------------------------ fulfilment

    @property
    def fulfilment_status(self) -> FulfilmentStatus:
        """Derived from the shipments: unfulfilled, partially shipped, shipped, partially
        delivered or delivered."""
        if not self.shipments:
            return FulfilmentStatus.UNFULFILLED
        return fulfilment_status(
            {ln.line_id: ln.open_quantity for ln in self.lines}, self.shipments
        )

    def shipped_quantities(self) -> dict[str, Decimal]:
        """Shipped quantity per line id (lines not shipped are missing)."""
        return shipped_quantities(self.shipments)

    def delivered_quantities(self) -> dict[str, Decimal]:
        """Delivered quantity per line id (lines not delivered are missing)."""
        return delivered_quantities(self.shipments)

    def shipment(self, shipment_id: str) -> Shipment:
        """The shipment with that id; raises NotFoundError if there is none."""
        return shipment_of(self.shipments, shipment_id)

    def promise(
        self,
        day: dt.date | None,
        at: dt.datetime | None = None,
        *,
        actor: str = "",
        reason: str = "",
    ) -> None:
        """Set the delivery date promised to the customer (``None``: no promise). Shipments made
        from now on carry it, and say whether they arrived on time against it.

        With ``at`` (when it was promised) a ``DeliveryPromised`` event records the promise.
        Refused, changing nothing: a day that is not a ``datetime.date``, an order in a final
        state.
        """
        if day is not None and (isinstance(day, dt.datetime) or not isinstance(day, dt.date)):
            raise ValidationError("promised_date", day, "must be a datetime.date or None")
        if self.state in self.workflow.finals:
            raise OrderError(
                self.id, f"order {self.id}: is {self.state}; its delivery date can no longer change"
            )
        if at is not None:
            aware_time(at)
            check_name(actor, "actor")
            check_text(reason, "reason")
        self.promised_date = day
        if at is not None:
            self.updated_at = max(self.updated_at, at)
            self._raise(
                ev.DeliveryPromised(
                    self.id,
                    self.event_sequence + 1,
                    at,
                    actor,
                    reason,
                    promised_date=_day(day),
                )
            )

    def add_shipment(self, shipment: Shipment, *, actor: str = "", reason: str = "") -> None:
        """Record goods that left a warehouse. When every line has shipped in full, the order
        takes its workflow's ``ship`` transition.

        Refused, changing nothing: an order whose workflow does not allow shipping now, a line
        not on the order or with another SKU, a quantity that is not positive, more than the
        line ordered (counting earlier shipments), a shipment id already used.
        """
        if not isinstance(shipment, Shipment):
            raise ValidationError("shipment", shipment, "must be a Shipment")
        at = aware_time(shipment.shipped_at, "shipped_at")
        event = self.shipping_event()
        self.workflow.next_state(self.state, event, self, self.id)  # shipping allowed now?
        if any(s.id == shipment.id for s in self.shipments):
            raise ValidationError(
                "shipment_id", shipment.id, "is already a shipment of this order", "use a new id"
            )
        if not shipment.lines:
            raise ValidationError("lines", (), "must name at least one line to ship")
        by_id = {line.line_id: line for line in self.lines}
        shipped = self.shipped_quantities()
        for index, item in enumerate(shipment.lines):
            line = by_id.get(item.line_id)
            if line is None:
                raise ValidationError(
                    f"lines[{index}].line_id", item.line_id, f"is not a line of order {self.id}"
                )
            if item.sku != line.sku:
                raise ValidationError(f"lines[{index}].sku", item.sku, f"is not {line.sku}")
            if not isinstance(item.quantity, Decimal) or not item.quantity > 0:
                raise ValidationError(
                    f"lines[{index}].quantity", item.quantity, "must be a positive Decimal"
                )
            total = shipped.get(item.line_id, _ZERO) + item.quantity
            if total > line.open_quantity:
                still = f" ({line.cancelled} of it cancelled)" if line.cancelled else ""
                raise ValidationError(
                    f"lines[{index}].quantity",
                    item.quantity,
                    f"ships {total} of line {item.line_id}, which ordered {line.quantity}{still}",
                    "ship at most what the line ordered",
                )
            shipped[item.line_id] = total
        check_name(actor, "actor")
        self.shipments = (*self.shipments, shipment)
        self.updated_at = at
        self._raise(
            ev.ShipmentDispatched(
                self.id,
                self.event_sequence + 1,
                at,
                actor,
                reason,
                shipment_id=shipment.id,
                warehouse_id=shipment.warehouse_id,
                carrier=shipment.carrier,
                service_level=shipment.service_level,
                tracking_number=shipment.tracking_number,
                lines=tuple((i.line_id, str(i.quantity)) for i in shipment.lines),
            )
        )
        if all(shipped.get(line.line_id, _ZERO) >= line.open_quantity for line in self.lines):
            self.transition(event, at, actor=actor, reason=reason)

    def shipping_event(self) -> str:
        """The event that ships the order from its state: the first bound to the ``consume``
        effect, else ``ship`` (which the workflow then refuses or allows)."""
        return self.workflow.event_with(self.state, CONSUME) or "ship"

    def track(self, shipment_id: str, event: TrackingEvent, *, actor: str = "") -> Shipment:
        """Record a tracking report of a shipment. When the last shipment is reported delivered
        and every line has shipped, the order takes its ``deliver`` transition."""
        current = self.shipment(shipment_id)
        updated = current.tracked(event)
        check_name(actor, "actor")
        self.shipments = tuple(updated if s.id == shipment_id else s for s in self.shipments)
        self.updated_at = max(self.updated_at, event.at)
        self._raise(
            ev.ShipmentTracked(
                self.id,
                self.event_sequence + 1,
                event.at,
                actor,
                "",
                shipment_id=shipment_id,
                status=event.status.value,
                location=event.location,
                note=event.note,
            )
        )
        if (
            event.status is _Status.DELIVERED
            and self.fulfilment_status is FulfilmentStatus.DELIVERED
            and self.can("deliver")
        ):
            self.transition("deliver", event.at, actor=actor)
        return updated

    def deliver(self, at: dt.datetime, *, actor: str = "", reason: str = "") -> None:
        """Take the ``deliver`` transition; shipments not yet reported delivered are recorded as
        delivered at ``at``."""
        aware_time(at)
        self.workflow.next_state(self.state, "deliver", self, self.id)  # refuse early
        for shipment in self.shipments:
            if shipment.delivered_at is None:
                done = TrackingEvent(_Status.DELIVERED, max(at, shipment.shipped_at), "", reason)
                self.track(shipment.id, done, actor=actor)
        if self.can("deliver"):
            self.transition("deliver", at, actor=actor, reason=reason)
