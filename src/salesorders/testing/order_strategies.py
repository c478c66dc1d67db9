"""Hypothesis strategies for addresses, order lines and whole orders.

Re-exported from :mod:`salesorders.testing.strategies`; use them from there::

    from salesorders.testing import strategies as sst

    @given(sst.orders())
    def test_totals_identity(order):
        assert order.totals.net_total + order.totals.tax_total == order.totals.grand_total
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import strategies as st

from salesorders.domain.money import currency_exponent
from salesorders.domain.order import Address, Order
from salesorders.domain.pricing import Discount, DiscountKind, PricingPolicy, TaxComponent
from salesorders.domain.workflow import Workflow

__all__ = ["addresses", "draft_orders", "line_specs", "moments", "orders"]

_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

#: Currencies covering every ISO 4217 exponent the library must handle: 0, 2, 3 and 4.
ORDER_CURRENCIES = ("JPY", "USD", "EUR", "CNY", "KWD", "BHD", "CLF")


def moments(start: dt.datetime = _EPOCH) -> st.SearchStrategy[dt.datetime]:
    """Timezone-aware instants within a year after ``start``."""
    return st.integers(0, 365 * 24 * 3600).map(lambda s: start + dt.timedelta(seconds=s))


def addresses() -> st.SearchStrategy[Address]:
    """Valid postal addresses with a region used by allocation."""
    text = st.text("abcdefghijklmnopqrstuvwxyz ", min_size=1, max_size=12).filter(str.strip)
    return st.builds(
        Address,
        name=text,
        line1=text,
        city=text,
        country=st.sampled_from(["US", "CN", "DE", "JP", "KW"]),
        region=st.sampled_from(["", "US-West", "CN-East", "EU-Central"]),
    )


def _amounts(currency: str, max_units: int = 10_000) -> st.SearchStrategy[Decimal]:
    exponent = currency_exponent(currency)
    return st.integers(0, max_units * 10**exponent).map(lambda n: Decimal(n).scaleb(-exponent))


def _discounts(currency: str) -> st.SearchStrategy[Discount]:
    exponent = currency_exponent(currency)
    percentage = st.integers(1, 100).map(lambda p: Discount(DiscountKind.PERCENTAGE, Decimal(p)))
    fixed = st.integers(1, 500 * 10**exponent).map(
        lambda n: Discount(DiscountKind.FIXED, Decimal(n).scaleb(-exponent))
    )
    return st.one_of(percentage, fixed)


def _taxes() -> st.SearchStrategy[tuple[TaxComponent, ...]]:
    rate = st.sampled_from(["0", "0.05", "0.07", "0.08", "0.1", "0.13", "0.19", "0.2", "0.0725"])
    component = st.builds(
        TaxComponent, name=st.sampled_from(["VAT", "GST", "state", "city"]), rate=rate.map(Decimal)
    )
    return st.lists(component, max_size=2, unique_by=lambda c: c.name).map(tuple)


@st.composite
def line_specs(draw: st.DrawFn, currency: str = "USD") -> dict[str, object]:
    """Keyword arguments for :meth:`Order.add_line` in ``currency``."""
    precision = draw(st.sampled_from([0, 0, 0, 3]))
    if precision:
        quantity = Decimal(draw(st.integers(1, 50_000))).scaleb(-precision)
    else:
        quantity = Decimal(draw(st.integers(1, 100)))
    return {
        "sku": draw(st.sampled_from(["SKU-A", "SKU-B", "SKU-C", "SKU-D", "SKU-E"])),
        "quantity": quantity,
        "quantity_precision": precision,
        "unit_price": draw(_amounts(currency, 2_000)),
        "discounts": tuple(draw(st.lists(_discounts(currency), max_size=2))),
        "taxes": draw(_taxes()),
    }


@st.composite
def draft_orders(
    draw: st.DrawFn,
    currency: str | None = None,
    workflow: Workflow | None = None,
    max_lines: int = 5,
) -> Order:
    """Draft orders with 0..``max_lines`` priced lines, discounts and shipping in any currency."""
    code = currency or draw(st.sampled_from(ORDER_CURRENCIES))
    at = draw(moments())
    policy = draw(st.builds(PricingPolicy))
    order = Order.create(
        f"O-{draw(st.integers(1, 10**9))}",
        draw(st.sampled_from(["C-1", "C-2", "C-3"])),
        code,
        at,
        workflow=workflow,
        pricing=policy,
        shipping_address=draw(st.none() | addresses()),
    )
    for spec in draw(st.lists(line_specs(code), max_size=max_lines)):
        order.add_line(at=at, **spec)  # type: ignore[arg-type]
    for discount in draw(st.lists(_discounts(code), max_size=2)):
        order.apply_discount(discount, at)
    shipping = draw(_amounts(code, 50))
    if shipping:
        order.set_shipping(shipping, at, taxes=draw(_taxes()))
    return order


@st.composite
def orders(draw: st.DrawFn, currency: str | None = None, max_lines: int = 5) -> Order:
    """Orders with at least one line, in a random state of the default workflow."""
    order = draw(
        draft_orders(currency=currency, max_lines=max_lines).filter(lambda o: bool(o.lines))
    )
    at = order.updated_at
    path = draw(
        st.sampled_from(
            [
                (),
                ("place",),
                ("place", "confirm"),
                ("place", "hold"),
                ("place", "confirm", "ship"),
                ("place", "cancel"),
            ]
        )
    )
    for event in path:
        if event == "place":
            order.place("SO-2026-000001", at)
        else:
            order.transition(event, at)
    order.pull_events()
    return order
