"""Compiled dumpers give exactly the converter's data: same keys, same order, same types."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st
from moneyed import Money

from salesorders.domain import events
from salesorders.domain.order import Address, Order
from salesorders.serialization import (
    Serializer,
    compile_canonical_text,
    compile_dumper,
    make_converter,
)
from salesorders.service.commands import ConfirmOrder, LineSpec, PlaceOrder
from salesorders.service.idempotency import command_fingerprint
from salesorders.service.results import BackorderedLine, OrderResult
from salesorders.testing import strategies as sst

S = Serializer()
EVENT_TYPES = [
    attrs.resolve_types(cls)  # hypothesis infers each field's strategy from its type
    for cls in vars(events).values()
    if isinstance(cls, type) and issubclass(cls, events.OrderEvent)
]


def same_data(a: Any, b: Any) -> bool:
    """Equal values of equal types, dict keys in the same order (what ``repr`` shows)."""
    return repr(a) == repr(b) and json.dumps(a) == json.dumps(b)


def assert_compiled_as_generic(obj: object) -> None:
    compiled = S.dumper(type(obj))(obj)
    generic = S.converter.unstructure(obj)
    assert same_data(compiled, generic), (compiled, generic)
    assert S.canonical_text(type(obj))(obj) == repr(generic)


def _generic_fingerprint(command: object) -> str:
    """The fingerprint as first written: the converter's data without the key, as repr."""
    data = S.converter.unstructure(command)
    data.pop("idempotency_key", None)
    text = f"{type(command).__name__}\n{data!r}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@st.composite
def place_orders(draw: st.DrawFn) -> PlaceOrder:
    currency = draw(st.sampled_from(["USD", "JPY", "KWD", "CNY"]))
    specs = draw(st.lists(sst.line_specs(currency), min_size=1, max_size=4))
    lines = tuple(
        LineSpec(
            s["sku"],  # type: ignore[arg-type]
            s["quantity"],  # type: ignore[arg-type]
            draw(st.none() | st.just(Money(s["unit_price"], currency))),
            taxes=s["taxes"],  # type: ignore[arg-type]
            discounts=s["discounts"],  # type: ignore[arg-type]
            quantity_precision=s["quantity_precision"],  # type: ignore[arg-type]
        )
        for s in specs
    )
    return PlaceOrder(
        customer_id=draw(st.sampled_from(["C-1", "C-2"])),
        currency=currency,
        lines=lines,
        shipping_address=draw(st.none() | sst.addresses()),
        shipping=draw(st.none() | st.just(Money("4.50", currency))),
        confirm=draw(st.booleans()),
        idempotency_key=draw(st.none() | st.text(min_size=1, max_size=20)),
        actor=draw(st.text(max_size=10)),
    )


@settings(max_examples=150, deadline=None)
@given(st.one_of(sst.orders(), sst.draft_orders(), sst.shipped_orders()))
def test_order_documents_compile_to_the_converters_data(order: Order) -> None:
    assert_compiled_as_generic(order)


@settings(max_examples=150, deadline=None)
@given(place_orders())
def test_commands_and_fingerprints_compile_to_the_converters_data(command: PlaceOrder) -> None:
    assert_compiled_as_generic(command)
    assert command_fingerprint(command, S) == _generic_fingerprint(command)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EVENT_TYPES).flatmap(st.builds))
def test_event_payloads_compile_to_the_converters_data(event: events.OrderEvent) -> None:
    assert_compiled_as_generic(event)


@settings(max_examples=100, deadline=None)
@given(sst.shipped_orders())
def test_order_results_compile_to_the_converters_data(order: Order) -> None:
    result = OrderResult.of(order)
    assert_compiled_as_generic(result)
    backordered = BackorderedLine("L1", "SKU-A", Decimal(2), dt.date(2026, 5, 1))
    assert_compiled_as_generic(
        OrderResult(
            "O-1", None, "confirmed", 3, Money(1, "USD"), "backordered", backorders=(backordered,)
        )
    )


def test_a_mismatch_is_caught() -> None:
    """The comparison tells apart what a faulty compiler would get wrong."""
    data = {"amount": "1.50", "currency": "USD"}
    assert not same_data(data, {"currency": "USD", "amount": "1.50"})  # key order
    assert not same_data(data, {"amount": Decimal("1.50"), "currency": "USD"})  # a value's type
    assert not same_data([data], [data, data])
    address = Address("Li Lei", "1 Nanjing Rd", "Shanghai", "CN")
    command = PlaceOrder(customer_id="C-1", currency="USD", shipping_address=address)
    conv = make_converter()
    wrong = compile_dumper(PlaceOrder, conv)
    conv.register_unstructure_hook(Address, lambda a: {"city": a.city})
    generic = conv.unstructure(command)
    assert generic["shipping_address"] == {"city": "Shanghai"}
    assert not same_data(wrong(command), generic)  # compiled before the hook: caught


def test_a_hook_of_the_hosts_own_is_called_not_inlined() -> None:
    conv = make_converter()
    conv.register_unstructure_hook(Address, lambda a: {"city": a.city})
    address = Address("Li Lei", "1 Nanjing Rd", "Shanghai", "CN")
    command = PlaceOrder(customer_id="C-1", currency="USD", shipping_address=address)
    data = compile_dumper(PlaceOrder, conv)(command)
    assert data["shipping_address"] == {"city": "Shanghai"}
    assert same_data(data, conv.unstructure(command))


def test_the_fingerprint_leaves_the_key_out_and_keeps_the_rest() -> None:
    first = ConfirmOrder(order_id="O-1", idempotency_key="k1")
    assert command_fingerprint(first, S) == command_fingerprint(
        ConfirmOrder(order_id="O-1", idempotency_key="k2"), S
    )
    assert command_fingerprint(first, S) != command_fingerprint(
        ConfirmOrder(order_id="O-2", idempotency_key="k1"), S
    )
    assert command_fingerprint(first, S) == _generic_fingerprint(first)


def test_keys_are_left_out_of_the_data_of_a_hook_of_the_hosts_own_too() -> None:
    conv = make_converter()
    conv.register_unstructure_hook(
        ConfirmOrder, lambda c: {"order": c.order_id, "idempotency_key": c.idempotency_key}
    )
    dump = compile_dumper(ConfirmOrder, conv, frozenset({"idempotency_key"}))
    assert dump(ConfirmOrder(order_id="O-1", idempotency_key="k")) == {"order": "O-1"}
    inline = compile_dumper(ConfirmOrder, make_converter(), frozenset({"idempotency_key"}))
    data = inline(ConfirmOrder(order_id="O-1", idempotency_key="k"))
    assert "idempotency_key" not in data and data["order_id"] == "O-1"


def test_the_canonical_text_of_a_hook_of_the_hosts_own_is_its_repr() -> None:
    conv = make_converter()
    conv.register_unstructure_hook(Address, lambda a: {"city": a.city})
    address = Address("Li Lei", "1 Nanjing Rd", "Shanghai", "CN")
    command = PlaceOrder(customer_id="C-1", currency="USD", shipping_address=address)
    text = compile_canonical_text(PlaceOrder, conv, frozenset({"idempotency_key"}))(command)
    expected = conv.unstructure(command)
    del expected["idempotency_key"]
    assert text == repr(expected)
    assert "'shipping_address': {'city': 'Shanghai'}" in text
    assert compile_canonical_text(Address, conv)(address) == "{'city': 'Shanghai'}"


def test_the_serializer_keeps_one_dumper_per_class_and_names_left_out() -> None:
    key = frozenset({"idempotency_key"})
    dump = S.dumper_without(ConfirmOrder, key)
    assert S.dumper_without(ConfirmOrder, key) is dump
    command = ConfirmOrder(order_id="O-1", idempotency_key="k")
    expected = S.dump(command)
    del expected["idempotency_key"]
    assert same_data(dump(command), expected)
    assert S.canonical_text(ConfirmOrder, key)(command) == repr(expected)


class _HostMoney(Money):  # type: ignore[misc]
    """A host's own Money class: cattrs dispatches it, the compiled code must too."""


def test_a_money_in_a_union_is_written_inline_and_a_subclass_as_cattrs_does() -> None:
    priced = LineSpec("SKU-1", 2, Money("9.99", "USD"))
    assert_compiled_as_generic(priced)
    assert "'unit_price': {'amount': '9.99', 'currency': 'USD'}" in S.canonical_text(LineSpec)(
        priced
    )
    calls: list[object] = []
    for compile_ in (compile_canonical_text, compile_dumper):
        function = compile_(LineSpec, make_converter())
        names = function.__globals__
        for name, value in list(names.items()):
            if getattr(value, "__qualname__", "").endswith("._unstructure_union"):
                names[name] = lambda v, hook=value: calls.append(v) or hook(v)
        function(priced)
        assert calls == []  # the Money was written without cattrs' union dispatch
        function(LineSpec("SKU-1", 2, _HostMoney("9.99", "USD")))
        assert len(calls) == 1
        calls.clear()
    host = LineSpec("SKU-1", 2, _HostMoney("9.99", "USD"))
    assert_compiled_as_generic(host)
    for price in (Decimal("9.99"), "9.99", 9, None):
        assert_compiled_as_generic(LineSpec("SKU-1", 2, price))


def test_text_with_percent_signs_braces_and_quotes_is_shown_as_repr_shows_it() -> None:
    odd = LineSpec(
        "SKU-'%s'",
        Decimal("1.50"),
        Money("9.99", "USD"),
        description='50% off {this} "today" %r %%',
        line_id="L%d",
    )
    assert_compiled_as_generic(odd)
    command = PlaceOrder(
        customer_id="C-%(x)s", currency="USD", lines=(odd,), actor="100%", idempotency_key="k%"
    )
    assert command_fingerprint(command, S) == _generic_fingerprint(command)
