"""The order's lines and totals priced as one document: one home for how an order is re-priced.

:meth:`Order._reprice <salesorders.domain.order.Order>` assigns what :func:`priced_order` returns;
a change request previews the same figures without touching the order.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Final

from salesorders.domain.order_values import (
    LineFields,
    OrderLine,
    Totals,
    priced_line,
    with_prices,
)
from salesorders.domain.pricing import (
    Charge,
    Discount,
    LineToPrice,
    PricedLine,
    PricingPolicy,
    price_document,
)

__all__ = ["priced_order"]

_ZERO: Final = Decimal(0)
# The amounts of a line cancelled in full.
_NOTHING_PRICED: Final = PricedLine(_ZERO, _ZERO, _ZERO, _ZERO, _ZERO, _ZERO, ())


def priced_order(
    currency: str,
    policy: PricingPolicy,
    lines: tuple[OrderLine, ...],
    order_discounts: tuple[Discount, ...],
    shipping: Charge | None,
    added: Sequence[tuple[LineFields, LineToPrice]] = (),
) -> tuple[tuple[OrderLine, ...], Totals]:
    """``lines`` (then ``added``, new lines checked by the order) priced together with the order
    discounts and shipping: the priced lines and the totals. Raises before returning anything."""
    # Lines cancelled in full are kept on the order at zero; the rest are priced together.
    open_lines = [line for line in lines if line.open_quantity]
    to_price = [
        LineToPrice(line.open_quantity, line.unit_price, line.discounts, line.taxes)
        for line in open_lines
    ]
    to_price.extend(line for _, line in added)
    document = price_document(
        currency,
        to_price,
        order_discounts=order_discounts,
        shipping=shipping,
        policy=policy,
    )
    priced = document.lines
    kept = len(open_lines)
    if kept == len(lines):
        repriced = tuple(map(with_prices, lines, priced))
    else:
        by_line = dict(zip(map(id, open_lines), priced, strict=True))
        repriced = tuple(
            with_prices(line, by_line.get(id(line), _NOTHING_PRICED)) for line in lines
        )
    totals = Totals(
        currency,
        document.subtotal,
        document.discount_total,
        document.net_total,
        document.tax_total,
        document.shipping_net,
        document.shipping_tax,
        document.grand_total,
    )
    return (*repriced, *map(priced_line, [fields for fields, _ in added], priced[kept:])), totals
