from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from moneyed import Money

from salesorders.domain.events import OrderPlaced
from salesorders.domain.order import Address, Order
from salesorders.domain.plan import Allocation, AllocationPlan
from salesorders.domain.pricing import Discount, ExchangeRate, TaxComponent
from salesorders.domain.workflow import WorkflowRegistry, default_workflow
from salesorders.errors import DeserializationError, FieldProblem
from salesorders.serialization import Serializer

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
S = Serializer()


def sample_order() -> Order:
    order = Order.create(
        "O-1",
        "C-1",
        "CNY",
        T0,
        shipping_address=Address("Li Lei", "1 Nanjing Rd", "Shanghai", "CN", region="CN-East"),
    )
    for sku in ("A", "B", "C", "D"):
        order.add_line(sku, 2, "10.50", T0, taxes=[TaxComponent("VAT", Decimal("0.13"))])
    order.apply_discount(Discount.percentage(Decimal(10), "spring sale"), T0)
    order.place("SO-2026-000001", T0)
    return order


def test_order_dumps_to_plain_json_data() -> None:
    data = S.dump(sample_order())
    text = json.dumps(data)  # JSON-compatible: no Decimal, datetime or Money objects left
    assert '"quantity": "2"' in text
    assert data["created_at"] == "2026-03-01T09:00:00+08:00"
    assert data["workflow"] == {"name": "sales-order", "version": 1}
    assert "events" not in data
    assert data["order_discounts"][0] == {
        "kind": "percentage",
        "value": "10",
        "reason": "spring sale",
    }


def test_money_and_rates_round_trip() -> None:
    assert S.dump(Money("1.50", "KWD")) == {"amount": "1.50", "currency": "KWD"}
    assert S.load({"amount": "1.500", "currency": "KWD"}, Money) == Money("1.500", "KWD")
    rate = ExchangeRate("USD", "JPY", Decimal("151.37"), T0, "bank")
    assert S.load(S.dump(rate), ExchangeRate) == rate


def test_events_and_plans_round_trip() -> None:
    event = OrderPlaced("O-1", 1, T0, number="SO-1", currency="USD", grand_total=Decimal("9.99"))
    assert S.load(S.dump(event), OrderPlaced) == event
    plan = AllocationPlan("O-1", (Allocation("L1", "A", "W1", Decimal(2), reason="priority"),))
    assert S.load(S.dump(plan), AllocationPlan) == plan


def test_every_bad_field_is_reported_with_its_path() -> None:
    data = S.dump(sample_order())
    data["lines"][3]["quantity"] = 2.5
    data["lines"][1]["unit_price"] = "ten"
    data["created_at"] = "2026-03-01T09:00:00"
    with pytest.raises(DeserializationError) as info:
        S.load(data, Order)
    paths = {p.path for p in info.value.problems}
    assert {"$.lines[3].quantity", "$.lines[1].unit_price", "$.created_at"} <= paths
    assert "$.lines[3].quantity" in str(info.value)


def test_unknown_keys_are_refused() -> None:
    data = S.dump(sample_order())
    data["colour"] = "red"
    with pytest.raises(DeserializationError) as info:
        S.load(data, Order)
    assert any("colour" in p.problem for p in info.value.problems)


def test_unknown_workflow_is_reported() -> None:
    data = S.dump(sample_order())
    data["workflow"] = {"name": "missing", "version": 3}
    with pytest.raises(DeserializationError) as info:
        S.load(data, Order)
    assert info.value.problems[0].path == "$.workflow"


def test_host_workflows_resolve_through_the_registry() -> None:
    custom = default_workflow().extend("custom", 2).build()
    order = Order.create("O-2", "C-1", "USD", T0, workflow=custom)
    serializer = Serializer(WorkflowRegistry([custom]))
    assert serializer.load(serializer.dump(order), Order).workflow is custom
    with pytest.raises(DeserializationError):
        S.load(S.dump(order), Order)


def test_field_problem_equality() -> None:
    assert FieldProblem("$.a", "bad") == FieldProblem("$.a", "bad")
    assert FieldProblem("$.a", "bad") != FieldProblem("$.b", "bad")


def test_sets_become_sorted_lists_and_come_back() -> None:
    from salesorders.domain.warehouse import Warehouse

    warehouse = Warehouse("W1", ships_to=frozenset({"US-West", "CN-East"}))
    data = S.dump(warehouse)
    assert data["ships_to"] == ["CN-East", "US-West"]
    assert json.loads(json.dumps(data)) == data
    assert S.load(data, Warehouse) == warehouse


def test_serializers_share_compiled_functions() -> None:
    # A second service or store compiles nothing again: the functions are the process's.
    first, second = Serializer(), Serializer(WorkflowRegistry())
    assert first.document(Order) is second.document(Order)
    assert first.dumper(OrderPlaced) is second.dumper(OrderPlaced)
    assert first.canonical_text(Order) is second.canonical_text(Order)


def test_a_hook_on_one_serializers_converter_changes_no_other() -> None:
    own, other = Serializer(), Serializer()
    before = other.dump(Money("1.50", "USD"))
    own.converter.register_unstructure_hook(Money, lambda m: f"{m.amount} {m.currency}")
    assert own.dump(Money("1.50", "USD")) == "1.50 USD"
    assert own.dumper(Order) is not other.dumper(Order)
    assert other.dump(Money("1.50", "USD")) == before == {"amount": "1.50", "currency": "USD"}
    assert Serializer().dump(Money("1.50", "USD")) == before


def test_a_load_finds_workflows_in_its_own_serializers_registry() -> None:
    custom = default_workflow().extend("custom", 3).build()
    data = S.dump(Order.create("O-3", "C-1", "USD", T0, workflow=custom))
    registry = WorkflowRegistry()
    late = Serializer(registry)
    with pytest.raises(DeserializationError):
        late.load(data, Order)
    registry.register(custom)  # registered after the serializer was made: seen by its loads
    assert late.load(data, Order).workflow is custom
    with pytest.raises(DeserializationError):  # another serializer's registry is not consulted
        Serializer().load(data, Order)
    assert late.load(data, Order).workflow is custom
    own = Serializer(registry)
    assert own.converter.structure(data, Order).workflow is custom  # its own converter too
