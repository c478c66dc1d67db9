"""Orders imported from spreadsheets, on every store: every bad cell found before anything is
written, all-or-nothing and good-rows modes, idempotency by the external reference."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money

from salesorders import ManualClock, ReceiveStock, RegisterWarehouse, bootstrap
from salesorders.adapters.memory import MemoryCatalog
from salesorders.domain.catalog import Product
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import BadCell, SpreadsheetError, ValidationError
from salesorders.ports import OrderQuery
from salesorders.spreadsheets import (
    ImportMode,
    ImportStatus,
    check_orders,
    import_orders,
    order_id_for,
)
from support.stores import STORE_KINDS, fresh_store

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)

ENGLISH = """reference,customer,currency,sku,quantity,unit_price,description
PO-1,C-1,USD,TEA-100,2,12.30,Green tea
PO-1,C-1,USD,CUP-6,1,4.50,
PO-2,C-2,EUR,TEA-100,3,11.00,
"""

CHINESE = """订单号,客户,币种,商品编码,数量,单价,品名
采购-1,客户-1,CNY,TEA-100,2,88.00,绿茶
采购-1,客户-1,CNY,CUP-6,1,15.50,杯子
"""


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


def _service(store: Any, **kwargs: Any) -> Any:
    return bootstrap(store=store, clock=ManualClock(T0), **kwargs)


def _orders(service: Any) -> list[Any]:
    return list(service.list_orders(OrderQuery(limit=100)).orders)


def test_an_english_file_places_one_order_per_reference(store: Any) -> None:
    service = _service(store)
    report = import_orders(service, ENGLISH.encode())
    assert report.created == ("PO-1", "PO-2")
    assert report.rows == 3
    order = service.get_order("import:PO-1")
    assert order.state == "placed" and order.number is not None
    assert [(line.sku, line.quantity, line.unit_price) for line in order.lines] == [
        ("TEA-100", Decimal(2), Decimal("12.30")),
        ("CUP-6", Decimal(1), Decimal("4.50")),
    ]
    assert order.lines[0].description == "Green tea"
    assert order.totals.money("grand_total") == Money("29.10", "USD")
    assert service.get_order("import:PO-2").currency == "EUR"
    assert report.outcome("PO-2").key == order_id_for("PO-2")


def test_chinese_headers_and_values_import_the_same_way(store: Any) -> None:
    service = _service(store)
    report = import_orders(service, CHINESE.encode("utf-8-sig"))  # with a BOM, as Excel saves
    assert report.created == ("采购-1",)
    order = service.get_order("import:采购-1")
    assert order.customer_id == "客户-1"
    assert [line.description for line in order.lines] == ["绿茶", "杯子"]
    assert order.totals.grand_total == Decimal("191.50")


def test_importing_the_same_file_again_creates_nothing(store: Any) -> None:
    service = _service(store)
    first = import_orders(service, ENGLISH.encode())
    again = import_orders(service, ENGLISH.encode())
    assert first.created == ("PO-1", "PO-2")
    assert again.created == ()
    assert again.skipped == ("PO-1", "PO-2")
    assert len(_orders(service)) == 2
    assert [o.number for o in _orders(service)] == ["SO-2026-000001", "SO-2026-000002"]


def test_drafts_and_confirmed_orders(store: Any) -> None:
    service = _service(store)
    service.handle(RegisterWarehouse(Warehouse("W1")))
    service.handle(ReceiveStock("TEA-100", "W1", 10))
    service.handle(ReceiveStock("CUP-6", "W1", 10))
    import_orders(service, ENGLISH.encode(), drafts=True, order_id_prefix="draft:")
    import_orders(service, ENGLISH.encode(), confirm=True)
    assert service.get_order("draft:PO-1").state == "draft"
    assert service.get_order("import:PO-1").state == "confirmed"
    assert sum(r.quantity for r in service.reservations("import:PO-1")) == 3


BAD = """reference,customer,currency,sku,quantity,unit_price
PO-7,C-1,USX,TEA-100,0,abc
PO-7,C-2,USD,,1,1.00
PO-8,C-1,USD,TEA-100,1.5,1.00
PO-9,C-1,USD,TEA-100,1,1.001
"""


def test_the_validation_pass_reports_every_bad_cell() -> None:
    assert check_orders(BAD.encode()) == (
        BadCell(2, "currency", "USX", "not an ISO 4217 currency code",
                "use a code such as 'USD', 'EUR' or 'JPY'"),
        BadCell(2, "quantity", "0", "must be greater than zero"),
        BadCell(2, "unit_price", "abc", "is not a decimal number", "write it like '12.50'"),
        BadCell(3, "sku", "", "is empty", "fill it in"),
        BadCell(3, "customer", "C-2", "differs from row 2's 'C-1' for this order",
                "one order has one customer, currency and customer group"),
        BadCell(4, "quantity", "1.5", "must be in whole units",
                "round the quantity to the product's unit"),
    )  # fmt: skip
    # 1.001 USD (row 5) has 3 places, within the 6 a unit price in USD may have: a good cell


def test_all_or_nothing_refuses_the_file_and_writes_nothing(store: Any) -> None:
    service = _service(store)
    with pytest.raises(SpreadsheetError) as caught:
        import_orders(service, (ENGLISH + BAD.split("\n", 1)[1]).encode())
    error = caught.value
    assert len(error.cells) == 6
    assert error.field == "rows[5].currency"  # ENGLISH's 3 rows come first
    assert _orders(service) == []
    problem = json.loads(json.dumps(error.to_problem()))
    assert problem["code"] == "spreadsheet_invalid" and problem["status"] == 422
    assert [e["field"] for e in problem["errors"]] == [
        "rows[5].currency",
        "rows[5].quantity",
        "rows[5].unit_price",
        "rows[6].sku",
        "rows[6].customer",
        "rows[7].quantity",
    ]
    assert problem["cells"][0] == {
        "row": 5,
        "column": "currency",
        "value": "USX",
        "problem": "not an ISO 4217 currency code",
        "hint": "use a code such as 'USD', 'EUR' or 'JPY'",
    }
    assert "6 bad cells" in str(error) and "nothing was imported" in str(error)


def test_good_rows_mode_imports_the_orders_without_a_bad_cell(store: Any) -> None:
    service = _service(store)
    report = import_orders(
        service, (ENGLISH + BAD.split("\n", 1)[1]).encode(), mode=ImportMode.GOOD_ROWS
    )
    assert report.created == ("PO-1", "PO-2", "PO-9")
    assert report.failed == ("PO-7", "PO-8")
    assert not report.complete
    failed = report.outcome("PO-7")
    assert failed.status is ImportStatus.FAILED and failed.code == "spreadsheet_invalid"
    assert (failed.first_row, failed.last_row, len(failed.cells)) == (5, 6, 5)
    assert "PO-7 was not imported" in failed.message
    assert len(report.bad_cells) == 6
    assert {o.id for o in _orders(service)} == {"import:PO-1", "import:PO-2", "import:PO-9"}


def test_a_bad_header_is_refused_whatever_the_mode() -> None:
    with pytest.raises(SpreadsheetError) as caught:
        check_orders(b"reference,customer,currency,sku,qtty,quantity,quantity\n")
    assert [(c.column, c.problem) for c in caught.value.cells] == [
        ("qtty", "is not a column of the orders layout"),
        ("quantity", "names the quantity column twice"),
    ]
    with pytest.raises(SpreadsheetError) as caught:
        check_orders("订单号,客户,SKU,数量\n".encode())
    assert [(c.column, c.problem) for c in caught.value.cells] == [
        ("currency", "is a required column missing from the header")
    ]
    with pytest.raises(SpreadsheetError, match="the file is empty"):
        check_orders(b"")


def test_an_order_split_across_the_file_is_a_bad_cell() -> None:
    split = "reference,customer,currency,sku,quantity\nA,C,USD,X,1\nB,C,USD,X,1\nA,C,USD,Y,1\n"
    (cell,) = check_orders(split.encode())
    assert (cell.row, cell.column, cell.value) == (4, "reference", "A")
    assert "began at row 2" in cell.problem


def test_a_row_without_a_reference_does_not_split_the_order_around_it() -> None:
    rows = "reference,customer,currency,sku,quantity\nA,C,USD,X,1\n,C,USD,Y,1\nA,C,USD,Z,1\n"
    (cell,) = check_orders(rows.encode())
    assert (cell.row, cell.column, cell.problem) == (3, "reference", "is empty")


def test_the_catalogue_checks_skus_and_quantity_places(store: Any) -> None:
    catalog = MemoryCatalog([Product("TEA-100", "kg", 3), Product("CUP-6")])
    service = _service(store, catalog=catalog)
    text = (
        "reference,customer,currency,sku,quantity,unit_price\n"
        "K-1,C-1,USD,TEA-100,0.25,40\n"
        "K-2,C-1,USD,CUP-6,0.5,3\n"
        "K-3,C-1,USD,NOPE,1,3\n"
    )
    with pytest.raises(SpreadsheetError) as caught:
        import_orders(service, text.encode())  # the service's catalogue by default
    assert [(c.row, c.column, c.problem) for c in caught.value.cells] == [
        (3, "quantity", "must be in whole units (CUP-6 is sold by the each)"),
        (4, "sku", "is not in the catalogue"),
    ]
    report = import_orders(service, text.encode(), mode="good_rows")
    assert report.created == ("K-1",)
    assert service.get_order("import:K-1").lines[0].quantity == Decimal("0.25")


def test_a_refused_placement_stops_all_or_nothing_and_is_skipped_by_good_rows(
    store: Any,
) -> None:
    service = _service(store)
    service.handle(RegisterWarehouse(Warehouse("W1")))
    service.handle(ReceiveStock("TEA-100", "W1", 4))
    text = (
        "reference,customer,currency,sku,quantity,unit_price\n"
        "S-1,C-1,USD,TEA-100,3,1\n"
        "S-2,C-1,USD,TEA-100,3,1\n"
        "S-3,C-1,USD,CUP-6,1,1\n"
    )
    report = import_orders(service, text.encode(), confirm=True, allow_backorder=False)
    assert report.created == ("S-1",)
    assert report.failed == ("S-2",)
    assert report.not_attempted == ("S-3",)
    assert report.outcome("S-2").code == "insufficient_stock"
    service.handle(ReceiveStock("TEA-100", "W1", 10))
    service.handle(ReceiveStock("CUP-6", "W1", 10))
    resumed = import_orders(service, text.encode(), confirm=True, allow_backorder=False)
    assert resumed.skipped == ("S-1",)
    assert resumed.created == ("S-2", "S-3")
    assert resumed.complete

    # 14 received, 6 reserved: 8 left. In good-rows mode a refused order does not stop the rest.
    more = (
        "reference,customer,currency,sku,quantity,unit_price\n"
        "T-1,C-1,USD,TEA-100,5,1\n"
        "T-2,C-1,USD,TEA-100,5,1\n"
        "T-3,C-1,USD,CUP-6,1,1\n"
    )
    report = import_orders(
        service, more.encode(), confirm=True, allow_backorder=False, mode="good_rows"
    )
    assert report.created == ("T-1", "T-3")
    assert report.failed == ("T-2",)
    assert report.not_attempted == ()


def test_progress_is_reported_for_both_passes(store: Any) -> None:
    service = _service(store)
    rows = "".join(f"P-{n},C-1,USD,TEA-100,1,1\n" for n in range(1200))
    calls: list[tuple[str, int, int | None]] = []
    report = import_orders(
        service,
        ("reference,customer,currency,sku,quantity,unit_price\n" + rows).encode(),
        progress=lambda phase, done, total: calls.append((phase, done, total)),
    )
    assert len(report.created) == 1200
    assert calls[0] == ("checking", 2, None)
    assert ("checking", 1201, 1201) in calls
    assert calls[-1] == ("importing", 1201, 1201)
    importing = [done for phase, done, _ in calls if phase == "importing"]
    assert importing == sorted(importing) and len(importing) >= 3


def test_bad_arguments_are_refused_by_name() -> None:
    service = bootstrap(store=_memory(), clock=ManualClock(T0))
    with pytest.raises(ValidationError) as caught:
        import_orders(service, ENGLISH.encode(), mode="some")
    assert caught.value.field == "mode"
    with pytest.raises(ValidationError) as caught:
        import_orders(service, io.StringIO(ENGLISH))  # type: ignore[arg-type]
    assert caught.value.field == "source"
    with pytest.raises(ValidationError) as caught:
        import_orders(object(), ENGLISH.encode())  # type: ignore[arg-type]
    assert caught.value.field == "service"
    with pytest.raises(ValidationError) as caught:
        import_orders(service, "orders.txt")
    assert caught.value.field == "format"
    assert _orders(service) == []


def _memory() -> Any:
    from salesorders.adapters.memory import MemoryStore

    return MemoryStore()


def test_the_docs_list_every_column_and_alias_of_every_layout() -> None:
    from salesorders.spreadsheets import LINE_COLUMNS, PRICE_COLUMNS, STOCK_COLUMNS

    page = (Path(__file__).resolve().parent.parent / "docs" / "import.md").read_text("utf-8")
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    for layout in (LINE_COLUMNS, STOCK_COLUMNS, PRICE_COLUMNS):
        for column in layout.columns:
            listed = [row for row in rows if row.startswith(f"| `{column.name}` |")]
            assert any(all(f"`{alias}`" in row for alias in column.aliases) for row in listed), (
                layout.kind,
                column.name,
            )


def test_drafts_cannot_be_confirmed_on_import() -> None:
    service = bootstrap(store=_memory(), clock=ManualClock(T0))
    with pytest.raises(ValidationError) as caught:
        import_orders(service, ENGLISH.encode(), drafts=True, confirm=True)
    assert caught.value.field == "confirm"
    assert _orders(service) == []


def test_rich_draws_the_progress_of_an_import() -> None:
    rich_console = pytest.importorskip("rich.console")
    from salesorders.spreadsheets import rich_progress

    screen = io.StringIO()
    console = rich_console.Console(file=screen, force_terminal=True, width=80)
    service = bootstrap(store=_memory(), clock=ManualClock(T0))
    with rich_progress(console=console) as progress:
        import_orders(service, ENGLISH.encode(), progress=progress)
    drawn = screen.getvalue()
    assert "checking" in drawn and "importing" in drawn
    assert "4/4" in drawn  # the header and three rows, of four


def test_an_order_imported_meanwhile_by_another_import_is_skipped(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = _service(store)
    import_orders(service, ENGLISH.encode())
    # Another import placed the orders between this one's look-up and its placement: the
    # look-up missed them, and the store refuses a second order under the same id.
    from salesorders.errors import NotFoundError

    def missed(order_id: str) -> Any:
        raise NotFoundError("order", order_id)

    monkeypatch.setattr(service, "get_order", missed)
    report = import_orders(service, ENGLISH.encode())
    assert report.skipped == ("PO-1", "PO-2")
    assert report.created == ()
    assert len(_orders(service)) == 2
