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

from salesorders.domain.fulfilment import Shipment, ShipmentStatus, ShippedLine, TrackingEvent
from salesorders.domain.money import currency_exponent
from salesorders.domain.order import Address, Order
from salesorders.domain.pricing import Discount, DiscountKind, PricingPolicy, TaxComponent
from salesorders.domain.workflow import Workflow
from salesorders.errors import ValidationError

__all__ = ["addresses", "draft_orders", "line_specs", "moments", "orders", "shipped_orders"]

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


_REPORTED = (*ShipmentStatus, ShipmentStatus.DELIVERED, ShipmentStatus.DELIVERED)
_ZONES = (dt.UTC, dt.timezone(dt.timedelta(hours=8)), dt.timezone(dt.timedelta(hours=-5)))


def _hours(draw: st.DrawFn, start: dt.datetime, most: int) -> dt.datetime:
    """``start`` plus whole hours (so instants often tie), in one of a few time zones."""
    zone = draw(st.sampled_from(_ZONES))
    return (start + dt.timedelta(hours=draw(st.integers(0, most)))).astimezone(zone)


@st.composite
def shipped_orders(draw: st.DrawFn, order_id: str | None = None) -> Order:
    """Orders of one or two lines at every step of fulfilment: drafts, placed, confirmed, then
    shipped in one or more shipments from two warehouses by several carriers, with promised
    dates and tracking reports (delivered, returned, failed ...), in several time zones.

    Instants fall on whole hours from a few days, so that orders and shipments often share one.
    Number of a placed order: ``SO-<order id>``.
    """
    oid = order_id or f"O-{draw(st.integers(1, 10**9))}"
    created = _hours(draw, _EPOCH, 48)
    order = Order.create(oid, "C-1", "USD", created)
    for sku in draw(st.lists(st.sampled_from(["SKU-A", "SKU-B"]), min_size=1, max_size=2)):
        order.add_line(sku, draw(st.integers(1, 3)), Decimal(10), created)
    steps = draw(st.integers(0, 3))  # 0 draft, 1 placed, 2 confirmed, 3 shipping
    if steps >= 1:
        order.place(f"SO-{oid}", _hours(draw, created, 3))
    if steps >= 2:
        assert order.placed_at is not None
        order.confirm(_hours(draw, order.placed_at, 5))
    if steps >= 3:
        _ship(draw, order)
    order.pull_events()
    return order


def _ship(draw: st.DrawFn, order: Order) -> None:
    at = order.updated_at
    for number in range(1, draw(st.integers(1, 3)) + 1):
        shipped = order.shipped_quantities()
        lines = []
        for line in order.lines:
            rest = int(line.quantity - shipped.get(line.line_id, Decimal(0)))
            quantity = draw(st.integers(min(rest, 1 if number == 1 else 0), rest))
            if number == 3:
                quantity = rest
            if quantity:
                lines.append(ShippedLine(line.line_id, line.sku, Decimal(quantity)))
        if not lines:
            continue
        at = _hours(draw, at, 30)
        offset = draw(st.none() | st.integers(-2, 5))
        promised = None if offset is None else at.date() + dt.timedelta(days=offset)
        shipment = Shipment(
            f"{order.id}-S{number}",
            draw(st.sampled_from(["W1", "W2"])),
            tuple(lines),
            at,
            carrier=draw(st.sampled_from(["swift", "post", ""])),
            tracking_number=draw(st.none() | st.just(f"T-{order.id}-{number}")),
            promised_date=promised,
        )
        order.add_shipment(shipment)
        reports = st.tuples(st.sampled_from(_REPORTED), st.integers(0, 72))
        for status, hours in draw(st.lists(reports, max_size=3)):
            event = TrackingEvent(status, shipment.shipped_at + dt.timedelta(hours=hours))
            try:
                order.track(shipment.id, event)
            except ValidationError:
                continue  # a report the shipment refuses (any but a return after a delivery)
        if order.state != "confirmed":
            break  # shipped in full
    if order.state == "shipped" and draw(st.booleans()):
        order.deliver(_hours(draw, at, 96))  # every shipment not reported delivered yet
