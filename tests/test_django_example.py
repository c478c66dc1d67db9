"""The Django recipe (examples/django_app): the store on Django's own connection, driven by
Django's test client against PostgreSQL, in a schema of its own dropped afterwards."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from race_support import drop_schema, new_schema
from salesorders.ports import OutboxMessage

pytestmark = pytest.mark.postgres
pytest.importorskip("django")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PROBLEM_JSON = "application/problem+json"


class Recorder:
    def __init__(self) -> None:
        self.messages: list[OutboxMessage] = []

    def notify(self, message: OutboxMessage) -> None:
        self.messages.append(message)


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """Django set up on the example's settings, over a fresh schema; yields the schema."""
    dsn = os.environ.get("SALESORDERS_TEST_POSTGRES_DSN", "")
    if not dsn:
        pytest.skip("SALESORDERS_TEST_POSTGRES_DSN is not set; PostgreSQL tests need a server")
    import django
    from django.conf import settings
    from django.db import connections

    schema = new_schema()
    os.environ["ORDERS_DATABASE_URL"] = dsn
    os.environ["ORDERS_SCHEMA"] = schema
    os.environ["DJANGO_SETTINGS_MODULE"] = "django_app.settings"
    sys.path.insert(0, str(EXAMPLES))
    try:
        django.setup()
        settings.SALESORDERS_SCHEMA = schema  # also when settings were read before
        yield schema
    finally:
        connections.close_all()
        sys.path.remove(str(EXAMPLES))
        drop_schema(dsn, schema)


@pytest.fixture(scope="module")
def client(site: str) -> Any:
    from django.test import Client

    client = Client()
    assert (
        client.post(
            "/warehouses",
            {"warehouse": {"id": "EAST", "priority": 1}},
            content_type="application/json",
        ).json()
        is None
    )
    received = client.post(
        "/stock/receipts",
        {"sku": "TEA", "warehouse_id": "EAST", "quantity": 20},
        content_type="application/json",
    )
    assert received.status_code == 200
    assert received.json()["on_hand_delta"] == "20"
    return client


def _order(customer: str, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "customer_id": customer,
        "currency": "EUR",
        "lines": [
            {
                "sku": "TEA",
                "quantity": quantity,
                "unit_price": {"amount": "4.00", "currency": "EUR"},
            }
        ],
        "confirm": True,
        **extra,
    }


def _post(client: Any, path: str, body: Any, **headers: str) -> Any:
    return client.post(path, body, content_type="application/json", headers=headers)


def test_place_with_a_key_replay_get_list_cancel(client: Any) -> None:
    first = _post(client, "/orders", _order("C-1"), **{"Idempotency-Key": "dj-1"})
    assert first.status_code == 200
    assert "Idempotent-Replayed" not in first.headers
    placed = first.json()
    assert placed["state"] == "confirmed"

    again = _post(client, "/orders", _order("C-1"), **{"Idempotency-Key": "dj-1"})
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == placed

    second = _post(client, "/orders", _order("C-1", 2)).json()
    view = client.get(f"/orders/{placed['order_id']}")
    assert view.status_code == 200
    assert view.json()["lines"][0]["allocated"] == "1"
    assert client.get(f"/orders/{placed['number']}").json()["order_id"] == placed["order_id"]

    page = client.get("/customers/C-1/orders").json()
    assert page["total"] == 2  # the replay placed nothing
    assert [row["order_id"] for row in page["orders"]] == [second["order_id"], placed["order_id"]]

    cancelled = _post(client, f"/orders/{placed['order_id']}/cancel", {"reason": "changed mind"})
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"
    assert client.get(f"/orders/{placed['order_id']}").json()["state"] == "cancelled"


def test_problem_responses(client: Any) -> None:
    short = _post(client, "/orders", _order("C-2", 500, all_or_nothing=True))
    assert short.status_code == 409
    assert short.headers["Content-Type"] == PROBLEM_JSON
    assert short.json()["code"] == "insufficient_stock"
    assert short.json()["instance"] == "/orders"
    assert client.get("/customers/C-2/orders").json()["total"] == 0

    missing = client.get("/orders/nope")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"

    bad = _order("C-2")
    bad["lines"][0]["quantity"] = 1.5
    malformed = _post(client, "/orders", bad | {"confirm": "yes"})
    assert malformed.status_code == 400
    assert malformed.headers["Content-Type"] == PROBLEM_JSON
    fields = {error["field"] for error in malformed.json()["errors"]}
    assert fields == {"lines[0].quantity", "confirm"}


def test_a_django_rollback_takes_the_library_writes_with_it(client: Any, site: str) -> None:
    from django.db import connection, transaction
    from django_app.orders import service  # type: ignore[import-not-found]
    from moneyed import Money

    from salesorders import LineSpec, PlaceOrder

    class Abort(Exception):
        pass

    command = PlaceOrder(
        customer_id="C-3",
        currency="EUR",
        lines=(LineSpec("TEA", 1, Money("4.00", "EUR")),),
        order_id="rolled-back",
        confirm=True,
        idempotency_key="dj-rollback",
    )

    def place_then_fail() -> None:
        with transaction.atomic():
            result = service().handle(command)
            assert result.state == "confirmed"  # visible inside the transaction
            with connection.cursor() as cursor:
                cursor.execute(
                    f'SELECT count(*) FROM "{site}".outbox WHERE stream_id = %s', [result.order_id]
                )
                assert cursor.fetchone()[0] > 0
            raise Abort  # Django rolls back, and the library's writes with it

    with pytest.raises(Abort):
        place_then_fail()

    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{site}".orders WHERE id = %s', ["rolled-back"])
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            f'SELECT count(*) FROM "{site}".outbox WHERE stream_id = %s', ["rolled-back"]
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute(f'SELECT count(*) FROM "{site}".idempotency WHERE key = %s', ["dj-rollback"])
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            f'SELECT count(*) FROM "{site}".reservations WHERE order_id = %s', ["rolled-back"]
        )
        assert cursor.fetchone()[0] == 0
    assert client.get("/customers/C-3/orders").json()["total"] == 0
    # the same command runs again afterwards: nothing of the first run is left to replay
    replay = _post(
        client,
        "/orders",
        _order("C-3", order_id="rolled-back"),
        **{"Idempotency-Key": "dj-rollback"},
    )
    assert replay.status_code == 200
    assert "Idempotent-Replayed" not in replay.headers


def test_the_outbox_relay_delivers_what_committed(client: Any) -> None:
    from django_app.orders import relay_outbox  # type: ignore[import-not-found]

    placed = _post(client, "/orders", _order("C-4")).json()
    recorder = Recorder()
    report = relay_outbox([recorder], limit=1000)
    assert report.delivered >= 2
    delivered = {(m.event_type, m.stream_id) for m in recorder.messages}
    assert ("OrderConfirmed", placed["order_id"]) in delivered
    assert relay_outbox([recorder]).delivered == 0  # marked delivered, in Django's transaction


def test_outside_a_transaction_the_store_refuses_to_commit_on_its_own(client: Any) -> None:
    from django_app.orders import service  # type: ignore[import-not-found]

    from salesorders.errors import ProgrammingError

    with pytest.raises(ProgrammingError, match="autocommit"):
        service().list_orders()
