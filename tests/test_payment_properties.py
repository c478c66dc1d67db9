"""Model-based checks of payments: after every step of any sequence of authorisations, captures,
voids, refunds and manual payments (accepted or refused),

* paid − refunded == the sum of the payments' net amounts;
* balance due − customer credit == grand total − net paid (exactly, in the order's currency);
* no payment has more refunded than captured, or more captured than it holds;
* a refused step changes nothing.

On the domain with hypothesis, in currencies with 0, 2 and 3 minor digits, and through the
service on every store."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesorders.domain.money import currency_exponent
from salesorders.domain.order import Order
from salesorders.domain.payments import PaymentMethod
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import SalesOrdersError
from salesorders.service import (
    ApprovePayment,
    AuthorizePayment,
    CapturePayment,
    ManualClock,
    ReceiveStock,
    RecordPayment,
    RefundPayment,
    RegisterWarehouse,
    RejectPayment,
    VoidPayment,
    bootstrap,
)
from salesorders.testing.fakes import FakePaymentGateway
from support.stores import STORE_KINDS, fresh_store
from test_service_support import line, new_order

T0 = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)
KINDS = ("authorize", "capture", "void", "refund", "record", "approve", "reject")


def _check(order: Order) -> None:
    figures = order.payment_figures
    assert figures.paid - figures.refunded == sum((p.net for p in order.payments), Decimal(0))
    assert figures.balance_due - figures.customer_credit == (
        order.totals.grand_total - figures.net_paid
    )
    assert figures.balance_due >= 0 and figures.customer_credit >= 0
    places = Decimal(1).scaleb(-currency_exponent(order.currency))
    for payment in order.payments:
        assert 0 <= payment.refunded <= payment.captured <= payment.amount
        assert payment.amount == payment.amount.quantize(places)
        assert payment.captured == payment.captured.quantize(places)


def _placed(currency: str, price: str) -> Order:
    order = Order.create("O-1", "C-1", currency, T0)
    order.add_line("SKU-A", 3, price, T0)
    order.place("SO-1", T0)
    return order


def _amount(draw: Any, currency: str) -> Decimal | None:
    exponent = currency_exponent(currency)
    minor = draw(st.integers(min_value=-5, max_value=40_000))
    if draw(st.booleans()) and draw(st.booleans()):
        return None
    return Decimal(minor).scaleb(-exponent)


@st.composite
def _steps(draw: Any) -> tuple[str, str, list[tuple[str, int, Decimal | None, str]]]:
    currency = draw(st.sampled_from(["JPY", "USD", "KWD"]))
    price = {"JPY": "1234", "USD": "41.17", "KWD": "12.345"}[currency]
    steps = []
    for _ in range(draw(st.integers(min_value=1, max_value=25))):
        kind = draw(st.sampled_from(KINDS))
        steps.append(
            (
                kind,
                draw(st.integers(min_value=1, max_value=4)),
                _amount(draw, currency),
                draw(st.sampled_from(["ann", "bob"])),
            )
        )
    return currency, price, steps


def _apply(order: Order, step: tuple[str, int, Decimal | None, str], at: dt.datetime) -> None:
    kind, n, amount, actor = step
    pid = f"P{n}"
    tx = f"T-{at.timestamp()}"
    if kind == "authorize":
        order.authorize_payment(
            order.next_payment_id(), amount or Decimal(1), at, gateway_id=f"G-{at.timestamp()}"
        )
    elif kind == "capture":
        order.capture_payment(pid, amount, at, transaction_id=tx)
    elif kind == "void":
        order.void_payment(pid, at, actor=actor)
    elif kind == "refund":
        order.refund_payment(pid, amount, at, transaction_id=tx, actor=actor)
    elif kind == "record":
        order.record_payment(
            order.next_payment_id(), PaymentMethod.CASH, amount or Decimal(1), at, reference="R"
        )
    elif kind == "approve":
        order.approve_payment(pid, at, actor=actor)
    else:
        order.reject_payment(pid, at, actor=actor, reason="not received")


@settings(max_examples=300, deadline=None)
@given(_steps())
def test_every_step_keeps_the_payment_figures_exact(
    case: tuple[str, str, list[tuple[str, int, Decimal | None, str]]],
) -> None:
    currency, price, steps = case
    order = _placed(currency, price)
    for index, step in enumerate(steps):
        at = T0 + dt.timedelta(minutes=index + 1)
        before = attrs.evolve(order)
        events = len(order.events)
        try:
            _apply(order, step, at)
        except SalesOrdersError:
            assert order == before
            assert len(order.events) == events
        else:
            assert len(order.events) == events + 1
            assert order.events[-1].event_type.startswith("Payment")
        _check(order)


# --------------------------------------------------------------------------- every store


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_payment_sequences_through_the_service_stay_exact(store: Any, seed: int) -> None:
    gateway = FakePaymentGateway()
    clock = ManualClock(T0)
    service = bootstrap(store=store, clock=clock, payment_gateway=gateway, sleep=lambda _s: None)
    service.handle(RegisterWarehouse(warehouse=Warehouse("W1")))
    service.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=10))
    order_id = service.handle(new_order(line("SKU-A", 3, "13.37"), confirm=True)).order_id
    rng = random.Random(seed)
    accepted = 0
    for _ in range(40):
        clock.advance(dt.timedelta(minutes=1))
        pid = f"P{rng.randint(1, 3)}"
        amount = None if rng.random() < 0.3 else str(Decimal(rng.randint(1, 1200)).scaleb(-2))
        command = rng.choice(
            [
                AuthorizePayment(order_id=order_id, amount=amount or "10.00"),
                CapturePayment(order_id=order_id, payment_id=pid, amount=amount),
                VoidPayment(order_id=order_id, payment_id=pid),
                RefundPayment(order_id=order_id, payment_id=pid, amount=amount),
                RecordPayment(
                    order_id=order_id, method="cash", amount=amount or "5.00", reference="R"
                ),
                ApprovePayment(order_id=order_id, payment_id=pid, actor="finance"),
                RejectPayment(order_id=order_id, payment_id=pid, reason="no", actor="finance"),
            ]
        )
        before = service.get_order(order_id)
        try:
            result = service.handle(command)
        except SalesOrdersError:
            assert service.get_order(order_id) == before
            continue
        accepted += 1
        order = service.get_order(order_id)
        _check(order)
        assert result.balance_due == order.balance_due
        assert result.payment_status == order.payment_status.value
        net_card = sum(
            (p.net for p in order.payments if p.method is PaymentMethod.CARD), Decimal(0)
        )
        assert gateway.captured(order_id) - gateway.refunded(order_id) == net_card
    assert accepted >= 5  # the sequence did move money
