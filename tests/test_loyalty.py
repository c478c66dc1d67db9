"""Loyalty points on every store: earned on completed orders, taken back exactly in proportion
to what was refunded, redeemed as a payment through the order's payments, expired oldest
first; and a property test that the balance is the sum of the ledger and that the reversals of
an order always come to its share of what was refunded."""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Callable, Iterator, Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesorders.domain.loyalty import LoyaltyEntry, LoyaltyProgram, balance, settlement
from salesorders.domain.payments import PaymentMethod
from salesorders.errors import ValidationError
from salesorders.service import (
    ApproveReturn,
    CompleteOrder,
    ManualClock,
    PlaceOrder,
    ReceiveReturn,
    RequestReturn,
    ReturnItem,
    SalesService,
)
from salesorders.service.customers import RegisterCustomer
from salesorders.service.loyalty import AccruePoints, PointsReview, RedeemPoints
from salesorders.testing.fakes import FakePaymentGateway
from support.returns import DAY, T0, delivered_order, restock, returns_service, spec
from support.stores import STORE_KINDS, fresh_store

PROGRAM = LoyaltyProgram("USD", points_per_unit=Decimal(1), point_value=Decimal("0.10"))


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def service(store: Any, clock: ManualClock) -> SalesService:
    built = returns_service(store, clock, FakePaymentGateway(), loyalty=PROGRAM)
    built.handle(RegisterCustomer(customer_id="C-1", name="Alice"))
    return built


def _completed(service: SalesService, clock: ManualClock) -> str:
    order_id = delivered_order(
        service, clock, (spec("SKU-A", 3, "10.00"), spec("SKU-B", 1, "5.00"))
    )
    service.handle(CompleteOrder(order_id=order_id))
    return order_id


def _return(service: SalesService, order_id: str, return_id: str, quantity: int) -> None:
    service.handle(
        RequestReturn(order_id=order_id, lines=(ReturnItem("L1", quantity, "defective"),))
    )
    service.handle(ApproveReturn(order_id=order_id, return_id=return_id, actor="lee"))
    service.handle(
        ReceiveReturn(
            order_id=order_id, return_id=return_id, inspections=(restock("L1", quantity),)
        )
    )


def _kinds(review: PointsReview) -> list[tuple[str, int, int]]:
    return [(p.entry.kind, p.entry.points, p.balance) for p in review.posted]


def test_a_completed_order_earns_once_and_returns_take_back_exactly_their_share(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    order_id = _completed(service, clock)
    assert _kinds(service.handle(AccruePoints())) == [("earn", 35, 35)]
    assert service.handle(AccruePoints()).posted == ()  # settled: nothing more
    _return(service, order_id, "R1", 1)  # 10.00 of 35.00 refunded
    assert _kinds(service.handle(AccruePoints(customer_id="C-1"))) == [("reverse", -10, 25)]
    _return(service, order_id, "R2", 2)
    assert _kinds(service.handle(AccruePoints())) == [("reverse", -20, 5)]
    record = service.get_customer("C-1")
    assert record.points_balance == balance(record.points) == 5
    with store.read() as uow:
        told = uow.outbox.messages("customer:C-1")
    assert [(m.event_type, m.payload["points"], m.payload["balance"]) for m in told] == [
        ("PointsEarned", 35, 35),
        ("PointsReversed", -10, 25),
        ("PointsReversed", -20, 5),
    ]


def test_points_pay_an_order_through_its_payments(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    _completed(service, clock)
    service.handle(AccruePoints())
    placed = service.handle(
        PlaceOrder(customer_id="C-1", currency="USD", lines=(spec("SKU-C", 1, "9.00"),))
    )
    paid = service.handle(RedeemPoints(order_id=placed.order_id, points=30, payment_id="LP1"))
    assert paid.balance_due is not None and paid.balance_due.amount == Decimal("6.00")
    order = service.get_order(placed.order_id)
    (payment,) = order.payments
    assert (payment.method, payment.captured, payment.reference) == (
        PaymentMethod.LOYALTY_POINTS, Decimal("3.00"), "P2",
    )  # fmt: skip
    record = service.get_customer("C-1")
    assert record.points_balance == 5
    assert (record.points[-1].kind, record.points[-1].points) == ("redeem", -30)

    with pytest.raises(ValidationError) as caught:
        service.handle(RedeemPoints(order_id=placed.order_id, points=6))
    assert caught.value.field == "points"  # only 5 held
    with pytest.raises(ValidationError) as caught:
        service.handle(RedeemPoints(order_id=placed.order_id, points=0))
    assert caught.value.field == "points"
    assert service.get_customer("C-1").points_balance == 5
    assert len(service.get_order(placed.order_id).payments) == 1


def test_points_pay_no_more_than_the_balance_due(service: SalesService, clock: ManualClock) -> None:
    _completed(service, clock)
    service.handle(AccruePoints())
    placed = service.handle(
        PlaceOrder(customer_id="C-1", currency="USD", lines=(spec("SKU-C", 1, "1.00"),))
    )
    with pytest.raises(ValidationError) as caught:
        service.handle(RedeemPoints(order_id=placed.order_id, points=11))
    assert caught.value.field == "points"
    assert service.get_customer("C-1").points_balance == 35


def test_unspent_points_expire_oldest_first(service: SalesService, clock: ManualClock) -> None:
    _completed(service, clock)
    service.handle(AccruePoints())
    placed = service.handle(
        PlaceOrder(customer_id="C-1", currency="USD", lines=(spec("SKU-C", 1, "9.00"),))
    )
    service.handle(RedeemPoints(order_id=placed.order_id, points=10))
    clock.advance(dt.timedelta(days=366))
    assert _kinds(service.handle(AccruePoints())) == [("expire", -25, 0)]
    assert service.handle(AccruePoints()).posted == ()


def test_points_need_a_program(store: Any, clock: ManualClock) -> None:
    plain = returns_service(store, clock, FakePaymentGateway())
    with pytest.raises(ValidationError) as caught:
        plain.handle(AccruePoints())
    assert caught.value.field == "loyalty"


# --------------------------------------------------------------------------- properties

_Settle = Callable[
    [Sequence[LoyaltyEntry], Sequence[Any], LoyaltyProgram, dt.datetime], list[LoyaltyEntry]
]


def _order(order_id: str, total: Decimal, refunded: Decimal) -> Any:
    card = types.SimpleNamespace(
        id="P1", method=PaymentMethod.CARD, refunded=refunded, captured=total
    )
    return types.SimpleNamespace(
        id=order_id,
        currency="USD",
        state="completed",
        totals=types.SimpleNamespace(grand_total=total),
        payments=(card,),
    )


def check_ledger(
    settle: _Settle, totals: list[Decimal], refunds: list[tuple[int, Decimal]]
) -> None:
    """Orders of ``totals`` completed, then refunded step by step (``(order, share)``), the
    ledger settled after each step: the balance is the sum of the entries, a second settlement
    posts nothing, and each order keeps exactly its share of what it earned."""
    program = LoyaltyProgram("USD", points_per_unit=Decimal(3))
    refunded = [Decimal(0)] * len(totals)
    entries: list[LoyaltyEntry] = []
    at = T0
    for step in [None, *refunds]:
        if step is not None:
            index, share = step
            refunded[index] = min(
                totals[index], refunded[index] + (totals[index] * share).quantize(Decimal("0.01"))
            )
        orders = [_order(f"O{i}", t, refunded[i]) for i, t in enumerate(totals)]
        entries += settle(entries, orders, program, at)
        assert settle(entries, orders, program, at) == []
        assert balance(entries) == sum(e.points for e in entries) >= 0
        for i, total in enumerate(totals):
            earned = sum(e.points for e in entries if e.order_id == f"O{i}" and e.kind == "earn")
            kept = sum(e.points for e in entries if e.order_id == f"O{i}")
            assert earned == program.points_for(total)
            share = (earned * (total - refunded[i]) / total) if total else Decimal(earned)
            assert kept == int(share // 1), (i, earned, kept, refunded[i], total)
        at += DAY


_TOTALS = st.lists(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2),
    min_size=1,
    max_size=4,
)


@given(data=st.data(), totals=_TOTALS)
def test_the_balance_is_the_ledgers_sum_and_reversals_keep_exactly_the_refunded_share(
    data: st.DataObject, totals: list[Decimal]
) -> None:
    refunds = data.draw(
        st.lists(
            st.tuples(
                st.integers(0, len(totals) - 1),
                st.decimals(min_value=Decimal("0.01"), max_value=Decimal(1), places=2),
            ),
            max_size=6,
        )
    )
    check_ledger(settlement, totals, refunds)


def _rounded_half_up(
    entries: Sequence[LoyaltyEntry], orders: Sequence[Any], program: LoyaltyProgram, at: dt.datetime
) -> list[LoyaltyEntry]:
    """A broken settlement: what the customer keeps of an order is rounded half up, so a refund
    can leave them more than their share of the points."""
    new = [e for e in settlement(entries, orders, program, at) if e.kind == "earn"]
    for order in orders:
        ledger = [*entries, *new]
        earned = sum(e.points for e in ledger if e.order_id == order.id and e.kind == "earn")
        kept = sum(e.points for e in ledger if e.order_id == order.id)
        total, refunded = order.totals.grand_total, order.payments[0].refunded
        keep = int((earned * (total - refunded) / total).quantize(Decimal(1), ROUND_HALF_UP))
        if keep < kept:
            new.append(LoyaltyEntry(f"X{len(ledger)}", "reverse", keep - kept, at, order.id))
    return new


def test_the_checker_catches_a_settlement_whose_reversals_drift() -> None:
    with pytest.raises(AssertionError):
        check_ledger(
            _rounded_half_up,
            [Decimal("10.00")],
            [(0, Decimal("0.15"))],
        )
