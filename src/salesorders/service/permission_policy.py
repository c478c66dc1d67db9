"""Who may run which command: the permission policy port and the role-based policy.

Every command class declares the permission it needs in a class attribute,
``permission: ClassVar[str] = "orders.place"``: a command added later is checked by that
declaration alone. :class:`SalesService` asks the policy before any handler runs, inside the
command's unit of work, so conditions can read the order the command names; a denial raises
:class:`~salesorders.errors.PermissionDeniedError`, writes nothing and is recorded.

A :class:`RolePolicy` maps roles to :class:`Grant`\\ s (a permission, ``"area.*"`` or ``"*"``,
with conditions), plus rules that hold for a permission whatever the role (four-eyes on
approvals). :meth:`RolePolicy.standard` is the built-in one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Protocol, runtime_checkable

import attrs

from salesorders.domain.actors import Actor
from salesorders.domain.order import Order
from salesorders.errors import NotFoundError, PermissionDeniedError, ValidationError

__all__ = [
    "CommandFacts",
    "Condition",
    "Decision",
    "Grant",
    "PermissionPolicy",
    "RolePolicy",
    "permission_of",
]

#: A condition on a grant: ``None`` when it holds, else why it does not.
Condition = Callable[[Actor, object, "CommandFacts"], "str | None"]


def permission_of(command_type: type) -> str | None:
    """The permission ``command_type`` declares (its ``permission`` class attribute), or
    ``None`` when it declares none."""
    found = getattr(command_type, "permission", None)
    return found if isinstance(found, str) and found else None


class CommandFacts:
    """What conditions may read about a command: the order it names, read once from the
    command's unit of work (``None`` when there is no such order)."""

    __slots__ = ("_get", "_orders")

    def __init__(self, get_order: Callable[[str], Order]) -> None:
        self._get = get_order
        self._orders: dict[str, Order | None] = {}

    def order(self, order_id: object) -> Order | None:
        """The order ``order_id`` names, or ``None`` (no such order, or not an id)."""
        if not isinstance(order_id, str) or not order_id:
            return None
        if order_id not in self._orders:
            try:
                self._orders[order_id] = self._get(order_id)
            except NotFoundError:
                self._orders[order_id] = None
        return self._orders[order_id]


@attrs.frozen(slots=True)
class Decision:
    """A policy's answer: ``allowed``, the ``permission`` asked and, when denied, the ``reason``."""

    allowed: bool
    permission: str
    reason: str = ""


@runtime_checkable
class PermissionPolicy(Protocol):
    """Decides whether ``actor`` may run ``command``; ``facts`` reads the order it names."""

    def decide(self, actor: Actor, command: object, facts: CommandFacts) -> Decision: ...


def _conditions(value: Iterable[Condition]) -> tuple[Condition, ...]:
    found = tuple(value)
    for index, condition in enumerate(found):
        if not callable(condition):
            raise ValidationError(
                f"conditions[{index}]",
                condition,
                "must be a callable (actor, command, facts) -> reason or None",
            )
    return found


def _grant_permission(value: object) -> str:
    return _permission_name(value, "permission")


def _permission_name(value: object, field: str) -> str:
    if not isinstance(value, str) or not value or value != value.strip():
        raise ValidationError(field, value, "must be a permission name", 'e.g. "orders.place"')
    if value != "*" and (value.count(".") != 1 or value.startswith(".")):
        raise ValidationError(
            field, value, "must be 'area.verb', 'area.*' or '*'", 'e.g. "orders.place"'
        )
    return value


@attrs.frozen(slots=True)
class Grant:
    """A permission a role holds, under ``conditions`` that must all hold.

    ``permission`` is a permission name (``"orders.place"``), a whole area (``"orders.*"``) or
    everything (``"*"``).
    """

    permission: str = attrs.field(converter=_grant_permission)
    conditions: tuple[Condition, ...] = attrs.field(default=(), converter=_conditions)

    def covers(self, permission: str) -> bool:
        """Whether this grant is for ``permission``."""
        mine = self.permission
        if mine == "*" or mine == permission:
            return True
        return mine.endswith(".*") and permission.startswith(mine[:-1])


def _grants(role: str, grants: Iterable[Grant | str]) -> tuple[Grant, ...]:
    found = []
    for index, grant in enumerate(grants):
        if isinstance(grant, str):
            grant = Grant(_permission_name(grant, f"roles[{role!r}][{index}]"))
        elif not isinstance(grant, Grant):
            raise ValidationError(
                f"roles[{role!r}][{index}]", grant, "must be a Grant or a permission name"
            )
        found.append(grant)
    return tuple(found)


class RolePolicy:
    """A :class:`PermissionPolicy` by roles: an actor may run a command when one of its roles
    holds a grant covering the command's permission whose conditions all hold, and every rule of
    that permission holds too.

    ``roles`` maps a role to its grants (a :class:`Grant`, or a permission name for a grant
    without conditions); ``rules`` maps a permission to conditions that hold whatever the role.
    ``self_service`` names the roles of customers serving themselves: an actor holding only
    those reads only its own customer's orders (see :meth:`customer_scope`).
    """

    def __init__(
        self,
        roles: Mapping[str, Sequence[Grant | str]],
        rules: Mapping[str, Sequence[Condition]] | None = None,
        *,
        self_service: Iterable[str] = ("customer",),
    ) -> None:
        if not isinstance(roles, Mapping):
            raise ValidationError("roles", roles, "must map role names to grants")
        #: role -> its grants (read-only: answers are remembered, so build a new policy to
        #: change them)
        self.roles: Mapping[str, tuple[Grant, ...]] = MappingProxyType(
            {role: _grants(role, grants) for role, grants in roles.items()}
        )
        self.self_service = frozenset(self_service)
        #: (roles, permission) -> an allowed decision needing no condition nor rule
        self._plain: dict[tuple[frozenset[str], str], Decision] = {}
        checked: dict[str, tuple[Condition, ...]] = {}
        for permission, conditions in (rules or {}).items():
            _permission_name(permission, "rules")
            checked[permission] = _conditions(conditions)
        #: permission -> conditions that hold whatever the role (read-only)
        self.rules: Mapping[str, tuple[Condition, ...]] = MappingProxyType(checked)

    @classmethod
    def standard(cls, *, refund_limit: Decimal | int | str = 1000) -> RolePolicy:
        """The built-in roles (see ``docs/permissions.md``); ``refund_limit`` is the largest
        refund, in the order's currency, customer service may give without finance."""
        from salesorders.service.permission_rules import standard_roles

        roles, rules = standard_roles(refund_limit)
        return cls(roles, rules)

    def roles_granting(self, permission: str) -> tuple[str, ...]:
        """The roles holding a grant that covers ``permission`` (conditions aside)."""
        return tuple(
            role for role, grants in self.roles.items() if any(g.covers(permission) for g in grants)
        )

    def customer_scope(self, actor: Actor) -> str | None:
        """The customer whose orders alone ``actor`` may read, or ``None`` for every order.

        An actor holding a role outside ``self_service`` (staff) reads every order; an actor
        holding only self-service roles reads its own customer's orders. An actor with neither
        (no roles, or a customer role without a customer id) may read no order:
        :class:`~salesorders.errors.PermissionDeniedError`.
        """
        roles = actor.roles
        if roles and not roles <= self.self_service:
            return None
        if roles and actor.customer_id is not None:
            return actor.customer_id
        raise PermissionDeniedError(
            actor.id,
            "read",
            "orders.read",
            "the actor holds no staff role and is no customer (no customer_id)",
        )

    def decide(self, actor: Actor, command: object, facts: CommandFacts) -> Decision:
        permission = permission_of(type(command))
        if permission is None:
            return Decision(False, "", "the command declares no permission")
        known = self._plain.get((actor.roles, permission))
        if known is not None:
            return known
        decision = self._decide(actor, command, facts, permission)
        if decision.allowed and self._unconditional(actor.roles, permission):
            self._plain[(actor.roles, permission)] = decision
        return decision

    def _unconditional(self, roles: frozenset[str], permission: str) -> bool:
        """Whether ``roles`` hold ``permission`` by a grant without conditions, with no rule on
        it: then the answer is the same for every command needing it."""
        if self.rules.get(permission):
            return False
        return any(
            grant.covers(permission) and not grant.conditions
            for role in roles
            for grant in self.roles.get(role, ())
        )

    def _decide(
        self, actor: Actor, command: object, facts: CommandFacts, permission: str
    ) -> Decision:
        refusal = ""
        granted = False
        for role in sorted(actor.roles):
            for grant in self.roles.get(role, ()):
                if not grant.covers(permission):
                    continue
                failed = _first_failure(grant.conditions, actor, command, facts)
                if failed is None:
                    granted = True
                    break
                refusal = refusal or f"as {role}: {failed}"
            if granted:
                break
        if not granted:
            if not refusal:
                held = ", ".join(sorted(actor.roles)) or "none"
                refusal = f"no role of the actor grants it (roles: {held})"
            return Decision(False, permission, refusal)
        failed = _first_failure(self.rules.get(permission, ()), actor, command, facts)
        if failed is not None:
            return Decision(False, permission, failed)
        return Decision(True, permission)


def _first_failure(
    conditions: Sequence[Condition], actor: Actor, command: object, facts: CommandFacts
) -> str | None:
    for condition in conditions:
        reason = condition(actor, command, facts)
        if reason is not None:
            return reason
    return None
