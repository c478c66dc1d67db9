"""Commands: what a caller asks the service to do. Immutable values, validated by the handlers.

Every command carries ``idempotency_key`` (``None``: no idempotency) and ``actor`` (who asks; it is
written to the order's audit trail and the stock ledger). A command is plain data: it can be
serialized, and its canonical form (without the key) is the idempotency fingerprint.

Before a handler runs, :func:`check_texts` refuses a command whose ids, actor or reason no store
could hold (see :mod:`salesorders.domain.checks`), naming the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import ClassVar

import attrs
from moneyed import Money

from salesorders.domain.checks import check_name, check_text, require_id
from salesorders.domain.money import check_currency
from salesorders.domain.order import Address, LineSpec
from salesorders.domain.pricing import Discount, PricingPolicy, TaxComponent
from salesorders.domain.snapshot import IncomingStock
from salesorders.domain.warehouse import Warehouse
from salesorders.service.idempotency import check_key

__all__ = [
    "AdjustStock",
    "AllocateBackorders",
    "CancelLine",
    "CancelLines",
    "CancelOrder",
    "Command",
    "CompleteOrder",
    "ConfirmOrder",
    "CreateDraft",
    "DeliverOrder",
    "ExpectStock",
    "HoldOrder",
    "LineSpec",
    "NewOrder",
    "PlaceDraft",
    "PlaceOrder",
    "PromiseDelivery",
    "ReceiveExpected",
    "ReceiveStock",
    "RecordShipmentEvent",
    "RegisterWarehouse",
    "ResumeOrder",
    "SetStockLevels",
    "ShipLine",
    "ShipOrder",
    "TransferStock",
    "TransitionOrder",
    "WriteOffStock",
    "check_texts",
]


@attrs.frozen(slots=True)
class NewOrder:
    """The fields of a new order, declared once for :class:`CreateDraft` and :class:`PlaceOrder`
    (not a command itself).

    ``order_id`` defaults to a new id: a version 7 UUID (RFC 9562) as 32 hex digits, which
    starts with the time it was made, so ids made later sort later. ``exchange_rate_base``: unit
    prices and price-book quotes in that currency are converted into ``currency`` at the rate of
    the exchange-rate source, frozen on the order. ``workflow`` names a workflow given to
    ``bootstrap`` (its latest version); ``None`` is the default workflow.
    """

    customer_id: str
    currency: str
    lines: tuple[LineSpec, ...] = ()
    order_id: str | None = None
    customer_group: str | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    discounts: tuple[Discount, ...] = ()
    shipping: Money | None = None
    shipping_taxes: tuple[TaxComponent, ...] = ()
    exchange_rate_base: str | None = None
    pricing: PricingPolicy | None = None
    workflow: str | None = None


@attrs.frozen(slots=True)
class CreateDraft(NewOrder):
    """Create a draft order (a quotation), priced, not yet numbered: the fields of
    :class:`NewOrder`. Place it later with :class:`PlaceDraft`."""

    permission: ClassVar[str] = "orders.create"

    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class PlaceOrder(NewOrder):
    """Create an order from the fields of :class:`NewOrder` and place it, in one unit of work.

    With ``confirm=True`` it is also allocated, reserved and confirmed in that same unit of work
    (``all_or_nothing``: a shortage refuses the order instead of backordering).
    """

    permission: ClassVar[str] = "orders.place"

    confirm: bool = False
    all_or_nothing: bool = False
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class PlaceDraft:
    """Place an existing draft, taking the next order number; with ``confirm=True`` also
    allocate, reserve and confirm it in the same unit of work, as :class:`PlaceOrder` does."""

    permission: ClassVar[str] = "orders.place"

    order_id: str
    confirm: bool = False
    all_or_nothing: bool = False
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class ConfirmOrder:
    """Allocate stock with the service's policy, reserve it, and confirm the order.

    Partial allocation backorders the rest; with ``all_or_nothing`` a shortage raises
    :class:`~salesorders.errors.InsufficientStockError` naming every SKU short, and nothing changes.
    """

    permission: ClassVar[str] = "orders.confirm"

    order_id: str
    all_or_nothing: bool = False
    reason: str = ""
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class CancelOrder:
    """Cancel the order and release every reservation it holds."""

    permission: ClassVar[str] = "orders.cancel"

    order_id: str
    reason: str
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class HoldOrder:
    """Put the order on hold; it resumes to the state it was held from."""

    permission: ClassVar[str] = "orders.hold"

    order_id: str
    reason: str
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class ResumeOrder:
    """Take the order off hold."""

    permission: ClassVar[str] = "orders.hold"

    order_id: str
    reason: str = ""
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class ReceiveStock:
    """Receive ``quantity`` of ``sku`` into ``warehouse_id`` (a RECEIPT ledger entry).

    With ``batch_id`` the stock goes into that batch (created if new), with its ``expiry``.
    """

    permission: ClassVar[str] = "stock.receive"

    sku: str
    warehouse_id: str
    quantity: Decimal | int | str
    reason: str = ""
    batch_id: str | None = None
    expiry: dt.date | None = None
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class ReceiveExpected:
    """An expected receipt (see :class:`ExpectStock`) or a transfer in transit arrives.

    All of it unless ``quantity`` says otherwise; a partial receipt leaves the rest expected.
    ``batch_id`` and ``expiry`` override the batch the receipt was expected with (not allowed for
    a transfer, whose batch travels with it).
    """

    permission: ClassVar[str] = "stock.receive"

    incoming_id: str
    quantity: Decimal | int | str | None = None
    batch_id: str | None = None
    expiry: dt.date | None = None
    reason: str = ""
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class AdjustStock:
    """A stock count: ``counted`` becomes the on-hand figure (of the batch, with ``batch_id``).

    A count below what is reserved is refused, unless ``release_excess`` says to release the
    newest reservations that the count no longer covers.
    """

    permission: ClassVar[str] = "stock.adjust"

    sku: str
    warehouse_id: str
    counted: Decimal | int | str
    reason: str
    batch_id: str | None = None
    release_excess: bool = False
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class WriteOffStock:
    """Remove damaged, lost or expired stock (unreserved stock only), with a reason."""

    permission: ClassVar[str] = "stock.write_off"

    sku: str
    warehouse_id: str
    quantity: Decimal | int | str
    reason: str
    batch_id: str | None = None
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class TransferStock:
    """Move unreserved stock between warehouses; a batch keeps its id and expiry.

    The stock leaves ``from_warehouse`` at once and is in transit, expected at ``to_warehouse``
    under ``transfer_id`` (due on ``eta``, default today), until :class:`ReceiveExpected` takes it
    in. ``in_transit=False`` moves it in one step.
    """

    permission: ClassVar[str] = "stock.transfer"

    sku: str
    from_warehouse: str
    to_warehouse: str
    quantity: Decimal | int | str
    transfer_id: str
    batch_id: str | None = None
    eta: dt.date | None = None
    in_transit: bool = True
    reason: str = ""
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class RegisterWarehouse:
    """Register a warehouse, or replace the one with the same id."""

    permission: ClassVar[str] = "stock.warehouses"

    warehouse: Warehouse
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class SetStockLevels:
    """Set safety stock, reorder point and reorder quantity of a SKU in a warehouse."""

    permission: ClassVar[str] = "stock.levels"

    sku: str
    warehouse_id: str
    safety_stock: Decimal | int | str | None = None
    reorder_point: Decimal | int | str | None = None
    reorder_quantity: Decimal | int | str | None = None
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class ExpectStock:
    """Record stock expected to arrive (it feeds backorder dates)."""

    permission: ClassVar[str] = "stock.expect"

    incoming: IncomingStock
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class AllocateBackorders:
    """Allocate stock that arrived to lines waiting for it, oldest placement first.

    ``sku`` limits it to one SKU; ``limit`` bounds how many waiting orders one command looks at.
    """

    permission: ClassVar[str] = "stock.allocate"

    sku: str | None = None
    limit: int = 1000
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class ShipLine:
    """``quantity`` of order line ``line_id`` to ship (``None``: all of it still to ship)."""

    line_id: str
    quantity: Decimal | int | str | None = None


@attrs.frozen(slots=True)
class ShipOrder:
    """Ship the order, or the given quantities of the given lines, from where they are reserved.

    One shipment per warehouse the goods come from. With a ``carrier`` the service knows (see
    ``bootstrap(carriers=...)``) and no ``tracking_number``, the carrier books each shipment and
    gives its tracking number and label. With ``bootstrap(tracking_numbers=...)``, every tracking
    number (given or booked) is checked, and stored as the check normalises it.
    """

    permission: ClassVar[str] = "shipments.ship"

    order_id: str
    lines: tuple[ShipLine, ...] = ()
    carrier: str = ""
    service_level: str = ""
    tracking_number: str | None = None
    reason: str = ""
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class RecordShipmentEvent:
    """A shipment's tracking report: a status (or the carrier's own ``carrier_code``), when,
    where. The last shipment reported delivered delivers the order."""

    permission: ClassVar[str] = "logistics.track"

    order_id: str
    shipment_id: str
    status: str | None = None
    carrier_code: str | None = None
    occurred_at: dt.datetime | None = None
    location: str = ""
    note: str = ""
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class DeliverOrder:
    """The order was delivered: shipments not yet reported delivered are recorded delivered."""

    permission: ClassVar[str] = "logistics.deliver"

    order_id: str
    reason: str = ""
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class CompleteOrder:
    """Close a delivered order."""

    permission: ClassVar[str] = "orders.complete"

    order_id: str
    reason: str = ""
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class TransitionOrder:
    """Fire any event the order's workflow defines (an approval step, say), running the effects
    the workflow binds to it: ``reserve`` (``all_or_nothing`` as for ConfirmOrder), ``release``,
    ``consume``. ``place`` has its own command (it numbers the order)."""

    permission: ClassVar[str] = "orders.transition"

    order_id: str
    event: str
    reason: str = ""
    all_or_nothing: bool = False
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class PromiseDelivery:
    """Promise the customer delivery by ``promised_date`` (``None`` withdraws the promise).
    Shipments made afterwards carry it and say whether they arrived on time; the logistics
    listings find the late ones."""

    permission: ClassVar[str] = "logistics.promise"

    order_id: str
    promised_date: dt.date | None
    reason: str = ""
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class CancelLine:
    """``quantity`` of order line ``line_id`` to cancel (``None``: all of it not yet shipped)."""

    line_id: str
    quantity: Decimal | int | str | None = None


@attrs.frozen(slots=True)
class CancelLines:
    """Cancel quantities of lines that have not shipped (a short ship), saying why.

    What was reserved for them is released, the order is repriced at the agreed unit prices,
    and an ``OrderLinesCancelled`` event says what the customer no longer owes. When every line's
    rest has shipped, the order takes its shipping transition.
    """

    permission: ClassVar[str] = "orders.cancel_lines"

    order_id: str
    lines: tuple[CancelLine, ...]
    reason: str
    idempotency_key: str | None = None
    actor: str = ""


Command = (
    CreateDraft
    | PlaceOrder
    | PlaceDraft
    | ConfirmOrder
    | CancelOrder
    | HoldOrder
    | ResumeOrder
    | ReceiveStock
    | RegisterWarehouse
    | SetStockLevels
    | ExpectStock
    | ReceiveExpected
    | AdjustStock
    | WriteOffStock
    | TransferStock
    | AllocateBackorders
    | ShipOrder
    | RecordShipmentEvent
    | DeliverOrder
    | CompleteOrder
    | TransitionOrder
    | CancelLines
    | PromiseDelivery
)


def _key(value: object, field: str) -> str:
    return check_key(value, field)


# The texts commands carry at their top level, by field name, and how each is checked; values
# inside (lines, addresses, warehouses, incoming stock) check themselves when they are built.
_TEXT_FIELDS: tuple[tuple[str, Callable[[object, str], object]], ...] = (
    ("order_id", require_id),
    ("customer_id", require_id),
    ("customer_group", require_id),
    ("sku", require_id),
    ("warehouse_id", require_id),
    ("workflow", require_id),
    ("shipment_id", require_id),
    ("event", require_id),
    ("carrier", check_name),
    ("service_level", check_name),
    ("tracking_number", require_id),
    ("carrier_code", require_id),
    ("location", check_name),
    ("note", check_text),
    ("currency", check_currency),
    ("exchange_rate_base", check_currency),
    ("actor", check_name),
    ("reason", check_text),
    ("idempotency_key", _key),
)


#: The text fields each command class can have, found once per class. Only a class whose
#: instances have no ``__dict__`` (slotted, as every command is) is narrowed: the instances of
#: another may gain attributes, so they are asked for every field.
_TEXTS_OF: dict[type, tuple[tuple[str, Callable[[object, str], object]], ...]] = {}


def _texts_of(cls: type) -> tuple[tuple[str, Callable[[object, str], object]], ...]:
    found = _TEXTS_OF.get(cls)
    if found is None:
        if cls.__dictoffset__ == 0:
            found = tuple(pair for pair in _TEXT_FIELDS if hasattr(cls, pair[0]))
        else:
            found = _TEXT_FIELDS
        _TEXTS_OF[cls] = found
    return found


def check_texts(command: object) -> None:
    """Refuse a command whose ids, codes, actor, reason or idempotency key no store could hold,
    with a :class:`~salesorders.errors.ValidationError` naming the field (``None`` is left to the
    handler)."""
    for field, check in _texts_of(command.__class__):
        value = getattr(command, field, None)
        if value is not None:
            check(value, field)
