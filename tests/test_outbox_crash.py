"""Nothing is lost when the process dies: the outbox across simulated and real crashes.

(a) A crash before commit stores nothing — no order, reservation, event, number or idempotency
record — and the command can simply be retried. (b) A crash after commit but before delivery
loses no event: a new dispatcher ("restart") delivers everything, each stream in order.
(c) A crash after a notifier succeeded but before the batch was marked delivered redelivers
the batch with the same ``event_id``s, so a consumer that deduplicates sees it once. Sequences per
stream run 1..n without gaps whatever was rolled back in between, and dead letters survive a
restart and are re-driven under their own ids.

Each runs on the memory store, on an SQLite file (closed and reopened to restart) and on
PostgreSQL (pool closed and reopened); the real crashes end "spawn" processes with ``os._exit``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from race_support import (
    PRICE,
    T0,
    CrashingUnitOfWork,
    Inbox,
    SimulatedCrash,
    close_store,
    crashing,
    deliver_then_die,
    die_inside_unit_of_work,
    drop_schema,
    new_schema,
    open_store,
    place_then_die,
    service_over,
    spawned,
)
from salesorders.domain.stock import reconcile
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import InsufficientStockError, NotFoundError
from salesorders.ports import OutboxMessage
from salesorders.service import (
    CancelOrder,
    ConfirmOrder,
    DispatchReport,
    HoldOrder,
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    ResumeOrder,
    SalesService,
    SetStockLevels,
)

KINDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
PROCESS_KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
SECOND = dt.timedelta(seconds=1)


class Backend:
    """A store that can be "restarted": an SQL store is closed and opened again on the same file
    or schema (everything in memory is gone); the memory store lives on (it has no disk)."""

    def __init__(self, kind: str, where: str = "", schema: str = "") -> None:
        self.kind, self.where, self.schema = kind, where, schema
        self.clock = ManualClock(T0)
        self.store = open_store(kind, where, schema)

    def restart(self) -> None:
        if self.kind != "memory":
            close_store(self.store)
            self.store = open_store(self.kind, self.where, self.schema)

    def service(self, **options: Any) -> SalesService:
        return service_over(self.store.unit_of_work, clock=self.clock, **options)

    def read(self, work: Any) -> Any:
        with self.store.unit_of_work() as uow:
            return work(uow)

    def messages(self, stream: str | None = None) -> list[OutboxMessage]:
        return list(self.read(lambda uow: uow.outbox.messages(stream)))

    def store_deliveries(self) -> list[Any]:
        return list(self.read(lambda uow: uow.outbox.deliveries()))


def _open(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> Iterator[Backend]:
    if kind == "memory":
        backend = Backend(kind)
    elif kind == "sqlite":
        backend = Backend(kind, str(tmp_path / "orders.db"))
    else:
        backend = Backend(kind, request.getfixturevalue("postgres_dsn"), new_schema())
    try:
        backend.service().handle(RegisterWarehouse(warehouse=Warehouse("W1")))
        backend.service().handle(ReceiveStock(sku="HOT", warehouse_id="W1", quantity=10))
        yield backend
    finally:
        close_store(backend.store)
        if kind == "postgres":
            drop_schema(backend.where, backend.schema)


@pytest.fixture(params=KINDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    yield from _open(request, request.param, tmp_path)


@pytest.fixture(params=PROCESS_KINDS)
def durable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    yield from _open(request, request.param, tmp_path)


def _order(order_id: str, quantity: int = 1, **fields: Any) -> PlaceOrder:
    """Place (and, unless ``confirm=False``, confirm) ``quantity`` HOT in one command."""
    fields.setdefault("confirm", True)
    return PlaceOrder(
        order_id=order_id,
        customer_id="C-1",
        currency="USD",
        lines=(LineSpec("HOT", quantity, PRICE),),
        **fields,
    )


def _nothing_but_the_receipt(backend: Backend) -> None:
    with pytest.raises(NotFoundError):
        backend.service().get_order("O-1")
    items = backend.read(lambda uow: [(i.sku, i.on_hand, i.reserved) for i in uow.stock.items()])
    assert items == [("HOT", Decimal(10), Decimal(0))]
    assert backend.read(lambda uow: uow.stock.reservations()) == ()
    assert [e.movement.value for e in backend.read(lambda uow: uow.stock.ledger())] == ["receipt"]
    assert backend.messages() == []
    assert backend.read(lambda uow: uow.idempotency.get("checkout-1", T0)) is None


def _consistent(backend: Backend) -> None:
    found = backend.read(
        lambda uow: reconcile(uow.stock.items(), uow.stock.reservations(), uow.stock.ledger())
    )
    assert found == ()


def _streams_in_order(received: list[str]) -> None:
    """Each stream's event ids arrive in ascending sequence."""
    last: dict[str, int] = {}
    for event_id in received:
        stream, _, sequence = event_id.rpartition(":")
        assert int(sequence) > last.get(stream, 0), f"{event_id} after sequence {last[stream]}"
        last[stream] = int(sequence)


# --------------------------------------------------------------------------- (a) before commit


@pytest.mark.parametrize("crash_at", ["outbox.append", "idempotency.put", "commit"])
def test_a_crash_before_commit_stores_nothing_and_the_command_can_be_retried(
    backend: Backend, crash_at: str
) -> None:
    command = _order("O-1", 3, idempotency_key="checkout-1")
    doomed = service_over(crashing(backend.store.unit_of_work, crash_at), clock=backend.clock)
    with pytest.raises(SimulatedCrash):
        doomed.handle(command)
    backend.restart()
    _nothing_but_the_receipt(backend)

    service = backend.service()
    result = service.handle(command)  # the retry runs the command, once
    assert (result.number, result.state, result.allocation_status) == (
        "SO-2026-000001",  # the crashed attempt's number was given back
        "confirmed",
        "allocated",
    )
    assert service.handle(command) == result
    assert [(m.event_id, m.event_type) for m in backend.messages()] == [
        ("O-1:1", "OrderPlaced"),
        ("O-1:2", "OrderConfirmed"),
    ]
    assert [r.quantity for r in backend.read(lambda uow: uow.stock.reservations())] == [3]
    _consistent(backend)


def test_the_crashing_unit_of_work_really_writes_before_it_dies(backend: Backend) -> None:
    """The crash comes after the writes: inside the doomed unit of work they are visible."""
    with backend.store.unit_of_work() as inner:
        uow = CrashingUnitOfWork(inner, "outbox.append")
        message = OutboxMessage("X:1", "X", 1, "OrderPlaced", {}, T0)
        with pytest.raises(SimulatedCrash):
            uow.outbox.append([message])
        assert [m.event_id for m in inner.outbox.messages()] == ["X:1"]
    assert backend.messages() == []


def test_a_process_dying_inside_a_unit_of_work_stores_nothing(durable: Backend) -> None:
    with_args = (durable.kind, durable.where, durable.schema)
    close_store(durable.store)  # the dying process is the only one with the store open
    with spawned(die_inside_unit_of_work, *with_args) as process:
        assert process.exitcode == 17  # it died at the commit
    durable.store = open_store(*with_args)
    _nothing_but_the_receipt(durable)
    result = durable.service().handle(_order("O-1", idempotency_key="checkout-1"))
    assert result.number == "SO-2026-000001"
    _consistent(durable)


# --------------------------------------------------------------------------- (b) after commit


def _busy_day(service: SalesService) -> None:
    service.handle(_order("O-2", 2))
    service.handle(_order("O-1", 1))
    service.handle(CancelOrder(order_id="O-2", reason="changed mind"))
    service.handle(attrs.evolve(_order("O-3"), order_id=None, confirm=False))


def test_after_commit_a_restarted_dispatcher_delivers_everything(backend: Backend) -> None:
    _busy_day(backend.service())  # committed; the process "dies" before any dispatch
    backend.restart()
    inbox = Inbox()
    dispatcher = backend.service(notifiers=[inbox]).dispatcher
    assert dispatcher.dispatch_once() == DispatchReport(delivered=6)
    stored = [m.event_id for m in backend.messages()]
    assert sorted(inbox.received) == sorted(stored)
    assert [e for e in inbox.received if e.startswith("O-2")] == ["O-2:1", "O-2:2", "O-2:3"]
    _streams_in_order(inbox.received)
    assert {m.status for m in backend.messages()} == {"delivered"}
    assert dispatcher.dispatch_once() == DispatchReport()


def test_a_process_dying_after_commit_loses_no_event(durable: Backend) -> None:
    with spawned(place_then_die, durable.kind, durable.where, durable.schema, 3) as process:
        assert process.exitcode == 0
    durable.restart()
    inbox = Inbox()
    assert durable.service(notifiers=[inbox]).dispatcher.dispatch_once().delivered == 6
    assert inbox.received == ["O-0:1", "O-0:2", "O-1:1", "O-1:2", "O-2:1", "O-2:2"]


# --------------------------------------------------------------------------- (c) after delivery


def test_a_crash_between_delivery_and_marking_redelivers_the_same_event_id(
    backend: Backend,
) -> None:
    service = backend.service()
    service.handle(_order("O-1"))
    service.handle(_order("O-2"))
    inbox = Inbox()
    doomed = service_over(
        crashing(backend.store.unit_of_work, "outbox.mark_delivered_many"),
        clock=backend.clock,
        notifiers=[inbox],
    )
    with pytest.raises(SimulatedCrash):
        doomed.dispatcher.dispatch_once()
    sent = ["O-1:1", "O-1:2", "O-2:1", "O-2:2"]
    assert inbox.received == sent  # the batch was delivered, then the process died
    backend.restart()
    first = backend.messages("O-1")[0]
    assert (first.status, first.attempts, first.delivered_at) == ("pending", 0, None)
    assert backend.store_deliveries() == []  # nothing of the batch was recorded

    assert backend.service(notifiers=[inbox]).dispatcher.dispatch_once().delivered == 4
    assert inbox.received == sent + sent  # the whole batch again, under the same ids
    assert inbox.unique == sent  # what a deduplicating consumer keeps
    assert {m.status for m in backend.messages()} == {"delivered"}


def test_a_process_dying_after_delivery_redelivers_the_same_event_id(
    durable: Backend, tmp_path: Path
) -> None:
    service = durable.service()
    service.handle(_order("O-1"))
    service.handle(_order("O-2"))
    log = tmp_path / "delivered.log"
    with spawned(deliver_then_die, durable.kind, durable.where, durable.schema, str(log)) as dead:
        assert dead.exitcode == 0
    assert log.read_text(encoding="utf-8").split() == ["O-1:1"]
    durable.restart()
    inbox = Inbox()
    assert durable.service(notifiers=[inbox]).dispatcher.dispatch_once().delivered == 4
    assert inbox.received == ["O-1:1", "O-1:2", "O-2:1", "O-2:2"]  # O-1:1 again, same id
    payloads = {m.event_id: m.payload for m in durable.messages()}
    assert payloads["O-1:1"]["order_id"] == "O-1"


# --------------------------------------------------------------------------- sequences


def test_sequences_have_no_gaps_whatever_was_rolled_back(backend: Backend) -> None:
    service = backend.service()
    service.handle(SetStockLevels(sku="HOT", warehouse_id="W1", reorder_point=4))
    service.handle(_order("O-1", 8, confirm=False))
    service.handle(_order("O-2", 20, confirm=False))
    with pytest.raises(InsufficientStockError):  # refused: rolled back, no event
        service.handle(ConfirmOrder(order_id="O-2", all_or_nothing=True))
    service.handle(HoldOrder(order_id="O-1", reason="check"))
    service.handle(ResumeOrder(order_id="O-1"))
    doomed = service_over(crashing(backend.store.unit_of_work, "commit"), clock=backend.clock)
    with pytest.raises(SimulatedCrash):  # confirmed and alerted low stock, then died
        doomed.handle(ConfirmOrder(order_id="O-1"))
    backend.restart()
    service = backend.service()
    service.handle(ConfirmOrder(order_id="O-1"))
    service.handle(CancelOrder(order_id="O-1", reason="late"))
    service.handle(ConfirmOrder(order_id="O-2"))

    stream = backend.messages("O-1")
    assert [(m.sequence, m.event_type) for m in stream] == [
        (1, "OrderPlaced"),
        (2, "OrderHeld"),
        (3, "OrderResumed"),
        (4, "OrderConfirmed"),
        (5, "OrderCancelled"),
    ]
    assert [m.event_id for m in stream] == [f"O-1:{n}" for n in range(1, 6)]
    assert [m.sequence for m in backend.messages("O-2")] == [1, 2]
    alerts = backend.messages("stock:HOT:W1")
    assert [(m.event_id, m.event_type) for m in alerts] == [
        ("stock:HOT:W1:1", "LowStock"),  # O-1 confirmed: 2 left
        ("stock:HOT:W1:2", "LowStock"),  # back above the point on cancel, then O-2 took all
    ]
    assert service.get_order("O-1").event_sequence == 5
    _consistent(backend)


# --------------------------------------------------------------------------- dead letters


class Channel:
    """A notifier whose channel is down until ``up`` is set."""

    def __init__(self) -> None:
        self.up = False
        self.delivered: list[str] = []

    def notify(self, message: OutboxMessage) -> None:
        if not self.up and message.event_id == "O-1:1":
            raise ConnectionError("channel down")
        self.delivered.append(message.event_id)


def test_dead_letters_survive_a_restart_and_are_redriven_under_their_own_ids(
    backend: Backend,
) -> None:
    backend.service().handle(_order("O-1"))
    channel = Channel()
    options: dict[str, Any] = {"notifiers": [channel], "max_delivery_attempts": 2}
    dispatcher = backend.service(**options).dispatcher
    assert dispatcher.dispatch_once() == DispatchReport(failed=1)
    backend.clock.advance(2 * SECOND)
    assert dispatcher.dispatch_once() == DispatchReport(dead=1)  # its stream waits this round
    assert dispatcher.dispatch_once() == DispatchReport(delivered=1)
    assert channel.delivered == ["O-1:2"]  # a parked message no longer holds back its stream
    backend.restart()
    dispatcher = backend.service(**options).dispatcher
    dead = dispatcher.dead()
    assert [(m.event_id, m.attempts, m.last_error) for m in dead] == [
        ("O-1:1", 2, "ConnectionError: channel down")
    ]
    assert dispatcher.dispatch_once() == DispatchReport()  # parked: never due by itself
    channel.up = True
    dispatcher.redrive("O-1:1")
    assert dispatcher.dispatch_once() == DispatchReport(delivered=1)
    assert channel.delivered == ["O-1:2", "O-1:1"]
    assert dispatcher.dead() == []
    assert {m.status for m in backend.messages()} == {"delivered"}
