"""Loyalty points: a ledger per customer whose balance is the sum of its entries.

A :class:`LoyaltyProgram` says how many points a unit of money earns, what a point is worth when
redeemed, and when points expire. :func:`settlement` works out the entries that bring a
customer's ledger in line with their orders, and is safe to run any number of times:

- a **completed** order earns ``points_for(grand total)`` once (``earn``);
- a refund on it takes back the same share of those points (``reverse``), rounded so the
  reversals of one order add up to exactly what it earned once it is refunded in full;
- points redeemed as a payment (``redeem``, written when the payment is taken) come back when
  that payment is refunded (``restore``);
- points earned before ``expire_after`` and not yet spent expire (``expire``), oldest first.

Every entry keeps the order (and the payment) it is about, so the ledger explains the balance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import ROUND_FLOOR, Decimal
from typing import Final

import attrs

from salesorders.domain.checks import require_id
from salesorders.domain.money import to_decimal
from salesorders.domain.order import Order
from salesorders.domain.payments import PaymentMethod
from salesorders.errors import ValidationError

__all__ = [
    "ENTRY_KINDS",
    "LoyaltyEntry",
    "LoyaltyProgram",
    "balance",
    "settlement",
]

#: What an entry records.
ENTRY_KINDS: Final = ("earn", "reverse", "redeem", "restore", "expire")


@attrs.frozen(slots=True)
class LoyaltyEntry:
    """One movement of a customer's points: ``points`` is signed (earned and restored points
    add, reversed, redeemed and expired points subtract). ``order_id`` and ``payment_id`` say
    what it is about; ``expires_at`` is when earned points lapse."""

    id: str
    kind: str
    points: int
    at: dt.datetime
    order_id: str = ""
    payment_id: str = ""
    expires_at: dt.datetime | None = None


def balance(entries: Iterable[LoyaltyEntry]) -> int:
    """The points a ledger holds: the sum of its entries."""
    return sum(entry.points for entry in entries)


def _positive(value: object, field: str) -> Decimal:
    amount = to_decimal(value, field)
    if amount <= 0:
        raise ValidationError(field, value, "must be more than zero")
    return amount


def _points_per_unit(value: object) -> Decimal:
    return _positive(value, "points_per_unit")


def _point_value(value: object) -> Decimal:
    return _positive(value, "point_value")


@attrs.frozen(slots=True)
class LoyaltyProgram:
    """The rule: ``points_per_unit`` points per unit of ``currency`` an order comes to (rounded
    down), each point worth ``point_value`` of ``currency`` when redeemed, earned points lapsing
    ``expire_after`` after they were earned. Orders in another currency earn nothing."""

    currency: str = attrs.field(validator=lambda _, __, v: require_id(v, "currency"))
    points_per_unit: Decimal = attrs.field(default=Decimal(1), converter=_points_per_unit)
    point_value: Decimal = attrs.field(default=Decimal("0.01"), converter=_point_value)
    expire_after: dt.timedelta = dt.timedelta(days=365)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.expire_after, dt.timedelta) or self.expire_after <= dt.timedelta(0):
            raise ValidationError("expire_after", self.expire_after, "must be a positive timedelta")

    def points_for(self, amount: Decimal) -> int:
        """The points ``amount`` earns (rounded down; never negative)."""
        return max(0, int((amount * self.points_per_unit).to_integral_value(ROUND_FLOOR)))

    def value_of(self, points: int) -> Decimal:
        """What ``points`` pay, in the program's currency."""
        return points * self.point_value

    def points_paying(self, amount: Decimal) -> int:
        """The points a payment of ``amount`` takes (``amount`` must be a whole number of
        points)."""
        points = amount / self.point_value
        if points != points.to_integral_value():
            raise ValidationError(
                "points", amount, f"is not a whole number of points of {self.point_value}"
            )
        return int(points)


def _sum(entries: Iterable[LoyaltyEntry], kinds: tuple[str, ...], **about: str) -> int:
    return sum(
        e.points
        for e in entries
        if e.kind in kinds and all(getattr(e, k) == v for k, v in about.items())
    )


def _target_after_refund(earned: int, total: Decimal, refunded: Decimal) -> int:
    """What an order that earned ``earned`` keeps once ``refunded`` of ``total`` went back."""
    if total <= 0 or refunded <= 0:
        return earned
    kept = min(max(total - refunded, Decimal(0)), total)
    return int((earned * kept / total).to_integral_value(ROUND_FLOOR))


def settlement(
    entries: Sequence[LoyaltyEntry],
    orders: Sequence[Order],
    program: LoyaltyProgram,
    at: dt.datetime,
) -> list[LoyaltyEntry]:
    """The entries that bring ``entries`` (a customer's ledger) in line with ``orders`` (theirs)
    at ``at``: earn, reverse, restore, then expire. Running it again adds nothing."""
    new: list[LoyaltyEntry] = []
    counter = len(entries)

    def post(kind: str, points: int, **fields: object) -> None:
        nonlocal counter
        counter += 1
        new.append(LoyaltyEntry(f"P{counter}", kind, points, at, **fields))  # type: ignore[arg-type]

    for order in orders:
        if order.currency != program.currency:
            continue
        ledger = (*entries, *new)
        earned = _sum(ledger, ("earn",), order_id=order.id)
        if order.state == "completed" and earned == 0:
            points = program.points_for(order.totals.grand_total)
            if points > 0:
                post("earn", points, order_id=order.id, expires_at=at + program.expire_after)
                earned = points
        if earned > 0:
            refunded = sum(
                (
                    p.refunded
                    for p in order.payments
                    if p.method is not PaymentMethod.LOYALTY_POINTS
                ),
                Decimal(0),
            )
            keep = _target_after_refund(earned, order.totals.grand_total, refunded)
            kept = earned + _sum(ledger, ("reverse",), order_id=order.id)
            if keep < kept:
                post("reverse", keep - kept, order_id=order.id)
        for payment in order.payments:
            if payment.method is not PaymentMethod.LOYALTY_POINTS or payment.refunded <= 0:
                continue
            owed = int((payment.refunded / program.point_value).to_integral_value(ROUND_FLOOR))
            restored = _sum((*entries, *new), ("restore",), payment_id=payment.id)
            if owed > restored:
                post("restore", owed - restored, order_id=order.id, payment_id=payment.id)
    lapsed = _lapsed((*entries, *new), at)
    if lapsed > 0:
        post("expire", -lapsed)
    return new


def _lapsed(entries: Sequence[LoyaltyEntry], at: dt.datetime) -> int:
    """Points earned that expired by ``at`` and were not spent, taking what was spent from the
    oldest points first: earned-and-expired less everything taken out, if positive, bounded by
    the balance."""
    expired = sum(
        e.points
        for e in entries
        if e.kind == "earn" and e.expires_at is not None and e.expires_at <= at
    )
    taken = -sum(e.points for e in entries if e.points < 0)
    return max(0, min(expired - taken, balance(entries)))
