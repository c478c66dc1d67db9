"""Repairs on every store: a ticket tied to a delivered line moves through its stages one at a
time with notes, and closes with its cost charged to the customer or absorbed under warranty."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money

from salesorders.domain.repairs import RepairCharge, RepairStage
from salesorders.errors import (
    CurrencyMismatchError,
    InvalidQuantityError,
    OrderError,
    ValidationError,
)
from salesorders.service import (
    AdvanceRepair,
    CloseRepair,
    ManualClock,
    OpenRepair,
    RecordRepairNote,
    SalesService,
)
from salesorders.testing.fakes import FakePaymentGateway
from support.returns import T0, delivered_order, returns_service, spec
from support.stores import STORE_KINDS, fresh_store
from test_fulfilment import _refused, _types


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def service(store: Any, clock: ManualClock) -> SalesService:
    return returns_service(store, clock, FakePaymentGateway())


def _opened(service: SalesService, clock: ManualClock) -> str:
    order_id = delivered_order(service, clock, (spec("SKU-A", 2, "80.00"),))
    service.handle(OpenRepair(order_id=order_id, line_id="L1", problem="no power", actor="ana"))
    return order_id


def _to_returned(service: SalesService, order_id: str) -> None:
    for stage in ("diagnosing", "repairing", "returned"):
        service.handle(AdvanceRepair(order_id=order_id, repair_id="RP1", stage=stage, actor="tec"))


def test_a_repair_moves_stage_by_stage_and_its_cost_is_charged_to_the_customer(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    order_id = _opened(service, clock)
    service.handle(AdvanceRepair(order_id=order_id, repair_id="RP1", stage="diagnosing"))
    service.handle(
        RecordRepairNote(order_id=order_id, repair_id="RP1", note="blown fuse", actor="tec")
    )
    service.handle(AdvanceRepair(order_id=order_id, repair_id="RP1", stage="repairing"))
    service.handle(AdvanceRepair(order_id=order_id, repair_id="RP1", stage="returned"))
    result = service.handle(
        CloseRepair(order_id=order_id, repair_id="RP1", cost="15.50", reason="out of warranty")
    )
    assert result.balance_due == Money("15.50", "USD")
    order = service.get_order(order_id)
    repair = order.repair("RP1")
    assert repair.stage is RepairStage.CLOSED
    assert [h[0] for h in repair.history] == [
        "received",
        "diagnosing",
        "repairing",
        "returned",
        "closed",
    ]
    assert [(n.stage, n.text, n.actor) for n in repair.notes] == [
        (RepairStage.DIAGNOSING, "blown fuse", "tec")
    ]
    assert (repair.cost, repair.charge_to, repair.charged) == (
        Decimal("15.50"),
        RepairCharge.CUSTOMER,
        Decimal("15.50"),
    )
    assert order.amount_owed == Decimal("175.50")
    assert _types(store, order_id)[-6:] == [
        "RepairOpened",
        "RepairAdvanced",
        "RepairNoted",
        "RepairAdvanced",
        "RepairAdvanced",
        "RepairClosed",
    ]


def test_a_repair_under_warranty_costs_the_customer_nothing(
    service: SalesService, clock: ManualClock
) -> None:
    order_id = _opened(service, clock)
    _to_returned(service, order_id)
    result = service.handle(
        CloseRepair(order_id=order_id, repair_id="RP1", cost="15.50", charge_to="warranty")
    )
    assert result.balance_due == Money("0.00", "USD")
    assert service.get_order(order_id).repair("RP1").charged == 0


@pytest.mark.parametrize(
    ("command", "error", "field"),
    [
        (AdvanceRepair(order_id="", repair_id="RP1", stage="repairing"), OrderError, None),
        (AdvanceRepair(order_id="", repair_id="RP1", stage="closed"), ValidationError, "stage"),
        (AdvanceRepair(order_id="", repair_id="RP1", stage="fixed"), ValidationError, "stage"),
        (
            AdvanceRepair(order_id="", repair_id="RP9", stage="diagnosing"),
            ValidationError,
            "repair_id",
        ),
        (CloseRepair(order_id="", repair_id="RP1", cost="5"), OrderError, None),
        (RecordRepairNote(order_id="", repair_id="RP1", note="  "), ValidationError, "note"),
        (OpenRepair(order_id="", line_id="L1", quantity=3), InvalidQuantityError, "quantity"),
        (OpenRepair(order_id="", line_id="L1", repair_id="RP1"), ValidationError, "repair_id"),
    ],
)
def test_bad_repair_commands_are_refused_and_change_nothing(
    service: SalesService,
    store: Any,
    clock: ManualClock,
    command: Any,
    error: type[Exception],
    field: str | None,
) -> None:
    import attrs

    order_id = _opened(service, clock)
    refused = _refused(service, store, order_id, attrs.evolve(command, order_id=order_id), error)
    if field is not None:
        assert refused.field == field


@pytest.mark.parametrize(
    ("cost", "charge_to", "error", "field"),
    [
        (Money("15.50", "EUR"), "customer", CurrencyMismatchError, "cost"),
        ("-1", "customer", ValidationError, "cost"),
        ("1.001", "customer", ValidationError, "cost"),
        ("1", "nobody", ValidationError, "charge_to"),
    ],
)
def test_a_bad_cost_or_payer_is_refused_when_closing(
    service: SalesService,
    store: Any,
    clock: ManualClock,
    cost: Any,
    charge_to: str,
    error: type[ValidationError],
    field: str,
) -> None:
    order_id = _opened(service, clock)
    _to_returned(service, order_id)
    command = CloseRepair(order_id=order_id, repair_id="RP1", cost=cost, charge_to=charge_to)
    assert _refused(service, store, order_id, command, error).field == field
