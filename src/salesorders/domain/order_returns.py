"""The order's return verbs, kept beside the aggregate's core.

:class:`OrderReturns` is a base of :class:`~salesorders.domain.order.Order`: request a return of
delivered units (checked against the return policy), approve or reject it (who, when, why),
receive and inspect the goods and issue the credit note — refunded to the original payments or
kept as store credit. The derived figures are in
:mod:`~salesorders.domain.order_return_figures`. Like every verb of the order, each checks
everything first and raises events; a verb that raises changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import attrs

from salesorders.domain import events as ev
from salesorders.domain.checks import aware_time, check_name, check_text, require_id
from salesorders.domain.money import to_quantity
from salesorders.domain.order_return_figures import OrderReturnFigures
from salesorders.domain.return_policy import ReturnPolicy, return_reason
from salesorders.domain.returns import (
    CreditNote,
    Inspection,
    InspectionOutcome,
    LineEligibility,
    OrderReturn,
    RefundShare,
    ReturnLine,
    ReturnState,
    Settlement,
)
from salesorders.domain.review import check_reviewer
from salesorders.errors import InvalidQuantityError, OrderError, ReturnWindowError, ValidationError

if TYPE_CHECKING:
    from salesorders.domain.order_values import OrderLine, Totals
    from salesorders.domain.payments import Payment

__all__ = ["GatewayRefund", "OrderReturns", "RequestedLine"]

_ZERO: Final = Decimal(0)

#: A line asked back: ``(line id, quantity, reason)``.
RequestedLine = tuple[str, object, object]
#: A refund made for a credit note: ``(payment id, amount, transaction id, idempotency key)``.
GatewayRefund = tuple[str, Decimal, str, str]


class OrderReturns(OrderReturnFigures):
    """Return verbs of the order (a base class of ``Order``)."""

    if not TYPE_CHECKING:
        __slots__ = ()  # Order keeps its fields in slots; this base adds none

    if TYPE_CHECKING:
        id: str
        state: str
        currency: str
        lines: tuple[OrderLine, ...]
        returns: tuple[OrderReturn, ...]
        credit_notes: tuple[CreditNote, ...]
        totals: Totals
        updated_at: dt.datetime
        event_sequence: int

        def _raise(self, event: ev.OrderEvent) -> None: ...

        def line(self, line_id: str) -> OrderLine: ...

        def delivered_quantities(self) -> dict[str, Decimal]: ...

        def check_refund(
            self, payment_id: str, amount: Decimal | None
        ) -> tuple[Payment, Decimal]: ...

        def check_refund_transaction(self, payment: Payment, transaction_id: str) -> None: ...

        def refund_payment(
            self,
            payment_id: str,
            amount: Decimal | None,
            at: dt.datetime,
            *,
            transaction_id: str = "",
            idempotency_key: str = "",
            actor: str = "",
            reason: str = "",
        ) -> Payment: ...

    # ------------------------------------------------------------------ verbs

    def request_return(
        self,
        return_id: str,
        lines: Sequence[RequestedLine],
        at: dt.datetime,
        *,
        policy: ReturnPolicy,
        actor: str = "",
        note: str = "",
    ) -> OrderReturn:
        """Ask back delivered units of lines, each with a reason; the return awaits review.

        Refused, changing nothing: a line not on the order or twice in the request, a quantity
        that is not positive or more than was delivered and is not yet in a return, and a line
        outside its return window for that reason (:class:`~salesorders.errors.ReturnWindowError`).
        """
        require_id(return_id, "return_id")
        aware_time(at)
        check_name(actor, "actor")
        check_text(note, "note")
        if any(r.id == return_id for r in self.returns):
            raise ValidationError("return_id", return_id, "is already a return of this order")
        if isinstance(lines, str | bytes) or not isinstance(lines, Sequence) or not lines:
            raise ValidationError("lines", lines, "must name at least one line to return")
        asked_ids = {i[0] for i in lines if isinstance(i, tuple) and i and isinstance(i[0], str)}
        eligibility = {e.line_id: e for e in self.return_eligibility(policy, at, asked_ids)}
        asked: list[ReturnLine] = []
        for index, item in enumerate(lines):
            try:
                asked.append(self._asked_line(item, eligibility, policy, at, asked))
            except ValidationError as error:
                raise error.under(f"lines[{index}]") from error
        estimate = sum((c.amount for c in self.refund_for(asked, policy)), _ZERO)
        created = OrderReturn(
            return_id, tuple(asked), ReturnState.REQUESTED, at, actor, note, estimate
        )
        self.returns = (*self.returns, created)
        self.updated_at = max(self.updated_at, at)
        self._return_event(ev.ReturnRequested, created, at, actor, note, estimate=str(estimate))
        return created

    def approve_return(
        self,
        return_id: str,
        at: dt.datetime,
        *,
        actor: str,
        reason: str = "",
        distinct_approver: bool = False,
    ) -> OrderReturn:
        """Accept a requested return: its goods may now be received. With ``distinct_approver``
        the approver must not be who requested it."""
        found = self._return_reviewable(return_id, at, actor, reason, distinct_approver, "approve")
        return self._decided(found, ReturnState.APPROVED, ev.ReturnApproved, at, actor, reason)

    def reject_return(
        self,
        return_id: str,
        at: dt.datetime,
        *,
        actor: str,
        reason: str,
        distinct_approver: bool = False,
    ) -> OrderReturn:
        """Refuse a requested return (``reason`` says why); its units may be asked back again."""
        found = self._return_reviewable(return_id, at, actor, reason, distinct_approver, "reject")
        if not isinstance(reason, str) or not reason.strip():
            raise ValidationError(
                "reason", reason, "is required to reject a return", "say why it is rejected"
            )
        return self._decided(found, ReturnState.REJECTED, ev.ReturnRejected, at, actor, reason)

    def check_receipt(
        self, return_id: str, inspections: Sequence[Inspection]
    ) -> tuple[OrderReturn, tuple[Inspection, ...]]:
        """The approved return and its inspections, checked: every returned unit inspected
        exactly once, a warehouse for each restocked unit."""
        found = self.order_return(return_id)
        if found.state is not ReturnState.APPROVED:
            raise OrderError(
                self.id,
                f"order {self.id}: return {return_id} is {found.state.value}; only an approved "
                "return can be received",
            )
        if isinstance(inspections, str | bytes) or not isinstance(inspections, Sequence):
            raise ValidationError("inspections", inspections, "must be a list of Inspection")
        expected = found.quantities()
        seen: dict[str, Decimal] = {}
        checked = []
        for index, item in enumerate(inspections):
            field = f"inspections[{index}]"
            if not isinstance(item, Inspection):
                raise ValidationError(field, item, "must be an Inspection")
            if item.line_id not in expected:
                raise ValidationError(
                    f"{field}.line_id", item.line_id, f"is not in return {return_id}"
                )
            line = self.line(item.line_id)
            quantity = to_quantity(item.quantity, f"{field}.quantity", line.quantity_precision)
            outcome = _outcome(item.outcome, f"{field}.outcome")
            if outcome is InspectionOutcome.RESTOCK or item.warehouse_id is not None:
                require_id(item.warehouse_id, f"{field}.warehouse_id")
            check_text(item.note, f"{field}.note")
            seen[item.line_id] = seen.get(item.line_id, _ZERO) + quantity
            checked.append(attrs.evolve(item, quantity=quantity, outcome=outcome))
        for line_id, quantity in expected.items():
            if seen.get(line_id, _ZERO) != quantity:
                raise InvalidQuantityError(
                    "inspections",
                    str(seen.get(line_id, _ZERO)),
                    f"inspect each of the {quantity} units of line {line_id} returned exactly once",
                )
        return found, tuple(checked)

    def receive_return(
        self,
        return_id: str,
        inspections: Sequence[Inspection],
        at: dt.datetime,
        *,
        number: str,
        policy: ReturnPolicy,
        settlement: Settlement,
        refunds: Sequence[GatewayRefund] = (),
        actor: str = "",
        reason: str = "",
    ) -> CreditNote:
        """The goods of an approved return came back and were inspected (the service moved the
        restocked units back on hand): issue credit note ``number`` for their exact refund and
        record ``refunds`` — what went back to the original payments, as :meth:`refund_shares`
        says — each as a payment refund."""
        found, checked = self.check_receipt(return_id, inspections)
        aware_time(at)
        check_name(actor, "actor")
        check_text(reason, "reason")
        note = self._credit_note(found, number, at, policy, settlement, refunds, actor)
        self._settle(found, checked, note, refunds, at, actor, reason, ReturnState.RECEIVED)
        return note

    # ------------------------------------------------------------------ internals

    def _asked_line(
        self,
        item: object,
        eligibility: Mapping[str, LineEligibility],
        policy: ReturnPolicy,
        at: dt.datetime,
        earlier: Sequence[ReturnLine],
    ) -> ReturnLine:
        if not isinstance(item, tuple) or len(item) != 3:
            raise ValidationError("", item, "must be (line_id, quantity, reason)")
        line_id, quantity, raw_reason = item
        require_id(line_id, "line_id")
        line = self.line(str(line_id))
        if any(e.line_id == line.line_id for e in earlier):
            raise ValidationError("line_id", line_id, "is asked twice", "ask once per line")
        amount = to_quantity(quantity, "quantity", line.quantity_precision)
        reason = return_reason(raw_reason)
        found = eligibility.get(line.line_id)
        if found is None or not found.delivered:
            raise InvalidQuantityError(
                "quantity", str(amount), f"line {line.line_id} has nothing delivered to return"
            )
        if amount > found.returnable:
            raise InvalidQuantityError(
                "quantity",
                str(amount),
                f"is more than the {found.returnable} delivered and not already in a return",
                "return at most what was delivered",
            )
        until = found.until(reason)
        if until is None:
            raise ReturnWindowError(
                "line_id",
                line.line_id,
                f"SKU {line.sku} is not returnable for reason {reason.value}",
            )
        if at > until:
            raise ReturnWindowError(
                "line_id",
                line.line_id,
                f"is outside its return window for {reason.value} (it ended {until.isoformat()})",
                "a seller-fault reason may have a longer window",
            )
        return ReturnLine(line.line_id, amount, reason, line.sku)

    def _return_reviewable(
        self,
        return_id: str,
        at: dt.datetime,
        actor: str,
        reason: str,
        distinct_approver: bool,
        decision: str,
    ) -> OrderReturn:
        found = self.order_return(return_id)
        aware_time(at)
        check_text(reason, "reason")
        check_reviewer(
            self.id,
            f"return {return_id}",
            found.state.value,
            found.awaiting_review,
            actor=actor,
            requested_by=found.requested_by,
            decision=decision,
            distinct_approver=distinct_approver,
        )
        return found

    def _decided(
        self,
        found: OrderReturn,
        state: ReturnState,
        cls: type[ev.ReturnEvent],
        at: dt.datetime,
        actor: str,
        reason: str,
    ) -> OrderReturn:
        updated = attrs.evolve(
            found, state=state, decided_by=actor, decided_at=at, decision_reason=reason
        )
        self._store_return(updated, at)
        self._return_event(cls, updated, at, actor, reason)
        return updated

    def _credit_note(
        self,
        found: OrderReturn,
        number: str,
        at: dt.datetime,
        policy: ReturnPolicy,
        settlement: Settlement,
        refunds: Sequence[GatewayRefund],
        actor: str,
        added: Decimal = _ZERO,
    ) -> CreditNote:
        """The credit note for ``found``, its refunds checked against :meth:`refund_shares`."""
        require_id(number, "number")
        if any(note.number == number for note in self.credit_notes):
            raise ValidationError("number", number, "is already a credit note of this order")
        if not isinstance(settlement, Settlement):
            raise ValidationError("settlement", settlement, "must be a Settlement")
        lines = self.refund_for(found.lines, policy)
        amount = sum((line.amount for line in lines), _ZERO)
        planned = self.refund_shares(amount, settlement, added)
        given = tuple(RefundShare(payment_id, value) for payment_id, value, _, _ in refunds)
        if given != planned:
            raise ValidationError(
                "refunds",
                given,
                f"do not match the refund the credit note makes ({planned})",
                "refund what refund_shares() says",
            )
        seen: set[str] = set()
        for index, (payment_id, value, transaction_id, _) in enumerate(refunds):
            payment, _ = self.check_refund(payment_id, value)
            try:
                self.check_refund_transaction(payment, transaction_id)
            except ValidationError as error:
                raise error.under(f"refunds[{index}]") from error
            if transaction_id and transaction_id in seen:
                raise ValidationError(
                    f"refunds[{index}].transaction_id",
                    transaction_id,
                    "is given twice",
                    "each refund has its own gateway transaction",
                )
            seen.add(transaction_id)
        return CreditNote(number, found.id, self.currency, lines, at, settlement, planned, actor)

    def _settle(
        self,
        found: OrderReturn,
        checked: tuple[Inspection, ...],
        note: CreditNote,
        refunds: Sequence[GatewayRefund],
        at: dt.datetime,
        actor: str,
        reason: str,
        state: ReturnState,
        replacement_line_id: str | None = None,
    ) -> OrderReturn:
        """Record the receipt, the credit note and its refunds (everything was checked)."""
        self.credit_notes = (*self.credit_notes, note)
        for payment_id, value, transaction_id, key in refunds:
            self.refund_payment(
                payment_id,
                value,
                at,
                transaction_id=transaction_id,
                idempotency_key=key,
                actor=actor,
                reason=f"credit note {note.number}",
            )
        updated = attrs.evolve(
            found,
            state=state,
            received_at=at,
            received_by=actor,
            inspections=checked,
            credit_note=note.number,
            replacement_line_id=replacement_line_id,
        )
        self._store_return(updated, at)
        restocked = tuple(
            (i.line_id, str(i.quantity), i.warehouse_id or "")
            for i in checked
            if i.outcome is InspectionOutcome.RESTOCK
        )
        written_off = tuple(
            (i.line_id, str(i.quantity))
            for i in checked
            if i.outcome is InspectionOutcome.WRITE_OFF
        )
        self._return_event(
            ev.ReturnReceived,
            updated,
            at,
            actor,
            reason,
            restocked=restocked,
            written_off=written_off,
        )
        figures = self.payment_figures
        self._raise(
            ev.CreditNoteIssued(
                self.id,
                self.event_sequence + 1,
                at,
                actor,
                reason,
                number=note.number,
                return_id=found.id,
                amount=str(note.amount),
                refunded=str(note.refunded),
                currency=self.currency,
                settlement=note.settlement.value,
                balance_due=str(figures.balance_due),
                customer_credit=str(figures.customer_credit),
            )
        )
        return updated

    def _store_return(self, updated: OrderReturn, at: dt.datetime) -> None:
        self.returns = tuple(updated if r.id == updated.id else r for r in self.returns)
        self.updated_at = max(self.updated_at, at)

    def _return_event(
        self,
        cls: type[ev.ReturnEvent],
        found: OrderReturn,
        at: dt.datetime,
        actor: str,
        reason: str,
        **fields: object,
    ) -> None:
        lines = tuple((x.line_id, str(x.quantity), x.reason.value) for x in found.lines)
        if cls is ev.ReturnRequested:
            fields["currency"] = self.currency
        self._raise(
            cls(
                self.id,
                self.event_sequence + 1,
                at,
                actor,
                reason,
                return_id=found.id,
                lines=lines,
                return_status=self.return_status.value,
                **fields,
            )
        )


def _outcome(value: object, field: str) -> InspectionOutcome:
    try:
        return value if isinstance(value, InspectionOutcome) else InspectionOutcome(value)
    except ValueError:
        raise ValidationError(
            field,
            value,
            "is not an inspection outcome",
            "use one of " + ", ".join(o.value for o in InspectionOutcome),
        ) from None
