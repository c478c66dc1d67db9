"""Why each warehouse was chosen in the demo.

:class:`ExplainingPolicy` keeps the explanation of every allocation plan the service's policy made,
so the demo can show why stock came from where it did. (What the customers are told is sent for
real: see :mod:`salesorders.cli.demo_mail`.)
"""

from __future__ import annotations

from salesorders.domain.allocation import AllocationPolicy, PriorityPolicy
from salesorders.domain.plan import AllocationPlan, AllocationRequest
from salesorders.domain.snapshot import StockSnapshot

__all__ = ["ExplainingPolicy"]


class ExplainingPolicy:
    """The service's allocation policy (priority by default), keeping each order's first plan's
    reasons: one line per allocation and backorder (see
    :meth:`~salesorders.domain.plan.AllocationPlan.reasons`)."""

    def __init__(self, policy: AllocationPolicy | None = None) -> None:
        self.policy: AllocationPolicy = PriorityPolicy() if policy is None else policy
        self.reasons: dict[str, tuple[str, ...]] = {}

    @property
    def name(self) -> str:
        return f"explained {self.policy.name}"

    def allocate(self, request: AllocationRequest, snapshot: StockSnapshot) -> AllocationPlan:
        plan = self.policy.allocate(request, snapshot)
        self.reasons.setdefault(request.order_id, tuple(plan.reasons()))
        return plan
