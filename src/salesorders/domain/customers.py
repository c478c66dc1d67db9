"""Customer records: who a customer is and how to reach them (:class:`Customer`), and the
membership tiers they earn by what they buy (:class:`MembershipTiers`).

A customer record holds a :class:`~salesorders.domain.contacts.CustomerContact` (name, email,
phone, locale, time zone, channels), the addresses they use, the groups they belong to, notes,
their membership tier and their loyalty points ledger. Orders name a customer by id; a record
is optional for an order, but notifications, tiers, points and anonymization read it when there
is one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Final

import attrs

from salesorders.domain.checks import aware_time, check_name, require_id, require_text
from salesorders.domain.contacts import CustomerContact
from salesorders.domain.loyalty import LoyaltyEntry, balance
from salesorders.domain.money import to_decimal
from salesorders.domain.order import Order
from salesorders.domain.order_values import Address
from salesorders.errors import ValidationError

__all__ = [
    "DEFAULT_TIER",
    "Customer",
    "CustomerNote",
    "MembershipTiers",
    "Tier",
    "TierStanding",
    "standing_of",
]

#: The tier of a customer no rule has placed yet.
DEFAULT_TIER: Final = "regular"


@attrs.frozen(slots=True)
class CustomerNote:
    """A note on a customer record; ``personal`` marks a text that names a person."""

    id: str
    at: dt.datetime
    text: str
    author: str = ""
    personal: bool = False


def _groups(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ValidationError("groups", value, "must be a list of group names, not one string")
    names = tuple(value)
    for index, name in enumerate(names):
        require_id(name, f"groups[{index}]")
    return names


def _addresses(value: Iterable[Address]) -> tuple[Address, ...]:
    found = tuple(value)
    for index, address in enumerate(found):
        if not isinstance(address, Address):
            raise ValidationError(f"addresses[{index}]", address, "must be an Address")
    return found


def _contact(instance: object, attribute: attrs.Attribute[CustomerContact], value: object) -> None:
    if not isinstance(value, CustomerContact):
        raise ValidationError("contact", value, "must be a CustomerContact")


@attrs.frozen(slots=True)
class Customer:
    """One customer's record. ``id`` is the contact's ``customer_id``; ``tier`` is their
    membership tier since ``tier_since``; ``anonymized_at`` is set once their personal data was
    replaced (see ``docs/privacy.md``); ``version`` counts the saves (optimistic concurrency)."""

    contact: CustomerContact = attrs.field(validator=_contact)
    created_at: dt.datetime
    updated_at: dt.datetime
    addresses: tuple[Address, ...] = attrs.field(default=(), converter=_addresses)
    groups: tuple[str, ...] = attrs.field(default=(), converter=_groups)
    notes: tuple[CustomerNote, ...] = ()
    tier: str = DEFAULT_TIER
    tier_since: dt.datetime | None = None
    points: tuple[LoyaltyEntry, ...] = ()
    anonymized_at: dt.datetime | None = None
    version: int = 0

    @property
    def id(self) -> str:
        return self.contact.customer_id

    @property
    def points_balance(self) -> int:
        """The loyalty points the customer holds: the sum of their ledger's entries."""
        return balance(self.points)

    def with_entries(self, entries: Iterable[LoyaltyEntry], at: dt.datetime) -> Customer:
        """The record with ``entries`` added to its points ledger."""
        added = tuple(entries)
        if not added:
            return self
        return attrs.evolve(
            self, points=(*self.points, *added), updated_at=max(self.updated_at, at)
        )

    @classmethod
    def register(
        cls,
        contact: CustomerContact,
        at: dt.datetime,
        *,
        addresses: Iterable[Address] = (),
        groups: Iterable[str] = (),
    ) -> Customer:
        """A new record, created at ``at``."""
        at = aware_time(at, "at")
        return cls(contact, at, at, addresses=tuple(addresses), groups=tuple(groups))

    def updated(
        self,
        at: dt.datetime,
        *,
        contact: CustomerContact | None = None,
        addresses: Iterable[Address] | None = None,
        groups: Iterable[str] | None = None,
    ) -> Customer:
        """The record with the fields given replaced (the contact keeps the customer's id)."""
        at = aware_time(at, "at")
        if contact is not None and contact.customer_id != self.id:
            raise ValidationError(
                "contact.customer_id", contact.customer_id, f"must be {self.id}, this customer"
            )
        return attrs.evolve(
            self,
            contact=self.contact if contact is None else contact,
            addresses=self.addresses if addresses is None else tuple(addresses),
            groups=self.groups if groups is None else tuple(groups),
            updated_at=max(self.updated_at, at),
        )

    def with_note(
        self, text: str, at: dt.datetime, *, author: str = "", personal: bool = False
    ) -> Customer:
        """The record with a note added (``C1``, ``C2`` … by order of adding)."""
        require_text(text, "text", blank_ok=False)
        check_name(author, "author")
        if not isinstance(personal, bool):
            raise ValidationError("personal", personal, "must be True or False")
        at = aware_time(at, "at")
        note = CustomerNote(f"C{len(self.notes) + 1}", at, text, author, personal)
        return attrs.evolve(self, notes=(*self.notes, note), updated_at=max(self.updated_at, at))

    def with_tier(self, tier: str, at: dt.datetime) -> Customer:
        """The record in ``tier`` since ``at`` (unchanged if it is already there)."""
        if tier == self.tier:
            return self
        return attrs.evolve(self, tier=tier, tier_since=at, updated_at=max(self.updated_at, at))


def _non_negative(value: object, field: str) -> Decimal:
    amount = to_decimal(value, field)
    if amount < 0:
        raise ValidationError(field, value, "must not be negative")
    return amount


def _min_spend(value: object) -> Decimal:
    return _non_negative(value, "min_spend")


@attrs.frozen(slots=True)
class Tier:
    """A membership tier and what earns it over the rolling period: at least ``min_spend``
    (in the tiers' currency) **or** at least ``min_orders`` orders. A threshold of zero is not
    asked; a tier with both at zero is everyone's (the lowest)."""

    name: str = attrs.field(validator=lambda _, __, v: require_id(v, "name"))
    min_spend: Decimal = attrs.field(default=Decimal(0), converter=_min_spend)
    min_orders: int = 0

    def __attrs_post_init__(self) -> None:
        if isinstance(self.min_orders, bool) or not isinstance(self.min_orders, int):
            raise ValidationError("min_orders", self.min_orders, "must be an int")
        if self.min_orders < 0:
            raise ValidationError("min_orders", self.min_orders, "must not be negative")

    def earned_by(self, spend: Decimal, orders: int) -> bool:
        if self.min_spend == 0 and self.min_orders == 0:
            return True
        return (self.min_spend > 0 and spend >= self.min_spend) or (
            self.min_orders > 0 and orders >= self.min_orders
        )


@attrs.frozen(slots=True)
class TierStanding:
    """What a customer bought in the rolling period up to ``at``, and the tier it earns."""

    customer_id: str
    spend: Decimal
    orders: int
    tier: str
    at: dt.datetime


def _tiers(value: Iterable[Tier]) -> tuple[Tier, ...]:
    found = tuple(value)
    if not found:
        raise ValidationError("tiers", value, "must name at least one tier")
    names = set()
    for index, tier in enumerate(found):
        if not isinstance(tier, Tier):
            raise ValidationError(f"tiers[{index}]", tier, "must be a Tier")
        if tier.name in names:
            raise ValidationError(f"tiers[{index}].name", tier.name, "appears twice")
        names.add(tier.name)
    return found


@attrs.frozen(slots=True)
class MembershipTiers:
    """The tiers from lowest to highest, what earns each over the rolling ``period``, counted
    in ``currency`` (orders in another currency do not count).

    A customer's spend is what their orders placed in the period came to (the grand total less
    what was refunded on them); cancelled orders and drafts do not count. The highest tier
    earned is the customer's: evaluating moves them up or down (see ``EvaluateTiers``).
    ``price_groups`` (the default) prices a customer's new orders with their tier as the price
    book's customer group, unless the order names a group itself.
    """

    tiers: tuple[Tier, ...] = attrs.field(converter=_tiers)
    currency: str = attrs.field(validator=lambda _, __, v: require_id(v, "currency"))
    period: dt.timedelta = dt.timedelta(days=365)
    price_groups: bool = True

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.period, dt.timedelta) or self.period <= dt.timedelta(0):
            raise ValidationError("period", self.period, "must be a positive timedelta")

    @classmethod
    def standard(cls, currency: str) -> MembershipTiers:
        """regular; silver from 500 or 5 orders a year; gold from 2,000 or 15 orders."""
        return cls(
            (
                Tier(DEFAULT_TIER),
                Tier("silver", Decimal(500), 5),
                Tier("gold", Decimal(2000), 15),
            ),
            currency,
        )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tiers)

    def tier_for(self, spend: Decimal, orders: int) -> str:
        """The highest tier ``spend`` and ``orders`` earn (the lowest tier when none is)."""
        earned = [t.name for t in self.tiers if t.earned_by(spend, orders)]
        return earned[-1] if earned else self.tiers[0].name


def standing_of(
    customer_id: str, orders: Sequence[Order], tiers: MembershipTiers, at: dt.datetime
) -> TierStanding:
    """What ``orders`` (the customer's) earn under ``tiers`` at ``at``."""
    since = at - tiers.period
    spend, count = Decimal(0), 0
    for order in orders:
        placed = order.placed_at
        if placed is None or not (since < placed <= at) or order.state == "cancelled":
            continue
        if order.currency != tiers.currency:
            continue
        refunded = sum((p.refunded for p in order.payments), Decimal(0))
        spend += order.totals.grand_total - refunded
        count += 1
    return TierStanding(customer_id, spend, count, tiers.tier_for(spend, count), at)
