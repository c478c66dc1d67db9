"""``salesorders report``: the analytics as tables, JSON and charts, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path

import pytest

from salesorders.cli import main
from salesorders.cli.output import display_width

DOCS_CHART = Path(__file__).resolve().parent.parent / "docs" / "images" / "report-by-sku.svg"
#: The command that drew docs/images/report-by-sku.svg from the demo's store.
DOCS_CHART_COMMAND = [
    "report", "--from", "2026-11-01", "--to", "2026-11-30", "--group-by", "sku",
    "--currency", "USD", "--rate", "CNY=0.14", "--rate", "EUR=1.08", "--rate", "JPY=0.0066",
]  # fmt: skip
NOVEMBER = ["--from", "2026-11-01", "--to", "2026-11-30"]


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def postgres_dsn() -> str:
    from tests.conftest import POSTGRES_DSN

    if not POSTGRES_DSN:
        pytest.skip("SALESORDERS_TEST_POSTGRES_DSN is not set; PostgreSQL tests need a server")
    return POSTGRES_DSN


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[str]]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("report") / "demo.sqlite3"
        assert run("demo", "--store", str(path))[0] == 0
        yield ["--store", str(path)]
        return
    dsn = request.getfixturevalue("postgres_dsn")
    psycopg = pytest.importorskip("psycopg")
    from salesorders.adapters.postgres import PostgresStore
    from salesorders.cli.demo_scenes import play_demo

    schema = f"so_cli_report_{uuid.uuid4().hex[:10]}"
    with PostgresStore(dsn, schema=schema, max_size=2) as postgres:
        play_demo(postgres)
    try:
        yield ["--store", dsn, "--schema", schema]
    finally:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'.encode())


def test_report_tables(store: list[str]) -> None:
    code, text = run("report", *store, *NOVEMBER, "--period", "day", "--plain")
    assert code == 0
    lines = text.splitlines()
    assert lines[0] == "Orders placed from 2026-11-01 00:00 up to 2026-12-01 00:00 UTC, per day"
    assert lines[1].split() == [
        "day", "orders", "value", "cancel", "backord", "return", "on", "time",
    ]  # fmt: skip
    assert lines[3].split()[:2] == ["2026-11-27", "5"]
    assert "20.0%" in lines[3]  # one of five orders was cancelled
    for part in ("Lead times", "placed to confirmed", "Top SKUs", "Top customers", "C-ACME"):
        assert part in text
    assert all(display_width(line) <= 80 for line in lines)


def test_report_in_a_reporting_currency_by_group(store: list[str]) -> None:
    code, text = run(*DOCS_CHART_COMMAND, *store, "--plain")
    assert code == 0
    rows = {line.split()[1]: line.split() for line in text.splitlines() if "2026-11-01  " in line}
    assert rows["LAMP-1"][2:4] == ["1", "$225.00"]
    assert set(rows) >= {"LAMP-1", "MUG-6", "TEA-100"}


def test_report_json(store: list[str]) -> None:
    code, text = run("report", *store, *NOVEMBER, "--json", "--top", "2")
    assert code == 0
    document = json.loads(text)
    assert list(document) == ["report", "lead_times", "top_skus", "top_customers"]
    (row,) = document["report"]["rows"]
    assert (row["period"], row["orders"], row["cancelled"]) == ("2026-11-01", 5, 1)
    assert [s["sku"] for s in document["top_skus"]] == ["MUG-6", "TEA-100"]
    assert len(document["top_customers"]) == 2


def test_an_empty_window_says_so(store: list[str]) -> None:
    code, text = run("report", *store, "--from", "2020-01-01", "--to", "2020-01-31")
    assert code == 0
    assert "no orders placed in this window" in text


def test_report_input_errors(store: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run("report", *store, "--from", "2026-12-01", "--to", "2026-11-01")[0] == 2
    assert "must be after start" in capsys.readouterr().err
    assert run("report", *store, *NOVEMBER, "--currency", "USD")[0] == 2  # no rate for CNY
    assert "no exchange rate from CNY to USD" in capsys.readouterr().err
    assert run("report", *store, *NOVEMBER, "--rate", "EUR")[0] == 2
    assert "--rate: must be CURRENCY=RATE" in capsys.readouterr().err
    assert run("report", *store, "--chart", "report.gif")[0] == 2
    assert "--chart: must end in .png or .svg" in capsys.readouterr().err


def test_report_rows_written_to_a_spreadsheet(store: list[str], tmp_path: Path) -> None:
    target = tmp_path / "report.csv"
    code, text = run("report", *store, *NOVEMBER, "--group-by", "sku", "--output", str(target))
    assert code == 0
    assert "Rows written to" in text and text.rstrip().endswith(target.name)
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert rows[0][:4] == ["period", "group", "orders", "values"]
    by_sku = {row[1]: row for row in rows[1:]}
    assert by_sku["LAMP-1"][2:4] == ["1", "225.00 USD"]
    assert set(by_sku) == {"LAMP-1", "MUG-6", "TEA-100"}
    assert run("report", *store, "--output", str(tmp_path / "r.txt"))[0] == 2
    assert run("report", *store, "--output", str(tmp_path / "no" / "r.csv"))[0] == 2


def test_the_docs_chart_is_drawn_by_the_code(store: list[str], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    svg = tmp_path / "report.svg"
    code, _ = run(*DOCS_CHART_COMMAND, *store, "--chart", str(svg))
    assert code == 0
    root = ElementTree.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = svg.read_text(encoding="utf-8")
    assert "Value (USD) by sku, 2026-11-01 to 2026-11-30" in text
    committed = DOCS_CHART.read_text(encoding="utf-8")
    assert ElementTree.fromstring(committed).tag == root.tag
    assert "Value (USD) by sku, 2026-11-01 to 2026-11-30" in committed
    again = tmp_path / "again.svg"
    assert run(*DOCS_CHART_COMMAND, *store, "--chart", str(again))[0] == 0
    assert again.read_bytes() == svg.read_bytes()  # reproducible: the same data, the same file


def test_a_png_chart(store: list[str], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "report.png"
    assert run("report", *store, *NOVEMBER, "--period", "day", "--chart", str(png))[0] == 0
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    assert (int.from_bytes(data[16:20]), int.from_bytes(data[20:24])) == (800, 450)


def test_a_terminal_preview(store: list[str]) -> None:
    pytest.importorskip("plotext")
    code, text = run("report", *store, *NOVEMBER, "--group-by", "customer", "--preview")
    assert code == 0
    chart = text[text.index("Orders by customer, 2026-11-01 to 2026-11-30") :]
    assert "█" in chart
    assert "C-ACME" in chart and "C-SMITH" in chart
    assert "\x1b[" not in text  # no colours outside a terminal
    assert all(display_width(line) <= 80 for line in text.splitlines())


def test_charts_without_their_extra_name_it(
    store: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "plotext", None)
    assert run("report", *store, *NOVEMBER, "--chart", str(tmp_path / "r.svg"))[0] == 2
    err = capsys.readouterr().err
    assert "--chart needs the matplotlib package, which is not installed" in err
    assert 'pip install "salesorders[charts]"' in err
    assert not (tmp_path / "r.svg").exists()
    assert run("report", *store, *NOVEMBER, "--preview") == (2, "")  # refused before any output
    assert "--preview needs the plotext package" in capsys.readouterr().err
