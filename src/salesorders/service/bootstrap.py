"""The composition root: wire a :class:`SalesService` from a store and a few choices.

Nothing is built at import time; every call builds a new service. The composition root owns the
one :class:`~salesorders.serialization.Serializer` and its
:class:`~salesorders.domain.workflow.WorkflowRegistry`, and hands the serializer to the store: a
host registers a workflow once, here.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Iterable
from typing import Any

from salesorders.domain.allocation import AllocationPolicy, PriorityPolicy
from salesorders.domain.customers import MembershipTiers
from salesorders.domain.loyalty import LoyaltyProgram
from salesorders.domain.order import Order
from salesorders.domain.pricing import PriceBook
from salesorders.domain.return_policy import ReturnPolicy
from salesorders.domain.ticket_sla import SlaPolicy
from salesorders.domain.workflow import Workflow, WorkflowRegistry
from salesorders.errors import ValidationError
from salesorders.notifications.channel import Channel
from salesorders.notifications.contacts import CustomerDirectory
from salesorders.ports import (
    Carrier,
    Catalog,
    Clock,
    ExchangeRates,
    Notifier,
    PaymentGateway,
    Store,
    TrackingNumbers,
    UnitOfWorkFactory,
)
from salesorders.serialization import Serializer
from salesorders.service.access import Access
from salesorders.service.audit_trail import DEFAULT_RETENTION, AuditTrail
from salesorders.service.clock import SystemClock
from salesorders.service.customers import CustomerDesk
from salesorders.service.handlers import Handlers
from salesorders.service.idempotency import IdempotencyKeeper
from salesorders.service.outbox import OutboxDispatcher
from salesorders.service.permission_policy import PermissionPolicy
from salesorders.service.retry import Retrier
from salesorders.service.sales import SalesService

__all__ = ["bootstrap"]


def bootstrap(
    *,
    store: Store | None = None,
    uow: UnitOfWorkFactory | None = None,
    clock: Clock | None = None,
    allocation_policy: AllocationPolicy | None = None,
    price_book: PriceBook | None = None,
    exchange_rates: ExchangeRates | None = None,
    catalog: Catalog | None = None,
    carriers: Iterable[Carrier] = (),
    tracking_numbers: TrackingNumbers | None = None,
    payment_gateway: PaymentGateway | None = None,
    distinct_approver: bool = False,
    return_policy: ReturnPolicy | None = None,
    sla_policy: SlaPolicy | None = None,
    permissions: PermissionPolicy | None = None,
    audit: bool = False,
    audit_retention: dt.timedelta = DEFAULT_RETENTION,
    tiers: MembershipTiers | None = None,
    loyalty: LoyaltyProgram | None = None,
    serve_backorders_on_receipt: bool = False,
    backorder_priority: Callable[[Order], Any] | None = None,
    notifiers: Iterable[Notifier] = (),
    channels: Iterable[Channel] = (),
    directory: CustomerDirectory | None = None,
    number_prefix: str = "SO",
    workflows: Iterable[Workflow] | None = None,
    idempotency_retention: dt.timedelta = dt.timedelta(hours=24),
    idempotency_scope: str | None = None,
    max_retries: int = 5,
    rng: random.Random | None = None,
    sleep: Callable[[float], None] = time.sleep,
    max_delivery_attempts: int = 8,
    delivery_base_delay: dt.timedelta = dt.timedelta(seconds=2),
    delivery_max_delay: dt.timedelta = dt.timedelta(hours=1),
    delivery_lease: dt.timedelta = dt.timedelta(0),
) -> SalesService:
    """A ready :class:`SalesService` over ``store``.

    ``store`` is a :class:`~salesorders.ports.Store` (``MemoryStore()``, ``SQLiteStore(path)``,
    ``PostgresStore(dsn)`` or your own): bootstrap builds the service's one serializer from a
    registry of ``workflows`` and hands it to the store (``store.use_serializer``), so the store
    reads back orders on those workflows; units of work come from ``store.unit_of_work``, and the
    queries run in reads from ``store.read`` when the store has one. ``uow``
    is a unit-of-work factory to use instead (one wrapping the store's, say). Given without
    ``store`` it is used as it is and the store is handed nothing: a store that keeps orders as
    documents then reads back only the workflows of the serializer it was built with.

    ``clock`` defaults to the system clock (UTC), ``allocation_policy`` to
    :class:`~salesorders.domain.allocation.PriorityPolicy`. Without a ``price_book`` every line
    needs a unit price (or a ``catalog`` default price). With a ``catalog`` (a
    :class:`~salesorders.ports.Catalog`), an order line whose SKU it does not know is refused when
    the order is created or placed; without one any SKU is accepted. ``carriers``: the
    :class:`~salesorders.ports.Carrier` s that book shipments and translate their status codes, by
    name. ``tracking_numbers``: a :class:`~salesorders.ports.TrackingNumbers` that checks (and
    normalises) every tracking number ``ShipOrder`` is given or a carrier books, e.g.
    :class:`salesorders.adapters.tracking.CourierTrackingNumbers` (``salesorders[tracking]``);
    without one, any tracking number passing the text checks is kept as given.
    ``payment_gateway``: the :class:`~salesorders.ports.PaymentGateway` card payments go through
    (``AuthorizePayment`` and the rest need one). With ``distinct_approver``, a manual payment
    must be approved or rejected by someone other than who recorded it, and a return by someone
    other than who requested it. ``return_policy``: the
    :class:`~salesorders.domain.return_policy.ReturnPolicy` that says which delivered lines may
    come back, until when and at what fee (by default
    :class:`~salesorders.domain.return_policy.StandardReturnPolicy`: 7 days without a reason,
    30 for the seller's fault, no fee). ``sla_policy``: the
    :class:`~salesorders.domain.ticket_sla.SlaPolicy` that sets when tickets are due (by default
    urgent 4 hours, high 8, normal 24, low 72). ``permissions``: the
    :class:`~salesorders.permissions.PermissionPolicy` (e.g.
    :meth:`~salesorders.permissions.RolePolicy.standard`) asked before every command, which then
    needs ``handle(command, actor=Actor(...))``; without one every command runs. With ``audit``,
    every command run and every denied attempt is recorded in the store's audit log, in the
    command's own unit of work (see ``docs/audit.md``); ``PurgeAuditRecords`` keeps the records
    of the last ``audit_retention`` (by default ten years). ``tiers``: the
    :class:`~salesorders.domain.customers.MembershipTiers` ``EvaluateTiers`` moves customers
    through; by default a new order of a customer with a record is priced with their tier as the
    price book's customer group (see ``docs/customers.md``). ``loyalty``: the
    :class:`~salesorders.domain.loyalty.LoyaltyProgram` ``AccruePoints`` and ``RedeemPoints``
    run under. With
    ``serve_backorders_on_receipt``, receiving stock (``ReceiveStock``,
    ``ReceiveExpected``) allocates it to lines waiting for that SKU in the same unit of work, as
    ``AllocateBackorders`` does. ``backorder_priority``: which waiting orders are served first —
    a callable taking a waiting :class:`~salesorders.domain.order.Order` and returning a sort key
    (lower first; ties by placement time, then id); without one, oldest placement first. With
    one, every waiting order (up to 10,000) is ranked before ``limit`` takes the first.
    ``workflows``: the workflows
    new orders may name (their latest version is used; the default workflow is always available).
    Order numbers look like ``f"{number_prefix}-{year}-{n:06d}"``. Idempotency records are kept
    for ``idempotency_retention``; ``idempotency_scope`` (a tenant or account id) gives this
    service's keys a key space of their own (a call's ``scope=`` overrides it).
    ``max_retries``, ``rng`` and ``sleep`` drive the retries of conflicting units of work; the
    ``delivery_*`` settings drive the outbox relay (``service.relay``, also
    ``service.dispatcher``), which hands each outbox message to the ``notifiers`` (each as a
    :class:`~salesorders.service.outbox.NotifierChannel` named ``notifier-1`` ...) and the
    ``channels`` (:class:`~salesorders.notifications.Channel` s, each under its own name, with
    the order's customer looked up in ``directory``). ``delivery_lease``: how long a relay
    holds the streams of a batch (zero: no lease, so run one relay at a time; give e.g.
    ``timedelta(seconds=30)`` to run ``service.relay.run()`` in several threads or processes).
    """
    factory = _unit_of_work_factory(store, uow)
    if catalog is not None and not callable(getattr(catalog, "products", None)):
        raise ValidationError(
            "catalog", catalog, "must be a Catalog", "pass e.g. MemoryCatalog([Product(...)])"
        )
    chosen_clock = clock if clock is not None else SystemClock()
    known = tuple(workflows or ())
    serializer = Serializer(WorkflowRegistry(known))
    handlers = Handlers(
        policy=allocation_policy if allocation_policy is not None else PriorityPolicy(),
        serializer=serializer,
        price_book=price_book,
        exchange_rates=exchange_rates,
        catalog=catalog,
        carriers=tuple(carriers),
        tracking_numbers=tracking_numbers,
        payment_gateway=payment_gateway,
        distinct_approver=distinct_approver,
        return_policy=return_policy,
        sla_policy=sla_policy,
        serve_backorders_on_receipt=serve_backorders_on_receipt,
        backorder_priority=backorder_priority,
        workflows=known,
        number_prefix=number_prefix,
    )
    desk = CustomerDesk(tiers)
    if tiers is not None and tiers.price_groups:
        handlers.customer_group = desk.price_group
    dispatcher = OutboxDispatcher(
        factory,
        notifiers,
        chosen_clock,
        channels=channels,
        directory=directory,
        max_attempts=max_delivery_attempts,
        base_delay=delivery_base_delay,
        max_delay=delivery_max_delay,
        lease=delivery_lease,
    )
    service = SalesService(
        uow_factory=factory,
        clock=chosen_clock,
        handlers=handlers,
        idempotency=IdempotencyKeeper(serializer, idempotency_retention),
        retrier=Retrier(max_retries, rng=rng, sleep=sleep),
        dispatcher=dispatcher,
        idempotency_scope=idempotency_scope,
        read_factory=_read_factory(store) if uow is None else None,
        access=Access(permissions),
        trail=AuditTrail(audit, audit_retention),
        desk=desk,
        loyalty=loyalty,
    )
    if store is not None:
        store.use_serializer(serializer)
    return service


def _unit_of_work_factory(store: Store | None, uow: UnitOfWorkFactory | None) -> UnitOfWorkFactory:
    """``uow`` if given, else the store's; refuses a store that is not a :class:`Store`."""
    if store is not None and not (
        callable(getattr(store, "unit_of_work", None))
        and callable(getattr(store, "use_serializer", None))
    ):
        raise ValidationError(
            "store",
            store,
            "must be a store with unit_of_work() and use_serializer(serializer)",
            "pass e.g. MemoryStore(), SQLiteStore(path) or PostgresStore(dsn)",
        )
    if uow is None:
        if store is None:
            raise ValidationError(
                "store", None, "is required", "pass e.g. bootstrap(store=MemoryStore())"
            )
        return store.unit_of_work
    if not callable(uow):
        raise ValidationError(
            "uow", uow, "must be a unit-of-work factory", "pass e.g. MemoryStore().unit_of_work"
        )
    return uow


def _read_factory(store: Store | None) -> UnitOfWorkFactory | None:
    """The store's ``read`` (a :class:`~salesorders.ports.ReadableStore`), if it has one."""
    read = getattr(store, "read", None)
    return read if callable(read) else None
