"""The reviewer's rule, one home for every request that waits for a decision (a manual
payment, an order change, a return): someone must decide, the request must still await review,
and — where the host asks for four eyes (``distinct_approver``) — the one who asked may not
decide it too, and a request that names no one who asked may be refused but not approved. A
later permission policy checks who may decide in one place, on top of this.
"""

from __future__ import annotations

from salesorders.domain.checks import check_name
from salesorders.errors import OrderError, ValidationError

__all__ = ["check_reviewer"]

_PAST = {"cancel": "cancelled"}


def check_reviewer(
    order_id: str,
    item: str,
    status: str,
    awaiting_review: bool,
    *,
    actor: object,
    requested_by: str,
    decision: str,
    distinct_approver: bool,
    asked: str = "requested",
) -> None:
    """Refuse ``decision`` on ``item`` (e.g. ``"payment P1"``) of order ``order_id`` unless
    ``actor`` names a reviewer who may take it now; ``status`` is where the item stands and
    ``asked`` the verb for its requester (``"recorded"`` for a payment)."""
    kind = item.split(" ", 1)[0]
    if not isinstance(actor, str) or not actor.strip():
        raise ValidationError(
            "actor", actor, f"is required to {decision} a {kind}", "say who decides"
        )
    check_name(actor, "actor")
    if not awaiting_review:
        done = _PAST.get(decision, f"{decision}d")
        raise OrderError(
            order_id,
            f"order {order_id}: {item} is {status}, not awaiting review; it cannot be {done}",
        )
    if distinct_approver and decision == "approve" and not requested_by.strip():
        raise OrderError(
            order_id,
            f"order {order_id}: {item} names no one who asked, so a second person cannot be "
            "shown to approve it; reject or decline it and ask again naming who asks (actor)",
        )
    if distinct_approver and actor.strip() == requested_by.strip():
        raise ValidationError(
            "actor",
            actor,
            f"{asked} {item} and may not {decision} it too",
            "ask another person to review it",
        )
