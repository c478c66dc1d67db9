"""PromiseDelivery: the promised date through a command, on every store — recorded with an
event, carried by the shipments made afterwards, found late by the logistics listings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from salesorders.errors import OrderError, ValidationError
from salesorders.service import (
    CancelOrder,
    ManualClock,
    PromiseDelivery,
    SalesService,
    ShipOrder,
    bootstrap,
)
from support.stores import STORE_KINDS, fresh_store
from test_fulfilment import T0, _refused, _types
from test_service_support import line, new_order


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


@pytest.fixture
def service(store: Any) -> SalesService:
    from salesorders.domain.warehouse import Warehouse
    from salesorders.service import ReceiveStock, RegisterWarehouse

    built = bootstrap(store=store, clock=ManualClock(T0), sleep=lambda _s: None)
    built.handle(RegisterWarehouse(warehouse=Warehouse("W1")))
    built.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=10, reason="PO-1"))
    return built


def test_a_promise_is_recorded_and_the_shipments_after_it_carry_it(
    service: SalesService, store: Any
) -> None:
    order_id = service.handle(new_order(line("SKU-A", 2), confirm=True)).order_id
    day = T0.date() + dt.timedelta(days=2)
    service.handle(
        PromiseDelivery(order_id=order_id, promised_date=day, reason="express", actor="cs:mia")
    )
    assert service.get_order(order_id).promised_date == day
    with store.unit_of_work() as uow:
        promised = uow.outbox.messages(order_id)[-1]
    assert promised.event_type == "DeliveryPromised"
    assert (promised.payload["promised_date"], promised.payload["actor"]) == (
        day.isoformat(),
        "cs:mia",
    )
    service.handle(ShipOrder(order_id=order_id))
    (shipment,) = service.get_order(order_id).shipments
    assert shipment.promised_date == day
    late = service.late_shipments(day + dt.timedelta(days=1))
    assert [(s.shipment.order_id, s.days_late) for s in late.items] == [(order_id, 1)]
    assert service.late_shipments(day).items == ()


def test_a_bad_date_or_a_finished_order_is_refused_and_nothing_changes(
    service: SalesService, store: Any
) -> None:
    order_id = service.handle(new_order(line("SKU-A", 1), confirm=True)).order_id
    not_a_day = PromiseDelivery(order_id=order_id, promised_date=T0)  # a datetime, not a date
    assert _refused(service, store, order_id, not_a_day, ValidationError).field == ("promised_date")
    service.handle(CancelOrder(order_id=order_id, reason="gone"))
    late = PromiseDelivery(order_id=order_id, promised_date=T0.date())
    assert "cancelled" in str(_refused(service, store, order_id, late, OrderError))
    assert "DeliveryPromised" not in _types(store, order_id)
