"""The service's gate: the calling actor reconciled with the command, the policy asked inside
the command's unit of work, and every denial recorded."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from salesorders.domain.actors import Actor
from salesorders.errors import PermissionDeniedError, ValidationError
from salesorders.ports import UnitOfWork, UnitOfWorkFactory
from salesorders.service.audit_trail import AuditTrail
from salesorders.service.outbox import append_to_stream
from salesorders.service.permission_policy import CommandFacts, PermissionPolicy, permission_of

__all__ = ["DENIAL_EVENT", "Access", "denial_stream"]

#: The outbox event type of a denied attempt.
DENIAL_EVENT = "CommandDenied"
_ANONYMOUS = Actor("anonymous")


def denial_stream(actor_id: str) -> str:
    """The outbox stream of ``actor_id``'s denied attempts."""
    return f"denied:{actor_id}"


_FIELDS: dict[type, tuple[str, ...]] = {}


def _with_actor(command: Any, actor_id: str) -> Any:
    """A copy of ``command`` naming ``actor_id``, its other fields as they are (they are checked
    when the command runs; the id was checked when the actor was built). Faster than
    ``attrs.evolve``, which runs every converter and validator again."""
    kind = type(command)
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(a.name for a in attrs.fields(kind) if a.name != "actor")
    copy = object.__new__(kind)
    put = object.__setattr__
    for name in names:
        put(copy, name, getattr(command, name))
    put(copy, "actor", actor_id)
    return copy


class Access:
    """Checks commands against ``policy`` (``None``: every command is allowed)."""

    __slots__ = ("policy",)

    def __init__(self, policy: PermissionPolicy | None) -> None:
        if policy is not None and not callable(getattr(policy, "decide", None)):
            raise ValidationError(
                "permissions",
                policy,
                "must be a PermissionPolicy with decide(actor, command, facts)",
                "pass e.g. RolePolicy.standard()",
            )
        self.policy = policy

    def admit(self, command: Any, actor: Actor | None) -> tuple[Any, Actor]:
        """``command`` under ``actor``'s id, and the actor to check it against.

        The command's ``actor`` field must be empty or ``actor.id``. With a policy and no actor,
        the command is refused before anything is read.
        """
        if actor is None:
            permission = permission_of(type(command)) or ""
            raise PermissionDeniedError(
                _ANONYMOUS.id,
                type(command).__name__,
                permission,
                "no actor was given; pass handle(command, actor=Actor(...))",
            )
        if not isinstance(actor, Actor):
            raise ValidationError(
                "actor", actor, "must be an Actor", 'pass e.g. Actor("ann", {"sales"})'
            )
        named = command.actor
        if named == actor.id:
            return command, actor
        if named:
            raise ValidationError(
                "actor",
                named,
                f"is not the calling actor {actor.id!r}",
                "leave the command's actor empty (it is filled in) or name the calling actor",
            )
        return _with_actor(command, actor.id), actor

    def customer_scope(self, actor: Actor | None) -> str | None:
        """The customer whose orders alone ``actor`` may read (``None``: every order). Without
        a policy, or with one that has no ``customer_scope``, every order; with a policy, a
        query without an actor is refused."""
        policy = self.policy
        if policy is None:
            return None
        if actor is None:
            raise PermissionDeniedError(
                _ANONYMOUS.id, "read", "orders.read", "no actor was given; pass actor=Actor(...)"
            )
        scope = getattr(policy, "customer_scope", None)
        return None if scope is None else scope(actor)

    def check(self, uow: UnitOfWork, command: Any, actor: Actor) -> None:
        """Raise :class:`PermissionDeniedError` unless the policy allows ``actor`` ``command``."""
        policy = self.policy
        if policy is None:
            return
        decision = policy.decide(actor, command, CommandFacts(uow.orders.get))
        if not decision.allowed:
            raise PermissionDeniedError(
                actor.id, type(command).__name__, decision.permission, decision.reason
            )

    def record(
        self,
        uow_factory: UnitOfWorkFactory,
        now: dt.datetime,
        error: PermissionDeniedError,
        actor: Actor | None,
        command: Any,
        trail: AuditTrail | None = None,
    ) -> None:
        """Write the denied attempt to the outbox, in a unit of work of its own (the command's
        was rolled back): stream ``denied:<actor id>``, event type ``CommandDenied``; and to the
        audit log when ``trail`` is enabled."""
        who = actor or _ANONYMOUS
        stream = denial_stream(who.id)
        order_id = getattr(command, "order_id", None)
        payload = {
            "actor": who.id,
            "roles": sorted(who.roles),
            "department": who.department,
            "customer_id": who.customer_id,
            "channel": who.channel,
            "command": error.command,
            "permission": error.permission,
            "reason": error.reason,
            "order_id": order_id if isinstance(order_id, str) else None,
            "at": now.isoformat(),
        }
        with uow_factory() as uow:
            append_to_stream(uow, stream, [(DENIAL_EVENT, payload)], now)
            if trail is not None and trail.enabled:
                trail.record_denial(uow, error, actor, command, now)
            uow.commit()
