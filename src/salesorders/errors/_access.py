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


class AnonymizationRefusedError(SalesOrdersError):
    """A customer cannot be anonymized yet: ``reasons`` lists what is still open (an order not
    finished, a return not settled, a balance unpaid, a credit not refunded). Nothing was
    changed."""

    code = "anonymization_refused"
    http_status = 409
    title = "Anonymization refused"

    def __init__(self, customer_id: str, reasons: tuple[str, ...]) -> None:
        self.customer_id = customer_id
        self.reasons = tuple(reasons)
        super().__init__(
            f"customer {customer_id} cannot be anonymized yet: " + "; ".join(self.reasons)
        )
