"""The plans of the service's allocation policy: which policies are trusted, and the check of
every other policy's plans before anything is reserved."""

from __future__ import annotations

from salesorders.domain.allocation import (
    AllocationPolicy,
    FewestShipmentsPolicy,
    NearestPolicy,
    PriorityPolicy,
    RankedPolicy,
    plan_problems,
)
from salesorders.domain.plan import AllocationPlan, AllocationRequest
from salesorders.domain.snapshot import StockSnapshot
from salesorders.errors import AllocationError

__all__ = ["check_plan", "trusted"]

_BUILT_IN_POLICIES = (PriorityPolicy, NearestPolicy, RankedPolicy, FewestShipmentsPolicy)


def trusted(policy: AllocationPolicy) -> bool:
    """True for the built-in policies, which the policy kit proves; any other plan is checked."""
    return type(policy) in _BUILT_IN_POLICIES


def policy_name(policy: object) -> str:
    name = getattr(policy, "name", None)
    kind = type(policy).__name__
    return f"{kind} ({name!r})" if isinstance(name, str) and name else kind


def check_plan(
    policy: AllocationPolicy,
    request: AllocationRequest,
    snapshot: StockSnapshot,
    plan: AllocationPlan,
) -> None:
    """Refuse a plan that breaks the allocation rules, naming the policy."""
    if not isinstance(plan, AllocationPlan):
        raise AllocationError(
            f"allocation policy {policy_name(policy)} returned "
            f"{type(plan).__name__}, not an AllocationPlan; fix the policy"
        )
    problems = plan_problems(request, snapshot, plan)
    if problems:
        listing = "; ".join(f"[{p.rule}] {p.message}" for p in problems)
        raise AllocationError(
            f"allocation policy {policy_name(policy)} made a plan for order "
            f"{request.order_id} that breaks the rules, so nothing was reserved: {listing}; "
            "fix the policy, or allocate with a built-in policy"
        )
