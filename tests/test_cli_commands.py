"""The operator commands on the demo's data, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import io
import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from salesorders.cli import main
from salesorders.cli.output import display_width

SQLITE_DEMO: dict[str, Path] = {}


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def _sqlite_demo(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    if "path" not in SQLITE_DEMO:
        path = tmp_path_factory.mktemp("cli") / "demo.sqlite3"
        assert run("demo", "--store", str(path))[0] == 0
        SQLITE_DEMO["path"] = path
    return ["--store", str(SQLITE_DEMO["path"])]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[str]]:
    """The ``--store`` options of a store holding the demo's data."""
    if request.param == "sqlite":
        yield _sqlite_demo(tmp_path_factory)
        return
    dsn = request.getfixturevalue("postgres_dsn")
    psycopg = pytest.importorskip("psycopg")
    from salesorders.adapters.postgres import PostgresStore
    from salesorders.cli.demo_scenes import play_demo

    schema = f"so_cli_{uuid.uuid4().hex[:12]}"
    with PostgresStore(dsn, schema=schema, max_size=2) as postgres:
        play_demo(postgres)
    try:
        yield ["--store", dsn, "--schema", schema]
    finally:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'.encode())


@pytest.fixture(scope="module")
def postgres_dsn() -> str:  # module scope, for the module-scoped store
    from tests.conftest import POSTGRES_DSN

    if not POSTGRES_DSN:
        pytest.skip("SALESORDERS_TEST_POSTGRES_DSN is not set; PostgreSQL tests need a server")
    return POSTGRES_DSN


def _rows(text: str) -> list[list[str]]:
    """The rows of the first table in ``text``: the lines after its rule, split into cells."""
    lines = text.splitlines()
    rule = next(
        i for i, line in enumerate(lines) if set(line.strip()) <= {"-", "─", " "} and line.strip()
    )
    rows = []
    for line in lines[rule + 1 :]:
        if not line.startswith("  ") or not line.strip():
            break
        rows.append(line.split())
    return rows


def _fits(text: str) -> None:
    wide = [line for line in text.splitlines() if display_width(line) > 80]
    assert wide == []


# --------------------------------------------------------------------------- orders list


def test_orders_list_is_newest_first_with_a_total(store: list[str]) -> None:
    code, text = run("orders", "list", *store, "--plain")
    assert code == 0
    numbers = [row[0] for row in _rows(text)]
    assert numbers == [f"SO-2026-00000{n}" for n in (5, 4, 3, 2, 1)]
    assert "5 of 5 orders, newest first" in text
    assert "next page" not in text
    _fits(text)


def test_orders_list_filters_by_customer_state_and_dates(store: list[str]) -> None:
    assert [
        r[0] for r in _rows(run("orders", "list", *store, "--plain", "--customer", "C-ANNA")[1])
    ] == ["SO-2026-000002"]
    _, text = run("orders", "list", *store, "--plain", "--state", "confirmed")
    assert [r[0] for r in _rows(text)] == ["SO-2026-000005", "SO-2026-000003", "SO-2026-000001"]
    assert "3 of 3 orders" in text
    # the demo places Li at 09:07 and Anna at 09:19 on 2026-11-27; --to a date includes that day
    _, day = run("orders", "list", *store, "--json", "--from", "2026-11-27", "--to", "2026-11-27")
    assert json.loads(day)["total"] == 5
    _, early = run("orders", "list", *store, "--json", "--to", "2026-11-27T09:10:00+00:00")
    assert [o["number"] for o in json.loads(early)["orders"]] == ["SO-2026-000001"]
    _, none = run("orders", "list", *store, "--json", "--from", "2026-11-28")
    assert json.loads(none) == {"orders": [], "total": 0, "next_cursor": None}


def test_orders_list_pages_with_the_printed_cursor(store: list[str]) -> None:
    code, first = run("orders", "list", *store, "--plain", "--limit", "2")
    assert code == 0
    assert [r[0] for r in _rows(first)] == ["SO-2026-000005", "SO-2026-000004"]
    assert "2 of 5 orders" in first
    lines = first.splitlines()
    cursor = lines[lines.index("next page: --after (the cursor below)") + 1]
    _, second = run("orders", "list", *store, "--plain", "--limit", "2", "--after", cursor)
    assert [r[0] for r in _rows(second)] == ["SO-2026-000003", "SO-2026-000002"]
    _, page = run("orders", "list", *store, "--json", "--limit", "2")
    document = json.loads(page)
    assert document["next_cursor"] == cursor
    assert document["total"] == 5


def test_orders_list_json_is_the_order_summary_view(store: list[str]) -> None:
    code, text = run("orders", "list", *store, "--json", "--customer", "C-SMITH")
    assert code == 0
    (order,) = json.loads(text)["orders"]
    assert list(order) == [
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
    ]
    assert order["number"] == "SO-2026-000003"
    assert order["grand_total"] == {"amount": "259.12", "currency": "USD"}


def test_orders_list_formats_money_in_the_locale(store: list[str]) -> None:
    _, english = run("orders", "list", *store, "--plain", "--customer", "C-ANNA")
    _, german = run(
        "orders", "list", *store, "--plain", "--customer", "C-ANNA", "--locale", "de_DE"
    )
    assert "€147.10" in english
    assert "147,10\xa0€" in german


def test_a_bad_filter_is_an_input_error(
    store: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("orders", "list", *store, "--from", "yesterday")[0] == 2
    assert "error: --from: is not an ISO 8601 date or datetime" in capsys.readouterr().err
    assert run("orders", "list", *store, "--after", "not-a-cursor")[0] == 2
    assert "after: is not a cursor of this order listing" in capsys.readouterr().err
    assert run("orders", "list", *store, "--limit", "0")[0] == 2
    assert "limit" in capsys.readouterr().err


# --------------------------------------------------------------------------- show, track


def test_orders_show_has_lines_totals_shipments_and_payments(store: list[str]) -> None:
    code, text = run("orders", "show", "SO-2026-000002", *store, "--plain")
    assert code == 0
    assert text.startswith("Order SO-2026-000002 of C-ANNA, EUR\n")
    assert [r[:3] for r in _rows(text)] == [["L1", "TEA-100", "12"], ["L2", "MUG-6", "1"]]
    for part in (
        "Totals",
        "€147.10",
        "balance due €0.00",
        "Shipments",
        "JD0000000001",
        "Payments",
        "SEPA-20261128-77",
    ):
        assert part in text
    _fits(text)


def test_orders_show_gives_the_backorder_date_and_the_frozen_rate(store: list[str]) -> None:
    _, smith = run("orders", "show", "SO-2026-000003", *store, "--json")
    lamp = json.loads(smith)["lines"][0]
    assert (lamp["sku"], lamp["allocated"], lamp["backordered"]) == ("LAMP-1", "5", "0")
    _, sato = run("orders", "show", "SO-2026-000004", *store, "--plain")
    joined = " ".join(line.strip() for line in sato.splitlines())
    assert (
        "exchange rate frozen at 1 USD = 151.37 JPY (as of 2026-11-27 09:00, demo rates)" in joined
    )


def test_orders_show_json_is_the_order_view(store: list[str]) -> None:
    code, text = run("orders", "show", "SO-2026-000005", *store, "--json")
    assert code == 0
    view = json.loads(text)
    assert view["number"] == "SO-2026-000005"
    assert view["totals"]["grand_total"] == {"amount": "106.15", "currency": "USD"}
    assert view["payment_status"] == "paid"


def test_an_unknown_order_is_an_input_error(
    store: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("orders", "show", "SO-1999-000001", *store) == (2, "")
    assert "error: no order number 'SO-1999-000001'" in capsys.readouterr().err


def test_orders_track_an_order(store: list[str]) -> None:
    code, text = run("orders", "track", "SO-2026-000002", *store, "--plain")
    assert code == 0
    assert "Shipment S1 from BER by DHL JD0000000001" in text
    assert [row[2] for row in _rows(text)] == ["shipped", "in_transit", "delivered"]
    assert "Leipzig hub" in text
    _, document = run("orders", "track", "SO-2026-000002", *store, "--json")
    (order,) = json.loads(document)["orders"]
    (shipment,) = order["shipments"]
    assert shipment["tracking_number"] == "JD0000000001"
    assert [e["status"] for e in shipment["events"]] == ["in_transit", "delivered"]


def test_orders_track_a_customer(store: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run("orders", "track", "--customer", "C-ANNA", *store, "--plain")
    assert code == 0
    assert _rows(text) == [
        ["SO-2026-000002", "completed", "delivered", "JD0000000001", "delivered"]
    ]
    _, document = run("orders", "track", "--customer", "C-LI", *store, "--json")
    assert [o["number"] for o in json.loads(document)["orders"]] == ["SO-2026-000001"]
    assert run("orders", "track", *store)[0] == 2  # neither a number nor --customer
    assert "needs an order number or --customer" in capsys.readouterr().err


# --------------------------------------------------------------------------- stock


def test_stock_lists_items_and_reconciles(store: list[str]) -> None:
    code, text = run("stock", *store, "--plain")
    assert code == 0
    rows = _rows(text)
    assert [row[:2] for row in rows] == [
        ["LAMP-1", "NYC"],
        ["MUG-6", "BER"],
        ["MUG-6", "NYC"],
        ["MUG-6", "SHA"],
        ["TEA-100", "BER"],
        ["TEA-100", "NYC"],
        ["TEA-100", "SHA"],
    ]
    assert rows[3] == ["MUG-6", "SHA", "8", "5", "3", "4", "low"]
    assert text.strip().endswith(
        "0 discrepancies between the stock figures, reservations and ledger"
    )


def test_stock_filters_by_sku_and_warehouse(store: list[str]) -> None:
    _, mugs = run("stock", *store, "--plain", "--sku", "MUG-6")
    assert [row[1] for row in _rows(mugs)] == ["BER", "NYC", "SHA"]
    _, here = run("stock", *store, "--json", "--warehouse", "NYC", "--sku", "LAMP-1")
    document = json.loads(here)
    assert [(i["sku"], i["warehouse_id"], i["available"]) for i in document["items"]] == [
        ("LAMP-1", "NYC", "7")
    ]
    assert document["discrepancies"] == []


def test_stock_exits_1_on_a_discrepancy(tmp_path: Path) -> None:
    path = tmp_path / "drift.sqlite3"
    assert run("demo", "--store", str(path))[0] == 0
    with sqlite3.connect(path) as raw:  # a figure changed behind the ledger's back
        raw.execute("UPDATE stock_items SET on_hand = '99' WHERE sku = 'LAMP-1'")
    code, text = run("stock", "--store", str(path), "--plain")
    assert code == 1
    assert "DISCREPANCY LAMP-1 in NYC, on_hand: recorded 99, expected 12" in text
    assert "1 discrepancy between" in text
    code, document = run("stock", "--store", str(path), "--json")
    assert code == 1
    assert json.loads(document)["discrepancies"][0]["field"] == "on_hand"


# --------------------------------------------------------------------------- maintenance


def test_purge_idempotency_says_how_many(store: list[str]) -> None:
    code, text = run("purge-idempotency", *store)
    assert code == 0
    assert text.startswith("purged ") and text.endswith(" expired idempotency records\n")
    code, again = run("purge-idempotency", *store, "--json")
    assert (code, json.loads(again)) == (0, {"purged": 0})  # nothing left to purge


def test_migrate_check_on_an_up_to_date_store(store: list[str]) -> None:
    from salesorders.adapters._sql.schema import LATEST_VERSION

    assert run("migrate", "--check", *store) == (
        0,
        f"schema up to date at version {LATEST_VERSION}\n",
    )
    code, text = run("migrate", *store, "--json")
    assert code == 0
    assert json.loads(text) == {
        "schema_version": LATEST_VERSION,
        "latest_version": LATEST_VERSION,
        "applied": [],
    }


def test_orders_show_says_until_when_a_line_is_backordered(tmp_path: Path) -> None:
    import datetime as dt
    from decimal import Decimal

    from moneyed import Money

    from salesorders.adapters.sqlite import SQLiteStore
    from salesorders.domain.snapshot import IncomingStock
    from salesorders.domain.warehouse import Warehouse
    from salesorders.service import (
        ExpectStock,
        LineSpec,
        PlaceOrder,
        ReceiveStock,
        RegisterWarehouse,
        bootstrap,
    )

    path = tmp_path / "short.sqlite3"
    with SQLiteStore(path) as sqlite:
        service = bootstrap(store=sqlite)
        service.handle(RegisterWarehouse(warehouse=Warehouse("W1", "Main")))
        service.handle(ReceiveStock(sku="LAMP-1", warehouse_id="W1", quantity=1))
        eta = dt.date(2031, 5, 4)
        service.handle(ExpectStock(incoming=IncomingStock("PO-1", "LAMP-1", "W1", Decimal(9), eta)))
        placed = service.handle(
            PlaceOrder(
                customer_id="C-1",
                currency="USD",
                lines=(LineSpec("LAMP-1", 3, Money("49.00", "USD")),),
                confirm=True,
            )
        )
    code, text = run("orders", "show", str(placed.number), "--store", str(path), "--plain")
    assert code == 0
    assert "1 reserved, 2 backordered until 2031-05-04" in text
    _, document = run("orders", "show", str(placed.number), "--store", str(path), "--json")
    line = json.loads(document)["lines"][0]
    assert (line["backordered"], line["backorder_expected"]) == ("2", "2031-05-04")
