"""A host's workflow, registered once with bootstrap, is followed by orders on every store: the
service reads them back (one order, a listing) and fires their events by the host's rules."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from salesorders.adapters.memory import MemoryStore
from salesorders.adapters.postgres import PostgresStore
from salesorders.adapters.sqlite import SQLiteStore
from salesorders.domain.warehouse import Warehouse
from salesorders.domain.workflow import default_workflow
from salesorders.errors import InvalidTransitionError, ValidationError
from salesorders.ports import OrderQuery
from salesorders.service import (
    CancelOrder,
    ConfirmOrder,
    ManualClock,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
    bootstrap,
)
from test_service_support import T0, new_order

CREDIT_CHECKED = (
    default_workflow()
    .extend("credit-checked-order")
    .add_state("awaiting_credit_approval")
    .remove_transition("confirm", "placed")
    .add_transition("request_credit_approval", "placed", "awaiting_credit_approval")
    .add_transition("approve_credit", "awaiting_credit_approval", "confirmed")
    .add_transition("cancel", "awaiting_credit_approval", "cancelled")
    .build()
)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "sqlite":
        with SQLiteStore(tmp_path / "orders.db") as sqlite_store:
            yield sqlite_store
    else:
        dsn = request.getfixturevalue("postgres_dsn")
        schema = f"so_workflow_{uuid.uuid4().hex[:12]}"
        try:
            with PostgresStore(dsn, schema=schema, max_size=2) as postgres_store:
                yield postgres_store
        finally:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _service(store: Any) -> SalesService:
    return bootstrap(store=store, clock=ManualClock(T0), workflows=[CREDIT_CHECKED])


def test_an_order_on_a_host_workflow_is_read_back_and_follows_it(store: Any) -> None:
    service = _service(store)
    service.handle(RegisterWarehouse(warehouse=Warehouse("W1")))
    service.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=Decimal(5)))
    placed = service.handle(new_order(workflow="credit-checked-order"))
    assert placed.state == "placed"

    order = service.get_order(placed.order_id)
    assert order.workflow is CREDIT_CHECKED
    listed = service.list_orders(OrderQuery(customer_id="C-1", state="placed")).orders
    assert [o.id for o in listed] == [placed.order_id]
    assert listed[0].workflow is CREDIT_CHECKED

    with pytest.raises(InvalidTransitionError) as refused:  # the host's rule: approval first
        service.handle(ConfirmOrder(order_id=placed.order_id))
    assert refused.value.allowed == ("cancel", "hold", "request_credit_approval")
    cancelled = service.handle(CancelOrder(order_id=placed.order_id, reason="no credit"))
    assert cancelled.state == "cancelled"
    assert service.get_order(placed.order_id).audit[-1].event == "cancel"


def test_a_restarted_host_reads_its_orders_back(tmp_path: Path) -> None:
    path = tmp_path / "restart.db"
    with SQLiteStore(path) as first:
        placed = _service(first).handle(new_order(workflow="credit-checked-order"))
    with SQLiteStore(path) as reopened:
        order = _service(reopened).get_order(placed.order_id)
    assert (order.workflow, order.state) == (CREDIT_CHECKED, "placed")


def test_a_unit_of_work_factory_given_with_the_store_is_used_and_the_store_still_reads_back(
    tmp_path: Path,
) -> None:
    opened: list[object] = []
    with SQLiteStore(tmp_path / "wrapped.db") as sqlite_store:

        def counted() -> Any:
            opened.append(None)
            return sqlite_store.unit_of_work()

        service = bootstrap(
            store=sqlite_store, uow=counted, clock=ManualClock(T0), workflows=[CREDIT_CHECKED]
        )
        placed = service.handle(new_order(workflow="credit-checked-order"))
        assert service.get_order(placed.order_id).workflow is CREDIT_CHECKED
    assert len(opened) == 2


def test_bootstrap_needs_a_store() -> None:
    with pytest.raises(ValidationError) as missing:
        bootstrap()
    assert missing.value.field == "store"
    with pytest.raises(ValidationError) as factory_as_store:
        bootstrap(store=MemoryStore().unit_of_work)  # type: ignore[arg-type]
    assert factory_as_store.value.field == "store"
    with pytest.raises(ValidationError) as not_a_factory:
        bootstrap(uow=MemoryStore())  # type: ignore[arg-type]
    assert not_a_factory.value.field == "uow"
