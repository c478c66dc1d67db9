"""Properties of refunds, through the service: any sequence of partial returns never refunds more
than was paid for the units returned, and returning everything refunds exactly what was paid, to
the cent, in currencies with 0, 2, 3 and 4 minor-unit digits (JPY, EUR, KWD, CLF), with order
discounts, taxes and shipping. The first test runs many examples on the memory store; the second
runs a few on every store."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moneyed import Money

from salesorders.adapters.memory import MemoryStore
from salesorders.domain.money import currency_exponent
from salesorders.domain.pricing import Discount, TaxComponent
from salesorders.service import (
    ApproveReturn,
    LineSpec,
    ManualClock,
    ReceiveReturn,
    ReceiveStock,
    RequestReturn,
    ReturnItem,
    SalesService,
)
from salesorders.testing.fakes import FakePaymentGateway
from support.returns import T0, delivered_order, restock, returns_service, write_off
from support.stores import STORE_KINDS, fresh_store

CURRENCIES = ("JPY", "EUR", "KWD", "CLF")
REASONS = ("defective", "damaged", "wrong_item", "not_as_described")

#: (currency, [(quantity, price in minor units, tax rate in percent)], order discount percent,
#: shipping in minor units, [(line index, units)] partial returns (trimmed to what is left))
Case = tuple[str, list[tuple[int, int, int]], int, int, list[tuple[int, int]]]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    currency = draw(st.sampled_from(CURRENCIES))
    lines = draw(
        st.lists(
            st.tuples(st.integers(1, 5), st.integers(1, 10**6), st.sampled_from([0, 7, 19])),
            min_size=1,
            max_size=3,
        )
    )
    discount = draw(st.sampled_from([0, 3, 15, 33]))
    shipping = draw(st.sampled_from([0, 1, 499, 12345]))
    returns = draw(
        st.lists(st.tuples(st.integers(0, len(lines) - 1), st.integers(1, 5)), max_size=6)
    )
    return currency, lines, discount, shipping, returns


def _money(minor: int, currency: str) -> str:
    return str(Decimal(minor).scaleb(-currency_exponent(currency)))


def _run(service: SalesService, clock: ManualClock, case: Case, finish: bool) -> None:
    currency, specs, discount, shipping, steps = case
    lines = tuple(
        LineSpec(
            sku=f"SKU-{index}",
            quantity=quantity,
            unit_price=Money(_money(price, currency), currency),
            taxes=(TaxComponent("VAT", Decimal(rate) / 100),) if rate else (),
        )
        for index, (quantity, price, rate) in enumerate(specs)
    )
    for line in lines:
        service.handle(ReceiveStock(sku=line.sku, warehouse_id="W1", quantity=line.quantity))
    order_id = delivered_order(
        service,
        clock,
        lines,
        currency=currency,
        discounts=(Discount.percentage(discount),) if discount else (),
        shipping=_money(shipping, currency) if shipping else None,
    )
    order = service.get_order(order_id)
    paid = order.payment_figures.net_paid
    gross = {line.line_id: line.gross for line in order.lines}
    left = {line.line_id: line.quantity for line in order.lines}
    plan = [(f"L{index + 1}", units) for index, units in steps]
    if finish:
        plan += [(line_id, int(left[line_id])) for line_id in sorted(left)]
    refunded = Decimal(0)
    for number, (line_id, wanted) in enumerate(plan):
        units = min(Decimal(wanted), left[line_id])
        if not units:
            continue
        reason = REASONS[number % len(REASONS)]
        service.handle(
            RequestReturn(order_id=order_id, lines=(ReturnItem(line_id, units, reason),))
        )
        return_id = service.get_order(order_id).returns[-1].id
        service.handle(ApproveReturn(order_id=order_id, return_id=return_id, actor="lee"))
        inspection = restock(line_id, units) if number % 2 else write_off(line_id, units)
        service.handle(
            ReceiveReturn(order_id=order_id, return_id=return_id, inspections=(inspection,))
        )
        left[line_id] -= units
        order = service.get_order(order_id)
        note = order.credit_notes[-1]
        refunded += note.amount
        # Never more than was paid for the units back so far: per line, within the goods'
        # gross, and in all within what was paid.
        for credit in note.lines:
            back = sum(
                (c.goods for n in order.credit_notes for c in n.lines if c.line_id == line_id),
                Decimal(0),
            )
            assert back <= gross[credit.line_id]
            assert credit.amount >= 0
        assert refunded <= paid
        assert order.payment_figures.net_paid == paid - refunded
        assert order.balance_due.amount == 0
    assert service.reconcile_stock() == ()  # restocks went through the stock engine and ledger
    if finish:
        order = service.get_order(order_id)
        assert refunded == paid
        assert order.payment_figures.net_paid == 0
        assert order.amount_owed == 0
        assert order.return_status.value == "returned"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(), finish=st.booleans())
def test_partial_returns_never_refund_more_and_a_full_return_refunds_exactly(
    case: Case, finish: bool
) -> None:
    clock = ManualClock(T0)
    service = returns_service(MemoryStore(), clock, FakePaymentGateway())
    _run(service, clock, case, finish)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


def test_the_same_holds_on_every_store(store: Any) -> None:
    clock = ManualClock(T0)
    service = returns_service(store, clock, FakePaymentGateway())

    @settings(
        max_examples=6,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(case=cases())
    def full_returns_refund_exactly(case: Case) -> None:
        _run(service, clock, case, True)

    full_returns_refund_exactly()
