"""A property-based test kit for allocation policies, built-in or your own.

Run every rule at once::

    from salesorders.testing.policies import check_allocation_policy

    def test_my_policy() -> None:
        check_allocation_policy(MyPolicy(), max_examples=200)

or subclass the contract suite in pytest, one test per rule::

    from salesorders.testing.policies import AllocationPolicyContract

    class TestMyPolicy(AllocationPolicyContract):
        def make_policy(self) -> MyPolicy:
            return MyPolicy()

On random stock (:func:`stock_snapshots`) and random orders (:func:`allocation_requests`), the
kit checks that the policy never allocates more than is available per (SKU, warehouse, batch)
counting every line of the order; never more than a line asks for; accounts for every requested
unit (allocated + backordered, or an all-or-nothing plan that is complete or empty with shortages
naming every SKU short); uses only requested SKUs and eligible warehouses; gives the same plan for
the same input however the snapshot's mappings are ordered, without changing the snapshot;
explains every allocation and backorder; and uses only positive quantities. A broken rule raises
:class:`AssertionError` carrying the smallest failing example hypothesis found.

Call :func:`check_allocation_policy` from a plain test function, not from inside another
``@given`` test (hypothesis does not nest).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

import attrs
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from salesorders.domain.allocation import (
    PLAN_RULES,
    AllocationPolicy,
    Eligibility,
    plan_problems,
)
from salesorders.domain.plan import AllocationPlan, AllocationRequest, DemandLine
from salesorders.domain.snapshot import AvailableBatch, IncomingStock, StockSnapshot
from salesorders.domain.warehouse import Destination, Warehouse
from salesorders.errors import ValidationError

__all__ = [
    "KIT_RULES",
    "AllocationCase",
    "AllocationPolicyContract",
    "allocation_cases",
    "allocation_requests",
    "check_allocation_policy",
    "destinations",
    "explicit_cases",
    "stock_snapshots",
    "warehouses",
]

REGIONS = ("CN-East", "CN-North", "EU-West")
ZONES = ("Z1", "Z2", "Z3")
SKUS = ("SKU-A", "SKU-B")
_FIRST_DAY = dt.date(2030, 1, 1)

KIT_RULES: frozenset[str] = PLAN_RULES | {"determinism", "purity"}
"""Every rule the kit checks: the plan rules of ``plan_problems`` plus ``determinism`` (same
input, same plan) and ``purity`` (the snapshot is not changed)."""

T = TypeVar("T")


# --------------------------------------------------------------------------- strategies


def _whole_or_half(n: int) -> Decimal:
    """Map 2*low..2*high onto quantities low..high: whole numbers, and about one in four a half."""
    return Decimal(n) / 2 if n % 4 == 3 else Decimal(n // 2)


def _quantities(low: int, high: int) -> st.SearchStrategy[Decimal]:
    """Whole numbers mostly, halves sometimes (products sold by weight); shrinks towards low."""
    return st.integers(low * 2, high * 2).map(_whole_or_half)


def _stock_level(n: int) -> Decimal | None:
    """0..11: nothing listed; 12: -1 (over-reserved); 13..40: 0..13.5 available."""
    if n < 12:
        return None
    if n == 12:
        return Decimal(-1)
    return _whole_or_half(n - 13)


# Strategies are built once, flat and with few draws: generating the data costs more than
# checking a plan, and shrinking replays it many times.
_COORDINATES = st.none() | st.tuples(st.integers(-50, 50), st.integers(-50, 50)).map(
    lambda xy: (Decimal(xy[0]), Decimal(xy[1]))
)
_REGION = st.sampled_from(REGIONS)
_ZONE = st.sampled_from(ZONES)
_SHIPS_TO = st.sampled_from(
    [frozenset(), frozenset({"CN-East"}), frozenset({"CN-North", "EU-West"}), frozenset(REGIONS)]
)
_DISTANCES = st.lists(
    st.tuples(st.sampled_from(REGIONS + ZONES), st.integers(1, 500)),
    max_size=2,
    unique_by=lambda entry: entry[0],
).map(lambda table: tuple(sorted((place, Decimal(d)) for place, d in table)))
_WAREHOUSE_FIELDS = st.tuples(
    _REGION,
    _ZONE,
    _COORDINATES,
    st.integers(1, 4),  # priority
    st.integers(0, 4).map(lambda n: n != 4),  # active, four times in five
    _SHIPS_TO,
    _DISTANCES,
)
_DESTINATION = st.builds(
    Destination, region=st.none() | _REGION, zone=st.none() | _ZONE, coordinates=_COORDINATES
)
_STOCK_LEVEL = st.integers(0, 40).map(_stock_level)
_HAS_BATCHES = st.integers(0, 3).map(lambda n: n == 3)
_BATCHES = st.lists(
    st.tuples(_quantities(0, 8), st.integers(-1, 90)),  # (available, expiry day; -1: none)
    min_size=1,
    max_size=3,
)
_SHIPMENTS = st.lists(
    st.tuples(st.integers(0, 7), st.integers(1, 10), st.integers(1, 60)), max_size=2
)
_LINE = st.tuples(st.integers(0, 7), _quantities(1, 15))  # (SKU pick, quantity)


def _day(offset: int) -> dt.date | None:
    return None if offset < 0 else _FIRST_DAY + dt.timedelta(offset)


def _warehouse(warehouse_id: str, fields: tuple[Any, ...]) -> Warehouse:
    region, zone, coordinates, priority, active, ships_to, distances = fields
    return Warehouse(
        id=warehouse_id,
        region=region,
        zone=zone,
        coordinates=coordinates,
        priority=priority,
        active=active,
        ships_to=ships_to,
        distances=distances,
    )


def warehouses(warehouse_id: str = "W1") -> st.SearchStrategy[Warehouse]:
    """A warehouse with a region, zone, priority, active flag, and maybe coordinates, a
    ``ships_to`` set and a distance table."""
    return _WAREHOUSE_FIELDS.map(lambda fields: _warehouse(warehouse_id, fields))


def destinations() -> st.SearchStrategy[Destination]:
    """A destination with maybe a region, a zone and coordinates."""
    return _DESTINATION


@st.composite
def stock_snapshots(
    draw: st.DrawFn, skus: Collection[str] = SKUS, max_warehouses: int = 4
) -> StockSnapshot:
    """Random stock: warehouses, available per (SKU, warehouse) (sometimes none, sometimes
    negative after reservations), batches with expiry dates for some pairs (their total may be
    above or below what is available), and incoming shipments per SKU with ETAs."""
    count = draw(st.integers(1, max_warehouses))
    ids = [f"W{index}" for index in range(1, count + 1)]
    by_id = {wid: _warehouse(wid, draw(_WAREHOUSE_FIELDS)) for wid in ids}
    available: dict[tuple[str, str], Decimal] = {}
    batches: dict[tuple[str, str], tuple[AvailableBatch, ...]] = {}
    for sku in skus:
        for wid in ids:
            level = draw(_STOCK_LEVEL)
            if level is None:
                continue
            available[(sku, wid)] = level
            if draw(_HAS_BATCHES):
                batches[(sku, wid)] = tuple(
                    AvailableBatch(f"B{n}", quantity, _day(expiry))
                    for n, (quantity, expiry) in enumerate(draw(_BATCHES), 1)
                )
    incoming: dict[str, tuple[IncomingStock, ...]] = {}
    for sku in skus:
        shipments = draw(_SHIPMENTS)
        if shipments:
            incoming[sku] = tuple(
                IncomingStock(
                    f"IN-{sku}-{n}",
                    sku,
                    ids[pick % count],
                    Decimal(quantity),
                    _FIRST_DAY + dt.timedelta(day),
                )
                for n, (pick, quantity, day) in enumerate(shipments, 1)
            )
    return StockSnapshot(by_id, available, batches, incoming)


def _skus_of(snapshot: StockSnapshot) -> list[str]:
    found = {sku for sku, _ in snapshot.available} | set(snapshot.incoming)
    return sorted(found) or list(SKUS)


@st.composite
def allocation_requests(
    draw: st.DrawFn, snapshot: StockSnapshot, max_lines: int = 5
) -> AllocationRequest:
    """A request against ``snapshot``: 1..``max_lines`` lines (SKUs may repeat, and one may be
    unknown to the snapshot), a destination, and the all-or-nothing flag."""
    skus = [*_skus_of(snapshot), "SKU-UNSTOCKED"]
    picks = draw(st.lists(_LINE, min_size=1, max_size=max_lines))
    lines = tuple(
        DemandLine(f"L{n}", skus[pick % len(skus)], quantity)
        for n, (pick, quantity) in enumerate(picks, 1)
    )
    return AllocationRequest(
        order_id="SO-1",
        lines=lines,
        destination=draw(_DESTINATION),
        all_or_nothing=draw(st.booleans()),
    )


@attrs.frozen(slots=True)
class AllocationCase:
    """One generated input: a stock snapshot and a request against it."""

    snapshot: StockSnapshot
    request: AllocationRequest


@st.composite
def allocation_cases(
    draw: st.DrawFn, max_warehouses: int = 4, max_lines: int = 5
) -> AllocationCase:
    """A snapshot and a request against it (see :func:`stock_snapshots`)."""
    snapshot = draw(stock_snapshots(max_warehouses=max_warehouses))
    return AllocationCase(snapshot, draw(allocation_requests(snapshot, max_lines=max_lines)))


# --------------------------------------------------------------------------- explicit cases


def _case(
    stock: Mapping[str, Decimal | int],
    lines: tuple[tuple[str, Decimal | int], ...] = (("SKU-A", 1),),
    *,
    warehouses: tuple[Warehouse, ...] | None = None,
    destination: Destination | None = None,
    all_or_nothing: bool = False,
    batches: Mapping[str, tuple[AvailableBatch, ...]] | None = None,
) -> AllocationCase:
    """A hand-written case: ``stock`` maps warehouse ids to what ``SKU-A`` has available there;
    ``lines`` are (SKU, quantity) pairs; by default one active warehouse ``W1`` that ships
    everywhere."""
    chosen = warehouses if warehouses is not None else (Warehouse(id="W1"),)
    snapshot = StockSnapshot(
        {warehouse.id: warehouse for warehouse in chosen},
        {("SKU-A", wid): Decimal(quantity) for wid, quantity in stock.items()},
        {("SKU-A", wid): found for wid, found in (batches or {}).items()},
    )
    request = AllocationRequest(
        order_id="SO-1",
        lines=tuple(
            DemandLine(f"L{n}", sku, Decimal(quantity))
            for n, (sku, quantity) in enumerate(lines, 1)
        ),
        destination=destination if destination is not None else Destination(),
        all_or_nothing=all_or_nothing,
    )
    return AllocationCase(snapshot, request)


def explicit_cases() -> tuple[AllocationCase, ...]:
    """The cases every check runs first, before the random ones.

    Each is the smallest input on which a common mistake shows, so a broken rule is caught on
    every run, not only when the random search happens to find it: nothing in stock; less in
    stock than asked (with and without all-or-nothing); two lines sharing the last unit; the
    only stock in an inactive warehouse, in a warehouse that does not ship to the destination,
    or in just one of four warehouses (each of ``W1`` .. ``W4`` in turn, which an excluded or
    otherwise ineligible warehouse must not serve); stock in batches; two warehouses that could
    each serve the order (a policy must pick the same one however the snapshot is ordered); an
    over-reserved warehouse beside one with stock; and a SKU the snapshot does not know.
    """
    one_each = tuple(Warehouse(id=f"W{n}") for n in range(1, 5))
    return (
        _case({}),
        _case({"W1": 1}, (("SKU-A", 2),)),
        _case({"W1": 1}, (("SKU-A", 2),), all_or_nothing=True),
        _case({"W1": 1}, (("SKU-A", 1), ("SKU-A", 1))),
        _case({"W1": 1}, warehouses=(Warehouse(id="W1", active=False),)),
        _case(
            {"W1": 1},
            warehouses=(Warehouse(id="W1", region="CN-East", ships_to=frozenset({"CN-East"})),),
            destination=Destination(region="EU-West"),
        ),
        *(_case({f"W{n}": 1}, warehouses=one_each) for n in range(1, 5)),
        _case(
            {"W1": 3},
            (("SKU-A", 3),),
            batches={
                "W1": (
                    AvailableBatch("B1", Decimal(1), _FIRST_DAY),
                    AvailableBatch("B2", Decimal(1), None),
                )
            },
        ),
        _case({"W1": 1, "W2": 1}, warehouses=one_each[:2]),
        _case({"W1": -1, "W2": 1}, warehouses=one_each[:2]),
        _case({"W1": 1}, (("SKU-UNSTOCKED", 1),)),
    )


# --------------------------------------------------------------------------- checks


def _default_eligibility(policy: AllocationPolicy) -> Eligibility:
    """Active, and admitted by the policy's own ``filters`` if it has any."""
    filters = tuple(getattr(policy, "filters", ()))

    def eligible(warehouse: Warehouse, request: AllocationRequest) -> bool:
        destination = request.destination
        return warehouse.active and all(f.admits(warehouse, destination) for f in filters)

    return eligible


def _reversed(mapping: Mapping[Any, T]) -> dict[Any, T]:
    return dict(reversed(list(mapping.items())))


def _copy(snapshot: StockSnapshot) -> StockSnapshot:
    """An equal snapshot with fresh mappings (their values are immutable and can be shared)."""
    return StockSnapshot(
        dict(snapshot.warehouses),
        dict(snapshot.available),
        dict(snapshot.batches),
        dict(snapshot.incoming),
    )


def _reordered(snapshot: StockSnapshot) -> StockSnapshot:
    """An equal snapshot with fresh mappings, each in reverse order."""
    return StockSnapshot(
        _reversed(snapshot.warehouses),
        _reversed(snapshot.available),
        _reversed(snapshot.batches),
        _reversed(snapshot.incoming),
    )


def _fail(
    policy: AllocationPolicy, case: AllocationCase, problems: list[str], plan: object
) -> None:
    listing = "\n".join(f"  - {p}" for p in problems)
    raise AssertionError(
        f"allocation policy {policy.name!r} broke the rules:\n{listing}\n"
        f"request: {case.request!r}\nsnapshot: {case.snapshot!r}\nplan: {plan!r}"
    )


def _check_case(
    policy: AllocationPolicy, case: AllocationCase, eligible: Eligibility, rules: frozenset[str]
) -> None:
    before = _copy(case.snapshot)
    plan = policy.allocate(case.request, case.snapshot)
    if not isinstance(plan, AllocationPlan):
        _fail(
            policy, case, [f"allocate returned {type(plan).__name__}, not an AllocationPlan"], plan
        )
    problems = [
        f"[{p.rule}] {p.message}"
        for p in plan_problems(case.request, case.snapshot, plan, eligible)
        if p.rule in rules
    ]
    if "purity" in rules and case.snapshot != before:
        problems.append("[purity] allocate changed the snapshot")
    if "determinism" in rules:
        again = policy.allocate(case.request, _reordered(before))
        if again != plan:
            problems.append(f"[determinism] the same input gave another plan: {again!r}")
    if problems:
        _fail(policy, case, problems, plan)


def check_allocation_policy(
    policy: AllocationPolicy,
    *,
    max_examples: int = 200,
    eligible: Eligibility | None = None,
    rules: Collection[str] | None = None,
) -> None:
    """Run the kit's properties against ``policy``; raise AssertionError on the first broken rule.

    ``eligible(warehouse, request) -> bool`` says which warehouses may serve a request; by default
    the active ones that pass the policy's own ``filters`` (if it has that attribute, like the
    built-in policies). ``rules`` limits the check to some of :data:`KIT_RULES` (default: all).
    The hand-written :func:`explicit_cases` run first, then ``max_examples`` random ones. The
    error message names every broken rule and shows the failing request, snapshot and plan: the
    explicit case, or the smallest random one hypothesis found.
    """
    selected = KIT_RULES if rules is None else frozenset(rules)
    unknown = selected - KIT_RULES
    if unknown:
        raise ValidationError(
            "rules", sorted(unknown), "names unknown rules", f"choose from {sorted(KIT_RULES)}"
        )
    judge = eligible if eligible is not None else _default_eligibility(policy)

    # The hand-written cases first, in order, each on fresh mappings (a policy that changes
    # its snapshot must not change a later check's); the first broken rule is raised as is.
    for case in explicit_cases():
        _check_case(policy, case, judge, selected)

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(case=allocation_cases())
    def policy_keeps_the_allocation_rules(case: AllocationCase) -> None:
        _check_case(policy, case, judge, selected)

    policy_keeps_the_allocation_rules()


class AllocationPolicyContract:
    """The kit as a pytest suite: subclass it, implement :meth:`make_policy`, get one test per rule.

    ::

        class TestMyPolicy(AllocationPolicyContract):
            max_examples = 100

            def make_policy(self) -> AllocationPolicy:
                return MyPolicy()

    The base class has no ``Test`` prefix, so pytest collects only your subclass. Override
    :meth:`eligibility` when your policy decides eligibility in a way the kit cannot see.
    """

    max_examples: ClassVar[int] = 100

    def make_policy(self) -> AllocationPolicy:
        """Return the policy under test (a fresh one per test)."""
        raise NotImplementedError("implement make_policy() to return the policy under test")

    def eligibility(self) -> Eligibility | None:
        """``eligible(warehouse, request) -> bool`` for the policy, or None for the default."""
        return None

    def check(self, *rules: str) -> None:
        check_allocation_policy(
            self.make_policy(),
            max_examples=self.max_examples,
            eligible=self.eligibility(),
            rules=rules,
        )

    def test_never_allocates_more_than_available(self) -> None:
        self.check("availability")

    def test_never_allocates_more_than_requested(self) -> None:
        self.check("demand")

    def test_accounts_for_every_requested_unit(self) -> None:
        self.check("accounting")

    def test_uses_only_eligible_warehouses(self) -> None:
        self.check("eligibility")

    def test_same_input_gives_same_plan(self) -> None:
        self.check("determinism", "purity")

    def test_explains_every_decision(self) -> None:
        self.check("reasons")

    def test_quantities_are_positive(self) -> None:
        self.check("quantities")
