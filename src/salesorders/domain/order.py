"""The Order aggregate: lines, prices, addresses, totals, workflow state and audit trail.

An order starts as a draft (a quotation), freely editable, and moves through its workflow with
business verbs: :meth:`Order.place`, :meth:`Order.confirm`, :meth:`Order.hold`,
:meth:`Order.resume`, :meth:`Order.cancel`, :meth:`Order.ship`, :meth:`Order.deliver`,
:meth:`Order.complete` (and :meth:`Order.transition` for events a host adds to its workflow).

Every rule lives here. A method either succeeds completely — new state, an audit entry, a domain
event in :attr:`Order.events` — or raises a typed error and leaves the order exactly as it was.
Time is always passed in; the aggregate never reads a clock.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from decimal import Decimal

import attrs
from moneyed import Money

from salesorders.domain import events as ev
from salesorders.domain.changes import ChangeRequest, Revision
from salesorders.domain.checks import (
    aware_time,
    check_name,
    check_text,
    require_id,
)
from salesorders.domain.fulfilment import (
    Shipment,
)
from salesorders.domain.money import (
    to_quantity,
)
from salesorders.domain.order_allocation import planned_lines, released_lines, short_shipped
from salesorders.domain.order_changes import OrderChanges
from salesorders.domain.order_draft import (
    build_line,
    check_new_order,
    check_rate,
    order_from_draft,
    own_amount,
    shipping_charge,
    unit_price_in,
)
from salesorders.domain.order_exchanges import OrderExchanges
from salesorders.domain.order_fulfilment import OrderFulfilment
from salesorders.domain.order_payments import OrderPayments
from salesorders.domain.order_pricing import priced_order
from salesorders.domain.order_repairs import OrderRepairs
from salesorders.domain.order_tickets import OrderTickets
from salesorders.domain.order_values import (
    Address,
    AuditEntry,
    LineFields,
    LineSpec,
    OrderLine,
    Totals,
)
from salesorders.domain.payments import Payment, PaymentTerms
from salesorders.domain.plan import AllocationPlan, AllocationRequest, DemandLine
from salesorders.domain.pricing import (
    Charge,
    Discount,
    ExchangeRate,
    LineToPrice,
    PriceQuote,
    PricingPolicy,
    TaxComponent,
)
from salesorders.domain.repairs import Repair
from salesorders.domain.returns import CreditNote, OrderReturn
from salesorders.domain.tickets import OrderNote, Ticket
from salesorders.domain.warehouse import Destination
from salesorders.domain.workflow import Workflow, default_workflow
from salesorders.errors import (
    LineNotFoundError,
    OrderNotEditableError,
    ValidationError,
)

__all__ = ["Address", "AuditEntry", "LineSpec", "Order", "OrderLine", "Totals"]

_ZERO = Decimal(0)
_NOWHERE = Destination()
_DEFAULT_PRICING = PricingPolicy()
_DUE_NOW = PaymentTerms()


@functools.cache
def _no_totals(currency: str) -> Totals:
    """The totals of an order without lines (one frozen value per currency)."""
    return Totals(currency)


@attrs.define(slots=True, eq=True)
class Order(
    OrderFulfilment, OrderPayments, OrderChanges, OrderExchanges, OrderRepairs, OrderTickets
):
    """The order aggregate root. Build one with :meth:`Order.create`.

    ``backordered_at`` is when the order first had a line backordered (``None``: never), kept
    after the stock arrives, so reports can count the orders that waited.
    """

    id: str
    customer_id: str
    currency: str
    workflow: Workflow = attrs.field(eq=False, repr=False)
    state: str
    created_at: dt.datetime
    updated_at: dt.datetime
    number: str | None = None
    customer_group: str | None = None
    lines: tuple[OrderLine, ...] = ()
    order_discounts: tuple[Discount, ...] = ()
    shipping: Charge | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    pricing: PricingPolicy = _DEFAULT_PRICING
    exchange_rate: ExchangeRate | None = None
    totals: Totals = attrs.field(
        default=attrs.Factory(lambda self: Totals(self.currency), takes_self=True)
    )
    held_from: str | None = None
    placed_at: dt.datetime | None = None
    audit: tuple[AuditEntry, ...] = ()
    shipments: tuple[Shipment, ...] = ()
    promised_date: dt.date | None = None
    backordered_at: dt.datetime | None = None
    payments: tuple[Payment, ...] = ()
    payment_terms: PaymentTerms = _DUE_NOW
    changes: tuple[ChangeRequest, ...] = ()
    revisions: tuple[Revision, ...] = ()
    revision: int = 1
    returns: tuple[OrderReturn, ...] = ()
    credit_notes: tuple[CreditNote, ...] = ()
    repairs: tuple[Repair, ...] = ()
    tickets: tuple[Ticket, ...] = ()
    notes: tuple[OrderNote, ...] = ()
    next_line_number: int = 1
    event_sequence: int = 0
    version: int = 0
    events: list[ev.OrderEvent] = attrs.field(factory=list, eq=False, repr=False)

    # ------------------------------------------------------------------ creation

    @classmethod
    def create(
        cls,
        order_id: str,
        customer_id: str,
        currency: str,
        at: dt.datetime,
        *,
        workflow: Workflow | None = None,
        customer_group: str | None = None,
        pricing: PricingPolicy | None = None,
        billing_address: Address | None = None,
        shipping_address: Address | None = None,
    ) -> Order:
        """A new draft order (a quotation) in ``currency`` following ``workflow``."""
        check_new_order(order_id, customer_id, currency, at, customer_group)
        flow = workflow or default_workflow()
        return cls(
            id=order_id,
            customer_id=customer_id,
            currency=currency,
            workflow=flow,
            state=flow.initial,
            created_at=at,
            updated_at=at,
            customer_group=customer_group,
            pricing=pricing or _DEFAULT_PRICING,
            billing_address=billing_address,
            shipping_address=shipping_address,
            totals=_no_totals(currency),
        )

    @classmethod
    def from_draft(
        cls,
        order_id: str,
        customer_id: str,
        currency: str,
        at: dt.datetime,
        *,
        lines: Sequence[LineSpec] = (),
        workflow: Workflow | None = None,
        customer_group: str | None = None,
        pricing: PricingPolicy | None = None,
        billing_address: Address | None = None,
        shipping_address: Address | None = None,
        exchange_rate: ExchangeRate | None = None,
        discounts: Sequence[Discount] = (),
        shipping: Money | Decimal | str | int | None = None,
        shipping_taxes: Sequence[TaxComponent] = (),
    ) -> Order:
        """A new priced draft in one call: what :meth:`create`, :meth:`use_exchange_rate`,
        :meth:`add_lines`, :meth:`apply_discount` per discount and :meth:`set_shipping` build,
        with the same errors (``lines[2].quantity``, ``discounts[0].discount``), priced once.
        See :mod:`salesorders.domain.order_draft`."""
        return order_from_draft(
            cls, order_id, customer_id, currency, at, lines=lines, workflow=workflow,
            customer_group=customer_group, pricing=pricing, billing_address=billing_address,
            shipping_address=shipping_address, exchange_rate=exchange_rate,
            discounts=discounts, shipping=shipping, shipping_taxes=shipping_taxes,
        )  # fmt: skip

    # ------------------------------------------------------------------ queries

    @property
    def is_draft(self) -> bool:
        return self.state == self.workflow.initial

    @property
    def workflow_ref(self) -> tuple[str, int]:
        return (self.workflow.name, self.workflow.version)

    @property
    def grand_total(self) -> Money:
        return Money(self.totals.grand_total, self.currency)

    def line(self, line_id: str) -> OrderLine:
        for line in self.lines:
            if line.line_id == line_id:
                return line
        raise LineNotFoundError(self.id, line_id)

    def allowed_events(self) -> tuple[str, ...]:
        return self.workflow.allowed_events(self.state)

    def can(self, event: str) -> bool:
        return self.workflow.can(self.state, event, self)

    def demand(self) -> tuple[DemandLine, ...]:
        """What the lines still need allocated: their open quantity less what is allocated."""
        wanted = []
        for line in self.lines:
            need = line.open_quantity - line.allocated
            if need > 0:
                wanted.append(DemandLine(line.line_id, line.sku, need))
        return tuple(wanted)

    @property
    def destination(self) -> Destination:
        """Where the order ships, as allocation sees it: its shipping address's region."""
        address = self.shipping_address
        return Destination(region=address.region or address.country) if address else _NOWHERE

    def allocation_request(self, *, all_or_nothing: bool = False) -> AllocationRequest:
        """What this order needs from stock, shipping to its shipping address's region."""
        return AllocationRequest(self.id, self.demand(), self.destination, all_or_nothing)

    def pull_events(self) -> list[ev.OrderEvent]:
        """Hand over the events raised since the last call (the unit of work stores them)."""
        raised, self.events = self.events, []
        return raised

    # ------------------------------------------------------------------ editing (drafts only)

    def use_exchange_rate(self, rate: ExchangeRate, at: dt.datetime) -> None:
        """Freeze ``rate`` on the order: prices in ``rate.base`` are converted with it, forever."""
        self._require_draft("set the exchange rate")
        aware_time(at)
        check_rate(rate, self.currency)
        if self.exchange_rate is not None and self.exchange_rate != rate and self.lines:
            raise ValidationError(
                "exchange_rate",
                rate,
                "a different rate is already used by the order's lines",
                "remove the converted lines first",
            )
        self.exchange_rate = rate
        self.updated_at = at

    def add_line(
        self,
        sku: str,
        quantity: object,
        unit_price: Money | Decimal | str | int,
        at: dt.datetime,
        *,
        description: str = "",
        discounts: Iterable[Discount] = (),
        taxes: Iterable[TaxComponent] = (),
        quantity_precision: int = 0,
        line_id: str | None = None,
        price_source: str = "entered",
        price_precision: int | None = None,
    ) -> OrderLine:
        """Add a line priced in the order currency (or a Money in the frozen rate's base).

        The unit price may have at most ``price_precision`` decimal places (by default its
        currency's minor unit plus 4: see :func:`~salesorders.domain.money.price_places`).
        """
        self._require_draft("add a line")
        aware_time(at)
        new = LineSpec(
            sku,
            quantity,  # type: ignore[arg-type]  # validated below, with the field named
            unit_price,
            description,
            tuple(taxes),
            tuple(discounts),
            quantity_precision,
            price_precision,
            line_id,
            price_source,
        )
        line = self._build_line(new, self.next_line_number, {x.line_id for x in self.lines})
        self._reprice(self.lines, self.order_discounts, self.shipping, at, (line,))
        self.next_line_number += 1
        return self.lines[-1]

    def add_lines(self, lines: Iterable[LineSpec], at: dt.datetime) -> tuple[OrderLine, ...]:
        """Add several lines at once, priced once; a bad line raises naming ``lines[i].field``."""
        self._require_draft("add lines")
        aware_time(at)
        used = {x.line_id for x in self.lines}
        number = self.next_line_number
        built: list[tuple[LineFields, LineToPrice]] = []
        for index, new in enumerate(lines):
            if not isinstance(new, LineSpec):
                raise ValidationError(f"lines[{index}]", new, "must be a LineSpec")
            try:
                line = self._build_line(new, number, used)
            except ValidationError as error:
                raise error.under(f"lines[{index}]") from error
            built.append(line)
            used.add(line[0][0])
            number += 1
        self._reprice(self.lines, self.order_discounts, self.shipping, at, built)
        self.next_line_number = number
        return self.lines[len(self.lines) - len(built) :]

    def _build_line(
        self, new: LineSpec, number: int, used: set[str]
    ) -> tuple[LineFields, LineToPrice]:
        """The new line's fields and what pricing needs of it (see :func:`build_line`)."""
        return build_line(new, number, used, self.currency, self.exchange_rate, self.pricing)

    def add_quoted_line(
        self,
        quote: PriceQuote,
        quantity: object,
        at: dt.datetime,
        *,
        description: str = "",
        discounts: Iterable[Discount] = (),
        taxes: Iterable[TaxComponent] = (),
        quantity_precision: int = 0,
    ) -> OrderLine:
        """Add a line priced from a price list; the quote's reason is recorded on the line."""
        new = LineSpec.quoted(
            quote,
            quantity,  # type: ignore[arg-type]  # validated by LineSpec.quoted
            description=description,
            discounts=discounts,
            taxes=taxes,
            quantity_precision=quantity_precision,
        )
        return self.add_lines([new], at)[0]

    def change_quantity(self, line_id: str, quantity: object, at: dt.datetime) -> OrderLine:
        self._require_draft("change a quantity")
        aware_time(at)
        current = self.line(line_id)
        qty = to_quantity(quantity, "quantity", current.quantity_precision)
        lines = tuple(
            attrs.evolve(line, quantity=qty) if line.line_id == line_id else line
            for line in self.lines
        )
        self._reprice(lines, self.order_discounts, self.shipping, at)
        return self.line(line_id)

    def remove_line(self, line_id: str, at: dt.datetime) -> None:
        self._require_draft("remove a line")
        aware_time(at)
        self.line(line_id)
        lines = tuple(line for line in self.lines if line.line_id != line_id)
        self._reprice(lines, self.order_discounts, self.shipping, at)

    def apply_discount(self, discount: Discount, at: dt.datetime) -> None:
        """Add an order-level discount, spread over the lines in proportion to their amounts."""
        self._require_draft("apply a discount")
        aware_time(at)
        if not isinstance(discount, Discount):
            raise ValidationError("discount", discount, "must be a Discount")
        self._reprice(self.lines, (*self.order_discounts, discount), self.shipping, at)

    def clear_discounts(self, at: dt.datetime) -> None:
        self._require_draft("clear discounts")
        aware_time(at)
        self._reprice(self.lines, (), self.shipping, at)

    def set_shipping(
        self,
        amount: Money | Decimal | str | int,
        at: dt.datetime,
        *,
        taxes: Sequence[TaxComponent] = (),
    ) -> None:
        """Charge shipping (in the order's tax mode); zero removes the charge."""
        self._require_draft("set shipping")
        aware_time(at)
        charge = shipping_charge(amount, self.currency, self.pricing, taxes)
        self._reprice(self.lines, self.order_discounts, charge, at)

    def set_addresses(
        self,
        at: dt.datetime,
        *,
        billing: Address | None = None,
        shipping: Address | None = None,
    ) -> None:
        self._require_draft("change addresses")
        aware_time(at)
        for field, value in (("billing", billing), ("shipping", shipping)):
            if value is not None and not isinstance(value, Address):
                raise ValidationError(field, value, "must be an Address")
        if billing is not None:
            self.billing_address = billing
        if shipping is not None:
            self.shipping_address = shipping
        self.updated_at = at

    # ------------------------------------------------------------------ workflow

    def place(self, number: str, at: dt.datetime, *, actor: str = "", reason: str = "") -> None:
        """Turn the quotation into an order with its human-readable ``number``."""
        require_id(number, "number")
        aware_time(at)
        if not self.lines:
            raise ValidationError(
                "lines", (), "an order needs at least one line", "add a line first"
            )
        target = self.workflow.next_state(self.state, "place", self, self.id)
        self._enter(target, "place", at, actor, reason)
        self.number = number
        self.placed_at = at
        self._raise(
            ev.OrderPlaced(
                self.id,
                self.event_sequence + 1,
                at,
                actor,
                reason,
                number=number,
                customer_id=self.customer_id,
                currency=self.currency,
                grand_total=self.totals.grand_total,
            )
        )

    def confirm(
        self,
        at: dt.datetime,
        *,
        plan: AllocationPlan | None = None,
        actor: str = "",
        reason: str = "",
    ) -> None:
        """Confirm the order; with ``plan`` (when the workflow's ``confirm`` reserves stock)
        record per line what was allocated and backordered, and when the backorder is expected."""
        aware_time(at)
        transition = self.workflow.transition(self.state, "confirm", self, self.id)
        lines, backorders = planned_lines(self.id, self.workflow, self.lines, transition, plan)
        self._enter(transition.target, "confirm", at, actor, reason)
        self.lines = lines
        if backorders and self.backordered_at is None:
            self.backordered_at = at
        self._raise(
            ev.OrderConfirmed(
                self.id, self.event_sequence + 1, at, actor, reason, backorders=backorders
            )
        )

    @property
    def allocation_status(self) -> str:
        """Derived: unallocated, allocated, partially_allocated or backordered."""
        allocated = sum((line.allocated for line in self.lines), _ZERO)
        backordered = sum((line.backordered for line in self.lines), _ZERO)
        if not allocated and not backordered:
            return "unallocated"
        if not backordered:
            return "allocated"
        return "partially_allocated" if allocated else "backordered"

    def ship(self, at: dt.datetime, *, actor: str = "", reason: str = "") -> None:
        self.transition("ship", at, actor=actor, reason=reason)

    def complete(self, at: dt.datetime, *, actor: str = "", reason: str = "") -> None:
        self.transition("complete", at, actor=actor, reason=reason)

    def hold(self, at: dt.datetime, *, actor: str = "", reason: str = "") -> None:
        """Put the order on hold; :meth:`resume` returns it to the state it was held from."""
        aware_time(at)
        target = self.workflow.next_state(self.state, "hold", self, self.id)
        source = self._enter(target, "hold", at, actor, reason)
        self.held_from = source
        self._raise(
            ev.OrderHeld(self.id, self.event_sequence + 1, at, actor, reason, held_from=source)
        )

    def resume(self, at: dt.datetime, *, actor: str = "", reason: str = "") -> None:
        aware_time(at)
        target = self.workflow.next_state(self.state, "resume", self, self.id)
        self._enter(target, "resume", at, actor, reason)
        self.held_from = None
        self._raise(
            ev.OrderResumed(self.id, self.event_sequence + 1, at, actor, reason, resumed_to=target)
        )

    def cancel(self, at: dt.datetime, *, actor: str = "", reason: str = "") -> None:
        """Cancel the order. The default workflow refuses once goods have shipped (guard
        ``nothing_shipped``); a workflow that allows it cancels only what has not shipped."""
        aware_time(at)
        check_name(actor, "actor")
        check_text(reason, "reason")
        transition = self.workflow.transition(self.state, "cancel", self, self.id)
        shipped = self.shipped_quantities()
        lines = released_lines(transition, self.lines, shipped)
        if self.shipments:
            lines = short_shipped(lines, shipped)
            self._reprice(lines, self.order_discounts, self.shipping, at)
            lines = self.lines
        source = self._enter(transition.target, "cancel", at, actor, reason)
        self.held_from = None
        self.lines = lines
        self._raise(
            ev.OrderCancelled(
                self.id, self.event_sequence + 1, at, actor, reason, cancelled_from=source
            )
        )
        self.withdraw_pending_changes(at, actor)

    def transition(
        self,
        event: str,
        at: dt.datetime,
        *,
        plan: AllocationPlan | None = None,
        actor: str = "",
        reason: str = "",
    ) -> None:
        """Fire any workflow event (including those a host added), audited and recorded.

        ``plan`` is what the service reserved for a transition with the ``reserve`` effect; its
        allocation is recorded on the lines (an ``OrderAllocationChanged`` event follows).
        """
        if event == "place":
            raise ValidationError(
                "event", event, "placing needs an order number", "call place(number, at) instead"
            )
        if event == "confirm":
            self.confirm(at, plan=plan, actor=actor, reason=reason)
            return
        if event in _SPECIAL_EVENTS:
            if plan is not None:
                raise ValidationError("plan", plan, f"is not taken by {event!r}", "leave it out")
            _SPECIAL_EVENTS[event](self, at, actor=actor, reason=reason)
            return
        aware_time(at)
        check_name(actor, "actor")
        check_text(reason, "reason")
        transition = self.workflow.transition(self.state, event, self, self.id)
        planned, backorders = planned_lines(self.id, self.workflow, self.lines, transition, plan)
        lines = released_lines(transition, planned, self.shipped_quantities())
        source = self._enter(transition.target, event, at, actor, reason)
        self.lines = lines
        if backorders and self.backordered_at is None:
            self.backordered_at = at
        cls = ev.event_class_for(event)
        sequence = self.event_sequence + 1
        if cls is None:
            self._raise(
                ev.OrderTransitioned(
                    self.id,
                    sequence,
                    at,
                    actor,
                    reason,
                    event=event,
                    source=source,
                    target=transition.target,
                )
            )
        else:
            self._raise(cls(self.id, sequence, at, actor, reason))
        if plan is not None:
            self._raise(
                ev.OrderAllocationChanged(
                    self.id,
                    self.event_sequence + 1,
                    at,
                    actor,
                    reason,
                    lines=tuple(
                        (line.line_id, str(line.allocated), str(line.backordered))
                        for line in self.lines
                    ),
                    backorders=backorders,
                )
            )

    # ------------------------------------------------------------------ internals

    def _require_draft(self, action: str) -> None:
        if self.state != self.workflow.initial:
            raise OrderNotEditableError(self.id, self.state, action)

    def _enter(self, target: str, event: str, at: dt.datetime, actor: str, reason: str) -> str:
        check_name(actor, "actor")
        check_text(reason, "reason")
        source = self.state
        self.audit = (*self.audit, AuditEntry(event, source, target, at, actor, reason))
        self.state = target
        self.updated_at = at
        return source

    def _raise(self, event: ev.OrderEvent) -> None:
        self.event_sequence = event.sequence
        self.events.append(event)

    def _own_amount(self, amount: Money | Decimal | str | int, field: str) -> Decimal:
        return own_amount(amount, field, self.currency, self.pricing)

    def _unit_price(
        self, unit_price: Money | Decimal | str | int, source: str, precision: int | None
    ) -> tuple[Decimal, str]:
        """The unit price in the order currency (converted with the frozen rate if need be)."""
        return unit_price_in(
            unit_price, source, precision, self.currency, self.exchange_rate, self.pricing
        )

    def _reprice(
        self,
        lines: tuple[OrderLine, ...],
        order_discounts: tuple[Discount, ...],
        shipping: Charge | None,
        at: dt.datetime,
        added: Sequence[tuple[LineFields, LineToPrice]] = (),
    ) -> None:
        """Price everything first; assign only after pricing succeeded (failure changes nothing).

        ``added`` are new lines (checked by :meth:`_build_line`) that follow ``lines``; each is
        built once, with its prices.
        """
        self.lines, self.totals = priced_order(
            self.currency, self.pricing, lines, order_discounts, shipping, added
        )
        self.order_discounts = order_discounts
        self.shipping = shipping
        self.updated_at = at


_SPECIAL_EVENTS = {
    "hold": Order.hold,
    "resume": Order.resume,
    "cancel": Order.cancel,
}
