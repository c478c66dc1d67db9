"""The demo's permissions scene: the same store served to people with roles.

A warehouse clerk may not cancel an order, a customer may not touch another customer's order, and
a change asked for by a team lead must be approved by someone else (four eyes); every attempt,
allowed or denied, goes to the hash-chained audit log.

Built on the service layer only, like the rest of the command line.
"""

from __future__ import annotations

import datetime as dt

import attrs

from salesorders.cli.output import Output
from salesorders.domain.changes import ChangeAction
from salesorders.domain.workflow import Workflow
from salesorders.errors import PermissionDeniedError
from salesorders.permissions import Actor, RolePolicy
from salesorders.ports import Store
from salesorders.service import (
    ApproveChange,
    CancelOrder,
    ManualClock,
    RequestChange,
    bootstrap,
)

__all__ = ["PermissionScene", "play_permissions", "print_permissions"]


@attrs.frozen
class PermissionScene:
    """What happened: one ``(who, what, outcome)`` per attempt, and the audit log's check."""

    attempts: tuple[tuple[str, str, str], ...]
    records: int
    denials: int
    intact: bool


def play_permissions(
    store: Store, clock: ManualClock, workflows: tuple[Workflow, ...], own: str, other: str
) -> PermissionScene:
    """Serve ``store`` under the standard roles, with an audit log, and try the scene's commands
    on the order ``own`` (its customer's) and ``other`` (another customer's)."""
    guarded = bootstrap(
        store=store,
        clock=clock,
        workflows=workflows,
        permissions=RolePolicy.standard(),
        audit=True,
    )
    system = Actor("system", {"admin"}, channel="job")
    owner = guarded.get_order(own, actor=system).customer_id
    shown = {
        order_id: str(guarded.get_order(order_id, actor=system).number) for order_id in (own, other)
    }
    wanda = Actor("dock:wanda", {"warehouse"}, department="warehouse", channel="store")
    customer = Actor.customer(owner)
    lead = Actor("cs:lee", {"customer_service", "manager"}, department="customer_service")
    ana = Actor("mgr:ana", {"manager"}, department="management")
    attempts: list[tuple[str, str, str]] = []

    def attempt(actor: Actor, what: str, command: object) -> None:
        clock.advance(dt.timedelta(minutes=3))
        try:
            guarded.handle(command, actor=actor)  # type: ignore[call-overload]
        except PermissionDeniedError as error:
            reason = error.reason
            for order_id, number in shown.items():
                reason = reason.replace(order_id, number)  # ids are random, numbers are not
            attempts.append((actor.id, what, f"denied: {reason}"))
        else:
            attempts.append((actor.id, what, "done"))

    attempt(wanda, "cancel the order", CancelOrder(order_id=own, reason="out of lamps"))
    attempt(customer, "cancel another customer's order", CancelOrder(order_id=other, reason="x"))
    old_address = guarded.get_order(own, actor=system).shipping_address
    assert old_address is not None
    new_address = attrs.evolve(old_address, line2="12th floor")
    change = RequestChange(
        order_id=own,
        actions=(ChangeAction.ship_to(new_address),),
        reason="the customer moved to another floor",
        change_id="C2",
    )
    attempt(lead, "ask to ship to a new address", change)
    approve = ApproveChange(order_id=own, change_id="C2", reason="address checked")
    attempt(lead, "approve their own change", approve)
    attempt(ana, "approve the change", approve)
    report = guarded.verify_audit()
    records = list(guarded.audit_records())
    denials = sum(1 for record in records if record.outcome == "denied")
    return PermissionScene(tuple(attempts), report.checked, denials, report.intact)


def print_permissions(scene: PermissionScene, number: str, out: Output) -> None:
    out.heading(f"Roles and permissions on {number} (standard roles, four eyes)")
    for who, what, outcome in scene.attempts:
        out.line(f"  {who} tries to {what}: {outcome}", indent=6)
    state = "intact" if scene.intact else "BROKEN"
    out.line(
        f"  audit log: {scene.records} records ({scene.denials} denied attempts), hash chains "
        f"{state}"
    )
