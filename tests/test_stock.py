"""The stock book: every operation, every refusal, the ledger, reconciliation, alerts and reports."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesorders.domain.plan import Allocation, AllocationPlan, Backorder
from salesorders.domain.snapshot import AvailableBatch, IncomingStock
from salesorders.domain.stock import (
    Discrepancy,
    LedgerEntry,
    LowStock,
    Movement,
    Reservation,
    StockBook,
    StockItem,
    fold_batches,
    fold_ledger,
    fold_reservations,
    plan_demand,
    reconcile,
)
from salesorders.domain.stock.model import new_reservation
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import (
    FloatNotAllowedError,
    InsufficientStockError,
    InvalidQuantityError,
    NotFoundError,
    ReservationError,
    Shortage,
    UnknownStockItemError,
    UnknownWarehouseError,
    ValidationError,
)
from salesorders.testing.stock_strategies import (
    MOMENT,
    SKUS,
    quantities,
    stock_books,
    stock_items,
)

AT = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
D = Decimal


def make_book(*stock: tuple[str, str, int]) -> StockBook:
    book = StockBook([Warehouse("W1", priority=1), Warehouse("W2", priority=2)])
    for sku, warehouse_id, quantity in stock:
        book.receive(sku, warehouse_id, quantity, AT)
    return book


def state(book: StockBook) -> object:
    """Everything observable about a book, deep-copied, to prove a refusal changed nothing."""
    return copy.deepcopy(
        (
            [attrs.asdict(item) for item in book.items()],
            book.reservations(),
            book.ledger(),
            book.incoming(),
            book.backorders_by_sku(),
            book.alerts,
        )
    )


def plan(order_id: str, *allocations: tuple[str, str, str, int] | Allocation) -> AllocationPlan:
    built = tuple(
        a if isinstance(a, Allocation) else Allocation(a[0], a[1], a[2], D(a[3]))
        for a in allocations
    )
    return AllocationPlan(order_id, built)


# --------------------------------------------------------------------------- receipts


def test_receive_adds_on_hand_and_records_a_receipt() -> None:
    book = make_book()
    entry = book.receive("SKU-A", "W1", 10, AT, actor="ann", reason="PO-7")
    item = book.item("SKU-A", "W1")
    assert (item.on_hand, item.reserved, item.available) == (10, 0, 10)
    assert entry == LedgerEntry(
        1, Movement.RECEIPT, "SKU-A", "W1", D(10), D(0), AT, actor="ann", reason="PO-7"
    )
    assert book.ledger() == (entry,)


@pytest.mark.parametrize(
    ("quantity", "error"),
    [
        (1.5, FloatNotAllowedError),
        (0, InvalidQuantityError),
        (-3, InvalidQuantityError),
        (D("1.5"), InvalidQuantityError),
        ("abc", ValidationError),
        (True, ValidationError),
    ],
)
def test_receive_refuses_bad_quantities_and_names_the_field(quantity: object, error: type) -> None:
    book = make_book(("SKU-A", "W1", 5))
    before = state(book)
    with pytest.raises(error) as raised:
        book.receive("SKU-A", "W1", quantity, AT)  # type: ignore[arg-type]
    assert raised.value.field == "quantity"
    assert state(book) == before


def test_receive_refuses_unknown_warehouse_naive_time_and_empty_sku() -> None:
    book = make_book()
    before = state(book)
    with pytest.raises(UnknownWarehouseError) as unknown:
        book.receive("SKU-A", "W9", 1, AT)
    assert unknown.value.warehouse_id == "W9"
    with pytest.raises(ValidationError, match="timezone-aware") as naive:
        book.receive("SKU-A", "W1", 1, dt.datetime(2026, 1, 1))
    assert naive.value.field == "at"
    with pytest.raises(ValidationError) as empty:
        book.receive("", "W1", 1, AT)
    assert empty.value.field == "sku"
    assert state(book) == before


def test_fractional_quantities_follow_the_books_places() -> None:
    book = StockBook([Warehouse("W1")], quantity_places=3)
    book.receive("RICE-KG", "W1", D("2.125"), AT)
    with pytest.raises(InvalidQuantityError):
        book.receive("RICE-KG", "W1", D("0.0001"), AT)
    assert book.item("RICE-KG", "W1").on_hand == D("2.125")


def test_batches_keep_their_expiry_and_sum_into_the_item() -> None:
    book = make_book()
    book.receive("MILK", "W1", 5, AT, batch_id="B1", expiry=dt.date(2026, 4, 1))
    book.receive("MILK", "W1", 3, AT, batch_id="B1")
    book.receive("MILK", "W1", 2, AT)
    item = book.item("MILK", "W1")
    assert item.on_hand == 10
    assert item.batches["B1"].on_hand == 8
    assert item.batches["B1"].expiry == dt.date(2026, 4, 1)
    assert (item.unbatched_on_hand, item.unbatched_reserved) == (2, 0)
    assert book.ledger()[0].batch_id == "B1"


def test_expiry_needs_a_batch_and_must_match_it() -> None:
    book = make_book()
    book.receive("MILK", "W1", 5, AT, batch_id="B1", expiry=dt.date(2026, 4, 1))
    before = state(book)
    with pytest.raises(ValidationError, match="needs a batch_id"):
        book.receive("MILK", "W1", 5, AT, expiry=dt.date(2026, 4, 1))
    with pytest.raises(ValidationError, match="differs") as raised:
        book.receive("MILK", "W1", 5, AT, batch_id="B1", expiry=dt.date(2026, 5, 1))
    assert raised.value.field == "expiry"
    assert state(book) == before


# --------------------------------------------------------------------------- levels


def test_set_levels_validates_everything_before_changing_anything() -> None:
    book = make_book(("SKU-A", "W1", 10))
    before = state(book)
    with pytest.raises(InvalidQuantityError) as raised:
        book.set_levels("SKU-A", "W1", safety_stock=2, reorder_point=-1)
    assert raised.value.field == "reorder_point"
    with pytest.raises(FloatNotAllowedError):
        book.set_levels("SKU-A", "W1", safety_stock=2.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidQuantityError):
        book.set_levels("SKU-A", "W1", reorder_quantity=0)
    assert state(book) == before


def test_safety_stock_is_never_available() -> None:
    book = make_book(("SKU-A", "W1", 10))
    book.set_levels("SKU-A", "W1", safety_stock=3)
    assert book.item("SKU-A", "W1").available == 7
    with pytest.raises(InsufficientStockError) as raised:
        book.reserve("SO-1", "L1", "SKU-A", "W1", 8, AT)
    assert raised.value.shortages == (Shortage("SKU-A", D(8), D(7)),)
    book.reserve("SO-1", "L1", "SKU-A", "W1", 7, AT)
    book.set_levels("SKU-A", "W1", safety_stock=5)
    assert book.item("SKU-A", "W1").available == 0  # never below zero


# --------------------------------------------------------------------------- incoming


def test_expect_and_receive_expected_in_full_and_in_part() -> None:
    book = make_book()
    book.expect(IncomingStock("IN-1", "SKU-A", "W1", D(10), dt.date(2026, 3, 9)))
    book.expect(IncomingStock("IN-2", "SKU-A", "W2", 4, dt.date(2026, 3, 5)))  # type: ignore[arg-type]
    assert [i.id for i in book.incoming()] == ["IN-2", "IN-1"]
    assert book.incoming()[0].quantity.__class__ is Decimal
    entry = book.receive_expected("IN-1", AT, quantity=6)
    assert entry.reason == "incoming IN-1"
    assert book.item("SKU-A", "W1").on_hand == 6
    assert [(i.id, i.quantity) for i in book.incoming()] == [("IN-2", 4), ("IN-1", 4)]
    book.receive_expected("IN-1", AT)
    book.receive_expected("IN-2", AT, quantity=5)  # more than announced arrives
    assert book.incoming() == ()
    assert book.item("SKU-A", "W2").on_hand == 5


def test_expect_refusals() -> None:
    book = make_book()
    book.expect(IncomingStock("IN-1", "SKU-A", "W1", D(10), dt.date(2026, 3, 9)))
    before = state(book)
    with pytest.raises(ValidationError, match="already expected"):
        book.expect(IncomingStock("IN-1", "SKU-B", "W1", D(1), dt.date(2026, 3, 9)))
    with pytest.raises(UnknownWarehouseError):
        book.expect(IncomingStock("IN-2", "SKU-B", "W7", D(1), dt.date(2026, 3, 9)))
    with pytest.raises(InvalidQuantityError) as raised:
        book.expect(IncomingStock("IN-3", "SKU-B", "W1", D(0), dt.date(2026, 3, 9)))
    assert raised.value.field == "incoming.quantity"
    with pytest.raises(NotFoundError):
        book.receive_expected("IN-404", AT)
    assert state(book) == before


# --------------------------------------------------------------------------- reservations


def test_reserve_holds_stock_with_a_deterministic_id() -> None:
    book = make_book(("SKU-A", "W1", 10))
    reservation = book.reserve("SO-1", "L1", "SKU-A", "W1", 4, AT, actor="web")
    assert reservation == Reservation("SO-1/L1/W1", "SO-1", "L1", "SKU-A", "W1", D(4))
    assert reservation.open == 4
    item = book.item("SKU-A", "W1")
    assert (item.on_hand, item.reserved, item.available) == (10, 4, 6)
    entry = book.ledger()[-1]
    assert (entry.movement, entry.on_hand_delta, entry.reserved_delta) == (
        Movement.RESERVATION,
        0,
        4,
    )
    assert (entry.reservation_id, entry.order_id, entry.line_id, entry.actor) == (
        "SO-1/L1/W1",
        "SO-1",
        "L1",
        "web",
    )


def test_reserving_the_same_line_again_numbers_the_id() -> None:
    book = make_book(("SKU-A", "W1", 10))
    ids = [book.reserve("SO-1", "L1", "SKU-A", "W1", 1, AT).id for _ in range(3)]
    assert ids == ["SO-1/L1/W1", "SO-1/L1/W1#2", "SO-1/L1/W1#3"]
    batch_book = make_book()
    batch_book.receive("MILK", "W1", 5, AT, batch_id="B1")
    assert batch_book.reserve("SO-1", "L1", "MILK", "W1", 1, AT, batch_id="B1").id == (
        "SO-1/L1/W1/B1"
    )


def test_reserve_refusals_change_nothing() -> None:
    book = make_book(("SKU-A", "W1", 3))
    before = state(book)
    with pytest.raises(InsufficientStockError) as short:
        book.reserve("SO-1", "L1", "SKU-A", "W1", 4, AT)
    assert short.value.shortages == (Shortage("SKU-A", D(4), D(3)),)
    assert short.value.order_id == "SO-1"
    assert "SKU-A short by 1" in str(short.value)
    with pytest.raises(UnknownStockItemError):
        book.reserve("SO-1", "L1", "SKU-B", "W1", 1, AT)
    with pytest.raises(UnknownWarehouseError):
        book.reserve("SO-1", "L1", "SKU-A", "W9", 1, AT)
    with pytest.raises(ValidationError) as batch:
        book.reserve("SO-1", "L1", "SKU-A", "W1", 1, AT, batch_id="B7")
    assert batch.value.field == "batch_id"
    with pytest.raises(FloatNotAllowedError):
        book.reserve("SO-1", "L1", "SKU-A", "W1", 1.0, AT)  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as order:
        book.reserve("", "L1", "SKU-A", "W1", 1, AT)
    assert order.value.field == "order_id"
    assert state(book) == before


def test_two_lines_of_one_sku_never_both_pass_against_the_same_stock() -> None:
    book = make_book(("SKU-A", "W1", 5))
    before = state(book)
    two_lines = plan("SO-1", ("L1", "SKU-A", "W1", 3), ("L2", "SKU-A", "W1", 3))
    with pytest.raises(InsufficientStockError) as raised:
        book.reserve_plan(two_lines, AT)
    assert raised.value.shortages == (Shortage("SKU-A", D(6), D(5)),)
    assert state(book) == before
    # One line after the other: the second one sees the first one's reservation.
    book.reserve("SO-1", "L1", "SKU-A", "W1", 3, AT)
    with pytest.raises(InsufficientStockError):
        book.reserve("SO-2", "L1", "SKU-A", "W1", 3, AT)
    assert book.item("SKU-A", "W1").reserved == 3


def test_reserve_plan_is_all_or_nothing_and_names_every_sku_short() -> None:
    book = make_book(("SKU-A", "W1", 5), ("SKU-B", "W1", 1), ("SKU-B", "W2", 1), ("SKU-C", "W2", 9))
    before = state(book)
    short = plan(
        "SO-1",
        ("L1", "SKU-A", "W1", 7),
        ("L2", "SKU-B", "W1", 2),
        ("L2", "SKU-B", "W2", 2),
        ("L3", "SKU-C", "W2", 9),
    )
    with pytest.raises(InsufficientStockError) as raised:
        book.reserve_plan(short, AT)
    assert raised.value.shortages == (
        Shortage("SKU-A", D(7), D(5)),
        Shortage("SKU-B", D(4), D(2)),
    )
    assert [s.missing for s in raised.value.shortages] == [2, 2]
    assert raised.value.order_id == "SO-1"
    assert state(book) == before


def test_reserve_plan_reserves_every_allocation_in_order() -> None:
    book = make_book(("SKU-A", "W1", 5), ("SKU-A", "W2", 5), ("SKU-B", "W2", 5))
    made = book.reserve_plan(
        plan("SO-1", ("L1", "SKU-A", "W1", 5), ("L1", "SKU-A", "W2", 1), ("L2", "SKU-B", "W2", 2)),
        AT,
        actor="api",
    )
    assert [r.id for r in made] == ["SO-1/L1/W1", "SO-1/L1/W2", "SO-1/L2/W2"]
    assert [r.quantity for r in made] == [5, 1, 2]
    assert book.reservations("SO-1") == made
    assert [e.sequence for e in book.ledger()] == list(range(1, 7))
    assert {e.actor for e in book.ledger()[3:]} == {"api"}
    assert book.reconcile() == ()


def test_reserve_plan_refuses_a_plan_that_already_has_shortages() -> None:
    book = make_book(("SKU-A", "W1", 5))
    failed = AllocationPlan("SO-1", shortages=(Shortage("SKU-A", D(9), D(5)),))
    with pytest.raises(InsufficientStockError) as raised:
        book.reserve_plan(failed, AT)
    assert raised.value.shortages == failed.shortages


def test_reserve_plan_validates_quantities_and_lines_by_position() -> None:
    book = make_book(("SKU-A", "W1", 5))
    before = state(book)
    for bad, error in (
        (D("1.5"), InvalidQuantityError),
        (D("NaN"), ValidationError),
        (D("Infinity"), ValidationError),
        (1.0, FloatNotAllowedError),
        (D(0), InvalidQuantityError),
    ):
        allocations = (
            Allocation("L1", "SKU-A", "W1", D(1)),
            Allocation("L2", "SKU-A", "W1", bad),  # type: ignore[arg-type]
        )
        with pytest.raises(error) as raised:
            book.reserve_plan(AllocationPlan("SO-1", allocations), AT)
        assert raised.value.field == "allocations[1].quantity"
    with pytest.raises(ValidationError) as line:
        book.reserve_plan(plan("SO-1", ("", "SKU-A", "W1", 1)), AT)
    assert line.value.field == "allocations[0].line_id"
    with pytest.raises(ValidationError) as naive:
        book.reserve_plan(plan("SO-1", ("L1", "SKU-A", "W1", 1)), dt.datetime(2026, 1, 1))
    assert naive.value.field == "at"
    assert state(book) == before


def test_reserve_plan_accepts_ints_and_other_time_zones() -> None:
    book = make_book(("SKU-A", "W1", 5))
    shanghai = dt.datetime(2026, 3, 1, 20, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    allocations = (Allocation("L1", "SKU-A", "W1", 2),)  # type: ignore[arg-type]
    (made,) = book.reserve_plan(AllocationPlan("SO-1", allocations), shanghai)
    assert made.quantity == 2 and made.quantity.__class__ is Decimal


def test_batch_reservations_check_the_batch_and_the_item() -> None:
    book = make_book()
    book.receive("MILK", "W1", 4, AT, batch_id="B1", expiry=dt.date(2026, 4, 1))
    book.receive("MILK", "W1", 4, AT, batch_id="B2", expiry=dt.date(2026, 5, 1))
    book.receive("MILK", "W1", 2, AT)
    book.set_levels("MILK", "W1", safety_stock=3)  # available: 10 - 3 = 7
    before = state(book)
    by_batch = Allocation("L1", "MILK", "W1", D(5), batch_id="B1")
    with pytest.raises(InsufficientStockError) as batch_short:
        book.reserve_plan(AllocationPlan("SO-1", (by_batch,)), AT)
    assert batch_short.value.shortages == (Shortage("MILK", D(5), D(4)),)
    too_much = (
        Allocation("L1", "MILK", "W1", D(4), batch_id="B1"),
        Allocation("L1", "MILK", "W1", D(4), batch_id="B2"),
    )
    with pytest.raises(InsufficientStockError) as item_short:
        book.reserve_plan(AllocationPlan("SO-1", too_much), AT)
    assert item_short.value.shortages == (Shortage("MILK", D(8), D(7)),)
    unbatched = Allocation("L1", "MILK", "W1", D(3))
    with pytest.raises(InsufficientStockError):  # only 2 are held outside batches
        book.reserve_plan(AllocationPlan("SO-1", (unbatched,)), AT)
    unknown = Allocation("L1", "MILK", "W1", D(1), batch_id="B9")
    with pytest.raises(ValidationError) as raised:
        book.reserve_plan(AllocationPlan("SO-1", (by_batch, unknown)), AT)
    assert raised.value.field == "allocations[1].batch_id"
    assert state(book) == before
    fits = (
        Allocation("L1", "MILK", "W1", D(4), batch_id="B1"),
        Allocation("L2", "MILK", "W1", D(1), batch_id="B2"),
        Allocation("L3", "MILK", "W1", D(2)),
    )
    book.reserve_plan(AllocationPlan("SO-1", fits), AT)
    item = book.item("MILK", "W1")
    assert (item.reserved, item.batches["B1"].reserved, item.batches["B2"].reserved) == (7, 4, 1)
    assert item.unbatched_reserved == 2
    assert book.reconcile() == ()


def test_fast_reservation_constructor_builds_equal_reservations() -> None:
    fast = new_reservation("r", "o", "l", "s", "w", D(3), "B1")
    assert fast == Reservation("r", "o", "l", "s", "w", D(3), "B1")
    assert attrs.asdict(fast) == attrs.asdict(Reservation("r", "o", "l", "s", "w", D(3), "B1"))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        fast.quantity = D(4)  # type: ignore[misc]


# --------------------------------------------------------------------------- release and consume


def test_release_in_part_and_in_full() -> None:
    book = make_book(("SKU-A", "W1", 10))
    rid = book.reserve("SO-1", "L1", "SKU-A", "W1", 6, AT).id
    entry = book.release(rid, AT, 2, reason="customer reduced")
    assert (entry.movement, entry.reserved_delta, entry.on_hand_delta) == (Movement.RELEASE, -2, 0)
    assert (entry.reservation_id, entry.reason) == (rid, "customer reduced")
    assert book.reservation(rid).open == 4 and book.reservation(rid).released == 2
    book.release(rid, AT)
    assert book.reservation(rid).open == 0
    assert book.item("SKU-A", "W1").available == 10
    assert book.reconcile() == ()


def test_release_and_consume_refusals() -> None:
    book = make_book(("SKU-A", "W1", 10))
    rid = book.reserve("SO-1", "L1", "SKU-A", "W1", 3, AT).id
    before = state(book)
    with pytest.raises(ReservationError, match="only 3 is open") as more:
        book.release(rid, AT, 4)
    assert more.value.reservation_id == rid
    with pytest.raises(ReservationError, match="only 3 is open"):
        book.consume(rid, AT, 4)
    with pytest.raises(ReservationError, match="no reservation"):
        book.release("nope", AT)
    with pytest.raises(InvalidQuantityError):
        book.consume(rid, AT, 0)
    with pytest.raises(FloatNotAllowedError):
        book.release(rid, AT, 1.0)  # type: ignore[arg-type]
    assert state(book) == before
    book.consume(rid, AT)
    with pytest.raises(ReservationError, match="nothing open"):
        book.release(rid, AT)


def test_release_order_releases_everything_open_once() -> None:
    book = make_book(("SKU-A", "W1", 10), ("SKU-B", "W2", 10))
    made = book.reserve_plan(plan("SO-1", ("L1", "SKU-A", "W1", 2), ("L2", "SKU-B", "W2", 3)), AT)
    book.consume(made[0].id, AT, 1)
    entries = book.release_order("SO-1", AT, reason="cancelled")
    assert [(e.reservation_id, e.reserved_delta) for e in entries] == [
        (made[0].id, -1),
        (made[1].id, -3),
    ]
    assert book.release_order("SO-1", AT) == ()
    assert book.release_order("SO-unknown", AT) == ()
    assert book.reservations("SO-1", open_only=True) == ()
    assert book.reconcile() == ()


def test_consume_ships_stock() -> None:
    book = make_book()
    book.receive("MILK", "W1", 5, AT, batch_id="B1")
    rid = book.reserve("SO-1", "L1", "MILK", "W1", 4, AT, batch_id="B1").id
    entry = book.consume(rid, AT, 3)
    assert (entry.movement, entry.on_hand_delta, entry.reserved_delta) == (
        Movement.SHIPMENT,
        -3,
        -3,
    )
    item = book.item("MILK", "W1")
    assert (item.on_hand, item.reserved) == (2, 1)
    assert (item.batches["B1"].on_hand, item.batches["B1"].reserved) == (2, 1)
    assert book.reservation(rid).consumed == 3 and book.reservation(rid).open == 1
    assert book.reconcile() == ()


# --------------------------------------------------------------------------- other movements


def test_return_to_stock() -> None:
    book = make_book(("SKU-A", "W1", 1))
    entry = book.return_to_stock(
        "SKU-A", "W2", 2, AT, return_id="RMA-1", order_id="SO-1", line_id="L1", reason="unopened"
    )
    assert (entry.movement, entry.on_hand_delta, entry.return_id, entry.order_id) == (
        Movement.RETURN,
        2,
        "RMA-1",
        "SO-1",
    )
    assert book.item("SKU-A", "W2").on_hand == 2
    before = state(book)
    with pytest.raises(ValidationError) as raised:
        book.return_to_stock("SKU-A", "W1", 1, AT, return_id="")
    assert raised.value.field == "return_id"
    assert state(book) == before


def test_adjust_records_the_counted_difference() -> None:
    book = make_book(("SKU-A", "W1", 10))
    book.reserve("SO-1", "L1", "SKU-A", "W1", 4, AT)
    down = book.adjust("SKU-A", "W1", 7, AT, "cycle count")
    assert (down.movement, down.on_hand_delta, down.reason) == (
        Movement.ADJUSTMENT,
        -3,
        "cycle count",
    )
    same = book.adjust("SKU-A", "W1", 7, AT, "recount")
    assert same.on_hand_delta == 0
    up = book.adjust("SKU-A", "W1", 12, AT, "found a pallet")
    assert up.on_hand_delta == 5
    assert book.item("SKU-A", "W1").on_hand == 12
    before = state(book)
    with pytest.raises(ValidationError, match="below the 4") as below:
        book.adjust("SKU-A", "W1", 3, AT, "count")
    assert below.value.field == "counted"
    with pytest.raises(ValidationError) as reason:
        book.adjust("SKU-A", "W1", 8, AT, "")
    assert reason.value.field == "reason"
    with pytest.raises(InvalidQuantityError):
        book.adjust("SKU-A", "W1", -1, AT, "count")
    with pytest.raises(UnknownStockItemError):
        book.adjust("SKU-Z", "W1", 1, AT, "count")
    assert state(book) == before
    assert book.reconcile() == ()


def test_adjust_to_zero_and_by_batch() -> None:
    book = make_book(("SKU-A", "W1", 3))
    assert book.adjust("SKU-A", "W1", 0, AT, "empty shelf").on_hand_delta == -3
    book.receive("MILK", "W1", 5, AT, batch_id="B1")
    book.receive("MILK", "W1", 2, AT)
    with pytest.raises(ValidationError, match="count each batch"):
        book.adjust("MILK", "W1", 4, AT, "count")  # below the 5 held in B1
    entry = book.adjust("MILK", "W1", 3, AT, "count", batch_id="B1")
    assert (entry.on_hand_delta, entry.batch_id) == (-2, "B1")
    item = book.item("MILK", "W1")
    assert (item.on_hand, item.batches["B1"].on_hand, item.unbatched_on_hand) == (5, 3, 2)
    with pytest.raises(ValidationError) as unknown:
        book.adjust("MILK", "W1", 3, AT, "count", batch_id="B9")
    assert unknown.value.field == "batch_id"
    assert book.reconcile() == ()


def test_write_off_only_unreserved_stock() -> None:
    book = make_book(("SKU-A", "W1", 10))
    book.reserve("SO-1", "L1", "SKU-A", "W1", 7, AT)
    entry = book.write_off("SKU-A", "W1", 3, AT, "water damage")
    assert (entry.movement, entry.on_hand_delta, entry.reserved_delta) == (
        Movement.WRITE_OFF,
        -3,
        0,
    )
    before = state(book)
    with pytest.raises(InsufficientStockError) as raised:
        book.write_off("SKU-A", "W1", 1, AT, "damaged")
    assert raised.value.shortages == (Shortage("SKU-A", D(1), D(0)),)
    with pytest.raises(ValidationError):
        book.write_off("SKU-A", "W1", 1, AT, "")
    assert state(book) == before


def test_transfer_moves_unreserved_stock_and_batches_keep_their_expiry() -> None:
    book = make_book(("SKU-A", "W1", 10))
    book.reserve("SO-1", "L1", "SKU-A", "W1", 6, AT)
    out_entry, in_entry = book.transfer("SKU-A", "W1", "W2", 4, AT, transfer_id="T-1")
    assert (out_entry.movement, out_entry.warehouse_id, out_entry.on_hand_delta) == (
        Movement.TRANSFER_OUT,
        "W1",
        -4,
    )
    assert (in_entry.movement, in_entry.warehouse_id, in_entry.on_hand_delta) == (
        Movement.TRANSFER_IN,
        "W2",
        4,
    )
    assert out_entry.transfer_id == in_entry.transfer_id == "T-1"
    assert in_entry.sequence == out_entry.sequence + 1
    assert (book.item("SKU-A", "W1").on_hand, book.item("SKU-A", "W2").on_hand) == (6, 4)
    before = state(book)
    with pytest.raises(InsufficientStockError):
        book.transfer("SKU-A", "W1", "W2", 1, AT, transfer_id="T-2")
    with pytest.raises(ValidationError) as same:
        book.transfer("SKU-A", "W2", "W2", 1, AT, transfer_id="T-2")
    assert same.value.field == "to_warehouse"
    with pytest.raises(UnknownWarehouseError):
        book.transfer("SKU-A", "W2", "W8", 1, AT, transfer_id="T-2")
    with pytest.raises(ValidationError) as no_id:
        book.transfer("SKU-A", "W2", "W1", 1, AT, transfer_id="")
    assert no_id.value.field == "transfer_id"
    assert state(book) == before
    book.receive("MILK", "W1", 5, AT, batch_id="B1", expiry=dt.date(2026, 4, 1))
    book.transfer("MILK", "W1", "W2", 2, AT, transfer_id="T-3", batch_id="B1")
    moved = book.item("MILK", "W2").batches["B1"]
    assert (moved.on_hand, moved.expiry) == (2, dt.date(2026, 4, 1))
    assert book.reconcile() == ()


# --------------------------------------------------------------------------- snapshot


def test_snapshot_lists_available_batches_fefo_and_incoming() -> None:
    book = make_book(("SKU-A", "W1", 5), ("SKU-A", "W2", 2), ("SKU-B", "W1", 3))
    book.reserve("SO-1", "L1", "SKU-A", "W2", 2, AT)  # nothing left in W2
    book.receive("MILK", "W1", 4, AT, batch_id="LATE", expiry=dt.date(2026, 6, 1))
    book.receive("MILK", "W1", 4, AT, batch_id="EARLY", expiry=dt.date(2026, 4, 1))
    book.receive("MILK", "W1", 4, AT, batch_id="NONE")
    book.set_levels("MILK", "W1", safety_stock=9)  # available 3 caps each batch
    book.expect(IncomingStock("IN-2", "SKU-A", "W2", D(5), dt.date(2026, 3, 20)))
    book.expect(IncomingStock("IN-1", "SKU-A", "W1", D(5), dt.date(2026, 3, 10)))
    snap = book.snapshot(["SKU-A", "MILK", "SKU-X"])
    assert dict(snap.available) == {("SKU-A", "W1"): 5, ("MILK", "W1"): 3}
    assert snap.available_at("SKU-B", "W1") == 0  # not asked for
    assert snap.batches[("MILK", "W1")] == (
        AvailableBatch("EARLY", D(3), dt.date(2026, 4, 1)),
        AvailableBatch("LATE", D(3), dt.date(2026, 6, 1)),
        AvailableBatch("NONE", D(3), None),
    )
    assert [i.id for i in snap.incoming["SKU-A"]] == ["IN-1", "IN-2"]
    assert snap.warehouses is book.warehouses


def test_warehouse_mapping_is_stable_until_a_warehouse_is_added() -> None:
    book = make_book()
    first = book.warehouses
    assert book.warehouses is first
    with pytest.raises(TypeError):
        first["W3"] = Warehouse("W3")  # type: ignore[index]
    book.add_warehouse(Warehouse("W3"))
    assert book.warehouses is not first
    assert set(book.warehouses) == {"W1", "W2", "W3"} and set(first) == {"W1", "W2"}
    book.add_warehouse(Warehouse("W3", active=False))
    assert book.warehouses["W3"].active is False


# --------------------------------------------------------------------------- low stock


def test_low_stock_is_raised_once_per_crossing() -> None:
    book = make_book(("SKU-A", "W1", 20))
    book.set_levels("SKU-A", "W1", reorder_point=5, reorder_quantity=50)
    book.reserve("SO-1", "L1", "SKU-A", "W1", 14, AT)  # available 6: above
    assert book.collect_events() == []
    book.reserve("SO-2", "L1", "SKU-A", "W1", 1, AT)  # 5: crossing
    book.reserve("SO-3", "L1", "SKU-A", "W1", 2, AT)  # 3: still below, no new alert
    book.write_off("SKU-A", "W1", 1, AT, "broken")  # 2: still below
    assert book.collect_events() == [LowStock("SKU-A", "W1", D(5), D(5), D(50), AT)]
    assert book.collect_events() == []  # drained
    assert book.item("SKU-A", "W1").low_stock
    book.receive("SKU-A", "W1", 10, AT)  # 12: above again
    assert not book.item("SKU-A", "W1").low_stock
    book.release_order("SO-1", AT)  # 26: still above
    later = AT + dt.timedelta(days=1)
    book.reserve("SO-4", "L1", "SKU-A", "W1", 21, later)  # 5: a new crossing
    assert book.collect_events() == [LowStock("SKU-A", "W1", D(5), D(5), D(50), later)]


def test_suggested_quantity_without_reorder_quantity_gets_back_above_the_point() -> None:
    book = make_book(("SKU-A", "W1", 10))
    book.set_levels("SKU-A", "W1", safety_stock=2, reorder_point=4)
    book.reserve("SO-1", "L1", "SKU-A", "W1", 7, AT)  # available 1
    (alert,) = book.collect_events()
    assert (alert.available, alert.suggested_quantity) == (1, 4)
    book.receive("SKU-A", "W1", alert.suggested_quantity, AT)
    assert book.item("SKU-A", "W1").available == 5 > alert.reorder_point


def test_set_levels_with_a_time_checks_at_once() -> None:
    book = make_book(("SKU-A", "W1", 3))
    book.set_levels("SKU-A", "W1", reorder_point=5)
    assert book.collect_events() == []
    book.set_levels("SKU-A", "W1", reorder_point=5, at=AT)
    assert [e.available for e in book.collect_events()] == [3]


# --------------------------------------------------------------------------- ledger and fold


def test_ledger_is_numbered_and_folds_to_the_figures() -> None:
    book = make_book(("SKU-A", "W1", 10), ("SKU-A", "W2", 4))
    rid = book.reserve("SO-1", "L1", "SKU-A", "W1", 5, AT).id
    book.consume(rid, AT, 2)
    book.transfer("SKU-A", "W2", "W1", 4, AT, transfer_id="T-1")
    entries = book.ledger()
    assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))
    assert fold_ledger(entries) == {
        (item.sku, item.warehouse_id): (item.on_hand, item.reserved) for item in book.items()
    }
    assert fold_reservations(entries) == {rid: D(3)}
    assert book.ledger_after(3) == entries[3:]
    assert book.ledger_after(len(entries)) == ()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        entries[0].on_hand_delta = D(99)  # type: ignore[misc]


def test_fold_batches_and_plan_demand() -> None:
    book = make_book()
    book.receive("MILK", "W1", 5, AT, batch_id="B1")
    book.receive("MILK", "W1", 2, AT)
    book.reserve("SO-1", "L1", "MILK", "W1", 3, AT, batch_id="B1")
    assert fold_batches(book.ledger()) == {("MILK", "W1", "B1"): (D(5), D(3))}
    demand = plan_demand(
        plan("SO-1", ("L1", "SKU-A", "W1", 2), ("L2", "SKU-A", "W1", 3), ("L3", "SKU-A", "W2", 1))
    )
    assert demand == {("SKU-A", "W1", None): D(5), ("SKU-A", "W2", None): D(1)}


@settings(max_examples=60)
@given(stock_books())
def test_generated_books_are_consistent(book: StockBook) -> None:
    assert book.reconcile() == ()
    for item in book.items():
        assert 0 <= item.reserved <= item.on_hand
        assert item.available == max(item.on_hand - item.reserved - item.safety_stock, 0)


@settings(max_examples=60)
@given(stock_items())
def test_generated_items_keep_the_invariants(item: StockItem) -> None:
    assert 0 <= item.reserved <= item.on_hand
    for batch in item.batches.values():
        assert 0 <= batch.reserved <= batch.on_hand
    assert item.unbatched_on_hand >= item.unbatched_reserved >= 0


@settings(max_examples=80)
@given(book=stock_books(), data=st.data())
def test_any_plan_is_reserved_whole_or_not_at_all(book: StockBook, data: st.DataObject) -> None:
    """Random plans, often over-asking: a plan either fully applies or changes nothing."""
    targets = [(i.sku, i.warehouse_id, b) for i in book.items() for b in (None, *i.batches)]
    chosen = data.draw(st.lists(st.sampled_from(targets), min_size=1, max_size=4))
    allocations = tuple(
        Allocation(f"L{n}", sku, wh, data.draw(quantities(max_value=12)), batch_id=batch)
        for n, (sku, wh, batch) in enumerate(chosen)
    )
    before = state(book)
    if fits(book, allocations):
        made = book.reserve_plan(AllocationPlan("SO-X", allocations), MOMENT)
        assert [r.quantity for r in made] == [a.quantity for a in allocations]
    else:
        with pytest.raises(InsufficientStockError) as raised:
            book.reserve_plan(AllocationPlan("SO-X", allocations), MOMENT)
        assert state(book) == before
        assert raised.value.shortages
        assert all(s.missing > 0 for s in raised.value.shortages)
        assert {s.sku for s in raised.value.shortages} <= {a.sku for a in allocations}
    assert book.reconcile() == ()
    for item in book.items():
        assert 0 <= item.reserved <= item.on_hand


def fits(book: StockBook, allocations: tuple[Allocation, ...]) -> bool:
    """The test's own oracle: every item and every batch (or unbatched stock) has room."""
    per_item: dict[tuple[str, str], Decimal] = {}
    per_bucket: dict[tuple[str, str, str | None], Decimal] = {}
    for a in allocations:
        key = (a.sku, a.warehouse_id)
        per_item[key] = per_item.get(key, D(0)) + a.quantity
        bucket = (a.sku, a.warehouse_id, a.batch_id)
        per_bucket[bucket] = per_bucket.get(bucket, D(0)) + a.quantity
    for (sku, wh), wanted in per_item.items():
        item = book.item(sku, wh)
        if wanted > item.on_hand - item.reserved - item.safety_stock:
            return False
    for (sku, wh, batch_id), wanted in per_bucket.items():
        item = book.item(sku, wh)
        if batch_id is None:
            room = item.unbatched_on_hand - item.unbatched_reserved
        else:
            room = item.batches[batch_id].on_hand - item.batches[batch_id].reserved
        if wanted > room:
            return False
    return True


# --------------------------------------------------------------------------- reconciliation


def test_reconcile_catches_a_corrupted_reserved_figure() -> None:
    book = make_book(("SKU-A", "W1", 10), ("SKU-B", "W2", 3))
    book.reserve("SO-1", "L1", "SKU-A", "W1", 4, AT)
    assert book.reconcile() == ()
    book.item("SKU-A", "W1").reserved += 1  # corruption outside the book's operations
    found = book.reconcile()
    assert found
    assert {(d.sku, d.warehouse_id, d.field) for d in found} == {("SKU-A", "W1", "reserved")}
    by_ledger = next(d for d in found if "ledger" in d.explanation)
    assert (by_ledger.recorded, by_ledger.expected) == (5, 4)
    by_reservations = next(d for d in found if "open reservations" in d.explanation)
    assert (by_reservations.recorded, by_reservations.expected) == (5, 4)


def test_reconcile_catches_on_hand_drift_oversold_items_and_batch_drift() -> None:
    book = make_book(("SKU-A", "W1", 5))
    book.receive("MILK", "W1", 5, AT, batch_id="B1")
    book.reserve("SO-1", "L1", "SKU-A", "W1", 5, AT)
    book.item("SKU-A", "W1").on_hand = D(3)
    book.item("MILK", "W1").batches["B1"].on_hand = D(9)
    found = {(d.sku, d.field, d.recorded, d.expected) for d in book.reconcile()}
    assert ("SKU-A", "on_hand", D(3), D(5)) in found
    assert ("SKU-A", "reserved", D(5), D(3)) in found  # oversold: reserved above on hand
    assert ("MILK", "batches[B1].on_hand", D(9), D(5)) in found
    assert ("MILK", "batches.on_hand", D(9), D(5)) in found


def test_reconcile_catches_lost_items_reservations_and_edited_reservations() -> None:
    book = make_book(("SKU-A", "W1", 5))
    made = book.reserve("SO-1", "L1", "SKU-A", "W1", 2, AT)
    entries = book.ledger()
    lost_item = reconcile([], book.reservations(), entries)
    assert {(d.sku, d.field) for d in lost_item} == {("SKU-A", "on_hand"), ("SKU-A", "reserved")}
    lost_reservation = reconcile(book.items(), [], entries)
    assert [d.field for d in lost_reservation] == ["reserved"]
    assert lost_reservation[0].expected == 0
    edited = attrs.evolve(made, released=D(1))
    found = reconcile(book.items(), [edited], entries)
    assert {d.field for d in found} == {"reservations[SO-1/L1/W1].open", "reserved"}
    over = attrs.evolve(made, consumed=D(3))
    assert any(
        "more than it held" in d.explanation for d in reconcile(book.items(), [over], entries)
    )
    assert all(isinstance(d, Discrepancy) for d in found)


# --------------------------------------------------------------------------- reports


def test_availability_and_reserved_reports() -> None:
    book = make_book(("SKU-B", "W1", 10), ("SKU-A", "W2", 4))
    book.set_levels("SKU-B", "W1", safety_stock=1, reorder_point=3)
    book.reserve("SO-1", "L1", "SKU-B", "W1", 7, AT)
    book.reserve("SO-2", "L1", "SKU-B", "W1", 1, AT)
    book.expect(IncomingStock("IN-1", "SKU-B", "W1", D(6), dt.date(2026, 3, 9)))
    book.expect(IncomingStock("IN-2", "SKU-C", "W2", D(2), dt.date(2026, 3, 9)))
    rows = book.availability()
    assert [(r.sku, r.warehouse_id) for r in rows] == [
        ("SKU-A", "W2"),
        ("SKU-B", "W1"),
        ("SKU-C", "W2"),
    ]
    b = rows[1]
    assert (b.on_hand, b.reserved, b.safety_stock, b.available, b.incoming, b.low_stock) == (
        10,
        8,
        1,
        1,
        6,
        True,
    )
    assert (rows[2].on_hand, rows[2].incoming) == (0, 2)
    reserved = {(r.sku, r.warehouse_id): r for r in book.reserved_vs_on_hand()}
    assert (reserved["SKU-B", "W1"].unreserved, reserved["SKU-B", "W1"].open_reservations) == (2, 2)
    assert reserved["SKU-A", "W2"].open_reservations == 0


def test_incoming_by_date_groups_and_sorts() -> None:
    book = make_book()
    book.expect(IncomingStock("IN-3", "SKU-B", "W1", D(1), dt.date(2026, 3, 9)))
    book.expect(IncomingStock("IN-1", "SKU-A", "W1", D(1), dt.date(2026, 3, 9)))
    book.expect(IncomingStock("IN-2", "SKU-A", "W1", D(1), dt.date(2026, 3, 2)))
    report = book.incoming_by_date()
    assert list(report) == [dt.date(2026, 3, 2), dt.date(2026, 3, 9)]
    assert [i.id for i in report[dt.date(2026, 3, 9)]] == ["IN-1", "IN-3"]


def test_backorders_are_recorded_per_order_and_summed_per_sku() -> None:
    book = make_book()
    first = AllocationPlan(
        "SO-1",
        backorders=(
            Backorder("L1", "SKU-A", D(3), dt.date(2026, 3, 20)),
            Backorder("L2", "SKU-B", D(1)),
        ),
    )
    second = AllocationPlan(
        "SO-2", backorders=(Backorder("L1", "SKU-A", D(2), dt.date(2026, 3, 9)),)
    )
    book.record_backorders(first)
    book.record_backorders(second)
    summary = {s.sku: s for s in book.backorders_by_sku()}
    assert (summary["SKU-A"].quantity, summary["SKU-A"].order_ids) == (5, ("SO-1", "SO-2"))
    assert summary["SKU-A"].earliest_expected == dt.date(2026, 3, 9)
    assert summary["SKU-B"].earliest_expected is None
    book.record_backorders(AllocationPlan("SO-2"))  # re-allocated in full: cleared
    book.clear_backorders("SO-1")
    assert book.backorders_by_sku() == ()


def test_every_default_sku_is_usable() -> None:
    book = make_book(*((sku, "W1", 1) for sku in SKUS))
    assert [i.sku for i in book.items()] == sorted(SKUS)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda b: b.receive("S" * 101, "W1", 1, AT), "sku"),
        (lambda b: b.receive("SKU-A", "W1", 1, AT, batch_id="B\x00"), "batch_id"),
        (lambda b: b.receive("SKU-A", "W1", 1, AT, reason="bad\ud800"), "reason"),
        (lambda b: b.receive("SKU-A", "W1", 1, AT, actor="a" * 201), "actor"),
        (lambda b: b.write_off("SKU-A", "W1", 1, AT, "x" * 2001), "reason"),
        (lambda b: b.reserve("O" * 101, "L1", "SKU-A", "W1", 1, AT), "order_id"),
        (lambda b: b.transfer("SKU-A", "W1", "W2", 1, AT, transfer_id="T\x00"), "transfer_id"),
    ],
)
def test_stock_texts_every_store_can_hold(call: object, field: str) -> None:
    """The book checks ids, names and free texts with the same limits as the service."""
    book = StockBook([Warehouse("W1"), Warehouse("W2")])
    book.receive("SKU-A", "W1", 5, AT)
    before = state(book)
    with pytest.raises(ValidationError) as caught:
        call(book)  # type: ignore[operator]
    assert caught.value.field == field
    assert state(book) == before
