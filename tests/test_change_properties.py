"""Property checks of order changes: after every step of any sequence of change requests,
approvals, declines and partial shipments,

* the order's totals equal a fresh pricing of its resulting lines, discounts and shipping;
* the stock reserved for each line equals its unshipped quantity (stock is plentiful here);
* the balance due − customer credit == grand total − net paid, and a credit a change left is
  refunded exactly;
* stock and the ledger agree;
* ``at_revision(n)`` gives back the totals the order had at each revision;
* a refused step changes nothing.

With hypothesis through the service on the memory store, and a seeded sequence on every store.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moneyed import Money

from salesorders.adapters.memory import MemoryStore
from salesorders.domain.changes import ChangeAction
from salesorders.domain.order import LineSpec, Order
from salesorders.domain.pricing import Discount
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import SalesOrdersError
from salesorders.service import (
    ApproveChange,
    AuthorizePayment,
    CapturePayment,
    DeclineChange,
    ManualClock,
    ReceiveStock,
    RefundPayment,
    RegisterWarehouse,
    RequestChange,
    SalesService,
    ShipLine,
    ShipOrder,
    bootstrap,
)
from salesorders.testing.fakes import FakePaymentGateway
from support.stores import STORE_KINDS, fresh_store
from test_fulfilment import T0
from test_service_support import line, new_order

SKUS = ("SKU-A", "SKU-B", "SKU-C")
PRICES = ("0.99", "3.33", "10.00", "12.345")
# One step: (kind, line index, number, decide)
Step = tuple[str, int, int, str]
KINDS = ("quantity", "add", "remove", "price", "discount", "shipping", "ship", "pay", "refund")


def _service(store: Any) -> SalesService:
    built = bootstrap(
        store=store, clock=ManualClock(T0), sleep=lambda _s: None,
        payment_gateway=FakePaymentGateway(),
    )  # fmt: skip
    built.handle(RegisterWarehouse(warehouse=Warehouse("W1")))
    for sku in SKUS:
        built.handle(ReceiveStock(sku=sku, warehouse_id="W1", quantity=1_000))
    return built


def _fresh_totals(order: Order) -> object:
    """The totals of a new draft with the order's lines, discounts and shipping."""
    draft = Order.create("fresh", "C-1", order.currency, T0, pricing=order.pricing)
    draft.add_lines(
        [
            LineSpec(
                ln.sku, ln.open_quantity, ln.unit_price, discounts=ln.discounts, taxes=ln.taxes
            )
            for ln in order.lines
            if ln.open_quantity
        ],
        T0,
    )
    for discount in order.order_discounts:
        draft.apply_discount(discount, T0)
    if order.shipping is not None:
        draft.set_shipping(order.shipping.amount, T0, taxes=order.shipping.taxes)
    return draft.totals


def _check(service: SalesService, order_id: str, seen: dict[int, Decimal]) -> None:
    order = service.get_order(order_id)
    assert order.totals == _fresh_totals(order)
    shipped = order.shipped_quantities()
    held: dict[str, Decimal] = {}
    for reservation in service.reservations(order_id):
        held[reservation.line_id] = held.get(reservation.line_id, Decimal(0)) + reservation.open
    for ln in order.lines:
        assert held.get(ln.line_id, Decimal(0)) == ln.open_quantity - shipped.get(
            ln.line_id, Decimal(0)
        )
    on_order = {ln.line_id for ln in order.lines}
    assert all(not quantity for lid, quantity in held.items() if lid not in on_order)
    figures = order.payment_figures
    assert figures.balance_due - figures.customer_credit == (
        order.totals.grand_total - figures.net_paid
    )
    assert service.reconcile_stock() == ()  # stock and the ledger agree
    seen[order.revision] = order.totals.grand_total
    for number, total in seen.items():
        assert order.at_revision(number).totals.grand_total == total


def _action(order: Order, kind: str, index: int, number: int) -> ChangeAction | None:
    lines = [ln for ln in order.lines if ln.open_quantity]
    target = lines[index % len(lines)] if lines else None
    if kind == "add":
        return ChangeAction.add_line(SKUS[number % 3], 1 + number % 4, PRICES[number % 4])
    if kind == "discount":
        return ChangeAction.change_discounts([Discount.percentage(number % 30)] if number else [])
    if kind == "shipping":
        return ChangeAction.shipping_charge(Money(f"{number % 7}.95", "USD"))
    if target is None:
        return None
    if kind == "quantity":
        return ChangeAction.set_quantity(target.line_id, 1 + number % 6)
    if kind == "remove":
        return ChangeAction.remove_line(target.line_id)
    return ChangeAction.change_unit_price(target.line_id, PRICES[number % 4], "renegotiated")


def _refund_credit(service: SalesService, order: Order) -> None:
    """Give back what the customer paid beyond the grand total (after a change lowered it)."""
    credit = order.customer_credit.amount
    for payment in order.payments:
        take = min(credit, payment.refundable)
        if take > 0:
            service.handle(
                RefundPayment(order_id=order.id, payment_id=payment.id, amount=take, reason="C")
            )
            credit -= take
    if order.customer_credit.amount:
        assert service.get_order(order.id).customer_credit == Money(0, order.currency)


def _run(service: SalesService, steps: list[Step]) -> None:
    placed = service.handle(new_order(line("SKU-A", 2), line("SKU-B", 3, "4.50"), confirm=True))
    order_id = placed.order_id
    seen: dict[int, Decimal] = {}
    _check(service, order_id, seen)
    for kind, index, number, decide in steps:
        order = service.get_order(order_id)
        try:
            if kind == "ship":
                target = order.lines[index % len(order.lines)]
                service.handle(ShipOrder(order_id=order_id, lines=(ShipLine(target.line_id, 1),)))
            elif kind == "refund":
                _refund_credit(service, order)
            elif kind == "pay":
                amount = Money(f"{1 + number % 20}.25", "USD")
                paid = service.handle(AuthorizePayment(order_id=order_id, amount=amount))
                service.handle(
                    CapturePayment(order_id=order_id, payment_id=f"P{len(order.payments) + 1}")
                )
                assert paid.order_id == order_id
            else:
                action = _action(order, kind, index, number)
                if action is None:
                    continue
                requested = service.handle(
                    RequestChange(order_id=order_id, actions=(action,), reason="r", actor="ann")
                )
                decision: Any = (
                    DeclineChange(order_id=order_id, change_id=requested.change_id, reason="no")
                    if decide == "decline"
                    else ApproveChange(
                        order_id=order_id, change_id=requested.change_id, actor="bob"
                    )
                )
                service.handle(decision)
        except SalesOrdersError:
            pass
        _check(service, order_id, seen)


steps_strategy = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.integers(0, 5),
        st.integers(0, 40),
        st.sampled_from(("approve", "approve", "decline")),
    ),
    max_size=10,
)


@settings(max_examples=40, deadline=None)
@given(steps=steps_strategy)
def test_any_change_sequence_keeps_totals_stock_and_balance_exact(steps: list[Step]) -> None:
    _run(_service(MemoryStore()), steps)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


def test_a_seeded_change_sequence_holds_on_every_store(store: Any) -> None:
    rng = random.Random(13068)
    steps = [
        (rng.choice(KINDS), rng.randrange(6), rng.randrange(41), rng.choice(("approve", "decline")))
        for _ in range(24)
    ]
    _run(_service(store), steps)
