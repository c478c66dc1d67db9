"""The ports a host application implements (or takes from ``salesorders.adapters``).

Each Protocol's docstring is its contract. ``salesorders.testing.contracts`` holds one abstract test
suite per port that an adapter author subclasses to prove their adapter keeps it.

All methods that read or write storage run inside a :class:`UnitOfWork`: nothing they change is
visible to others until :meth:`UnitOfWork.commit`, and everything is undone by
:meth:`UnitOfWork.rollback` (or by leaving the ``with`` block without committing). Queries may run
in a read (:meth:`ReadableStore.read`), a unit of work that only reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

import attrs
from moneyed import Money

from salesorders.domain.audit import AuditRecord
from salesorders.domain.catalog import Product
from salesorders.domain.checks import MAX_PAGE_SIZE, aware_time, check_text, optional_id
from salesorders.domain.customers import Customer
from salesorders.domain.fulfilment import Shipment, ShipmentStatus
from salesorders.domain.logistics import LateShipment, LeadTime, OpenShipment
from salesorders.domain.logistics_queries import (
    LateShipmentQuery,
    LeadTimeQuery,
    Page,
    ShipmentQuery,
    select_late_shipments,
    select_lead_times,
    select_open_shipments,
)
from salesorders.domain.order import Order
from salesorders.domain.personal_data import Redactor
from salesorders.domain.pricing import ExchangeRate
from salesorders.domain.return_policy import ReturnPolicy
from salesorders.domain.snapshot import IncomingStock
from salesorders.domain.stock import (
    LedgerEntry,
    StockItem,
    StockRows,
)
from salesorders.errors import ProgrammingError, ValidationError
from salesorders.outbox_ports import (
    DeliveryRecord,
    IdempotencyRecord,
    IdempotencyStore,
    Notifier,
    OutboxMessage,
    OutboxStore,
    event_id_of,
    stream_position,
)
from salesorders.serialization import Serializer

if TYPE_CHECKING:
    from salesorders.analytics.measures import (
        BottleneckQuery,
        BottleneckReport,
        LeadTimeReport,
        Report,
        ReportQuery,
        StockTurnover,
        TopCustomer,
        TopSku,
        TurnoverQuery,
    )

__all__ = [
    "MAX_PAGE_SIZE",
    "AuditLog",
    "AuditQuery",
    "BarcodeCatalog",
    "Catalog",
    "Clock",
    "CustomerRepository",
    "DeliveryRecord",
    "ExchangeRates",
    "GatewayTransaction",
    "IdempotencyRecord",
    "IdempotencyStore",
    "LateShipmentQuery",
    "LeadTimeQuery",
    "Notifier",
    "OrderAnalytics",
    "OrderNumbers",
    "OrderPage",
    "OrderQuery",
    "OrderRepository",
    "OutboxMessage",
    "OutboxStore",
    "Page",
    "PaymentGateway",
    "PersonalDataStore",
    "ReadableStore",
    "ReturnPolicy",
    "ShipmentQuery",
    "StockRepository",
    "Store",
    "TrackingNumbers",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "event_id_of",
    "read_only_refusal",
    "select_late_shipments",
    "select_lead_times",
    "select_open_shipments",
    "stream_position",
]


class Clock(Protocol):
    """Where the service layer reads the time. The domain never reads a clock."""

    def now(self) -> dt.datetime:
        """The current time, timezone-aware."""
        ...


class ExchangeRates(Protocol):
    """A source of exchange rates.

    Contract: returns the rate converting one unit of ``base`` into ``quote`` valid at ``at``;
    ``base == quote`` gives rate 1; an unknown pair raises
    :class:`~salesorders.errors.ExchangeRateUnavailableError`. The rate used is stored on the order,
    so later changes in the source never change an order's totals.
    """

    def rate(self, base: str, quote: str, at: dt.datetime) -> ExchangeRate: ...


@attrs.frozen(slots=True)
class AuditQuery:
    """Which audit records to read: ``since`` (inclusive) and ``until`` (exclusive) bound their
    time; the other fields, when given, must match exactly."""

    since: dt.datetime | None = attrs.field(default=None, validator=lambda _i, a, v: _time(a, v))
    until: dt.datetime | None = attrs.field(default=None, validator=lambda _i, a, v: _time(a, v))
    stream: str | None = attrs.field(default=None, validator=lambda _i, a, v: _text(a, v))
    actor: str | None = attrs.field(default=None, validator=lambda _i, a, v: _text(a, v))
    action: str | None = attrs.field(default=None, validator=lambda _i, a, v: _text(a, v))
    outcome: str | None = attrs.field(default=None, validator=lambda _i, a, v: _text(a, v))
    subject: str | None = attrs.field(default=None, validator=lambda _i, a, v: _text(a, v))


def _time(attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        aware_time(value, attribute.name)


def _text(attribute: attrs.Attribute[Any], value: object) -> None:
    optional_id(value, attribute.name)


class AuditLog(Protocol):
    """The append-only audit log of a store (``uow.audit``; see
    :mod:`salesorders.domain.audit`).

    Contract: ``append`` stores records in the unit of work (rolled back with it); a record whose
    ``(stream, sequence)`` is taken raises
    :class:`~salesorders.errors.ConcurrencyConflictError` (the service retries the command).
    ``last`` is the stream's record of the highest sequence. ``read`` returns up to ``limit``
    records matching the query whose position (the order they were appended in, increasing) is
    after ``after``, as ``(position, record)`` by position. ``purge`` deletes the records older
    than ``before`` (or, with ``dry_run``, only counts them) and returns how many.
    """

    def last(self, stream: str) -> AuditRecord | None: ...

    def append(self, records: Sequence[AuditRecord]) -> None: ...

    def read(
        self, query: AuditQuery, *, after: int = 0, limit: int = 500
    ) -> list[tuple[int, AuditRecord]]: ...

    def purge(self, before: dt.datetime, *, dry_run: bool = False) -> int: ...


class CustomerRepository(Protocol):
    """The customer records of a store (``uow.customers``). Contract: ``add`` refuses an id
    already stored (:class:`~salesorders.errors.ConflictError`); ``save`` stores a record read
    before, raising :class:`~salesorders.errors.ConcurrencyConflictError` if it changed since;
    both return the record stored, its ``version`` bumped. ``get`` raises
    :class:`~salesorders.errors.NotFoundError`, ``find`` returns ``None``; ``list`` pages by id."""

    def add(self, customer: Customer) -> Customer: ...

    def save(self, customer: Customer) -> Customer: ...

    def get(self, customer_id: str) -> Customer: ...

    def find(self, customer_id: str) -> Customer | None: ...

    def list(self, *, after: str | None = None, limit: int = 500) -> list[Customer]: ...


class PersonalDataStore(Protocol):
    """Where a store keeps copies of customers' personal data besides the orders
    (``uow.personal_data``; see :mod:`salesorders.domain.personal_data`).

    Contract: ``redact`` rewrites, in the unit of work, every copy kept for the orders
    ``order_ids``: their outbox messages (payload, last error), delivery records (recipient
    becomes ``REDACTED``, after the recipients are added to ``redactor``), the idempotency
    results naming them, and the records of the audit ``streams``, re-sealed with
    :func:`~salesorders.domain.personal_data.resealed`. It returns the rows changed. A store may
    erase old row versions on commit (SQLite zeroes freed space and truncates its WAL)."""

    def redact(
        self, order_ids: Collection[str], streams: Collection[str], redactor: Redactor
    ) -> int: ...


class OrderNumbers(Protocol):
    """Gap-free human-readable order numbers per series.

    Contract: ``next_number`` takes the next number of ``series`` (1, 2, 3 ...; each series counts
    on its own) inside the caller's unit of work; if the unit of work rolls back, the number is not
    used up (no gaps). Concurrent units of work never get the same number.
    """

    def next_number(self, series: str) -> int: ...


def _check_query_id(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    optional_id(value, attribute.name)


def _check_query_time(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        aware_time(value, attribute.name)


def _check_limit(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE_SIZE:
        raise ValidationError(
            "limit", value, f"must be an int from 1 to {MAX_PAGE_SIZE}", "page with next_cursor"
        )


def _check_flag(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise ValidationError(attribute.name, value, "must be True or False")


def _check_cursor(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_text(value, "after")


@attrs.frozen(slots=True)
class OrderQuery:
    """Filters and page for listing orders. ``after`` is the cursor from the previous page.

    ``created_from`` is inclusive and ``created_to`` exclusive (timezone-aware datetimes);
    ``sku`` keeps the orders with a line of that SKU. ``limit`` is from 1 to
    :data:`MAX_PAGE_SIZE`. Orders come oldest first, by ``(created_at,
    id)``; with ``newest_first`` newest first, by the same key reversed (a cursor pages only in
    the direction of the listing that made it). With ``with_total`` the page's ``total`` counts
    every order the filters match, on every page alike (the cursor and ``limit`` aside). Every
    field is checked when the query is built, so every store sees the same valid queries: a bad
    one raises :class:`~salesorders.errors.ValidationError` naming the field.
    """

    customer_id: str | None = attrs.field(default=None, validator=_check_query_id)
    state: str | None = attrs.field(default=None, validator=_check_query_id)
    created_from: dt.datetime | None = attrs.field(default=None, validator=_check_query_time)
    created_to: dt.datetime | None = attrs.field(default=None, validator=_check_query_time)
    limit: int = attrs.field(default=50, validator=_check_limit)
    after: str | None = attrs.field(default=None, validator=_check_cursor)
    newest_first: bool = attrs.field(default=False, validator=_check_flag)
    with_total: bool = attrs.field(default=False, validator=_check_flag)
    sku: str | None = attrs.field(default=None, validator=_check_query_id)


@attrs.frozen(slots=True)
class OrderPage:
    """One page of orders in the query's order; ``next_cursor`` is ``None`` on the last page.
    ``total`` is how many orders the query's filters match (``None`` unless it asked
    ``with_total``), read in the same transaction as the page."""

    orders: tuple[Order, ...]
    next_cursor: str | None
    total: int | None = None


class OrderRepository(Protocol):
    """Stores Order aggregates with optimistic versions.

    Contract:

    * ``add`` stores a new order (an existing id raises :class:`~salesorders.errors.ConflictError`)
      and sets its version to 1.
    * ``save`` stores a changed order only if the stored version equals ``order.version`` — else
      :class:`~salesorders.errors.ConcurrencyConflictError` carrying the stored version — and then
      increments ``order.version``; saving an order that was never added raises
      :class:`~salesorders.errors.NotFoundError`.
    * ``get`` / ``get_by_number`` raise :class:`~salesorders.errors.NotFoundError`; they return a
      new object each time, equal to the saved order and carrying no pending events.
    * ``list`` filters by customer, state, creation time and SKU (an order with a line of it)
      and pages by ``(created_at, id)``
      (descending with ``newest_first``) with an opaque cursor; a cursor this repository did not
      produce for a listing in the same direction raises
      :class:`~salesorders.errors.ValidationError`. With ``with_total`` the page carries how
      many orders the filters match.
    * ``open_shipments``, ``late_shipments`` and ``lead_times`` answer exactly as the reference
      functions of :mod:`salesorders.domain.logistics_queries` do over the orders as last added
      or saved in this unit of work (same items, same order, same pages); their queries are
      checked when built, and their cursors are the codec's of that module.
    """

    def add(self, order: Order) -> None: ...

    def save(self, order: Order) -> None: ...

    def get(self, order_id: str) -> Order: ...

    def get_by_number(self, number: str) -> Order: ...

    def list(self, query: OrderQuery) -> OrderPage: ...

    def waiting(self, limit: int = 1000) -> tuple[Order, ...]:
        """Orders with a line waiting for backordered stock (``Order.waiting``), oldest
        placement first, at most ``limit`` (1 to 10,000); like ``get``, each a new object."""
        ...

    def open_shipments(self, query: ShipmentQuery) -> Page[OpenShipment]:
        """One page of the shipments not yet delivered nor returned to sender (see
        :mod:`salesorders.domain.logistics`), as
        :func:`~salesorders.domain.logistics_queries.select_open_shipments` answers it over
        every stored order."""
        ...

    def late_shipments(self, query: LateShipmentQuery) -> Page[LateShipment]:
        """One page of the open shipments past their promised date on ``query.on``, as
        :func:`~salesorders.domain.logistics_queries.select_late_shipments` answers it."""
        ...

    def lead_times(self, query: LeadTimeQuery) -> Page[LeadTime]:
        """One page of the lead times of the orders placed in ``query``'s window, as
        :func:`~salesorders.domain.logistics_queries.select_lead_times` answers it."""
        ...


class OrderAnalytics(Protocol):
    """Aggregates over the stored orders (``OrderRepository.analytics``, optional).

    Contract: each method answers exactly as :class:`salesorders.analytics.ReferenceAnalytics`
    does over the orders (and the stock ledger) as last stored, read in the caller's unit of
    work. The SQL stores aggregate in the database; a repository without ``analytics`` is
    answered by the reference over every order it lists.
    """

    def report(self, query: ReportQuery) -> Report: ...

    def lead_time_percentiles(self, query: ReportQuery) -> LeadTimeReport: ...

    def top_skus(self, query: ReportQuery) -> tuple[TopSku, ...]: ...

    def top_customers(self, query: ReportQuery) -> tuple[TopCustomer, ...]: ...

    def bottlenecks(self, query: BottleneckQuery) -> BottleneckReport: ...

    def stock_turnover(self, query: TurnoverQuery) -> tuple[StockTurnover, ...]: ...


@attrs.frozen(slots=True)
class CarrierBooking:
    """A carrier's answer to a booking: the tracking number and a label reference."""

    tracking_number: str
    label_ref: str | None = None


class Carrier(Protocol):
    """A shipping carrier (or the host's own delivery service).

    Contract: ``name`` is how commands name the carrier. ``book`` books a shipment about to leave
    and returns its tracking number (and label reference); raising means "not booked" and the
    command changes nothing. ``cancel`` voids a booking it made when the command that asked for
    it did not commit (a later step refused, the database conflicted): the service calls it for
    every booking of a failed attempt, so no booking outlives a shipment that was not recorded;
    a retried attempt books again. ``status_of`` translates one of the carrier's own status codes
    into a :class:`~salesorders.domain.fulfilment.ShipmentStatus`, raising
    :class:`~salesorders.errors.ValidationError` (field ``carrier_code``) for a code it does not
    know. None of them may change the caller's unit of work.
    """

    @property
    def name(self) -> str: ...

    def book(self, shipment: Shipment) -> CarrierBooking: ...

    def cancel(self, shipment: Shipment, booking: CarrierBooking) -> None: ...

    def status_of(self, code: str) -> ShipmentStatus: ...


@attrs.frozen(slots=True)
class GatewayTransaction:
    """One answer of a payment gateway: ``kind`` is ``authorize``, ``capture``, ``void`` or
    ``refund``; ``gateway_id`` is the authorisation's id at the gateway (for an authorisation,
    its ``transaction_id`` too); ``amount`` what it moved (for a void, what it released)."""

    kind: str
    order_id: str
    gateway_id: str
    transaction_id: str
    amount: Money
    idempotency_key: str


class PaymentGateway(Protocol):
    """A card payment gateway (``bootstrap(payment_gateway=...)``).

    Contract: each call carries ``idempotency_key``. A call repeated with a key already answered
    is answered again with the same :class:`GatewayTransaction` and moves no money: the service
    derives the keys from the command's idempotency key (or from the order's state), so a retried
    command — after a timeout, or after its database attempt rolled back — never charges twice.
    ``authorize`` holds ``amount`` on the customer's card for ``order_id``; ``capture`` takes part
    or all of what an authorisation holds (several captures may follow each other); ``void``
    releases what it still holds; ``refund`` gives back part or all of what was captured. A
    refusal raises :class:`~salesorders.errors.PaymentDeclinedError` (or another
    :class:`~salesorders.errors.PaymentGatewayError`) and moves nothing; a timeout raises
    :class:`~salesorders.errors.OperationalError` (the service retries the command with the same
    keys). ``transactions(order_id)`` lists every transaction made for the order, oldest first:
    the reconciliation query compares it with what the order recorded. None of them may change
    the caller's unit of work.
    """

    def authorize(
        self, order_id: str, amount: Money, *, reference: str, idempotency_key: str
    ) -> GatewayTransaction: ...

    def capture(
        self, gateway_id: str, amount: Money, *, idempotency_key: str
    ) -> GatewayTransaction: ...

    def void(self, gateway_id: str, *, idempotency_key: str) -> GatewayTransaction: ...

    def refund(
        self, gateway_id: str, amount: Money, *, idempotency_key: str
    ) -> GatewayTransaction: ...

    def transactions(self, order_id: str) -> Sequence[GatewayTransaction]: ...


class TrackingNumbers(Protocol):
    """Checks shipments' tracking numbers (optional, ``bootstrap(tracking_numbers=...)``).

    Contract: ``check(carrier, number)`` returns ``number`` as it should be stored — normalised
    as the carrier writes it (spaces removed, upper-cased, say) — or raises
    :class:`~salesorders.errors.ValidationError` with field ``tracking_number`` saying what is
    wrong and what to do. ``carrier`` is the shipment's carrier name as the command gives it (free
    text, possibly empty); ``number`` has passed the text checks every tracking number passes (a
    non-blank string of at most :data:`~salesorders.domain.checks.ID_MAX_LENGTH` characters), and
    the number returned must pass them too. ``ShipOrder`` checks the number it is given and each
    number a :class:`Carrier` booking returns, before it changes anything; a refusal changes
    nothing. ``check`` only reads: it must not change the caller's unit of work.
    :class:`salesorders.adapters.tracking.CourierTrackingNumbers` checks the formats and check
    digits of the major couriers.
    """

    def check(self, carrier: str, number: str) -> str: ...


class StockRepository(StockRows, Protocol):
    """Persistence of multi-warehouse stock: lock, load, apply. The rules are not here.

    Every stock operation is a pure function of :mod:`salesorders.domain.stock` that takes the
    rows a command locked and returns a :class:`~salesorders.domain.stock.StockChange`; the
    service (:class:`~salesorders.domain.stock.StockDesk`) locks, runs the operation and applies
    the change. A repository never re-implements a rule.

    Contract:

    * ``quantity_places``: the decimal places a stock quantity may have in this store.
    * ``lock(keys)`` returns fresh copies of the stored items of ``keys`` (with their batches),
      and holds them until the unit of work ends: another unit of work locking any of them waits
      (row locks taken in (SKU, warehouse) order, so two lockers cannot deadlock). This is what
      the **no-oversell guarantee** rests on: the figures an operation computes from are the
      figures it replaces. Keys with no stored item are missing from the result, unless
      ``create`` is true: then an empty item is stored and locked first, so two first receipts
      of a new item cannot race. With ``order_id``, the result also carries that order's
      reservations, in the order they were made.
    * ``apply(change)`` stores the change as a whole in the caller's unit of work: items (their
      figures, and their levels when ``change.levels``), the batches listed, new and settled
      reservations, expected receipts added, changed or arrived, and the ledger entries appended
      in order. With ``numbered`` it returns the entries with the sequences it gave them
      (increasing, never reused); without, it returns ``()``.
    * ``snapshot(skus, on)`` is :func:`~salesorders.domain.stock.build_snapshot` over the stored
      rows of ``skus``; stores that can lock rows lock the items it reads, as ``lock`` does.
    * A reservation's id starts with its order's id and ``"/"`` (``reserve`` makes them so), so
      a store may keep an order's reservations side by side under their ids (SQLite does).
    * ``lock_incoming(id)`` returns the expected receipt (or transfer in transit) with that id,
      locked like an item, or ``None``.
    * ``reservation``, ``reservations``, ``open_reservations``, ``incoming``, ``items`` and
      ``ledger`` read what is stored (``reservation`` of an unknown id is ``None``; items by SKU
      then warehouse, the ledger oldest first).
    * ``add_warehouse`` registers a warehouse or replaces the one with the same id.
    """

    def incoming(self) -> tuple[IncomingStock, ...]: ...

    def items(self) -> tuple[StockItem, ...]: ...

    def ledger(self) -> tuple[LedgerEntry, ...]: ...


class UnitOfWork(Protocol):
    """One transaction over every repository.

    Contract: used as a context manager, once; ``commit`` makes all changes durable and visible at
    once; leaving the block without commit (or on an exception) rolls everything back — orders,
    stock, outbox messages, idempotency records and taken order numbers alike. A unit of work is
    one transaction: after ``commit`` or ``rollback`` it is finished.
    """

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def stock(self) -> StockRepository: ...

    @property
    def outbox(self) -> OutboxStore: ...

    @property
    def idempotency(self) -> IdempotencyStore: ...

    @property
    def numbers(self) -> OrderNumbers: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class Catalog(Protocol):
    """The host's product catalogue, as far as orders need it (optional, ``bootstrap(catalog=)``).

    Contract: ``products(skus)`` returns the :class:`~salesorders.domain.catalog.Product` of every
    SKU in ``skus`` the catalogue knows, keyed by SKU; a SKU missing from the result does not
    exist. It only reads; the service calls it while a command's unit of work is open, but the
    catalogue is the host's and takes no part in that transaction (a retried unit of work asks
    again). With a catalogue, the service refuses an order line whose SKU it does not know, uses
    the product's quantity precision, and prices a line without a unit price at the product's
    default price when no price list has one.
    """

    def products(self, skus: Collection[str]) -> Mapping[str, Product]: ...


class BarcodeCatalog(Protocol):
    """Which SKU a scanned barcode names (optional; see :mod:`salesorders.barcodes`).

    Contract: ``sku_for(gtin)`` takes a GTIN already checked and written with 14 digits (a
    GTIN-8, -12 or -13 padded with leading zeros, so a UPC and its EAN-13 form are one code) and
    returns the SKU it names, or ``None`` when the catalogue does not know it. It only reads.
    :class:`salesorders.barcodes.MemoryBarcodes` keeps the codes in memory.
    """

    def sku_for(self, gtin: str) -> str | None: ...


class UnitOfWorkFactory(Protocol):
    """Opens a new :class:`UnitOfWork`."""

    def __call__(self) -> UnitOfWork: ...


class Store(Protocol):
    """A store as the composition root (:func:`~salesorders.service.bootstrap`) sees it.

    Contract: ``unit_of_work()`` opens a new :class:`UnitOfWork` (so ``store.unit_of_work`` is a
    :class:`UnitOfWorkFactory`). ``use_serializer(serializer)`` makes every unit of work opened
    afterwards write and read its documents (orders, warehouses) with ``serializer``, whose
    :class:`~salesorders.domain.workflow.WorkflowRegistry` resolves the workflow each stored order
    names; a store that keeps objects rather than documents has nothing to change. ``bootstrap``
    calls it once, before the service runs a command, with the one serializer it owns.
    """

    def unit_of_work(self) -> UnitOfWork: ...

    def use_serializer(self, serializer: Serializer) -> None: ...


class ReadableStore(Store, Protocol):
    """A store with a read path: queries that do not wait for writers.

    Contract: ``read()`` opens a new read, a :class:`UnitOfWork` that only reads. Its reads are
    consistent: they see the data committed before the read began (or before its first
    statement), never a change of a unit of work still open, and they do not wait for units of
    work that write, where the store can avoid it. Every change attempted through it raises
    :class:`~salesorders.errors.ProgrammingError` and changes nothing; ``commit`` and
    ``rollback`` both just end it. :func:`~salesorders.service.bootstrap` runs the service's
    queries (``get_order``, ``list_orders`` ...) in reads when the store has ``read()``, and in
    units of work otherwise. The SQLite and PostgreSQL stores read a snapshot without the write
    lock; the memory store holds its one lock (its units of work change it in place).
    """

    def read(self) -> UnitOfWork: ...


def read_only_refusal() -> ProgrammingError:
    """The error every store raises for a change attempted through a read (``store.read()``)."""
    return ProgrammingError(
        "this is a read-only view of the store (store.read()); it changes nothing: "
        "open store.unit_of_work() to change data"
    )
