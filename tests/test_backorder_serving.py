"""Backorders served in one batch — one snapshot, one lock, one write — give exactly what serving
the waiting orders one at a time gives: the same results, orders, reservations, ledger, stock
figures, alerts and outbox messages, on random stock, orders, policies and priorities."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from moneyed import Money

from race_support import close_store, drop_schema, new_schema, open_store
from salesorders.domain.allocation import (
    AllocationPolicy,
    FewestShipmentsPolicy,
    NearestPolicy,
    PriorityPolicy,
)
from salesorders.domain.order import Address, Order
from salesorders.domain.plan import AllocationPlan, AllocationRequest
from salesorders.domain.snapshot import IncomingStock, StockSnapshot
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import SalesOrdersError
from salesorders.ports import OrderQuery
from salesorders.service import (
    AllocateBackorders,
    CancelOrder,
    ExpectStock,
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
    SetStockLevels,
    backorders,
    bootstrap,
)
from support.backorders_reference import use_reference_serving

T0 = dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.UTC)
SKUS = ("S1", "S2", "S3", "S4")

Priority = Callable[[Order], Any]


class CheckedPriority:
    """A policy the service does not know: its plans are checked, and it is given a snapshot of
    the SKUs it is asked for only."""

    name = "checked-priority"

    def __init__(self) -> None:
        self._inner = PriorityPolicy()

    def allocate(self, request: AllocationRequest, snapshot: StockSnapshot) -> AllocationPlan:
        assert {sku for sku, _ in snapshot.available} <= {line.sku for line in request.lines}
        return self._inner.allocate(request, snapshot)


POLICIES: tuple[Callable[[random.Random], AllocationPolicy], ...] = (
    lambda rng: PriorityPolicy(),
    lambda rng: PriorityPolicy(min_shelf_life=dt.timedelta(days=rng.randint(0, 20))),
    lambda rng: FewestShipmentsPolicy(),
    lambda rng: NearestPolicy(),
    lambda rng: CheckedPriority(),
)
PRIORITIES: tuple[Priority | None, ...] = (
    None,
    lambda order: order.customer_id != "VIP",
    lambda order: (-len(order.lines), order.customer_id),
)


@attrs.frozen
class Scenario:
    policy: AllocationPolicy
    priority: Priority | None
    on_receipt: bool
    steps: tuple[tuple[int, Any], ...]  # (seconds to advance the clock first, command)


def _scenario(seed: int) -> Scenario:
    rng = random.Random(seed)
    steps: list[tuple[int, Any]] = []
    warehouses = [f"W{i + 1}" for i in range(rng.randint(1, 3))]
    for wid in warehouses:
        warehouse = Warehouse(
            wid,
            region=rng.choice(("EU", "US")),
            priority=rng.randint(0, 3),
            active=rng.random() > 0.1,
            ships_to=frozenset({"EU"}) if rng.random() < 0.2 else frozenset(),
        )
        steps.append((0, RegisterWarehouse(warehouse=warehouse)))
    for sku in SKUS:
        for wid in warehouses:
            if rng.random() < 0.3:
                levels = SetStockLevels(
                    sku=sku,
                    warehouse_id=wid,
                    safety_stock=rng.randint(0, 2),
                    reorder_point=rng.randint(0, 6),
                )
                steps.append((0, levels))
            if rng.random() < 0.4:
                steps.append((0, _receipt(rng, sku, wid)))
    used: set[str] = set()
    for _ in range(rng.randint(3, 25)):
        order_id = f"o{rng.randrange(10**6):06d}"
        if order_id in used:
            continue
        used.add(order_id)
        lines = tuple(
            LineSpec(rng.choice(SKUS), rng.randint(1, 4), Money("2.00", "EUR"))
            for _ in range(rng.randint(1, 3))
        )
        address = None
        if rng.random() < 0.5:
            region = rng.choice(("EU", "US"))
            address = Address("A. Buyer", "1 Main St", "Town", "DE", region=region)
        place = PlaceOrder(
            order_id=order_id,
            customer_id=rng.choice(("C1", "C2", "VIP")),
            currency="EUR",
            lines=lines,
            shipping_address=address,
            confirm=True,
        )
        steps.append((rng.choice((0, 0, 1, 60)), place))
        if rng.random() < 0.1:
            steps.append((1, CancelOrder(order_id=order_id, reason="changed mind")))
    for index in range(rng.randint(0, 2)):
        incoming = IncomingStock(
            f"IN-{index}",
            rng.choice(SKUS),
            rng.choice(warehouses),
            rng.randint(1, 5),  # type: ignore[arg-type]
            T0.date() + dt.timedelta(days=rng.randint(1, 30)),
        )
        steps.append((0, ExpectStock(incoming=incoming)))
    for _ in range(rng.randint(1, 3)):
        for _ in range(rng.randint(1, 6)):
            steps.append((60, _receipt(rng, rng.choice(SKUS), rng.choice(warehouses))))
        serve = AllocateBackorders(
            sku=rng.choice((None, None, *SKUS)),
            limit=rng.choice((1, 2, 5, 1000)),
            actor=rng.choice(("", "clerk")),
        )
        steps.append((60, serve))
    return Scenario(
        rng.choice(POLICIES)(rng), rng.choice(PRIORITIES), rng.random() < 0.3, tuple(steps)
    )


def _receipt(rng: random.Random, sku: str, warehouse_id: str) -> ReceiveStock:
    if rng.random() < 0.3:
        return ReceiveStock(
            sku=sku,
            warehouse_id=warehouse_id,
            quantity=rng.randint(1, 5),
            batch_id=rng.choice(("B1", "B2", "B3")),
            expiry=T0.date() + dt.timedelta(days=rng.randint(-2, 40)),
        )
    return ReceiveStock(sku=sku, warehouse_id=warehouse_id, quantity=rng.randint(1, 6))


def _run(
    service: SalesService, clock: ManualClock, steps: tuple[tuple[int, Any], ...]
) -> list[Any]:
    """Every command's outcome: its result, or the type and text of the error it raised."""
    outcomes: list[Any] = []
    for seconds, command in steps:
        clock.advance(dt.timedelta(seconds=seconds))
        try:
            outcomes.append(service.handle(command))
        except SalesOrdersError as error:
            outcomes.append((type(error).__name__, str(error)))
    return outcomes


def _state(service: SalesService, store: Any) -> dict[str, Any]:
    dump = service.handlers.serializer.dump
    with store.unit_of_work() as uow:
        return {
            "orders": [dump(o) for o in uow.orders.list(OrderQuery(limit=10_000)).orders],
            "reservations": uow.stock.reservations(),
            "ledger": uow.stock.ledger(),
            "items": [attrs.asdict(item) for item in uow.stock.items()],
            "outbox": uow.outbox.messages(),
        }


def _compare(
    scenario: Scenario, opened: Callable[[str], contextlib.AbstractContextManager[Any]]
) -> int:
    """Run the scenario batched and one at a time; both end alike. Returns how many times an
    order was served."""
    outcomes = []
    states = []
    for name in ("batched", "reference"):
        with opened(name) as store:
            clock = ManualClock(T0)
            service = bootstrap(
                store=store,
                clock=clock,
                allocation_policy=scenario.policy,
                backorder_priority=scenario.priority,
                serve_backorders_on_receipt=scenario.on_receipt,
            )
            if name == "reference":
                use_reference_serving(service, scenario.priority)
            outcomes.append(_run(service, clock, scenario.steps))
            states.append(_state(service, store))
    assert outcomes[0] == outcomes[1]
    for key in states[0]:
        assert states[0][key] == states[1][key], key
    return sum(1 for m in states[0]["outbox"] if m.event_type == "OrderAllocationChanged")


def _memory(name: str) -> contextlib.AbstractContextManager[Any]:
    return contextlib.nullcontext(open_store("memory"))


@contextlib.contextmanager
def _sqlite(folder: Path, name: str) -> Iterator[Any]:
    folder.mkdir(parents=True, exist_ok=True)
    store = open_store("sqlite", str(folder / f"{name}.db"))
    try:
        yield store
    finally:
        close_store(store)


@contextlib.contextmanager
def _postgres(dsn: str, name: str) -> Iterator[Any]:
    schema = new_schema()
    store = open_store("postgres", dsn, schema)
    try:
        yield store
    finally:
        close_store(store)
        drop_schema(dsn, schema)


def test_batched_serving_matches_one_order_at_a_time_in_memory() -> None:
    served = [_compare(_scenario(seed), _memory) for seed in range(200)]
    assert sum(1 for n in served if n) > 120  # most scenarios serve some orders


def test_skus_read_in_several_snapshots_serve_alike(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(backorders, "_SNAPSHOT_SKUS", 1)
    for seed in range(20):
        _compare(_scenario(seed), _memory)
    for seed in range(3):
        folder = tmp_path / str(seed)
        _compare(_scenario(seed), lambda name, folder=folder: _sqlite(folder, name))


@pytest.mark.parametrize("seed", range(12))
def test_batched_serving_matches_one_order_at_a_time_on_sqlite(seed: int, tmp_path: Path) -> None:
    _compare(_scenario(seed), lambda name: _sqlite(tmp_path, name))


@pytest.mark.postgres
@pytest.mark.parametrize("seed", range(6))
def test_batched_serving_matches_one_order_at_a_time_on_postgres(
    seed: int, postgres_dsn: str
) -> None:
    _compare(_scenario(seed), lambda name: _postgres(postgres_dsn, name))
