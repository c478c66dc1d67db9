"""A bad input inside a command's lines, items or actions is named by its path
(``lines[1].quantity``) in the error and in its problem details."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from moneyed import Money

from salesorders.adapters.memory import MemoryStore
from salesorders.domain.changes import ChangeAction
from salesorders.domain.returns import Inspection, InspectionOutcome
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import ValidationError
from salesorders.service import (
    CancelLine,
    CancelLines,
    CreateDraft,
    DeliverOrder,
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
    ShipLine,
    ShipOrder,
    bootstrap,
)
from salesorders.service.change_commands import RequestChange
from salesorders.service.return_commands import (
    ApproveReturn,
    ExchangeReturn,
    RequestReturn,
    ReturnItem,
)


def _line(quantity: Any, **fields: Any) -> LineSpec:
    return LineSpec(sku="TEA-100", quantity=quantity, unit_price=Money("2.50", "EUR"), **fields)


@pytest.fixture
def service() -> SalesService:
    clock = ManualClock(dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC))
    service = bootstrap(store=MemoryStore(), clock=clock)
    service.handle(RegisterWarehouse(warehouse=Warehouse("EAST", region="EU", priority=1)))
    service.handle(ReceiveStock(sku="TEA-100", warehouse_id="EAST", quantity=50, reason="PO-1"))
    return service


def _placed(service: SalesService) -> str:
    command = PlaceOrder(
        customer_id="C-1", currency="EUR", lines=(_line(2), _line(3)), confirm=True
    )
    order_id: str = service.handle(command).order_id
    return order_id


def _refused(service: SalesService, command: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        service.handle(command)
    return caught.value


def _named(error: ValidationError, path: str) -> None:
    assert error.field == path
    assert str(error).startswith(f"{path}: ")
    assert error.to_problem()["errors"][0]["field"] == path


@pytest.mark.parametrize("quantity", [0, "-1", "1.5", 1.5, "abc"])
@pytest.mark.parametrize("command", [PlaceOrder, CreateDraft])
def test_a_bad_quantity_on_the_second_line_names_it(
    service: SalesService, command: type[PlaceOrder | CreateDraft], quantity: Any
) -> None:
    error = _refused(
        service, command(customer_id="C-1", currency="EUR", lines=(_line(1), _line(quantity)))
    )
    _named(error, "lines[1].quantity")
    assert error.value == quantity


@pytest.mark.parametrize(
    ("second", "field"),
    [
        (LineSpec(sku="TEA-100", quantity=1, unit_price=Money("1", "USD")), "lines[1].unit_price"),
        (_line(1, quantity_precision=-1), "lines[1].quantity_precision"),
        (LineSpec(sku="TEA-100", quantity=1), "lines[1].unit_price"),
        (LineSpec(sku="", quantity=1, unit_price=Money("1", "EUR")), "lines[1].sku"),
    ],
)
def test_other_fields_of_the_second_line_are_named_by_their_line(
    service: SalesService, second: LineSpec, field: str
) -> None:
    lines = (_line(1), second)
    _named(_refused(service, CreateDraft(customer_id="C", currency="EUR", lines=lines)), field)
    _named(_refused(service, PlaceOrder(customer_id="C", currency="EUR", lines=lines)), field)


def test_a_line_that_is_not_a_line_spec_is_named_by_its_index(service: SalesService) -> None:
    lines: Any = (_line(1), "TEA-100 x 2")
    error = _refused(service, CreateDraft(customer_id="C-1", currency="EUR", lines=lines))
    _named(error, "lines[1]")
    assert error.value == "TEA-100 x 2"


def test_a_bad_quantity_of_the_second_change_action_names_it(service: SalesService) -> None:
    order_id = _placed(service)
    actions = (ChangeAction.set_quantity("L1", 1), ChangeAction.set_quantity("L2", "-1"))
    command = RequestChange(order_id=order_id, actions=actions, reason="fewer", actor="clerk")
    _named(_refused(service, command), "actions[1].quantity")
    actions = (ChangeAction.set_quantity("L1", 1), ChangeAction.add_line("TEA-100", 0, "2.50"))
    command = RequestChange(order_id=order_id, actions=actions, reason="more", actor="clerk")
    _named(_refused(service, command), "actions[1].quantity")


def test_a_bad_quantity_of_the_second_shipped_or_cancelled_line_names_it(
    service: SalesService,
) -> None:
    order_id = _placed(service)
    ship = ShipOrder(order_id=order_id, lines=(ShipLine("L1", 1), ShipLine("L2", "0")))
    _named(_refused(service, ship), "lines[1].quantity")
    ship = ShipOrder(order_id=order_id, lines=(ShipLine("L1", 1), ShipLine("L2", "99")))
    _named(_refused(service, ship), "lines[1].quantity")
    cancel = CancelLines(
        order_id=order_id, lines=(CancelLine("L1", 1), CancelLine("L2", "1.5")), reason="short"
    )
    _named(_refused(service, cancel), "lines[1].quantity")


def _delivered(service: SalesService) -> str:
    order_id = _placed(service)
    service.handle(ShipOrder(order_id=order_id))
    service.handle(DeliverOrder(order_id=order_id))
    return order_id


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (ReturnItem("L2", "0"), "lines[1].quantity"),
        (ReturnItem("L2", "10"), "lines[1].quantity"),
        (ReturnItem("L2", "0.5"), "lines[1].quantity"),
        (ReturnItem("L2", 1, "bogus"), "lines[1].reason"),
    ],
)
def test_a_bad_second_return_item_names_it(
    service: SalesService, item: ReturnItem, field: str
) -> None:
    order_id = _delivered(service)
    command = RequestReturn(order_id=order_id, lines=(ReturnItem("L1", 1), item))
    _named(_refused(service, command), field)


def test_a_bad_replacement_of_an_exchange_is_named_under_replacement(
    service: SalesService,
) -> None:
    order_id = _delivered(service)
    service.handle(RequestReturn(order_id=order_id, lines=(ReturnItem("L1", 1),), return_id="R1"))
    service.handle(ApproveReturn(order_id=order_id, return_id="R1", actor="reviewer"))
    inspections = (Inspection("L1", Decimal(1), InspectionOutcome.RESTOCK, "EAST"),)
    command = ExchangeReturn(
        order_id=order_id, return_id="R1", inspections=inspections, replacement=_line("-2")
    )
    _named(_refused(service, command), "replacement.quantity")
