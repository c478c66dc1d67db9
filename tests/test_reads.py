"""Reads (``store.read()``): queries that do not wait for writers and cannot write; listing
orders newest first and with a total, alike on every store."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from race_support import drop_schema, new_schema
from salesorders.adapters.memory import MemoryStore
from salesorders.adapters.sqlite import SQLiteStore
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import NotFoundError, ProgrammingError, ValidationError
from salesorders.ports import OrderQuery
from salesorders.service import CancelOrder, ManualClock, SalesService, bootstrap
from support.stores import STORE_KINDS, fresh_store
from test_service_support import T0, new_order

#: A failure guard: how long a step may take before the test gives up (never asserted on).
GUARD = 30.0


@pytest.fixture(params=STORE_KINDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as store:
        yield store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as store:
        yield store


def _service(store: Any) -> tuple[SalesService, ManualClock]:
    clock = ManualClock(T0)
    return bootstrap(store=store, clock=clock), clock


def _place_orders(service: SalesService, clock: ManualClock) -> list[str]:
    """Six orders of two customers, oldest first; O-2 and O-3 share a creation time, O-4 is
    cancelled."""
    ids = []
    for index in range(6):
        if index != 3:
            clock.advance(dt.timedelta(minutes=1))
        order_id = f"O-{index}"
        service.handle(new_order(customer_id=f"C-{index % 2}", order_id=order_id))
        ids.append(order_id)
    service.handle(CancelOrder(order_id="O-4", reason="changed mind"))
    return ids


def _all_pages(service: SalesService, **fields: Any) -> tuple[list[str], set[int | None]]:
    """Every order id the listing gives, page by page, and the totals the pages reported."""
    seen: list[str] = []
    totals: set[int | None] = set()
    cursor = None
    while True:
        page = service.list_orders(OrderQuery(limit=2, after=cursor, **fields))
        seen.extend(order.id for order in page.orders)
        totals.add(page.total)
        cursor = page.next_cursor
        if cursor is None:
            return seen, totals


# --------------------------------------------------------------------------- listing


def test_orders_are_listed_newest_first_page_by_page(any_store: Any) -> None:
    service, clock = _service(any_store)
    ids = _place_orders(service, clock)
    oldest_first, _ = _all_pages(service)
    newest_first, totals = _all_pages(service, newest_first=True)
    assert oldest_first == ids
    assert newest_first == list(reversed(ids))
    assert totals == {None}  # no total unless asked


def test_a_total_counts_every_order_the_filters_match_on_every_page(any_store: Any) -> None:
    service, clock = _service(any_store)
    _place_orders(service, clock)
    assert _all_pages(service, with_total=True) == (
        ["O-0", "O-1", "O-2", "O-3", "O-4", "O-5"],
        {6},
    )
    assert _all_pages(service, customer_id="C-0", newest_first=True, with_total=True) == (
        ["O-4", "O-2", "O-0"],
        {3},
    )
    assert _all_pages(service, state="placed", with_total=True) == (
        ["O-0", "O-1", "O-2", "O-3", "O-5"],
        {5},
    )
    window = {
        "created_from": T0 + dt.timedelta(minutes=2),
        "created_to": T0 + dt.timedelta(minutes=4),
    }
    assert _all_pages(service, newest_first=True, with_total=True, **window) == (
        ["O-3", "O-2", "O-1"],
        {3},
    )
    nobody = service.list_orders(OrderQuery(customer_id="C-9", with_total=True))
    assert (nobody.orders, nobody.next_cursor, nobody.total) == ((), None, 0)


def test_a_cursor_pages_only_in_the_direction_of_its_listing(any_store: Any) -> None:
    service, clock = _service(any_store)
    _place_orders(service, clock)
    newest = service.list_orders(OrderQuery(limit=2, newest_first=True)).next_cursor
    oldest = service.list_orders(OrderQuery(limit=2)).next_cursor
    assert newest is not None and oldest is not None
    with pytest.raises(ValidationError) as refused:
        service.list_orders(OrderQuery(limit=2, after=newest))
    assert refused.value.field == "after"
    with pytest.raises(ValidationError) as refused:
        service.list_orders(OrderQuery(limit=2, after=oldest, newest_first=True))
    assert refused.value.field == "after"


@pytest.mark.parametrize("field", ["newest_first", "with_total"])
def test_the_listing_flags_must_be_booleans(field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        OrderQuery(**{field: "yes"})
    assert refused.value.field == field


# --------------------------------------------------------------------------- the read path


def test_the_service_queries_through_the_stores_read(any_store: Any) -> None:
    service, clock = _service(any_store)
    _place_orders(service, clock)
    opened: list[Any] = []
    read = any_store.read

    def counting_read() -> Any:
        view = read()
        opened.append(view)
        return view

    service.read_factory = counting_read
    assert service.get_order("O-1").id == "O-1"
    assert service.get_order_by_number("SO-2026-000003").id == "O-2"
    assert len(service.list_orders().orders) == 6
    assert service.payments_awaiting_review() == ()
    assert service.awaiting_review() == ()
    assert service.stock_items() == ()
    assert len(opened) == 6


def test_a_write_through_a_read_raises_and_changes_nothing(any_store: Any) -> None:
    service, clock = _service(any_store)
    _place_orders(service, clock)
    order = service.get_order("O-1")
    version = order.version
    with any_store.read() as view:
        with pytest.raises(ProgrammingError, match="read-only"):
            view.orders.save(order)
        with pytest.raises(ProgrammingError, match="read-only"):
            view.numbers.next_number("SO")
        with pytest.raises(ProgrammingError, match="read-only"):
            view.stock.add_warehouse(Warehouse("W9", priority=9))
        assert view.orders.get("O-1").version == version  # the read goes on
    with any_store.unit_of_work() as uow:
        assert uow.orders.get("O-1").version == version
        assert "W9" not in uow.stock.warehouses()
        assert uow.numbers.next_number("SO") == 1  # the series the orders used is another one


def test_a_statement_that_writes_is_refused_by_the_database_in_a_read(sql_store: Any) -> None:
    service, clock = _service(sql_store)
    _place_orders(service, clock)
    with sql_store.read() as view:
        session = view._session  # below the repositories: what the database itself refuses
        with pytest.raises(ProgrammingError, match="read-only"):
            session.rows("UPDATE " + _orders_table(sql_store) + " SET version = version + 1")
    assert service.get_order("O-1").version == 1


def _orders_table(store: Any) -> str:
    schema = getattr(store, "schema", None)
    return f'"{schema}".orders' if schema else "orders"


def test_a_read_ends_without_committing_anything(any_store: Any) -> None:
    service, clock = _service(any_store)
    _place_orders(service, clock)
    with any_store.read() as view:
        assert view.orders.get("O-0").id == "O-0"
        view.commit()  # ends the read; nothing to keep
    with any_store.read() as view, pytest.raises(NotFoundError):
        view.orders.get("O-9")


def test_sqlite_reads_do_not_nest_in_one_thread(tmp_path: Path) -> None:
    with (
        SQLiteStore(tmp_path / "orders.db") as store,
        store.read(),
        pytest.raises(ProgrammingError, match="already open"),
        store.read(),
    ):
        pass


def test_a_memory_read_holds_the_stores_lock() -> None:
    store = MemoryStore()
    with store.read(), pytest.raises(Exception, match="already open"), store.unit_of_work():
        pass


# --------------------------------------------------------------------------- no waiting


def test_a_read_proceeds_while_another_thread_holds_a_write_open(sql_store: Any) -> None:
    service, clock = _service(sql_store)
    _place_orders(service, clock)
    holding, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            with sql_store.unit_of_work() as uow:
                uow.orders.save(uow.orders.get("O-1"))  # version 2, not yet committed
                holding.set()
                release.wait(GUARD)
                uow.commit()
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)
            holding.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(GUARD), "the writer did not start"
        assert failures == []
        answers: dict[str, Any] = {}
        done = threading.Event()

        def reader() -> None:
            answers["order"] = service.get_order("O-1")
            answers["page"] = service.list_orders(OrderQuery(newest_first=True, with_total=True))
            done.set()

        reading = threading.Thread(target=reader, daemon=True)
        reading.start()
        # the writer is still holding its transaction open: the read must finish meanwhile
        assert done.wait(GUARD), "the read waited for the writer"
        assert not release.is_set()
        assert answers["order"].version == 1  # the last committed state
        assert answers["page"].total == 6
    finally:
        release.set()
        thread.join(GUARD)
    assert failures == []
    assert service.get_order("O-1").version == 2  # committed now, and read back


# --------------------------------------------------------------------------- PostgreSQL's modes


def _settings(view: Any) -> tuple[str, str]:
    rows = view._session.rows(
        "SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only')"
    )
    return rows[0][0], rows[0][1]


@pytest.mark.postgres
@pytest.mark.parametrize("pipeline", [True, False])
def test_a_postgres_read_is_one_repeatable_read_read_only_transaction(
    postgres_dsn: str, pipeline: bool
) -> None:
    from salesorders.adapters.postgres import PostgresStore

    schema = new_schema()
    try:
        with PostgresStore(postgres_dsn, schema=schema, pipeline=pipeline) as store:
            with store.read() as view:
                assert _settings(view) == ("repeatable read", "on")
                with pytest.raises(ProgrammingError, match="read-only"):
                    view._session.rows(f'DELETE FROM "{schema}".orders')
            with store.unit_of_work() as uow:  # the pooled connection writes again
                assert uow.numbers.next_number("SO") == 1
                uow.commit()
    finally:
        drop_schema(postgres_dsn, schema)


@pytest.mark.postgres
def test_a_read_inside_a_host_transaction_leaves_it_writable(postgres_dsn: str) -> None:
    import psycopg

    from salesorders.adapters.postgres import PostgresStore

    schema = new_schema()
    try:
        with psycopg.connect(postgres_dsn) as host:
            store = PostgresStore(connection=host, schema=schema)
            host.commit()
            with store.read() as view:
                assert _settings(view)[1] == "on"
                with pytest.raises(ProgrammingError, match="read-only"):
                    view.numbers.next_number("SO")
            assert host.execute("SHOW transaction_read_only").fetchone() == ("off",)
            with store.unit_of_work() as uow:
                assert uow.numbers.next_number("SO") == 1
                uow.commit()
            host.commit()
    finally:
        drop_schema(postgres_dsn, schema)


# --------------------------------------------------------------------------- indexes


LISTINGS = {
    "every order": (False, False, False, False),
    "one customer": (True, False, False, False),
    "one state": (False, True, False, False),
    "one customer in one state": (True, True, False, False),
    "a creation window": (False, False, True, True),
}


@pytest.mark.parametrize("filters", LISTINGS.values(), ids=LISTINGS.keys())
@pytest.mark.parametrize("after", [False, True], ids=["first page", "next page"])
def test_sqlite_lists_newest_first_through_an_index_without_sorting(
    tmp_path: Path, filters: tuple[bool, bool, bool, bool], after: bool
) -> None:
    path = tmp_path / "orders.db"
    with SQLiteStore(path) as store:
        listing = store._config.sql.order_list(*filters, after, True)
        count = store._config.sql.order_count(*filters)
    assert "DESC" in listing
    with sqlite3.connect(path) as connection:
        for sql in (listing, count):
            params = [None] * sql.count("?")
            plan = [row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + sql, params)]
            assert not any("TEMP B-TREE" in step for step in plan), plan
            reads = [step for step in plan if step.startswith(("SCAN", "SEARCH"))]
            assert reads, plan
            assert all("INDEX" in step for step in reads), plan
