"""Hypothesis strategies for order changes: the actions a change request lists.

Re-exported from :mod:`salesorders.testing.strategies`. The actions are well formed but not
always acceptable for a given order — a line id it does not have, a quantity below what shipped,
an amount in another currency — so a test can check that every request is either previewed
exactly or refused with a typed error that changes nothing::

    @given(sst.orders(), st.lists(sst.change_actions(), min_size=1, max_size=3))
    def test_requests(order, actions): ...
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st
from moneyed import Money

from salesorders.domain.changes import ChangeAction
from salesorders.domain.pricing import Discount
from salesorders.testing.order_strategies import addresses

__all__ = ["change_actions"]

_LINE_IDS = ("L1", "L2", "L3", "L4", "L9")
_SKUS = ("SKU-A", "SKU-B", "SKU-C")


def _price(currency: str) -> st.SearchStrategy[object]:
    cents = st.integers(0, 50_000).map(lambda n: Decimal(n).scaleb(-2))
    return st.one_of(
        cents,
        cents.map(lambda d: Money(d, currency)),
        cents.map(lambda d: Money(d, "EUR" if currency != "EUR" else "USD")),
    )


def change_actions(currency: str = "USD") -> st.SearchStrategy[ChangeAction]:
    """Every kind of :class:`~salesorders.domain.changes.ChangeAction`, for orders in
    ``currency`` with lines ``L1`` … (some line ids unknown, some amounts in another currency,
    some quantities zero or negative)."""
    line_ids = st.sampled_from(_LINE_IDS)
    quantities = st.integers(-2, 9)
    return st.one_of(
        st.builds(ChangeAction.set_quantity, line_ids, quantities),
        st.builds(ChangeAction.remove_line, line_ids),
        st.builds(ChangeAction.add_line, st.sampled_from(_SKUS), quantities, _price(currency)),
        st.builds(
            ChangeAction.change_unit_price,
            line_ids,
            _price(currency),
            st.sampled_from(["price match", ""]),
        ),
        st.builds(
            ChangeAction.change_discounts,
            st.lists(st.integers(1, 50), max_size=2).map(
                lambda ps: [Discount.percentage(p) for p in ps]
            ),
        ),
        st.builds(ChangeAction.ship_to, addresses()),
        st.builds(ChangeAction.shipping_charge, _price(currency)),
    )
