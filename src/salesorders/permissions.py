"""Who may run which command: actors, roles and the permission policy.

A host authenticates a caller and passes them as an :class:`Actor` beside the command
(``service.handle(command, actor=actor)``); a service bootstrapped with
``permissions=RolePolicy.standard()`` asks the policy before any handler runs. Every command
declares the permission it needs (``PlaceOrder.permission == "orders.place"``); a denial raises
:class:`~salesorders.errors.PermissionDeniedError`, changes nothing and is recorded as a
``CommandDenied`` outbox message on the stream ``denied:<actor id>``.
"""

from salesorders._public import publish
from salesorders.domain.actors import CHANNELS, ROLES, Actor
from salesorders.service.access import DENIAL_EVENT, denial_stream
from salesorders.service.permission_policy import (
    CommandFacts,
    Condition,
    Decision,
    Grant,
    PermissionPolicy,
    RolePolicy,
    permission_of,
)
from salesorders.service.permission_rules import (
    not_requester,
    own_department_tickets,
    own_orders,
    refund_at_most,
)

__all__ = [
    "CHANNELS",
    "DENIAL_EVENT",
    "ROLES",
    "Actor",
    "CommandFacts",
    "Condition",
    "Decision",
    "Grant",
    "PermissionPolicy",
    "RolePolicy",
    "denial_stream",
    "not_requester",
    "own_department_tickets",
    "own_orders",
    "permission_of",
    "refund_at_most",
]

publish(globals(), __name__, __all__)
