"""Every result and read view dumps to JSON-compatible data."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from moneyed import Money

from salesorders.adapters.memory import MemoryStore
from salesorders.errors import NotFoundError
from salesorders.json_schema import RESULTS, VIEWS
from salesorders.serialization import Serializer
from salesorders.service import LineSpec, OrderResult, PlaceOrder, bootstrap
from salesorders.service.views import OrderSummary, OrderView
from support.json_examples import results

S = Serializer()
RESULTS_BY_NAME = results()


def test_there_is_a_result_of_every_kind() -> None:
    kinds = {type(value).__name__ for value in RESULTS_BY_NAME.values()}
    assert {cls.__name__ for cls in (*RESULTS, *VIEWS)} <= kinds


@pytest.mark.parametrize("name", sorted(RESULTS_BY_NAME))
def test_every_result_dumps_to_json(name: str) -> None:
    value = RESULTS_BY_NAME[name]
    data = S.dump(value)
    assert json.loads(json.dumps(data)) == data  # plain JSON: nothing lost on the way
    if isinstance(value, tuple):
        assert isinstance(data, list)
        assert value  # the example is not empty: its items were dumped
        assert all(isinstance(item, dict) for item in data)
    else:
        assert isinstance(data, dict)


def test_an_order_result_loads_back_from_json() -> None:
    result = RESULTS_BY_NAME["OrderResult"]
    assert S.load(json.loads(json.dumps(S.dump(result))), OrderResult) == result


def test_the_order_view_shows_lines_totals_and_statuses_as_json() -> None:
    view: OrderView = RESULTS_BY_NAME["OrderView"]
    data: dict[str, Any] = json.loads(json.dumps(S.dump(view)))
    assert data["order_id"] == view.order_id
    assert data["number"].startswith("SO-")
    assert data["state"] == "delivered"
    assert data["currency"] == "EUR"
    first = data["lines"][0]
    assert first["sku"] == "SKU-A"
    assert first["unit_price"] == {"amount": "19.99", "currency": "EUR"}
    assert first["gross"]["currency"] == "EUR"
    assert first["quantity"] == "2"
    totals = data["totals"]
    net, tax = totals["net_total"]["amount"], totals["tax_total"]["amount"]
    assert Decimal(net) + Decimal(tax) == Decimal(totals["grand_total"]["amount"])
    assert data["fulfilment_status"] == "delivered"
    assert data["payment_status"] in {"paid", "overpaid"}
    assert data["return_status"] == "requested"
    assert data["shipments"][0]["tracking_number"] == "TRACK-1"
    assert data["shipments"][0]["status"] == "delivered"
    assert data["placed_at"] is not None
    assert data["version"] == view.version > 1


def test_the_order_summary_is_a_row_of_a_list() -> None:
    summary: OrderSummary = RESULTS_BY_NAME["OrderSummary"]
    view: OrderView = RESULTS_BY_NAME["OrderView"]
    data = S.dump(summary)
    assert data["grand_total"] == S.dump(view)["totals"]["grand_total"]
    assert data["customer_id"] == "C-1"
    assert set(data) == {
        "order_id",
        "number",
        "state",
        "customer_id",
        "grand_total",
        "allocation_status",
        "fulfilment_status",
        "payment_status",
        "return_status",
        "created_at",
        "placed_at",
        "version",
    }


def test_the_service_views_an_order_by_id_or_by_number() -> None:
    service = bootstrap(store=MemoryStore())
    placed = service.handle(
        PlaceOrder(
            customer_id="C-9",
            currency="USD",
            lines=(LineSpec("SKU-X", 1, Money("3.00", "USD")),),
        )
    )
    by_id = service.view_order(placed.order_id)
    assert placed.number is not None
    assert service.view_order(placed.number) == by_id
    assert by_id.order_id == placed.order_id
    assert by_id.totals.grand_total == Money("3.00", "USD")
    with pytest.raises(NotFoundError):
        service.view_order("no-such-order")
