"""What placing and confirming an order writes on SQLite, counted (never timed): statements per
order, and the reservation step answered from the rows its snapshot read; and, on every store,
that an order id given by the caller (or a host's id factory) which is already stored is still
refused with nothing changed."""

from __future__ import annotations

import datetime as dt
import sqlite3
import struct
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money

from salesorders.adapters._sql.dialect import SQLiteDialect
from salesorders.adapters._sql.statements import Statements
from salesorders.adapters.sqlite import SQLiteStore
from salesorders.domain.plan import Allocation, AllocationPlan
from salesorders.domain.stock import StockDesk
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import ConflictError
from salesorders.service import (
    CancelOrder,
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
    SetStockLevels,
    bootstrap,
)
from support.stores import STORE_KINDS, fresh_store

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
SKUS = ("SKU-A", "SKU-B", "SKU-C")


def _service(store: Any, **options: Any) -> SalesService:
    service = bootstrap(uow=store.unit_of_work, clock=ManualClock(T0), **options)
    for warehouse in ("W1", "W2"):
        service.handle(RegisterWarehouse(warehouse=Warehouse(warehouse)))
        for sku in SKUS:
            service.handle(ReceiveStock(sku=sku, warehouse_id=warehouse, quantity=100))
    return service


def _order(lines: int = 3, *, key: str | None = None, **fields: Any) -> PlaceOrder:
    return PlaceOrder(
        customer_id="C-1",
        currency="USD",
        lines=tuple(LineSpec(SKUS[n % 3], 1 + n, Money("9.99", "USD")) for n in range(lines)),
        confirm=True,
        idempotency_key=key,
        **fields,
    )


def _statements(store: SQLiteStore, service: SalesService, command: PlaceOrder) -> int:
    before = store.statements
    result = service.handle(command)
    assert result.state == "confirmed"
    return int(store.statements - before)


# --------------------------------------------------------------------------- statements


@pytest.mark.parametrize("lines", [1, 3, 10])
def test_place_and_confirm_issues_10_statements_with_a_key_and_8_without(
    tmp_path: Path, lines: int
) -> None:
    with SQLiteStore(tmp_path / "orders.db") as store:
        service = _service(store)
        service.handle(_order(1))  # creates the order-number series row
        # idempotency lookup, snapshot, stock figures, reservations, ledger, number, order,
        # its line facts (analytics), outbox, idempotency record: no second read of the stock
        # rows the snapshot read
        assert _statements(store, service, _order(lines, key=f"K-{lines}")) == 10
        assert _statements(store, service, _order(lines)) == 8


def test_an_order_id_given_by_the_caller_costs_the_read_of_what_it_holds(
    tmp_path: Path,
) -> None:
    with SQLiteStore(tmp_path / "orders.db") as store:
        service = _service(store)
        service.handle(_order(1))
        assert _statements(store, service, _order(3, order_id="O-given")) == 9
        assert _statements(store, service, _order(3)) == 8


def test_a_lock_after_a_snapshot_gives_what_the_database_holds(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "orders.db") as store:
        service = _service(store)
        service.handle(_order(3))
        # batches (with and without expiry), reorder levels and a low-stock flag come through too
        for batch, expiry in (("B1", dt.date(2026, 4, 1)), ("B2", None)):
            service.handle(
                ReceiveStock(
                    sku="SKU-B", warehouse_id="W2", quantity=5, batch_id=batch, expiry=expiry
                )
            )
        service.handle(
            SetStockLevels(
                sku="SKU-C",
                warehouse_id="W1",
                safety_stock=1,
                reorder_point=500,
                reorder_quantity=9,
            )
        )
        keys = [(sku, wh) for sku in SKUS for wh in ("W1", "W2")] + [("SKU-X", "W1")]
        with store.unit_of_work() as uow:
            read = uow.stock.lock(keys).items
        with store.unit_of_work() as uow:
            uow.stock.snapshot([*SKUS, "SKU-X"])
            before = uow.statements
            answered = uow.stock.lock(keys).items
            assert uow.statements == before  # answered from the snapshot's rows
            assert answered == read
            assert set(read[("SKU-B", "W2")].batches) == {"B1", "B2"}
            assert read[("SKU-C", "W1")].reorder_point == Decimal(500)
            assert read[("SKU-C", "W1")].low_stock
            assert ("SKU-X", "W1") not in answered
            answered[keys[0]].reserved += 1  # a copy: the next lock does not see it
            assert uow.stock.lock(keys).items == read
            assert uow.statements == before
            # what an order holds is always read: the items, then their batches
            assert uow.stock.lock(keys, order_id="O-x").items == read
            assert uow.statements == before + 2


def test_a_lock_after_a_stock_write_reads_the_database_again(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "orders.db") as store:
        _service(store)
        key = ("SKU-A", "W1")
        with store.unit_of_work() as uow:
            snapshot = uow.stock.snapshot(["SKU-A"])
            assert snapshot.available_at("SKU-A", "W1") == Decimal(100)
            plan = AllocationPlan("O-1", (Allocation("L1", "SKU-A", "W1", Decimal(4)),))
            StockDesk(uow.stock).reserve_plan(plan, T0, new_order=True)
            before = uow.statements
            assert uow.stock.lock([key]).items[key].reserved == Decimal(4)
            assert uow.statements == before + 1
            uow.stock.snapshot(["SKU-B"])
            before = uow.statements
            uow.stock.lock([key])  # SKU-A is not among what the last snapshot read
            assert uow.statements == before + 1
            uow.commit()


# --------------------------------------------------------------------------- B-trees written


def _btrees_written(path: Path) -> set[str]:
    """The B-trees (tables and indexes) whose pages the write-ahead log of ``path`` holds."""
    wal = Path(f"{path}-wal").read_bytes()
    page_size = struct.unpack(">I", wal[8:12])[0]
    pages = {
        struct.unpack(">I", wal[at : at + 4])[0] for at in range(32, len(wal) - 23, 24 + page_size)
    }
    with sqlite3.connect(path) as raw:
        try:
            owners = dict(raw.execute("SELECT pageno, name FROM dbstat"))
        except sqlite3.OperationalError:
            pytest.skip("this SQLite has no dbstat table")
    raw.close()
    return {owners.get(page, "the file header") for page in pages}


@pytest.mark.parametrize("key", [True, False], ids=["idempotency-key", "no-key"])
def test_place_and_confirm_writes_only_the_b_trees_it_needs(tmp_path: Path, key: bool) -> None:
    """Each B-tree an order writes costs at least one page of log: the order row and the
    indexes its listings use, its line facts (one B-tree: ``WITHOUT ROWID``), its reservations
    (by id and open item), the ledger, the outbox message (by stream + sequence, and pending),
    the idempotency record (by key and expiry), the three stock figures and the number series,
    and nothing else."""
    path = tmp_path / "orders.db"
    with SQLiteStore(path) as store:
        service = _service(store)
        service.handle(_order(3, key="K-0"))
        with sqlite3.connect(path) as raw:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.close()
        service.handle(_order(3, key="K-1" if key else None))
        written = _btrees_written(path)
    expected = {
        "orders",
        "sqlite_autoindex_orders_1",  # id
        "sqlite_autoindex_orders_2",  # number
        "orders_by_created",
        "orders_by_customer",
        "orders_by_state",
        "orders_by_placed",
        "order_lines",  # the line facts of analytics, keyed by (order, line): no other B-tree
        "reservations",
        "sqlite_autoindex_reservations_1",  # id, which also finds an order's reservations
        "reservations_open_by_item",
        "stock_ledger",
        "outbox",
        "sqlite_autoindex_outbox_1",  # stream, sequence: the key its event id names
        "outbox_pending",
        "stock_items",
        "order_number_series",
    }
    if key:
        expected |= {"idempotency", "sqlite_autoindex_idempotency_1", "idempotency_by_expiry"}
    assert written - {"the file header", "sqlite_schema"} == expected


# --------------------------------------------------------------------------- ids on every store


@pytest.fixture(params=STORE_KINDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as store:
        yield store


def _stock(store: Any) -> tuple[Any, ...]:
    with store.unit_of_work() as uow:
        items = [(i.sku, i.warehouse_id, i.on_hand, i.reserved) for i in uow.stock.items()]
        return (
            items,
            [(r.id, r.order_id, r.quantity) for r in uow.stock.reservations()],
            len(uow.stock.ledger()),
            [m.event_id for m in uow.outbox.messages()],
        )


def test_a_caller_order_id_already_stored_is_refused_and_changes_nothing(any_store: Any) -> None:
    service = _service(any_store)
    first = service.handle(_order(3, order_id="O-1"))
    assert first.state == "confirmed"
    before = _stock(any_store)
    assert len(before[1]) == 3
    with pytest.raises(ConflictError):
        service.handle(_order(3, order_id="O-1"))
    assert _stock(any_store) == before
    service.handle(_order(3, order_id="O-2"))
    with any_store.unit_of_work() as uow:
        ids = [r.id for r in uow.stock.reservations("O-2")]
    assert len(ids) == 3
    assert all(rid.startswith("O-2/") and "#" not in rid for rid in ids), ids


def test_an_id_factory_repeating_a_stored_id_is_refused_and_changes_nothing(
    any_store: Any,
) -> None:
    service = _service(any_store)
    service.handlers.new_order_id = lambda: "O-same"  # a host's factory, repeating itself
    service.handle(_order(3))
    before = _stock(any_store)
    with pytest.raises(ConflictError):
        service.handle(_order(2))
    assert _stock(any_store) == before


# --------------------------------------------------------------------------- an order's reservations


def test_an_order_keeps_its_own_reservations_beside_ids_that_extend_its_id(
    any_store: Any,
) -> None:
    """SQLite finds an order's reservations through their ids, which start with ``"<order
    id>/"``; an order whose id extends another's with a slash (or sorts right after it) must
    neither show nor release the other's reservations, and each order lists its own in the
    order they were made (L10 after L9, not after L1)."""
    service = _service(any_store)
    service.handle(_order(2, order_id="A"))
    service.handle(_order(3, order_id="A/B"))
    service.handle(_order(1, order_id="A0"))
    service.handle(_order(1, order_id="A."))
    service.handle(_order(10, order_id="X"))
    with any_store.unit_of_work() as uow:
        held = {o: uow.stock.reservations(o) for o in ("A", "A/B", "A0", "A.", "X")}
        lines = [r.line_id for r in uow.stock.reservations("X")]
    assert {o: {r.order_id for r in rs} for o, rs in held.items()} == {
        o: {o} for o in ("A", "A/B", "A0", "A.", "X")
    }
    assert [len(held[o]) for o in ("A", "A/B", "A0", "A.", "X")] == [2, 3, 1, 1, 10]
    assert lines == [line.line_id for line in service.get_order("X").lines]
    assert lines == [f"L{n}" for n in range(1, 11)]  # made in this order; not sorted by id

    service.handle(CancelOrder("A", reason="changed mind"))
    with any_store.unit_of_work() as uow:
        after = {o: uow.stock.reservations(o) for o in ("A", "A/B")}
        reserved = sum(item.reserved for item in uow.stock.items())
    assert all(r.open == 0 for r in after["A"])
    assert after["A/B"] == held["A/B"] and all(r.open > 0 for r in after["A/B"])
    assert reserved == sum(
        r.open for rs in (*after.values(), held["A0"], held["A."], held["X"]) for r in rs
    )


def test_sqlite_finds_an_order_s_reservations_through_the_id_key(tmp_path: Path) -> None:
    """The query plan of an order's reservations searches the id's key (no scan, no index by
    order, which schema version 14 dropped)."""
    with SQLiteStore(tmp_path / "orders.db") as store:
        _service(store).handle(_order(3, order_id="O-1"))
    with sqlite3.connect(tmp_path / "orders.db") as raw:
        statement = Statements(SQLiteDialect()).reservations_of_order
        plan = " ".join(
            row[3]
            for row in raw.execute("EXPLAIN QUERY PLAN " + statement, ("O-1/", "O-10", "O-1"))
        )
        indexes = {
            row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
    raw.close()
    assert (
        "SEARCH reservations USING INDEX sqlite_autoindex_reservations_1 (id>? AND id<?)" in plan
    ), plan
    assert "reservations_by_order" not in indexes


def test_sqlite_finds_outbox_messages_by_the_key_their_id_names(tmp_path: Path) -> None:
    """Every statement that takes outbox messages by id searches the (stream, sequence) key:
    none reads the whole outbox (schema version 14 dropped the key of the id)."""
    SQLiteStore(tmp_path / "orders.db").close()
    sql = Statements(SQLiteDialect())
    statements = {
        "delivered": (sql.outbox_delivered, 3),
        "failed": (sql.outbox_failed, 5),
        "postpone": (sql.outbox_postpone, 3),
        "redrive": (sql.outbox_redrive, 3),
        "record_delivery": (sql.outbox_record_delivery, 11),
        "delivered_many": (sql.outbox_delivered_many(3), 7),
        "record_deliveries": (sql.outbox_record_deliveries(2), 24),
    }
    with sqlite3.connect(tmp_path / "orders.db") as raw:
        plans = {
            name: [row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + text, [None] * count)]
            for name, (text, count) in statements.items()
        }
    raw.close()
    for name, plan in plans.items():
        searches = [
            step for step in plan if "USING" in step and "sqlite_autoindex_outbox_1" in step
        ]
        assert searches and not [s for s in plan if s.startswith("SCAN outbox") or s == "SCAN o"], (
            name,
            plan,
        )
