"""Exports to CSV and XLSX: formula payloads neutralised in both formats, money as exact text
beside its currency, orders and lines from every store."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from moneyed import Money

from salesorders import LineSpec, ManualClock, PlaceOrder, bootstrap
from salesorders.errors import ValidationError
from salesorders.ports import OrderQuery
from salesorders.spreadsheets import (
    LINE_EXPORT_COLUMNS,
    ORDER_EXPORT_COLUMNS,
    export_lines,
    export_orders,
    iter_orders,
    neutralise,
    write_records,
    write_table,
)
from support.stores import STORE_KINDS, fresh_store

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)

#: What a spreadsheet program would run: OWASP's CSV injection payloads.
PAYLOADS = [
    '=HYPERLINK("http://evil.example","click")',
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "-2+3+cmd|' /C calc'!A0",
]


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_neutralise_quotes_what_a_spreadsheet_would_run() -> None:
    assert [neutralise(p) for p in PAYLOADS] == ["'" + p for p in PAYLOADS]
    assert neutralise("Green tea") == "Green tea"
    assert neutralise("a=b") == "a=b"
    assert neutralise("") == ""


def test_csv_cells_with_payloads_are_neutralised() -> None:
    stream = io.BytesIO()
    rows = [(payload, Decimal("-1.50"), 3) for payload in PAYLOADS]
    assert write_table(stream, ["=name", "amount", "count"], rows, format="csv") == len(PAYLOADS)
    data = stream.getvalue()
    assert data.startswith(b"\xef\xbb\xbf")  # a byte order mark: Excel reads it as UTF-8
    read = _csv_rows(data)
    assert read[0] == ["'=name", "amount", "count"]
    assert [row[0] for row in read[1:]] == ["'" + p for p in PAYLOADS]
    assert {row[1] for row in read[1:]} == {"-1.50"}  # numbers the library computes stay numbers
    assert all(
        not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in read for cell in row[:1]
    )


def test_xlsx_cells_with_payloads_are_text_never_formulas() -> None:
    openpyxl = pytest.importorskip("openpyxl")
    stream = io.BytesIO()
    rows = [(payload, Decimal("12.30"), 3) for payload in PAYLOADS]
    write_table(stream, ["name", "amount", "count"], rows, format="xlsx", sheet="Orders")
    workbook = openpyxl.load_workbook(io.BytesIO(stream.getvalue()))  # formulas kept as written
    sheet = workbook["Orders"]
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    # XML reads a carriage return back as a line feed; the leading quote is what matters
    assert [cell.value for cell in cells] == ["'" + p.replace("\r", "\n") for p in PAYLOADS]
    assert {cell.data_type for cell in cells} == {"s"}  # text, not "f" (formula)
    amount = sheet["B2"]
    assert (amount.value, amount.data_type) == ("12.30", "s")  # exact decimal text
    assert (sheet["C2"].value, sheet["C2"].data_type) == (3, "n")


def test_floats_and_ragged_rows_are_refused() -> None:
    with pytest.raises(ValidationError, match="holds a float"):
        write_table(io.BytesIO(), ["a"], [(1.5,)], format="csv")
    with pytest.raises(ValidationError) as caught:
        write_table(io.BytesIO(), ["a", "b"], [(1, 2), (3,)], format="csv")
    assert caught.value.field == "rows[1]"
    with pytest.raises(ValidationError) as caught:
        write_table(io.BytesIO(), ["a"], [], format="ods")
    assert caught.value.field == "format"
    with pytest.raises(ValidationError) as caught:
        write_table(io.BytesIO(), ["a"], [])
    assert caught.value.field == "format"


@pytest.fixture(params=STORE_KINDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as store:
        running = bootstrap(store=store, clock=ManualClock(T0))
        for n, name in enumerate(["=cmd|' /C calc'!A0", "Tea & co", "@evil"]):
            running.handle(
                PlaceOrder(
                    name,
                    "USD" if n != 1 else "JPY",
                    (
                        LineSpec("TEA-100", 3, Decimal("0.10") if n != 1 else Decimal(100)),
                        LineSpec("CUP-6", 1, Decimal("4.55") if n != 1 else Decimal(450),
                                 description="+SUM(A1:A9)"),
                    ),
                    order_id=f"O-{n}",
                )
            )  # fmt: skip
        yield running


def test_orders_and_lines_export_from_every_store(service: Any, tmp_path: Path) -> None:
    orders_csv = tmp_path / "orders.csv"
    assert export_orders(orders_csv, iter_orders(service)) == 3
    rows = _csv_rows(orders_csv.read_bytes())
    assert tuple(rows[0]) == ORDER_EXPORT_COLUMNS
    by_id = {row[0]: dict(zip(ORDER_EXPORT_COLUMNS, row, strict=True)) for row in rows[1:]}
    assert by_id["O-0"]["customer_id"] == "'=cmd|' /C calc'!A0"
    assert by_id["O-2"]["customer_id"] == "'@evil"
    assert (by_id["O-0"]["grand_total"], by_id["O-0"]["currency"]) == ("4.85", "USD")
    assert (by_id["O-1"]["grand_total"], by_id["O-1"]["currency"]) == ("750", "JPY")
    assert by_id["O-0"]["created_at"] == "2026-03-01T09:00:00+00:00"

    lines = io.BytesIO()
    assert export_lines(lines, iter_orders(service), format="csv") == 6
    rows = _csv_rows(lines.getvalue())
    assert tuple(rows[0]) == LINE_EXPORT_COLUMNS
    cup = dict(zip(LINE_EXPORT_COLUMNS, rows[2], strict=True))
    assert cup["description"] == "'+SUM(A1:A9)"
    assert (cup["unit_price"], cup["amount"], cup["currency"]) == ("4.55", "4.55", "USD")


def test_iter_orders_pages_through_every_order(service: Any) -> None:
    orders = list(iter_orders(service, OrderQuery(limit=1)))
    assert [o.id for o in orders] == ["O-0", "O-1", "O-2"]
    assert [o.id for o in iter_orders(service, OrderQuery(limit=2, newest_first=True))] == [
        "O-2",
        "O-1",
        "O-0",
    ]


def test_iter_orders_keeps_every_filter_on_every_page(service: Any) -> None:
    usd = OrderQuery(limit=1, sku="CUP-6", customer_id="@evil")
    assert [o.id for o in iter_orders(service, usd)] == ["O-2"]
    by_sku = [o.id for o in iter_orders(service, OrderQuery(limit=1, sku="CUP-6"))]
    assert by_sku == ["O-0", "O-1", "O-2"]
    assert list(iter_orders(service, OrderQuery(limit=1, sku="NONE"))) == []


def test_orders_export_to_xlsx(service: Any, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    target = tmp_path / "lines.xlsx"
    export_lines(target, iter_orders(service))
    sheet = openpyxl.load_workbook(target).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == LINE_EXPORT_COLUMNS
    assert values[2][4] == "'+SUM(A1:A9)"
    assert sheet["E3"].data_type == "s"


@attrs.frozen
class DayRow:
    day: dt.date
    orders: int
    value: Money
    average: Money | None
    note: str


def test_records_are_written_with_a_currency_beside_each_amount() -> None:
    rows = [
        DayRow(dt.date(2026, 3, 1), 2, Money("10.50", "USD"), Money("5.25", "USD"), "=1+1"),
        DayRow(dt.date(2026, 3, 2), 0, Money("0", "JPY"), None, "quiet"),
    ]
    stream = io.BytesIO()
    assert write_records(stream, rows, format="csv") == 2
    assert _csv_rows(stream.getvalue()) == [
        ["day", "orders", "value", "value_currency", "average", "average_currency", "note"],
        ["2026-03-01", "2", "10.50", "USD", "5.25", "USD", "'=1+1"],
        ["2026-03-02", "0", "0", "JPY", "", "", "quiet"],
    ]
    empty = io.BytesIO()
    assert write_records(empty, [], record_type=DayRow, format="csv") == 0
    assert _csv_rows(empty.getvalue())[0][2:4] == ["value", "value_currency"]
    with pytest.raises(ValidationError) as caught:
        write_records(io.BytesIO(), [rows[0], (1, 2)], format="csv")
    assert caught.value.field == "records[1]"
    with pytest.raises(ValidationError) as caught:
        write_records(io.BytesIO(), [], format="csv")
    assert caught.value.field == "record_type"


@attrs.frozen
class PeriodRow:
    period: dt.date
    values: tuple[Money, ...]
    tags: tuple[str, ...]


def test_a_cell_of_several_values_is_exact_text_and_neutralised() -> None:
    rows = [PeriodRow(dt.date(2026, 3, 1), (Money("110.50", "USD"), Money("5.31", "EUR")), ("-1",))]
    stream = io.BytesIO()
    write_records(stream, rows, format="csv")
    assert _csv_rows(stream.getvalue())[1] == ["2026-03-01", "110.50 USD; 5.31 EUR", "'-1"]
