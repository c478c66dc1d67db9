"""Idempotent commands: same key and payload → same result, once; other payload → conflict."""

from __future__ import annotations

import datetime as dt
import threading
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesorders.adapters.memory import MemoryStore
from salesorders.errors import IdempotencyConflictError, InsufficientStockError
from salesorders.ports import OrderQuery, UnitOfWork
from salesorders.serialization import Serializer
from salesorders.service import (
    CancelOrder,
    Command,
    ConfirmOrder,
    ReceiveStock,
    command_fingerprint,
)
from support.commands import command_classes, fields_of, two_values
from support.stores import STORE_KINDS, fresh_store
from test_service_support import (
    WrappedUnitOfWork,
    figures,
    line,
    make_service,
    new_order,
    outbox,
)

STOCK = {("SKU-A", "W1"): 10}


@pytest.fixture(params=STORE_KINDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as store:
        yield store


def _orders(service: Any) -> list[str]:
    return [o.id for o in service.list_orders(OrderQuery(limit=100)).orders]


def test_a_retry_returns_the_stored_result_and_changes_nothing() -> None:
    service, store, _ = make_service(stock=STOCK)
    command = new_order(line("SKU-A", 2), confirm=True, idempotency_key="key-1")
    first = service.handle(command)
    state = (figures(store), outbox(store), _orders(service))
    again = service.handle(command)
    assert again == first
    assert (figures(store), outbox(store), _orders(service)) == state
    assert service.handle(new_order()).number == "SO-2026-000002"  # no number was taken


def test_the_stored_result_survives_a_new_service_over_the_same_store() -> None:
    service, store, clock = make_service(stock=STOCK)
    command = new_order(line("SKU-A", 1), idempotency_key="key-1")
    first = service.handle(command)
    restarted, _, _ = make_service(store, clock=clock)
    assert restarted.handle(command) == first
    assert len(_orders(restarted)) == 1


def test_the_same_key_with_another_payload_conflicts() -> None:
    service, store, _ = make_service(stock=STOCK)
    service.handle(new_order(line("SKU-A", 1), idempotency_key="key-1"))
    state = (figures(store), outbox(store), _orders(service))
    with pytest.raises(IdempotencyConflictError) as caught:
        service.handle(new_order(line("SKU-A", 2), idempotency_key="key-1"))
    assert (caught.value.key, caught.value.command) == ("key-1", "PlaceOrder")
    with pytest.raises(IdempotencyConflictError):
        service.handle(
            ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=1, idempotency_key="key-1")
        )
    assert (figures(store), outbox(store), _orders(service)) == state


def test_a_key_reused_for_another_order_conflicts_and_that_order_stays_unconfirmed(
    any_store: Any,
) -> None:
    service, store, _ = make_service(any_store, stock=STOCK)
    service.handle(new_order(line("SKU-A", 2), order_id="A"))
    service.handle(new_order(line("SKU-A", 3), order_id="B"))
    first = service.handle(ConfirmOrder(order_id="A", idempotency_key="K"))
    assert (first.order_id, first.state) == ("A", "confirmed")
    state = (figures(store), outbox(store))
    with pytest.raises(IdempotencyConflictError) as caught:
        service.handle(ConfirmOrder(order_id="B", idempotency_key="K"))
    assert (caught.value.key, caught.value.command) == ("K", "ConfirmOrder")
    assert service.get_order("B").state == "placed"
    assert service.reservations("B") == ()
    assert (figures(store), outbox(store)) == state
    assert service.handle(ConfirmOrder(order_id="A", idempotency_key="K")) == first
    assert service.handle(ConfirmOrder(order_id="B", idempotency_key="K-B")).state == "confirmed"


def test_a_retry_after_the_order_moved_on_returns_the_first_result(any_store: Any) -> None:
    """The stored result is the first call's, not the order as it is at the retry: stores keep
    only an order's latest version, so the record keeps the result itself."""
    service, _, _ = make_service(any_store, stock=STOCK)
    command = new_order(line("SKU-A", 2), confirm=True, idempotency_key="key-1")
    first = service.handle(command)
    assert (first.state, first.allocation_status) == ("confirmed", "allocated")
    cancelled = service.handle(CancelOrder(order_id=first.order_id, reason="changed my mind"))
    assert (cancelled.state, cancelled.version) != (first.state, first.version)
    again = service.handle(command)
    assert again == first
    assert attrs.asdict(again) == attrs.asdict(first)


def test_a_key_reused_with_another_all_or_nothing_choice_conflicts(any_store: Any) -> None:
    service, store, _ = make_service(any_store, stock=STOCK)
    service.handle(new_order(line("SKU-A", 12), order_id="A"))
    first = service.handle(ConfirmOrder(order_id="A", idempotency_key="K"))
    assert first.allocation_status == "partially_allocated"
    state = (figures(store), outbox(store))
    with pytest.raises(IdempotencyConflictError):
        service.handle(ConfirmOrder(order_id="A", all_or_nothing=True, idempotency_key="K"))
    assert (figures(store), outbox(store)) == state


def test_results_of_other_commands_are_replayed_too() -> None:
    service, store, _ = make_service(stock=STOCK)
    receive = ReceiveStock(sku="SKU-A", warehouse_id="W2", quantity=4, idempotency_key="r-1")
    entry = service.handle(receive)
    assert service.handle(receive) == entry
    assert figures(store)[("SKU-A", "W2")][0] == 4


def test_a_failed_command_does_not_use_up_its_key() -> None:
    service, _, _ = make_service(stock=STOCK)
    placed = service.handle(new_order(line("SKU-A", 12)))
    confirm = ConfirmOrder(order_id=placed.order_id, all_or_nothing=True, idempotency_key="c-1")
    with pytest.raises(InsufficientStockError):
        service.handle(confirm)
    service.handle(ReceiveStock(sku="SKU-A", warehouse_id="W2", quantity=5))
    assert service.handle(confirm).state == "confirmed"


def test_concurrent_duplicates_execute_once() -> None:
    service, store, _ = make_service(stock=STOCK)
    command = new_order(line("SKU-A", 1), confirm=True, idempotency_key="dup")
    barrier = threading.Barrier(8)
    results: list[Any] = []

    def run() -> None:
        barrier.wait()
        results.append(service.handle(command))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert len({r.order_id for r in results}) == 1
    assert len(_orders(service)) == 1
    assert figures(store)[("SKU-A", "W1")] == (10, 1)


class _BlindGets(WrappedUnitOfWork):
    """A unit of work whose first idempotency lookup misses: it started before the winner
    committed, as happens between two database transactions."""

    def __init__(self, store: MemoryStore, misses: list[int]) -> None:
        super().__init__(store.unit_of_work())
        self._misses = misses
        self.idempotency = self

    def get(self, key: str, now: dt.datetime) -> Any:
        if self._misses:
            self._misses.pop()
            return None
        return self._inner.idempotency.get(key, now)

    def put(self, record: Any) -> None:
        self._inner.idempotency.put(record)

    def purge_expired(self, now: dt.datetime) -> int:
        return self._inner.idempotency.purge_expired(now)


def test_the_loser_of_a_race_rolls_back_and_returns_the_winners_result() -> None:
    winner, store, clock = make_service(stock=STOCK)
    command = new_order(line("SKU-A", 3), confirm=True, idempotency_key="race")
    first = winner.handle(command)
    misses = [1]

    def blind() -> UnitOfWork:
        return _BlindGets(store, misses)

    loser, _, _ = make_service(store, clock=clock, uow=blind)
    assert loser.handle(command) == first
    assert misses == []  # the loser did run the command before its put conflicted
    assert len(_orders(loser)) == 1
    assert figures(store)[("SKU-A", "W1")] == (10, 3)
    assert loser.handle(new_order()).number == "SO-2026-000002"


def test_records_expire_after_the_retention_and_are_purged() -> None:
    service, _, clock = make_service(stock=STOCK, idempotency_retention=dt.timedelta(hours=1))
    command = new_order(line("SKU-A", 1), idempotency_key="key-1")
    first = service.handle(command)
    clock.advance(dt.timedelta(minutes=59))
    assert service.handle(command) == first
    assert service.purge_expired_idempotency() == 0
    clock.advance(dt.timedelta(minutes=1))
    second = service.handle(command)  # the key is free again: a new order
    assert second.order_id != first.order_id
    clock.advance(dt.timedelta(hours=1))
    assert service.purge_expired_idempotency() == 1


def test_the_fingerprint_ignores_the_key_and_sees_every_field() -> None:
    serializer = Serializer()
    base = CancelOrder(order_id="O-1", reason="asked", idempotency_key="a")
    same = CancelOrder(order_id="O-1", reason="asked", idempotency_key="b")
    other = CancelOrder(order_id="O-1", reason="asked again", idempotency_key="a")
    fingerprint = command_fingerprint(base, serializer)
    assert fingerprint == command_fingerprint(same, serializer)
    assert fingerprint != command_fingerprint(other, serializer)
    assert len(fingerprint) == 64


COMMANDS = command_classes()
SERIALIZER = Serializer()


def test_every_command_is_found() -> None:
    assert set(typing.get_args(Command)) <= set(COMMANDS)
    assert {"PlaceOrder", "ConfirmOrder"} <= {cls.__name__ for cls in COMMANDS}


@pytest.mark.parametrize("command_class", COMMANDS, ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_changing_any_field_but_the_key_changes_the_fingerprint(
    command_class: type, data: st.DataObject
) -> None:
    """A retry is recognised by its fingerprint: were one field left out, the same key sent for
    another order (or another all-or-nothing choice) would replay the first command's result."""
    values = {f.name: data.draw(two_values(f), label=f.name) for f in fields_of(command_class)}
    command = command_class(**{name: pair[0] for name, pair in values.items()})
    fingerprint = command_fingerprint(command, SERIALIZER)
    for name, (_, other) in values.items():
        changed = command_fingerprint(attrs.evolve(command, **{name: other}), SERIALIZER)
        if name == "idempotency_key":
            assert changed == fingerprint, "the key is not part of the payload"
        else:
            assert changed != fingerprint, f"{command_class.__name__}.{name} is not seen"
