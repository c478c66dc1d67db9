"""Built-in allocation policies: concrete decisions, reasons, options, validation, plan checks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings

from salesorders.domain.allocation import (
    AllocationPolicy,
    ByDistance,
    ByPriority,
    ExcludeWarehouses,
    FewestShipmentsPolicy,
    NearestPolicy,
    PlanProblem,
    PriorityPolicy,
    RankedPolicy,
    ShipsToDestination,
    plan_problems,
    verify_plan,
)
from salesorders.domain.plan import (
    Allocation,
    AllocationPlan,
    AllocationRequest,
    Backorder,
    DemandLine,
)
from salesorders.domain.snapshot import AvailableBatch, IncomingStock, StockSnapshot
from salesorders.domain.warehouse import Destination, Warehouse
from salesorders.errors import (
    AllocationError,
    FloatNotAllowedError,
    InvalidQuantityError,
    Shortage,
    ValidationError,
)
from salesorders.testing.policies import AllocationCase, allocation_cases

D = Decimal
EAST = Destination(region="CN-East")
DAY = dt.date(2030, 3, 1)


def stock(
    warehouses: list[Warehouse],
    available: dict[tuple[str, str], int],
    batches: dict[tuple[str, str], tuple[AvailableBatch, ...]] | None = None,
    incoming: list[IncomingStock] | None = None,
) -> StockSnapshot:
    by_sku: dict[str, tuple[IncomingStock, ...]] = {}
    for item in incoming or []:
        by_sku[item.sku] = (*by_sku.get(item.sku, ()), item)
    return StockSnapshot(
        {w.id: w for w in warehouses},
        {key: D(q) for key, q in available.items()},
        batches or {},
        by_sku,
    )


def order(
    *lines: tuple[str, int],
    destination: Destination = EAST,
    all_or_nothing: bool = False,
) -> AllocationRequest:
    return AllocationRequest(
        "SO-1",
        tuple(DemandLine(f"L{n}", sku, D(q)) for n, (sku, q) in enumerate(lines, 1)),
        destination,
        all_or_nothing,
    )


def served(plan: AllocationPlan) -> list[tuple[str, str, str, Decimal]]:
    return [(a.line_id, a.sku, a.warehouse_id, a.quantity) for a in plan.allocations]


THREE = [Warehouse("W1", priority=2), Warehouse("W2", priority=1), Warehouse("W3", priority=1)]


# --------------------------------------------------------------------------- priority


def test_priority_serves_from_lowest_priority_number_then_id() -> None:
    snapshot = stock(THREE, {("A", "W1"): 9, ("A", "W2"): 9, ("A", "W3"): 9})
    plan = PriorityPolicy().allocate(order(("A", 4)), snapshot)
    assert served(plan) == [("L1", "A", "W2", D(4))]
    assert (
        plan.allocations[0].reason == "W2: highest-priority warehouse with stock left (priority 1)"
    )
    assert plan.complete


def test_priority_splits_a_line_in_rank_order_when_the_first_runs_out() -> None:
    snapshot = stock(THREE, {("A", "W1"): 9, ("A", "W2"): 2, ("A", "W3"): 1})
    plan = PriorityPolicy().allocate(order(("A", 5)), snapshot)
    assert served(plan) == [
        ("L1", "A", "W2", D(2)),
        ("L1", "A", "W3", D(1)),
        ("L1", "A", "W1", D(2)),
    ]


def test_explicit_order_comes_first_then_priority() -> None:
    snapshot = stock(THREE, {("A", "W1"): 1, ("A", "W2"): 1, ("A", "W3"): 5})
    plan = PriorityPolicy(order=["W1"]).allocate(order(("A", 3)), snapshot)
    assert served(plan) == [
        ("L1", "A", "W1", D(1)),
        ("L1", "A", "W2", D(1)),
        ("L1", "A", "W3", D(1)),
    ]
    assert plan.allocations[0].reason.endswith("(position 1 in the configured warehouse order)")
    assert "after the configured warehouse order" in plan.allocations[1].reason


def test_lines_of_one_sku_share_the_same_stock() -> None:
    snapshot = stock([Warehouse("W1")], {("A", "W1"): 5})
    plan = PriorityPolicy().allocate(order(("A", 3), ("A", 3)), snapshot)
    assert served(plan) == [("L1", "A", "W1", D(3)), ("L2", "A", "W1", D(2))]
    assert [(b.line_id, b.quantity) for b in plan.backorders] == [("L2", D(1))]


def test_no_stock_anywhere_backorders_the_line_with_a_reason() -> None:
    plan = PriorityPolicy().allocate(order(("A", 2)), stock(THREE, {}))
    assert plan.allocations == ()
    assert plan.backorders == (
        Backorder(
            "L1",
            "A",
            D(2),
            None,
            "no stock left in eligible warehouses and no incoming stock expected",
        ),
    )
    assert next(iter(plan.reasons())).startswith("L1 A x2 backordered: no stock left")


def test_negative_available_counts_as_nothing() -> None:
    plan = PriorityPolicy().allocate(
        order(("A", 1)), stock(THREE, {("A", "W2"): -3, ("A", "W3"): 1})
    )
    assert served(plan) == [("L1", "A", "W3", D(1))]


# --------------------------------------------------------------------------- filters


def test_inactive_warehouses_never_serve_even_without_filters() -> None:
    warehouses = [Warehouse("W1", priority=1, active=False), Warehouse("W2", priority=2)]
    snapshot = stock(warehouses, {("A", "W1"): 9, ("A", "W2"): 9})
    plan = PriorityPolicy(filters=()).allocate(order(("A", 1)), snapshot)
    assert served(plan) == [("L1", "A", "W2", D(1))]


def test_ships_to_destination_is_on_by_default() -> None:
    warehouses = [
        Warehouse("W1", priority=1, ships_to=frozenset({"EU-West"})),
        Warehouse("W2", priority=2, ships_to=frozenset({"CN-East"})),
    ]
    snapshot = stock(warehouses, {("A", "W1"): 9, ("A", "W2"): 9})
    assert served(PriorityPolicy().allocate(order(("A", 1)), snapshot)) == [("L1", "A", "W2", D(1))]
    unfiltered = PriorityPolicy(filters=()).allocate(order(("A", 1)), snapshot)
    assert served(unfiltered) == [("L1", "A", "W1", D(1))]


def test_exclude_warehouses_composes_with_ships_to() -> None:
    policy = PriorityPolicy(filters=(ShipsToDestination(), ExcludeWarehouses({"W2"})))
    snapshot = stock(THREE, {("A", "W1"): 9, ("A", "W2"): 9, ("A", "W3"): 9})
    assert served(policy.allocate(order(("A", 1)), snapshot)) == [("L1", "A", "W3", D(1))]
    assert not policy.admits(THREE[1], EAST)
    assert policy.admits(THREE[2], EAST)


def test_filters_and_orders_refuse_a_single_string() -> None:
    with pytest.raises(ValidationError, match="warehouse_ids"):
        ExcludeWarehouses("W1")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="order"):
        PriorityPolicy(order="W1")
    with pytest.raises(ValidationError, match="lists a warehouse twice"):
        ByPriority(["W1", "W1"])
    with pytest.raises(ValidationError, match=r"filters\[0\]"):
        PriorityPolicy(filters=("W1",))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="tie_breaker"):
        FewestShipmentsPolicy(tie_breaker="random")


# --------------------------------------------------------------------------- nearest


def test_nearest_uses_the_distance_table_and_explains_it() -> None:
    warehouses = [
        Warehouse("W1", priority=1, distances=(("CN-East", D(800)),)),
        Warehouse("W2", priority=2, distances=(("CN-East", D(120)),)),
    ]
    snapshot = stock(warehouses, {("A", "W1"): 9, ("A", "W2"): 9})
    plan = NearestPolicy().allocate(order(("A", 1)), snapshot)
    assert served(plan) == [("L1", "A", "W2", D(1))]
    assert plan.allocations[0].reason == (
        "W2: nearest warehouse to CN-East with stock left (distance 120)"
    )


def test_nearest_prefers_a_zone_entry_to_a_region_entry() -> None:
    warehouses = [
        Warehouse("W1", distances=(("CN-East", D(5)),)),
        Warehouse("W2", distances=(("Z9", D(7)), ("CN-East", D(1)))),
        Warehouse("W3", distances=(("Z9", D(3)),)),
    ]
    snapshot = stock(warehouses, {("A", w.id): 1 for w in warehouses})
    destination = Destination(region="CN-East", zone="Z9")
    plan = NearestPolicy().allocate(order(("A", 3), destination=destination), snapshot)
    # W2's zone entry (7) counts, not its region entry (1)
    assert [a.warehouse_id for a in plan.allocations] == ["W3", "W1", "W2"]
    assert plan.allocations[0].reason == (
        "W3: nearest warehouse to CN-East with stock left (distance 3 to zone Z9)"
    )


def test_nearest_falls_back_to_coordinates_then_zone_then_region() -> None:
    destination = Destination(region="CN-East", zone="Z1", coordinates=(D(0), D(0)))
    far = Warehouse("W1", coordinates=(D(30), D(40)))  # 50 away
    near = Warehouse("W2", coordinates=(D(3), D(4)))  # 5 away
    same_zone = Warehouse("W3", zone="Z1", priority=1)
    same_region = Warehouse("W4", region="CN-East", priority=1)
    elsewhere = Warehouse("W5", priority=0)
    warehouses = [elsewhere, same_region, same_zone, far, near]
    available = {("A", w.id): 1 for w in warehouses}
    plan = NearestPolicy().allocate(
        order(("A", 5), destination=destination), stock(warehouses, available)
    )
    assert [a.warehouse_id for a in plan.allocations] == ["W2", "W1", "W3", "W4", "W5"]
    reasons = [a.reason for a in plan.allocations]
    assert reasons[0].endswith("(straight-line distance 5.00 between coordinates)")
    assert reasons[2].endswith("(same zone Z1, no distance known)")
    assert reasons[3].endswith("(same region CN-East, no distance known)")
    assert reasons[4].endswith("(no distance known)")


def test_a_table_distance_ranks_before_a_computed_one() -> None:
    destination = Destination(region="CN-East", coordinates=(D(0), D(0)))
    warehouses = [
        Warehouse("W1", coordinates=(D(1), D(0))),
        Warehouse("W2", distances=(("CN-East", D(900)),)),
    ]
    snapshot = stock(warehouses, {("A", "W1"): 9, ("A", "W2"): 9})
    plan = NearestPolicy().allocate(order(("A", 1), destination=destination), snapshot)
    assert served(plan) == [("L1", "A", "W2", D(1))]


def test_nearest_ties_go_to_the_tie_breaker() -> None:
    warehouses = [
        Warehouse("W1", priority=5, distances=(("CN-East", D(10)),)),
        Warehouse("W2", priority=1, distances=(("CN-East", D(10)),)),
    ]
    snapshot = stock(warehouses, {("A", "W1"): 9, ("A", "W2"): 9})
    assert served(NearestPolicy().allocate(order(("A", 1)), snapshot))[0][2] == "W2"
    by_order = NearestPolicy(tie_breaker=ByPriority(["W1"]))
    assert served(by_order.allocate(order(("A", 1)), snapshot))[0][2] == "W1"


def test_distances_refuse_floats() -> None:
    warehouses = [Warehouse("W1", distances=(("CN-East", 1.5),))]  # type: ignore[arg-type]
    with pytest.raises(FloatNotAllowedError, match="distances"):
        NearestPolicy().allocate(order(("A", 1)), stock(warehouses, {("A", "W1"): 1}))


# --------------------------------------------------------------------------- fewest shipments


def test_fewest_shipments_prefers_one_warehouse_that_covers_every_line() -> None:
    warehouses = [Warehouse("W1", priority=1), Warehouse("W2", priority=2)]
    snapshot = stock(warehouses, {("A", "W1"): 9, ("A", "W2"): 9, ("B", "W2"): 9})
    request = order(("A", 2), ("B", 2))
    # the priority policy needs two shipments, fewest shipments one
    assert {a.warehouse_id for a in PriorityPolicy().allocate(request, snapshot).allocations} == {
        "W1",
        "W2",
    }
    plan = FewestShipmentsPolicy().allocate(request, snapshot)
    assert served(plan) == [("L1", "A", "W2", D(2)), ("L2", "B", "W2", D(2))]
    assert plan.allocations[0].reason == (
        "W2: ships the whole order alone (fewest shipments; priority 2)"
    )


def test_fewest_shipments_greedy_cover_when_no_warehouse_has_everything() -> None:
    warehouses = [Warehouse(f"W{n}", priority=n) for n in (1, 2, 3)]
    available = {("A", "W1"): 9, ("B", "W2"): 9, ("C", "W2"): 9, ("C", "W3"): 9, ("A", "W3"): 1}
    plan = FewestShipmentsPolicy().allocate(
        order(("A", 2), ("B", 1), ("C", 1)), stock(warehouses, available)
    )
    # W2 serves two of three SKUs in full, W1 the last; W3 is never needed
    assert served(plan) == [
        ("L1", "A", "W1", D(2)),
        ("L2", "B", "W2", D(1)),
        ("L3", "C", "W2", D(1)),
    ]
    reasons = {a.warehouse_id: a.reason for a in plan.allocations}
    assert reasons["W2"] == (
        "W2: shipment 1 of 2, serves 2 of 3 open SKUs in full (fewest shipments; priority 2)"
    )
    assert reasons["W1"].startswith("W1: shipment 2 of 2, serves 1 of 1 open SKUs in full")


def test_fewest_shipments_takes_rank_order_when_the_greedy_cover_needs_more() -> None:
    # The greedy cover picks W2 first (it serves B in full), then needs W3 and W1 for A: three
    # shipments. Rank order (W1, W3, W2) serves everything from W1 and W3: two.
    warehouses = [
        Warehouse("W1", priority=0),
        Warehouse("W2", priority=2),
        Warehouse("W3", priority=1),
    ]
    available = {("A", "W1"): 1, ("A", "W3"): 9, ("B", "W1"): 1, ("B", "W2"): 4, ("B", "W3"): 3}
    request = order(("A", 2), ("A", 8), ("B", 4))
    snapshot = stock(warehouses, available)
    plan = FewestShipmentsPolicy().allocate(request, snapshot)
    assert plan.complete
    assert {a.warehouse_id for a in plan.allocations} == {"W1", "W3"}
    priority = PriorityPolicy().allocate(request, snapshot)
    assert len({a.warehouse_id for a in plan.allocations}) <= len(
        {a.warehouse_id for a in priority.allocations}
    )
    reasons = {a.warehouse_id: a.reason for a in plan.allocations}
    assert reasons["W1"].startswith("W1: shipment 1 of 2")


def test_fewest_shipments_splits_a_sku_no_single_warehouse_holds() -> None:
    warehouses = [Warehouse("W1", priority=1), Warehouse("W2", priority=2)]
    snapshot = stock(warehouses, {("A", "W1"): 3, ("A", "W2"): 4})
    plan = FewestShipmentsPolicy().allocate(order(("A", 6)), snapshot)
    assert served(plan) == [("L1", "A", "W2", D(4)), ("L1", "A", "W1", D(2))]
    assert plan.complete


def test_fewest_shipments_equal_picks_go_to_the_better_ranked_warehouse() -> None:
    warehouses = [Warehouse(f"W{n}", priority=n) for n in (1, 2, 3)]
    snapshot = stock(warehouses, {("A", "W1"): 9, ("A", "W2"): 9, ("B", "W3"): 9})
    plan = FewestShipmentsPolicy().allocate(order(("A", 2), ("B", 2)), snapshot)
    assert served(plan) == [("L1", "A", "W1", D(2)), ("L2", "B", "W3", D(2))]
    # all three serve one open SKU in full: the first pick goes to the best priority
    assert plan.allocations[0].reason.startswith("W1: shipment 1 of 2")


def test_fewest_shipments_counts_only_what_the_batches_hold() -> None:
    warehouses = [Warehouse("W1", priority=1), Warehouse("W2", priority=2)]
    batches = {("A", "W1"): (AvailableBatch("B1", D(1)),)}
    snapshot = stock(warehouses, {("A", "W1"): 9, ("A", "W2"): 9}, batches)
    plan = FewestShipmentsPolicy().allocate(order(("A", 3)), snapshot)
    assert served(plan) == [("L1", "A", "W2", D(3))]


def test_fewest_shipments_ties_by_priority_or_by_distance() -> None:
    warehouses = [
        Warehouse("W1", priority=1, distances=(("CN-East", D(900)),)),
        Warehouse("W2", priority=2, distances=(("CN-East", D(10)),)),
    ]
    snapshot = stock(warehouses, {("A", "W1"): 9, ("A", "W2"): 9})
    by_priority = FewestShipmentsPolicy("priority").allocate(order(("A", 1)), snapshot)
    by_distance = FewestShipmentsPolicy("distance").allocate(order(("A", 1)), snapshot)
    assert served(by_priority)[0][2] == "W1"
    assert served(by_distance)[0][2] == "W2"
    assert by_distance.allocations[0].reason.endswith("(fewest shipments; distance 10)")


# --------------------------------------------------------------------------- batches and incoming


def test_batches_are_used_earliest_expiry_first_and_undated_last() -> None:
    batches = (
        AvailableBatch("B-undated", D(5)),
        AvailableBatch("B-late", D(2), DAY + dt.timedelta(30)),
        AvailableBatch("B-early", D(2), DAY),
    )
    snapshot = stock([Warehouse("W1")], {("A", "W1"): 9}, {("A", "W1"): batches})
    plan = PriorityPolicy().allocate(order(("A", 5)), snapshot)
    assert [(a.batch_id, a.quantity) for a in plan.allocations] == [
        ("B-early", D(2)),
        ("B-late", D(2)),
        ("B-undated", D(1)),
    ]
    assert plan.allocations[0].reason == (
        "W1: highest-priority warehouse with stock left (priority 100); "
        "batch B-early expires 2030-03-01, earliest expiry first"
    )
    assert plan.allocations[2].reason.endswith(
        "batch B-undated has no expiry date, used after dated batches"
    )


def test_batches_never_exceed_the_warehouse_available_and_are_shared_across_lines() -> None:
    batches = (AvailableBatch("B1", D(4), DAY), AvailableBatch("B2", D(4), DAY + dt.timedelta(1)))
    warehouses = [Warehouse("W1", priority=1), Warehouse("W2", priority=2)]
    snapshot = stock(warehouses, {("A", "W1"): 5, ("A", "W2"): 9}, {("A", "W1"): batches})
    plan = PriorityPolicy().allocate(order(("A", 3), ("A", 3)), snapshot)
    assert [(a.line_id, a.warehouse_id, a.batch_id, a.quantity) for a in plan.allocations] == [
        ("L1", "W1", "B1", D(3)),
        ("L2", "W1", "B1", D(1)),
        ("L2", "W1", "B2", D(1)),  # W1 has 5 available although its batches hold 8
        ("L2", "W2", None, D(1)),
    ]


def test_stock_on_hand_is_used_before_a_later_incoming_shipment() -> None:
    incoming = [IncomingStock("IN-1", "A", "W1", D(10), DAY)]
    snapshot = stock([Warehouse("W1")], {("A", "W1"): 5}, incoming=incoming)
    plan = PriorityPolicy().allocate(order(("A", 8)), snapshot)
    assert served(plan) == [("L1", "A", "W1", D(5))]
    assert [(b.quantity, b.expected_date) for b in plan.backorders] == [(D(3), DAY)]
    assert plan.backorders[0].reason == (
        "no stock left in eligible warehouses; expected 2030-03-01 with incoming IN-1 at W1"
    )


def test_of_two_incoming_shipments_the_earlier_eta_is_used_first() -> None:
    later = IncomingStock("IN-1", "A", "W1", D(10), DAY + dt.timedelta(20))
    earlier = IncomingStock("IN-2", "A", "W1", D(10), DAY)
    plan = PriorityPolicy().allocate(
        order(("A", 3)), stock([Warehouse("W1")], {}, incoming=[later, earlier])
    )
    assert [(b.quantity, b.expected_date) for b in plan.backorders] == [(D(3), DAY)]


def test_earlier_backorders_of_the_plan_use_up_incoming_stock_first() -> None:
    incoming = [
        IncomingStock("IN-1", "A", "W1", D(4), DAY),
        IncomingStock("IN-2", "A", "W1", D(1), DAY + dt.timedelta(7)),
    ]
    plan = PriorityPolicy().allocate(
        order(("A", 3), ("A", 3)), stock([Warehouse("W1")], {}, incoming=incoming)
    )
    assert [(b.line_id, b.quantity, b.expected_date) for b in plan.backorders] == [
        ("L1", D(3), DAY),
        ("L2", D(1), DAY),
        ("L2", D(1), DAY + dt.timedelta(7)),
        ("L2", D(1), None),
    ]
    assert plan.backorders[-1].reason == (
        "no stock left in eligible warehouses and no further incoming stock expected"
    )


def test_incoming_stock_at_an_ineligible_warehouse_sets_no_date() -> None:
    warehouses = [Warehouse("W1"), Warehouse("W2", active=False)]
    incoming = [IncomingStock("IN-1", "A", "W2", D(9), DAY)]
    plan = PriorityPolicy().allocate(order(("A", 1)), stock(warehouses, {}, incoming=incoming))
    assert plan.backorders[0].expected_date is None


# --------------------------------------------------------------------------- all or nothing


def test_all_or_nothing_gives_a_complete_plan_when_stock_suffices() -> None:
    snapshot = stock(THREE, {("A", "W1"): 2, ("A", "W2"): 2})
    plan = PriorityPolicy().allocate(order(("A", 4), all_or_nothing=True), snapshot)
    assert plan.complete
    assert sum(a.quantity for a in plan.allocations) == 4


@pytest.mark.parametrize(
    "policy", [PriorityPolicy(), NearestPolicy(), FewestShipmentsPolicy()], ids=lambda p: p.name
)
def test_all_or_nothing_names_every_sku_short_and_by_how_much(policy: AllocationPolicy) -> None:
    warehouses = [Warehouse("W1"), Warehouse("W2", active=False)]
    available = {("A", "W1"): 5, ("B", "W1"): 9, ("C", "W1"): 1, ("C", "W2"): 50}
    request = order(("A", 3), ("B", 2), ("A", 4), ("C", 2), all_or_nothing=True)
    plan = policy.allocate(request, stock(warehouses, available))
    assert plan.is_empty
    assert plan.backorders == ()
    assert plan.shortages == (Shortage("A", D(7), D(5)), Shortage("C", D(2), D(1)))
    assert [s.missing for s in plan.shortages] == [D(2), D(1)]
    assert not plan.complete


# --------------------------------------------------------------------------- validation


def test_a_float_quantity_is_refused_naming_the_line() -> None:
    request = AllocationRequest("SO-1", (DemandLine("L1", "A", D(1)), DemandLine("L2", "A", 1.5)))  # type: ignore[arg-type]
    for policy in (PriorityPolicy(), FewestShipmentsPolicy()):
        with pytest.raises(FloatNotAllowedError, match=r"lines\[1\]\.quantity"):
            policy.allocate(request, stock(THREE, {("A", "W1"): 9}))


@pytest.mark.parametrize(
    ("quantity", "error"),
    [
        (D(0), InvalidQuantityError),
        (D(-2), InvalidQuantityError),
        (3, ValidationError),
        (D("NaN"), ValidationError),
        (D("Infinity"), ValidationError),
    ],
)
def test_quantities_must_be_positive_finite_decimals(
    quantity: object, error: type[Exception]
) -> None:
    request = AllocationRequest("SO-1", (DemandLine("L1", "A", quantity),))  # type: ignore[arg-type]
    with pytest.raises(error, match=r"lines\[0\]\.quantity"):
        PriorityPolicy().allocate(request, stock(THREE, {("A", "W1"): 9}))


def test_float_stock_in_a_snapshot_is_refused() -> None:
    snapshot = StockSnapshot({"W1": Warehouse("W1")}, {("A", "W1"): 2.0})  # type: ignore[dict-item]
    with pytest.raises(FloatNotAllowedError, match="available"):
        PriorityPolicy().allocate(order(("A", 1)), snapshot)


# --------------------------------------------------------------------------- caching


def test_a_warehouse_changed_in_the_same_mapping_is_ranked_again() -> None:
    policy = PriorityPolicy()
    warehouses = {"W1": Warehouse("W1", priority=1), "W2": Warehouse("W2", priority=2)}
    snapshot = StockSnapshot(warehouses, {("A", "W1"): D(9), ("A", "W2"): D(9)})
    assert served(policy.allocate(order(("A", 1)), snapshot))[0][2] == "W1"
    warehouses["W1"] = Warehouse("W1", priority=1, active=False)
    assert served(policy.allocate(order(("A", 1)), snapshot))[0][2] == "W2"
    warehouses["W3"] = Warehouse("W3", priority=0)
    snapshot.available[("A", "W3")] = D(1)  # type: ignore[index]
    assert served(policy.allocate(order(("A", 1)), snapshot))[0][2] == "W3"


def test_each_destination_gets_its_own_ranking() -> None:
    warehouses = [
        Warehouse("W1", distances=(("CN-East", D(1)), ("EU-West", D(9)))),
        Warehouse("W2", distances=(("CN-East", D(9)), ("EU-West", D(1)))),
    ]
    snapshot = stock(warehouses, {("A", "W1"): 9, ("A", "W2"): 9})
    policy = NearestPolicy()
    for region, expected in [("CN-East", "W1"), ("EU-West", "W2"), ("CN-East", "W1")]:
        plan = policy.allocate(order(("A", 1), destination=Destination(region)), snapshot)
        assert served(plan)[0][2] == expected


# --------------------------------------------------------------------------- properties


def _eligible_capacity(
    policy: RankedPolicy | FewestShipmentsPolicy, case: AllocationCase, sku: str
) -> Decimal:
    snapshot, destination = case.snapshot, case.request.destination
    total = D(0)
    for warehouse in snapshot.warehouses.values():
        if not policy.admits(warehouse, destination):
            continue
        free = snapshot.available.get((sku, warehouse.id), D(0))
        batches = snapshot.batches.get((sku, warehouse.id))
        if batches is not None:
            free = min(free, sum((max(b.available, D(0)) for b in batches), D(0)))
        total += max(free, D(0))
    return total


POLICIES = [
    PriorityPolicy(),
    NearestPolicy(),
    FewestShipmentsPolicy(),
    FewestShipmentsPolicy("distance"),
]


@settings(max_examples=150)
@given(case=allocation_cases())
def test_built_ins_allocate_all_they_can_and_keep_every_rule(case: AllocationCase) -> None:
    request, snapshot = case.request, case.snapshot
    demand = request.demand_by_sku()
    for policy in POLICIES:
        plan = policy.allocate(request, snapshot)
        assert (
            plan_problems(
                request, snapshot, plan, lambda w, r, p=policy: p.admits(w, r.destination)
            )
            == ()
        )
        can = {
            sku: min(need, _eligible_capacity(policy, case, sku)) for sku, need in demand.items()
        }
        if request.all_or_nothing and any(can[sku] < need for sku, need in demand.items()):
            assert {s.sku: s.available for s in plan.shortages} == {
                sku: can[sku] for sku, need in demand.items() if can[sku] < need
            }
            continue
        for sku, wanted in can.items():
            assert sum(a.quantity for a in plan.allocations if a.sku == sku) == wanted


@settings(max_examples=60)
@given(case=allocation_cases())
def test_fewest_shipments_never_uses_more_warehouses_than_priority(case: AllocationCase) -> None:
    request, snapshot = case.request, case.snapshot
    fewest = FewestShipmentsPolicy().allocate(request, snapshot)
    priority = PriorityPolicy().allocate(request, snapshot)
    one_covers_all = any(
        all(
            FewestShipmentsPolicy().admits(w, request.destination)
            and (snapshot.available.get((sku, w.id), D(0)) >= need)
            and (sku, w.id) not in snapshot.batches
            for sku, need in request.demand_by_sku().items()
        )
        for w in snapshot.warehouses.values()
    )
    if one_covers_all:
        assert len({a.warehouse_id for a in fewest.allocations}) == 1
    if fewest.complete and priority.complete:
        assert len({a.warehouse_id for a in fewest.allocations}) <= len(
            {a.warehouse_id for a in priority.allocations}
        )


# --------------------------------------------------------------------------- plan checks


def _rules(request: AllocationRequest, snapshot: StockSnapshot, plan: AllocationPlan) -> set[str]:
    return {p.rule for p in plan_problems(request, snapshot, plan)}


def test_plan_problems_finds_each_broken_rule() -> None:
    snapshot = stock(
        [Warehouse("W1"), Warehouse("W2", active=False)], {("A", "W1"): 2, ("A", "W2"): 5}
    )
    request = order(("A", 3))
    ok = AllocationPlan(
        "SO-1",
        (Allocation("L1", "A", "W1", D(2), None, "r"),),
        (Backorder("L1", "A", D(1), None, "r"),),
    )
    assert plan_problems(request, snapshot, ok) == ()
    assert verify_plan(request, snapshot, ok) is ok

    too_much = AllocationPlan("SO-1", (Allocation("L1", "A", "W1", D(3), None, "r"),))
    assert _rules(request, snapshot, too_much) == {"availability"}
    inactive = AllocationPlan("SO-1", (Allocation("L1", "A", "W2", D(3), None, "r"),))
    assert _rules(request, snapshot, inactive) == {"eligibility"}
    dropped = AllocationPlan("SO-1", (Allocation("L1", "A", "W1", D(2), None, "r"),))
    assert _rules(request, snapshot, dropped) == {"accounting"}
    silent = AllocationPlan("SO-1", (Allocation("L1", "A", "W1", D(2), None, " "),), ok.backorders)
    assert _rules(request, snapshot, silent) == {"reasons"}
    wrong_sku = AllocationPlan(
        "SO-1", (Allocation("L1", "B", "W1", D(2), None, "r"),), ok.backorders
    )
    assert "demand" in _rules(request, snapshot, wrong_sku)
    zero = AllocationPlan(
        "SO-1", ok.allocations, (*ok.backorders, Backorder("L1", "A", D(0), None, "r"))
    )
    assert _rules(request, snapshot, zero) == {"quantities"}
    over = AllocationPlan("SO-1", ok.allocations, (Backorder("L1", "A", D(2), None, "r"),))
    assert _rules(request, snapshot, over) == {"accounting"}
    with pytest.raises(
        AllocationError, match=r"\[availability\] A at W1: allocated 3, available 2"
    ):
        verify_plan(request, snapshot, too_much)


def test_plan_problems_checks_batches_and_all_or_nothing_shortages() -> None:
    batches = {("A", "W1"): (AvailableBatch("B1", D(1)),)}
    snapshot = stock([Warehouse("W1")], {("A", "W1"): 5, ("B", "W1"): 1}, batches)
    request = order(("A", 2), ("B", 3), all_or_nothing=True)
    from_batch = AllocationPlan("SO-1", (Allocation("L1", "A", "W1", D(2), "B1", "r"),))
    assert "availability" in _rules(order(("A", 2)), snapshot, from_batch)
    unknown_batch = AllocationPlan("SO-1", (Allocation("L1", "A", "W1", D(1), "B9", "r"),))
    assert "availability" in _rules(order(("A", 1)), snapshot, unknown_batch)

    right = AllocationPlan("SO-1", shortages=(Shortage("B", D(3), D(1)),))
    assert plan_problems(request, snapshot, right) == ()
    unnamed = AllocationPlan("SO-1", shortages=(Shortage("A", D(2), D(1)),))
    assert [p.message for p in plan_problems(request, snapshot, unnamed)] == [
        "B is short (asks 3) but the shortages do not name it"
    ]
    overstated = AllocationPlan("SO-1", shortages=(Shortage("B", D(3), D(2)),))
    assert _rules(request, snapshot, overstated) == {"accounting"}
    partial = AllocationPlan(
        "SO-1",
        (Allocation("L1", "A", "W1", D(1), "B1", "r"),),
        (Backorder("L2", "B", D(3), None, "r"),),
    )
    assert _rules(request, snapshot, partial) == {"accounting"}
    assert PlanProblem("accounting", "x").rule == "accounting"


def test_built_in_policies_satisfy_the_protocol() -> None:
    for policy in [*POLICIES, RankedPolicy(ByDistance(), name="custom")]:
        assert isinstance(policy, AllocationPolicy)
        assert policy.name
