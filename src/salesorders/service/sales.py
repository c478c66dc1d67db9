"""The service facade: ``handle(command)`` for every change, plus queries and the dispatcher."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import IO, Any, overload

import attrs

from salesorders.domain.actors import Actor
from salesorders.domain.audit import AuditRecord
from salesorders.domain.checks import aware_time, require_id
from salesorders.domain.customers import Customer
from salesorders.domain.logistics import LateShipment, LeadTime, OpenShipment
from salesorders.domain.logistics_queries import (
    LateShipmentQuery,
    LeadTimeQuery,
    Page,
    ShipmentQuery,
)
from salesorders.domain.loyalty import LoyaltyProgram
from salesorders.domain.order import Order
from salesorders.domain.returns import LineEligibility
from salesorders.domain.stock import Discrepancy, LedgerEntry, Reservation, StockItem, reconcile
from salesorders.domain.ticket_sla import DueTicket, TicketQuery
from salesorders.domain.timeline import TimelineEntry
from salesorders.errors import (
    IdempotencyConflictError,
    NotFoundError,
    PermissionDeniedError,
    SalesOrdersError,
    ValidationError,
)
from salesorders.ports import (
    AuditQuery,
    Clock,
    DeliveryRecord,
    GatewayTransaction,
    OrderPage,
    OrderQuery,
    UnitOfWork,
    UnitOfWorkFactory,
)
from salesorders.service import compensation
from salesorders.service.access import Access
from salesorders.service.analytics_reads import AnalyticsReads
from salesorders.service.audit_export import (
    AuditReport,
    export_records,
    read_records,
    verify_log,
)
from salesorders.service.audit_trail import AuditPurge, AuditTrail, PurgeAuditRecords
from salesorders.service.change_commands import (
    ApproveChange,
    CancelChange,
    DeclineChange,
    RequestChange,
)
from salesorders.service.changes import ChangeAwaitingReview, ChangeResult, changes_awaiting_review
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
    check_texts,
)
from salesorders.service.customers import (
    AddCustomerNote,
    CustomerDesk,
    EvaluateTiers,
    RegisterCustomer,
    TierReview,
    UpdateCustomer,
    customers_of,
)
from salesorders.service.handlers import Handler, Handlers, Route
from salesorders.service.idempotency import (
    Execution,
    IdempotencyKeeper,
    check_scope,
    scoped_key,
)
from salesorders.service.loyalty import AccruePoints, LoyaltyDesk, PointsReview, RedeemPoints
from salesorders.service.numbering import numbered_result
from salesorders.service.outbox import OutboxDispatcher
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
from salesorders.service.payments import (
    AwaitingReview,
    OverdueOrder,
    awaiting_review,
    overdue_orders,
    unrecorded_transactions,
)
from salesorders.service.personal_data import (
    AnonymizeCustomer,
    CustomerAnonymized,
    CustomerDataExport,
    ExportCustomerData,
    PersonalData,
)
from salesorders.service.results import OrderResult
from salesorders.service.retry import Retrier
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
from salesorders.service.returns import ReturnAwaitingReview, returns_awaiting_review
from salesorders.service.reviews import ReviewItem, ReviewKind, items_awaiting_review, review_kind
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
from salesorders.service.tickets import order_timeline, tickets_due
from salesorders.service.views import OrderView

__all__ = ["SalesService"]


class _LostRace(Exception):
    """A concurrent duplicate under the same idempotency key committed first."""


class SalesService(AnalyticsReads):
    """Runs commands in units of work, idempotently and with bounded retries.

    Build it with :func:`~salesorders.service.bootstrap`. Each command runs in one unit of work:
    its effects, its outbox messages and its idempotency record are committed together or not at
    all. :class:`~salesorders.errors.ConcurrencyConflictError` and
    :class:`~salesorders.errors.OperationalError` re-run the whole unit of work (bounded, with
    jittered backoff); every other error is raised at once and changes nothing.

    Queries (``get_order``, ``list_orders``, the review, logistics, payment and stock queries)
    run in reads from ``read_factory`` — the store's ``read`` when it has one (see
    :class:`~salesorders.ports.ReadableStore`): on SQLite and PostgreSQL they read the last
    committed state without waiting for a command that is writing. Without one they run in
    units of work.
    """

    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        handlers: Handlers,
        idempotency: IdempotencyKeeper,
        retrier: Retrier,
        dispatcher: OutboxDispatcher,
        idempotency_scope: str | None = None,
        read_factory: UnitOfWorkFactory | None = None,
        access: Access | None = None,
        trail: AuditTrail | None = None,
        desk: CustomerDesk | None = None,
        loyalty: LoyaltyProgram | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.read_factory = uow_factory if read_factory is None else read_factory
        self.clock = clock
        self.handlers = handlers
        self.idempotency = idempotency
        self.retrier = retrier
        self.dispatcher = dispatcher
        self.access = Access(None) if access is None else access
        self.trail = AuditTrail(False) if trail is None else trail
        # An audit record holds the result, sealed by its hash before the commit: no number may
        # be filled in after it.
        handlers.numbers_at_commit = handlers.numbers_at_commit and not self.trail.enabled
        personal = PersonalData(handlers.serializer)
        self.customers = CustomerDesk() if desk is None else desk
        customers = self.customers
        self._routes: dict[type, Route] = {
            **handlers.routes,
            PurgeAuditRecords: (self.trail.purge, AuditPurge),
            ExportCustomerData: (personal.export, CustomerDataExport),
            AnonymizeCustomer: (personal.anonymize, CustomerAnonymized),
            RegisterCustomer: (customers.register, Customer),
            UpdateCustomer: (customers.update, Customer),
            AddCustomerNote: (customers.note, Customer),
            EvaluateTiers: (customers.evaluate, TierReview),
        }
        self.loyalty_program = loyalty
        points = LoyaltyDesk(loyalty, handlers._published)
        self._routes[AccruePoints] = (points.accrue, PointsReview)
        self._routes[RedeemPoints] = (points.redeem, OrderResult)
        self.idempotency_scope = (
            None
            if idempotency_scope is None
            else check_scope(idempotency_scope, "idempotency_scope")
        )

    # ------------------------------------------------------------------ commands

    @overload
    def handle(
        self,
        command: CreateDraft
        | PlaceOrder
        | PlaceDraft
        | ConfirmOrder
        | CancelOrder
        | HoldOrder
        | ResumeOrder
        | ShipOrder
        | RecordShipmentEvent
        | DeliverOrder
        | CompleteOrder
        | TransitionOrder
        | CancelLines
        | PromiseDelivery
        | AuthorizePayment
        | CapturePayment
        | VoidPayment
        | RefundPayment
        | RecordPayment
        | ApprovePayment
        | RejectPayment
        | SetPaymentTerms
        | RequestReturn
        | ApproveReturn
        | RejectReturn
        | ReceiveReturn
        | ExchangeReturn
        | OpenRepair
        | AdvanceRepair
        | RecordRepairNote
        | CloseRepair
        | OpenTicket
        | AssignTicket
        | AddTicketNote
        | ResolveTicket
        | ReopenTicket
        | CloseTicket
        | AddOrderNote
        | ScheduleFollowUp
        | RedeemPoints,
        *,
        scope: str | None = None,
        actor: Actor | None = None,
    ) -> OrderResult: ...

    @overload
    def handle(
        self,
        command: ReceiveStock | ReceiveExpected | AdjustStock | WriteOffStock,
        *,
        scope: str | None = None,
        actor: Actor | None = None,
    ) -> LedgerEntry: ...

    @overload
    def handle(
        self, command: TransferStock, *, scope: str | None = None, actor: Actor | None = None
    ) -> tuple[LedgerEntry, ...]: ...

    @overload
    def handle(
        self,
        command: RequestChange | ApproveChange | DeclineChange | CancelChange,
        *,
        scope: str | None = None,
        actor: Actor | None = None,
    ) -> ChangeResult: ...

    @overload
    def handle(
        self, command: AllocateBackorders, *, scope: str | None = None, actor: Actor | None = None
    ) -> tuple[OrderResult, ...]: ...

    @overload
    def handle(
        self,
        command: RegisterWarehouse | SetStockLevels | ExpectStock,
        *,
        scope: str | None = None,
        actor: Actor | None = None,
    ) -> None: ...

    @overload
    def handle(
        self, command: PurgeAuditRecords, *, scope: str | None = None, actor: Actor | None = None
    ) -> AuditPurge: ...

    @overload
    def handle(
        self,
        command: RegisterCustomer | UpdateCustomer | AddCustomerNote,
        *,
        scope: str | None = None,
        actor: Actor | None = None,
    ) -> Customer: ...

    @overload
    def handle(
        self, command: EvaluateTiers, *, scope: str | None = None, actor: Actor | None = None
    ) -> TierReview: ...

    @overload
    def handle(
        self, command: AccruePoints, *, scope: str | None = None, actor: Actor | None = None
    ) -> PointsReview: ...

    @overload
    def handle(
        self, command: ExportCustomerData, *, scope: str | None = None, actor: Actor | None = None
    ) -> CustomerDataExport: ...

    @overload
    def handle(
        self, command: AnonymizeCustomer, *, scope: str | None = None, actor: Actor | None = None
    ) -> CustomerAnonymized: ...

    def handle(self, command: Any, *, scope: str | None = None, actor: Actor | None = None) -> Any:
        """Run ``command`` and return its result (an :class:`OrderResult` for order commands).

        ``scope`` (a tenant or account id) gives the command's idempotency key its own key space:
        the same key under two scopes names two commands. ``None`` uses the service's
        ``idempotency_scope`` (see :func:`~salesorders.service.bootstrap`). Use :meth:`execute`
        to learn whether a result was replayed.

        ``actor`` is who runs it, as the host authenticated them (see ``docs/permissions.md``):
        the command's ``actor`` field is filled with its id. With a permission policy (see
        :func:`~salesorders.service.bootstrap`) the policy decides before any handler runs; a
        denial raises :class:`~salesorders.errors.PermissionDeniedError`, changes nothing and is
        recorded in the outbox (``CommandDenied``).
        """
        return self._dispatch(command, scope, actor)[0]

    def execute(
        self, command: Any, *, scope: str | None = None, actor: Actor | None = None
    ) -> Execution[Any]:
        """Run ``command`` like :meth:`handle`, and say whether its result was replayed.

        ``Execution.replayed`` is true when the result is the one stored under the command's
        idempotency key by an earlier run (nothing was changed this time): an HTTP host sets
        ``Idempotent-Replayed: true`` on its response then.
        """
        return Execution(*self._dispatch(command, scope, actor))

    def _dispatch(
        self, command: Any, scope: str | None, actor: Actor | None = None
    ) -> tuple[Any, bool]:
        """Run ``command``: its result, and whether it was replayed from its idempotency key."""
        route = self._routes.get(type(command))
        if route is None:
            raise ValidationError(
                "command",
                type(command).__name__,
                "is not a command this service handles",
                "use one of " + ", ".join(sorted(t.__name__ for t in self._routes)),
            )
        who = None
        try:
            if actor is not None or self.access.policy is not None:
                command, who = self.access.admit(command, actor)
            check_texts(command)
            key = getattr(command, "idempotency_key", None)  # a read-like command has none
            if key is None:
                handler = route[0]
                return self.retrier.run(lambda: self._run(handler, command, who)), False
            chosen = self.idempotency_scope if scope is None else check_scope(scope)
            return self._run_idempotent(route, command, key, scoped_key(chosen, key), who)
        except PermissionDeniedError as error:
            self.access.record(self.uow_factory, self.clock.now(), error, who, command, self.trail)
            raise

    def _run(
        self,
        handler: Handler,
        command: Any,
        who: Actor | None = None,
    ) -> Any:
        with compensation.attempt(), self.uow_factory() as uow:
            if who is not None:
                self.access.check(uow, command, who)
            result = self._handled(uow, handler, command, who, self.clock.now())
            uow.commit()
        return numbered_result(result, uow)

    def _handled(
        self,
        uow: UnitOfWork,
        handler: Handler,
        command: Any,
        who: Actor | None,
        now: dt.datetime,
    ) -> Any:
        """Run the handler in ``uow``; with the audit trail on, record what it changed."""
        trail = self.trail
        if not trail.enabled:
            return handler(uow, command, now)
        before = trail.before_of(uow, command)
        result = handler(uow, command, now)
        trail.record(uow, command, who, before, result, now)
        return result

    def _run_idempotent(
        self, route: Route, command: Any, key: str, stored_key: str, who: Actor | None = None
    ) -> tuple[Any, bool]:
        handler, result_type = route
        keeper = self.idempotency
        fingerprint = keeper.fingerprint(command)

        def attempt() -> tuple[Any, bool]:
            with compensation.attempt(), self.uow_factory() as uow:
                if who is not None:
                    self.access.check(uow, command, who)  # before a stored result is shown
                now = self.clock.now()
                self.handlers.read_ahead(uow, command)
                soon = getattr(uow.idempotency, "get_soon", None)
                run = handler
                if soon is None or self.trail.enabled:
                    record = uow.idempotency.get(stored_key, now)
                else:  # the order is built while the lookup travels
                    answer = soon(stored_key, now)
                    run = self.handlers.order_ahead(uow, command, now) or handler
                    record = answer()
                if record is not None:
                    return keeper.replay(record, command, fingerprint, result_type), True
                result = self._handled(uow, run, command, who, now)
                try:
                    uow.idempotency.put(
                        keeper.record(stored_key, command, fingerprint, result, now)
                    )
                except IdempotencyConflictError:
                    raise _LostRace from None
                uow.commit()
                return numbered_result(result, uow), False

        for _ in range(3):
            try:
                return self.retrier.run(attempt)
            except _LostRace:
                continue  # the next attempt finds the winner's record and returns its result
            except PermissionDeniedError:
                raise
            except SalesOrdersError:
                # A duplicate running at the same time as the first delivery can read the key
                # before the first commits and the order after: it is then refused because of
                # the first's own change. If the first has committed, its result is the answer.
                with self.uow_factory() as uow:
                    record = uow.idempotency.get(stored_key, self.clock.now())
                if record is None:
                    raise
                return keeper.replay(record, command, fingerprint, result_type), True
        raise IdempotencyConflictError(key, type(command).__name__)

    def purge_expired_idempotency(self) -> int:
        """Delete idempotency records past their retention; returns how many."""
        with self.uow_factory() as uow:
            purged = uow.idempotency.purge_expired(self.clock.now())
            uow.commit()
        return purged

    # ------------------------------------------------------------------ queries

    def get_order(self, order_id: str, *, actor: Actor | None = None) -> Order:
        """The order with that id; :class:`~salesorders.errors.NotFoundError` if none.

        With a permission policy, pass the reading ``actor``: a customer finds only their own
        orders (another's is not found, as if it did not exist), and a read without an actor is
        refused (:class:`~salesorders.errors.PermissionDeniedError`). The same holds for the
        other order queries that take ``actor``.
        """
        require_id(order_id, "order_id")
        scope = self.access.customer_scope(actor)
        with self.read_factory() as uow:
            order = uow.orders.get(order_id)
        if scope is not None and order.customer_id != scope:
            raise NotFoundError("order", order_id)
        return order

    def get_customer(self, customer_id: str, *, actor: Actor | None = None) -> Customer:
        """The customer record with that id; :class:`~salesorders.errors.NotFoundError` if none.
        ``actor`` as for :meth:`get_order`: a customer reads only their own record."""
        require_id(customer_id, "customer_id")
        scope = self.access.customer_scope(actor)
        if scope is not None and scope != customer_id:
            raise NotFoundError("customer", customer_id)
        with self.read_factory() as uow:
            return customers_of(uow).get(customer_id)  # type: ignore[no-any-return]

    @property
    def relay(self) -> OutboxDispatcher:
        """The outbox relay (:class:`~salesorders.service.outbox.OutboxRelay`): the same object
        as ``dispatcher``."""
        return self.dispatcher

    def deliveries(self, order_id: str) -> list[DeliveryRecord]:
        """The delivery log of an order: what each channel did with each of its events, by
        sequence and channel."""
        require_id(order_id, "order_id")
        with self.read_factory() as uow:
            return uow.outbox.deliveries(stream_id=order_id)

    def get_order_by_number(self, number: str, *, actor: Actor | None = None) -> Order:
        """The order with that number (e.g. ``"SO-2026-000001"``); ``actor`` as for
        :meth:`get_order`."""
        require_id(number, "number")
        scope = self.access.customer_scope(actor)
        with self.read_factory() as uow:
            order = uow.orders.get_by_number(number)
        if scope is not None and order.customer_id != scope:
            raise NotFoundError("order number", number)
        return order

    def view_order(self, order_id_or_number: str, *, actor: Actor | None = None) -> OrderView:
        """The read view of the order with that id, or else with that number."""
        try:
            return OrderView.of(self.get_order(order_id_or_number, actor=actor))
        except NotFoundError:
            return OrderView.of(self.get_order_by_number(order_id_or_number, actor=actor))

    def list_orders(
        self, query: OrderQuery | None = None, *, actor: Actor | None = None
    ) -> OrderPage:
        """One page of orders, oldest first (``OrderQuery(newest_first=True)``: newest first);
        pass ``page.next_cursor`` as ``after`` for the next. With ``OrderQuery(with_total=True)``
        ``page.total`` is how many orders the filters match, read in the same read as the page.

        :class:`OrderQuery` checks its fields when it is built, so every store sees the same valid
        queries. ``actor`` as for :meth:`get_order`: a customer's query is limited to their own
        orders (asking for another customer's finds none).
        """
        if query is not None and not isinstance(query, OrderQuery):
            raise ValidationError("query", query, "must be an OrderQuery or None")
        query = query or OrderQuery()
        scope = self.access.customer_scope(actor)
        if scope is not None:
            if query.customer_id not in (None, scope):
                return OrderPage((), None, 0 if query.with_total else None)
            query = attrs.evolve(query, customer_id=scope)
        with self.read_factory() as uow:
            return uow.orders.list(query)

    # ------------------------------------------------------------------ logistics

    def open_shipments(
        self,
        *,
        carrier: str | None = None,
        warehouse_id: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> Page[OpenShipment]:
        """One page of the shipments on their way (not delivered, not returned to sender),
        oldest first; ``carrier=""`` finds those without a carrier. Pass ``page.next_cursor``
        as ``after`` for the next page."""
        query = ShipmentQuery(carrier, warehouse_id, limit, after)
        with self.read_factory() as uow:
            return uow.orders.open_shipments(query)

    def late_shipments(
        self,
        on: dt.date | None = None,
        *,
        carrier: str | None = None,
        warehouse_id: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> Page[LateShipment]:
        """One page of the open shipments past their promised date on ``on`` (by default the
        service clock's date), earliest promise first, with how many days late."""
        day = self.clock.now().date() if on is None else on
        query = LateShipmentQuery(day, carrier, warehouse_id, limit, after)
        with self.read_factory() as uow:
            return uow.orders.late_shipments(query)

    def lead_times(
        self,
        *,
        placed_from: dt.datetime | None = None,
        placed_to: dt.datetime | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> Page[LeadTime]:
        """One page of the lead times of the orders placed from ``placed_from`` (inclusive) to
        ``placed_to`` (exclusive), by placement."""
        query = LeadTimeQuery(placed_from, placed_to, limit, after)
        with self.read_factory() as uow:
            return uow.orders.lead_times(query)

    # ------------------------------------------------------------------ payments

    def payments_awaiting_review(self, *, limit: int = 50) -> tuple[AwaitingReview, ...]:
        """Manual payments waiting for a reviewer, oldest recorded first."""
        with self.read_factory() as uow:
            return awaiting_review(uow, limit)

    def changes_awaiting_review(self, *, limit: int = 50) -> tuple[ChangeAwaitingReview, ...]:
        """Order changes waiting for a reviewer, oldest requested first."""
        with self.read_factory() as uow:
            return changes_awaiting_review(uow, limit)

    def overdue_orders(
        self, on: dt.date | None = None, *, limit: int = 50
    ) -> tuple[OverdueOrder, ...]:
        """Orders with money their payment terms made due before ``on`` (by default the service
        clock's date) still unpaid on it, earliest due date first. Money due on a date is
        overdue from the next day."""
        day = self.clock.now().date() if on is None else on
        with self.read_factory() as uow:
            return overdue_orders(uow, day, limit)

    def unrecorded_payments(self, order_id: str) -> tuple[GatewayTransaction, ...]:
        """Reconciliation: the payment gateway's transactions for the order (captures above all)
        that the order does not record — a gateway answer whose database attempt rolled back and
        was never retried to success. Empty when the gateway and the order agree."""
        require_id(order_id, "order_id")
        gateway = self.handlers.payments.gateway
        if gateway is None:
            raise ValidationError(
                "payment_gateway",
                None,
                "is needed to reconcile payments",
                "bootstrap the service with payment_gateway=...",
            )
        with self.read_factory() as uow:
            order = uow.orders.get(order_id)
        return unrecorded_transactions(order, gateway)

    # ------------------------------------------------------------------ reviews

    def awaiting_review(
        self, kind: ReviewKind | str | None = None, *, limit: int = 50
    ) -> tuple[ReviewItem, ...]:
        """Everything waiting for a reviewer — manual payments, order changes, returns — or only
        those of ``kind`` (``"payment"``, ``"change"``, ``"return"``), oldest request first."""
        wanted = review_kind(kind)
        with self.read_factory() as uow:
            return items_awaiting_review(uow, wanted, limit)

    # ------------------------------------------------------------------ returns

    def returns_awaiting_review(self, *, limit: int = 50) -> tuple[ReturnAwaitingReview, ...]:
        """Requested returns waiting for a reviewer, oldest requested first."""
        with self.read_factory() as uow:
            return returns_awaiting_review(uow, limit)

    def return_eligibility(
        self, order_id: str, at: dt.datetime | None = None
    ) -> tuple[LineEligibility, ...]:
        """Which lines of the order may be returned at ``at`` (by default now), how many units,
        until when (no-reason and seller-fault windows), at what restocking fee, and why not."""
        require_id(order_id, "order_id")
        when = self.clock.now() if at is None else aware_time(at)
        with self.read_factory() as uow:
            order = uow.orders.get(order_id)
        return order.return_eligibility(self.handlers.returns.policy, when)

    # ------------------------------------------------------------------ tickets and timeline

    def tickets_due(self, query: TicketQuery) -> tuple[DueTicket, ...]:
        """The open tickets overdue at ``query.now`` or due within ``query.within``, of one
        assignee or department if the query names one, by assignee (the unassigned first), then
        due time."""
        with self.read_factory() as uow:
            return tickets_due(uow, query)

    def timeline(self, order_id: str, *, actor: Actor | None = None) -> tuple[TimelineEntry, ...]:
        """The order's audit trail, events, notifications sent (the delivery log), tickets and
        notes, merged in time order (see :mod:`salesorders.domain.timeline`); ``actor`` as for
        :meth:`get_order`."""
        require_id(order_id, "order_id")
        if self.access.policy is not None:
            self.get_order(order_id, actor=actor)  # a customer sees only their own
        with self.read_factory() as uow:
            return order_timeline(uow, order_id)

    # ------------------------------------------------------------------ audit

    def audit_records(self, query: AuditQuery | None = None) -> Iterator[AuditRecord]:
        """The audit records ``query`` asks for (every one without it), in the order they were
        written, read a page at a time (see ``docs/audit.md``)."""
        return read_records(self.read_factory, query)

    def verify_audit(self, query: AuditQuery | None = None) -> AuditReport:
        """Check the hash chains of the audit records ``query`` asks for; the report names the
        first broken link (a record altered, removed or inserted)."""
        return verify_log(self.read_factory, query)

    def export_audit(
        self, out: IO[str], query: AuditQuery | None = None, *, format: str = "jsonl"
    ) -> int:
        """Write the audit records ``query`` asks for to ``out`` as ``"jsonl"`` or ``"csv"``
        (spreadsheet formulas neutralised), streaming; returns how many."""
        return export_records(self.read_factory, out, query, format)

    # ------------------------------------------------------------------ stock

    def reservations(self, order_id: str | None = None) -> tuple[Reservation, ...]:
        """Stock reservations, of one order if ``order_id`` is given."""
        if order_id is not None:
            require_id(order_id, "order_id")
        with self.read_factory() as uow:
            return uow.stock.reservations(order_id)

    def stock_items(self) -> tuple[StockItem, ...]:
        """Every stock item (SKU per warehouse) with its figures."""
        with self.read_factory() as uow:
            return uow.stock.items()

    def reconcile_stock(self) -> tuple[Discrepancy, ...]:
        """The drift detector: every stock figure that disagrees with the open reservations or
        with the fold of the ledger (empty when all agree)."""
        with self.read_factory() as uow:
            return reconcile(uow.stock.items(), uow.stock.reservations(), uow.stock.ledger())
