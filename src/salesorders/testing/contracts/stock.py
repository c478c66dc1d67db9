"""Contract: the stock repository — atomic reservation, no oversell, release, ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from salesorders.domain.plan import Allocation, AllocationPlan
from salesorders.domain.snapshot import AvailableBatch, IncomingStock
from salesorders.domain.stock import Movement, StockChange, fold_ledger, reconcile
from salesorders.domain.stock.model import new_entry
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import (
    FloatNotAllowedError,
    InsufficientStockError,
    InvalidQuantityError,
    NotFoundError,
    UnknownStockItemError,
    UnknownWarehouseError,
    ValidationError,
)
from salesorders.ports import UnitOfWork
from salesorders.testing.contracts._base import T0, AdapterContract, desk, plan_for

__all__ = ["StockRepositoryContract"]


def _figures(uow: UnitOfWork) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    return {
        (i.sku, i.warehouse_id): (i.on_hand, i.reserved)
        for i in uow.stock.items()
        if i.on_hand or i.reserved
    }


def _state(uow: UnitOfWork) -> tuple[object, ...]:
    return (_figures(uow), uow.stock.reservations(), uow.stock.ledger())


def _batches(uow: UnitOfWork, sku: str, warehouse_id: str) -> dict[str, tuple[object, ...]]:
    """``{batch_id: (expiry, on_hand, reserved)}`` of one stored item."""
    item = next(i for i in uow.stock.items() if (i.sku, i.warehouse_id) == (sku, warehouse_id))
    return {b.batch_id: (b.expiry, b.on_hand, b.reserved) for b in item.batches.values()}


def _incoming(uow: UnitOfWork) -> dict[str, IncomingStock]:
    return {i.id: i for i in uow.stock.incoming()}


def _movements(entries: tuple[object, ...]) -> list[Movement]:
    return [e.movement for e in entries]  # type: ignore[attr-defined]


def _assert_consistent(uow: UnitOfWork) -> None:
    """The figures equal the ledger fold, and reconcile finds nothing."""
    folded = {key: value for key, value in fold_ledger(uow.stock.ledger()).items() if any(value)}
    assert folded == _figures(uow)
    assert reconcile(uow.stock.items(), uow.stock.reservations(), uow.stock.ledger()) == ()


class StockRepositoryContract(AdapterContract):
    """Stock is received, reserved atomically (never oversold), released, and ledgered."""

    def _given_two_warehouses(self) -> None:
        self.given_warehouses("W1", "W2")
        self.given_stock(("SKU-A", "W1", 10), ("SKU-A", "W2", 4), ("SKU-B", "W1", 3))

    # ------------------------------------------------------------------ warehouses and receipts

    def test_warehouses_are_stored(self) -> None:
        warehouse = Warehouse(
            "W1", name="Main", region="EU", priority=3, ships_to=frozenset({"EU"})
        )
        self.in_uow(lambda uow: desk(uow).add_warehouse(warehouse))
        assert self.read(lambda uow: uow.stock.warehouses()) == {"W1": warehouse}

    def test_receive_adds_on_hand_and_a_receipt_entry(self) -> None:
        self.given_warehouses("W1")
        entry = self.in_uow(
            lambda uow: desk(uow).receive("SKU-A", "W1", Decimal(7), T0, actor="ann", reason="PO-1")
        )
        assert entry.movement is Movement.RECEIPT
        assert (entry.sku, entry.warehouse_id) == ("SKU-A", "W1")
        assert (entry.on_hand_delta, entry.reserved_delta) == (Decimal(7), Decimal(0))
        assert (entry.actor, entry.reason) == ("ann", "PO-1")
        assert self.read(_figures) == {("SKU-A", "W1"): (Decimal(7), Decimal(0))}
        assert self.read(lambda uow: uow.stock.ledger()) == (entry,)

    def test_receive_refuses_bad_input_and_changes_nothing(self) -> None:
        self.given_warehouses("W1")
        with pytest.raises(UnknownWarehouseError):
            self.in_uow(lambda uow: desk(uow).receive("SKU-A", "W9", Decimal(1), T0))
        with pytest.raises(FloatNotAllowedError):
            self.in_uow(lambda uow: desk(uow).receive("SKU-A", "W1", 1.5, T0))  # type: ignore[arg-type]
        with pytest.raises(InvalidQuantityError):
            self.in_uow(lambda uow: desk(uow).receive("SKU-A", "W1", Decimal(-1), T0))
        assert self.read(_figures) == {}
        assert self.read(lambda uow: uow.stock.ledger()) == ()

    def test_a_refused_first_receipt_creates_no_item_in_a_unit_of_work_that_goes_on(
        self,
    ) -> None:
        """An operation that would create an item is checked before the item is stored: a
        caller that catches the refusal and commits the rest leaves no empty item behind."""
        self.given_warehouses("W1")

        def work(uow: UnitOfWork) -> None:
            for bad in (Decimal(0), Decimal(-1)):
                with pytest.raises(InvalidQuantityError):
                    desk(uow).receive("SKU-NEW", "W1", bad, T0)
            with pytest.raises(ValidationError):
                desk(uow).set_levels("SKU-NEW", "W1", reorder_quantity=Decimal(0))
            desk(uow).receive("SKU-A", "W1", Decimal(1), T0)

        self.in_uow(work)
        assert [i.sku for i in self.read(lambda uow: uow.stock.items())] == ["SKU-A"]
        self.read(_assert_consistent)

    def test_quantities_keep_their_decimal_places(self) -> None:
        if self.quantity_places < 3:
            pytest.skip("the adapter keeps fewer than 3 decimal places")
        self.given_warehouses("W1")
        self.given_stock(("RICE-KG", "W1", "12.345"))
        assert self.read(_figures) == {("RICE-KG", "W1"): (Decimal("12.345"), Decimal(0))}

    # ------------------------------------------------------------------ snapshot

    def test_snapshot_shows_available_after_reservations_and_safety_stock(self) -> None:
        self._given_two_warehouses()
        self.in_uow(lambda uow: desk(uow).set_levels("SKU-A", "W1", safety_stock=Decimal(2)))
        self.in_uow(
            lambda uow: desk(uow).reserve_plan(plan_for("O-1", ("L1", "SKU-A", "W1", 3)), T0)
        )
        snapshot = self.read(lambda uow: uow.stock.snapshot(["SKU-A"]))
        assert snapshot.available_at("SKU-A", "W1") == Decimal(5)
        assert snapshot.available_at("SKU-A", "W2") == Decimal(4)
        assert snapshot.available_at("SKU-B", "W1") == Decimal(0)  # not asked for
        assert set(snapshot.warehouses) == {"W1", "W2"}

    def test_snapshot_lists_expected_stock(self) -> None:
        self._given_two_warehouses()
        incoming = IncomingStock("IN-1", "SKU-A", "W2", Decimal(20), dt.date(2026, 3, 9))
        self.in_uow(lambda uow: desk(uow).expect(incoming))
        snapshot = self.read(lambda uow: uow.stock.snapshot(["SKU-A"]))
        assert tuple(snapshot.incoming.get("SKU-A", ())) == (incoming,)

    # ------------------------------------------------------------------ reserve

    def test_reserve_applies_a_whole_plan(self) -> None:
        self._given_two_warehouses()
        plan = plan_for(
            "O-1", ("L1", "SKU-A", "W1", 6), ("L1", "SKU-A", "W2", 4), ("L2", "SKU-B", "W1", 1)
        )
        reservations = self.in_uow(lambda uow: desk(uow).reserve_plan(plan, T0, actor="svc"))
        assert sorted((r.line_id, r.sku, r.warehouse_id, r.quantity) for r in reservations) == [
            ("L1", "SKU-A", "W1", Decimal(6)),
            ("L1", "SKU-A", "W2", Decimal(4)),
            ("L2", "SKU-B", "W1", Decimal(1)),
        ]
        assert all(r.order_id == "O-1" and r.open == r.quantity for r in reservations)
        assert self.read(_figures) == {
            ("SKU-A", "W1"): (Decimal(10), Decimal(6)),
            ("SKU-A", "W2"): (Decimal(4), Decimal(4)),
            ("SKU-B", "W1"): (Decimal(3), Decimal(1)),
        }
        assert set(self.read(lambda uow: uow.stock.reservations("O-1"))) == set(reservations)
        entries = self.read(lambda uow: uow.stock.ledger())[-3:]
        assert {e.movement for e in entries} == {Movement.RESERVATION}
        assert sum(e.reserved_delta for e in entries) == Decimal(11)
        self.read(_assert_consistent)

    def test_a_shortage_reserves_nothing_and_names_every_sku_short(self) -> None:
        self._given_two_warehouses()
        before = self.read(_state)
        plan = plan_for(
            "O-1", ("L1", "SKU-A", "W1", 10), ("L2", "SKU-B", "W1", 5), ("L3", "SKU-A", "W2", 5)
        )
        with pytest.raises(InsufficientStockError) as caught:
            self.in_uow(lambda uow: desk(uow).reserve_plan(plan, T0))
        assert {s.sku for s in caught.value.shortages} == {"SKU-A", "SKU-B"}
        short_b = next(s for s in caught.value.shortages if s.sku == "SKU-B")
        assert (short_b.requested, short_b.available, short_b.missing) == (
            Decimal(5),
            Decimal(3),
            Decimal(2),
        )
        assert self.read(_state) == before

    def test_a_shortage_inside_a_unit_of_work_leaves_it_usable(self) -> None:
        self._given_two_warehouses()

        def work(uow: UnitOfWork) -> None:
            with pytest.raises(InsufficientStockError):
                desk(uow).reserve_plan(plan_for("O-1", ("L1", "SKU-B", "W1", 4)), T0)
            desk(uow).reserve_plan(plan_for("O-1", ("L1", "SKU-B", "W1", 3)), T0)

        self.in_uow(work)
        assert self.read(_figures)[("SKU-B", "W1")] == (Decimal(3), Decimal(3))
        self.read(_assert_consistent)

    def test_two_lines_of_one_sku_are_summed_before_checking(self) -> None:
        self._given_two_warehouses()
        plan = plan_for("O-1", ("L1", "SKU-B", "W1", 2), ("L2", "SKU-B", "W1", 2))
        with pytest.raises(InsufficientStockError) as caught:
            self.in_uow(lambda uow: desk(uow).reserve_plan(plan, T0))
        assert [(s.sku, s.requested, s.available) for s in caught.value.shortages] == [
            ("SKU-B", Decimal(4), Decimal(3))
        ]
        assert self.read(_figures)[("SKU-B", "W1")] == (Decimal(3), Decimal(0))

    def test_safety_stock_is_never_reserved(self) -> None:
        self._given_two_warehouses()
        self.in_uow(lambda uow: desk(uow).set_levels("SKU-B", "W1", safety_stock=Decimal(1)))
        with pytest.raises(InsufficientStockError):
            self.in_uow(
                lambda uow: desk(uow).reserve_plan(plan_for("O-1", ("L1", "SKU-B", "W1", 3)), T0)
            )
        self.in_uow(
            lambda uow: desk(uow).reserve_plan(plan_for("O-1", ("L1", "SKU-B", "W1", 2)), T0)
        )
        assert self.read(_figures)[("SKU-B", "W1")] == (Decimal(3), Decimal(2))

    def test_reserving_where_nothing_was_ever_stocked_names_the_item(self) -> None:
        self._given_two_warehouses()
        before = self.read(_state)
        plan = plan_for("O-1", ("L1", "SKU-A", "W1", 1), ("L2", "SKU-B", "W2", 1))
        with pytest.raises(UnknownStockItemError) as caught:
            self.in_uow(lambda uow: desk(uow).reserve_plan(plan, T0))
        assert (caught.value.sku, caught.value.warehouse_id) == ("SKU-B", "W2")
        assert self.read(_state) == before

    def test_concurrent_reservations_never_oversell(self) -> None:
        if not self.supports_concurrency:
            pytest.skip("the adapter does not support concurrent units of work")
        self.given_warehouses("W1")
        self.given_stock(("SKU-A", "W1", 10), ("SKU-B", "W1", 10))

        def reserve(uow: UnitOfWork, index: int) -> int:
            lines = [("L1", "SKU-A", "W1", 2), ("L2", "SKU-B", "W1", 2)]
            if index % 2:
                lines.reverse()  # opposite lock orders must not deadlock
            desk(uow).reserve_plan(plan_for(f"O-{index}", *lines), T0)
            return index

        outcomes = self.race(reserve, threads=max(self.concurrency_threads, 6))
        winners = [o for o in outcomes if isinstance(o, int)]
        losers = [o for o in outcomes if not isinstance(o, int)]
        assert len(winners) == 5, outcomes
        assert all(isinstance(o, InsufficientStockError) for o in losers), losers
        assert self.read(_figures) == {
            ("SKU-A", "W1"): (Decimal(10), Decimal(10)),
            ("SKU-B", "W1"): (Decimal(10), Decimal(10)),
        }
        self.read(_assert_consistent)

    # ------------------------------------------------------------------ release

    def test_release_order_frees_every_open_reservation(self) -> None:
        self._given_two_warehouses()
        plan = plan_for("O-1", ("L1", "SKU-A", "W1", 6), ("L2", "SKU-B", "W1", 2))
        self.in_uow(lambda uow: desk(uow).reserve_plan(plan, T0))
        self.in_uow(
            lambda uow: desk(uow).reserve_plan(plan_for("O-2", ("L1", "SKU-A", "W1", 1)), T0)
        )
        entries = self.in_uow(
            lambda uow: desk(uow).release_order("O-1", T0, reason="cancelled", actor="svc")
        )
        assert {e.movement for e in entries} == {Movement.RELEASE}
        assert sorted(e.reserved_delta for e in entries) == [Decimal(-6), Decimal(-2)]
        assert all(e.order_id == "O-1" for e in entries)
        assert self.read(_figures) == {
            ("SKU-A", "W1"): (Decimal(10), Decimal(1)),
            ("SKU-A", "W2"): (Decimal(4), Decimal(0)),
            ("SKU-B", "W1"): (Decimal(3), Decimal(0)),
        }
        assert all(r.open == 0 for r in self.read(lambda uow: uow.stock.reservations("O-1")))
        assert [r.open for r in self.read(lambda uow: uow.stock.reservations("O-2"))] == [
            Decimal(1)
        ]
        self.read(_assert_consistent)

    def test_releasing_an_order_without_reservations_changes_nothing(self) -> None:
        self._given_two_warehouses()
        before = self.read(_state)
        assert self.in_uow(lambda uow: desk(uow).release_order("O-404", T0)) == ()
        assert self.read(_state) == before

    def test_released_stock_can_be_reserved_again(self) -> None:
        self._given_two_warehouses()
        self.in_uow(
            lambda uow: desk(uow).reserve_plan(plan_for("O-1", ("L1", "SKU-B", "W1", 3)), T0)
        )
        self.in_uow(lambda uow: desk(uow).release_order("O-1", T0))
        self.in_uow(
            lambda uow: desk(uow).reserve_plan(plan_for("O-2", ("L1", "SKU-B", "W1", 3)), T0)
        )
        assert self.read(_figures)[("SKU-B", "W1")] == (Decimal(3), Decimal(3))
        self.read(_assert_consistent)

    # ------------------------------------------------------------------ ledger and alerts

    def test_the_ledger_is_append_only_and_folds_to_the_figures(self) -> None:
        self._given_two_warehouses()
        first = self.read(lambda uow: uow.stock.ledger())
        self.in_uow(
            lambda uow: desk(uow).reserve_plan(plan_for("O-1", ("L1", "SKU-A", "W2", 4)), T0)
        )
        self.in_uow(lambda uow: desk(uow).release_order("O-1", T0))
        ledger = self.read(lambda uow: uow.stock.ledger())
        assert ledger[: len(first)] == first
        sequences = [e.sequence for e in ledger]
        assert sequences == sorted(set(sequences))
        self.read(_assert_consistent)

    def test_low_stock_is_raised_once_per_crossing(self) -> None:
        self._given_two_warehouses()
        self.in_uow(
            lambda uow: desk(uow).set_levels(
                "SKU-A", "W1", reorder_point=Decimal(5), reorder_quantity=Decimal(20)
            )
        )

        def reserve(order_id: str, quantity: int) -> list[object]:
            def work(uow: UnitOfWork) -> list[object]:
                stock = desk(uow)
                stock.reserve_plan(plan_for(order_id, ("L1", "SKU-A", "W1", quantity)), T0)
                return list(stock.alerts)

            return self.in_uow(work)

        assert reserve("O-1", 4) == []
        events = reserve("O-2", 2)
        assert len(events) == 1
        alert = events[0]
        assert (alert.sku, alert.warehouse_id) == ("SKU-A", "W1")  # type: ignore[attr-defined]
        assert alert.available == Decimal(4)  # type: ignore[attr-defined]
        assert alert.suggested_quantity == Decimal(20)  # type: ignore[attr-defined]
        assert reserve("O-3", 1) == []  # still below: no second alert

    def test_alerts_of_a_rolled_back_unit_of_work_are_forgotten(self) -> None:
        self._given_two_warehouses()
        self.in_uow(lambda uow: desk(uow).set_levels("SKU-B", "W1", reorder_point=Decimal(2)))

        def reserve(uow: UnitOfWork) -> int:
            stock = desk(uow)
            stock.reserve_plan(plan_for("O-1", ("L1", "SKU-B", "W1", 2)), T0)
            return len(stock.alerts)

        assert self.in_uow(reserve, commit=False) == 1
        assert self.in_uow(reserve) == 1  # the crossing happens again, for real this time

    # ------------------------------------------------------------------ batches and expiry

    def test_a_batch_is_received_with_its_expiry(self) -> None:
        self.given_warehouses("W1")
        expiry = dt.date(2026, 4, 1)
        entry = self.in_uow(
            lambda uow: desk(uow).receive(
                "MILK", "W1", Decimal(6), T0, batch_id="L-1", expiry=expiry
            )
        )
        assert (entry.movement, entry.batch_id, entry.on_hand_delta) == (
            Movement.RECEIPT,
            "L-1",
            Decimal(6),
        )
        self.in_uow(lambda uow: desk(uow).receive("MILK", "W1", Decimal(2), T0, batch_id="L-1"))
        assert self.read(lambda uow: _batches(uow, "MILK", "W1")) == {
            "L-1": (expiry, Decimal(8), Decimal(0))
        }
        assert self.read(_figures) == {("MILK", "W1"): (Decimal(8), Decimal(0))}
        self.read(_assert_consistent)

    def test_a_receipt_with_another_expiry_for_a_batch_is_refused(self) -> None:
        self.given_warehouses("W1")
        self.in_uow(
            lambda uow: desk(uow).receive(
                "MILK", "W1", Decimal(6), T0, batch_id="L-1", expiry=dt.date(2026, 4, 1)
            )
        )
        before = self.read(_state)
        with pytest.raises(ValidationError) as caught:
            self.in_uow(
                lambda uow: desk(uow).receive(
                    "MILK", "W1", Decimal(1), T0, batch_id="L-1", expiry=dt.date(2026, 5, 1)
                )
            )
        assert caught.value.field == "expiry"
        with pytest.raises(ValidationError) as caught:
            self.in_uow(
                lambda uow: desk(uow).receive(
                    "MILK", "W1", Decimal(1), T0, expiry=dt.date(2026, 5, 1)
                )
            )
        assert caught.value.field == "expiry"  # an expiry needs a batch
        assert self.read(_state) == before
        self.read(_assert_consistent)

    def test_an_expired_batch_is_not_offered_and_cannot_be_reserved(self) -> None:
        self.given_warehouses("W1")

        def receive(uow: UnitOfWork) -> None:
            stock = desk(uow)
            stock.receive("MILK", "W1", Decimal(4), T0, batch_id="OLD", expiry=dt.date(2026, 3, 5))
            stock.receive("MILK", "W1", Decimal(6), T0, batch_id="NEW", expiry=dt.date(2026, 4, 1))

        self.in_uow(receive)
        today = self.read(lambda uow: uow.stock.snapshot(["MILK"], on=dt.date(2026, 3, 5)))
        assert [b.batch_id for b in today.batches[("MILK", "W1")]] == ["OLD", "NEW"]
        later = self.read(lambda uow: uow.stock.snapshot(["MILK"], on=dt.date(2026, 3, 6)))
        assert later.batches[("MILK", "W1")] == (
            AvailableBatch("NEW", Decimal(6), dt.date(2026, 4, 1)),
        )
        assert later.available_at("MILK", "W1") == Decimal(6)
        before = self.read(_state)
        late = dt.datetime(2026, 3, 6, 9, 0, tzinfo=dt.UTC)
        plan = AllocationPlan("O-1", (Allocation("L1", "MILK", "W1", Decimal(1), batch_id="OLD"),))
        with pytest.raises(ValidationError) as caught:
            self.in_uow(lambda uow: desk(uow).reserve_plan(plan, late))
        assert caught.value.field == "allocations[0].batch_id"
        assert self.read(_state) == before
        self.in_uow(lambda uow: desk(uow).reserve_plan(plan, T0))  # still good on its first days
        assert self.read(lambda uow: _batches(uow, "MILK", "W1"))["OLD"][2] == Decimal(1)
        self.read(_assert_consistent)

    # ------------------------------------------------------------------ incoming

    def test_an_expected_receipt_arrives_whole(self) -> None:
        self.given_warehouses("W1")
        incoming = IncomingStock(
            "IN-1", "MILK", "W1", Decimal(12), dt.date(2026, 3, 9), "L-9", dt.date(2026, 5, 1)
        )
        self.in_uow(lambda uow: desk(uow).expect(incoming))
        assert self.read(_incoming) == {"IN-1": incoming}
        assert self.read(_figures) == {}
        entry = self.in_uow(lambda uow: desk(uow).receive_expected("IN-1", T0, actor="dock"))
        assert (entry.movement, entry.on_hand_delta, entry.batch_id) == (
            Movement.RECEIPT,
            Decimal(12),
            "L-9",
        )
        assert (entry.reason, entry.actor) == ("incoming IN-1", "dock")
        assert self.read(_incoming) == {}
        assert self.read(lambda uow: _batches(uow, "MILK", "W1")) == {
            "L-9": (dt.date(2026, 5, 1), Decimal(12), Decimal(0))
        }
        self.read(_assert_consistent)

    def test_a_partial_receipt_leaves_the_rest_expected(self) -> None:
        self.given_warehouses("W1")
        incoming = IncomingStock("IN-1", "SKU-A", "W1", Decimal(30), dt.date(2026, 3, 9))
        self.in_uow(lambda uow: desk(uow).expect(incoming))
        entry = self.in_uow(
            lambda uow: desk(uow).receive_expected("IN-1", T0, quantity=Decimal(20))
        )
        assert entry.on_hand_delta == Decimal(20)
        rest = self.read(_incoming)["IN-1"]
        assert (rest.sku, rest.warehouse_id, rest.quantity, rest.eta) == (
            "SKU-A",
            "W1",
            Decimal(10),
            dt.date(2026, 3, 9),
        )
        assert self.read(_figures) == {("SKU-A", "W1"): (Decimal(20), Decimal(0))}
        self.in_uow(lambda uow: desk(uow).receive_expected("IN-1", T0))
        assert self.read(_incoming) == {}
        assert self.read(_figures) == {("SKU-A", "W1"): (Decimal(30), Decimal(0))}
        self.read(_assert_consistent)

    def test_expecting_an_id_twice_or_receiving_an_unknown_one_is_refused(self) -> None:
        self.given_warehouses("W1")
        incoming = IncomingStock("IN-1", "SKU-A", "W1", Decimal(3), dt.date(2026, 3, 9))
        self.in_uow(lambda uow: desk(uow).expect(incoming))
        before = self.read(_state), self.read(_incoming)
        with pytest.raises(ValidationError) as caught:
            self.in_uow(lambda uow: desk(uow).expect(incoming))
        assert caught.value.field == "incoming.id"
        with pytest.raises(NotFoundError):
            self.in_uow(lambda uow: desk(uow).receive_expected("IN-404", T0))
        assert (self.read(_state), self.read(_incoming)) == before

    # ------------------------------------------------------------------ counts

    def test_a_count_adjusts_on_hand_up_and_down(self) -> None:
        self._given_two_warehouses()
        down = self.in_uow(lambda uow: desk(uow).adjust("SKU-A", "W1", Decimal(7), T0, "count"))
        assert (down.movement, down.on_hand_delta, down.reserved_delta, down.reason) == (
            Movement.ADJUSTMENT,
            Decimal(-3),
            Decimal(0),
            "count",
        )
        up = self.in_uow(lambda uow: desk(uow).adjust("SKU-A", "W1", Decimal(12), T0, "found"))
        assert up.on_hand_delta == Decimal(5)
        assert self.read(_figures)[("SKU-A", "W1")] == (Decimal(12), Decimal(0))
        self.read(_assert_consistent)

    def test_a_count_below_what_is_reserved_is_refused(self) -> None:
        self._given_two_warehouses()
        self.in_uow(
            lambda uow: desk(uow).reserve_plan(plan_for("O-1", ("L1", "SKU-A", "W1", 6)), T0)
        )
        before = self.read(_state)
        with pytest.raises(ValidationError) as caught:
            self.in_uow(lambda uow: desk(uow).adjust("SKU-A", "W1", Decimal(5), T0, "count"))
        assert caught.value.field == "counted"
        assert self.read(_state) == before
        self.read(_assert_consistent)

    def test_a_count_can_release_the_newest_reservations_first(self) -> None:
        self._given_two_warehouses()
        for order_id in ("O-1", "O-2", "O-3"):
            plan = plan_for(order_id, ("L1", "SKU-A", "W1", 3))

            def reserve(uow: UnitOfWork, plan: AllocationPlan = plan) -> object:
                return desk(uow).reserve_plan(plan, T0)

            self.in_uow(reserve)
        before = len(self.read(lambda uow: uow.stock.ledger()))
        entry = self.in_uow(
            lambda uow: desk(uow).adjust(
                "SKU-A", "W1", Decimal(5), T0, "flood", release_excess=True, actor="ops"
            )
        )
        assert (entry.movement, entry.on_hand_delta) == (Movement.ADJUSTMENT, Decimal(-5))
        written = self.read(lambda uow: uow.stock.ledger())[before:]
        assert _movements(written) == [Movement.RELEASE, Movement.RELEASE, Movement.ADJUSTMENT]
        assert [(e.order_id, e.reserved_delta) for e in written[:2]] == [
            ("O-3", Decimal(-3)),
            ("O-2", Decimal(-1)),
        ]
        assert written[-1] == entry
        opened = {r.order_id: r.open for r in self.read(lambda uow: uow.stock.reservations())}
        assert opened == {"O-1": Decimal(3), "O-2": Decimal(2), "O-3": Decimal(0)}
        assert self.read(_figures)[("SKU-A", "W1")] == (Decimal(5), Decimal(5))
        self.read(_assert_consistent)

    # ------------------------------------------------------------------ write-offs

    def test_a_write_off_removes_unreserved_stock_with_its_reason(self) -> None:
        self._given_two_warehouses()
        entry = self.in_uow(
            lambda uow: desk(uow).write_off("SKU-A", "W2", Decimal(3), T0, "crushed")
        )
        assert (entry.movement, entry.on_hand_delta, entry.reason) == (
            Movement.WRITE_OFF,
            Decimal(-3),
            "crushed",
        )
        assert self.read(_figures)[("SKU-A", "W2")] == (Decimal(1), Decimal(0))
        self.read(_assert_consistent)

    def test_a_write_off_of_reserved_stock_or_without_reason_is_refused(self) -> None:
        self._given_two_warehouses()
        self.in_uow(
            lambda uow: desk(uow).reserve_plan(plan_for("O-1", ("L1", "SKU-B", "W1", 2)), T0)
        )
        before = self.read(_state)
        with pytest.raises(InsufficientStockError) as caught:
            self.in_uow(lambda uow: desk(uow).write_off("SKU-B", "W1", Decimal(2), T0, "lost"))
        assert [(s.sku, s.available) for s in caught.value.shortages] == [("SKU-B", Decimal(1))]
        with pytest.raises(ValidationError) as missing:
            self.in_uow(lambda uow: desk(uow).write_off("SKU-B", "W1", Decimal(1), T0, ""))
        assert missing.value.field == "reason"
        assert self.read(_state) == before

    # ------------------------------------------------------------------ transfers

    def test_a_transfer_is_in_transit_until_received(self) -> None:
        self.given_warehouses("W1", "W2")
        expiry = dt.date(2026, 6, 1)
        self.in_uow(
            lambda uow: desk(uow).receive(
                "MILK", "W1", Decimal(10), T0, batch_id="L-1", expiry=expiry
            )
        )
        (out,) = self.in_uow(
            lambda uow: desk(uow).transfer(
                "MILK", "W1", "W2", Decimal(4), T0, transfer_id="T-1", batch_id="L-1"
            )
        )
        assert (out.movement, out.warehouse_id, out.on_hand_delta, out.transfer_id) == (
            Movement.TRANSFER_OUT,
            "W1",
            Decimal(-4),
            "T-1",
        )
        moving = self.read(_incoming)["T-1"]
        assert (moving.sku, moving.warehouse_id, moving.quantity, moving.transfer_from) == (
            "MILK",
            "W2",
            Decimal(4),
            "W1",
        )
        assert (moving.batch_id, moving.expiry, moving.eta) == ("L-1", expiry, T0.date())
        assert self.read(_figures) == {("MILK", "W1"): (Decimal(6), Decimal(0))}
        self.read(_assert_consistent)
        arrived = self.in_uow(lambda uow: desk(uow).receive_expected("T-1", T0))
        assert (arrived.movement, arrived.warehouse_id, arrived.on_hand_delta) == (
            Movement.TRANSFER_IN,
            "W2",
            Decimal(4),
        )
        assert (arrived.transfer_id, arrived.batch_id) == ("T-1", "L-1")
        assert self.read(_incoming) == {}
        assert self.read(lambda uow: _batches(uow, "MILK", "W2")) == {
            "L-1": (expiry, Decimal(4), Decimal(0))
        }
        assert self.read(_figures) == {
            ("MILK", "W1"): (Decimal(6), Decimal(0)),
            ("MILK", "W2"): (Decimal(4), Decimal(0)),
        }
        self.read(_assert_consistent)

    def test_a_transfer_can_move_stock_in_one_step(self) -> None:
        self._given_two_warehouses()
        entries = self.in_uow(
            lambda uow: desk(uow).transfer(
                "SKU-B", "W1", "W2", Decimal(2), T0, transfer_id="T-2", in_transit=False
            )
        )
        assert [(e.movement, e.warehouse_id, e.on_hand_delta) for e in entries] == [
            (Movement.TRANSFER_OUT, "W1", Decimal(-2)),
            (Movement.TRANSFER_IN, "W2", Decimal(2)),
        ]
        assert {e.transfer_id for e in entries} == {"T-2"}
        assert self.read(_incoming) == {}
        figures = self.read(_figures)
        assert (figures[("SKU-B", "W1")], figures[("SKU-B", "W2")]) == (
            (Decimal(1), Decimal(0)),
            (Decimal(2), Decimal(0)),
        )
        self.read(_assert_consistent)

    def test_a_transfer_of_reserved_stock_is_refused(self) -> None:
        self._given_two_warehouses()
        self.in_uow(
            lambda uow: desk(uow).reserve_plan(plan_for("O-1", ("L1", "SKU-A", "W2", 3)), T0)
        )
        before = self.read(_state), self.read(_incoming)
        with pytest.raises(InsufficientStockError):
            self.in_uow(
                lambda uow: desk(uow).transfer(
                    "SKU-A", "W2", "W1", Decimal(2), T0, transfer_id="T-3"
                )
            )
        assert (self.read(_state), self.read(_incoming)) == before

    # ------------------------------------------------------------------ returns and shipments

    def test_a_return_puts_stock_back_with_its_return_id(self) -> None:
        self._given_two_warehouses()
        entry = self.in_uow(
            lambda uow: desk(uow).return_to_stock(
                "SKU-B", "W1", Decimal(2), T0, return_id="RMA-1", order_id="O-9", line_id="L1"
            )
        )
        assert (entry.movement, entry.on_hand_delta, entry.return_id) == (
            Movement.RETURN,
            Decimal(2),
            "RMA-1",
        )
        assert (entry.order_id, entry.line_id) == ("O-9", "L1")
        assert self.read(_figures)[("SKU-B", "W1")] == (Decimal(5), Decimal(0))
        self.read(_assert_consistent)

    def test_consuming_a_reservation_ships_it(self) -> None:
        self._given_two_warehouses()
        (held,) = self.in_uow(
            lambda uow: desk(uow).reserve_plan(plan_for("O-1", ("L1", "SKU-A", "W1", 6)), T0)
        )
        part = self.in_uow(lambda uow: desk(uow).consume(held.id, T0, Decimal(2)))
        assert (part.movement, part.on_hand_delta, part.reserved_delta) == (
            Movement.SHIPMENT,
            Decimal(-2),
            Decimal(-2),
        )
        assert (part.order_id, part.reservation_id) == ("O-1", held.id)
        rest = self.in_uow(lambda uow: desk(uow).consume(held.id, T0))
        assert rest.on_hand_delta == Decimal(-4)
        (stored,) = self.read(lambda uow: uow.stock.reservations("O-1"))
        assert (stored.consumed, stored.open) == (Decimal(6), Decimal(0))
        assert self.read(_figures)[("SKU-A", "W1")] == (Decimal(4), Decimal(0))
        self.read(_assert_consistent)

    # ------------------------------------------------------------------ the port itself

    def test_apply_numbers_the_entries_with_increasing_sequences(self) -> None:
        self._given_two_warehouses()
        last = self.read(lambda uow: uow.stock.ledger())[-1].sequence

        def apply(uow: UnitOfWork) -> tuple[object, ...]:
            item = uow.stock.lock([("SKU-B", "W1")]).items[("SKU-B", "W1")]
            entries = []
            for quantity in (1, 2):
                item.on_hand += quantity
                entries.append(
                    new_entry(
                        Movement.RECEIPT, item, Decimal(quantity), Decimal(0), T0, None, "", ""
                    )
                )
            change = StockChange(items=(item,), ledger=tuple(entries))
            return uow.stock.apply(change, numbered=True)

        first, second = self.in_uow(apply)
        assert last < first.sequence < second.sequence  # type: ignore[attr-defined]
        assert self.read(lambda uow: uow.stock.ledger())[-2:] == (first, second)
        assert self.read(_figures)[("SKU-B", "W1")] == (Decimal(6), Decimal(0))
        self.read(_assert_consistent)
