"""Edge cases of changes, returns and exchanges: each test fails on the behaviour it guards
against (a preview blind to what the order owes, a change re-pricing what was credited, a refused
receipt that kept its credit note, a worked change handed to another order, an exchange on a
finished order, numbering blocked by a chosen id, a host policy's bad answer, a four-eyes check
fooled by a space)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest

from salesorders.adapters.memory import MemoryStore
from salesorders.domain.changes import ChangeAction
from salesorders.domain.order import Order
from salesorders.domain.order_values import Address
from salesorders.domain.return_policy import ReturnReason, StandardReturnPolicy
from salesorders.domain.returns import Settlement
from salesorders.errors import OrderError, SalesOrdersError, ValidationError
from salesorders.service import (
    ApproveReturn,
    CompleteOrder,
    ExchangeReturn,
    ManualClock,
    PlaceOrder,
    RecordPayment,
    RejectReturn,
    RequestChange,
    RequestReturn,
    ReturnItem,
    SalesService,
)
from salesorders.testing.fakes import FakePaymentGateway
from support.returns import DAY, T0, delivered_order, restock, returns_service, spec


def _service(**options: Any) -> tuple[SalesService, ManualClock]:
    clock = ManualClock(T0)
    return returns_service(MemoryStore(), clock, FakePaymentGateway(), **options), clock


def _approved_return(service: SalesService, clock: ManualClock) -> str:
    order_id = delivered_order(service, clock, (spec("SKU-A", 2, "30.00"),))
    service.handle(RequestReturn(order_id=order_id, lines=(ReturnItem("L1", 1, "wrong_item"),)))
    service.handle(ApproveReturn(order_id=order_id, return_id="R1", actor="lee"))
    return order_id


def test_the_change_preview_counts_from_the_amount_owed() -> None:
    order = Order.create("O-1", "C-1", "USD", T0)
    order.add_line("SKU-A", 2, "10.00", T0)
    order.place("SO-1", T0)
    planned = order._planned((ChangeAction.set_quantity("L1", 3),))
    owed = order.totals.grand_total + Decimal("7.00")  # e.g. a repair charged on top
    preview = planned.preview("USD", order.totals.grand_total, owed, order.payments)
    assert preview.balance_due_before == Decimal("27.00")
    assert preview.balance_due == Decimal("37.00")


def test_no_change_once_a_return_was_credited() -> None:
    service, clock = _service()
    order_id = _approved_return(service, clock)
    service.handle(
        ExchangeReturn(
            order_id=order_id,
            return_id="R1",
            inspections=(restock("L1", 1),),
            replacement=spec("SKU-B", 1, "42.50"),
        )
    )
    before = service.get_order(order_id)
    address = Address("Ann", "Main St 1", "Springfield", "US")
    with pytest.raises(OrderError, match="credit notes"):
        service.handle(
            RequestChange(
                order_id=order_id,
                actions=(ChangeAction.ship_to(address),),
                reason="moved",
                actor="ann",
            )
        )
    assert service.get_order(order_id) == before


def test_a_refused_receipt_keeps_no_credit_note() -> None:
    service, clock = _service()
    order_id = _approved_return(service, clock)
    order = service.get_order(order_id)
    before = attrs.evolve(order)
    with pytest.raises(ValidationError) as refused:
        order.receive_return(
            "R1",
            (restock("L1", 1),),
            T0 + 2 * DAY,
            number="CN-1",
            policy=StandardReturnPolicy(),
            settlement=Settlement.ORIGINAL_PAYMENT,
            refunds=(("P1", Decimal("30.00"), "", ""),),
            actor="ana",
        )
    assert refused.value.field == "refunds[0].transaction_id"
    assert order == before and order.credit_notes == ()


def test_a_worked_change_of_one_order_is_not_applied_to_another() -> None:
    service, _ = _service()
    ids = []
    for price in ("30.00", "500.00"):
        placed = service.handle(
            PlaceOrder(customer_id="C-1", currency="USD", lines=(spec("SKU-A", 2, price),))
        )
        service.handle(
            RequestChange(
                order_id=placed.order_id,
                actions=(ChangeAction.set_quantity("L1", 3),),
                reason="more",
                actor="amy",
            )
        )
        ids.append(placed.order_id)
    cheap, dear = (service.get_order(i) for i in ids)
    demand = cheap.change_demand("C1", actor="lee")
    dear.approve_change("C1", T0 + DAY, actor="lee", demand=demand)
    assert [(line.quantity, line.unit_price) for line in dear.lines] == [
        (Decimal(3), Decimal("500.00"))
    ]


def test_no_exchange_on_a_finished_order() -> None:
    service, clock = _service()
    order_id = _approved_return(service, clock)
    service.handle(CompleteOrder(order_id=order_id))
    before = service.get_order(order_id)
    held = service.reservations(order_id)
    with pytest.raises(OrderError, match="completed"):
        service.handle(
            ExchangeReturn(
                order_id=order_id,
                return_id="R1",
                inspections=(restock("L1", 1),),
                replacement=spec("SKU-B", 1, "42.50"),
            )
        )
    assert service.get_order(order_id) == before
    assert service.reservations(order_id) == held


def test_numbering_goes_past_an_id_the_caller_chose() -> None:
    service, clock = _service()
    order_id = delivered_order(service, clock, (spec("SKU-A", 3, "30.00"),))
    item = ReturnItem("L1", 1, "wrong_item")
    service.handle(RequestReturn(order_id=order_id, lines=(item,), return_id="R2"))
    service.handle(RequestReturn(order_id=order_id, lines=(item,)))
    service.handle(
        RecordPayment(
            order_id=order_id, method="cash", amount="1.00", reference="R", payment_id="P7"
        )
    )
    service.handle(RecordPayment(order_id=order_id, method="cash", amount="1.00", reference="R"))
    order = service.get_order(order_id)
    assert [r.id for r in order.returns] == ["R2", "R3"]
    assert [p.id for p in order.payments] == ["P1", "P7", "P8"]


class _NegativeFee(StandardReturnPolicy):
    def restocking_fee(self, sku: str, reason: ReturnReason) -> Decimal:
        return Decimal(-10)


def test_a_policy_answering_a_negative_fee_is_refused_naming_it() -> None:
    service, clock = _service(return_policy=_NegativeFee())
    order_id = delivered_order(service, clock, (spec("SKU-A", 2, "30.00"),))
    before = service.get_order(order_id)
    with pytest.raises(SalesOrdersError) as refused:
        service.handle(RequestReturn(order_id=order_id, lines=(ReturnItem("L1", 1, "no_reason"),)))
    assert getattr(refused.value, "field", "") == "return_policy.restocking_fee"
    assert service.get_order(order_id) == before


def test_four_eyes_ignores_surrounding_spaces() -> None:
    service, clock = _service(distinct_approver=True)
    order_id = delivered_order(service, clock, (spec("SKU-A", 2, "30.00"),))
    service.handle(
        RequestReturn(order_id=order_id, lines=(ReturnItem("L1", 1, "defective"),), actor="amy")
    )
    with pytest.raises(ValidationError) as refused:
        service.handle(ApproveReturn(order_id=order_id, return_id="R1", actor="amy "))
    assert refused.value.field == "actor"
    assert service.get_order(order_id).returns[0].awaiting_review


def test_four_eyes_cannot_approve_a_request_that_names_no_one() -> None:
    service, clock = _service(distinct_approver=True)
    order_id = delivered_order(service, clock, (spec("SKU-A", 2, "30.00"),))
    service.handle(RequestReturn(order_id=order_id, lines=(ReturnItem("L1", 1, "defective"),)))
    before = service.get_order(order_id)
    with pytest.raises(OrderError, match="names no one who asked"):
        service.handle(ApproveReturn(order_id=order_id, return_id="R1", actor="lee"))
    assert service.get_order(order_id) == before
    service.handle(RejectReturn(order_id=order_id, return_id="R1", reason="ask again", actor="lee"))
    assert service.get_order(order_id).returns[0].decided_by == "lee"
