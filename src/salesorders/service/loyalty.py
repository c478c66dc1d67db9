"""Loyalty points: :class:`AccruePoints` settles customers' ledgers with their orders (earn on
completion, reverse on refunds, restore refunded point payments, expire), :class:`RedeemPoints`
pays an order with points through the order's payments. Each entry posted writes an outbox
message on the customer's stream (``customer:<id>``): ``PointsEarned``, ``PointsReversed``,
``PointsRedeemed``, ``PointsRestored`` or ``PointsExpired``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, ClassVar

import attrs

from salesorders.domain.checks import require_id
from salesorders.domain.customers import Customer
from salesorders.domain.loyalty import LoyaltyEntry, LoyaltyProgram, settlement
from salesorders.domain.order import Order
from salesorders.errors import ValidationError
from salesorders.ports import UnitOfWork
from salesorders.service.customers import chosen_customers, customers_of, orders_of_customer
from salesorders.service.outbox import append_to_stream
from salesorders.service.results import OrderResult

__all__ = [
    "POINTS_EVENTS",
    "AccruePoints",
    "LoyaltyDesk",
    "PointsPosted",
    "PointsReview",
    "RedeemPoints",
]

#: The outbox event type of each kind of entry.
POINTS_EVENTS = {
    "earn": "PointsEarned",
    "reverse": "PointsReversed",
    "redeem": "PointsRedeemed",
    "restore": "PointsRestored",
    "expire": "PointsExpired",
}


@attrs.frozen(slots=True)
class AccruePoints:
    """Settle the points ledger of one customer (or of every customer with a record) with their
    orders now: completed orders earn, refunds take back their share, refunded point payments
    give points back, old points expire. Running it twice posts nothing the second time."""

    permission: ClassVar[str] = "customers.points"

    customer_id: str | None = None
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class RedeemPoints:
    """Pay ``points`` of the order's customer towards the order: a ``loyalty_points`` payment
    of their value, captured at once, at most the balance due."""

    permission: ClassVar[str] = "customers.redeem"

    order_id: str
    points: int
    payment_id: str | None = None
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class PointsPosted:
    """An entry posted to a customer's ledger, and the balance after it."""

    customer_id: str
    entry: LoyaltyEntry
    balance: int


@attrs.frozen(slots=True)
class PointsReview:
    """What :class:`AccruePoints` posted."""

    posted: tuple[PointsPosted, ...]

    def audit_figures(self) -> dict[str, Any]:
        return {
            "posted": [[p.customer_id, p.entry.kind, p.entry.points] for p in self.posted],
        }


class LoyaltyDesk:
    """Runs the points commands under ``program`` (``None``: they are refused)."""

    __slots__ = ("_published", "program")

    def __init__(
        self,
        program: LoyaltyProgram | None,
        published: Callable[[UnitOfWork, Order], OrderResult],
    ) -> None:
        if program is not None and not isinstance(program, LoyaltyProgram):
            raise ValidationError("loyalty", program, "must be a LoyaltyProgram or None")
        self.program = program
        self._published = published

    def _program(self) -> LoyaltyProgram:
        if self.program is None:
            raise ValidationError(
                "loyalty",
                None,
                "is not set: the service runs no loyalty program",
                "bootstrap with loyalty=LoyaltyProgram(currency=...)",
            )
        return self.program

    def accrue(self, uow: UnitOfWork, command: AccruePoints, now: dt.datetime) -> PointsReview:
        program = self._program()
        records = customers_of(uow)
        posted: list[PointsPosted] = []
        for record in chosen_customers(records, command.customer_id):
            orders = orders_of_customer(uow, record.id)
            entries = settlement(record.points, orders, program, now)
            if entries:
                changed = record.with_entries(entries, now)
                records.save(changed)
                posted.extend(_post(uow, changed, entries, now))
        return PointsReview(tuple(posted))

    def redeem(self, uow: UnitOfWork, command: RedeemPoints, now: dt.datetime) -> OrderResult:
        program = self._program()
        points = command.points
        if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
            raise ValidationError("points", points, "must be a whole number of points above 0")
        order = uow.orders.get(require_id(command.order_id, "order_id"))
        if order.currency != program.currency:
            raise ValidationError(
                "order_id",
                order.id,
                f"is in {order.currency}; points pay orders in {program.currency} only",
            )
        records = customers_of(uow)
        record = records.get(order.customer_id)
        held = record.points_balance
        if points > held:
            raise ValidationError(
                "points", points, f"is more than the {held} points customer {record.id} holds"
            )
        entry_id = f"P{len(record.points) + 1}"
        payment_id = command.payment_id or f"LP-{entry_id}"
        order.redeem_points(
            payment_id, program.value_of(points), now, reference=entry_id, actor=command.actor
        )
        entry = LoyaltyEntry(entry_id, "redeem", -points, now, order.id, payment_id)
        changed = record.with_entries([entry], now)
        records.save(changed)
        _post(uow, changed, [entry], now)
        uow.orders.save(order)
        return self._published(uow, order)


def _post(
    uow: UnitOfWork, record: Customer, entries: list[LoyaltyEntry], now: dt.datetime
) -> list[PointsPosted]:
    running = record.points_balance - sum(e.points for e in entries)
    messages, posted = [], []
    for entry in entries:
        running += entry.points
        payload = {
            "customer_id": record.id, "entry_id": entry.id, "kind": entry.kind,
            "points": entry.points, "balance": running, "order_id": entry.order_id,
            "payment_id": entry.payment_id, "at": now.isoformat(),
        }  # fmt: skip
        messages.append((POINTS_EVENTS[entry.kind], payload))
        posted.append(PointsPosted(record.id, entry, running))
    append_to_stream(uow, f"customer:{record.id}", messages, now)
    return posted
