"""Everything that waits for a reviewer, in one list: manual payments, order changes and returns.

Each kind keeps its own query with its full record (``payments_awaiting_review``,
``changes_awaiting_review``, ``returns_awaiting_review``); this one answers "what is on my desk",
oldest request first, optionally of one kind. Whether a record awaits review is the record's own
rule (its ``awaiting_review``); this module only gathers them.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterator

import attrs
from moneyed import Money

from salesorders.domain.checks import page_limit
from salesorders.domain.order import Order
from salesorders.errors import ValidationError
from salesorders.ports import UnitOfWork
from salesorders.service.payments import orders_oldest_first

__all__ = ["ReviewItem", "ReviewKind", "items_awaiting_review", "review_kind"]


class ReviewKind(enum.Enum):
    """What a reviewer decides on."""

    PAYMENT = "payment"
    CHANGE = "change"
    RETURN = "return"


@attrs.frozen(slots=True)
class ReviewItem:
    """One request waiting for a reviewer.

    ``item_id`` names it on its order (``P1``, ``C1``, ``R1``); ``requested_by`` and
    ``requested_at`` say who asked and when. ``amount`` is the money at stake, exact in the
    order's currency: a payment's recorded amount, a change's difference to the grand total
    (negative when the order gets cheaper), a return's estimated refund. The decision commands
    are ``ApprovePayment``/``RejectPayment``, ``ApproveChange``/``DeclineChange`` and
    ``ApproveReturn``/``RejectReturn``.
    """

    kind: ReviewKind
    order_id: str
    number: str | None
    item_id: str
    requested_by: str
    requested_at: dt.datetime
    amount: Money


def review_kind(kind: object) -> ReviewKind | None:
    """``kind`` as a :class:`ReviewKind` (its value as text is accepted); ``None`` for all."""
    if kind is None or isinstance(kind, ReviewKind):
        return kind
    for member in ReviewKind:
        if kind == member.value:
            return member
    raise ValidationError(
        "kind",
        kind,
        "is not a kind of review",
        "use one of " + ", ".join(m.value for m in ReviewKind) + ", or leave it out for all",
    )


def items_awaiting_review(
    uow: UnitOfWork, kind: ReviewKind | None, limit: int
) -> tuple[ReviewItem, ...]:
    """What waits for review (of ``kind``, or every kind), oldest request first, at most
    ``limit``."""
    page_limit(limit)
    found = [
        item
        for order in orders_oldest_first(uow)
        for item in _waiting(order)
        if kind is None or item.kind is kind
    ]
    found.sort(key=lambda i: (i.requested_at, i.order_id, i.kind.value, i.item_id))
    return tuple(found[:limit])


def _waiting(order: Order) -> Iterator[ReviewItem]:
    currency = order.currency
    for payment in order.payments:
        if payment.awaiting_review:
            yield ReviewItem(
                ReviewKind.PAYMENT,
                order.id,
                order.number,
                payment.id,
                payment.recorded_by,
                payment.created_at,
                Money(payment.amount, currency),
            )
    for change in order.changes:
        if change.awaiting_review:
            yield ReviewItem(
                ReviewKind.CHANGE,
                order.id,
                order.number,
                change.id,
                change.requested_by,
                change.requested_at,
                change.preview.difference,
            )
    for order_return in order.returns:
        if order_return.awaiting_review:
            yield ReviewItem(
                ReviewKind.RETURN,
                order.id,
                order.number,
                order_return.id,
                order_return.requested_by,
                order_return.requested_at,
                Money(order_return.estimate, currency),
            )
