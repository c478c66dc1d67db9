"""Model-based checks of payments: after every step of any sequence of authorisations, captures,
voids, refunds and manual payments (accepted or refused) — and, through the service, interleaved
with order changes before shipment and returns after delivery —

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

from salesorders.domain.changes import ChangeAction
from salesorders.domain.money import currency_exponent
from salesorders.domain.order import Order
from salesorders.domain.payments import PaymentMethod
from salesorders.domain.returns import Inspection, InspectionOutcome
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import SalesOrdersError
from salesorders.service import (
    ApproveChange,
    ApprovePayment,
    ApproveReturn,
    AuthorizePayment,
    CapturePayment,
    DeclineChange,
    DeliverOrder,
    ManualClock,
    ReceiveReturn,
    ReceiveStock,
    RecordPayment,
    RefundPayment,
    RegisterWarehouse,
    RejectPayment,
    RejectReturn,
    RequestChange,
    RequestReturn,
    ReturnItem,
    ShipOrder,
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


# --------------------------------------------------------------------------- every flow, every store


def _after_sales_service(store: Any, clock: ManualClock, gateway: FakePaymentGateway) -> Any:
    service = bootstrap(store=store, clock=clock, payment_gateway=gateway, sleep=lambda _s: None)
    service.handle(RegisterWarehouse(warehouse=Warehouse("W1")))
    service.handle(RegisterWarehouse(warehouse=Warehouse("W2")))
    for sku in ("SKU-A", "SKU-B"):
        service.handle(ReceiveStock(sku=sku, warehouse_id="W1", quantity=60))
    return service


def _pick(rng: random.Random, known: list[str], prefix: str) -> str:
    """Mostly an id the order has, sometimes one it may not have."""
    return rng.choice(known) if known and rng.random() < 0.85 else f"{prefix}{rng.randint(1, 4)}"


def _payment_step(rng: random.Random, service: Any, order_id: str) -> Any:
    pid = _pick(rng, [p.id for p in service.get_order(order_id).payments], "P")
    amount = None if rng.random() < 0.3 else str(Decimal(rng.randint(1, 3000)).scaleb(-2))
    return rng.choice(
        [
            AuthorizePayment(order_id=order_id, amount=amount or "20.00"),
            CapturePayment(order_id=order_id, payment_id=pid, amount=amount),
            CapturePayment(order_id=order_id, payment_id=pid),
            VoidPayment(order_id=order_id, payment_id=pid),
            RefundPayment(order_id=order_id, payment_id=pid, amount=amount),
            RefundPayment(order_id=order_id, payment_id=pid),
            RecordPayment(order_id=order_id, method="cash", amount=amount or "5.00", reference="R"),
            ApprovePayment(order_id=order_id, payment_id=pid, actor="finance"),
            RejectPayment(order_id=order_id, payment_id=pid, reason="no", actor="finance"),
        ]
    )


def _change_step(rng: random.Random, service: Any, order_id: str) -> Any:
    cid = _pick(rng, [c.id for c in service.get_order(order_id).changes], "C")
    line_id = rng.choice(["L1", "L2"])
    action = rng.choice(
        [
            ChangeAction.set_quantity(line_id, rng.randint(0, 6)),
            ChangeAction.change_unit_price(line_id, f"{rng.randint(100, 2500) / 100:.2f}", "deal"),
            ChangeAction.shipping_charge(f"{rng.randint(0, 900) / 100:.2f}"),
        ]
    )
    return rng.choice(
        [
            RequestChange(order_id=order_id, actions=(action,), reason="asked", actor="sales"),
            ApproveChange(order_id=order_id, change_id=cid, actor="manager"),
            DeclineChange(order_id=order_id, change_id=cid, reason="no", actor="manager"),
        ]
    )


def _return_step(rng: random.Random, service: Any, order_id: str) -> Any:
    order = service.get_order(order_id)
    rid = _pick(rng, [r.id for r in order.returns], "R")
    line_id = rng.choice(["L1", "L2"])
    choices: list[Any] = [
        RequestReturn(
            order_id=order_id,
            lines=(ReturnItem(line_id, rng.randint(1, 2), rng.choice(["no_reason", "defective"])),),
            actor="cs",
        ),
        ApproveReturn(order_id=order_id, return_id=rid, reason="ok", actor="cs:lead"),
        RejectReturn(order_id=order_id, return_id=rid, reason="worn", actor="cs:lead"),
    ]
    for order_return in order.returns:
        if order_return.id == rid:
            inspections = tuple(
                Inspection(
                    line.line_id,
                    line.quantity,
                    rng.choice([InspectionOutcome.RESTOCK, InspectionOutcome.WRITE_OFF]),
                    "W2",
                )
                if rng.random() < 0.5
                else Inspection(line.line_id, line.quantity, InspectionOutcome.RESTOCK, "W1")
                for line in order_return.lines
            )
            choices.append(
                ReceiveReturn(
                    order_id=order_id,
                    return_id=rid,
                    inspections=inspections,
                    refund_to=rng.choice(["original_payment", "store_credit"]),
                    actor="dock",
                )
            )
    return rng.choice(choices)


def _check_everything(service: Any, gateway: FakePaymentGateway, order_id: str) -> None:
    order = service.get_order(order_id)
    figures = order.payment_figures
    assert figures.paid - figures.refunded == sum((p.net for p in order.payments), Decimal(0))
    assert figures.balance_due - figures.customer_credit == order.amount_owed - figures.net_paid
    assert order.amount_owed == (
        order.totals.grand_total - sum((n.amount for n in order.credit_notes), Decimal(0))
    )
    net_card = sum((p.net for p in order.payments if p.method is PaymentMethod.CARD), Decimal(0))
    assert gateway.captured(order_id) - gateway.refunded(order_id) == net_card
    assert service.reconcile_stock() == ()
    shipped = order.shipped_quantities()
    held: dict[str, Decimal] = {}
    for reservation in service.reservations(order_id):
        held[reservation.line_id] = held.get(reservation.line_id, Decimal(0)) + reservation.open
    for order_line in order.lines:
        unshipped = order_line.open_quantity - shipped.get(order_line.line_id, Decimal(0))
        assert held.get(order_line.line_id, Decimal(0)) == unshipped - order_line.backordered


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_payments_changes_and_returns_interleaved_stay_exact(store: Any, seed: int) -> None:
    """Random payments and changes on a confirmed order, then shipment and delivery, then random
    payments and returns: after every accepted step the money and the stock agree, and a refused
    step changes nothing."""
    gateway = FakePaymentGateway()
    clock = ManualClock(T0)
    service = _after_sales_service(store, clock, gateway)
    order_id = service.handle(
        new_order(line("SKU-A", 3, "13.37"), line("SKU-B", 2, "4.99"), confirm=True)
    ).order_id
    rng = random.Random(seed)
    accepted: dict[str, int] = {}

    def attempt(command: Any) -> None:
        clock.advance(dt.timedelta(minutes=1))
        before = service.get_order(order_id)
        try:
            service.handle(command)
        except SalesOrdersError:
            assert service.get_order(order_id) == before
            return
        kind = type(command).__name__
        accepted[kind] = accepted.get(kind, 0) + 1
        _check_everything(service, gateway, order_id)

    for _ in range(60):
        attempt(
            _payment_step(rng, service, order_id)
            if rng.random() < 0.5
            else _change_step(rng, service, order_id)
        )
    for change in service.get_order(order_id).changes:
        if change.awaiting_review:
            attempt(DeclineChange(order_id=order_id, change_id=change.id, reason="shipping"))
    attempt(ShipOrder(order_id=order_id, tracking_number="T-1"))
    attempt(DeliverOrder(order_id=order_id))
    assert service.get_order(order_id).state == "delivered"
    for _ in range(60):
        attempt(
            _payment_step(rng, service, order_id)
            if rng.random() < 0.4
            else _return_step(rng, service, order_id)
        )
    # every flow moved: money, changes and returns were accepted in the same sequence
    assert accepted.get("CapturePayment", 0) + accepted.get("ApprovePayment", 0) >= 1
    assert accepted.get("ApproveChange", 0) >= 1
    assert accepted.get("RefundPayment", 0) + accepted.get("ReceiveReturn", 0) >= 2, accepted
    assert accepted.get("ReceiveReturn", 0) >= 1, accepted
