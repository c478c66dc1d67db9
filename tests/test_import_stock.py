"""Stock counts imported on every store, and price lists read from spreadsheets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from salesorders import ManualClock, PlaceOrder, ReceiveStock, RegisterWarehouse, bootstrap
from salesorders.domain.order_values import LineSpec
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import SpreadsheetError
from salesorders.pricing import PriceBook
from salesorders.spreadsheets import import_stock_counts, read_price_lists
from support.stores import STORE_KINDS, fresh_store

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(params=STORE_KINDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as store:
        running = bootstrap(store=store, clock=ManualClock(T0))
        running.handle(RegisterWarehouse(Warehouse("W1")))
        running.handle(RegisterWarehouse(Warehouse("W2")))
        yield running


def _on_hand(service: Any) -> dict[tuple[str, str], Decimal]:
    return {(i.sku, i.warehouse_id): i.on_hand for i in service.stock_items()}


COUNTS = """SKU,仓库,盘点数量
TEA-100,W1,10
TEA-100,W2,4
CUP-6,W1,0
"""


def test_counts_receive_new_stock_and_count_recorded_stock(service: Any) -> None:
    service.handle(ReceiveStock("CUP-6", "W1", 7))
    report = import_stock_counts(service, COUNTS.encode(), actor="counter")
    assert report.created == ("TEA-100@W1", "TEA-100@W2", "CUP-6@W1")
    assert _on_hand(service) == {
        ("CUP-6", "W1"): Decimal(0),
        ("TEA-100", "W1"): Decimal(10),
        ("TEA-100", "W2"): Decimal(4),
    }
    assert service.reconcile_stock() == ()


def test_importing_the_counts_again_writes_nothing(service: Any) -> None:
    import_stock_counts(service, COUNTS.encode())
    entries = len(_ledger(service))
    again = import_stock_counts(service, COUNTS.encode())
    assert again.created == ()
    assert again.skipped == ("TEA-100@W1", "TEA-100@W2", "CUP-6@W1")
    assert len(_ledger(service)) == entries


def _ledger(service: Any) -> tuple[Any, ...]:
    with service.uow_factory() as uow:
        return tuple(uow.stock.ledger())


def test_a_count_below_what_is_reserved_is_refused_unless_released(service: Any) -> None:
    service.handle(ReceiveStock("TEA-100", "W1", 10))
    service.handle(
        PlaceOrder(
            "C-1", "USD", (LineSpec("TEA-100", 6, Decimal(1)),), order_id="O-1", confirm=True
        )
    )
    counts = b"sku,warehouse,counted\nTEA-100,W1,2\nTEA-100,W2,5\n"
    report = import_stock_counts(service, counts)
    assert report.failed == ("TEA-100@W1",)
    assert report.not_attempted == ("TEA-100@W2",)
    assert _on_hand(service)[("TEA-100", "W1")] == Decimal(10)
    report = import_stock_counts(service, counts, release_excess=True)
    assert report.created == ("TEA-100@W1", "TEA-100@W2")
    assert _on_hand(service)[("TEA-100", "W1")] == Decimal(2)


def test_bad_counts_are_all_reported_and_nothing_is_written(service: Any) -> None:
    counts = "sku,warehouse,counted,batch\nTEA-100,W1,-1,\n,W1,3,\nTEA-100,W1,x,\nCUP-6,W1,2,B1\nCUP-6,W1,3,B1\n"
    with pytest.raises(SpreadsheetError) as caught:
        import_stock_counts(service, counts.encode())
    assert [(c.row, c.column) for c in caught.value.cells] == [
        (2, "counted"),
        (3, "sku"),
        (4, "counted"),
        (4, "sku"),
        (6, "sku"),
    ]
    assert "counted twice in W1 (row 2 too)" in caught.value.cells[3].problem
    assert "counted twice in W1 (row 5 too)" in caught.value.cells[4].problem
    assert _on_hand(service) == {}
    report = import_stock_counts(service, counts.encode(), mode="good_rows")
    assert report.created == ("CUP-6@W1/B1",)
    assert _on_hand(service) == {("CUP-6", "W1"): Decimal(2)}


def test_an_unknown_warehouse_fails_its_count(service: Any) -> None:
    report = import_stock_counts(service, b"sku,warehouse,counted\nTEA-100,NOPE,1\n")
    assert report.failed == ("TEA-100@NOPE",)
    assert report.outcome("TEA-100@NOPE").code == "unknown_warehouse"


# --------------------------------------------------------------------------- price lists

PRICES = """价目表,币种,SKU,单价,起订量,客户组,名称
RETAIL,USD,TEA-100,12.00,,,Retail
RETAIL,USD,TEA-100,10.00,10,,Retail
VIP,USD,TEA-100,9.00,,vip,VIP
RETAIL,USD,CUP-6,4.50,,,Retail
"""


def test_price_lists_are_read_into_a_price_book() -> None:
    lists = read_price_lists(PRICES.encode())
    assert [(p.id, p.currency, p.customer_group, p.name) for p in lists] == [
        ("RETAIL", "USD", None, "Retail"),
        ("VIP", "USD", "vip", "VIP"),
    ]
    book = PriceBook(lists)
    assert book.quote("TEA-100", "USD", Decimal(3)).unit_price == Decimal("12.00")
    assert book.quote("TEA-100", "USD", Decimal(12)).unit_price == Decimal("10.00")
    assert book.quote("TEA-100", "USD", Decimal(1), "vip").unit_price == Decimal("9.00")
    assert book.quote("CUP-6", "USD", Decimal("0.5")).unit_price == Decimal("4.50")


def test_bad_price_rows_are_all_reported() -> None:
    text = (
        "price_list,currency,sku,unit_price,min_quantity,customer_group\n"
        "L1,USD,TEA-100,12.001234567,,\n"
        "L1,EUR,TEA-100,1,5,\n"
        "L1,USD,TEA-100,2,,\n"
        "L2,USD,CUP-6,-1,-3,\n"
    )
    with pytest.raises(SpreadsheetError) as caught:
        read_price_lists(text.encode())
    assert [(c.row, c.column, c.value) for c in caught.value.cells] == [
        (2, "unit_price", "12.001234567"),
        (4, "currency", "USD"),  # row 3 (row 2 refused) made L1 a list in EUR
        (5, "unit_price", "-1"),
        (5, "min_quantity", "-3"),
    ]


def test_a_second_break_at_the_same_quantity_is_refused() -> None:
    text = "price_list,currency,sku,unit_price,min_quantity\nL1,USD,T,1,5\nL1,USD,T,2,5\n"
    with pytest.raises(SpreadsheetError) as caught:
        read_price_lists(text.encode())
    (cell,) = caught.value.cells
    assert (cell.row, cell.column) == (3, "min_quantity")
    assert "second break of T from 5" in cell.problem


def test_reading_price_lists_reports_progress() -> None:
    calls: list[tuple[str, int, int | None]] = []
    read_price_lists(PRICES.encode(), progress=lambda *call: calls.append(call))
    assert calls == [("checking", 2, None), ("checking", 5, 5)]
