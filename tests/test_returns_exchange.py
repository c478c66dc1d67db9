"""Exchanges on every store: a returned line and its replacement on the same order, the
replacement reserved from stock, the difference settled both ways to the cent."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money

from salesorders.domain.returns import ReturnState, Settlement
from salesorders.domain.workflow import CONSUME, default_workflow
from salesorders.errors import CurrencyMismatchError, InsufficientStockError
from salesorders.service import (
    ApproveReturn,
    AuthorizePayment,
    CapturePayment,
    DeliverOrder,
    ExchangeReturn,
    ManualClock,
    PlaceOrder,
    RequestReturn,
    ReturnItem,
    SalesService,
    ShipOrder,
)
from salesorders.testing.fakes import FakePaymentGateway
from support.returns import T0, delivered_order, on_hand, restock, returns_service, spec
from support.stores import STORE_KINDS, fresh_store
from test_fulfilment import _refused, _types


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


@pytest.fixture
def gateway() -> FakePaymentGateway:
    return FakePaymentGateway()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def service(store: Any, clock: ManualClock, gateway: FakePaymentGateway) -> SalesService:
    return returns_service(store, clock, gateway)


def _usd(amount: str) -> Money:
    return Money(amount, "USD")


def _approved_return(service: SalesService, clock: ManualClock) -> str:
    """A paid, delivered order of 2 × SKU-A at 30.00 with return R1 of one unit approved."""
    order_id = delivered_order(service, clock, (spec("SKU-A", 2, "30.00"),))
    service.handle(RequestReturn(order_id=order_id, lines=(ReturnItem("L1", 1, "wrong_item"),)))
    service.handle(ApproveReturn(order_id=order_id, return_id="R1", actor="lee"))
    return order_id


def _exchange(order_id: str, replacement: Any, **fields: Any) -> ExchangeReturn:
    return ExchangeReturn(
        order_id=order_id,
        return_id="R1",
        inspections=(restock("L1", 1),),
        replacement=replacement,
        **fields,
    )


def test_a_dearer_replacement_leaves_the_difference_due(
    service: SalesService, store: Any, clock: ManualClock, gateway: FakePaymentGateway
) -> None:
    order_id = _approved_return(service, clock)
    reserved_b = on_hand(service, "SKU-B")
    result = service.handle(_exchange(order_id, spec("SKU-B", 1, "42.50"), actor="ana"))
    assert (result.balance_due, result.payment_status) == (_usd("12.50"), "partially_paid")
    assert gateway.refunded(order_id) == 0
    order = service.get_order(order_id)
    replacement = order.line("L2")
    assert (replacement.sku, replacement.gross, replacement.allocated) == (
        "SKU-B",
        Decimal("42.50"),
        Decimal(1),
    )
    assert order.order_return("R1").state is ReturnState.EXCHANGED
    assert order.order_return("R1").replacement_line_id == "L2"
    assert order.amount_owed == Decimal("72.50")  # 60.00 - 30.00 credited + 42.50
    held = [r for r in service.reservations(order_id) if r.sku == "SKU-B"]
    assert sum(r.open for r in held) == 1
    assert on_hand(service, "SKU-B") == reserved_b  # reserved, not yet shipped
    assert on_hand(service, "SKU-A") == 99  # 100 - 2 shipped + 1 back
    assert _types(store, order_id)[-3:] == ["ReturnReceived", "CreditNoteIssued", "ReturnExchanged"]
    exchanged = service.get_order(order_id).credit_notes[0]
    assert exchanged.amount == Decimal("30.00")


def test_a_cheaper_replacement_refunds_the_difference_to_the_original_payment(
    service: SalesService, clock: ManualClock, gateway: FakePaymentGateway
) -> None:
    order_id = _approved_return(service, clock)
    result = service.handle(_exchange(order_id, spec("SKU-C", 1, "17.35")))
    assert (result.balance_due, result.customer_credit) == (_usd("0.00"), _usd("0.00"))
    assert gateway.refunded(order_id) == Decimal("12.65")
    (note,) = service.get_order(order_id).credit_notes
    assert [(s.payment_id, s.amount) for s in note.refunds] == [("P1", Decimal("12.65"))]


def test_a_cheaper_replacement_can_leave_the_difference_as_store_credit(
    service: SalesService, clock: ManualClock, gateway: FakePaymentGateway
) -> None:
    order_id = _approved_return(service, clock)
    result = service.handle(
        _exchange(order_id, spec("SKU-C", 1, "17.35"), refund_to="store_credit")
    )
    assert result.customer_credit == _usd("12.65")
    assert gateway.refunded(order_id) == 0
    assert service.get_order(order_id).credit_notes[0].settlement is Settlement.STORE_CREDIT


def test_a_replacement_out_of_stock_is_refused_and_changes_nothing(
    service: SalesService, store: Any, clock: ManualClock, gateway: FakePaymentGateway
) -> None:
    order_id = _approved_return(service, clock)
    calls = gateway.calls
    stock = on_hand(service, "SKU-A")
    command = _exchange(order_id, spec("SKU-B", 101, "1.00"))
    _refused(service, store, order_id, command, InsufficientStockError)
    assert gateway.calls == calls
    assert on_hand(service, "SKU-A") == stock


def test_a_replacement_priced_in_another_currency_is_refused(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    order_id = _approved_return(service, clock)
    command = _exchange(order_id, spec("SKU-B", 1, "40.00", currency="EUR"))
    error = _refused(service, store, order_id, command, CurrencyMismatchError)
    assert error.field == "replacement.unit_price"


SHIPS_AFTER_DELIVERY = (
    default_workflow()
    .extend("ships-after-delivery")
    .add_transition("ship", "delivered", "delivered", effects=[CONSUME])
    .build()
)


def test_a_replacement_ships_from_its_reservation_when_the_workflow_ships_after_delivery(
    store: Any, clock: ManualClock, gateway: FakePaymentGateway
) -> None:
    service = returns_service(store, clock, gateway, workflows=[SHIPS_AFTER_DELIVERY])
    placed = service.handle(
        PlaceOrder(
            customer_id="C-1",
            currency="USD",
            lines=(spec("SKU-A", 2, "30.00"),),
            workflow=SHIPS_AFTER_DELIVERY.name,
            confirm=True,
        )
    )
    order_id = placed.order_id
    service.handle(AuthorizePayment(order_id=order_id, amount=placed.grand_total))
    service.handle(CapturePayment(order_id=order_id, payment_id="P1"))
    service.handle(ShipOrder(order_id=order_id, tracking_number="T-1"))
    service.handle(DeliverOrder(order_id=order_id))
    service.handle(RequestReturn(order_id=order_id, lines=(ReturnItem("L1", 1, "wrong_item"),)))
    service.handle(ApproveReturn(order_id=order_id, return_id="R1", actor="lee"))
    service.handle(_exchange(order_id, spec("SKU-B", 1, "30.00")))
    stock_b = on_hand(service, "SKU-B")
    shipped = service.handle(ShipOrder(order_id=order_id, tracking_number="T-2"))
    assert len(shipped.shipment_ids) == 2
    assert on_hand(service, "SKU-B") == stock_b - 1  # consumed from the replacement's reservation
    assert sum(r.open for r in service.reservations(order_id)) == 0
    order = service.get_order(order_id)
    assert order.shipped_quantities()["L2"] == 1
    assert (order.state, order.balance_due) == ("delivered", _usd("0.00"))
