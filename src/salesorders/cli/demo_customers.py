"""The demo's customers scene: the demo's customers kept as records in the store (the relay
reads their contacts from there), a membership tier earned by what Anna bought, loyalty points
earned on her completed order and taken back in proportion when part of it is refunded.

Built on the service layer only, like the rest of the command line.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs

from salesorders.cli.demo_mail import DEMO_CONTACTS
from salesorders.cli.output import Output
from salesorders.customers import (
    AccruePoints,
    EvaluateTiers,
    LoyaltyProgram,
    MembershipTiers,
    RegisterCustomer,
    Tier,
)
from salesorders.service import CompleteOrder, ManualClock, SalesService

__all__ = [
    "DEMO_LOYALTY",
    "DEMO_TIERS",
    "CustomerScene",
    "print_customers",
    "register_customers",
    "reward_order",
    "settle_after_return",
]

#: The demo shop's tiers, counted in euros over a year.
DEMO_TIERS = MembershipTiers(
    (Tier("regular"), Tier("silver", Decimal(100), 3), Tier("gold", Decimal(1000), 10)), "EUR"
)
#: One point per euro, each worth a cent.
DEMO_LOYALTY = LoyaltyProgram("EUR")


@attrs.frozen
class CustomerScene:
    """What the scene did for one customer: the tier change, and each points entry posted as
    ``(kind, points, balance after)``."""

    customer_id: str
    records: int
    tier_from: str
    tier_to: str
    spend: Decimal
    entries: tuple[tuple[str, int, int], ...]


def register_customers(service: SalesService) -> int:
    """Keep the demo's customers as records in the store; returns how many."""
    for contact in DEMO_CONTACTS:
        service.handle(
            RegisterCustomer(
                customer_id=contact.customer_id,
                name=contact.name,
                email=contact.email,
                phone=contact.phone,
                locale=contact.locale,
                time_zone=contact.time_zone,
                channels=contact.channels,
                opted_out=tuple(sorted(contact.opted_out)),
                actor="crm",
            )
        )
    return len(DEMO_CONTACTS)


def reward_order(
    service: SalesService, clock: ManualClock, order_id: str, records: int
) -> CustomerScene:
    """Complete the delivered, paid order; evaluate its customer's tier and settle their
    points."""
    clock.advance(dt.timedelta(hours=2))
    customer_id = service.get_order(order_id).customer_id
    service.handle(CompleteOrder(order_id=order_id, actor="ops"))
    review = service.handle(EvaluateTiers(customer_id=customer_id, actor="crm"))
    (standing,) = review.standings
    before = review.changes[0].from_tier if review.changes else standing.tier
    points = service.handle(AccruePoints(customer_id=customer_id, actor="crm"))
    entries = tuple((p.entry.kind, p.entry.points, p.balance) for p in points.posted)
    return CustomerScene(customer_id, records, before, standing.tier, standing.spend, entries)


def settle_after_return(service: SalesService, scene: CustomerScene) -> CustomerScene:
    """Settle the customer's points again once the return was refunded."""
    points = service.handle(AccruePoints(customer_id=scene.customer_id, actor="crm"))
    entries = tuple((p.entry.kind, p.entry.points, p.balance) for p in points.posted)
    return attrs.evolve(scene, entries=scene.entries + entries)


def print_customers(scene: CustomerScene, number: str, out: Output) -> None:
    out.heading(f"Customers, tiers and loyalty points ({scene.customer_id}, {number})")
    out.line(
        f"  {scene.records} customer records in the store; the relay reads their contacts there"
    )
    out.line(
        f"  tier: {scene.tier_from} -> {scene.tier_to} (spent EUR {scene.spend} in the last "
        "365 days)"
    )
    for kind, points, balance in scene.entries:
        what = {"earn": "earned on the completed order", "reverse": "reversed on the refund"}
        out.line(f"  points {what.get(kind, kind)}: {points:+d}, balance {balance}")
