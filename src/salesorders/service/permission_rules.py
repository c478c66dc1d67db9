"""The conditions grants are given under, and the standard roles.

Each condition takes the actor, the command and the :class:`CommandFacts` and returns ``None``
when it holds, or why it does not. The four-eyes rule here is the permission's side of the
domain's reviewer check (:func:`salesorders.domain.review.check_reviewer`): the policy refuses
the approver who asked, whatever the service's ``distinct_approver`` setting.
"""

from __future__ import annotations

from decimal import Decimal

from moneyed import Money

from salesorders.domain.actors import Actor
from salesorders.domain.money import to_decimal
from salesorders.errors import SalesOrdersError, ValidationError
from salesorders.service.permission_policy import CommandFacts, Condition, Grant

__all__ = [
    "not_requester",
    "own_department_tickets",
    "own_orders",
    "refund_at_most",
    "standard_roles",
]


def own_orders(actor: Actor, command: object, facts: CommandFacts) -> str | None:
    """A customer acts on their own orders only: a new order for themselves, or an order
    whose customer they are."""
    mine = actor.customer_id
    if mine is None:
        return "the actor is not a customer (no customer_id)"
    customer_id = getattr(command, "customer_id", None)
    if customer_id is not None:
        return None if customer_id == mine else f"customer {customer_id} is not the actor"
    order_id = getattr(command, "order_id", None)
    if order_id is None:
        return "the command names no order of the customer"
    order = facts.order(order_id)
    if order is None or order.customer_id != mine:
        return f"order {order_id} is not one of the customer's orders"
    return None


def own_department_tickets(actor: Actor, command: object, facts: CommandFacts) -> str | None:
    """A ticket is worked by its own department (or by anyone while it has none)."""
    ticket_id = getattr(command, "ticket_id", None)
    if ticket_id is None:
        return None
    order = facts.order(getattr(command, "order_id", None))
    if order is None:
        return None  # the handler refuses the missing order, naming it
    try:
        department = order.ticket(ticket_id).department
    except SalesOrdersError:
        return None  # the handler refuses the missing ticket, naming it
    if not department or department == actor.department:
        return None
    return (
        f"ticket {ticket_id} belongs to {department}, not to {actor.department or 'no department'}"
    )


def _requester(command: object, facts: CommandFacts) -> str | None:
    order = facts.order(getattr(command, "order_id", None))
    if order is None:
        return None
    try:
        if hasattr(command, "change_id"):
            return order.change(command.change_id).requested_by
        if hasattr(command, "return_id"):
            return order.order_return(command.return_id).requested_by
        if hasattr(command, "payment_id"):
            return order.payment(command.payment_id).recorded_by
    except SalesOrdersError:
        return None  # the handler refuses what does not exist, naming it
    return None


def not_requester(actor: Actor, command: object, facts: CommandFacts) -> str | None:
    """Four eyes: who asked for a change, a return or a manual payment may not approve it."""
    requester = _requester(command, facts)
    if requester and requester.strip() == actor.id.strip():
        return f"{actor.id} asked for it, so a second person must decide it"
    return None


def _limit(value: object) -> Decimal:
    limit = to_decimal(value, "refund_limit")
    if limit < 0:
        raise ValidationError(
            "refund_limit", value, "must be a non-negative amount", 'pass e.g. Decimal("1000")'
        )
    return limit


def refund_at_most(limit: Decimal | int | str) -> Condition:
    """A refund of at most ``limit`` in the order's currency (no amount: what the payment
    still holds). An amount that cannot be read counts as over the limit."""
    most = _limit(limit)

    def refund_within_limit(actor: Actor, command: object, facts: CommandFacts) -> str | None:
        amount = getattr(command, "amount", None)
        if amount is None:
            order = facts.order(getattr(command, "order_id", None))
            try:
                payment = None if order is None else order.payment(command.payment_id)  # type: ignore[attr-defined]
            except SalesOrdersError:
                payment = None
            if payment is None:
                return None  # the handler refuses what does not exist, naming it
            amount = payment.captured - payment.refunded
        try:
            value = amount.amount if isinstance(amount, Money) else to_decimal(amount, "amount")
        except ValidationError:
            return f"the refund amount {amount!r} cannot be read, so it counts as over {most}"
        if value > most:
            return f"a refund of {value} is over the limit of {most}; finance must give it"
        return None

    return refund_within_limit


def standard_roles(
    refund_limit: Decimal | int | str,
) -> tuple[dict[str, list[Grant | str]], dict[str, list[Condition]]]:
    """The built-in roles' grants and the four-eyes rules (see ``docs/permissions.md``)."""
    mine = (own_orders,)
    team = (own_department_tickets,)
    roles: dict[str, list[Grant | str]] = {
        "sales": [
            "orders.create", "orders.place", "orders.confirm", "orders.hold", "orders.cancel",
            "orders.cancel_lines", "orders.note", "changes.request", "tickets.open",
            "customers.register", "customers.update", "customers.note", "tickets.follow_up",
        ],
        "customer_service": [
            "tickets.open", Grant("tickets.*", team), "returns.request", "returns.approve",
            "returns.exchange", "returns.repair", "orders.note", "changes.request",
            "customers.export", "customers.register", "customers.update", "customers.note",
            "customers.redeem", Grant("payments.refund", (refund_at_most(refund_limit),)),
        ],
        "warehouse": ["stock.*", "shipments.*", "returns.receive", "orders.note"],
        "logistics": ["logistics.*", "orders.complete", "orders.note"],
        "finance": ["payments.*", "returns.approve", "changes.approve", "orders.note"],
        "manager": [
            "changes.approve", "payments.approve", "returns.approve", "orders.cancel",
            "orders.cancel_lines", "orders.hold", "orders.transition", "orders.complete",
            "orders.note", "customers.tiers", "customers.points", "tickets.follow_up",
        ],
        "admin": ["*"],
        "customer": [
            Grant(name, mine)
            for name in (
                "orders.create", "orders.place", "orders.cancel", "changes.request",
                "returns.request", "tickets.open", "customers.export", "customers.register",
                "customers.update", "customers.redeem",
            )
        ],
    }  # fmt: skip
    four_eyes: list[Condition] = [not_requester]
    rules = {
        "changes.approve": four_eyes,
        "payments.approve": four_eyes,
        "returns.approve": four_eyes,
    }
    return roles, rules
