"""The FastAPI recipe (examples/fastapi_app.py), driven through its test client and once over HTTP."""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import socket
import sys
import threading
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # newer Starlette asks for httpx2 and still works with httpx
    warnings.filterwarnings("ignore", message=".*install `httpx2`", category=UserWarning)
    from fastapi.testclient import TestClient

from salesorders.adapters.memory import MemoryStore
from salesorders.adapters.sqlite import SQLiteStore
from salesorders.ports import OutboxMessage

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fastapi_app.py"
PROBLEM_JSON = "application/problem+json"


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fastapi_app_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


example = _load_example()


class Recorder:
    """A notifier that records what the relay delivered and wakes a waiting test."""

    def __init__(self) -> None:
        self.messages: list[OutboxMessage] = []
        self.arrived = threading.Condition()

    def notify(self, message: OutboxMessage) -> None:
        with self.arrived:
            self.messages.append(message)
            self.arrived.notify_all()

    def wait_for(self, event_type: str, stream_id: str) -> bool:
        def seen() -> bool:
            return any(
                m.event_type == event_type and m.stream_id == stream_id for m in self.messages
            )

        with self.arrived:
            return self.arrived.wait_for(seen, timeout=30)


def _order(quantity: int = 2, **extra: Any) -> dict[str, Any]:
    return {
        "customer_id": "C-1",
        "currency": "EUR",
        "lines": [
            {
                "sku": "TEA",
                "quantity": quantity,
                "unit_price": {"amount": "3.50", "currency": "EUR"},
            }
        ],
        "confirm": True,
        **extra,
    }


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(recorder: Recorder) -> Iterator[TestClient]:
    app = example.create_app(MemoryStore(), [recorder])
    with TestClient(app) as test_client:  # runs the lifespan: the outbox relay
        _stock(test_client)
        yield test_client


def _stock(client: Any) -> None:
    registered = client.post("/warehouses", json={"warehouse": {"id": "EAST", "priority": 1}})
    assert registered.status_code == 200
    assert registered.json() is None
    received = client.post(
        "/stock/receipts", json={"sku": "TEA", "warehouse_id": "EAST", "quantity": 5}
    )
    assert received.status_code == 200
    assert received.json()["on_hand_delta"] == "5"
    assert received.json()["movement"] == "receipt"


def test_place_with_a_key_then_replay(client: TestClient) -> None:
    first = client.post("/orders", json=_order(), headers={"Idempotency-Key": "req-1"})
    assert first.status_code == 200
    assert "idempotent-replayed" not in first.headers
    placed = first.json()
    assert placed["state"] == "confirmed"
    assert placed["grand_total"] == {"amount": "7.00", "currency": "EUR"}

    again = client.post("/orders", json=_order(), headers={"Idempotency-Key": "req-1"})
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == placed
    listed = client.get("/customers/C-1/orders").json()
    assert listed["total"] == 1  # the replay placed nothing

    other = client.post("/orders", json=_order(), headers={"Idempotency-Key": "req-2"})
    assert other.json()["order_id"] != placed["order_id"]


def test_get_list_and_cancel(client: TestClient, recorder: Recorder) -> None:
    first = client.post("/orders", json=_order(1)).json()
    second = client.post("/orders", json=_order(2)).json()

    view = client.get(f"/orders/{first['order_id']}")
    assert view.status_code == 200
    assert view.json()["lines"][0]["allocated"] == "1"
    by_number = client.get(f"/orders/{second['number']}").json()
    assert by_number["order_id"] == second["order_id"]

    page = client.get("/customers/C-1/orders").json()
    assert [row["order_id"] for row in page["orders"]] == [second["order_id"], first["order_id"]]
    assert page["total"] == 2 and page["next_cursor"] is None
    assert client.get("/customers/C-2/orders").json() == {
        "orders": [],
        "total": 0,
        "next_cursor": None,
    }

    cancelled = client.post(f"/orders/{first['order_id']}/cancel", json={"reason": "changed mind"})
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"
    assert client.get(f"/orders/{first['order_id']}").json()["state"] == "cancelled"
    # the relay delivers the events committed with the commands
    assert recorder.wait_for("OrderCancelled", first["order_id"])


def test_insufficient_stock_is_a_409_problem(client: TestClient) -> None:
    response = client.post("/orders", json=_order(50, all_or_nothing=True))
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["code"] == "insufficient_stock"
    assert problem["status"] == 409
    assert problem["instance"] == "/orders"
    assert client.get("/customers/C-1/orders").json()["total"] == 0


def test_unknown_order_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/orders/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["code"] == "not_found"


def test_bad_body_lists_every_path(client: TestClient) -> None:
    bad = _order(2, confirm="yes")
    bad["lines"][0]["quantity"] = 1.5
    del bad["currency"]
    response = client.post("/orders", json=bad)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["code"] == "deserialization_failed"
    fields = {error["field"] for error in problem["errors"]}
    assert fields == {"currency", "lines[0].quantity", "confirm"}


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"text"'])
def test_body_that_is_not_an_object_is_a_problem(client: TestClient, body: bytes) -> None:
    response = client.post("/orders", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_JSON
    assert [error["field"] for error in response.json()["errors"]] == ["$"]


def test_openapi_has_the_command_schemas(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    components = document["components"]["schemas"]
    for path, name in [
        ("/warehouses", "RegisterWarehouse"),
        ("/stock/receipts", "ReceiveStock"),
        ("/orders", "PlaceOrder"),
        ("/orders/{order_id}/cancel", "CancelOrder"),
    ]:
        body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        assert body["schema"] == {"$ref": f"#/components/schemas/{name}"}
        assert name in components
    assert components["PlaceOrder"]["properties"]["lines"]["items"] == {
        "$ref": "#/components/schemas/LineSpec"
    }
    for schema in components.values():  # every reference resolves inside the document
        for ref in _refs(schema):
            assert ref.removeprefix("#/components/schemas/") in components
    header = document["paths"]["/orders"]["post"]["parameters"][0]
    assert header["name"] == "Idempotency-Key" and header["in"] == "header"
    cancel = document["paths"]["/orders/{order_id}/cancel"]["post"]["parameters"]
    assert {"name": "order_id", "in": "path", "required": True} in cancel
    assert len({op["operationId"] for p in document["paths"].values() for op in p.values()}) == 6


def _refs(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref":
                yield item
            else:
                yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _call(url: str, body: object | None = None, key: str | None = None) -> tuple[int, Any, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    request.add_header("content-type", "application/json")
    if key is not None:
        request.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def test_over_real_http_with_uvicorn(tmp_path: Path, recorder: Recorder) -> None:
    uvicorn = pytest.importorskip("uvicorn")
    store = SQLiteStore(str(tmp_path / "orders.db"))
    port = _free_port()
    config = uvicorn.Config(
        example.create_app(store, [recorder]), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn")
    thread.start()
    try:
        for _ in range(3000):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.01)
        assert server.started
        base = f"http://127.0.0.1:{port}"
        assert _call(f"{base}/warehouses", {"warehouse": {"id": "EAST"}})[0] == 200
        assert (
            _call(f"{base}/stock/receipts", {"sku": "TEA", "warehouse_id": "EAST", "quantity": 5})[
                0
            ]
            == 200
        )

        status, headers, placed = _call(f"{base}/orders", _order(), key="http-1")
        assert status == 200 and headers.get("Idempotent-Replayed") is None
        status, headers, replayed = _call(f"{base}/orders", _order(), key="http-1")
        assert headers["Idempotent-Replayed"] == "true" and replayed == placed

        status, _, view = _call(f"{base}/orders/{placed['order_id']}")
        assert status == 200 and view["state"] == "confirmed"
        status, headers, problem = _call(f"{base}/orders", _order(9, all_or_nothing=True))
        assert status == 409 and headers["content-type"] == PROBLEM_JSON
        assert problem["code"] == "insufficient_stock"
        assert recorder.wait_for("OrderConfirmed", placed["order_id"])
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        store.close()
    assert not thread.is_alive()


ROOT = EXAMPLE.parent.parent
QUOTE = re.compile(r"^```text\n# (examples/\S+)\n(.*?)^```", re.S | re.M)


def test_the_app_is_at_most_80_lines() -> None:
    assert len(EXAMPLE.read_text(encoding="utf-8").splitlines()) <= 80


def test_the_integration_docs_quote_the_examples() -> None:
    quotes = QUOTE.findall((ROOT / "docs" / "integration.md").read_text(encoding="utf-8"))
    assert {path for path, _ in quotes} >= {
        "examples/fastapi_app.py",
        "examples/django_app/orders.py",
        "examples/django_app/views.py",
    }
    for path, excerpt in quotes:
        assert excerpt in (ROOT / path).read_text(encoding="utf-8"), path


def test_the_examples_import_only_public_modules() -> None:
    from test_exported_members import DOC_MODULES

    imported = set()
    for path in [EXAMPLE, *(ROOT / "examples" / "django_app").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("salesorders"):
                imported.add(str(node.module))
            elif isinstance(node, ast.Import):
                imported |= {a.name for a in node.names if a.name.startswith("salesorders")}
    assert "salesorders" in imported
    assert imported <= DOC_MODULES
