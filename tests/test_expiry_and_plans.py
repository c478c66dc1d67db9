"""Expired batches are never allocated, policies may demand shelf life, and the service checks
every plan a custom policy makes before it reserves anything — on every store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money

from salesorders import (
    ConfirmOrder,
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    Warehouse,
    bootstrap,
)
from salesorders.domain.allocation import FewestShipmentsPolicy, PriorityPolicy
from salesorders.domain.plan import (
    Allocation,
    AllocationPlan,
    AllocationRequest,
    DemandLine,
)
from salesorders.domain.snapshot import StockSnapshot
from salesorders.domain.stock import StockBook
from salesorders.errors import AllocationError, ValidationError
from support.stores import STORE_KINDS, fresh_store

TODAY = dt.date(2026, 3, 10)
NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


def _milk_book() -> StockBook:
    book = StockBook([Warehouse("W1")])
    book.receive("MILK", "W1", 4, NOW, batch_id="OLD", expiry=TODAY - dt.timedelta(days=1))
    book.receive("MILK", "W1", 3, NOW, batch_id="SOON", expiry=TODAY + dt.timedelta(days=2))
    book.receive("MILK", "W1", 5, NOW, batch_id="LATE", expiry=TODAY + dt.timedelta(days=30))
    return book


def test_a_batch_expired_on_the_day_is_neither_offered_nor_reservable() -> None:
    book = _milk_book()
    snapshot = book.snapshot(["MILK"], on=TODAY)
    assert [b.batch_id for b in snapshot.batches[("MILK", "W1")]] == ["SOON", "LATE"]
    assert snapshot.available_at("MILK", "W1") == Decimal(8)  # the 4 expired units are out
    # the day before, the batch was still good
    earlier = book.snapshot(["MILK"], on=TODAY - dt.timedelta(days=1))
    assert earlier.batches[("MILK", "W1")][0].batch_id == "OLD"
    before = book.ledger()
    plan = AllocationPlan("O-1", (Allocation("L1", "MILK", "W1", Decimal(1), "OLD"),))
    with pytest.raises(ValidationError) as caught:
        book.reserve_plan(plan, NOW)
    assert caught.value.field == "allocations[0].batch_id"
    assert "expired" in str(caught.value)
    assert book.ledger() == before


@pytest.mark.parametrize("policy_class", [PriorityPolicy, FewestShipmentsPolicy])
def test_a_policy_can_demand_a_minimum_remaining_shelf_life(policy_class: Any) -> None:
    book = _milk_book()
    request = AllocationRequest("O-1", (DemandLine("L1", "MILK", Decimal(4)),))
    snapshot = book.snapshot(["MILK"], on=TODAY)
    plain = policy_class().allocate(request, snapshot)
    assert [a.batch_id for a in plain.allocations] == ["SOON", "LATE"]
    picky = policy_class(min_shelf_life=dt.timedelta(days=7)).allocate(request, snapshot)
    assert [(a.batch_id, a.quantity) for a in picky.allocations] == [("LATE", Decimal(4))]
    with pytest.raises(ValidationError):
        PriorityPolicy(min_shelf_life=dt.timedelta(days=-1))
    undated = StockSnapshot(snapshot.warehouses, snapshot.available, snapshot.batches)
    with pytest.raises(ValidationError, match=r"snapshot\.on"):
        policy_class(min_shelf_life=dt.timedelta(days=1)).allocate(request, undated)


def test_the_service_never_allocates_an_expired_batch(store: Any) -> None:
    service = bootstrap(store=store, clock=ManualClock(NOW))
    service.handle(RegisterWarehouse(warehouse=Warehouse("W1")))
    stale = ReceiveStock(
        sku="MILK", warehouse_id="W1", quantity=4, batch_id="OLD", expiry=TODAY - dt.timedelta(1)
    )
    service.handle(stale)
    result = service.handle(
        PlaceOrder(
            customer_id="C-1",
            currency="EUR",
            lines=(LineSpec("MILK", 2, Money("1.20", "EUR")),),
            confirm=True,
        )
    )
    assert service.reservations(result.order_id) == ()
    assert result.allocation_status == "backordered"


class _GreedyPolicy:
    """A custom policy that plans too much, and for the wrong SKU."""

    name = "greedy"

    def allocate(self, request: AllocationRequest, snapshot: StockSnapshot) -> AllocationPlan:
        line = request.lines[0]
        return AllocationPlan(
            request.order_id,
            (
                Allocation(line.line_id, line.sku, "W1", line.quantity * 2, None, "twice"),
                Allocation(line.line_id, "OTHER", "W1", Decimal(1), None, "other sku"),
            ),
        )


def test_the_service_refuses_a_custom_policy_s_bad_plan_and_changes_nothing(store: Any) -> None:
    service = bootstrap(store=store, clock=ManualClock(NOW), allocation_policy=_GreedyPolicy())
    service.handle(RegisterWarehouse(warehouse=Warehouse("W1")))
    service.handle(ReceiveStock(sku="TEA", warehouse_id="W1", quantity=10))
    service.handle(ReceiveStock(sku="OTHER", warehouse_id="W1", quantity=10))
    placed = service.handle(
        PlaceOrder(
            customer_id="C-1",
            currency="EUR",
            lines=(LineSpec("TEA", 3, Money("2.00", "EUR")),),
        )
    )
    items_before = service.stock_items()
    with pytest.raises(AllocationError) as caught:
        service.handle(ConfirmOrder(order_id=placed.order_id))
    message = str(caught.value)
    assert "_GreedyPolicy" in message and "greedy" in message
    assert "asks for TEA" in message  # the plan for another SKU
    assert "allocates" in message or "allocated" in message  # twice the quantity
    assert service.reservations() == ()
    assert service.stock_items() == items_before
    assert service.get_order(placed.order_id).state == "placed"
