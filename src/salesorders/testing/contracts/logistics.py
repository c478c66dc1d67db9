"""Contract: the logistics listings of the order repository (open and late shipments, lead
times) answer exactly as the reference functions of
:mod:`salesorders.domain.logistics_queries` do, page by page, and follow every save."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesorders.domain.fulfilment import Shipment, ShipmentStatus, ShippedLine, TrackingEvent
from salesorders.domain.logistics import LateShipment, LeadTime, OpenShipment
from salesorders.domain.logistics_queries import (
    LateShipmentQuery,
    LeadTimeQuery,
    Page,
    ShipmentQuery,
    select_late_shipments,
    select_lead_times,
    select_open_shipments,
)
from salesorders.domain.order import Order
from salesorders.errors import ValidationError
from salesorders.ports import UnitOfWork
from salesorders.testing.contracts._base import T0, AdapterContract, sample_order
from salesorders.testing.order_strategies import shipped_orders

__all__ = ["LogisticsContract"]

T = TypeVar("T")
H = dt.timedelta(hours=1)
DAY = T0.date()
#: Where the generated orders start (see :func:`~salesorders.testing.strategies.shipped_orders`).
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _order(order_id: str, placed_at: dt.datetime = T0, quantity: int = 2) -> Order:
    """A placed and confirmed order of one line (``quantity`` of SKU-A), numbered SO-<id>."""
    order = sample_order(order_id, at=placed_at, lines=(("SKU-A", quantity, "10.00"),))
    order.place(f"SO-{order_id}", placed_at)
    order.confirm(placed_at + H)
    return order


def _ship(
    order: Order,
    number: int,
    at: dt.datetime,
    *,
    quantity: int = 1,
    warehouse_id: str = "W1",
    carrier: str = "swift",
    promised: dt.date | None = None,
    reports: Sequence[tuple[str, dt.datetime]] = (),
) -> Shipment:
    shipment = Shipment(
        f"{order.id}-S{number}",
        warehouse_id,
        (ShippedLine("L1", "SKU-A", Decimal(quantity)),),
        at,
        carrier=carrier,
        service_level="express",
        tracking_number=f"T-{order.id}-{number}",
        promised_date=promised,
    )
    order.add_shipment(shipment)
    for status, when in reports:
        order.track(shipment.id, TrackingEvent(ShipmentStatus(status), when))
    return order.shipment(shipment.id)


def _open(order: Order, shipment: Shipment) -> OpenShipment:
    return OpenShipment.of(order.id, order.number, shipment)


class LogisticsContract(AdapterContract):
    """Open shipments, late shipments and lead times, on every store."""

    def given_orders(self, *orders: Order) -> None:
        def add(uow: UnitOfWork) -> None:
            for order in orders:
                order.pull_events()
                uow.orders.add(order)

        self.in_uow(add)

    def all_pages(self, ask: Callable[[str | None], Page[T]]) -> list[Page[T]]:
        """Every page of a listing, following ``next_cursor`` (``ask(after)`` reads one)."""
        pages = [ask(None)]
        while pages[-1].next_cursor is not None:
            pages.append(ask(pages[-1].next_cursor))
            assert len(pages) < 1000
        return pages

    def _three_orders(self) -> tuple[Order, Order, Order]:
        one, two, three = _order("O-1"), _order("O-2"), _order("O-3", quantity=1)
        _ship(one, 1, T0 + 2 * H, reports=[("in_transit", T0 + 3 * H)])
        _ship(
            one,
            2,
            T0 + 4 * H,
            warehouse_id="W2",
            carrier="post",
            reports=[("delivered", T0 + 9 * H)],
        )
        _ship(two, 1, T0 + 5 * H, reports=[("returned_to_sender", T0 + 8 * H)])
        _ship(
            three,
            1,
            T0 + 3 * H,
            quantity=1,
            warehouse_id="W2",
            carrier="",
            reports=[("exception", T0 + 6 * H)],
        )
        return one, two, three

    # ------------------------------------------------------------------ open shipments

    def test_open_shipments_are_neither_delivered_nor_returned_oldest_first(self) -> None:
        one, two, three = self._three_orders()
        self.given_orders(one, two, three, sample_order("O-4"))
        page = self.read(lambda uow: uow.orders.open_shipments(ShipmentQuery()))
        assert page.items == (
            _open(one, one.shipments[0]),
            _open(three, three.shipments[0]),
        )
        assert page.next_cursor is None
        first = page.items[0]
        assert (first.order_number, first.shipment_id, first.status) == (
            "SO-O-1",
            "O-1-S1",
            ShipmentStatus.IN_TRANSIT,
        )
        assert (first.carrier, first.service_level, first.tracking_number) == (
            "swift",
            "express",
            "T-O-1-1",
        )

    def test_open_shipments_by_carrier_and_warehouse(self) -> None:
        self.given_orders(*self._three_orders())

        def ids(query: ShipmentQuery) -> list[str]:
            page = self.read(lambda uow: uow.orders.open_shipments(query))
            return [s.shipment_id for s in page.items]

        assert ids(ShipmentQuery(carrier="swift")) == ["O-1-S1"]
        assert ids(ShipmentQuery(carrier="")) == ["O-3-S1"]
        assert ids(ShipmentQuery(warehouse_id="W2")) == ["O-3-S1"]
        assert ids(ShipmentQuery(carrier="swift", warehouse_id="W2")) == []
        assert ids(ShipmentQuery(carrier="post")) == []  # delivered

    def test_open_shipments_page_by_time_then_ids(self) -> None:
        orders = [_order(f"O-{n}") for n in (5, 3, 10, 1, 7, 2, 4)]
        for index, order in enumerate(orders):
            _ship(order, 1, T0 + (2 + index % 3) * H)  # three orders share each instant
        self.given_orders(*orders)
        pages = self.all_pages(
            lambda after: self.read(
                lambda uow: uow.orders.open_shipments(ShipmentQuery(limit=3, after=after))
            )
        )
        assert [len(p.items) for p in pages] == [3, 3, 1]
        keys = [(s.shipped_at, s.order_id) for p in pages for s in p.items]
        assert keys == sorted(keys)
        assert len(set(keys)) == 7
        assert [[s.order_id for s in p.items] for p in pages] == [
            ["O-1", "O-4", "O-5"],
            ["O-3", "O-7", "O-10"],
            ["O-2"],
        ]

    # ------------------------------------------------------------------ late shipments

    def test_late_shipments_are_open_past_their_promise(self) -> None:
        orders = [_order(f"O-{n}") for n in range(1, 5)]
        orders.append(_order("O-5", placed_at=T0 - 120 * H))
        _ship(orders[0], 1, T0 + 2 * H, promised=DAY + dt.timedelta(2))  # due in two days
        _ship(orders[1], 1, T0 + 2 * H, promised=DAY - dt.timedelta(3))  # late
        _ship(orders[2], 1, T0 + 3 * H, promised=DAY)  # due today
        _ship(orders[3], 1, T0 + 2 * H)  # no promise
        _ship(  # delivered after its promise: not open, so not late
            orders[4],
            1,
            T0 - 96 * H,
            promised=DAY - dt.timedelta(3),
            reports=[("delivered", T0)],
        )
        self.given_orders(*orders)

        def late(on: dt.date) -> list[tuple[str, int]]:
            page = self.read(lambda uow: uow.orders.late_shipments(LateShipmentQuery(on)))
            assert all(item.on == on for item in page.items)
            return [(item.shipment.order_id, item.days_late) for item in page.items]

        assert late(DAY) == [("O-2", 3)]
        assert late(DAY + dt.timedelta(1)) == [("O-2", 4), ("O-3", 1)]
        assert late(DAY + dt.timedelta(3)) == [("O-2", 6), ("O-3", 3), ("O-1", 1)]
        assert late(DAY - dt.timedelta(3)) == []
        query = LateShipmentQuery(DAY + dt.timedelta(3), warehouse_id="W1", carrier="swift")
        page = self.read(lambda uow: uow.orders.late_shipments(query))
        assert page.items[0] == LateShipment(
            _open(orders[1], orders[1].shipments[0]), DAY + dt.timedelta(3), 6
        )

    # ------------------------------------------------------------------ lead times

    def test_lead_times_of_placed_orders_in_a_window(self) -> None:
        whole = _order("O-1")
        _ship(whole, 1, T0 + 5 * H, reports=[("delivered", T0 + 30 * H)])
        _ship(whole, 2, T0 + 8 * H, reports=[("delivered", T0 + 26 * H)])
        part = _order("O-2", placed_at=T0 + H)
        _ship(part, 1, T0 + 6 * H)
        later = _order("O-3", placed_at=T0 + 48 * H)
        self.given_orders(whole, part, later, sample_order("O-4"))  # O-4: a draft
        page = self.read(lambda uow: uow.orders.lead_times(LeadTimeQuery()))
        assert page.items == (
            LeadTime("O-1", "SO-O-1", T0, T0 + H, T0 + 5 * H, T0 + 8 * H, T0 + 30 * H),
            LeadTime("O-2", "SO-O-2", T0 + H, T0 + 2 * H, T0 + 6 * H),
            LeadTime("O-3", "SO-O-3", T0 + 48 * H, T0 + 49 * H),
        )
        first = page.items[0]
        assert (first.placed_to_confirmed, first.placed_to_shipped) == (H, 8 * H)
        assert (first.shipped_to_delivered, first.placed_to_delivered) == (22 * H, 30 * H)
        assert page.items[1].placed_to_shipped is None  # not shipped in full
        window = LeadTimeQuery(placed_from=T0 + H, placed_to=T0 + 48 * H)
        inside = self.read(lambda uow: uow.orders.lead_times(window))
        assert [lead.order_id for lead in inside.items] == ["O-2"]
        pages = self.all_pages(
            lambda after: self.read(
                lambda uow: uow.orders.lead_times(LeadTimeQuery(limit=2, after=after))
            )
        )
        assert [[lead.order_id for lead in p.items] for p in pages] == [["O-1", "O-2"], ["O-3"]]

    # ------------------------------------------------------------------ following saves

    def test_listings_follow_each_save_and_ignore_a_rollback(self) -> None:
        order = _order("O-1")
        _ship(order, 1, T0 + 2 * H, promised=DAY)
        self.given_orders(order)

        def deliver(uow: UnitOfWork) -> None:
            stored = uow.orders.get("O-1")
            stored.track("O-1-S1", TrackingEvent(ShipmentStatus.DELIVERED, T0 + 30 * H))
            uow.orders.save(stored)

        self.in_uow(deliver, commit=False)  # rolled back
        late = LateShipmentQuery(DAY + dt.timedelta(1))
        assert len(self.read(lambda uow: uow.orders.late_shipments(late)).items) == 1
        self.in_uow(deliver)
        assert self.read(lambda uow: uow.orders.open_shipments(ShipmentQuery())).items == ()
        assert self.read(lambda uow: uow.orders.late_shipments(late)).items == ()
        lead = self.read(lambda uow: uow.orders.lead_times(LeadTimeQuery())).items[0]
        assert lead.delivered_at is None  # one of two units shipped: not delivered in full

        def ship_rest(uow: UnitOfWork) -> None:
            stored = uow.orders.get("O-1")
            _ship(stored, 2, T0 + 40 * H, warehouse_id="W2", reports=[("delivered", T0 + 50 * H)])
            uow.orders.save(stored)

        self.in_uow(ship_rest)
        lead = self.read(lambda uow: uow.orders.lead_times(LeadTimeQuery())).items[0]
        assert (lead.last_shipped_at, lead.delivered_at) == (T0 + 40 * H, T0 + 50 * H)

    def test_saving_an_order_not_read_in_the_unit_of_work_stores_its_shipments(self) -> None:
        order = _order("O-1")
        self.given_orders(order)
        _ship(order, 1, T0 + 2 * H)  # the order as added (version 1), never read back
        self.in_uow(lambda uow: uow.orders.save(order))
        page = self.read(lambda uow: uow.orders.open_shipments(ShipmentQuery()))
        assert page.items == (_open(order, order.shipments[0]),)
        order.track("O-1-S1", TrackingEvent(ShipmentStatus.OUT_FOR_DELIVERY, T0 + 9 * H))
        self.in_uow(lambda uow: uow.orders.save(order))
        page = self.read(lambda uow: uow.orders.open_shipments(ShipmentQuery()))
        assert page.items[0].status is ShipmentStatus.OUT_FOR_DELIVERY

    # ------------------------------------------------------------------ refusals

    def test_bad_queries_are_refused_naming_the_field(self) -> None:
        refused: list[tuple[str, Callable[[], object]]] = [
            ("limit", lambda: ShipmentQuery(limit=0)),
            ("limit", lambda: LeadTimeQuery(limit=10_001)),
            ("limit", lambda: LateShipmentQuery(DAY, limit=True)),
            ("carrier", lambda: ShipmentQuery(carrier=3)),  # type: ignore[arg-type]
            ("warehouse_id", lambda: LateShipmentQuery(DAY, warehouse_id=" ")),
            ("on", lambda: LateShipmentQuery(T0)),  # a datetime, not a date
            ("on", lambda: LateShipmentQuery("2026-03-01")),  # type: ignore[arg-type]
            ("placed_from", lambda: LeadTimeQuery(placed_from=dt.datetime(2026, 3, 1))),
            ("placed_to", lambda: LeadTimeQuery(placed_from=T0, placed_to=T0)),
            ("after", lambda: ShipmentQuery(after="bm90IGEgY3Vyc29y")),
            ("after", lambda: LeadTimeQuery(after=42)),  # type: ignore[arg-type]
        ]
        for field, build in refused:
            with pytest.raises(ValidationError) as caught:
                build()
            assert caught.value.field == field, (field, caught.value)

    def test_a_cursor_of_another_listing_or_no_query_is_refused(self) -> None:
        orders = [_order(f"O-{n}") for n in range(3)]
        for order in orders:
            _ship(order, 1, T0 + 2 * H, promised=DAY - dt.timedelta(1))
        self.given_orders(*orders)
        page = self.read(lambda uow: uow.orders.open_shipments(ShipmentQuery(limit=1)))
        assert page.next_cursor is not None
        for build in (
            lambda: LateShipmentQuery(DAY, after=page.next_cursor),
            lambda: LeadTimeQuery(after=page.next_cursor),
        ):
            with pytest.raises(ValidationError) as caught:
                build()
            assert caught.value.field == "after"
        for ask in (
            lambda uow: uow.orders.open_shipments(LeadTimeQuery()),
            lambda uow: uow.orders.late_shipments(ShipmentQuery()),
            lambda uow: uow.orders.lead_times(None),
        ):
            with pytest.raises(ValidationError) as caught:
                self.read(ask)
            assert caught.value.field == "query"

    # ------------------------------------------------------------------ the reference

    def test_every_listing_equals_the_reference_on_generated_orders(self) -> None:
        stored: dict[str, Order] = {}
        counter = itertools.count()

        # run by hypothesis inside the test, so that each suite (and each store) has its own
        # store and its own run
        @settings(
            max_examples=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(data=st.data())
        def check(data: Any) -> None:
            prefixes = st.sampled_from(["O-", "o-", "B", "a", "Z_", "é", "10", "9"])
            orders = [
                data.draw(shipped_orders(f"{data.draw(prefixes)}{next(counter)}"))
                for _ in range(data.draw(st.integers(1, 4)))
            ]
            self.given_orders(*orders)
            stored.update((order.id, order) for order in orders)
            reference = list(stored.values())
            limit = data.draw(st.integers(1, 4))
            carrier = data.draw(st.sampled_from([None, None, "swift", ""]))
            warehouse = data.draw(st.sampled_from([None, None, "W2"]))
            on = EPOCH.date() + dt.timedelta(data.draw(st.integers(0, 12)))
            start = data.draw(st.none() | st.integers(0, 54).map(lambda h: EPOCH + h * H))

            def pages(
                ask: Callable[[str | None], Page[Any]], expect: Callable[[str | None], Page[Any]]
            ) -> None:
                got = self.all_pages(ask)
                cursor = None
                for page in got:
                    assert page == expect(cursor), (page, expect(cursor))
                    cursor = page.next_cursor

            pages(
                lambda after: self.read(
                    lambda uow: uow.orders.open_shipments(
                        ShipmentQuery(carrier, warehouse, limit, after)
                    )
                ),
                lambda after: select_open_shipments(
                    reference, ShipmentQuery(carrier, warehouse, limit, after)
                ),
            )
            pages(
                lambda after: self.read(
                    lambda uow: uow.orders.late_shipments(
                        LateShipmentQuery(on, carrier, warehouse, limit, after)
                    )
                ),
                lambda after: select_late_shipments(
                    reference, LateShipmentQuery(on, carrier, warehouse, limit, after)
                ),
            )
            pages(
                lambda after: self.read(
                    lambda uow: uow.orders.lead_times(LeadTimeQuery(start, None, limit, after))
                ),
                lambda after: select_lead_times(
                    reference, LeadTimeQuery(start, None, limit, after)
                ),
            )

        check()
