"""Idempotency for real hosts: keys scoped per tenant, and results that say they were replayed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from salesorders.errors import IdempotencyConflictError, ValidationError
from salesorders.ports import OrderQuery
from salesorders.service import Execution, OrderResult, scoped_key
from support.stores import STORE_KINDS, fresh_store
from test_service_support import line, make_service, new_order

STOCK = {("SKU-A", "W1"): 10}


@pytest.fixture(params=STORE_KINDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as store:
        yield store


def order_count(service: Any) -> int:
    return len(service.list_orders(OrderQuery(limit=100)).orders)


def test_a_first_run_is_not_replayed_and_a_retry_is(any_store: Any) -> None:
    service, _, _ = make_service(any_store, stock=STOCK)
    command = new_order(line("SKU-A", 2), idempotency_key="k-1", confirm=True)

    first = service.execute(command)
    again = service.execute(command)

    assert isinstance(first, Execution)
    assert (first.replayed, again.replayed) == (False, True)
    assert isinstance(again.result, OrderResult)
    assert again.result == first.result
    assert order_count(service) == 1


def test_the_same_key_in_two_scopes_runs_two_commands(any_store: Any) -> None:
    service, _, _ = make_service(any_store, stock=STOCK)
    command = new_order(line("SKU-A", 1), idempotency_key="k-1")

    tenant_a = service.execute(command, scope="tenant-a")
    tenant_b = service.execute(command, scope="tenant-b")
    tenant_a_again = service.execute(command, scope="tenant-a")

    assert tenant_a.result.order_id != tenant_b.result.order_id
    assert (tenant_a.replayed, tenant_b.replayed, tenant_a_again.replayed) == (False, False, True)
    assert tenant_a_again.result == tenant_a.result
    assert order_count(service) == 2


def test_a_scope_keeps_a_conflict_inside_it() -> None:
    service, _, _ = make_service(stock=STOCK)
    service.handle(new_order(line("SKU-A", 1), idempotency_key="k-1"), scope="tenant-a")
    # another payload under the same key: a conflict in tenant-a, a new command in tenant-b
    other = new_order(line("SKU-A", 3), idempotency_key="k-1")
    with pytest.raises(IdempotencyConflictError) as caught:
        service.handle(other, scope="tenant-a")
    assert caught.value.key == "k-1"  # the caller's key, not the stored form
    assert service.execute(other, scope="tenant-b").replayed is False


def test_the_service_scope_is_the_default_and_a_call_overrides_it() -> None:
    service, store, _ = make_service(stock=STOCK, idempotency_scope="tenant-a")
    command = new_order(line("SKU-A", 1), idempotency_key="k-1")
    first = service.handle(command)
    assert service.execute(command, scope="tenant-a").replayed is True
    assert service.execute(command, scope="tenant-b").result.order_id != first.order_id
    with store.unit_of_work() as uow:
        stored = uow.idempotency.get(scoped_key("tenant-a", "k-1"), service.clock.now())
        unscoped = uow.idempotency.get("k-1", service.clock.now())
    assert stored is not None
    assert unscoped is None


def test_without_a_scope_keys_are_stored_as_given() -> None:
    service, store, _ = make_service(stock=STOCK)
    service.handle(new_order(line("SKU-A", 1), idempotency_key="k-1"))
    with store.unit_of_work() as uow:
        assert uow.idempotency.get("k-1", service.clock.now()) is not None
    assert scoped_key(None, "k-1") == "k-1"


@pytest.mark.parametrize("scope", ["", "   ", "a\x1fb", 7])
def test_a_bad_scope_is_refused_and_changes_nothing(scope: Any) -> None:
    service, _, _ = make_service(stock=STOCK)
    with pytest.raises(ValidationError) as caught:
        service.handle(new_order(line("SKU-A", 1), idempotency_key="k-1"), scope=scope)
    assert caught.value.field == "scope"
    assert order_count(service) == 0


def test_a_bad_service_scope_is_refused_when_the_service_is_built() -> None:
    with pytest.raises(ValidationError) as caught:
        make_service(idempotency_scope="a\x1fb")
    assert caught.value.field == "idempotency_scope"


def test_a_key_holding_the_scope_separator_is_refused() -> None:
    service, _, _ = make_service(stock=STOCK)
    with pytest.raises(ValidationError) as caught:
        service.handle(new_order(line("SKU-A", 1), idempotency_key="tenant\x1fk"))
    assert caught.value.field == "idempotency_key"
    assert order_count(service) == 0


def test_a_command_without_a_key_is_never_replayed() -> None:
    service, _, _ = make_service(stock=STOCK)
    command = new_order(line("SKU-A", 1))
    assert service.execute(command).replayed is False
    assert service.execute(command, scope="tenant-a").replayed is False
    assert order_count(service) == 2
