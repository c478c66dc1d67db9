"""The after-sales use cases: returns with review, their receipt and credit note, exchanges and
repairs; and the return queries.

A receipt is: the order checks the return and its inspections → the exact refund and where it
goes (:meth:`~salesorders.domain.order.Order.refund_shares`) → the payment gateway refunds card
payments (with idempotency keys derived from the command's key, as ``RefundPayment`` does) →
restocked units go back on hand through the stock engine → a gap-free credit note number
(``CN-<year>-NNNNNN``) is taken last → one call of the order records it all. A refused command
calls nobody and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal

import attrs

from salesorders.domain.allocation import AllocationPolicy
from salesorders.domain.checks import page_limit
from salesorders.domain.order import LineSpec, Order
from salesorders.domain.order_returns import GatewayRefund
from salesorders.domain.plan import AllocationRequest, DemandLine
from salesorders.domain.return_policy import ReturnPolicy, StandardReturnPolicy
from salesorders.domain.returns import (
    CreditNoteLine,
    Inspection,
    InspectionOutcome,
    OrderReturn,
    RefundShare,
    Settlement,
)
from salesorders.domain.stock import LowStock, StockDesk
from salesorders.errors import InsufficientStockError, ValidationError
from salesorders.ports import UnitOfWork
from salesorders.service.numbering import take_number
from salesorders.service.payments import Payments, Publish, orders_oldest_first
from salesorders.service.plans import check_plan, trusted
from salesorders.service.results import OrderResult
from salesorders.service.return_commands import (
    AdvanceRepair,
    ApproveReturn,
    CloseRepair,
    ExchangeReturn,
    OpenRepair,
    ReceiveReturn,
    RecordRepairNote,
    RejectReturn,
    RequestReturn,
    ReturnItem,
)

__all__ = ["ReturnAwaitingReview", "Returns", "returns_awaiting_review"]

#: Builds the order line a ``LineSpec`` asks for (prices from the price book or catalogue).
NewLineOf = Callable[[Order, LineSpec], LineSpec]


@attrs.frozen(slots=True)
class ReturnAwaitingReview:
    """A requested return waiting for a reviewer's decision."""

    order_id: str
    number: str | None
    order_return: OrderReturn


class Returns:
    """The return, exchange and repair handlers, wired to the return policy, the payments (for
    their gateway) and the allocation policy (for replacements)."""

    def __init__(
        self,
        policy: ReturnPolicy | None,
        payments: Payments,
        allocation: AllocationPolicy,
        new_line: NewLineOf,
        publish: Publish,
        *,
        distinct_approver: bool = False,
    ) -> None:
        if policy is not None and not all(
            callable(getattr(policy, verb, None))
            for verb in ("window_days", "restocking_fee", "refunds_shipping")
        ):
            raise ValidationError(
                "return_policy",
                policy,
                "must be a ReturnPolicy: window_days, restocking_fee and refunds_shipping",
                "pass e.g. StandardReturnPolicy()",
            )
        self.policy: ReturnPolicy = policy if policy is not None else StandardReturnPolicy()
        self.payments = payments
        self.allocation = allocation
        self.distinct_approver = distinct_approver
        self._new_line = new_line
        self._publish = publish

    # ------------------------------------------------------------------ returns

    def request_return(
        self, uow: UnitOfWork, command: RequestReturn, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        order.request_return(
            command.return_id or order.next_return_id(),
            _items(command.lines),
            now,
            policy=self.policy,
            actor=command.actor,
            note=command.note,
        )
        return self._saved(uow, order)

    def approve_return(
        self, uow: UnitOfWork, command: ApproveReturn, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        order.approve_return(
            command.return_id,
            now,
            actor=command.actor,
            reason=command.reason,
            distinct_approver=self.distinct_approver,
        )
        return self._saved(uow, order)

    def reject_return(
        self, uow: UnitOfWork, command: RejectReturn, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        order.reject_return(
            command.return_id,
            now,
            actor=command.actor,
            reason=command.reason,
            distinct_approver=self.distinct_approver,
        )
        return self._saved(uow, order)

    def receive_return(
        self, uow: UnitOfWork, command: ReceiveReturn, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        found, checked = order.check_receipt(command.return_id, command.inspections)
        settlement = _settlement(command.refund_to)
        credit = _amount(order.refund_for(found.lines, self.policy))
        shares = order.refund_shares(credit, settlement)
        alerts = self._restock(uow, order, found, checked, now, command.actor)
        refunds = self._refund(order, shares, command.idempotency_key, found.id)
        order.receive_return(
            found.id,
            checked,
            now,
            number=_credit_note_number(uow, now),
            policy=self.policy,
            settlement=settlement,
            refunds=refunds,
            actor=command.actor,
            reason=command.reason,
        )
        uow.orders.save(order)
        return self._publish(uow, order, alerts)

    def exchange_return(
        self, uow: UnitOfWork, command: ExchangeReturn, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        found, checked = order.check_receipt(command.return_id, command.inspections)
        settlement = _settlement(command.refund_to)
        if not isinstance(command.replacement, LineSpec):
            raise ValidationError("replacement", command.replacement, "must be a LineSpec")
        new = self._new_line(order, command.replacement)
        line = order.replacement_line(new)
        credit = _amount(order.refund_for(found.lines, self.policy))
        shares = order.refund_shares(credit, settlement, line.gross)
        alerts = self._restock(uow, order, found, checked, now, command.actor)
        allocated, reserved = self._reserve(uow, order, line.line_id, line.sku, line.quantity, now)
        refunds = self._refund(order, shares, command.idempotency_key, found.id)
        order.exchange_return(
            found.id,
            checked,
            new,
            now,
            number=_credit_note_number(uow, now),
            policy=self.policy,
            settlement=settlement,
            allocated=allocated,
            refunds=refunds,
            actor=command.actor,
            reason=command.reason,
        )
        uow.orders.save(order)
        return self._publish(uow, order, [*alerts, *reserved])

    # ------------------------------------------------------------------ repairs

    def open_repair(self, uow: UnitOfWork, command: OpenRepair, now: dt.datetime) -> OrderResult:
        order = uow.orders.get(command.order_id)
        order.open_repair(
            command.repair_id or order.next_repair_id(),
            command.line_id,
            command.quantity,
            now,
            problem=command.problem,
            actor=command.actor,
        )
        return self._saved(uow, order)

    def advance_repair(
        self, uow: UnitOfWork, command: AdvanceRepair, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        order.advance_repair(
            command.repair_id, command.stage, now, actor=command.actor, reason=command.reason
        )
        return self._saved(uow, order)

    def record_repair_note(
        self, uow: UnitOfWork, command: RecordRepairNote, now: dt.datetime
    ) -> OrderResult:
        order = uow.orders.get(command.order_id)
        order.note_repair(command.repair_id, command.note, now, actor=command.actor)
        return self._saved(uow, order)

    def close_repair(self, uow: UnitOfWork, command: CloseRepair, now: dt.datetime) -> OrderResult:
        order = uow.orders.get(command.order_id)
        order.close_repair(
            command.repair_id,
            command.cost,
            command.charge_to,
            now,
            actor=command.actor,
            reason=command.reason,
        )
        return self._saved(uow, order)

    # ------------------------------------------------------------------ internals

    def _saved(self, uow: UnitOfWork, order: Order) -> OrderResult:
        uow.orders.save(order)
        return self._publish(uow, order, ())

    def _restock(
        self,
        uow: UnitOfWork,
        order: Order,
        found: OrderReturn,
        checked: Sequence[Inspection],
        now: dt.datetime,
        actor: str,
    ) -> list[LowStock]:
        """Put the units inspected for restock back on hand (written-off units move no stock)."""
        desk = StockDesk(uow.stock)
        for index, item in enumerate(checked):
            if item.outcome is not InspectionOutcome.RESTOCK:
                continue
            try:
                desk.return_to_stock(
                    order.line(item.line_id).sku,
                    item.warehouse_id or "",
                    item.quantity,
                    now,
                    return_id=f"{order.id}:{found.id}",
                    order_id=order.id,
                    line_id=item.line_id,
                    actor=actor,
                    reason=f"return {found.id}",
                )
            except ValidationError as error:
                raise error.under(f"inspections[{index}]") from error
        return list(desk.alerts)

    def _reserve(
        self,
        uow: UnitOfWork,
        order: Order,
        line_id: str,
        sku: str,
        quantity: Decimal,
        now: dt.datetime,
    ) -> tuple[Decimal, list[LowStock]]:
        """Reserve the replacement line in full, or refuse the exchange."""
        request = AllocationRequest(
            order.id, (DemandLine(line_id, sku, quantity),), order.destination, True
        )
        snapshot = uow.stock.snapshot({sku: None}, now.date())
        plan = self.allocation.allocate(request, snapshot)
        if not trusted(self.allocation):
            check_plan(self.allocation, request, snapshot, plan)
        if plan.shortages or plan.backorders:
            raise InsufficientStockError(plan.shortages, order.id)
        desk = StockDesk(uow.stock)
        desk.reserve_plan(plan, now, warehouses=snapshot.warehouses)
        return sum((a.quantity for a in plan.allocations), Decimal(0)), list(desk.alerts)

    def _refund(
        self,
        order: Order,
        shares: Sequence[RefundShare],
        command_key: str | None,
        return_id: str,
    ) -> tuple[GatewayRefund, ...]:
        """Refund ``shares`` through the gateway (card payments); manual payments are paid back
        by hand and recorded without a gateway call."""
        done = []
        for share in shares:
            payment = order.payment(share.payment_id)
            if command_key is not None:
                key = f"{command_key}:{payment.id}:refund"
            else:
                key = f"{order.id}:{return_id}:{payment.id}:refund"
            transaction_id = self.payments.gateway_refund(order, payment, share.amount, key)
            done.append((payment.id, share.amount, transaction_id, key))
        return tuple(done)


# ---------------------------------------------------------------------- queries


def returns_awaiting_review(uow: UnitOfWork, limit: int) -> tuple[ReturnAwaitingReview, ...]:
    """Requested returns waiting for review, oldest requested first (at most ``limit``)."""
    page_limit(limit)
    found = [
        ReturnAwaitingReview(order.id, order.number, item)
        for order in orders_oldest_first(uow)
        for item in order.returns
        if item.awaiting_review
    ]
    found.sort(key=lambda r: (r.order_return.requested_at, r.order_id, r.order_return.id))
    return tuple(found[:limit])


def _items(lines: object) -> list[tuple[str, object, object]]:
    if isinstance(lines, str | bytes) or not isinstance(lines, Sequence):
        raise ValidationError("lines", lines, "must be a list of ReturnItem")
    items: list[tuple[str, object, object]] = []
    for index, item in enumerate(lines):
        if not isinstance(item, ReturnItem):
            raise ValidationError(f"lines[{index}]", item, "must be a ReturnItem")
        items.append((item.line_id, item.quantity, item.reason))
    return items


def _settlement(value: object) -> Settlement:
    try:
        return value if isinstance(value, Settlement) else Settlement(value)
    except ValueError:
        raise ValidationError(
            "refund_to",
            value,
            "is not where a refund can go",
            "use one of " + ", ".join(s.value for s in Settlement),
        ) from None


def _amount(lines: Sequence[CreditNoteLine]) -> Decimal:
    return sum((line.amount for line in lines), Decimal(0))


def _credit_note_number(uow: UnitOfWork, now: dt.datetime) -> str:
    """The next gap-free credit note number, ``CN-<year>-NNNNNN`` (taken last: its series stays
    locked from taking a number to commit)."""
    series = f"CN-{now.year}"
    return take_number(uow.numbers, series)
