"""Barcodes: GTINs checked with python-stdnum, looked up as SKUs, scanned onto orders placed on
every store, and read from an order file's barcode column."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money

pytest.importorskip("stdnum")

from salesorders import ManualClock, bootstrap
from salesorders.adapters.memory import MemoryCatalog
from salesorders.barcodes import MemoryBarcodes, ScanEntry, check_gtin, gtin14
from salesorders.domain.catalog import Product
from salesorders.errors import InvalidBarcodeError, SpreadsheetError, ValidationError
from salesorders.spreadsheets import check_orders, import_orders
from support.stores import STORE_KINDS, fresh_store

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)

EAN13 = "4006381333931"  # a real EAN-13
UPC = "036000291452"  # a UPC-A; its EAN-13 form is 0036000291452
EAN8 = "73513537"
GTIN14 = "98412345678908"


@pytest.mark.parametrize("code", [EAN13, UPC, EAN8, GTIN14, "400-6381 333931"])
def test_valid_gtins_pass_as_their_digits(code: str) -> None:
    assert check_gtin(code) == code.replace("-", "").replace(" ", "")
    assert len(gtin14(code)) == 14


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("4006381333932", "has a wrong check digit (the last digit)"),
        ("036000291453", "has a wrong check digit (the last digit)"),
        ("40063813339", "must have 8, 12, 13 or 14 digits (GTIN-8, UPC-A, EAN-13, GTIN-14)"),
        ("40063813339311", "has a wrong check digit (the last digit)"),
        ("400638133393X", "must be digits only"),
        ("123", "must have 8, 12, 13 or 14 digits (GTIN-8, UPC-A, EAN-13, GTIN-14)"),
    ],
)
def test_bad_gtins_are_refused_naming_the_field(code: str, problem: str) -> None:
    with pytest.raises(InvalidBarcodeError) as caught:
        check_gtin(code, "lines[2].barcode")
    error = caught.value
    assert (error.field, error.value, error.problem) == ("lines[2].barcode", code, problem)
    assert error.code == "invalid_barcode" and error.hint
    with pytest.raises(InvalidBarcodeError):
        check_gtin(4006381333931)  # type: ignore[arg-type]


def test_a_upc_and_its_ean13_form_are_one_code() -> None:
    barcodes = MemoryBarcodes({UPC: "COLA-12"})
    assert barcodes.sku_for(gtin14("0" + UPC)) == "COLA-12"
    barcodes.add("0" + UPC, "COLA-12")  # the same code again, the same SKU: fine
    with pytest.raises(ValidationError, match="already names COLA-12"):
        barcodes.add("00" + UPC, "OTHER")
    with pytest.raises(InvalidBarcodeError):
        MemoryBarcodes({"4006381333932": "X"})


def _entry(**kwargs: Any) -> ScanEntry:
    return ScanEntry(MemoryBarcodes({EAN13: "TEA-100", UPC: "COLA-12"}), **kwargs)


def test_scanning_a_sku_again_adds_to_its_line() -> None:
    entry = _entry()
    entry.scan(EAN13)
    entry.scan(UPC, 6)
    line = entry.scan(EAN13, unit_price=Money("12.30", "USD"))
    entry.add("TEA-100", "2")
    assert [(x.sku, x.quantity, x.unit_price) for x in entry.lines] == [
        ("TEA-100", Decimal(4), Money("12.30", "USD")),
        ("COLA-12", Decimal(6), None),
    ]
    assert line.quantity == Decimal(2)


def test_a_refused_scan_changes_nothing() -> None:
    entry = _entry()
    entry.scan(EAN13, unit_price=Money("12.30", "USD"))
    before = entry.lines
    with pytest.raises(ValidationError) as caught:
        entry.scan(EAN13, unit_price=Money("11.00", "USD"))
    assert caught.value.field == "unit_price"
    with pytest.raises(ValidationError, match="not in the barcode catalogue"):
        entry.scan(EAN8)
    with pytest.raises(InvalidBarcodeError):
        entry.scan("4006381333932")
    with pytest.raises(ValidationError) as caught:
        entry.scan(EAN13, 0)
    assert caught.value.field == "quantity"
    with pytest.raises(ValidationError) as caught:
        entry.scan(EAN13, "0.5")
    assert entry.lines == before


def test_the_catalogue_gives_the_quantity_places() -> None:
    catalog = MemoryCatalog([Product("TEA-100", "kg", 3)])
    entry = _entry(catalog=catalog)
    entry.scan(EAN13, "0.250")
    entry.scan(EAN13, "0.5")
    assert entry.lines[0].quantity == Decimal("0.750")
    with pytest.raises(ValidationError, match="not in the catalogue"):
        entry.scan(UPC)


@pytest.fixture(params=STORE_KINDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as store:
        yield bootstrap(store=store, clock=ManualClock(T0))


def test_scanned_lines_place_an_order_and_a_draft(service: Any) -> None:
    entry = _entry()
    for code in (EAN13, UPC, EAN13, EAN13):
        entry.scan(code, unit_price=Money("2.00", "USD"))
    result = service.handle(entry.place_order("C-1", "USD", order_id="SCAN-1"))
    order = service.get_order(result.order_id)
    assert [(x.sku, x.quantity) for x in order.lines] == [
        ("TEA-100", Decimal(3)),
        ("COLA-12", Decimal(1)),
    ]
    assert order.totals.grand_total == Decimal("8.00")
    draft = service.handle(entry.create_draft("C-1", "USD", order_id="SCAN-2"))
    assert service.get_order(draft.order_id).state == "draft"
    entry.clear()
    with pytest.raises(ValidationError, match="are empty"):
        entry.place_order("C-1", "USD")


def test_an_order_file_may_name_barcodes_instead_of_skus(service: Any) -> None:
    barcodes = MemoryBarcodes({EAN13: "TEA-100", UPC: "COLA-12"})
    text = (
        f"订单号,客户,币种,条码,数量,单价\nB-1,C-1,USD,{EAN13},2,1.00\nB-1,C-1,USD,0{UPC},1,1.00\n"
    )
    report = import_orders(service, text.encode(), barcodes=barcodes)
    assert report.created == ("B-1",)
    assert [x.sku for x in service.get_order("import:B-1").lines] == ["TEA-100", "COLA-12"]
    bad = text + f"B-2,C-1,USD,{EAN8},1,1.00\nB-2,C-1,USD,4006381333932,1,1.00\n"
    cells = check_orders(bad.encode(), barcodes=barcodes)
    assert [(c.row, c.column, c.problem) for c in cells] == [
        (4, "条码", "is not in the barcode catalogue"),
        (5, "条码", "has a wrong check digit (the last digit)"),
    ]
    with pytest.raises(ValidationError) as caught:
        import_orders(service, text.encode())
    assert caught.value.field == "barcodes"
    with pytest.raises(SpreadsheetError):
        import_orders(service, bad.encode(), barcodes=barcodes)


def test_a_free_line_keeps_its_zero_price() -> None:
    entry = _entry()
    entry.scan(EAN13, unit_price=Money("0.00", "USD"))  # a free sample
    with pytest.raises(ValidationError):
        entry.scan(EAN13, unit_price=Money("5.00", "USD"))
    entry.scan(EAN13)
    assert [(x.quantity, x.unit_price) for x in entry.lines] == [(Decimal(2), Money("0", "USD"))]


def test_without_python_stdnum_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from salesorders.errors import MissingExtraError

    real = builtins.__import__

    def no_stdnum(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("stdnum"):
            raise ImportError("no stdnum here")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_stdnum)
    with pytest.raises(MissingExtraError) as caught:
        check_gtin(EAN13)
    assert caught.value.extra == "barcodes"
    assert 'pip install "salesorders[barcodes]"' in str(caught.value)
    assert caught.value.to_problem()["status"] == 501
