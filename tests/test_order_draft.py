"""``Order.from_draft`` builds, in one pass, exactly the draft the verbs build one at a time.

The verbs are the reference: ``Order.create``, ``use_exchange_rate``, ``add_lines``,
``apply_discount`` per discount (its errors under ``discounts[i]``) and ``set_shipping``. On
generated drafts, good and bad, both give the same order (every field, with the same ``Decimal``
text) or raise the same error (class, message, field path). Through the service, a refused
``PlaceOrder`` changes nothing on any store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moneyed import Money

from salesorders.adapters.memory import MemoryStore
from salesorders.domain.order import LineSpec, Order
from salesorders.domain.pricing import Discount, DiscountKind, ExchangeRate, TaxComponent
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import SalesOrdersError, ValidationError
from salesorders.service import PlaceOrder, ReceiveStock, RegisterWarehouse, bootstrap
from salesorders.testing import strategies as sst
from support.stores import STORE_KINDS, fresh_store
from test_service_support import line, new_order

T0 = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)


def _by_verbs(fields: dict[str, Any]) -> Order:
    """The draft as the service built it before ``from_draft``: one verb at a time."""
    at = fields["at"]
    order = Order.create(
        fields["order_id"],
        fields["customer_id"],
        fields["currency"],
        at,
        customer_group=fields["customer_group"],
        pricing=fields["pricing"],
        shipping_address=fields["shipping_address"],
    )
    if fields["exchange_rate"] is not None:
        order.use_exchange_rate(fields["exchange_rate"], at)
    order.add_lines(fields["lines"], at)
    for index, discount in enumerate(fields["discounts"]):
        try:
            order.apply_discount(discount, at)
        except ValidationError as error:
            raise error.under(f"discounts[{index}]") from error
    if fields["shipping"] is not None:
        order.set_shipping(fields["shipping"], at, taxes=fields["shipping_taxes"])
    return order


def _in_one_pass(fields: dict[str, Any]) -> Order:
    return Order.from_draft(
        fields["order_id"],
        fields["customer_id"],
        fields["currency"],
        fields["at"],
        lines=fields["lines"],
        customer_group=fields["customer_group"],
        pricing=fields["pricing"],
        shipping_address=fields["shipping_address"],
        exchange_rate=fields["exchange_rate"],
        discounts=fields["discounts"],
        shipping=fields["shipping"],
        shipping_taxes=fields["shipping_taxes"],
    )


def _outcome(build: Any, fields: dict[str, Any]) -> tuple[str, ...]:
    """What building gives: the order's full text, or the error's class, message and field."""
    try:
        order = build(fields)
    except SalesOrdersError as error:
        return (type(error).__name__, str(error), str(getattr(error, "field", "")))
    return ("built", repr(order), str(order.events), str(order.audit), str(order.workflow_ref))


_BAD_QUANTITIES = st.sampled_from([Decimal(0), Decimal(-1), Decimal("1.5"), "abc", Decimal("1e12")])
_BAD_PRICES = st.sampled_from(["-1", "1.0000001", "1e16"]).map(Decimal)


@st.composite
def _new_line(draw: st.DrawFn, currency: str, base: str | None, bad: bool) -> LineSpec:
    spec = draw(sst.line_specs(currency))
    price: Any = spec["unit_price"]
    if base is not None and draw(st.booleans()):
        price = Money(draw(st.integers(0, 10_000)), base)  # converted with the frozen rate
    quantity: Any = spec["quantity"]
    line_id = None
    if bad:
        broken = draw(st.sampled_from(["quantity", "price", "money", "id", "sku", "text", "big"]))
        if broken == "quantity":
            quantity = draw(_BAD_QUANTITIES)
        elif broken == "price":
            price = draw(_BAD_PRICES)
        elif broken == "money":
            price = Money(1, "EUR" if currency != "EUR" else "USD")
        elif broken == "id":
            line_id = "L1"  # the first line's own id: refused from the second line on
        elif broken == "sku":
            spec["sku"] = " "
        elif broken == "text":
            spec["description"] = "a\x00b"
        else:
            quantity, price = Decimal(10**8), Decimal(10**14)  # near the document limit
    return LineSpec(
        spec["sku"],  # type: ignore[arg-type]
        quantity,
        price,
        str(spec.get("description", "")),
        spec["discounts"],  # type: ignore[arg-type]
        spec["taxes"],  # type: ignore[arg-type]
        spec["quantity_precision"],  # type: ignore[arg-type]
        line_id,
    )


@st.composite
def _drafts(draw: st.DrawFn) -> dict[str, Any]:
    currency = draw(st.sampled_from(["USD", "JPY", "KWD", "EUR"]))
    bad = draw(st.integers(0, 3)) == 0  # a quarter of the drafts carry bad input somewhere
    rate = None
    if draw(st.booleans()):
        base = draw(st.sampled_from(["GBP", "CNY"]))
        factor = Decimal(draw(st.sampled_from(["1.1", "7.25", "0.9"])))
        rate = ExchangeRate(base, currency, factor, T0)
    count = draw(st.integers(0, 5))
    broken_line = draw(st.integers(0, count)) if bad else -1
    lines = [
        draw(_new_line(currency, rate.base if rate else None, index == broken_line))
        for index in range(count)
    ]
    discounts: list[Any] = list(draw(st.lists(sst.discounts(currency), max_size=3)))
    shipping: Any = None
    if draw(st.booleans()):
        shipping = draw(sst.amounts(currency, 0, 50))
    taxes = draw(st.lists(sst.tax_components(), max_size=2, unique_by=lambda t: t.name))
    if bad and broken_line == count:  # the draft's own fields
        broken = draw(st.sampled_from(["discount", "fixed", "shipping", "places", "rate", "id"]))
        if broken == "discount":
            discounts.insert(draw(st.integers(0, len(discounts))), "10%")
        elif broken == "fixed":
            discounts.append(Discount(DiscountKind.FIXED, Decimal("0.00001")))
        elif broken == "shipping":
            shipping = Decimal("-5")
        elif broken == "places":
            shipping = Decimal("1.00001")
        elif broken == "rate":
            rate = ExchangeRate("GBP", "CHF", Decimal("1.1"), T0)
        else:
            return _fields(draw, currency, lines, discounts, shipping, taxes, rate, " ")
    return _fields(draw, currency, lines, discounts, shipping, taxes, rate, "C-1")


def _fields(
    draw: st.DrawFn,
    currency: str,
    lines: list[LineSpec],
    discounts: list[Any],
    shipping: Any,
    taxes: list[TaxComponent],
    rate: ExchangeRate | None,
    customer_id: str,
) -> dict[str, Any]:
    return {
        "order_id": "O-1",
        "customer_id": customer_id,
        "currency": currency,
        "at": T0,
        "customer_group": draw(st.none() | st.just("gold")),
        "pricing": draw(st.none() | sst.pricing_policies()),
        "shipping_address": draw(st.none() | sst.addresses()),
        "exchange_rate": rate,
        "lines": lines,
        "discounts": discounts,
        "shipping": shipping,
        "shipping_taxes": tuple(taxes),
    }


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_drafts())
def test_the_one_pass_build_is_the_verb_by_verb_build(fields: dict[str, Any]) -> None:
    assert _outcome(_in_one_pass, fields) == _outcome(_by_verbs, fields)


def test_a_bad_order_discount_is_named_as_the_verbs_name_it() -> None:
    fields = {
        "order_id": "O-1",
        "customer_id": "C-1",
        "currency": "USD",
        "at": T0,
        "customer_group": None,
        "pricing": None,
        "shipping_address": None,
        "exchange_rate": None,
        "lines": [LineSpec("SKU-A", 2, Decimal("10.00"))],
        "discounts": [Discount.percentage(10), Discount.fixed(Decimal("0.001"))],
        "shipping": None,
        "shipping_taxes": (),
    }
    with pytest.raises(ValidationError) as raised:
        _in_one_pass(fields)
    assert raised.value.field == "discounts[1].order_discounts[1].value"
    fields["discounts"] = ["10%"]
    with pytest.raises(ValidationError) as raised:
        _in_one_pass(fields)
    assert raised.value.field == "discounts[0].discount"


def test_a_draft_near_the_document_limit_is_refused_before_its_discounts() -> None:
    """Verb by verb, the lines are priced before the order discounts and their total (with
    tax) is refused at the limit; the one pass refuses it too, though the discounts would
    bring it below."""
    fields = {
        "order_id": "O-1",
        "customer_id": "C-1",
        "currency": "USD",
        "at": T0,
        "customer_group": None,
        "pricing": None,
        "shipping_address": None,
        "exchange_rate": None,
        "lines": [
            LineSpec("SKU-A", 10**8, Decimal("9" * 14), taxes=(TaxComponent("VAT", "0.5"),))
            for _ in range(8)
        ],
        "discounts": [Discount.percentage(90)],
        "shipping": None,
        "shipping_taxes": (),
    }
    assert _outcome(_in_one_pass, fields)[0] == "ValidationError"
    assert _outcome(_in_one_pass, fields) == _outcome(_by_verbs, fields)


# ----------------------------------------------------------------------------- every store


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


def test_a_refused_draft_changes_nothing_on_any_store(store: Any) -> None:
    service = bootstrap(store=store)
    service.handle(RegisterWarehouse(warehouse=Warehouse("W1")))
    service.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=10))
    refused = [
        new_order(line("SKU-A", 1), line("SKU-A", "1.5"), confirm=True),
        new_order(line("SKU-A", 1), discounts=(Discount.fixed("0.001"),), confirm=True),
        new_order(line("SKU-A", 1), shipping=Money("-1", "USD"), confirm=True),
    ]
    fields = []
    for command in refused:
        with pytest.raises(ValidationError) as raised:
            service.handle(command)
        fields.append(raised.value.field)
    assert fields == ["lines[1].quantity", "discounts[0].order_discounts[0].value", "shipping"]
    assert service.list_orders().orders == ()
    assert service.reservations() == ()
    assert [item.reserved for item in service.stock_items()] == [0]
    service.handle(new_order(line("SKU-A", 2), confirm=True))
    assert [item.reserved for item in service.stock_items()] == [2]


def test_a_placed_order_is_the_one_the_verbs_build() -> None:
    """Through the service: lines, prices, totals, events and audit of a placed order."""
    service = bootstrap(store=MemoryStore())
    service.handle(RegisterWarehouse(warehouse=Warehouse("W1")))
    service.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=10))
    command = PlaceOrder(
        customer_id="C-1",
        currency="USD",
        lines=(line("SKU-A", 3, "19.99"), line("SKU-A", 1, "0.05")),
        discounts=(Discount.percentage(10),),
        shipping=Money("4.95", "USD"),
        order_id="O-9",
    )
    service.handle(command)
    order = service.get_order("O-9")
    reference = _by_verbs(
        {
            "order_id": "O-9",
            "customer_id": "C-1",
            "currency": "USD",
            "at": order.created_at,
            "customer_group": None,
            "pricing": None,
            "shipping_address": None,
            "exchange_rate": None,
            "lines": [
                LineSpec("SKU-A", 3, Money("19.99", "USD")),
                LineSpec("SKU-A", 1, Money("0.05", "USD")),
            ],
            "discounts": [Discount.percentage(10)],
            "shipping": Money("4.95", "USD"),
            "shipping_taxes": (),
        }
    )
    assert order.lines == reference.lines
    assert order.totals == reference.totals
    assert repr(order.totals) == repr(reference.totals)
    assert order.next_line_number == reference.next_line_number == 3


def test_a_plan_from_a_built_in_policy_is_not_checked_again(monkeypatch: Any) -> None:
    """The built-in policies are proven by the policy kit: their plans go straight to the
    reservation. A host's own policy has every plan checked before anything is reserved."""
    import salesorders.service.handlers as handlers
    from salesorders.domain.allocation import PriorityPolicy

    checked: list[str] = []
    real = handlers.check_plan

    def counting(policy: Any, request: Any, snapshot: Any, plan: Any) -> None:
        checked.append(request.order_id)
        real(policy, request, snapshot, plan)

    monkeypatch.setattr(handlers, "check_plan", counting)

    class HostPolicy(PriorityPolicy):
        """A host's policy (a subclass is not a built-in one)."""

    for policy, expected in ((PriorityPolicy(), []), (HostPolicy(), ["O-2"])):
        service = bootstrap(store=MemoryStore(), allocation_policy=policy)
        service.handle(RegisterWarehouse(warehouse=Warehouse("W1")))
        service.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=10))
        checked.clear()
        service.handle(new_order(line("SKU-A", 1), order_id="O-2", confirm=True))
        assert checked == expected


def test_any_refusal_is_the_verbs_refusal() -> None:
    """Even input no check expects (a pricing policy that is not one) fails as the verbs fail."""
    fields = {
        "order_id": "O-1",
        "customer_id": "C-1",
        "currency": "USD",
        "at": T0,
        "customer_group": None,
        "pricing": "fast",
        "shipping_address": None,
        "exchange_rate": None,
        "lines": [LineSpec("SKU-A", 0, Decimal("1.00"))],
        "discounts": [],
        "shipping": None,
        "shipping_taxes": (),
    }
    raised = []
    for build in (_in_one_pass, _by_verbs):
        with pytest.raises(Exception) as caught:
            build(fields)
        raised.append((type(caught.value), str(caught.value)))
    assert raised[0] == raised[1]
    assert raised[0][0].__name__ == "InvalidQuantityError"
