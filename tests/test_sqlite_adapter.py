"""The SQLite store keeps every storage contract, survives a reopen, and never oversells.

The scenario helpers at the top take a unit-of-work factory, so the PostgreSQL tests run the
same scenarios against their store.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moneyed import Money

from salesorders import errors
from salesorders.adapters._sql import stock as sql_stock
from salesorders.adapters._sql.session import translate_error
from salesorders.adapters.sqlite import SQLiteStore
from salesorders.domain.plan import Allocation, AllocationPlan
from salesorders.domain.snapshot import AvailableBatch, IncomingStock
from salesorders.domain.stock import StockBook, StockDesk
from salesorders.domain.warehouse import Warehouse
from salesorders.ports import IdempotencyRecord, OutboxMessage, UnitOfWorkFactory
from salesorders.service import (
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    bootstrap,
)
from salesorders.testing.contracts import T0, AllContracts, plan_for, sample_order
from support.stores import in_uow
from test_service_support import stock_drift

# --------------------------------------------------------------------------- shared scenarios


def place_and_confirm_statements(store: Any, lines: int, *, key: bool) -> int:
    """Statements one place+confirm of ``lines`` lines costs through the service."""
    service = bootstrap(uow=store.unit_of_work, clock=ManualClock(T0))
    skus = [f"SKU-{n}" for n in range(lines)]
    for warehouse in ("W1", "W2"):
        service.handle(RegisterWarehouse(warehouse=Warehouse(warehouse)))
        for sku in skus:
            service.handle(ReceiveStock(sku=sku, warehouse_id=warehouse, quantity=100))
    command = PlaceOrder(
        customer_id="C-1",
        currency="USD",
        lines=tuple(LineSpec(sku, 2, Money("9.99", "USD")) for sku in skus),
        confirm=True,
        idempotency_key=f"K-{lines}" if key else None,
    )
    before = store.statements
    result = service.handle(command)
    assert result.state == "confirmed"
    assert result.allocation_status == "allocated"
    return int(store.statements - before)


def everything_is_kept(factory: UnitOfWorkFactory) -> Callable[[UnitOfWorkFactory], None]:
    """Write one of everything; return a check that a (re)opened store shows all of it."""
    order = sample_order("O-1", lines=(("SKU-A", 2, "10.00"), ("RICE", 3, "3.20")))
    order.place("SO-2026-000001", T0)
    message = OutboxMessage("O-1:1", "O-1", 1, "OrderPlaced", {"order_id": "O-1"}, T0)
    record = IdempotencyRecord(
        "K-1", "PlaceOrder", "ab" * 32, {"value": {"order_id": "O-1"}}, T0, T0 + dt.timedelta(1)
    )
    incoming = IncomingStock("IN-1", "SKU-A", "W1", Decimal(8), dt.date(2026, 3, 9))

    def write(uow: Any) -> None:
        StockDesk(uow.stock).add_warehouse(Warehouse("W1", name="Main", priority=1))
        StockDesk(uow.stock).receive("SKU-A", "W1", Decimal(10), T0, reason="PO-1")
        StockDesk(uow.stock).receive("RICE", "W1", Decimal("12.345"), T0)
        StockDesk(uow.stock).set_levels(
            "SKU-A", "W1", safety_stock=Decimal(1), reorder_point=Decimal(3)
        )
        StockDesk(uow.stock).expect(incoming)
        StockDesk(uow.stock).reserve_plan(
            plan_for("O-1", ("L1", "SKU-A", "W1", 2), ("L2", "RICE", "W1", "1.5")), T0
        )
        uow.orders.add(order)
        uow.outbox.append([message])
        uow.idempotency.put(record)
        assert uow.numbers.next_number("SO-2026") == 1

    in_uow(factory, write)
    expected_items = in_uow(factory, lambda uow: uow.stock.items(), commit=False)
    expected_ledger = in_uow(factory, lambda uow: uow.stock.ledger(), commit=False)

    def check(reopened: UnitOfWorkFactory) -> None:
        def read(uow: Any) -> None:
            assert uow.orders.get("O-1") == order
            assert uow.orders.get_by_number("SO-2026-000001").id == "O-1"
            assert uow.stock.warehouses() == {"W1": Warehouse("W1", name="Main", priority=1)}
            assert uow.stock.items() == expected_items
            assert uow.stock.ledger() == expected_ledger
            assert [r.quantity for r in uow.stock.reservations("O-1")] == [
                Decimal(2),
                Decimal("1.5"),
            ]
            snapshot = uow.stock.snapshot(["SKU-A", "RICE"])
            assert snapshot.available_at("SKU-A", "W1") == Decimal(7)
            assert snapshot.available_at("RICE", "W1") == Decimal("10.845")
            assert snapshot.incoming["SKU-A"] == (incoming,)
            assert uow.outbox.messages() == [message]
            assert uow.idempotency.get("K-1", T0) == record
            assert uow.numbers.next_number("SO-2026") == 2
            assert stock_drift(uow) == ()

        in_uow(reopened, read, commit=False)

    return check


def batches_follow_the_stock_book(factory: UnitOfWorkFactory) -> None:
    """Batches: FEFO snapshot, batch reservations checked per batch, release, no drift — the same
    figures as the domain's StockBook given the same operations."""
    book = StockBook([Warehouse("W1")], quantity_places=3)
    early, late = dt.date(2026, 4, 1), dt.date(2026, 6, 1)

    def stock(uow: Any) -> None:
        StockDesk(uow.stock).add_warehouse(Warehouse("W1"))
        StockDesk(uow.stock).receive("MILK", "W1", Decimal(5), T0, batch_id="B2", expiry=late)
        StockDesk(uow.stock).receive("MILK", "W1", Decimal(5), T0, batch_id="B1", expiry=early)
        StockDesk(uow.stock).receive("MILK", "W1", Decimal(3), T0)

    in_uow(factory, stock)
    book.receive("MILK", "W1", Decimal(5), T0, batch_id="B2", expiry=late)
    book.receive("MILK", "W1", Decimal(5), T0, batch_id="B1", expiry=early)
    book.receive("MILK", "W1", Decimal(3), T0)

    snapshot = in_uow(factory, lambda uow: uow.stock.snapshot(["MILK"]), commit=False)
    assert snapshot.batches[("MILK", "W1")] == (
        AvailableBatch("B1", Decimal(5), early),
        AvailableBatch("B2", Decimal(5), late),
    )
    assert snapshot.batches == book.snapshot(["MILK"]).batches
    assert snapshot.available == book.snapshot(["MILK"]).available

    plan = AllocationPlan(
        "O-1",
        (
            Allocation("L1", "MILK", "W1", Decimal(4), batch_id="B1"),
            Allocation("L1", "MILK", "W1", Decimal(3)),
        ),
    )
    in_uow(factory, lambda uow: StockDesk(uow.stock).reserve_plan(plan, T0))
    book.reserve_plan(plan, T0)
    too_much = AllocationPlan("O-2", (Allocation("L1", "MILK", "W1", Decimal(2), batch_id="B1"),))
    with pytest.raises(errors.InsufficientStockError) as caught:
        in_uow(factory, lambda uow: StockDesk(uow.stock).reserve_plan(too_much, T0))
    assert [(s.sku, s.requested, s.available) for s in caught.value.shortages] == [
        ("MILK", Decimal(2), Decimal(1))
    ]
    with pytest.raises(errors.ValidationError):
        in_uow(
            factory,
            lambda uow: StockDesk(uow.stock).receive(
                "MILK", "W1", Decimal(1), T0, batch_id="B1", expiry=late
            ),
        )
    assert in_uow(factory, lambda uow: uow.stock.items(), commit=False) == book.items()
    in_uow(factory, lambda uow: StockDesk(uow.stock).release_order("O-1", T0))
    book.release_order("O-1", T0)
    items = in_uow(factory, lambda uow: uow.stock.items(), commit=False)
    assert items == book.items()
    assert items[0].batches["B1"].reserved == 0
    assert in_uow(factory, lambda uow: stock_drift(uow), commit=False) == ()


RACE_WORKER = textwrap.dedent(
    """
    import sys
    from decimal import Decimal
    from salesorders.errors import InsufficientStockError, OperationalError
    from salesorders.domain.stock import StockDesk
    from salesorders.testing.contracts import T0, plan_for

    def open_store(kind, where, schema):
        if kind == "sqlite":
            from salesorders.adapters.sqlite import SQLiteStore
            return SQLiteStore(where, busy_timeout=30)
        from salesorders.adapters.postgres import PostgresStore
        return PostgresStore(where, schema=schema, min_size=1, max_size=1)

    kind, where, schema, worker, attempts = sys.argv[1:6]
    store = open_store(kind, where, schema)
    won = 0
    for attempt in range(int(attempts)):
        plan = plan_for(f"P{worker}-{attempt}", ("L1", "SKU-A", "W1", 1), ("L2", "SKU-B", "W1", 1))
        for _ in range(200):
            try:
                with store.unit_of_work() as uow:
                    StockDesk(uow.stock).reserve_plan(plan, T0)
                    uow.commit()
                won += 1
            except InsufficientStockError:
                pass
            except OperationalError:
                continue
            break
    store.close()
    print(won)
    """
)


def processes_never_oversell(
    factory: UnitOfWorkFactory, kind: str, where: str, schema: str = ""
) -> None:
    """Several processes reserve the last units at once: exactly the stock is reserved."""
    in_uow(factory, lambda uow: StockDesk(uow.stock).add_warehouse(Warehouse("W1")))
    in_uow(factory, lambda uow: StockDesk(uow.stock).receive("SKU-A", "W1", Decimal(7), T0))
    in_uow(factory, lambda uow: StockDesk(uow.stock).receive("SKU-B", "W1", Decimal(9), T0))
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", RACE_WORKER, kind, where, schema, str(n), "4"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    won = 0
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        won += int(out.strip())
    assert won == 7  # 12 attempts, 7 units of SKU-A: every unit sold once, none twice

    def check(uow: Any) -> None:
        figures = {i.sku: (i.on_hand, i.reserved) for i in uow.stock.items()}
        assert figures == {"SKU-A": (Decimal(7), Decimal(7)), "SKU-B": (Decimal(9), Decimal(7))}
        assert len(uow.stock.reservations()) == 14
        assert stock_drift(uow) == ()

    in_uow(factory, check, commit=False)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "orders.db")
    yield opened
    opened.close()


# --------------------------------------------------------------------------- contracts


class TestSQLiteFileStoreContracts(AllContracts):
    """Every storage contract on a database file (a connection per thread)."""

    @pytest.fixture(autouse=True)
    def _open(self, tmp_path: Path) -> Iterator[None]:
        self.store = SQLiteStore(tmp_path / "contracts.db")
        yield
        self.store.close()

    def make_uow_factory(self) -> UnitOfWorkFactory:
        return self.store.unit_of_work


class TestSQLiteMemoryStoreContracts(AllContracts):
    """Every storage contract on ``":memory:"`` (one shared connection)."""

    @pytest.fixture(autouse=True)
    def _open(self) -> Iterator[None]:
        self.store = SQLiteStore()
        yield
        self.store.close()

    def make_uow_factory(self) -> UnitOfWorkFactory:
        return self.store.unit_of_work


# --------------------------------------------------------------------------- durability


def test_a_reopened_file_has_everything(tmp_path: Path) -> None:
    path = tmp_path / "orders.db"
    first = SQLiteStore(path)
    check = everything_is_kept(first.unit_of_work)
    first.close()
    with SQLiteStore(str(path)) as reopened:
        check(reopened.unit_of_work)


def test_quantities_are_stored_as_exact_decimal_text(store: SQLiteStore) -> None:
    in_uow(store.unit_of_work, lambda uow: StockDesk(uow.stock).add_warehouse(Warehouse("W1")))
    in_uow(
        store.unit_of_work,
        lambda uow: StockDesk(uow.stock).receive("RICE", "W1", Decimal("0.1"), T0),
    )
    in_uow(
        store.unit_of_work,
        lambda uow: StockDesk(uow.stock).receive("RICE", "W1", Decimal("0.2"), T0),
    )
    with sqlite3.connect(store.path) as raw:
        assert raw.execute("SELECT on_hand, typeof(on_hand) FROM stock_items").fetchall() == [
            ("0.3", "text")  # 0.1 + 0.2 in binary floating point would not be 0.3
        ]
    items = in_uow(store.unit_of_work, lambda uow: uow.stock.items(), commit=False)
    assert items[0].on_hand == Decimal("0.3")


def test_batches_follow_the_stock_book(store: SQLiteStore) -> None:
    batches_follow_the_stock_book(store.unit_of_work)


# --------------------------------------------------------------------------- statements


@pytest.mark.parametrize("key", [False, True], ids=["no-key", "idempotency-key"])
def test_place_and_confirm_costs_the_same_few_statements_for_1_and_10_lines(
    tmp_path: Path, key: bool
) -> None:
    counts = []
    for lines in (1, 10):
        with SQLiteStore(tmp_path / f"s{lines}-{key}.db") as store:
            counts.append(place_and_confirm_statements(store, lines, key=key))
    assert counts[0] == counts[1] <= 10, counts


def test_statements_are_counted_per_unit_of_work_and_per_store(store: SQLiteStore) -> None:
    before = store.statements
    with store.unit_of_work() as uow:
        uow.numbers.next_number("SO-2026")
        uow.outbox.messages()
        assert uow.statements == 2
        uow.commit()
    assert store.statements == before + 2


# --------------------------------------------------------------------------- the unit of work


def test_a_finished_unit_of_work_refuses_more_work(store: SQLiteStore) -> None:
    with store.unit_of_work() as uow:
        uow.numbers.next_number("SO-2026")
        uow.commit()
        with pytest.raises(errors.ProgrammingError, match="finished"):
            uow.numbers.next_number("SO-2026")
        with pytest.raises(errors.ProgrammingError):
            uow.commit()
    with pytest.raises(errors.ProgrammingError, match="used once"), uow:
        pass


def test_a_second_unit_of_work_in_one_thread_is_refused_not_deadlocked(
    store: SQLiteStore,
) -> None:
    with store.unit_of_work() as outer:
        outer.numbers.next_number("SO-2026")
        with pytest.raises(errors.ProgrammingError, match="already open"), store.unit_of_work():
            pass
        outer.commit()
    assert in_uow(store.unit_of_work, lambda uow: uow.numbers.next_number("SO-2026")) == 2


def test_a_closed_store_cannot_open_units_of_work(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "closed.db")
    store.close()
    with pytest.raises(errors.InterfaceError, match="closed"), store.unit_of_work():
        pass


def test_bad_settings_are_refused() -> None:
    with pytest.raises(errors.ValidationError, match="busy_timeout"):
        SQLiteStore(busy_timeout="soon")  # type: ignore[arg-type]
    with pytest.raises(errors.ValidationError, match="quantity_places"):
        SQLiteStore(quantity_places=-1)
    with pytest.raises(errors.ValidationError, match="durability"):
        SQLiteStore(durability="fast")  # type: ignore[arg-type]


@pytest.mark.parametrize(("durability", "synchronous"), [("normal", 1), ("full", 2)])
def test_durability_sets_how_often_the_log_is_synced(
    tmp_path: Path, durability: str, synchronous: int
) -> None:
    store = SQLiteStore(tmp_path / f"{durability}.db", durability=durability)  # type: ignore[arg-type]
    try:
        connection = store._acquire()
        try:
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert connection.execute("PRAGMA synchronous").fetchone()[0] == synchronous
        finally:
            store._release()
        assert in_uow(store.unit_of_work, lambda uow: uow.numbers.next_number("SO-2026")) == 1
    finally:
        store.close()
    assert SQLiteStore().durability == "normal"


# --------------------------------------------------------------------------- error translation


@pytest.mark.parametrize(
    ("driver_error", "ours"),
    [
        (sqlite3.OperationalError("database is locked"), errors.OperationalError),
        (sqlite3.IntegrityError("UNIQUE constraint failed"), errors.IntegrityError),
        (sqlite3.ProgrammingError("closed"), errors.ProgrammingError),
        (sqlite3.DataError("too big"), errors.DataError),
        (sqlite3.InterfaceError("bad parameter"), errors.InterfaceError),
        (sqlite3.NotSupportedError("no"), errors.NotSupportedError),
        (sqlite3.InternalError("bug"), errors.InternalError),
        (sqlite3.DatabaseError("corrupt"), errors.DatabaseError),
        (sqlite3.Error("other"), errors.StorageError),
    ],
)
def test_driver_errors_are_translated_by_their_pep_249_name(
    driver_error: Exception, ours: type[errors.StorageError]
) -> None:
    translated = translate_error(driver_error)
    assert type(translated) is ours
    assert str(driver_error) in str(translated)


def test_a_busy_database_raises_operational_error_caused_by_the_driver(
    store: SQLiteStore, tmp_path: Path
) -> None:
    impatient = SQLiteStore(store.path, busy_timeout=0.05)
    other_process = sqlite3.connect(store.path, isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(errors.OperationalError) as caught, impatient.unit_of_work():
            pass
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
        assert "retry" in str(caught.value)
    finally:
        other_process.execute("ROLLBACK")
        other_process.close()
    assert in_uow(impatient.unit_of_work, lambda uow: uow.numbers.next_number("S")) == 1
    impatient.close()


def test_a_duplicate_row_raises_integrity_error_caused_by_the_driver(store: SQLiteStore) -> None:
    message = OutboxMessage("O-1:1", "O-1", 1, "OrderPlaced", {}, T0)
    in_uow(store.unit_of_work, lambda uow: uow.outbox.append([message]))
    with pytest.raises(errors.IntegrityError) as caught:
        in_uow(store.unit_of_work, lambda uow: uow.outbox.append([message]))
    assert isinstance(caught.value.__cause__, sqlite3.IntegrityError)


def test_an_order_number_used_twice_is_a_conflict(store: SQLiteStore) -> None:
    first, second = sample_order("O-1"), sample_order("O-2")
    first.place("SO-1", T0)
    second.place("SO-1", T0)
    in_uow(store.unit_of_work, lambda uow: uow.orders.add(first))
    with pytest.raises(errors.ConflictError):
        in_uow(store.unit_of_work, lambda uow: uow.orders.add(second))


# --------------------------------------------------------------------------- the stock book oracle

_SKUS = ("A", "B")
_WAREHOUSES = ("W1", "W2")

_operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("receive"),
            st.sampled_from(_SKUS),
            st.sampled_from(_WAREHOUSES),
            st.integers(1, 9),
        ),
        st.tuples(
            st.just("reserve"),
            st.integers(0, 3),
            st.lists(
                st.tuples(
                    st.sampled_from(("L1", "L2")),
                    st.sampled_from(_SKUS),
                    st.sampled_from(_WAREHOUSES),
                    st.integers(1, 6),
                ),
                min_size=1,
                max_size=3,
            ),
        ),
        st.tuples(st.just("release"), st.integers(0, 3)),
        st.tuples(
            st.just("levels"),
            st.sampled_from(_SKUS),
            st.sampled_from(_WAREHOUSES),
            st.integers(0, 6),
            st.integers(0, 2),
        ),
    ),
    max_size=12,
)


def _apply(target: Any, operation: tuple[Any, ...], *, sql: bool) -> Any:
    kind = operation[0]
    if kind == "receive":
        _, sku, wh, quantity = operation
        return target.receive(sku, wh, Decimal(quantity), T0)
    if kind == "reserve":
        _, order, lines = operation
        plan = plan_for(f"O-{order}", *lines)
        return target.reserve_plan(plan, T0)
    if kind == "release":
        return target.release_order(f"O-{operation[1]}", T0)
    _, sku, wh, point, safety = operation
    target.set_levels(sku, wh, reorder_point=Decimal(point), safety_stock=Decimal(safety))
    return None


def _outcome(run: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return ("ok", run())
    except errors.InsufficientStockError as error:
        return ("short", error.shortages)
    except errors.SalesOrdersError as error:
        return (type(error).__name__, str(error))


def _behaves_like_the_stock_book(operations: list[tuple[Any, ...]]) -> None:
    """Same operations, same results: figures, reservations (ids included), ledger, alerts and
    refusals agree with the pure domain StockBook after every step, and nothing drifts."""
    book = StockBook([Warehouse(w) for w in _WAREHOUSES])
    with SQLiteStore(quantity_places=0) as store:
        factory = store.unit_of_work
        for wh in _WAREHOUSES:
            in_uow(factory, lambda uow, wh=wh: StockDesk(uow.stock).add_warehouse(Warehouse(wh)))
        for operation in operations:
            expected = _outcome(lambda op=operation: _apply(book, op, sql=False))
            alerts: list[Any] = []

            def step(uow: Any, op: tuple[Any, ...] = operation, alerts: list[Any] = alerts) -> Any:
                desk = StockDesk(uow.stock)
                result = _apply(desk, op, sql=True)
                alerts.extend(desk.alerts)
                return result

            assert _outcome(lambda step=step: in_uow(factory, step)) == expected, operation
            assert alerts == book.collect_events()

            def state(uow: Any) -> tuple[Any, ...]:
                assert stock_drift(uow) == ()
                return uow.stock.items(), uow.stock.reservations(), uow.stock.ledger()

            assert in_uow(factory, state, commit=False) == (
                book.items(),
                book.reservations(),
                book.ledger(),
            )


@settings(max_examples=30)
@given(_operations)
def test_sql_stock_behaves_exactly_like_the_stock_book(operations: list[tuple[Any, ...]]) -> None:
    _behaves_like_the_stock_book(operations)


def test_the_stock_book_comparison_catches_an_adapter_that_oversells(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A store that locks stale figures (reserved read as 0) lets a second order oversell."""
    real = sql_stock._item

    def stale(row: Any) -> Any:
        item = real(row)
        item.reserved = Decimal(0)
        return item

    monkeypatch.setattr(sql_stock, "_item", stale)
    oversell = [
        ("receive", "A", "W1", 1),
        ("reserve", 0, [("L1", "A", "W1", 1)]),
        ("reserve", 1, [("L1", "A", "W1", 1)]),
    ]
    with pytest.raises(AssertionError):
        _behaves_like_the_stock_book(oversell)


# --------------------------------------------------------------------------- processes


def test_processes_racing_on_one_file_never_oversell(store: SQLiteStore) -> None:
    processes_never_oversell(store.unit_of_work, "sqlite", store.path)
