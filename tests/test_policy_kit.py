"""The public policy test kit: built-ins pass it, broken policies fail it with a shrunk example."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings

from salesorders.domain.allocation import (
    AllocationPolicy,
    ExcludeWarehouses,
    FewestShipmentsPolicy,
    NearestPolicy,
    PriorityPolicy,
    ShipsToDestination,
)
from salesorders.domain.plan import (
    Allocation,
    AllocationPlan,
    AllocationRequest,
    Backorder,
)
from salesorders.domain.snapshot import StockSnapshot
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import ValidationError
from salesorders.testing.policies import (
    KIT_RULES,
    AllocationCase,
    AllocationPolicyContract,
    allocation_cases,
    check_allocation_policy,
    explicit_cases,
)

BUILT_INS = [
    PriorityPolicy(),
    PriorityPolicy(order=["W3", "W1"], filters=(ShipsToDestination(), ExcludeWarehouses({"W2"}))),
    PriorityPolicy(filters=()),
    NearestPolicy(),
    FewestShipmentsPolicy(),
    FewestShipmentsPolicy("distance"),
]


@pytest.mark.parametrize("policy", BUILT_INS, ids=repr)
def test_every_built_in_policy_passes_the_kit(policy: AllocationPolicy) -> None:
    check_allocation_policy(policy, max_examples=50)


# --------------------------------------------------------------------------- broken policies


def _active_ids(snapshot: StockSnapshot) -> list[str]:
    return sorted(w.id for w in snapshot.warehouses.values() if w.active)


class IgnoresAvailability:
    """Serves every line in full from the first active warehouse, stock or not."""

    name = "ignores-availability"

    def allocate(self, request: AllocationRequest, snapshot: StockSnapshot) -> AllocationPlan:
        ids = _active_ids(snapshot)
        if not ids:
            backorders = tuple(
                Backorder(line.line_id, line.sku, line.quantity, None, "no warehouse")
                for line in request.lines
            )
            return AllocationPlan(request.order_id, backorders=backorders)
        allocations = tuple(
            Allocation(line.line_id, line.sku, ids[0], line.quantity, None, "first warehouse")
            for line in request.lines
        )
        return AllocationPlan(request.order_id, allocations)


class DropsBackorders:
    """A correct policy whose backorders get lost."""

    name = "drops-backorders"

    def __init__(self) -> None:
        self._inner = PriorityPolicy()
        self.filters = self._inner.filters

    def allocate(self, request: AllocationRequest, snapshot: StockSnapshot) -> AllocationPlan:
        plan = self._inner.allocate(request, snapshot)
        return AllocationPlan(plan.order_id, plan.allocations, (), plan.shortages)


class Nondeterministic:
    """Alternates between two warehouse orders from one call to the next."""

    name = "nondeterministic"

    def __init__(self) -> None:
        self._calls = itertools.count()
        self._policies = (PriorityPolicy(filters=()), PriorityPolicy(["W2", "W1"], filters=()))

    def allocate(self, request: AllocationRequest, snapshot: StockSnapshot) -> AllocationPlan:
        return self._policies[next(self._calls) % 2].allocate(request, snapshot)


class IgnoresFilters:
    """Claims to ship only to the destination region but serves from anywhere."""

    name = "ignores-filters"

    def __init__(self) -> None:
        self.filters = (ShipsToDestination(),)
        self._inner = PriorityPolicy(filters=())

    def allocate(self, request: AllocationRequest, snapshot: StockSnapshot) -> AllocationPlan:
        return self._inner.allocate(request, snapshot)


def _failure(policy: AllocationPolicy, **options: object) -> str:
    with pytest.raises(AssertionError) as caught:
        check_allocation_policy(policy, max_examples=200, **options)  # type: ignore[arg-type]
    return str(caught.value)


def test_a_policy_that_ignores_availability_fails_with_a_shrunk_example() -> None:
    message = _failure(IgnoresAvailability())
    assert "[availability]" in message
    assert "'ignores-availability' broke the rules" in message
    # shrunk to the smallest case: one line, one warehouse, nothing in stock
    assert message.count("DemandLine(") == 1
    assert message.count("Warehouse(") == 1
    assert "quantity=Decimal('1')" in message


def test_a_policy_that_drops_backorders_fails_with_a_shrunk_example() -> None:
    message = _failure(DropsBackorders())
    assert "[accounting] line 'L1': allocated 0 + backordered 0 != requested 1" in message
    assert message.count("DemandLine(") == 1


def test_a_nondeterministic_policy_fails() -> None:
    message = _failure(Nondeterministic())
    assert "[determinism] the same input gave another plan" in message


def test_a_policy_that_ignores_its_own_filters_fails() -> None:
    message = _failure(IgnoresFilters())
    assert "[eligibility]" in message
    assert "the warehouse is not eligible" in message


def test_a_user_eligibility_rule_is_enforced() -> None:
    def only_w1(warehouse: Warehouse, request: AllocationRequest) -> bool:
        return warehouse.active and warehouse.id == "W1"

    message = _failure(PriorityPolicy(filters=()), eligible=only_w1, rules=["eligibility"])
    assert re.search(r"from W[2-4]: the warehouse is not eligible", message)
    check_allocation_policy(
        PriorityPolicy(filters=(ExcludeWarehouses({"W2", "W3", "W4"}),)),
        max_examples=30,
        eligible=only_w1,
    )


def test_a_policy_that_changes_the_snapshot_fails() -> None:
    class Thief:
        name = "thief"

        def __init__(self) -> None:
            self._inner = PriorityPolicy()
            self.filters = self._inner.filters

        def allocate(self, request: AllocationRequest, snapshot: StockSnapshot) -> AllocationPlan:
            plan = self._inner.allocate(request, snapshot)
            for a in plan.allocations:
                snapshot.available[(a.sku, a.warehouse_id)] -= a.quantity  # type: ignore[index]
            return plan

    assert "[purity] allocate changed the snapshot" in _failure(Thief(), rules=["purity"])


def test_rules_can_be_selected_and_unknown_ones_are_refused() -> None:
    # a policy that ignores availability still keeps the reasons rule
    check_allocation_policy(IgnoresAvailability(), max_examples=30, rules=["reasons"])
    with pytest.raises(ValidationError, match="rules"):
        check_allocation_policy(PriorityPolicy(), rules=["speed"])
    assert {"availability", "accounting", "determinism", "purity"} <= KIT_RULES


# --------------------------------------------------------------------------- strategies


@settings(max_examples=60)
@given(case=allocation_cases())
def test_generated_cases_are_well_formed(case: AllocationCase) -> None:
    request, snapshot = case.request, case.snapshot
    assert 1 <= len(request.lines) <= 5
    assert len({line.line_id for line in request.lines}) == len(request.lines)
    assert all(line.quantity > 0 for line in request.lines)
    assert all(w.id == key for key, w in snapshot.warehouses.items())
    assert all(wid in snapshot.warehouses for _, wid in snapshot.available)
    for items in snapshot.incoming.values():
        assert all(item.warehouse_id in snapshot.warehouses for item in items)


# --------------------------------------------------------------------------- the contract suite


class TestPriorityPolicyContract(AllocationPolicyContract):
    max_examples = 15

    def make_policy(self) -> AllocationPolicy:
        return PriorityPolicy()


class TestFewestShipmentsContract(AllocationPolicyContract):
    max_examples = 15

    def make_policy(self) -> AllocationPolicy:
        return FewestShipmentsPolicy("distance")


class IgnoresAvailabilityContract(AllocationPolicyContract):
    """Not collected (no Test prefix): run by hand below to show the suite fails."""

    max_examples = 100

    def make_policy(self) -> AllocationPolicy:
        return IgnoresAvailability()


def test_the_contract_suite_fails_a_broken_policy_on_the_right_rule() -> None:
    suite = IgnoresAvailabilityContract()
    with pytest.raises(AssertionError, match=r"\[availability\]"):
        suite.test_never_allocates_more_than_available()
    suite.test_explains_every_decision()
    suite.test_quantities_are_positive()


def test_the_contract_base_is_not_collected_and_needs_a_policy() -> None:
    assert not AllocationPolicyContract.__name__.startswith("Test")
    with pytest.raises(NotImplementedError, match="make_policy"):
        AllocationPolicyContract().make_policy()
    tests = [name for name in dir(AllocationPolicyContract) if name.startswith("test_")]
    assert len(tests) == 7


# --------------------------------------------------------------------------- explicit cases


class _Recording:
    """PriorityPolicy, remembering every request it was given."""

    name = "recording"

    def __init__(self) -> None:
        self._inner = PriorityPolicy()
        self.filters = self._inner.filters
        self.requests: list[tuple[AllocationRequest, StockSnapshot]] = []

    def allocate(self, request: AllocationRequest, snapshot: StockSnapshot) -> AllocationPlan:
        self.requests.append((request, snapshot))
        return self._inner.allocate(request, snapshot)


def test_the_explicit_cases_run_first_and_in_order() -> None:
    cases = [repr((case.request, case.snapshot)) for case in explicit_cases()]
    # a policy that changes its snapshot, checked first, must not change the cases of later checks
    test_a_policy_that_changes_the_snapshot_fails()
    policy = _Recording()
    check_allocation_policy(policy, max_examples=1)
    # each case is allocated twice (the second time on a reordered copy, for determinism)
    first = [repr(policy.requests[2 * n]) for n in range(len(cases))]
    assert first == cases
    assert len(policy.requests) > 2 * len(cases)  # then the random example


class _IgnoresExclusion:
    """Claims to exclude W3 but serves from it."""

    name = "ignores-exclusion"

    def __init__(self) -> None:
        self.filters = (ExcludeWarehouses({"W3"}),)
        self._inner = PriorityPolicy(filters=())

    def allocate(self, request: AllocationRequest, snapshot: StockSnapshot) -> AllocationPlan:
        return self._inner.allocate(request, snapshot)


@pytest.mark.parametrize(
    ("policy", "rule"),
    [
        (IgnoresAvailability(), "[availability]"),
        (DropsBackorders(), "[accounting]"),
        (Nondeterministic(), "[determinism]"),
        (IgnoresFilters(), "[eligibility]"),
        (
            _IgnoresExclusion(),
            "[eligibility] allocation of line 'L1' from W3: the warehouse is not",
        ),
    ],
    ids=lambda value: getattr(value, "name", value),
)
def test_the_explicit_cases_alone_catch_each_broken_policy(
    policy: AllocationPolicy, rule: str
) -> None:
    # one random example: the hand-written cases must catch the mistake on every run
    with pytest.raises(AssertionError) as caught:
        check_allocation_policy(policy, max_examples=1)
    assert rule in str(caught.value)


def test_an_explicit_case_catches_an_ignored_all_or_nothing_flag() -> None:
    class IgnoresAllOrNothing:
        name = "ignores-all-or-nothing"
        filters = PriorityPolicy().filters

        def allocate(self, request: AllocationRequest, snapshot: StockSnapshot) -> AllocationPlan:
            partial = AllocationRequest(request.order_id, request.lines, request.destination)
            return PriorityPolicy().allocate(partial, snapshot)

    with pytest.raises(AssertionError, match=r"\[accounting\] an all-or-nothing plan"):
        check_allocation_policy(IgnoresAllOrNothing(), max_examples=1, rules=["accounting"])


def test_an_explicit_case_catches_an_ineligible_warehouse_of_the_users_rule() -> None:
    def only_w1(warehouse: Warehouse, request: AllocationRequest) -> bool:
        return warehouse.active and warehouse.id == "W1"

    with pytest.raises(AssertionError, match=r"from W[2-4]: the warehouse is not eligible"):
        check_allocation_policy(
            PriorityPolicy(filters=()), max_examples=1, eligible=only_w1, rules=["eligibility"]
        )


@pytest.mark.parametrize("policy", BUILT_INS, ids=repr)
def test_every_built_in_policy_passes_every_explicit_case(policy: AllocationPolicy) -> None:
    check_allocation_policy(policy, max_examples=1)
