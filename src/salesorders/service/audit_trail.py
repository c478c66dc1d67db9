"""What the service writes to the audit log: one record per command run, in the command's own
unit of work, and one per denied attempt; and the retention command that purges old records.

A record's stream is what the command is about: ``order:<id>`` for order commands,
``customer:<id>`` for a customer's personal data, ``stock:<sku>`` for stock commands,
``warehouse:<id>``, ``denied:<actor id>`` for denials, ``service`` for the rest. ``before``
and ``after`` are the order's figures that the command changed (state, version, totals,
statuses), the stock movements it made, or what a result says of itself (``audit_figures()``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from salesorders.domain.actors import Actor
from salesorders.domain.audit import chained_record, changed_figures
from salesorders.domain.checks import aware_time
from salesorders.domain.order import Order
from salesorders.domain.stock import LedgerEntry
from salesorders.errors import NotFoundError, PermissionDeniedError, ValidationError
from salesorders.ports import UnitOfWork
from salesorders.service.results import OrderResult

__all__ = ["AuditPurge", "AuditTrail", "PurgeAuditRecords", "audit_log_of", "audit_stream"]

#: Ten years: what tax rules often ask an order's records to be kept for.
DEFAULT_RETENTION = dt.timedelta(days=3653)


@attrs.frozen(slots=True)
class PurgeAuditRecords:
    """Delete the audit records older than ``before`` (by default: older than the service's
    retention); with ``dry_run`` (the default) only count them. A ``before`` inside the
    retention is refused."""

    permission: ClassVar[str] = "audit.purge"

    before: dt.datetime | None = None
    dry_run: bool = True
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class AuditPurge:
    """What :class:`PurgeAuditRecords` did: how many records were (or, in a dry run, would be)
    deleted, older than ``before``."""

    count: int
    before: dt.datetime
    dry_run: bool


def audit_stream(command: object, result: object = None) -> tuple[str, str]:
    """The stream and subject of ``command`` (its ``result`` names a new order's id)."""
    order_id = getattr(command, "order_id", None)
    if not order_id and isinstance(result, OrderResult):
        order_id = result.order_id
    if isinstance(order_id, str) and order_id:
        return f"order:{order_id}", order_id
    customer_id = getattr(command, "customer_id", None)
    if isinstance(customer_id, str) and customer_id:
        return f"customer:{customer_id}", customer_id
    sku = getattr(command, "sku", None)
    if isinstance(sku, str) and sku:
        return f"stock:{sku}", sku
    warehouse = getattr(command, "warehouse", None)
    warehouse_id = getattr(warehouse, "id", None)
    if isinstance(warehouse_id, str):
        return f"warehouse:{warehouse_id}", warehouse_id
    return "service", ""


def _figures(result: OrderResult) -> dict[str, Any]:
    return {
        "state": result.state,
        "version": result.version,
        "number": result.number,
        "grand_total": str(result.grand_total.amount),
        "currency": result.grand_total.currency.code,
        "allocation_status": result.allocation_status,
        "fulfilment_status": result.fulfilment_status,
        "payment_status": result.payment_status,
        "balance_due": None if result.balance_due is None else str(result.balance_due.amount),
        "return_status": result.return_status,
        "shipments": len(result.shipment_ids),
    }


def _movements(entries: tuple[LedgerEntry, ...]) -> dict[str, Any]:
    return {
        "movements": [
            [e.movement.value, e.sku, e.warehouse_id, str(e.on_hand_delta), str(e.reserved_delta)]
            for e in entries
        ]
    }


def _reason(command: object) -> str:
    reason = getattr(command, "reason", "")
    return reason if isinstance(reason, str) else ""


class AuditTrail:
    """Writes the service's audit records (``enabled``: with ``bootstrap(audit=True)``) and
    runs :class:`PurgeAuditRecords` under ``retention``."""

    __slots__ = ("enabled", "retention")

    def __init__(self, enabled: bool, retention: dt.timedelta = DEFAULT_RETENTION) -> None:
        if not isinstance(enabled, bool):
            raise ValidationError("audit", enabled, "must be True or False")
        if not isinstance(retention, dt.timedelta) or retention <= dt.timedelta(0):
            raise ValidationError(
                "audit_retention", retention, "must be a positive timedelta", "e.g. 10 years"
            )
        self.enabled = enabled
        self.retention = retention

    def before_of(self, uow: UnitOfWork, command: object) -> Order | None:
        """The order ``command`` names as it is before the command runs (``None``: none)."""
        order_id = getattr(command, "order_id", None)
        if not isinstance(order_id, str) or not order_id:
            return None
        try:
            return uow.orders.get(order_id)
        except NotFoundError:
            return None

    def record(
        self,
        uow: UnitOfWork,
        command: Any,
        actor: Actor | None,
        before: Order | None,
        result: object,
        now: dt.datetime,
    ) -> None:
        """Append the record of ``command``, run in ``uow`` with ``result``."""
        stream, subject = audit_stream(command, result)
        old: Mapping[str, Any] = {} if before is None else _figures(OrderResult.of(before))
        order = getattr(result, "order", result)  # a change's result holds the order's
        if isinstance(order, OrderResult):
            old, new = changed_figures(old, _figures(order))
        elif isinstance(result, LedgerEntry):
            old, new = {}, _movements((result,))
        elif isinstance(result, tuple) and all(isinstance(e, LedgerEntry) for e in result):
            old, new = {}, _movements(result)
        elif callable(figures := getattr(result, "audit_figures", None)):
            old, new = {}, figures()
        elif isinstance(result, AuditPurge):
            old = {}
            new = {
                "count": result.count,
                "before": result.before.isoformat(),
                "dry_run": result.dry_run,
            }
        else:
            old, new = {}, {}
        self._append(uow, stream, subject, command, actor, "done", _reason(command), old, new, now)

    def record_denial(
        self, uow: UnitOfWork, error: PermissionDeniedError, actor: Actor | None, command: Any,
        now: dt.datetime,
    ) -> None:  # fmt: skip
        """Append the record of a denied attempt (stream ``denied:<actor id>``)."""
        _stream, subject = audit_stream(command)
        after = {"permission": error.permission, "roles": sorted(actor.roles) if actor else []}
        self._append(
            uow, f"denied:{error.actor}", subject, command, actor, "denied", error.reason, {},
            after, now, actor_id=error.actor,
        )  # fmt: skip

    def _append(
        self, uow: UnitOfWork, stream: str, subject: str, command: Any, actor: Actor | None,
        outcome: str, reason: str, before: Mapping[str, Any], after: Mapping[str, Any],
        now: dt.datetime, *, actor_id: str | None = None,
    ) -> None:  # fmt: skip
        log = audit_log_of(uow)
        record = chained_record(
            log.last(stream), stream, now,
            actor=getattr(command, "actor", "") if actor_id is None else actor_id,
            channel=actor.channel if actor is not None else "",
            action=type(command).__name__, outcome=outcome, subject=subject, reason=reason,
            before=before, after=after,
        )  # fmt: skip
        log.append([record])

    def purge(self, uow: UnitOfWork, command: PurgeAuditRecords, now: dt.datetime) -> AuditPurge:
        """Run :class:`PurgeAuditRecords`: refuse a ``before`` inside the retention, then purge
        (or count). The purge is recorded like any command, in the ``service`` stream."""
        if not isinstance(command.dry_run, bool):
            raise ValidationError("dry_run", command.dry_run, "must be True or False")
        limit = now - self.retention
        before = limit if command.before is None else aware_time(command.before, "before")
        if before > limit:
            raise ValidationError(
                "before",
                before,
                f"is inside the retention of {self.retention.days} days (records after "
                f"{limit.isoformat()} must be kept)",
                "purge older records only, or bootstrap with a shorter audit_retention",
            )
        count = audit_log_of(uow).purge(before, dry_run=command.dry_run)
        return AuditPurge(count, before, command.dry_run)


def audit_log_of(uow: UnitOfWork) -> Any:
    log = getattr(uow, "audit", None)
    if log is None:
        raise ValidationError(
            "audit",
            True,
            "needs a store that keeps an audit log (uow.audit)",
            "use MemoryStore, SQLiteStore or PostgresStore, or add an AuditLog to your store",
        )
    return log
