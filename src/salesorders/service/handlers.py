"""One handler per use case. Each runs inside a unit of work the service opened.

A handler loads what it needs, lets the aggregates do the work, saves, and writes the events the
change raised — the order's events and the stock's low-stock alerts — to the outbox in the same
unit of work. It never commits: the service does, once the idempotency record is written too.

Confirmation is: snapshot of the order's SKUs → the allocation policy's plan → an atomic
``reserve`` of the plan → ``order.confirm(plan=...)`` → save.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from salesorders.domain.allocation import AllocationPolicy
from salesorders.domain.catalog import Product
from salesorders.domain.checks import ID_MAX_LENGTH, require_id, require_text
from salesorders.domain.events import OrderEvent
from salesorders.domain.money import to_decimal
from salesorders.domain.order import LineSpec, Order
from salesorders.domain.order_draft import check_new_order, check_rate
from salesorders.domain.plan import AllocationPlan
from salesorders.domain.pricing import ExchangeRate, PriceBook
from salesorders.domain.return_policy import ReturnPolicy
from salesorders.domain.stock import LedgerEntry, LowStock, StockDesk
from salesorders.domain.ticket_sla import SlaPolicy
from salesorders.domain.workflow import CONSUME, RELEASE, RESERVE, Workflow, default_workflow
from salesorders.errors import InsufficientStockError, ValidationError
from salesorders.ports import (
    Carrier,
    Catalog,
    ExchangeRates,
    OutboxMessage,
    PaymentGateway,
    TrackingNumbers,
    UnitOfWork,
    event_id_of,
)
from salesorders.serialization import Serializer
from salesorders.service.backorders import MAX_WAITING, BackorderPriority, Backorders
from salesorders.service.change_commands import (
    ApproveChange,
    CancelChange,
    DeclineChange,
    RequestChange,
)
from salesorders.service.changes import ChangeResult, Changes
from salesorders.service.commands import (
    AdjustStock,
    AllocateBackorders,
    CancelLines,
    CancelOrder,
    CompleteOrder,
    ConfirmOrder,
    CreateDraft,
    DeliverOrder,
    ExpectStock,
    HoldOrder,
    NewOrder,
    PlaceDraft,
    PlaceOrder,
    PromiseDelivery,
    ReceiveExpected,
    ReceiveStock,
    RecordShipmentEvent,
    RegisterWarehouse,
    ResumeOrder,
    SetStockLevels,
    ShipOrder,
    TransferStock,
    TransitionOrder,
    WriteOffStock,
)
from salesorders.service.draft_input import new_line
from salesorders.service.fulfilment import Fulfilment
from salesorders.service.line_input import line_skus, optional_decimal
from salesorders.service.numbering import make_order_id, take_number
from salesorders.service.payment_commands import (
    ApprovePayment,
    AuthorizePayment,
    CapturePayment,
    RecordPayment,
    RefundPayment,
    RejectPayment,
    SetPaymentTerms,
    VoidPayment,
)
from salesorders.service.payments import Payments
from salesorders.service.plans import check_plan, trusted
from salesorders.service.results import OrderResult
from salesorders.service.return_commands import (
    AdvanceRepair,
    ApproveReturn,
    CloseRepair,
    ExchangeReturn,
    OpenRepair,
    ReceiveReturn,
    RecordRepairNote,
    RejectReturn,
    RequestReturn,
)
from salesorders.service.returns import Returns
from salesorders.service.ticket_commands import (
    AddOrderNote,
    AddTicketNote,
    AssignTicket,
    CloseTicket,
    OpenTicket,
    ReopenTicket,
    ResolveTicket,
    ScheduleFollowUp,
)
from salesorders.service.tickets import Tickets

__all__ = ["Handler", "Handlers", "Route"]

#: A use case: ``handler(uow, command, now) -> result``.
Handler = Callable[[UnitOfWork, Any, dt.datetime], Any]

#: A handler and the type of its result (``None``: it returns nothing).
Route = tuple[Handler, Any]


def _flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(field, value, "must be True or False")
    return value


# An order number is f"{prefix}-{year}-{n:06d}": the prefix leaves room for the rest in an id.
_PREFIX_MAX_LENGTH = ID_MAX_LENGTH // 2


_T = TypeVar("_T")


class Handlers:
    """The use cases, wired to their collaborators (built by ``bootstrap``)."""

    def __init__(
        self,
        *,
        policy: AllocationPolicy,
        serializer: Serializer,
        price_book: PriceBook | None = None,
        exchange_rates: ExchangeRates | None = None,
        catalog: Catalog | None = None,
        carriers: Sequence[Carrier] = (),
        tracking_numbers: TrackingNumbers | None = None,
        serve_backorders_on_receipt: bool = False,
        backorder_priority: BackorderPriority | None = None,
        workflows: Sequence[Workflow] = (),
        payment_gateway: PaymentGateway | None = None,
        distinct_approver: bool = False,
        return_policy: ReturnPolicy | None = None,
        sla_policy: SlaPolicy | None = None,
        number_prefix: str = "SO",
        new_order_id: Callable[[], str] = make_order_id,
    ) -> None:
        require_text(number_prefix, "number_prefix", blank_ok=False, max_length=_PREFIX_MAX_LENGTH)
        self.policy = policy
        if not isinstance(serve_backorders_on_receipt, bool):
            raise ValidationError(
                "serve_backorders_on_receipt", serve_backorders_on_receipt, "must be a bool"
            )
        self.serve_backorders_on_receipt = serve_backorders_on_receipt
        # The built-in policies are proven by the policy kit; any other plan is checked.
        self._trusted_policy = trusted(policy)
        self.serializer = serializer
        self.price_book = price_book
        self.exchange_rates = exchange_rates
        self.catalog = catalog
        self.number_prefix = number_prefix
        #: A placed order may take its number at the commit, where the store can (the service
        #: turns it off while its audit trail records results: it seals them before the commit).
        self.numbers_at_commit = True
        self.new_order_id = new_order_id
        #: The price group of a new order without one, read in its unit of work (``None``:
        #: none); bootstrap sets it from the membership tiers.
        self.customer_group: Callable[[UnitOfWork, str], str | None] | None = None
        latest: dict[str, Workflow] = {}
        for workflow in workflows:
            known = latest.get(workflow.name)
            if known is None or workflow.version > known.version:
                latest[workflow.name] = workflow
        self.workflows: Mapping[str, Workflow] = latest
        known_carriers: dict[str, Carrier] = {}
        for index, carrier in enumerate(carriers):
            name = getattr(carrier, "name", None)
            if (
                not isinstance(name, str)
                or not name
                or not all(
                    callable(getattr(carrier, verb, None))
                    for verb in ("book", "cancel", "status_of")
                )
            ):
                raise ValidationError(
                    f"carriers[{index}]",
                    carrier,
                    "must be a Carrier: a name, book, cancel and status_of",
                )
            known_carriers[name] = carrier
        if tracking_numbers is not None and not callable(getattr(tracking_numbers, "check", None)):
            raise ValidationError(
                "tracking_numbers",
                tracking_numbers,
                "must be a TrackingNumbers with check(carrier, number)",
                "pass e.g. salesorders.adapters.tracking.CourierTrackingNumbers()",
            )
        fulfilment = self.fulfilment = Fulfilment(known_carriers, self._published, tracking_numbers)
        backorders = self.backorders = Backorders(policy, self._publish, backorder_priority)
        payments = self.payments = Payments(
            payment_gateway, self._published, distinct_approver=distinct_approver
        )
        changes = self.changes = Changes(
            policy, self._published, distinct_approver=payments.distinct_approver
        )
        returns = self.returns = Returns(
            return_policy,
            payments,
            policy,
            lambda order, spec: self._new_line(order, spec, self._products([spec.sku])),
            self._published,
            distinct_approver=payments.distinct_approver,
        )
        tickets = self.tickets = Tickets(sla_policy, self._published)
        self.routes: dict[type, Route] = {
            CreateDraft: (self.create_draft, OrderResult),
            PlaceOrder: (self.place_order, OrderResult),
            PlaceDraft: (self.place_draft, OrderResult),
            ConfirmOrder: (self.confirm_order, OrderResult),
            CancelOrder: (self.cancel_order, OrderResult),
            HoldOrder: (self.hold_order, OrderResult),
            ResumeOrder: (self.resume_order, OrderResult),
            ReceiveStock: (self.receive_stock, LedgerEntry),
            RegisterWarehouse: (self.register_warehouse, None),
            SetStockLevels: (self.set_stock_levels, None),
            ExpectStock: (self.expect_stock, None),
            ReceiveExpected: (self.receive_expected, LedgerEntry),
            AdjustStock: (self.adjust_stock, LedgerEntry),
            WriteOffStock: (self.write_off_stock, LedgerEntry),
            TransferStock: (self.transfer_stock, tuple[LedgerEntry, ...]),
            AllocateBackorders: (backorders.allocate_backorders, tuple[OrderResult, ...]),
            ShipOrder: (fulfilment.ship_order, OrderResult),
            RecordShipmentEvent: (fulfilment.record_shipment_event, OrderResult),
            DeliverOrder: (fulfilment.deliver_order, OrderResult),
            CompleteOrder: (fulfilment.complete_order, OrderResult),
            TransitionOrder: (self.transition_order, OrderResult),
            CancelLines: (fulfilment.cancel_lines, OrderResult),
            PromiseDelivery: (fulfilment.promise_delivery, OrderResult),
            AuthorizePayment: (payments.authorize_payment, OrderResult),
            CapturePayment: (payments.capture_payment, OrderResult),
            VoidPayment: (payments.void_payment, OrderResult),
            RefundPayment: (payments.refund_payment, OrderResult),
            RecordPayment: (payments.record_payment, OrderResult),
            ApprovePayment: (payments.approve_payment, OrderResult),
            RejectPayment: (payments.reject_payment, OrderResult),
            SetPaymentTerms: (payments.set_payment_terms, OrderResult),
            RequestChange: (changes.request_change, ChangeResult),
            ApproveChange: (changes.approve_change, ChangeResult),
            DeclineChange: (changes.decline_change, ChangeResult),
            CancelChange: (changes.cancel_change, ChangeResult),
            RequestReturn: (returns.request_return, OrderResult),
            ApproveReturn: (returns.approve_return, OrderResult),
            RejectReturn: (returns.reject_return, OrderResult),
            ReceiveReturn: (returns.receive_return, OrderResult),
            ExchangeReturn: (returns.exchange_return, OrderResult),
            OpenRepair: (returns.open_repair, OrderResult),
            AdvanceRepair: (returns.advance_repair, OrderResult),
            RecordRepairNote: (returns.record_repair_note, OrderResult),
            CloseRepair: (returns.close_repair, OrderResult),
            OpenTicket: (tickets.open_ticket, OrderResult),
            AssignTicket: (tickets.assign_ticket, OrderResult),
            AddTicketNote: (tickets.add_ticket_note, OrderResult),
            ResolveTicket: (tickets.resolve_ticket, OrderResult),
            ReopenTicket: (tickets.reopen_ticket, OrderResult),
            CloseTicket: (tickets.close_ticket, OrderResult),
            AddOrderNote: (tickets.add_order_note, OrderResult),
            ScheduleFollowUp: (tickets.schedule_follow_up, OrderResult),
        }

    # ------------------------------------------------------------------ order use cases

    def create_draft(self, uow: UnitOfWork, command: CreateDraft, now: dt.datetime) -> OrderResult:
        order = self._build(command, now, uow)
        uow.orders.add(order)
        return self._published(uow, order)

    def place_order(self, uow: UnitOfWork, command: PlaceOrder, now: dt.datetime) -> OrderResult:
        return self._place_built(uow, command, now, self._build(command, now, uow))

    def _place_built(
        self, uow: UnitOfWork, command: PlaceOrder, now: dt.datetime, order: Order
    ) -> OrderResult:
        fresh_id = not command.order_id and self.new_order_id is make_order_id
        alerts = self._place_and_confirm(uow, order, command, now, new=True, fresh_id=fresh_id)
        uow.orders.add(order)
        return self._published(uow, order, alerts)

    def order_ahead(self, uow: UnitOfWork, command: object, now: dt.datetime) -> Handler | None:
        """For a ``PlaceOrder`` whose order is built from the command alone, build it now (while
        the idempotency lookup travels) and return the handler that places it; ``None`` when
        building would ask a host collaborator (an id factory, the customer's group, exchange
        rates, the catalogue, the price book), which is not asked before the key's record is
        known."""
        if type(command) is not PlaceOrder or not isinstance(command.lines, tuple | list):
            return None
        if (not command.order_id and self.new_order_id is not make_order_id) or (
            command.customer_group is None and self.customer_group is not None
        ):
            return None
        if command.exchange_rate_base is not None or self.catalog is not None:
            return None
        if self.price_book is not None and not all(
            getattr(line, "unit_price", None) is not None for line in command.lines
        ):
            return None
        # A refusal is raised at once: the service then answers from the key's record if there
        # is one (as for any refused command), else raises it.
        order = self._build(command, now, uow)
        return lambda uow, command, now: self._place_built(uow, command, now, order)

    def read_ahead(self, uow: UnitOfWork, command: object) -> None:
        """Before ``command``'s idempotency lookup: tell a store that can read ahead (PostgreSQL,
        pipelined) which stock a confirming ``PlaceOrder`` snapshots first, so that read and its
        row locks ride in the lookup's round trip. Nothing is checked or refused here: input
        the handler would refuse only makes a read that is not used."""
        if type(command) is not PlaceOrder or command.confirm is not True:
            return
        if command.workflow is not None:  # a workflow of the host's own may not reserve
            return
        ahead = getattr(uow.stock, "snapshot_ahead", None)
        lines = command.lines
        if ahead is None or not isinstance(lines, tuple | list):
            return
        skus = [getattr(line, "sku", None) for line in lines]
        if skus and all(type(sku) is str for sku in skus):
            ahead(skus)  # the repository drops repeated SKUs, as its snapshot does

    def place_draft(self, uow: UnitOfWork, command: PlaceDraft, now: dt.datetime) -> OrderResult:
        order = uow.orders.get(require_id(command.order_id, "order_id"))
        order.workflow.next_state(order.state, "place", order, order.id)  # refuse early
        self._products([line.sku for line in order.lines])
        alerts = self._place_and_confirm(uow, order, command, now, new=False, fresh_id=False)
        uow.orders.save(order)
        return self._published(uow, order, alerts)

    def _place_and_confirm(
        self,
        uow: UnitOfWork,
        order: Order,
        command: PlaceOrder | PlaceDraft,
        now: dt.datetime,
        *,
        new: bool,
        fresh_id: bool,
    ) -> list[LowStock]:
        """Number ``order`` and, with ``command.confirm``, allocate, reserve and confirm it.
        ``new``: the order is created by this unit of work; ``fresh_id``: under an id the service
        made (no stored order can hold it)."""
        if not command.confirm:
            self._place(uow, order, command.actor, now)
            return []
        # Stock first, number last: the number series' row stays locked from taking a number to
        # commit, so taking it late keeps concurrent placements flowing.
        alerts: list[LowStock] = []
        workflow = order.workflow
        placed = workflow.next_state(order.state, "place", order, order.id)
        plan = None
        if RESERVE in workflow.transition(placed, "confirm", order, order.id).effects:
            plan, alerts = self._reserve(
                uow, order, command.all_or_nothing, command.actor, now, new, fresh_id=fresh_id
            )
        self._place(uow, order, command.actor, now)
        order.confirm(now, plan=plan, actor=command.actor)
        return alerts

    def confirm_order(
        self, uow: UnitOfWork, command: ConfirmOrder, now: dt.datetime
    ) -> OrderResult:
        return self._fired(uow, command, "confirm", now, command.all_or_nothing)

    def cancel_order(self, uow: UnitOfWork, command: CancelOrder, now: dt.datetime) -> OrderResult:
        return self._fired(uow, command, "cancel", now)

    def transition_order(
        self, uow: UnitOfWork, command: TransitionOrder, now: dt.datetime
    ) -> OrderResult:
        if command.event == "place":
            raise ValidationError(
                "event",
                command.event,
                "has its own command, which also numbers the order",
                "use PlaceOrder",
            )
        if command.event == "deliver":
            return self.fulfilment.deliver_order(
                uow, DeliverOrder(command.order_id, command.reason, actor=command.actor), now
            )
        return self._fired(
            uow, command, command.event, now, _flag(command.all_or_nothing, "all_or_nothing")
        )

    def _fired(
        self,
        uow: UnitOfWork,
        command: ConfirmOrder | CancelOrder | TransitionOrder,
        event: str,
        now: dt.datetime,
        all_or_nothing: bool = False,
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        alerts = self._fire(uow, order, event, all_or_nothing, command.actor, command.reason, now)
        uow.orders.save(order)
        return self._published(uow, order, alerts)

    def _fire(
        self,
        uow: UnitOfWork,
        order: Order,
        event: str,
        all_or_nothing: bool,
        actor: str,
        reason: str,
        now: dt.datetime,
    ) -> list[LowStock]:
        """Fire ``event`` with the effects its transition has in the order's workflow: release
        what the order holds, allocate and reserve it, or ship what it holds. Returns the
        stock's low-stock alerts; the unit of work undoes the stock side if the order refuses."""
        transition = order.workflow.transition(order.state, event, order, order.id)
        effects = transition.effects
        if CONSUME in effects:
            return self.fulfilment.ship(uow, order, (), now, actor=actor, reason=reason)
        desk = StockDesk(uow.stock)
        if RELEASE in effects:
            desk.release_order(order.id, now, reason=reason, actor=actor)
        plan = None
        alerts: list[LowStock] = []
        if RESERVE in effects:
            plan, alerts = self._reserve(uow, order, all_or_nothing, actor, now, False)
        order.transition(event, now, plan=plan, actor=actor, reason=reason)
        return [*desk.alerts, *alerts]

    def hold_order(self, uow: UnitOfWork, command: HoldOrder, now: dt.datetime) -> OrderResult:
        order = uow.orders.get(command.order_id)
        order.hold(now, actor=command.actor, reason=command.reason)
        uow.orders.save(order)
        return self._published(uow, order)

    def resume_order(self, uow: UnitOfWork, command: ResumeOrder, now: dt.datetime) -> OrderResult:
        order = uow.orders.get(command.order_id)
        order.resume(now, actor=command.actor, reason=command.reason)
        uow.orders.save(order)
        return self._published(uow, order)

    # ------------------------------------------------------------------ stock use cases

    def receive_stock(
        self, uow: UnitOfWork, command: ReceiveStock, now: dt.datetime
    ) -> LedgerEntry:
        entry = self._moved(
            uow,
            lambda desk: desk.receive(
                command.sku,
                command.warehouse_id,
                to_decimal(command.quantity, "quantity"),
                now,
                batch_id=command.batch_id,
                expiry=command.expiry,
                actor=command.actor,
                reason=command.reason,
            ),
        )
        self._received(uow, entry.sku, command.actor, now)
        return entry

    def receive_expected(
        self, uow: UnitOfWork, command: ReceiveExpected, now: dt.datetime
    ) -> LedgerEntry:
        entry = self._moved(
            uow,
            lambda desk: desk.receive_expected(
                command.incoming_id,
                now,
                quantity=optional_decimal(command.quantity, "quantity"),
                batch_id=command.batch_id,
                expiry=command.expiry,
                actor=command.actor,
                reason=command.reason,
            ),
        )
        self._received(uow, entry.sku, command.actor, now)
        return entry

    def adjust_stock(self, uow: UnitOfWork, command: AdjustStock, now: dt.datetime) -> LedgerEntry:
        return self._moved(
            uow,
            lambda desk: desk.adjust(
                command.sku,
                command.warehouse_id,
                to_decimal(command.counted, "counted"),
                now,
                command.reason,
                batch_id=command.batch_id,
                release_excess=_flag(command.release_excess, "release_excess"),
                actor=command.actor,
            ),
        )

    def write_off_stock(
        self, uow: UnitOfWork, command: WriteOffStock, now: dt.datetime
    ) -> LedgerEntry:
        return self._moved(
            uow,
            lambda desk: desk.write_off(
                command.sku,
                command.warehouse_id,
                to_decimal(command.quantity, "quantity"),
                now,
                command.reason,
                batch_id=command.batch_id,
                actor=command.actor,
            ),
        )

    def transfer_stock(
        self, uow: UnitOfWork, command: TransferStock, now: dt.datetime
    ) -> tuple[LedgerEntry, ...]:
        return self._moved(
            uow,
            lambda desk: desk.transfer(
                command.sku,
                command.from_warehouse,
                command.to_warehouse,
                to_decimal(command.quantity, "quantity"),
                now,
                transfer_id=command.transfer_id,
                batch_id=command.batch_id,
                eta=command.eta,
                in_transit=_flag(command.in_transit, "in_transit"),
                actor=command.actor,
                reason=command.reason,
            ),
        )

    def _moved(self, uow: UnitOfWork, move: Callable[[StockDesk], _T]) -> _T:
        """Run one stock movement through a desk and write its low-stock alerts to the outbox."""
        desk = StockDesk(uow.stock)
        result = move(desk)
        self._publish(uow, (), desk.alerts)
        return result

    def _received(self, uow: UnitOfWork, sku: str, actor: str, now: dt.datetime) -> None:
        """Stock of ``sku`` arrived: serve its backorders now if the service is set up to."""
        if self.serve_backorders_on_receipt:
            self.backorders.serve(uow, sku, MAX_WAITING, actor, now)

    def register_warehouse(
        self, uow: UnitOfWork, command: RegisterWarehouse, now: dt.datetime
    ) -> None:
        StockDesk(uow.stock).add_warehouse(command.warehouse)

    def set_stock_levels(self, uow: UnitOfWork, command: SetStockLevels, now: dt.datetime) -> None:
        self._moved(
            uow,
            lambda desk: desk.set_levels(
                command.sku,
                command.warehouse_id,
                safety_stock=optional_decimal(command.safety_stock, "safety_stock"),
                reorder_point=optional_decimal(command.reorder_point, "reorder_point"),
                reorder_quantity=optional_decimal(command.reorder_quantity, "reorder_quantity"),
                at=now,
            ),
        )

    def expect_stock(self, uow: UnitOfWork, command: ExpectStock, now: dt.datetime) -> None:
        StockDesk(uow.stock).expect(command.incoming)

    # ------------------------------------------------------------------ steps

    def _build(self, spec: NewOrder, now: dt.datetime, uow: UnitOfWork) -> Order:
        """A new draft from a command's fields, in one domain call fed with what it needs
        fetched first (workflow, exchange rate, products, quotes): lines priced, discounts and
        shipping applied. Inputs are refused in the order the draft's verbs take them. Without
        a group of its own, the order takes the customer's (``customer_group``: their tier)."""
        customer_id, currency = spec.customer_id, spec.currency
        order_id = spec.order_id or self.new_order_id()
        workflow = self._workflow(spec.workflow)
        group = spec.customer_group
        if group is None and self.customer_group is not None and isinstance(customer_id, str):
            group = self.customer_group(uow, customer_id)
        if spec.exchange_rate_base is not None or self.catalog is not None:
            # Refused before the rate and the products are fetched, as the verbs refuse it.
            check_new_order(order_id, customer_id, currency, now, group)
        rate = None
        if spec.exchange_rate_base is not None:
            rate = self._rate(spec.exchange_rate_base, currency, now)
            check_rate(rate, currency)
        products = None if self.catalog is None else self._products(line_skus(spec.lines))
        book = self.price_book
        new_lines = []
        for index, line in enumerate(spec.lines):
            try:
                new_lines.append(new_line(line, products, book, currency, rate, group))
            except ValidationError as error:
                raise error.under(f"lines[{index}]") from error
        return Order.from_draft(
            order_id, customer_id, currency, now, lines=new_lines, workflow=workflow,
            customer_group=group, pricing=spec.pricing, billing_address=spec.billing_address,
            shipping_address=spec.shipping_address, exchange_rate=rate,
            discounts=spec.discounts, shipping=spec.shipping, shipping_taxes=spec.shipping_taxes,
        )  # fmt: skip

    def _products(self, skus: Sequence[str]) -> Mapping[str, Product] | None:
        """The catalogue's products of ``skus`` (``None`` without a catalogue); a SKU the
        catalogue does not know is refused, naming its line."""
        if self.catalog is None:
            return None
        found = self.catalog.products(set(skus))
        for index, sku in enumerate(skus):
            if sku not in found:
                raise ValidationError(
                    f"lines[{index}].sku",
                    sku,
                    "is not in the catalogue",
                    "check the SKU, or add the product to the catalogue first",
                )
        return found

    def _new_line(
        self, order: Order, line: LineSpec, products: Mapping[str, Product] | None
    ) -> LineSpec:
        """``line`` as a new line of ``order`` (its currency, frozen rate and customer group)."""
        return new_line(
            line, products, self.price_book, order.currency, order.exchange_rate,
            order.customer_group,
        )  # fmt: skip

    def _rate(self, base: str, currency: str, now: dt.datetime) -> ExchangeRate:
        if self.exchange_rates is None:
            raise ValidationError(
                "exchange_rate_base",
                base,
                "needs an exchange-rate source",
                "bootstrap the service with exchange_rates",
            )
        return self.exchange_rates.rate(base, currency, now)

    def _workflow(self, name: str | None) -> Workflow:
        if name is None:
            return default_workflow()
        found = self.workflows.get(name)
        if found is None:
            if name == default_workflow().name:
                return default_workflow()
            raise ValidationError(
                "workflow",
                name,
                "is not a workflow this service knows",
                "pass it to bootstrap(workflows=...) or choose one of "
                + ", ".join(sorted({default_workflow().name, *self.workflows})),
            )
        return found

    def _place(self, uow: UnitOfWork, order: Order, actor: str, now: dt.datetime) -> None:
        series = f"{self.number_prefix}-{now.year}"
        number = take_number(
            uow.numbers, series, at_commit=self.numbers_at_commit, workflow=order.workflow
        )
        order.place(number, now, actor=actor)

    def _reserve(
        self,
        uow: UnitOfWork,
        order: Order,
        all_or_nothing: bool,
        actor: str,
        now: dt.datetime,
        new_order: bool,
        *,
        fresh_id: bool = False,
    ) -> tuple[AllocationPlan, list[LowStock]]:
        """Allocate the order with the policy, check the plan, and reserve it atomically.

        A shortage of a ``new_order`` says that the order was not created (its unit of work
        rolls back), rather than naming an order id that will not exist. ``fresh_id``: the
        service made the order's id just now, so it holds no stock to read first.
        """
        request = order.allocation_request(all_or_nothing=all_or_nothing)
        snapshot = uow.stock.snapshot(dict.fromkeys(line.sku for line in request.lines), now.date())
        plan = self.policy.allocate(request, snapshot)
        if not self._trusted_policy:
            check_plan(self.policy, request, snapshot, plan)
        if plan.shortages:
            raise InsufficientStockError(plan.shortages, order.id, order_created=not new_order)
        desk = StockDesk(uow.stock)
        if plan.allocations:
            try:
                desk.reserve_plan(
                    plan, now, actor, warehouses=snapshot.warehouses, new_order=fresh_id
                )
            except InsufficientStockError as error:
                if not new_order:
                    raise
                raise InsufficientStockError(error.shortages, order_created=False) from error
        return plan, desk.alerts

    def _published(
        self, uow: UnitOfWork, order: Order, alerts: Sequence[LowStock] = ()
    ) -> OrderResult:
        """Write the order's new events (and stock alerts) to the outbox; the command's result."""
        self._publish(uow, order.pull_events(), alerts)
        return OrderResult.of(order)

    def _publish(
        self, uow: UnitOfWork, events: Sequence[OrderEvent], alerts: Sequence[LowStock]
    ) -> None:
        """Write the order's events and the stock's alerts to the outbox."""
        dumper = self.serializer.dumper
        messages = []
        for event in events:
            messages.append(
                OutboxMessage(
                    event_id_of(event.order_id, event.sequence),
                    event.order_id,
                    event.sequence,
                    event.event_type,
                    dumper(type(event))(event),
                    event.at,
                )
            )
        if alerts:
            messages.extend(self._alert_messages(uow, alerts))
        if messages:
            uow.outbox.append(messages)

    def _alert_messages(self, uow: UnitOfWork, alerts: Sequence[LowStock]) -> list[OutboxMessage]:
        sequences: dict[str, int] = {}
        messages = []
        for alert in alerts:
            stream = f"stock:{alert.sku}:{alert.warehouse_id}"
            sequence = sequences.get(stream) or uow.outbox.next_sequence(stream)
            sequences[stream] = sequence + 1
            messages.append(
                OutboxMessage(
                    event_id_of(stream, sequence),
                    stream,
                    sequence,
                    "LowStock",
                    self.serializer.dump(alert),
                    alert.at,
                )
            )
        return messages
