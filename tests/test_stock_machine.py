"""Model-based test of the stock book: random sequences of every movement, invariants after each.

The machine keeps its own model of how many units of each SKU exist (receipts, returns and
counts add; shipments and write-offs remove; transfers move) and of each reservation's open
quantity, and checks after every step that the book agrees with it and with its own ledger.
A deliberately broken book fails the same machine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from salesorders.domain.plan import Allocation, AllocationPlan
from salesorders.domain.stock import LedgerEntry, Reservation, StockBook, fold_ledger
from salesorders.domain.stock import reservations as holds
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import InsufficientStockError, ReservationError, ValidationError

SKUS = ("SKU-A", "SKU-B")
WAREHOUSES = ("W1", "W2", "W3")
BATCHES = (None, None, "B1", "B2")
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
ZERO = Decimal(0)

skus = st.sampled_from(SKUS)
warehouses = st.sampled_from(WAREHOUSES)
batches = st.sampled_from(BATCHES)
amounts = st.integers(min_value=1, max_value=12).map(Decimal)

MACHINE_SETTINGS = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


class StockMachine(RuleBasedStateMachine):
    book_class: type[StockBook] = StockBook

    def __init__(self) -> None:
        super().__init__()
        self.book = self.book_class([Warehouse(w) for w in WAREHOUSES])
        self.units: dict[str, Decimal] = dict.fromkeys(SKUS, ZERO)
        self.open: dict[str, Decimal] = {}
        self.orders = 0
        self.steps = 0

    # ------------------------------------------------------------------ helpers

    def now(self) -> dt.datetime:
        self.steps += 1
        return START + dt.timedelta(minutes=self.steps)

    def known(self) -> list[tuple[str, str, str | None]]:
        return [
            (item.sku, item.warehouse_id, batch)
            for item in self.book.items()
            for batch in (None, *sorted(item.batches))
        ]

    def unreserved(self, sku: str, warehouse_id: str, batch_id: str | None) -> Decimal:
        """Unreserved stock of the batch, or outside batches, from the raw figures."""
        item = self.book.item(sku, warehouse_id)
        if batch_id is not None:
            return item.batches[batch_id].on_hand - item.batches[batch_id].reserved
        in_batches = sum((b.on_hand - b.reserved for b in item.batches.values()), ZERO)
        return item.on_hand - item.reserved - in_batches

    def available(self, sku: str, warehouse_id: str) -> Decimal:
        item = self.book.item(sku, warehouse_id)
        return item.on_hand - item.reserved - item.safety_stock

    def room(self, sku: str, warehouse_id: str, batch_id: str | None) -> Decimal:
        return min(self.available(sku, warehouse_id), self.unreserved(sku, warehouse_id, batch_id))

    def fingerprint(self) -> object:
        return (
            [
                (
                    i.key,
                    i.on_hand,
                    i.reserved,
                    sorted((b.batch_id, b.on_hand, b.reserved) for b in i.batches.values()),
                )
                for i in self.book.items()
            ],
            self.book.reservations(),
            len(self.book.ledger()),
        )

    def refused(
        self, error: type[Exception], call: Callable[..., object], *args: object, **kwargs: object
    ) -> None:
        """``call`` must raise ``error`` and change nothing."""
        before = self.fingerprint()
        try:
            call(*args, **kwargs)
        except error:
            assert self.fingerprint() == before, f"{call.__name__} refused but changed the book"
            return
        raise AssertionError(f"{call.__name__}{args} should have raised {error.__name__}")

    def open_reservations(self) -> list[Reservation]:
        return [r for r in self.book.reservations() if r.open > 0]

    # ------------------------------------------------------------------ rules

    @initialize(sku=skus, warehouse_id=warehouses, quantity=amounts, batch_id=batches)
    def first_receipt(
        self, sku: str, warehouse_id: str, quantity: Decimal, batch_id: str | None
    ) -> None:
        self.receive(sku, warehouse_id, quantity, batch_id)

    @rule(sku=skus, warehouse_id=warehouses, quantity=amounts, batch_id=batches)
    def receive(self, sku: str, warehouse_id: str, quantity: Decimal, batch_id: str | None) -> None:
        self.book.receive(sku, warehouse_id, quantity, self.now(), batch_id=batch_id)
        self.units[sku] += quantity

    @rule(data=st.data(), safety=st.integers(0, 3), point=st.integers(0, 6))
    def set_levels(self, data: st.DataObject, safety: int, point: int) -> None:
        sku, warehouse_id, _ = data.draw(st.sampled_from(self.known()))
        self.book.set_levels(sku, warehouse_id, safety_stock=safety, reorder_point=point)

    @rule(data=st.data(), quantity=amounts)
    def reserve(self, data: st.DataObject, quantity: Decimal) -> None:
        sku, warehouse_id, batch_id = data.draw(st.sampled_from(self.known()))
        self.orders += 1
        order_id = f"SO-{self.orders}"
        room = self.room(sku, warehouse_id, batch_id)
        if quantity > room:
            self.refused(
                InsufficientStockError,
                self.book.reserve,
                order_id,
                "L1",
                sku,
                warehouse_id,
                quantity,
                self.now(),
                batch_id=batch_id,
            )
            return
        made = self.book.reserve(
            order_id, "L1", sku, warehouse_id, quantity, self.now(), batch_id=batch_id
        )
        self.open[made.id] = quantity

    @rule(data=st.data())
    def reserve_plan(self, data: st.DataObject) -> None:
        """Two or three allocations, often of one SKU in one place: all reserved, or none."""
        targets = data.draw(st.lists(st.sampled_from(self.known()), min_size=2, max_size=3))
        allocations = tuple(
            Allocation(f"L{n}", sku, wh, data.draw(amounts), batch_id=batch)
            for n, (sku, wh, batch) in enumerate(targets)
        )
        self.orders += 1
        plan = AllocationPlan(f"SO-{self.orders}", allocations)
        per_item: dict[tuple[str, str], Decimal] = {}
        per_bucket: dict[tuple[str, str, str | None], Decimal] = {}
        for a in allocations:
            per_item[a.sku, a.warehouse_id] = (
                per_item.get((a.sku, a.warehouse_id), ZERO) + a.quantity
            )
            bucket = (a.sku, a.warehouse_id, a.batch_id)
            per_bucket[bucket] = per_bucket.get(bucket, ZERO) + a.quantity
        fits = all(wanted <= self.available(*key) for key, wanted in per_item.items()) and all(
            wanted <= self.unreserved(*key) for key, wanted in per_bucket.items()
        )
        if not fits:
            self.refused(InsufficientStockError, self.book.reserve_plan, plan, self.now())
            return
        for made in self.book.reserve_plan(plan, self.now()):
            self.open[made.id] = made.quantity

    @precondition(lambda self: any(q > 0 for q in self.open.values()))
    @rule(data=st.data(), whole=st.booleans())
    def release(self, data: st.DataObject, whole: bool) -> None:
        rid = data.draw(st.sampled_from(sorted(r for r, q in self.open.items() if q > 0)))
        quantity = None if whole else data.draw(st.integers(1, int(self.open[rid])).map(Decimal))
        entry = self.book.release(rid, self.now(), quantity)
        assert entry.reserved_delta == -(quantity or self.open[rid])
        self.open[rid] += entry.reserved_delta

    @precondition(lambda self: any(q > 0 for q in self.open.values()))
    @rule(data=st.data(), whole=st.booleans())
    def consume(self, data: st.DataObject, whole: bool) -> None:
        rid = data.draw(st.sampled_from(sorted(r for r, q in self.open.items() if q > 0)))
        quantity = None if whole else data.draw(st.integers(1, int(self.open[rid])).map(Decimal))
        reservation = self.book.reservation(rid)
        entry = self.book.consume(rid, self.now(), quantity)
        shipped = quantity or self.open[rid]
        assert entry.on_hand_delta == entry.reserved_delta == -shipped
        self.open[rid] -= shipped
        self.units[reservation.sku] -= shipped

    @precondition(lambda self: bool(self.open))
    @rule(data=st.data(), extra=st.integers(1, 5))
    def release_or_consume_too_much(self, data: st.DataObject, extra: int) -> None:
        rid = data.draw(st.sampled_from(sorted(self.open)))
        too_much = self.open[rid] + extra
        self.refused(ReservationError, self.book.release, rid, self.now(), too_much)
        self.refused(ReservationError, self.book.consume, rid, self.now(), too_much)

    @rule(data=st.data(), quantity=amounts)
    def return_to_stock(self, data: st.DataObject, quantity: Decimal) -> None:
        sku, warehouse_id, batch_id = data.draw(st.sampled_from(self.known()))
        self.book.return_to_stock(
            sku,
            warehouse_id,
            quantity,
            self.now(),
            return_id=f"RMA-{self.steps}",
            batch_id=batch_id,
        )
        self.units[sku] += quantity

    @rule(data=st.data(), counted=st.integers(0, 30).map(Decimal))
    def adjust(self, data: st.DataObject, counted: Decimal) -> None:
        sku, warehouse_id, batch_id = data.draw(st.sampled_from(self.known()))
        item = self.book.item(sku, warehouse_id)
        if batch_id is None:
            current = item.on_hand
            floor = item.on_hand - self.unreserved(sku, warehouse_id, None)
        else:
            current = item.batches[batch_id].on_hand
            floor = item.batches[batch_id].reserved
        if counted < floor:
            self.refused(
                ValidationError,
                self.book.adjust,
                sku,
                warehouse_id,
                counted,
                self.now(),
                "count",
                batch_id=batch_id,
            )
            return
        entry = self.book.adjust(sku, warehouse_id, counted, self.now(), "count", batch_id=batch_id)
        assert entry.on_hand_delta == counted - current
        self.units[sku] += counted - current

    @rule(data=st.data(), quantity=amounts)
    def write_off(self, data: st.DataObject, quantity: Decimal) -> None:
        sku, warehouse_id, batch_id = data.draw(st.sampled_from(self.known()))
        if quantity > self.unreserved(sku, warehouse_id, batch_id):
            self.refused(
                InsufficientStockError,
                self.book.write_off,
                sku,
                warehouse_id,
                quantity,
                self.now(),
                "damaged",
                batch_id=batch_id,
            )
            return
        self.book.write_off(sku, warehouse_id, quantity, self.now(), "damaged", batch_id=batch_id)
        self.units[sku] -= quantity

    @rule(data=st.data(), to_warehouse=warehouses, quantity=amounts)
    def transfer(self, data: st.DataObject, to_warehouse: str, quantity: Decimal) -> None:
        sku, from_warehouse, batch_id = data.draw(st.sampled_from(self.known()))
        if to_warehouse == from_warehouse:
            return
        before = self.total_on_hand(sku)
        transfer_id = f"T-{self.steps}"
        if quantity > self.unreserved(sku, from_warehouse, batch_id):
            self.refused(
                InsufficientStockError,
                self.book.transfer,
                sku,
                from_warehouse,
                to_warehouse,
                quantity,
                self.now(),
                transfer_id=transfer_id,
                batch_id=batch_id,
            )
        else:
            out_entry, in_entry = self.book.transfer(
                sku,
                from_warehouse,
                to_warehouse,
                quantity,
                self.now(),
                transfer_id=transfer_id,
                batch_id=batch_id,
            )
            assert out_entry.on_hand_delta == -in_entry.on_hand_delta == -quantity
        assert self.total_on_hand(sku) == before  # a transfer conserves every unit

    # ------------------------------------------------------------------ invariants

    def total_on_hand(self, sku: str) -> Decimal:
        return sum((i.on_hand for i in self.book.items() if i.sku == sku), ZERO)

    @invariant()
    def figures_stay_in_bounds(self) -> None:
        for item in self.book.items():
            assert item.on_hand >= 0
            assert 0 <= item.reserved <= item.on_hand
            for batch in item.batches.values():
                assert 0 <= batch.reserved <= batch.on_hand
            assert item.unbatched_on_hand >= item.unbatched_reserved >= 0

    @invariant()
    def figures_equal_the_ledger_fold(self) -> None:
        folded = fold_ledger(self.book.ledger())
        figures = {item.key: (item.on_hand, item.reserved) for item in self.book.items()}
        assert folded == figures, f"figures {figures} differ from the ledger fold {folded}"

    @invariant()
    def reserved_equals_open_reservations(self) -> None:
        held: dict[tuple[str, str], Decimal] = {}
        for r in self.book.reservations():
            held[r.item_key] = held.get(r.item_key, ZERO) + r.open
        for item in self.book.items():
            expected = held.get(item.key, ZERO)
            assert item.reserved == expected, (
                f"{item.key}: reserved {item.reserved} differs from open reservations {expected}"
            )
        assert {r.id: r.open for r in self.book.reservations()} == self.open

    @invariant()
    def units_agree_with_the_model(self) -> None:
        for sku in SKUS:
            assert self.total_on_hand(sku) == self.units[sku]

    @invariant()
    def reconcile_finds_nothing(self) -> None:
        assert self.book.reconcile() == ()

    @invariant()
    def ledger_is_numbered_in_order(self) -> None:
        entries = self.book.ledger()
        assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))


def test_stock_book_keeps_its_invariants() -> None:
    run_state_machine_as_test(StockMachine, settings=MACHINE_SETTINGS)


class OversellingBook(StockBook):
    """Broken on purpose: checks each allocation alone, so two lines can share the same stock."""

    __slots__ = ()

    def reserve_plan(
        self, plan: AllocationPlan, at: dt.datetime, actor: str = ""
    ) -> tuple[Reservation, ...]:
        made: list[Reservation] = []
        for allocation in plan.allocations:
            item = self.item(allocation.sku, allocation.warehouse_id)
            if allocation.quantity > item.reservable_in(allocation.batch_id):
                raise InsufficientStockError([])
        for allocation in plan.allocations:
            key = (allocation.sku, allocation.warehouse_id)
            item = self.tables.lock([key]).items[key]
            held = [r.id for r in self.reservations(plan.order_id)]
            change = holds._hold(
                plan.order_id, (allocation,), [item], [allocation.quantity], held, at, actor, 0
            )
            self.tables.apply(change)
            made.extend(change.reservations)
        return tuple(made)


class ForgetfulBook(StockBook):
    """Broken on purpose: a shipment forgets to lower the reserved figure."""

    __slots__ = ()

    def consume(
        self,
        reservation_id: str,
        at: dt.datetime,
        quantity: Decimal | int | None = None,
        *,
        actor: str = "",
        reason: str = "",
    ) -> LedgerEntry:
        reservation = self.reservation(reservation_id)
        items = self.tables.lock([reservation.item_key]).items
        change = holds.consume(items, [(reservation, quantity)], at, places=0)
        shipped = -change.ledger[0].reserved_delta
        for item in change.items:
            item.reserved += shipped
        return self.tables.apply(change)[0]


@pytest.mark.parametrize(
    ("broken", "symptom"),
    [(OversellingBook, "should have raised InsufficientStockError"), (ForgetfulBook, "differ")],
)
def test_the_machine_catches_a_broken_book(broken: type[StockBook], symptom: str) -> None:
    class BrokenMachine(StockMachine):
        book_class = broken

    with pytest.raises(AssertionError, match=symptom):
        run_state_machine_as_test(
            BrokenMachine,
            # Finding the failure is the point here; shrinking it would only cost time.
            settings=settings(
                MACHINE_SETTINGS, max_examples=300, database=None, phases=[Phase.generate]
            ),
        )
