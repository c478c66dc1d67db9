"""The return policy: the built-in windows per SKU and category, restocking fees and shipping
refunds, the eligibility query on every store, a host's own policy, and the policy kit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from salesorders.domain.return_policy import ReturnReason, ReturnWindow, StandardReturnPolicy
from salesorders.errors import ReturnWindowError, ValidationError
from salesorders.service import (
    ApproveReturn,
    ManualClock,
    PlaceOrder,
    ReceiveReturn,
    RequestReturn,
    ReturnItem,
    SalesService,
)
from salesorders.testing.fakes import FakePaymentGateway
from salesorders.testing.return_policies import ReturnPolicyContract, check_return_policy
from support.returns import DAY, T0, delivered_order, restock, returns_service, spec
from support.stores import STORE_KINDS, fresh_store
from test_fulfilment import _refused

POLICY = StandardReturnPolicy(
    by_category={"food": ReturnWindow(0, 3), "furniture": ReturnWindow(14, 60, Decimal("10"))},
    by_sku={"SKU-C": ReturnWindow(2, 5)},
    categories={"SKU-A": "furniture", "SKU-B": "food", "SKU-C": "furniture"},
)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def service(store: Any, clock: ManualClock) -> SalesService:
    return returns_service(store, clock, FakePaymentGateway(), return_policy=POLICY)


def _receive(service: SalesService, order_id: str, item: ReturnItem) -> Decimal:
    """Request, approve and receive ``item``; the credit note's amount."""
    service.handle(RequestReturn(order_id=order_id, lines=(item,)))
    return_id = service.get_order(order_id).returns[-1].id
    service.handle(ApproveReturn(order_id=order_id, return_id=return_id, actor="lee"))
    service.handle(
        ReceiveReturn(
            order_id=order_id,
            return_id=return_id,
            inspections=(restock(item.line_id, item.quantity),),  # type: ignore[arg-type]
        )
    )
    return service.get_order(order_id).credit_notes[-1].amount


# --------------------------------------------------------------------------- the built-in policy


def test_the_default_policy_gives_seven_days_without_reason_and_thirty_for_a_fault() -> None:
    policy = StandardReturnPolicy()
    assert policy.window_days("ANY", ReturnReason.NO_REASON) == 7
    assert policy.window_days("ANY", ReturnReason.DEFECTIVE) == 30
    assert policy.restocking_fee("ANY", ReturnReason.NO_REASON) == 0
    assert policy.refunds_shipping("ANY", ReturnReason.DAMAGED)
    assert not policy.refunds_shipping("ANY", ReturnReason.NO_REASON)


def test_a_skus_window_comes_before_its_categorys_and_the_default() -> None:
    assert POLICY.window_days("SKU-C", ReturnReason.NO_REASON) == 2
    assert POLICY.window_days("SKU-A", ReturnReason.NO_REASON) == 14
    assert POLICY.window_days("SKU-B", ReturnReason.NO_REASON) == 0
    assert POLICY.window_days("OTHER", ReturnReason.WRONG_ITEM) == 30
    assert POLICY.restocking_fee("SKU-A", ReturnReason.NO_REASON) == Decimal("10")
    assert POLICY.restocking_fee("SKU-A", ReturnReason.DEFECTIVE) == 0


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: ReturnWindow(-1, 30), "no_reason_days"),
        (lambda: ReturnWindow(7, 4000), "seller_fault_days"),
        (lambda: ReturnWindow(7, 30, Decimal("150")), "restocking_fee"),
        (lambda: StandardReturnPolicy(by_sku={"SKU-A": 7}), "windows[SKU-A]"),
        (lambda: StandardReturnPolicy(categories={"SKU-A": ""}), "categories[SKU-A]"),
        (
            lambda: StandardReturnPolicy(refund_shipping_without_reason="yes"),
            "refund_shipping_without_reason",
        ),
    ],
)
def test_a_bad_policy_is_refused_naming_the_field(build: Any, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        build()
    assert caught.value.field == field


def test_bootstrap_refuses_something_that_is_not_a_return_policy(store: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        returns_service(store, ManualClock(T0), FakePaymentGateway(), return_policy=object())
    assert caught.value.field == "return_policy"


# --------------------------------------------------------------------------- through the service


def test_eligibility_says_which_lines_may_come_back_until_when_and_why_not(
    service: SalesService, clock: ManualClock
) -> None:
    order_id = delivered_order(
        service, clock, (spec("SKU-A", 2, "100.00"), spec("SKU-B", 1, "5.00"))
    )
    delivered_at = clock.now()
    sofa, bread = service.return_eligibility(order_id)
    assert (sofa.line_id, sofa.delivered, sofa.returnable, sofa.eligible) == (
        "L1",
        Decimal(2),
        Decimal(2),
        True,
    )
    assert sofa.no_reason_until == delivered_at + 14 * DAY
    assert sofa.seller_fault_until == delivered_at + 60 * DAY
    assert sofa.restocking_fee == Decimal("10")
    assert (bread.no_reason_until, bread.seller_fault_until) == (None, delivered_at + 3 * DAY)
    clock.advance(4 * DAY)
    bread = service.return_eligibility(order_id)[1]
    assert not bread.eligible
    assert "window ended" in bread.why_not


def test_a_sku_without_a_no_reason_window_takes_only_seller_fault_returns(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    order_id = delivered_order(service, clock, (spec("SKU-B", 2, "5.00"),))
    command = RequestReturn(order_id=order_id, lines=(ReturnItem("L1", 1, "no_reason"),))
    error = _refused(service, store, order_id, command, ReturnWindowError)
    assert "not returnable" in str(error)
    service.handle(RequestReturn(order_id=order_id, lines=(ReturnItem("L1", 1, "damaged"),)))


def test_eligibility_of_an_order_not_yet_delivered_says_why(
    service: SalesService, clock: ManualClock
) -> None:
    placed = service.handle(
        PlaceOrder(
            customer_id="C-1", currency="USD", lines=(spec("SKU-A", 1, "9.00"),), confirm=True
        )
    )
    (line,) = service.return_eligibility(placed.order_id)
    assert (line.eligible, line.why_not) == (False, "nothing of it was delivered")


def test_a_no_reason_return_pays_the_restocking_fee_and_no_shipping(
    service: SalesService, clock: ManualClock
) -> None:
    order_id = delivered_order(service, clock, (spec("SKU-A", 2, "100.00"),), shipping="10.00")
    assert _receive(service, order_id, ReturnItem("L1", 1, "no_reason")) == Decimal("90.00")
    note = service.get_order(order_id).credit_notes[-1]
    assert [(x.goods, x.shipping, x.fee) for x in note.lines] == [
        (Decimal("100.00"), Decimal(0), Decimal("10.00"))
    ]


def test_a_seller_fault_return_refunds_its_share_of_shipping_without_a_fee(
    service: SalesService, clock: ManualClock
) -> None:
    order_id = delivered_order(service, clock, (spec("SKU-A", 3, "100.00"),), shipping="10.00")
    amounts = [_receive(service, order_id, ReturnItem("L1", 1, "defective")) for _ in range(3)]
    assert amounts == [Decimal("103.33"), Decimal("103.34"), Decimal("103.33")]
    assert sum(amounts) == Decimal("310.00")


# --------------------------------------------------------------------------- a host's policy


class NoReturns:
    """A host policy: nothing comes back, ever."""

    def window_days(self, sku: str, reason: ReturnReason) -> int:
        return 0

    def restocking_fee(self, sku: str, reason: ReturnReason) -> Decimal:
        return Decimal(0)

    def refunds_shipping(self, sku: str, reason: ReturnReason) -> bool:
        return False


def test_a_host_policy_decides_what_comes_back(store: Any) -> None:
    clock = ManualClock(T0)
    service = returns_service(store, clock, FakePaymentGateway(), return_policy=NoReturns())
    order_id = delivered_order(service, clock, (spec("SKU-A", 1, "9.00"),))
    command = RequestReturn(order_id=order_id, lines=(ReturnItem("L1", 1, "defective"),))
    _refused(service, store, order_id, command, ReturnWindowError)


# --------------------------------------------------------------------------- the kit


class TestTheBuiltInPolicyKeepsTheKit(ReturnPolicyContract):
    max_examples = 50
    skus = ("SKU-A", "SKU-B", "SKU-C", "OTHER")

    def make_policy(self) -> StandardReturnPolicy:
        return POLICY


class TestAHostPolicyKeepsTheKit(ReturnPolicyContract):
    max_examples = 30

    def make_policy(self) -> NoReturns:
        return NoReturns()


class Greedy(NoReturns):
    """A broken policy: a fee beyond 100 % and a window of days given as a float."""

    def window_days(self, sku: str, reason: ReturnReason) -> int:
        return 7.5  # type: ignore[return-value]

    def restocking_fee(self, sku: str, reason: ReturnReason) -> Decimal:
        return Decimal("150")


class Moody(NoReturns):
    """A broken policy: its answer changes from one call to the next."""

    def __init__(self) -> None:
        self.calls = 0

    def window_days(self, sku: str, reason: ReturnReason) -> int:
        self.calls += 1
        return self.calls % 3


def test_the_kit_catches_a_policy_with_impossible_answers() -> None:
    with pytest.raises(AssertionError, match="answers: window_days"):
        check_return_policy(Greedy(), rules=["answers"])
    with pytest.raises(AssertionError, match="restocking_fee"):
        check_return_policy(Greedy(), rules=["answers"])


def test_the_kit_catches_a_policy_that_changes_its_mind() -> None:
    with pytest.raises(AssertionError, match="determinism"):
        check_return_policy(Moody(), rules=["determinism"])


def test_the_kit_refuses_unknown_rules_and_no_skus() -> None:
    with pytest.raises(ValidationError) as caught:
        check_return_policy(NoReturns(), rules=["speed"])
    assert caught.value.field == "rules"
    with pytest.raises(ValidationError) as caught:
        check_return_policy(NoReturns(), skus=[])
    assert caught.value.field == "skus"


def test_eligibility_needs_an_aware_time(service: SalesService) -> None:
    with pytest.raises(ValidationError):
        service.return_eligibility("nope", dt.datetime(2026, 1, 1))
