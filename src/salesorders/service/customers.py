"""Customer records and membership tiers: the commands, their handlers, the tier-based price
group of a new order, and the stores' records as a notifications directory.

Records live in the store (``uow.customers``) on every store kind. :class:`EvaluateTiers`
moves customers up or down the service's :class:`~salesorders.domain.customers.MembershipTiers`
by what they bought over the rolling period, writing a ``CustomerTierChanged`` outbox message
(stream ``customer:<id>``) per change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import attrs

from salesorders.domain.checks import MAX_PAGE_SIZE, require_id
from salesorders.domain.contacts import CustomerContact
from salesorders.domain.customers import Customer, MembershipTiers, TierStanding, standing_of
from salesorders.domain.order import Order
from salesorders.domain.order_values import Address
from salesorders.errors import ValidationError
from salesorders.ports import OrderQuery, UnitOfWork, UnitOfWorkFactory
from salesorders.service.outbox import append_to_stream

__all__ = [
    "TIER_CHANGED_EVENT",
    "AddCustomerNote",
    "CustomerDesk",
    "CustomerFields",
    "EvaluateTiers",
    "RegisterCustomer",
    "StoreCustomerDirectory",
    "TierChange",
    "TierReview",
    "UpdateCustomer",
    "chosen_customers",
    "customers_of",
    "every_customer",
    "orders_of_customer",
]

#: The event type of the outbox message written when a customer's tier changes.
TIER_CHANGED_EVENT = "CustomerTierChanged"


@attrs.frozen(slots=True)
class CustomerFields:
    """The fields of a customer record, declared once for :class:`RegisterCustomer` and
    :class:`UpdateCustomer`: how to reach them (see
    :class:`~salesorders.notifications.CustomerContact`), their addresses and groups."""

    customer_id: str
    name: str = ""
    email: str | None = None
    phone: str | None = None
    locale: str = "en_US"
    time_zone: str = "UTC"
    channels: tuple[str, ...] = ("email",)
    opted_out: tuple[str, ...] = ()
    addresses: tuple[Address, ...] = ()
    groups: tuple[str, ...] = ()


@attrs.frozen(slots=True)
class RegisterCustomer(CustomerFields):
    """Create a customer record from the fields of :class:`CustomerFields`."""

    permission: ClassVar[str] = "customers.register"

    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class UpdateCustomer(CustomerFields):
    """Replace a customer's record with the fields of :class:`CustomerFields` (every field as
    given: send the whole record, as :class:`RegisterCustomer` does)."""

    permission: ClassVar[str] = "customers.update"

    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class AddCustomerNote:
    """Note on a customer record; ``personal`` marks a text that names a person."""

    permission: ClassVar[str] = "customers.note"

    customer_id: str
    text: str
    personal: bool = False
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class EvaluateTiers:
    """Move customers up or down the membership tiers by what they bought over the rolling
    period up to now: one customer, or every customer with a record (``customer_id=None``)."""

    permission: ClassVar[str] = "customers.tiers"

    customer_id: str | None = None
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class TierChange:
    """A customer moved from one tier to another (``upgrade``: to a higher one)."""

    customer_id: str
    from_tier: str
    to_tier: str
    upgrade: bool


@attrs.frozen(slots=True)
class TierReview:
    """What :class:`EvaluateTiers` found: every customer's standing and the changes made."""

    standings: tuple[TierStanding, ...]
    changes: tuple[TierChange, ...]

    def audit_figures(self) -> dict[str, Any]:
        return {
            "evaluated": len(self.standings),
            "changes": [[c.customer_id, c.from_tier, c.to_tier] for c in self.changes],
        }


def customers_of(uow: UnitOfWork) -> Any:
    """The store's customer records (``uow.customers``), or a clear error without them."""
    found = getattr(uow, "customers", None)
    if found is None:
        raise ValidationError(
            "customers",
            uow,
            "needs a store that keeps customer records (uow.customers)",
            "use MemoryStore, SQLiteStore or PostgresStore, or add a CustomerRepository",
        )
    return found


def orders_of_customer(uow: UnitOfWork, customer_id: str) -> list[Order]:
    """Every order of ``customer_id``, in the order the store lists them."""
    found: list[Order] = []
    after = None
    while True:
        page = uow.orders.list(
            OrderQuery(customer_id=customer_id, limit=MAX_PAGE_SIZE, after=after)
        )
        found.extend(page.orders)
        if page.next_cursor is None:
            return found
        after = page.next_cursor


def _contact(command: CustomerFields) -> CustomerContact:
    return CustomerContact(
        require_id(command.customer_id, "customer_id"),
        command.name,
        command.email,
        command.phone,
        command.locale,
        command.time_zone,
        command.channels,
        frozenset(command.opted_out),
    )


class CustomerDesk:
    """Runs the customer commands; ``tiers`` are the service's membership tiers (``None``:
    :class:`EvaluateTiers` is refused)."""

    __slots__ = ("tiers",)

    def __init__(self, tiers: MembershipTiers | None = None) -> None:
        if tiers is not None and not isinstance(tiers, MembershipTiers):
            raise ValidationError("tiers", tiers, "must be MembershipTiers or None")
        self.tiers = tiers

    def register(self, uow: UnitOfWork, command: RegisterCustomer, now: dt.datetime) -> Customer:
        record = Customer.register(
            _contact(command), now, addresses=command.addresses, groups=command.groups
        )
        if self.tiers is not None:
            record = record.with_tier(self.tiers.tiers[0].name, now)
        return customers_of(uow).add(record)  # type: ignore[no-any-return]

    def update(self, uow: UnitOfWork, command: UpdateCustomer, now: dt.datetime) -> Customer:
        records = customers_of(uow)
        record = records.get(require_id(command.customer_id, "customer_id"))
        changed = record.updated(
            now, contact=_contact(command), addresses=command.addresses, groups=command.groups
        )
        return records.save(changed)  # type: ignore[no-any-return]

    def note(self, uow: UnitOfWork, command: AddCustomerNote, now: dt.datetime) -> Customer:
        records = customers_of(uow)
        record = records.get(require_id(command.customer_id, "customer_id"))
        changed = record.with_note(
            command.text, now, author=command.actor, personal=command.personal
        )
        return records.save(changed)  # type: ignore[no-any-return]

    def evaluate(self, uow: UnitOfWork, command: EvaluateTiers, now: dt.datetime) -> TierReview:
        tiers = self.tiers
        if tiers is None:
            raise ValidationError(
                "tiers",
                None,
                "are not set: the service has no membership tiers to evaluate",
                "bootstrap with tiers=MembershipTiers(...)",
            )
        records = customers_of(uow)
        standings, changes = [], []
        rank = {name: index for index, name in enumerate(tiers.names)}
        for record in chosen_customers(records, command.customer_id):
            standing = standing_of(record.id, orders_of_customer(uow, record.id), tiers, now)
            standings.append(standing)
            if standing.tier == record.tier:
                continue
            upgrade = rank.get(standing.tier, 0) > rank.get(record.tier, -1)
            change = TierChange(record.id, record.tier, standing.tier, upgrade)
            records.save(record.with_tier(standing.tier, now))
            _publish(uow, change, standing, now)
            changes.append(change)
        return TierReview(tuple(standings), tuple(changes))

    def price_group(self, uow: UnitOfWork, customer_id: str) -> str | None:
        """The price book group of a new order of ``customer_id``: their tier, when the tiers
        price by group and the customer has a record."""
        if self.tiers is None or not self.tiers.price_groups:
            return None
        records = getattr(uow, "customers", None)
        record = None if records is None else records.find(customer_id)
        return None if record is None else str(record.tier)


def chosen_customers(records: Any, customer_id: str | None) -> Iterable[Customer]:
    """The record of ``customer_id`` (every record when ``None``), leaving out anonymized
    customers: the customer commands that work through many records (tiers, points) use it."""
    if customer_id is not None:
        chosen: Iterable[Customer] = [records.get(require_id(customer_id, "customer_id"))]
    else:
        chosen = every_customer(records)
    return (record for record in chosen if record.anonymized_at is None)


def every_customer(records: Any) -> Iterable[Customer]:
    """Every record of ``records`` (a :class:`~salesorders.ports.CustomerRepository`), by id."""
    after = None
    while batch := records.list(after=after, limit=500):
        yield from batch
        after = batch[-1].id


def _publish(uow: UnitOfWork, change: TierChange, standing: TierStanding, now: dt.datetime) -> None:
    payload = {
        "customer_id": change.customer_id,
        "from_tier": change.from_tier,
        "to_tier": change.to_tier,
        "upgrade": change.upgrade,
        "spend": str(standing.spend),
        "orders": standing.orders,
        "at": now.isoformat(),
    }
    append_to_stream(uow, f"customer:{change.customer_id}", [(TIER_CHANGED_EVENT, payload)], now)


class StoreCustomerDirectory:
    """A :class:`~salesorders.notifications.CustomerDirectory` over a store's customer records:
    the relay reads each contact from the store (``read``: the store's read factory, e.g.
    ``store.read``)."""

    __slots__ = ("_read",)

    def __init__(self, read: UnitOfWorkFactory | Callable[[], Any]) -> None:
        if not callable(read):
            raise ValidationError("read", read, "must open a unit of work, e.g. store.read")
        self._read = read

    def contact(self, customer_id: str) -> CustomerContact | None:
        with self._read() as uow:
            record = customers_of(uow).find(customer_id)
        if record is None or record.anonymized_at is not None:
            return None
        return record.contact  # type: ignore[no-any-return]
