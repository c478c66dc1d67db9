"""What the order's workflow effects do to its lines: a reservation plan recorded, stock
released, the unshipped rest of a cancelled order cancelled. Pure functions of the lines; the
:class:`~salesorders.domain.order.Order` applies their result only once everything is checked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Final

from salesorders.domain.order_values import OrderLine, with_allocation, with_cancelled
from salesorders.domain.plan import AllocationPlan
from salesorders.domain.workflow import RELEASE, RESERVE, Transition, Workflow
from salesorders.errors import ValidationError

__all__ = ["planned_lines", "released_lines", "short_shipped"]

_ZERO: Final = Decimal(0)

#: Backorders as event text: ``(line id, quantity, expected date ISO 8601 or "")``.
BackorderText = tuple[tuple[str, str, str], ...]


def planned_lines(
    order_id: str,
    workflow: Workflow,
    lines: tuple[OrderLine, ...],
    transition: Transition,
    plan: AllocationPlan | None,
) -> tuple[tuple[OrderLine, ...], BackorderText]:
    """``lines`` with ``plan`` recorded (allocated, backordered, and when the backorder is
    expected: the latest date of its parts, unknown if any part is), and their backorders as
    event text. Refused when ``plan`` is for another order, names other lines or allocates more
    than a line has open, or when ``transition`` does not reserve."""
    if plan is None:
        return lines, ()
    if not isinstance(plan, AllocationPlan):
        raise ValidationError("plan", plan, "must be an AllocationPlan or None")
    if RESERVE not in transition.effects:
        raise ValidationError(
            "plan",
            plan.order_id,
            f"is given, but {transition.event!r} does not reserve stock in workflow "
            f"{workflow.name}@{workflow.version}",
            "bind the reserve effect to the transition, or fire it without a plan",
        )
    if plan.order_id != order_id:
        raise ValidationError("plan.order_id", plan.order_id, f"is not order {order_id}")
    allocated: dict[str, Decimal] = {}
    for allocation in plan.allocations:
        allocated[allocation.line_id] = (
            allocated.get(allocation.line_id, _ZERO) + allocation.quantity
        )
    expected: dict[str, dt.date | None] = {}
    for backorder in plan.backorders:
        day = backorder.expected_date
        if backorder.line_id in expected:
            known = expected[backorder.line_id]
            day = None if known is None or day is None else max(known, day)
        expected[backorder.line_id] = day
    unknown = sorted((set(allocated) | set(expected)) - {line.line_id for line in lines})
    if unknown:
        raise ValidationError("plan.allocations", unknown, "name lines not on the order")
    planned = []
    backorders = []
    for line in lines:
        got = line.allocated + allocated.get(line.line_id, _ZERO)
        wanted = line.open_quantity - got
        if wanted < 0:
            raise ValidationError(
                "plan.allocations",
                str(got),
                f"allocates more to line {line.line_id} than its {line.open_quantity} open",
            )
        day = expected.get(line.line_id)
        planned.append(with_allocation(line, got, wanted, day))
        if wanted:
            backorders.append((line.line_id, str(wanted), "" if day is None else day.isoformat()))
    return tuple(planned), tuple(backorders)


def released_lines(
    transition: Transition, lines: tuple[OrderLine, ...], shipped: Mapping[str, Decimal]
) -> tuple[OrderLine, ...]:
    """``lines`` after ``transition``'s ``release`` effect: nothing allocated beyond what has
    shipped, nothing backordered."""
    if RELEASE not in transition.effects or not any(
        line.allocated or line.backordered for line in lines
    ):
        return lines
    return tuple(with_allocation(line, shipped.get(line.line_id, _ZERO), _ZERO) for line in lines)


def short_shipped(
    lines: tuple[OrderLine, ...], shipped: Mapping[str, Decimal]
) -> tuple[OrderLine, ...]:
    """``lines`` with everything that has not shipped cancelled."""
    return tuple(
        with_cancelled(
            line,
            line.quantity - shipped.get(line.line_id, _ZERO),
            min(line.allocated, shipped.get(line.line_id, _ZERO)),
            _ZERO,
        )
        for line in lines
    )
