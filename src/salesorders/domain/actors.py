"""Who runs a command: the structured principal a host passes beside it.

An :class:`Actor` comes from the host's authentication, never from a command's payload: a
command's JSON can be written by anyone who may send one, so roles carried inside it could be
forged. The command's own ``actor`` field keeps the actor's id, which events and records show.
"""

from __future__ import annotations

import attrs

from salesorders.domain.checks import optional_id, require_id
from salesorders.errors import ValidationError

__all__ = ["CHANNELS", "ROLES", "Actor"]

#: The roles the standard permission policy knows (a host's own policy may add others).
ROLES = (
    "sales",
    "customer_service",
    "warehouse",
    "logistics",
    "finance",
    "manager",
    "admin",
    "customer",
)

#: Where a command may come from.
CHANNELS = ("api", "web", "store", "phone", "email", "import", "job", "cli")


def _roles(value: object) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, (set, frozenset, list, tuple)):
        raise ValidationError("roles", value, "must be a set of role names", 'pass e.g. {"sales"}')
    for role in value:
        require_id(role, "roles")
    return frozenset(value)


def _id(value: object) -> str:
    return require_id(value, "id")


def _department(value: object) -> str | None:
    return optional_id(value, "department")


def _customer_id(value: object) -> str | None:
    return optional_id(value, "customer_id")


def _channel(value: object) -> str:
    if value not in CHANNELS:
        raise ValidationError(
            "channel", value, "is not a channel", "use one of " + ", ".join(CHANNELS)
        )
    return str(value)


@attrs.frozen(slots=True)
class Actor:
    """A person or a process running commands.

    ``id`` is what the command's ``actor`` field and every event record; ``roles`` are what the
    permission policy grants by; ``department`` scopes the tickets a support agent works on;
    ``customer_id`` makes the actor a customer serving themselves (only their own orders);
    ``channel`` says where the command came from (one of :data:`CHANNELS`).
    """

    id: str = attrs.field(converter=_id)
    roles: frozenset[str] = attrs.field(default=frozenset(), converter=_roles)
    department: str | None = attrs.field(default=None, converter=_department)
    customer_id: str | None = attrs.field(default=None, converter=_customer_id)
    channel: str = attrs.field(default="api", converter=_channel)

    @classmethod
    def customer(cls, customer_id: str, *, channel: str = "web") -> Actor:
        """A customer serving themselves: id ``customer:<customer_id>``, role ``customer``."""
        return cls(
            f"customer:{customer_id}", {"customer"}, customer_id=customer_id, channel=channel
        )

    def has(self, role: str) -> bool:
        """Whether the actor holds ``role``."""
        return role in self.roles
