"""Conflicting units of work are retried a bounded number of times with jittered backoff."""

from __future__ import annotations

import random
from typing import Any

import pytest

from salesorders.adapters.memory import MemoryStore
from salesorders.domain.order import Order
from salesorders.errors import (
    ConcurrencyConflictError,
    NotFoundError,
    OperationalError,
    ValidationError,
)
from salesorders.service import HoldOrder, Retrier
from test_service_support import Recorder, WrappedUnitOfWork, line, make_service, new_order

STOCK = {("SKU-A", "W1"): 10}


class _FlakyOrders:
    def __init__(self, inner: Any, failures: list[Exception], calls: list[str]) -> None:
        self._inner = inner
        self._failures = failures
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def save(self, order: Order) -> None:
        self._calls.append(order.id)
        if self._failures:
            raise self._failures.pop(0)
        self._inner.save(order)


class _FlakyUnitOfWork(WrappedUnitOfWork):
    """The memory unit of work, except that ``orders.save`` raises the queued errors first."""

    def __init__(self, store: MemoryStore, failures: list[Exception], calls: list[str]) -> None:
        super().__init__(store.unit_of_work())
        self.orders = _FlakyOrders(self._inner.orders, failures, calls)


def _flaky_service(failures: list[Exception], **options: Any) -> tuple[Any, list[str], Recorder]:
    store = MemoryStore()
    calls: list[str] = []
    sleep = Recorder()
    service, _, _ = make_service(
        store,
        stock=STOCK,
        uow=lambda: _FlakyUnitOfWork(store, failures, calls),
        sleep=sleep,
        **options,
    )
    return service, calls, sleep


def _conflict() -> ConcurrencyConflictError:
    return ConcurrencyConflictError("O-1", 1, 2)


def test_a_command_that_conflicts_twice_then_succeeds_is_retried() -> None:
    failures: list[Exception] = []
    service, calls, sleep = _flaky_service(failures)
    service.handle(new_order(line("SKU-A", 1), order_id="O-1"))  # adds: no save
    failures.extend([_conflict(), OperationalError("database is locked")])
    result = service.handle(HoldOrder(order_id="O-1", reason="check"))
    assert result.state == "on_hold"
    assert calls == ["O-1", "O-1", "O-1"]
    assert len(sleep.delays) == 2
    assert 0 <= sleep.delays[0] <= 0.005
    assert 0 <= sleep.delays[1] <= 0.010
    assert service.get_order("O-1").version == 2  # saved once


def test_a_command_that_always_conflicts_is_surfaced_after_the_retries() -> None:
    failures: list[Exception] = []
    service, calls, sleep = _flaky_service(failures, max_retries=3)
    service.handle(new_order(line("SKU-A", 1), order_id="O-1"))
    failures.extend(_conflict() for _ in range(10))
    with pytest.raises(ConcurrencyConflictError):
        service.handle(HoldOrder(order_id="O-1", reason="check"))
    assert len(calls) == 4  # the first attempt and 3 retries
    assert len(sleep.delays) == 3
    assert service.get_order("O-1").state == "placed"


def test_other_errors_are_not_retried() -> None:
    failures: list[Exception] = []
    service, calls, sleep = _flaky_service(failures)
    service.handle(new_order(line("SKU-A", 1), order_id="O-1"))
    failures.append(NotFoundError("order", "O-1"))
    with pytest.raises(NotFoundError):
        service.handle(HoldOrder(order_id="O-1", reason="check"))
    assert len(calls) == 1
    assert sleep.delays == []


def test_backoff_is_jittered_exponential_and_capped() -> None:
    sleep = Recorder()
    retrier = Retrier(6, base_delay=0.01, max_delay=0.05, rng=random.Random(3), sleep=sleep)
    attempts: list[int] = []

    def always_conflicts() -> None:
        attempts.append(1)
        raise _conflict()

    with pytest.raises(ConcurrencyConflictError):
        retrier.run(always_conflicts)
    assert len(attempts) == 7
    ceilings = [0.01, 0.02, 0.04, 0.05, 0.05, 0.05]
    assert all(0 <= d <= c for d, c in zip(sleep.delays, ceilings, strict=True))
    assert len(set(sleep.delays)) == 6  # jittered, not constant
    again = Recorder()
    replay = Retrier(6, base_delay=0.01, max_delay=0.05, rng=random.Random(3), sleep=again)
    with pytest.raises(ConcurrencyConflictError):
        replay.run(always_conflicts)
    assert again.delays == sleep.delays  # the injected rng makes it reproducible


def test_max_retries_must_be_a_non_negative_int() -> None:
    with pytest.raises(ValidationError):
        Retrier(-1)
    assert Retrier(0).run(lambda: 5) == 5
