"""Named regression: Medusa #13068 — the difference due after an order was edited once paid.

An order is paid in full, then edited. The amount still due must be exactly what the edit added
(the new grand total less what was paid, to the cent), not the whole new total nor a figure off by
the discount spread; an edit that lowers the total must report exactly what to refund, and
refunding it through the payment flow must leave the order paid with nothing due and no credit.
Checked on every store, with an order discount and tax so the cents are spread over the lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money

from salesorders.domain.changes import ChangeAction
from salesorders.domain.pricing import Discount, TaxComponent
from salesorders.domain.warehouse import Warehouse
from salesorders.service import (
    ApproveChange,
    AuthorizePayment,
    CapturePayment,
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RefundPayment,
    RegisterWarehouse,
    RequestChange,
    SalesService,
    bootstrap,
)
from salesorders.testing.fakes import FakePaymentGateway
from support.stores import STORE_KINDS, fresh_store
from test_fulfilment import T0

VAT = (TaxComponent("VAT", Decimal("0.0825")),)


@pytest.fixture(params=STORE_KINDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as store:
        built = bootstrap(
            store=store,
            clock=ManualClock(T0),
            sleep=lambda _s: None,
            payment_gateway=FakePaymentGateway(),
        )
        built.handle(RegisterWarehouse(warehouse=Warehouse("W1")))
        for sku in ("MUG", "TEE", "CAP"):
            built.handle(ReceiveStock(sku=sku, warehouse_id="W1", quantity=100))
        yield built


def _usd(amount: str) -> Money:
    return Money(amount, "USD")


def _paid_order(service: SalesService) -> tuple[str, Decimal]:
    """An order of three lines with VAT and 15 % off the order, captured in full."""
    placed = service.handle(
        PlaceOrder(
            customer_id="C-1",
            currency="USD",
            lines=(
                LineSpec("MUG", 3, _usd("7.99"), taxes=VAT),
                LineSpec("TEE", 1, _usd("19.95"), taxes=VAT),
            ),
            discounts=(Discount.percentage(15),),
            confirm=True,
        )
    )
    total = placed.grand_total.amount
    service.handle(AuthorizePayment(order_id=placed.order_id, amount=total))
    paid = service.handle(CapturePayment(order_id=placed.order_id, payment_id="P1"))
    assert (paid.payment_status, paid.balance_due) == ("paid", _usd("0.00"))
    return placed.order_id, total


def test_medusa_13068_edit_after_payment_leaves_exactly_the_difference_due(
    service: SalesService,
) -> None:
    order_id, paid = _paid_order(service)
    # 43.92 less 15 % (6.59, spread 3.60 and 2.99) = 37.33 net; VAT 1.68 + 1.40.
    assert paid == Decimal("40.41")
    requested = service.handle(
        RequestChange(
            order_id=order_id,
            actions=(
                ChangeAction.set_quantity("L1", 4),
                ChangeAction.add_line("CAP", 2, _usd("4.45"), taxes=VAT),
            ),
            reason="customer adds two caps and a mug",
            actor="ann",
        )
    )
    preview = requested.preview
    new_total = preview.totals.grand_total
    # 60.81 less 15 % (9.12) = 51.69 net; VAT 2.24 + 1.40 + 0.62 = 4.26.
    assert new_total == Decimal("55.95")
    assert preview.difference == _usd("15.54")
    assert preview.difference_due == _usd("15.54")
    assert (preview.balance_due, preview.refund_due) == (new_total - paid, Decimal(0))
    approved = service.handle(ApproveChange(order_id=order_id, change_id="C1", actor="bob"))
    assert approved.order.grand_total == _usd("55.95")
    assert approved.order.balance_due == _usd("15.54")  # not 55.95: the payment counts
    assert approved.order.payment_status == "partially_paid"
    assert approved.preview == preview  # nothing moved between request and approval
    service.handle(AuthorizePayment(order_id=order_id, amount=approved.order.balance_due))
    settled = service.handle(CapturePayment(order_id=order_id, payment_id="P2"))
    assert (settled.payment_status, settled.balance_due) == ("paid", _usd("0.00"))
    order = service.get_order(order_id)
    assert sum(ln.gross for ln in order.lines) == order.totals.grand_total


def test_medusa_13068_edit_that_lowers_a_paid_order_reports_the_exact_refund(
    service: SalesService,
) -> None:
    order_id, paid = _paid_order(service)
    requested = service.handle(
        RequestChange(
            order_id=order_id,
            actions=(ChangeAction.set_quantity("L1", 1),),
            reason="two mugs no longer wanted",
            actor="ann",
        )
    )
    preview = requested.preview
    # 27.94 less 15 % (4.19) = 23.75 net; VAT 0.56 + 1.40 = 1.96.
    assert preview.totals.grand_total == Decimal("25.71")
    assert preview.refund == _usd("14.70")
    assert preview.refund_due == paid - preview.totals.grand_total
    assert (preview.balance_due, preview.difference_due) == (Decimal(0), _usd("0.00"))
    approved = service.handle(ApproveChange(order_id=order_id, change_id="C1", actor="bob"))
    assert (approved.order.payment_status, approved.order.customer_credit) == (
        "overpaid",
        _usd("14.70"),
    )
    refunded = service.handle(
        RefundPayment(
            order_id=order_id,
            payment_id="P1",
            amount=approved.preview.refund,
            reason="change C1",
        )
    )
    assert (refunded.payment_status, refunded.balance_due, refunded.customer_credit) == (
        "paid",
        _usd("0.00"),
        _usd("0.00"),
    )
