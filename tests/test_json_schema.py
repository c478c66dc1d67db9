"""The published JSON Schemas are valid Draft 2020-12 schemas, and the data of every command,
result and view validates against its own; bad data does not."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesorders.errors import SalesOrdersError
from salesorders.json_schema import RESULTS, VIEWS, command_classes, json_schema, schemas
from salesorders.serialization import Serializer
from salesorders.service import LineSpec, PlaceOrder, ReceiveStock
from salesorders.service.views import OrderView
from support.commands import command_classes as generated_classes
from support.commands import commands_of
from support.json_examples import COMMANDS, results

jsonschema = pytest.importorskip("jsonschema", reason="the dev extra installs jsonschema")
Draft202012Validator = jsonschema.Draft202012Validator
ValidationError = jsonschema.ValidationError

S = Serializer()
SCHEMAS = schemas()
RESULTS_BY_NAME = results()


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(SCHEMAS[name])


def test_there_is_a_schema_for_every_command_result_and_view() -> None:
    expected = {cls.__name__ for cls in (*command_classes(), *RESULTS, *VIEWS)}
    assert set(SCHEMAS) == expected
    assert {"PlaceOrder", "OrderResult", "OrderView", "OrderSummary"} <= set(SCHEMAS)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    schema = SCHEMAS[name]
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("cls", command_classes(), ids=lambda cls: cls.__name__)
def test_every_command_example_validates_against_its_schema(cls: type) -> None:
    data = json.loads(json.dumps(S.dump(COMMANDS[cls])))
    validator(cls.__name__).validate(data)


@pytest.mark.parametrize("cls", generated_classes(), ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_generated_commands_validate_against_their_schema(cls: type, data: st.DataObject) -> None:
    command = data.draw(commands_of(cls))
    validator(cls.__name__).validate(json.loads(json.dumps(S.dump(command))))


@pytest.mark.parametrize("name", sorted(RESULTS_BY_NAME))
def test_every_result_and_view_validates_against_its_schema(name: str) -> None:
    value = RESULTS_BY_NAME[name]
    data = json.loads(json.dumps(S.dump(value)))
    if name.startswith("Page["):  # a page of query rows: each row has its schema
        value, data = value.items, data["items"]
    pairs = zip(data, value, strict=True) if isinstance(value, tuple) else [(data, value)]
    for item, one in pairs:
        validator(type(one).__name__).validate(item)


def test_what_the_schema_says_of_a_command() -> None:
    schema = SCHEMAS["ReceiveStock"]
    assert schema["required"] == ["sku", "warehouse_id", "quantity"]
    quantity = schema["properties"]["quantity"]
    assert quantity["type"] == ["string", "integer"]
    assert schema["properties"]["expiry"] == {
        "anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]
    }
    place = SCHEMAS["PlaceOrder"]
    assert place["properties"]["lines"]["items"] == {"$ref": "#/$defs/LineSpec"}
    assert place["properties"]["shipping"]["anyOf"][0] == {"$ref": "#/$defs/Money"}
    assert set(place["$defs"]) >= {"LineSpec", "Money", "Address", "Discount", "TaxComponent"}
    kind = place["$defs"]["Discount"]["properties"]["kind"]
    assert kind["enum"] == ["percentage", "fixed"]


@pytest.mark.parametrize(
    ("cls", "bad"),
    [
        (ReceiveStock, {"sku": "A", "warehouse_id": "W1", "quantity": 1.5}),
        (ReceiveStock, {"sku": "A", "warehouse_id": "W1", "quantity": "many"}),
        (ReceiveStock, {"sku": "A", "quantity": "1"}),
        (ReceiveStock, {"sku": "A", "warehouse_id": "W1", "quantity": "1", "colour": "red"}),
        (PlaceOrder, {"lines": [{"sku": "A", "quantity": 1, "unit_price": {"amount": "1"}}]}),
        (PlaceOrder, {"confirm": "yes"}),
        (LineSpec, {"sku": "A", "quantity": 1, "discounts": [{"kind": "half", "value": "1"}]}),
    ],
)
def test_a_bad_payload_fails_the_schema_and_the_load(cls: type, bad: dict[str, Any]) -> None:
    schema = json_schema(cls)
    with pytest.raises(ValidationError):
        Draft202012Validator(schema).validate(bad)
    with pytest.raises(SalesOrdersError):
        S.load(bad, cls)


def test_a_changed_view_fails_its_schema() -> None:
    data = S.dump(RESULTS_BY_NAME["OrderView"])
    broken = copy.deepcopy(data)
    broken["lines"][0]["unit_price"]["amount"] = 19.99
    with pytest.raises(ValidationError):
        validator("OrderView").validate(broken)
    broken = copy.deepcopy(data)
    broken["fulfilment_status"] = "lost"
    with pytest.raises(ValidationError):
        validator("OrderView").validate(broken)


def test_schemas_for_openapi_components_are_flat_with_refs_under_the_prefix() -> None:
    prefix = "#/components/schemas/"
    components = schemas(ref_prefix=prefix)
    assert set(SCHEMAS) <= set(components)
    assert {"LineSpec", "Money", "LineView", "TotalsView"} <= set(components)
    text = json.dumps(components)
    assert "#/$defs/" not in text
    assert '"$schema"' not in text
    assert components["OrderView"]["properties"]["totals"] == {"$ref": prefix + "TotalsView"}
    # resolved against a document holding them, the refs validate real data
    document = {"components": {"schemas": components}}
    root = {**document, "$ref": prefix + "OrderView"}
    Draft202012Validator(root).validate(S.dump(RESULTS_BY_NAME["OrderView"]))


def test_a_class_that_is_not_attrs_has_no_schema() -> None:
    with pytest.raises(SalesOrdersError, match="not an attrs class"):
        json_schema(dict)
    assert json_schema(OrderView)["title"] == "OrderView"
