"""Errors of access control (see :mod:`salesorders.errors`)."""

from __future__ import annotations

from salesorders.errors._base import SalesOrdersError


class PermissionDeniedError(SalesOrdersError):
    """The permission policy refused an actor a command. Nothing was changed; the attempt is
    recorded. ``actor`` is the actor's id, ``command`` the command's name, ``permission`` the
    permission the command needs and ``reason`` what was missing."""

    code = "permission_denied"
    http_status = 403
    title = "Permission denied"

    def __init__(self, actor: str, command: str, permission: str, reason: str) -> None:
        self.actor = actor
        self.command = command
        self.permission = permission
        self.reason = reason
        super().__init__(
            f"{actor} may not run {command} (permission {permission!r}): {reason}; "
            "ask someone who holds it, or have an administrator grant it"
        )
