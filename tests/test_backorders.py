"""Backorders served when stock arrives, oldest placement first, the same on every store; and
under concurrency no unit is reserved twice."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money

from salesorders.domain.order import Order
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import ValidationError
from salesorders.service import (
    AllocateBackorders,
    CancelOrder,
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
    ShipOrder,
    bootstrap,
)
from support.stores import STORE_KINDS, fresh_store

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


def _service(store: Any, clock: ManualClock, **options: Any) -> SalesService:
    service = bootstrap(store=store, clock=clock, **options)
    service.handle(RegisterWarehouse(warehouse=Warehouse("W1", priority=1)))
    return service


def _order(
    service: SalesService, clock: ManualClock, sku: str, quantity: int, customer: str = "C-1"
) -> str:
    clock.advance(dt.timedelta(minutes=1))
    result = service.handle(
        PlaceOrder(
            customer_id=customer,
            currency="EUR",
            lines=(LineSpec(sku, quantity, Money("2.00", "EUR")),),
            confirm=True,
        )
    )
    return result.order_id


def _held(service: SalesService, order_id: str) -> Decimal:
    return sum((r.open for r in service.reservations(order_id)), Decimal(0))


def test_stock_that_arrives_serves_the_oldest_waiting_orders_first(store: Any) -> None:
    clock = ManualClock(T0)
    service = _service(store, clock)
    service.handle(ReceiveStock(sku="TEA", warehouse_id="W1", quantity=1))
    first = _order(service, clock, "TEA", 3)  # 1 reserved, 2 waiting
    second = _order(service, clock, "TEA", 2)  # 2 waiting
    third = _order(service, clock, "TEA", 1)  # 1 waiting
    assert service.handle(AllocateBackorders()) == ()  # nothing arrived yet
    service.handle(ReceiveStock(sku="TEA", warehouse_id="W1", quantity=3))
    served = service.handle(AllocateBackorders(sku="TEA"))
    assert [r.order_id for r in served] == [first, second]
    assert [r.allocation_status for r in served] == ["allocated", "partially_allocated"]
    assert (_held(service, first), _held(service, second), _held(service, third)) == (3, 1, 0)
    assert service.get_order(third).lines[0].backordered == 1
    assert service.reconcile_stock() == ()
    with store.unit_of_work() as uow:
        changed = [
            m for m in uow.outbox.messages(first) if m.event_type == "OrderAllocationChanged"
        ]
    assert [[list(row) for row in m.payload["lines"]] for m in changed] == [[["L1", "3", "0"]]]
    # the served order ships everything it now holds, from both reservations
    shipped = service.handle(ShipOrder(order_id=first))
    assert shipped.state == "shipped"
    assert service.reconcile_stock() == ()


def test_receiving_stock_can_serve_backorders_in_the_same_unit_of_work(store: Any) -> None:
    clock = ManualClock(T0)
    service = _service(store, clock, serve_backorders_on_receipt=True)
    waiting = _order(service, clock, "MUG", 2)
    other = _order(service, clock, "LAMP", 1)
    assert service.get_order(waiting).allocation_status == "backordered"
    service.handle(ReceiveStock(sku="MUG", warehouse_id="W1", quantity=5))
    assert service.get_order(waiting).allocation_status == "allocated"
    assert service.get_order(other).allocation_status == "backordered"  # another SKU
    assert _held(service, waiting) == 2
    assert service.stock_items()[0].reserved + service.stock_items()[0].available == 5


def test_cancelled_orders_wait_no_more_and_bad_input_is_refused(store: Any) -> None:
    clock = ManualClock(T0)
    service = _service(store, clock)
    gone = _order(service, clock, "TEA", 2)
    service.handle(CancelOrder(order_id=gone, reason="changed mind"))
    service.handle(ReceiveStock(sku="TEA", warehouse_id="W1", quantity=5))
    assert service.handle(AllocateBackorders()) == ()
    assert _held(service, gone) == 0
    with pytest.raises(ValidationError) as caught:
        service.handle(AllocateBackorders(sku="S" * 101))
    assert caught.value.field == "sku"
    with pytest.raises(ValidationError) as caught:
        service.handle(AllocateBackorders(limit=0))
    assert caught.value.field == "limit"


def _vip_first(order: Order) -> int:
    return 0 if order.customer_id.startswith("VIP") else 1


def test_a_host_priority_serves_by_its_key_then_by_placement(store: Any) -> None:
    clock = ManualClock(T0)
    service = _service(store, clock, backorder_priority=_vip_first)
    oldest = _order(service, clock, "TEA", 2)
    vip = _order(service, clock, "TEA", 2, customer="VIP-7")
    other = _order(service, clock, "TEA", 1)
    later_vip = _order(service, clock, "TEA", 1, customer="VIP-9")
    service.handle(ReceiveStock(sku="TEA", warehouse_id="W1", quantity=4))
    # limit looks at the first waiting orders by priority, not by age
    served = service.handle(AllocateBackorders(limit=1))
    assert [r.order_id for r in served] == [vip]
    served = service.handle(AllocateBackorders())
    assert [r.order_id for r in served] == [later_vip, oldest]
    assert [r.allocation_status for r in served] == ["allocated", "partially_allocated"]
    assert (_held(service, oldest), _held(service, other)) == (1, 0)
    assert service.reconcile_stock() == ()


def _largest_first(order: Order) -> Decimal:
    return -sum((line.quantity for line in order.lines), Decimal(0))


def test_a_host_priority_also_orders_what_a_receipt_serves(store: Any) -> None:
    clock = ManualClock(T0)
    service = _service(
        store, clock, serve_backorders_on_receipt=True, backorder_priority=_largest_first
    )
    small = _order(service, clock, "MUG", 1)
    large = _order(service, clock, "MUG", 3)
    service.handle(ReceiveStock(sku="MUG", warehouse_id="W1", quantity=3))
    assert (_held(service, small), _held(service, large)) == (0, 3)


def test_a_priority_must_be_callable_and_give_keys_that_compare(store: Any) -> None:
    clock = ManualClock(T0)
    with pytest.raises(ValidationError) as caught:
        bootstrap(store=store, clock=clock, backorder_priority="vip first")
    assert caught.value.field == "backorder_priority"
    keys = iter([1, "a"])
    service = _service(store, clock, backorder_priority=lambda order: next(keys))
    first = _order(service, clock, "TEA", 1)
    second = _order(service, clock, "TEA", 1)
    service.handle(ReceiveStock(sku="TEA", warehouse_id="W1", quantity=2))
    with pytest.raises(ValidationError) as caught:
        service.handle(AllocateBackorders())
    assert caught.value.field == "backorder_priority"
    assert "cannot be compared" in caught.value.problem
    assert (_held(service, first), _held(service, second)) == (0, 0)  # nothing changed
    with pytest.raises(ValidationError) as caught:
        service.handle(AllocateBackorders(limit=0))
    assert caught.value.field == "limit"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_serving_backorders_while_orders_arrive_never_reserves_a_unit_twice(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Threads confirm new orders while others serve backorders and receive stock: every unit
    received is reserved at most once, and what each order holds never exceeds what it asked."""
    with fresh_store(_Param(request, kind), tmp_path) as store:
        clock = ManualClock(T0)
        service = _service(store, clock)
        waiting = [_order(service, clock, "HOT", 2) for _ in range(6)]
        errors: list[BaseException] = []

        def run(work: Any) -> None:
            try:
                work()
            except BaseException as error:
                errors.append(error)

        def receive() -> None:
            for _ in range(4):
                service.handle(ReceiveStock(sku="HOT", warehouse_id="W1", quantity=2))
                service.handle(AllocateBackorders(sku="HOT"))

        def serve() -> None:
            for _ in range(4):
                service.handle(AllocateBackorders(sku="HOT"))

        def place() -> None:
            for _ in range(4):
                waiting.append(_order(service, clock, "HOT", 1))

        threads = [threading.Thread(target=run, args=(w,)) for w in (receive, serve, place)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        item = next(i for i in service.stock_items() if i.sku == "HOT")
        assert item.on_hand == 8
        assert item.reserved <= item.on_hand
        held = {order_id: _held(service, order_id) for order_id in waiting}
        assert sum(held.values()) == item.reserved
        for order_id, units in held.items():
            assert units <= service.get_order(order_id).lines[0].quantity
            line = service.get_order(order_id).lines[0]
            assert line.allocated == units and line.allocated + line.backordered == line.quantity
        assert service.reconcile_stock() == ()


class _Param:
    """A stand-in request carrying ``param`` for :func:`fresh_store`."""

    def __init__(self, request: pytest.FixtureRequest, kind: str) -> None:
        self.param = kind
        self._request = request

    def getfixturevalue(self, name: str) -> Any:
        return self._request.getfixturevalue(name)
