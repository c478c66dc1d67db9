"""Retention figures on every store: repeat-purchase rate by tier, the customers lapsing, and
the loyalty points outstanding with what they are worth."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from salesorders.analytics import LapsingCustomer, RetentionQuery, TierRetention
from salesorders.customers import (
    AccruePoints,
    EvaluateTiers,
    LoyaltyProgram,
    MembershipTiers,
    RegisterCustomer,
    Tier,
)
from salesorders.errors import ValidationError
from salesorders.privacy import AnonymizeCustomer
from salesorders.service import (
    CancelOrder,
    CompleteOrder,
    ManualClock,
    PlaceOrder,
    SalesService,
)
from salesorders.testing.fakes import FakePaymentGateway
from support.returns import DAY, T0, delivered_order, returns_service, spec
from support.stores import STORE_KINDS, fresh_store

TIERS = MembershipTiers((Tier("regular"), Tier("silver", min_orders=2)), "USD")


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def service(store: Any, clock: ManualClock) -> SalesService:
    built = returns_service(
        store, clock, FakePaymentGateway(), tiers=TIERS,
        loyalty=LoyaltyProgram("USD", point_value=Decimal("0.05")),
    )  # fmt: skip
    for customer_id in ("C-1", "C-2", "C-3", "C-4"):
        built.handle(RegisterCustomer(customer_id=customer_id))
    return built


def _delivered_to_c1(service: SalesService, clock: ManualClock, price: str) -> str:
    return delivered_order(service, clock, (spec("SKU-A", 1, price),))


def _place(service: SalesService, customer: str) -> str:
    line = spec("SKU-B", 1, "1.00")
    command = PlaceOrder(customer_id=customer, currency="USD", lines=(line,), confirm=True)
    return service.handle(command).order_id


def test_repeat_rate_by_tier_lapsing_customers_and_points_liability(
    service: SalesService, clock: ManualClock
) -> None:
    first = _delivered_to_c1(service, clock, "10.00")
    service.handle(CompleteOrder(order_id=first))
    clock.advance(30 * DAY)
    _delivered_to_c1(service, clock, "20.00")
    _place(service, "C-2")
    cancelled = _place(service, "C-3")
    service.handle(CancelOrder(order_id=cancelled, reason="changed mind"))
    service.handle(EvaluateTiers())
    service.handle(AccruePoints())  # C-1 earns 10 points on the completed order
    clock.advance(100 * DAY)
    late = _place(service, "C-2")
    assert late

    report = service.retention(RetentionQuery(clock.now(), lapse_after=dt.timedelta(days=90)))
    # C-1 bought twice (silver); C-2 twice, the second after the evaluation (regular); C-3's
    # only order was cancelled; C-4 never ordered
    assert report.tiers == (
        TierRetention("regular", customers=3, buyers=1, repeat_buyers=1),
        TierRetention("silver", customers=1, buyers=1, repeat_buyers=1),
    )
    silver = {t.tier: t for t in report.tiers}["silver"]
    assert silver.repeat_rate == Decimal(1)
    assert [(c.customer_id, c.tier) for c in report.lapsing] == [("C-1", "silver")]
    assert report.lapsing[0].days >= 100
    assert (report.points_outstanding, report.points_liability, report.currency) == (
        10, Decimal("0.50"), "USD",
    )  # fmt: skip


def test_an_anonymized_customer_is_not_listed_as_lapsing(
    service: SalesService, clock: ManualClock
) -> None:
    first = _delivered_to_c1(service, clock, "10.00")
    service.handle(CompleteOrder(order_id=first))
    clock.advance(200 * DAY)
    query = RetentionQuery(clock.now())
    assert [c.customer_id for c in service.retention(query).lapsing] == ["C-1"]
    service.handle(AnonymizeCustomer(customer_id="C-1", reason="erasure request"))
    assert service.retention(query).lapsing == ()
    assert isinstance(LapsingCustomer, type)


def test_the_query_is_checked(service: SalesService) -> None:
    with pytest.raises(ValidationError) as caught:
        RetentionQuery(T0, lapse_after=dt.timedelta(0))
    assert caught.value.field == "lapse_after"
    with pytest.raises(ValidationError) as caught:
        RetentionQuery(dt.datetime(2026, 1, 1))
    assert caught.value.field == "at"
    with pytest.raises(ValidationError) as caught:
        service.retention("2026-01-01")  # type: ignore[arg-type]
    assert caught.value.field == "query"
