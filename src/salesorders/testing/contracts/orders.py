"""Contract: the order repository (optimistic versions, lookups, listing with a cursor)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs
import pytest

from salesorders.domain.order import Order
from salesorders.errors import (
    ConcurrencyConflictError,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from salesorders.ports import OrderQuery, UnitOfWork
from salesorders.testing.contracts._base import T0, AdapterContract, plan_for, sample_order

__all__ = ["OrderRepositoryContract"]


def _placed(order_id: str, number: str, **kwargs: object) -> Order:
    order = sample_order(order_id, **kwargs)  # type: ignore[arg-type]
    order.place(number, order.created_at)
    order.pull_events()
    return order


class OrderRepositoryContract(AdapterContract):
    """Orders are stored whole, versioned, found by id and number, and listed page by page."""

    # ------------------------------------------------------------------ add / get

    def test_add_sets_version_one_and_get_returns_an_equal_order(self) -> None:
        order = sample_order("O-1", lines=(("SKU-A", 2, "10.00"), ("SKU-B", 1, "3.50")))
        self.in_uow(lambda uow: uow.orders.add(order))
        assert order.version == 1
        loaded = self.read(lambda uow: uow.orders.get("O-1"))
        assert loaded == order
        assert loaded is not order
        assert loaded.version == 1
        assert loaded.totals == order.totals
        assert loaded.workflow_ref == order.workflow_ref

    def test_loaded_orders_carry_no_pending_events(self) -> None:
        order = sample_order("O-1")
        order.place("SO-1", T0)
        assert order.events
        self.in_uow(lambda uow: uow.orders.add(order))
        loaded = self.read(lambda uow: uow.orders.get("O-1"))
        assert loaded.events == []
        assert loaded.pull_events() == []
        assert loaded.event_sequence == order.event_sequence

    def test_adding_an_existing_id_conflicts(self) -> None:
        self.given_order(sample_order("O-1"))
        with pytest.raises(ConflictError):
            self.in_uow(lambda uow: uow.orders.add(sample_order("O-1", customer_id="C-2")))
        assert self.read(lambda uow: uow.orders.get("O-1").customer_id) == "C-1"

    def test_get_unknown_order_raises_not_found(self) -> None:
        with pytest.raises(NotFoundError):
            self.read(lambda uow: uow.orders.get("nope"))

    def test_get_by_number(self) -> None:
        self.given_order(_placed("O-1", "SO-2026-000001"))
        self.given_order(_placed("O-2", "SO-2026-000002"))
        loaded = self.read(lambda uow: uow.orders.get_by_number("SO-2026-000002"))
        assert loaded.id == "O-2"
        assert loaded.number == "SO-2026-000002"
        with pytest.raises(NotFoundError):
            self.read(lambda uow: uow.orders.get_by_number("SO-2026-000003"))

    def test_a_number_given_after_adding_is_found_once_saved(self) -> None:
        self.given_order(sample_order("O-1"))

        def place(uow: UnitOfWork) -> None:
            order = uow.orders.get("O-1")
            order.place("SO-7", T0)
            uow.orders.save(order)

        self.in_uow(place)
        assert self.read(lambda uow: uow.orders.get_by_number("SO-7").id) == "O-1"

    # ------------------------------------------------------------------ save / versions

    def test_save_increments_the_version(self) -> None:
        self.given_order(_placed("O-1", "SO-1"))

        def hold(uow: UnitOfWork) -> Order:
            order = uow.orders.get("O-1")
            order.hold(T0, reason="check")
            uow.orders.save(order)
            return order

        saved = self.in_uow(hold)
        assert saved.version == 2
        loaded = self.read(lambda uow: uow.orders.get("O-1"))
        assert loaded.version == 2
        assert loaded.state == "on_hold"
        assert loaded == saved

    def test_saving_a_stale_order_conflicts_and_changes_nothing(self) -> None:
        self.given_order(_placed("O-1", "SO-1"))
        first = self.read(lambda uow: uow.orders.get("O-1"))
        second = self.read(lambda uow: uow.orders.get("O-1"))
        second.hold(T0, reason="first writer")
        self.in_uow(lambda uow: uow.orders.save(second))
        first.cancel(T0, reason="second writer")
        with pytest.raises(ConcurrencyConflictError) as caught:
            self.in_uow(lambda uow: uow.orders.save(first))
        assert caught.value.order_id == "O-1"
        assert caught.value.expected_version == 1
        assert caught.value.actual_version == 2
        loaded = self.read(lambda uow: uow.orders.get("O-1"))
        assert (loaded.state, loaded.version) == ("on_hold", 2)

    def test_saving_an_order_never_added_raises_not_found(self) -> None:
        order = sample_order("O-9")
        order.version = 1
        with pytest.raises(NotFoundError):
            self.in_uow(lambda uow: uow.orders.save(order))

    def test_a_rolled_back_save_keeps_the_stored_version(self) -> None:
        self.given_order(_placed("O-1", "SO-1"))

        def hold(uow: UnitOfWork) -> None:
            order = uow.orders.get("O-1")
            order.hold(T0)
            uow.orders.save(order)

        self.in_uow(hold, commit=False)
        loaded = self.read(lambda uow: uow.orders.get("O-1"))
        assert (loaded.state, loaded.version) == ("placed", 1)

    def test_concurrent_saves_of_one_version_let_exactly_one_win(self) -> None:
        if not self.supports_concurrency:
            pytest.skip("the adapter does not support concurrent units of work")
        self.given_order(_placed("O-1", "SO-1"))
        copies = [
            self.read(lambda uow: uow.orders.get("O-1")) for _ in range(self.concurrency_threads)
        ]

        def save(uow: UnitOfWork, index: int) -> int:
            order = copies[index]
            order.hold(T0, actor=f"writer-{index}")
            uow.orders.save(order)
            return index

        outcomes = self.race(save)
        winners = [o for o in outcomes if isinstance(o, int)]
        assert len(winners) == 1, outcomes
        assert all(
            isinstance(o, ConcurrencyConflictError) for o in outcomes if not isinstance(o, int)
        ), outcomes
        loaded = self.read(lambda uow: uow.orders.get("O-1"))
        assert loaded.version == 2
        assert loaded.audit[-1].actor == f"writer-{winners[0]}"

    # ------------------------------------------------------------------ listing

    def _given_listing(self) -> list[Order]:
        orders = []
        for index in range(7):
            at = T0 + dt.timedelta(hours=index // 2)  # pairs share a creation time
            order = sample_order(f"O-{index}", customer_id=f"C-{index % 2}", at=at)
            if index % 3 == 0:
                order.place(f"SO-{index}", at)
                order.pull_events()
            orders.append(order)
        for order in reversed(orders):
            self.given_order(order)
        return sorted(orders, key=lambda o: (o.created_at, o.id))

    def _all_pages(self, query: OrderQuery) -> list[list[str]]:
        pages: list[list[str]] = []
        cursor: str | None = None
        while True:
            page = self.read(
                lambda uow, c=cursor: uow.orders.list(  # type: ignore[misc]
                    attrs.evolve(query, after=c)
                )
            )
            pages.append([o.id for o in page.orders])
            assert len(page.orders) <= query.limit
            assert all(not o.events for o in page.orders)
            if page.next_cursor is None:
                return pages
            assert isinstance(page.next_cursor, str)
            cursor = page.next_cursor
            assert len(pages) < 50, "the cursor does not advance"

    def test_list_is_ordered_by_creation_time_then_id(self) -> None:
        expected = [o.id for o in self._given_listing()]
        page = self.read(lambda uow: uow.orders.list(OrderQuery(limit=100)))
        assert [o.id for o in page.orders] == expected
        assert page.next_cursor is None

    def test_cursor_pages_cover_every_order_once(self) -> None:
        expected = [o.id for o in self._given_listing()]
        for limit in (1, 2, 3, 7):
            pages = self._all_pages(OrderQuery(limit=limit))
            assert [i for p in pages for i in p] == expected, limit
            assert all(pages[:-1]), "only the last page may be empty"

    def test_list_filters_by_customer_state_and_creation_time(self) -> None:
        orders = self._given_listing()

        def ids(query: OrderQuery) -> list[str]:
            return [i for p in self._all_pages(query) for i in p]

        assert ids(OrderQuery(customer_id="C-1", limit=2)) == [
            o.id for o in orders if o.customer_id == "C-1"
        ]
        assert ids(OrderQuery(state="placed", limit=2)) == [
            o.id for o in orders if o.state == "placed"
        ]
        start, end = T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=3)
        assert ids(OrderQuery(created_from=start, created_to=end, limit=2)) == [
            o.id for o in orders if start <= o.created_at < end
        ]
        assert ids(OrderQuery(customer_id="C-0", state="draft", created_from=start, limit=1)) == [
            o.id
            for o in orders
            if o.customer_id == "C-0" and o.state == "draft" and o.created_at >= start
        ]
        assert ids(OrderQuery(customer_id="nobody")) == []

    def test_list_filters_by_sku_and_follows_saved_lines(self) -> None:
        skus = {"O-1": ("A",), "O-2": ("B",), "O-3": ("A", "B"), "O-4": ("C",), "O-5": ("A",)}
        for index, (order_id, held) in enumerate(skus.items()):
            at = T0 + dt.timedelta(minutes=index)
            lines = tuple((f"SKU-{sku}", 1, "1.00") for sku in held)
            self.given_order(
                sample_order(order_id, customer_id=f"C-{index % 2}", at=at, lines=lines)
            )

        def ids(query: OrderQuery) -> list[str]:
            return [i for p in self._all_pages(query) for i in p]

        assert ids(OrderQuery(sku="SKU-A", limit=1)) == ["O-1", "O-3", "O-5"]
        assert ids(OrderQuery(sku="SKU-B", limit=2)) == ["O-2", "O-3"]
        assert ids(OrderQuery(sku="SKU-B", customer_id="C-0", limit=1)) == ["O-3"]
        assert ids(OrderQuery(sku="SKU-Z")) == []
        counted = self.read(
            lambda uow: uow.orders.list(OrderQuery(sku="SKU-A", limit=1, with_total=True))
        )
        assert counted.total == 3
        order = self.read(lambda uow: uow.orders.get("O-4"))
        order.add_line("SKU-A", 1, Decimal("1.00"), T0)
        self.in_uow(lambda uow: uow.orders.save(order))
        assert ids(OrderQuery(sku="SKU-A", limit=2)) == ["O-1", "O-3", "O-4", "O-5"]

    def test_list_returns_orders_equal_to_the_stored_ones(self) -> None:
        orders = {o.id: o for o in self._given_listing()}
        page = self.read(lambda uow: uow.orders.list(OrderQuery(limit=100)))
        for loaded in page.orders:
            assert loaded == orders[loaded.id]

    def test_a_foreign_cursor_is_refused(self) -> None:
        self._given_listing()
        with pytest.raises(ValidationError):
            self.read(lambda uow: uow.orders.list(OrderQuery(after="not a cursor")))

    def test_waiting_lists_orders_with_backordered_lines_oldest_placement_first(self) -> None:
        def confirmed(order_id: str, minutes: int, backordered: int) -> Order:
            at = T0 + dt.timedelta(minutes=minutes)
            order = sample_order(order_id, at=at)
            order.place(f"N-{order_id}", at)
            got = 2 - backordered
            allocations = (("L1", "SKU-A", "W1", got),) if got else ()
            order.confirm(at, plan=plan_for(order_id, *allocations))
            order.pull_events()
            self.given_order(order)
            return order

        later = confirmed("O-LATE", 30, 1)
        confirmed("O-FULL", 10, 0)
        earlier = confirmed("O-EARLY", 20, 2)
        found = self.read(lambda uow: uow.orders.waiting())
        assert [o.id for o in found] == [earlier.id, later.id]
        assert found[0] == earlier
        assert [o.id for o in self.read(lambda uow: uow.orders.waiting(1))] == [earlier.id]

        def serve(uow: UnitOfWork) -> None:
            order = uow.orders.get(earlier.id)
            order.allocate_backorders(plan_for(earlier.id, ("L1", "SKU-A", "W1", 2)), T0)
            uow.orders.save(order)

        self.in_uow(serve)
        assert [o.id for o in self.read(lambda uow: uow.orders.waiting())] == [later.id]
        with pytest.raises(ValidationError):
            self.read(lambda uow: uow.orders.waiting(0))
