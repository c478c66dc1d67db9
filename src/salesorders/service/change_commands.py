"""The change commands: what a caller asks of a placed order's changes.

Plain immutable values like every command (see :mod:`salesorders.service.commands`): each carries
``idempotency_key`` and ``actor``. ``RequestChange`` lists :class:`~salesorders.domain.changes.
ChangeAction` values and a reason; the change is numbered ``C1``, ``C2`` … when ``change_id`` is
left out. A reviewer approves it (``ApproveChange``) or declines it (``DeclineChange``, with a
reason); whoever asked for it may withdraw it (``CancelChange``).
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from salesorders.domain.changes import ChangeAction

__all__ = ["ApproveChange", "CancelChange", "DeclineChange", "RequestChange"]


@attrs.frozen(slots=True)
class RequestChange:
    """Ask for ``actions`` to be made to a placed order (``reason`` says why); it is previewed
    at once and awaits review."""

    permission: ClassVar[str] = "changes.request"

    order_id: str
    actions: tuple[ChangeAction, ...]
    reason: str
    change_id: str | None = None
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class ApproveChange:
    """Apply a change (``actor`` is the reviewer). An increase the stock cannot serve is refused
    (``on_shortage="refuse"``, the default) or backordered (``"backorder"``)."""

    permission: ClassVar[str] = "changes.approve"

    order_id: str
    change_id: str
    on_shortage: str = "refuse"
    reason: str = ""
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class DeclineChange:
    """Refuse a change (``actor`` is the reviewer; ``reason`` is required)."""

    permission: ClassVar[str] = "changes.approve"

    order_id: str
    change_id: str
    reason: str
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class CancelChange:
    """Withdraw a change awaiting review (only whoever requested it may)."""

    permission: ClassVar[str] = "changes.request"

    order_id: str
    change_id: str
    reason: str = ""
    idempotency_key: str | None = None
    actor: str = ""
