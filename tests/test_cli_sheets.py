"""``salesorders import`` and ``export``: spreadsheets in and out, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from salesorders.cli import main

ORDERS = """reference,customer,currency,sku,quantity,unit_price
WEB-1001,C-NEW,USD,MUG-6,2,6.50
WEB-1001,C-NEW,USD,TEA-100,1,12.50
WEB-1002,C-LI,USD,LAMP-1,x,49.00
WEB-1003,C-NEW,USD,LAMP-1,1,49.00
"""


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def joined(text: str) -> str:
    """The text with wrapped lines joined again (a long path wraps)."""
    return " ".join(line.strip() for line in text.splitlines())


@pytest.fixture
def postgres_store(postgres_dsn: str) -> Iterator[list[str]]:
    psycopg = pytest.importorskip("psycopg")
    from salesorders.adapters.postgres import PostgresStore
    from salesorders.cli.demo_scenes import play_demo

    schema = f"so_cli_sheets_{uuid.uuid4().hex[:10]}"
    with PostgresStore(postgres_dsn, schema=schema, max_size=2) as postgres:
        play_demo(postgres)
    try:
        yield ["--store", postgres_dsn, "--schema", schema]
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'.encode())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    """A store holding the demo's data, fresh for each test (imports write)."""
    if request.param == "postgres":
        where: list[str] = request.getfixturevalue("postgres_store")
        return where
    path = tmp_path / "demo.sqlite3"
    assert run("demo", "--store", str(path))[0] == 0
    return ["--store", str(path)]


@pytest.fixture
def orders_csv(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS, encoding="utf-8")
    return path


def test_check_reports_bad_cells_and_writes_nothing(store: list[str], orders_csv: Path) -> None:
    code, text = run("import", "orders", str(orders_csv), "--check", *store, "--plain")
    assert code == 1
    assert joined(text).startswith(f"{orders_csv}: 1 bad cell; nothing was written")
    assert ["4", "quantity", "x"] in [line.split()[:3] for line in text.splitlines()]
    code, document = run("import", "orders", str(orders_csv), "--check", "--json", *store)
    assert code == 1
    (cell,) = json.loads(document)["bad_cells"]
    assert (cell["row"], cell["column"], cell["value"]) == (4, "quantity", "x")
    assert json.loads(run("orders", "list", *store, "--json")[1])["total"] == 5


def test_all_or_nothing_refuses_a_bad_file(
    store: list[str], orders_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("import", "orders", str(orders_csv), *store) == (2, "")
    assert "row 4 quantity: is not a decimal number" in capsys.readouterr().err
    assert json.loads(run("orders", "list", *store, "--json")[1])["total"] == 5


def test_good_rows_writes_the_good_orders_and_exits_1(store: list[str], orders_csv: Path) -> None:
    code, text = run("import", "orders", str(orders_csv), "--good-rows", "--confirm", *store)
    assert code == 1  # part of the file was not written
    assert "created 2, skipped 0 (already there), failed 1, not attempted 0" in joined(text)
    assert "WEB-1002" in text and "Bad cells" in text
    _, listing = run("orders", "list", *store, "--json", "--customer", "C-NEW")
    assert [o["state"] for o in json.loads(listing)["orders"]] == ["confirmed", "confirmed"]
    code, again = run("import", "orders", str(orders_csv), "--good-rows", "--json", *store)
    assert code == 1
    statuses = {o["reference"]: o["status"] for o in json.loads(again)["outcomes"]}
    assert statuses == {"WEB-1001": "skipped", "WEB-1002": "failed", "WEB-1003": "skipped"}


def test_a_good_file_imports_and_exits_0(store: list[str], tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("".join(ORDERS.splitlines(keepends=True)[:3]), encoding="utf-8")
    code, text = run("import", "orders", str(good), *store)
    assert code == 0
    assert "created 1," in text


def test_stock_counts(store: list[str], tmp_path: Path) -> None:
    counts = tmp_path / "counts.csv"
    counts.write_text("sku,warehouse,counted\nMUG-6,BER,11\nTEA-100,NYC,6\n", encoding="utf-8")
    code, text = run("import", "stock", str(counts), *store, "--json")
    assert code == 0
    statuses = [o["status"] for o in json.loads(text)["outcomes"]]
    assert statuses == ["created", "skipped"]  # TEA-100 in NYC was already 6
    _, stock = run("stock", *store, "--json", "--sku", "MUG-6", "--warehouse", "BER")
    assert json.loads(stock)["items"][0]["on_hand"] == "11"


def test_export_orders_and_lines(store: list[str], tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    code, text = run("export", "orders", str(orders), *store, "--state", "confirmed")
    assert (code, joined(text)) == (0, f"wrote 3 orders to {orders}")
    with orders.open(encoding="utf-8-sig") as stream:
        rows = list(csv.DictReader(stream))
    assert [r["number"] for r in rows] == ["SO-2026-000001", "SO-2026-000003", "SO-2026-000005"]
    lines = tmp_path / "lines.csv"
    code, text = run("export", "lines", str(lines), *store, "--sku", "LAMP-1", "--json")
    assert (code, json.loads(text)) == (0, {"file": str(lines), "kind": "lines", "rows": 2})


def test_export_pages_keep_the_sku_filter(tmp_path: Path) -> None:
    # More orders than one page of the export: every page keeps the filters.
    from moneyed import Money

    from salesorders.adapters.sqlite import SQLiteStore
    from salesorders.service import LineSpec, PlaceOrder, bootstrap

    path = tmp_path / "many.sqlite3"
    with SQLiteStore(path) as sqlite:
        service = bootstrap(store=sqlite)
        for n in range(1100):
            sku = "TEA-100" if n % 2 else "MUG-6"
            service.handle(
                PlaceOrder(
                    customer_id=f"C-{n}",
                    currency="USD",
                    lines=(LineSpec(sku, 1, Money("1.00", "USD")),),
                )
            )
    out = tmp_path / "tea.csv"
    code, text = run("export", "orders", str(out), "--store", str(path), "--sku", "TEA-100")
    assert (code, joined(text)) == (0, f"wrote 550 orders to {out}")


def test_xlsx_export(store: list[str], tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = tmp_path / "orders.xlsx"
    assert run("export", "orders", str(book), *store)[0] == 0
    sheet = openpyxl.load_workbook(book).active
    assert sheet.max_row == 6  # a header and five orders


def test_file_errors_are_input_errors(store: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run("import", "orders", "missing.csv", *store)[0] == 2
    assert "missing.csv" in capsys.readouterr().err
    assert run("export", "orders", "/nonexistent-dir/x.csv", *store)[0] == 2
    assert "No such file or directory" in capsys.readouterr().err
