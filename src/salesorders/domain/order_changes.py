"""The order's change verbs, kept beside the aggregate's core.

:class:`OrderChanges` is a base of :class:`~salesorders.domain.order.Order`: request a change of a
placed order (previewed at once), approve it (applied in one step: re-priced, its stock adjusted
as the plan the service reserved says, the revision moved on with the old one kept), decline or
cancel it, and read the order at any revision. Only what has not shipped can change. Like every
verb of the order, each checks everything first and raises an event; a verb that raises changes
nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import attrs
from moneyed import Money

from salesorders.domain import events as ev
from salesorders.domain.change_work import ChangeWork, PlannedChange
from salesorders.domain.changes import (
    ChangeAction,
    ChangeDemand,
    ChangePreview,
    ChangeRequest,
    ChangeStatus,
    Revision,
)
from salesorders.domain.checks import aware_time, check_text, next_free_id, require_id, require_name
from salesorders.domain.order_values import Address, LineSpec, OrderLine, Totals
from salesorders.domain.plan import AllocationPlan, AllocationRequest, DemandLine
from salesorders.domain.pricing import Charge, Discount
from salesorders.domain.review import check_reviewer
from salesorders.errors import (
    OrderError,
    ValidationError,
)

if TYPE_CHECKING:
    from salesorders.domain.order_values import LineFields
    from salesorders.domain.payments import Payment, PaymentFigures
    from salesorders.domain.pricing import LineToPrice, PricingPolicy
    from salesorders.domain.returns import CreditNote
    from salesorders.domain.warehouse import Destination
    from salesorders.domain.workflow import Workflow

__all__ = ["ON_SHORTAGE", "OrderChanges"]

_ZERO: Final = Decimal(0)
#: What approval does with an increase the stock cannot serve: refuse it, or backorder it.
ON_SHORTAGE: Final = ("refuse", "backorder")
_ORDER_CANCELLED: Final = "the order was cancelled"


class OrderChanges:
    """Change requests, review and revisions of the order (a base class of ``Order``)."""

    if not TYPE_CHECKING:
        __slots__ = ()  # Order keeps its fields in slots; this base adds none

    if TYPE_CHECKING:
        id: str
        state: str
        currency: str
        workflow: Workflow
        lines: tuple[OrderLine, ...]
        order_discounts: tuple[Discount, ...]
        shipping: Charge | None
        shipping_address: Address | None
        totals: Totals
        pricing: PricingPolicy
        payments: tuple[Payment, ...]
        changes: tuple[ChangeRequest, ...]
        credit_notes: tuple[CreditNote, ...]
        revisions: tuple[Revision, ...]
        revision: int
        next_line_number: int
        updated_at: dt.datetime
        event_sequence: int
        backordered_at: dt.datetime | None

        @property
        def payment_figures(self) -> PaymentFigures: ...

        @property
        def amount_owed(self) -> Decimal: ...

        @property
        def destination(self) -> Destination: ...

        def shipped_quantities(self) -> dict[str, Decimal]: ...

        def _build_line(
            self, new: LineSpec, number: int, used: set[str]
        ) -> tuple[LineFields, LineToPrice]: ...

        def _own_amount(self, amount: Money | Decimal | str | int, field: str) -> Decimal: ...

        def _raise(self, event: ev.OrderEvent) -> None: ...

    # ------------------------------------------------------------------ queries

    @property
    def holds_stock(self) -> bool:
        """True once the order's lines were allocated (reserved or backordered)."""
        return any(line.allocated or line.backordered for line in self.lines)

    def change(self, change_id: str) -> ChangeRequest:
        for change in self.changes:
            if change.id == change_id:
                return change
        raise ValidationError(
            "change_id", change_id, f"is not a change of order {self.id}", "check the change id"
        )

    def next_change_id(self) -> str:
        return next_free_id("C", (c.id for c in self.changes))

    def at_revision(self, number: int) -> Revision:
        """The order's lines, discounts, shipping, address and totals as they were at revision
        ``number`` (1 is the order as placed; :attr:`revision` is now)."""
        if isinstance(number, bool) or not isinstance(number, int):
            raise ValidationError("revision", number, "must be an int")
        if number == self.revision:
            return Revision(
                number,
                self.lines,
                self.order_discounts,
                self.shipping,
                self.shipping_address,
                self.totals,
            )
        for kept in self.revisions:
            if kept.number == number:
                return kept
        raise ValidationError(
            "revision", number, f"is not a revision of order {self.id} (1 to {self.revision})"
        )

    # ------------------------------------------------------------------ verbs

    def request_change(
        self,
        actions: Sequence[ChangeAction],
        at: dt.datetime,
        *,
        actor: str,
        reason: str,
        change_id: str | None = None,
    ) -> ChangeRequest:
        """Ask for ``actions`` to be made to the order; it awaits review. The request keeps a
        preview of the re-priced order, the stock needed or freed, and the balance after it."""
        aware_time(at)
        require_name(actor, "actor")
        _require_reason(reason, "request a change")
        change_id = self.next_change_id() if change_id is None else require_id(change_id, "id")
        if any(c.id == change_id for c in self.changes):
            raise ValidationError("change_id", change_id, "is already a change of this order")
        if self.state == self.workflow.initial:
            raise OrderError(
                self.id, f"order {self.id}: is a draft; edit it directly instead of a change"
            )
        self._require_changeable("request a change")
        if not isinstance(actions, (tuple, list)) or not actions:
            raise ValidationError(
                "actions", actions, "must list at least one ChangeAction", "say what changes"
            )
        checked = tuple(actions)
        planned = self._planned(checked)
        change = ChangeRequest(
            change_id, checked, reason, actor, at, self.revision, self._preview(planned)
        )
        self.changes = (*self.changes, change)
        self.updated_at = max(self.updated_at, at)
        self._change_event(ev.ChangeRequested, change, change.preview, at, actor, reason)
        return change

    def change_demand(
        self, change_id: str, *, actor: str, distinct_approver: bool = False
    ) -> ChangeDemand:
        """What approving the change must reserve: its increases, for an order that holds stock
        (nothing otherwise). Refuses a change that cannot be approved now."""
        change = self._decidable(change_id, actor, distinct_approver, "approve")
        planned = self._planned(change.actions)
        lines = tuple(
            DemandLine(line_id, sku, quantity)
            for line_id, (sku, quantity) in planned.increases.items()
        )
        request = AllocationRequest(self.id, lines, self.destination)
        return ChangeDemand(change.id, self.event_sequence, request, planned)

    def approve_change(
        self,
        change_id: str,
        at: dt.datetime,
        *,
        actor: str,
        reason: str = "",
        plan: AllocationPlan | None = None,
        on_shortage: str = "refuse",
        distinct_approver: bool = False,
        demand: ChangeDemand | None = None,
    ) -> dict[str, Decimal]:
        """Apply the change: re-price, record ``plan`` (what the service reserved for the
        increases; the rest is backordered or refused as ``on_shortage`` says) and move the order
        to the next revision. Returns, per line, the reserved quantity the change frees: the
        caller releases it. ``demand`` is what :meth:`change_demand` said just before, if
        nothing changed since (else the change is worked out again)."""
        aware_time(at)
        check_text(reason, "reason")
        if on_shortage not in ON_SHORTAGE:
            raise ValidationError("on_shortage", on_shortage, "must be 'refuse' or 'backorder'")
        change = self._decidable(change_id, actor, distinct_approver, "approve")
        worked = None if demand is None else demand.worked
        if (
            isinstance(worked, PlannedChange)
            and demand is not None
            and demand.request.order_id == self.id
            and (demand.change_id, demand.event_sequence) == (change.id, self.event_sequence)
        ):
            planned = worked
        else:
            planned = self._planned(change.actions)
        lines, backorders = planned.with_plan(self.id, plan, on_shortage)
        settlement = self._preview(planned)
        kept = Revision(
            self.revision,
            self.lines,
            self.order_discounts,
            self.shipping,
            self.shipping_address,
            self.totals,
            change.id,
            at,
        )
        self.lines = lines
        if backorders and self.backordered_at is None:
            self.backordered_at = at
        self.order_discounts = planned.order_discounts
        self.shipping = planned.shipping
        self.shipping_address = planned.shipping_address
        self.totals = planned.totals
        self.next_line_number = planned.next_line_number
        self.revisions = (*self.revisions, kept)
        self.revision += 1
        decided = attrs.evolve(
            change,
            status=ChangeStatus.APPROVED,
            decided_by=actor,
            decided_at=at,
            decision_reason=reason,
            on_shortage=on_shortage,
            revision=self.revision,
            preview=settlement,
        )
        self._store_change(decided, at)
        self._raise(
            ev.ChangeApproved(
                self.id,
                self.event_sequence + 1,
                at,
                actor,
                reason,
                on_shortage=on_shortage,
                backorders=backorders,
                revision=self.revision,
                **_amounts(decided, settlement),
            )
        )
        return planned.freed

    def decline_change(
        self,
        change_id: str,
        at: dt.datetime,
        *,
        actor: str,
        reason: str,
        distinct_approver: bool = False,
    ) -> ChangeRequest:
        """Refuse the change (the order stays as it is); ``reason`` says why."""
        aware_time(at)
        _require_reason(reason, "decline a change")
        change = self._decidable(change_id, actor, distinct_approver, "decline", final_ok=True)
        return self._closed(change, ChangeStatus.DECLINED, ev.ChangeDeclined, at, actor, reason)

    def cancel_change(
        self, change_id: str, at: dt.datetime, *, actor: str, reason: str = ""
    ) -> ChangeRequest:
        """Withdraw a change awaiting review; only whoever requested it may."""
        aware_time(at)
        check_text(reason, "reason")
        change = self._decidable(change_id, actor, False, "cancel", final_ok=True)
        if actor != change.requested_by:
            raise ValidationError(
                "actor",
                actor,
                f"did not request change {change.id} ({change.requested_by} did) and may not "
                "cancel it",
                "a reviewer declines it instead (DeclineChange)",
            )
        return self._closed(change, ChangeStatus.CANCELLED, ev.ChangeCancelled, at, actor, reason)

    def withdraw_pending_changes(self, at: dt.datetime, actor: str) -> None:
        """Close every change still awaiting review as cancelled, because the order was
        cancelled: nothing is left on a reviewer's desk for an order that will not change."""
        for change in self.changes:
            if change.awaiting_review:
                self._closed(
                    change, ChangeStatus.CANCELLED, ev.ChangeCancelled, at, actor, _ORDER_CANCELLED
                )

    # ------------------------------------------------------------------ internals

    def _closed(
        self,
        change: ChangeRequest,
        status: ChangeStatus,
        cls: type[ev.ChangeEvent],
        at: dt.datetime,
        actor: str,
        reason: str,
    ) -> ChangeRequest:
        decided = attrs.evolve(
            change, status=status, decided_by=actor, decided_at=at, decision_reason=reason
        )
        self._store_change(decided, at)
        self._change_event(cls, decided, decided.preview, at, actor, reason)
        return decided

    def _decidable(
        self,
        change_id: str,
        actor: str,
        distinct_approver: bool,
        decision: str,
        *,
        final_ok: bool = False,
    ) -> ChangeRequest:
        """The change, if ``actor`` may take ``decision`` on it now."""
        change = self.change(change_id)
        check_reviewer(
            self.id,
            f"change {change.id}",
            change.status.value,
            change.awaiting_review,
            actor=actor,
            requested_by=change.requested_by,
            decision=decision,
            distinct_approver=distinct_approver,
        )
        if not final_ok:
            self._require_changeable(f"{decision} a change")
            if change.base_revision != self.revision:
                raise OrderError(
                    self.id,
                    f"order {self.id}: change {change.id} was requested on revision "
                    f"{change.base_revision}, and the order is at revision {self.revision} "
                    "now; decline it and request the change again",
                )
        return change

    def _require_changeable(self, action: str) -> None:
        if self.state in self.workflow.finals:
            raise OrderError(self.id, f"order {self.id}: is {self.state}; cannot {action}")
        if self.credit_notes:
            raise OrderError(
                self.id,
                f"order {self.id}: has credit notes (returns came back); cannot {action}: the "
                "amounts credited were worked out on the order as it is (use a return or an "
                "exchange instead)",
            )
        shipped = self.shipped_quantities()
        if shipped and all(
            shipped.get(line.line_id, _ZERO) >= line.open_quantity for line in self.lines
        ):
            raise OrderError(
                self.id,
                f"order {self.id}: everything has shipped; cannot {action} (shipped goods come "
                "back through a return)",
            )

    def _store_change(self, change: ChangeRequest, at: dt.datetime) -> None:
        self.changes = tuple(change if c.id == change.id else c for c in self.changes)
        self.updated_at = max(self.updated_at, at)

    def _planned(self, actions: Sequence[ChangeAction]) -> PlannedChange:
        """``actions`` worked out against the order as it is now, every field checked (an
        error names ``actions[i].field``), then priced."""
        work = ChangeWork(self)
        for index, action in enumerate(actions):
            if not isinstance(action, ChangeAction):
                raise ValidationError(f"actions[{index}]", action, "must be a ChangeAction")
            try:
                work.take(action)
            except ValidationError as error:
                raise error.under(f"actions[{index}]") from error
        return work.planned()

    def _preview(self, planned: PlannedChange) -> ChangePreview:
        return planned.preview(
            self.currency, self.totals.grand_total, self.amount_owed, self.payments
        )

    def _change_event(
        self,
        cls: type[ev.ChangeEvent],
        change: ChangeRequest,
        preview: ChangePreview,
        at: dt.datetime,
        actor: str,
        reason: str,
    ) -> None:
        fields: dict[str, object] = dict(_amounts(change, preview), revision=self.revision)
        if cls is ev.ChangeRequested:
            fields["actions"] = tuple(a.kind.value for a in change.actions)
        self._raise(cls(self.id, self.event_sequence + 1, at, actor, reason, **fields))  # type: ignore[arg-type]


def _require_reason(reason: str, action: str) -> None:
    check_text(reason, "reason")
    if not reason.strip():
        raise ValidationError("reason", reason, f"is required to {action}", "say why")


def _amounts(change: ChangeRequest, preview: ChangePreview) -> dict[str, str]:
    return {
        "change_id": change.id,
        "currency": preview.currency,
        "grand_total": str(preview.totals.grand_total),
        "difference": str(preview.totals.grand_total - preview.grand_total_before),
        "balance_due": str(preview.balance_due),
        "refund_due": str(preview.refund_due),
    }
