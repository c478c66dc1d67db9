"""What each measure counts of one order: the definition every store answers by.

The memory store computes its reports from these facts directly; the SQL stores write them into
columns of the order's row (and one row per line) whenever an order is stored, and aggregate
those columns. So the rules of what counts as cancelled, returned or corrected live here only.

* **cancelled**: the order was cancelled (its audit trail holds a ``cancel``).
* **backordered**: a line of it was backordered at some point (``Order.backordered_at``), or
  is waiting for backordered stock (an order stored before the library kept that time).
* **returned**: a return of it was requested and not rejected.
* **corrected** (the error rate's numerator): after placement it needed a correction — a change
  request (whatever became of it), a line cancelled in part or whole while the order went on
  (a short ship), or a return of a line for one of :data:`ERROR_REASONS`.
* **promised** / **on time**: it was delivered in full and had a promised date (the order's, or
  else the latest of its shipments'); on time when delivered (UTC date) on or before it.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

import attrs

from salesorders.domain.logistics import lead_time
from salesorders.domain.money import currency_exponent
from salesorders.domain.order import Order
from salesorders.domain.return_policy import ReturnReason
from salesorders.domain.returns import ReturnState

__all__ = [
    "BACKORDERED",
    "CANCELLED",
    "CORRECTED",
    "ERROR_REASONS",
    "ON_TIME",
    "PROMISED",
    "QUANTITY_PLACES",
    "RETURNED",
    "LineFacts",
    "OrderFacts",
    "from_scaled",
    "line_facts",
    "order_facts",
    "to_minor",
    "to_scaled",
]

#: Return reasons that mean the order was wrong: the wrong item was sent, or it was not what
#: the order described. ``defective`` and ``damaged`` are product or carrier faults, and
#: ``no_reason`` the customer's choice: they are returns, not order errors.
ERROR_REASONS: Final = frozenset({ReturnReason.WRONG_ITEM, ReturnReason.NOT_AS_DESCRIBED})

CANCELLED: Final = 1
BACKORDERED: Final = 2
RETURNED: Final = 4
CORRECTED: Final = 8
PROMISED: Final = 16
ON_TIME: Final = 32

#: Quantities are kept as whole numbers of 10**-QUANTITY_PLACES units in the line facts.
QUANTITY_PLACES: Final = 6

_ZERO: Final = Decimal(0)


def to_scaled(number: Decimal, places: int) -> int:
    """``number`` as a whole number of ``10**-places``. Amounts are whole minor units already;
    a quantity finer than a millionth (a product counted to seven places) is counted to the
    nearest millionth (half even) rather than refused: saving an order never fails here."""
    return int(number.scaleb(places).to_integral_value(ROUND_HALF_EVEN))


def from_scaled(number: int, places: int) -> Decimal:
    """A whole number of ``10**-places`` back as a ``Decimal``, without trailing zeros."""
    value = Decimal(number).scaleb(-places)
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def to_minor(amount: Decimal, currency: str) -> int:
    """``amount`` in minor units of ``currency`` (cents for USD)."""
    return to_scaled(amount, currency_exponent(currency))


@attrs.frozen(slots=True)
class OrderFacts:
    """What the measures read of one placed order (amounts in minor units of its currency).

    ``rate_base`` and ``rate`` are the rate frozen on the order (one ``rate_base`` is ``rate``
    of the order's currency), ``None`` without one.
    """

    order_id: str
    customer_id: str
    customer_group: str | None
    currency: str
    placed_at: dt.datetime
    grand_total: int
    rate_base: str | None
    rate: Decimal | None
    flags: int


@attrs.frozen(slots=True)
class LineFacts:
    """One line: its SKU, the quantity still ordered (cancellations taken off, in
    10**-:data:`QUANTITY_PLACES` units) and its net value (minor units of the order's
    currency)."""

    line_id: str
    sku: str
    quantity: int
    net: int


def _flags(order: Order) -> int:
    flags = 0
    if any(entry.event == "cancel" for entry in order.audit):
        flags |= CANCELLED
    if order.backordered_at is not None or any(line.backordered > 0 for line in order.lines):
        flags |= BACKORDERED
    returns = [r for r in order.returns if r.state is not ReturnState.REJECTED]
    if returns:
        flags |= RETURNED
    if (
        order.changes
        or (not flags & CANCELLED and any(line.cancelled > 0 for line in order.lines))
        or any(line.reason in ERROR_REASONS for r in returns for line in r.lines)
    ):
        flags |= CORRECTED
    promised = order.promised_date
    if promised is None:
        promised = max((s.promised_date for s in order.shipments if s.promised_date), default=None)
    lead = lead_time(order)
    if promised is not None and lead is not None and lead.delivered_at is not None:
        flags |= PROMISED
        if lead.delivered_at.astimezone(dt.UTC).date() <= promised:
            flags |= ON_TIME
    return flags


def order_facts(order: Order) -> OrderFacts | None:
    """The facts of ``order``; ``None`` for an order never placed (it counts nowhere)."""
    if order.placed_at is None:
        return None
    rate = order.exchange_rate
    return OrderFacts(
        order.id,
        order.customer_id,
        order.customer_group,
        order.currency,
        order.placed_at,
        to_minor(order.totals.grand_total, order.currency),
        None if rate is None else rate.base,
        None if rate is None else rate.rate,
        _flags(order),
    )


def line_facts(order: Order) -> tuple[LineFacts, ...]:
    """The facts of each line of ``order``."""
    currency = order.currency
    return tuple(
        LineFacts(
            line.line_id,
            line.sku,
            to_scaled(line.quantity - line.cancelled, QUANTITY_PLACES),
            to_minor(line.net, currency),
        )
        for line in order.lines
    )
