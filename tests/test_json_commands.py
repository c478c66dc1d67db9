"""Every command loads from plain JSON, and every result and read view dumps to JSON.

Commands go through ``json.dumps`` and ``json.loads`` (numbers as JSON numbers or strings, money
as ``{"amount", "currency"}``, dates as ISO text) and load back equal; a bad payload is refused
with one error listing every bad path.
"""

from __future__ import annotations

import enum
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from moneyed import Money

from salesorders.errors import DeserializationError, SalesOrdersError
from salesorders.json_schema import command_classes as published_commands
from salesorders.serialization import Serializer, make_converter
from salesorders.service import AuthorizePayment, CloseRepair, LineSpec, PlaceOrder, ReceiveStock
from support.commands import command_classes, commands_of
from support.json_examples import COMMANDS, service_command_classes

S = Serializer()
ALL_COMMANDS = service_command_classes()


def through_json(data: Any) -> Any:
    return json.loads(json.dumps(data))


def paths(error: DeserializationError) -> set[str]:
    return {problem.path for problem in error.problems}


def test_every_command_of_every_service_module_has_an_example() -> None:
    assert len(ALL_COMMANDS) >= 40  # the walk finds the commands of every module
    assert set(ALL_COMMANDS) <= set(COMMANDS), set(ALL_COMMANDS) - set(COMMANDS)
    assert set(published_commands()) == set(ALL_COMMANDS)  # and the schemas cover them all


@pytest.mark.parametrize("cls", ALL_COMMANDS, ids=lambda cls: cls.__name__)
def test_every_command_loads_back_from_json(cls: type) -> None:
    command = COMMANDS[cls]
    data = through_json(S.dump(command))
    assert S.load(data, cls) == command


@pytest.mark.parametrize("cls", command_classes(), ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_generated_commands_load_back_from_json(cls: type, data: st.DataObject) -> None:
    command = data.draw(commands_of(cls))
    assert S.load(through_json(S.dump(command)), cls) == command


def test_a_quantity_is_a_decimal_from_a_json_number_or_a_string() -> None:
    for given_as in (3, "3", "3.0"):
        line = S.load({"sku": "A", "quantity": given_as}, LineSpec)
        assert line.quantity == 3
        assert isinstance(line.quantity, Decimal)


def test_an_amount_is_money_from_an_object_or_a_decimal_from_a_number() -> None:
    money = S.load(
        {"order_id": "O-1", "amount": {"amount": "1.20", "currency": "EUR"}}, AuthorizePayment
    )
    assert money.amount == Money("1.20", "EUR")
    plain = S.load({"order_id": "O-1", "amount": "1.20"}, AuthorizePayment)
    assert plain.amount == Decimal("1.20")
    cost = S.load({"order_id": "O-1", "repair_id": "RP1", "cost": 15}, CloseRepair)
    assert cost.cost == Decimal(15)


@pytest.mark.parametrize("value", [1.1, 3.0])
def test_a_float_quantity_is_refused_naming_the_path(value: float) -> None:
    with pytest.raises(DeserializationError) as caught:
        S.load({"sku": "A", "warehouse_id": "W1", "quantity": value}, ReceiveStock)
    assert paths(caught.value) == {"$.quantity"}
    assert "floats are not accepted" in str(caught.value)
    assert isinstance(caught.value, SalesOrdersError)


def test_a_bad_payload_lists_every_bad_path_at_once() -> None:
    body = {
        "customer_id": "C-1",
        "currency": "EUR",
        "lines": [
            {"sku": "A", "quantity": 1},
            {"sku": "B", "quantity": 1.5, "unit_price": {"amount": "2", "currency": "XXZ"}},
            {"sku": "C", "quantity": "lots", "quantity_precision": 1.5},
        ],
        "shipping": {"amount": 4.95, "currency": "EUR"},
        "confirm": "yes",
        "colour": "red",
    }
    with pytest.raises(DeserializationError) as caught:
        S.load(through_json(body), PlaceOrder)
    assert paths(caught.value) == {
        "$.lines[1].quantity",
        "$.lines[1].unit_price",
        "$.lines[2].quantity",
        "$.lines[2].quantity_precision",
        "$.shipping",
        "$.confirm",
        "$",
    }
    message = str(caught.value)
    assert "unknown currency 'XXZ'" in message
    assert "'lots' is not a decimal number" in message
    assert "expected a whole number, got float" in message
    assert "expected true or false, got str" in message
    assert "extra fields found (colour)" in message


@pytest.mark.parametrize("cls", ALL_COMMANDS, ids=lambda cls: cls.__name__)
def test_every_command_refuses_a_missing_field_or_an_unknown_key(cls: type) -> None:
    data = through_json(S.dump(COMMANDS[cls]))
    data["unexpected"] = 1
    with pytest.raises(DeserializationError) as caught:
        S.load(data, cls)
    assert "$" in paths(caught.value)
    assert "unexpected" in str(caught.value)


def test_whole_numbers_and_booleans_are_strict_and_an_int_enum_still_loads() -> None:
    class Level(enum.IntEnum):
        LOW = 1

    converter = make_converter()
    assert converter.structure(1, Level) is Level.LOW
    assert converter.structure(3, int) == 3
    for value, cls in ((1.9, int), ("3", int), (True, int), ("false", bool), (0, bool)):
        with pytest.raises(ValueError, match="expected"):
            converter.structure(value, cls)


@pytest.mark.parametrize("payload", [[1, 2], "PlaceOrder", None, 5, True])
def test_a_payload_that_is_not_an_object_is_refused_at_its_root(payload: Any) -> None:
    with pytest.raises(DeserializationError) as caught:
        S.load(payload, PlaceOrder)
    assert paths(caught.value) == {"$"}
    assert "must be an object of fields" in str(caught.value)
