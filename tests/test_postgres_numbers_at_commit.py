"""Order numbers the PostgreSQL store takes with the commit: the series row is not locked before
it, every stored text carries the number and none the placeholder, the command's result and its
replay name the number, numbers stay gap-free, and the audit trail keeps taking them at once.

Tests that need a server are marked ``postgres`` and skip without SALESORDERS_TEST_POSTGRES_DSN.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import psycopg
import pytest
from moneyed import Money

from salesorders.adapters._postgres_numbers import PLACEHOLDER_PREFIX, LateNumbers
from salesorders.adapters.postgres import PostgresStore
from salesorders.domain.warehouse import Warehouse
from salesorders.ports import OutboxMessage
from salesorders.service import (
    ConfirmOrder,
    CreateDraft,
    LineSpec,
    ManualClock,
    PlaceDraft,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
    bootstrap,
)
from salesorders.service.audit_trail import AuditTrail
from salesorders.service.numbering import number_text, numbered_result
from salesorders.testing.contracts import T0
from salesorders.workflow import RESERVE, default_workflow
from support.stores import in_uow, postgres_rows_as_text

# --------------------------------------------------------------------------- without a server


def test_a_parameter_quoting_a_placeholder_is_numbered_on_the_server_and_no_other() -> None:
    late = LateNumbers()
    first = late.ask("TAKE", "SO-2026", 6)
    second = late.ask("TAKE", "SO-2026", 6)
    sql = "INSERT INTO t VALUES ($1::TEXT, $2, CAST($10 AS JSONB), $11::JSONB) -- $1"
    params = ["a", first, "x", "", "", "", "", "", "", f'{{"n": "{first} {second}"}}', "{}"]
    numbered, sent = late.numbered(sql, params)
    one = "(replace($2::TEXT, $12::TEXT, current_setting($13::TEXT)))"
    both = (
        "(replace(replace($10::TEXT, $12::TEXT, current_setting($13::TEXT)), "
        "$14::TEXT, current_setting($15::TEXT)))"
    )
    assert (
        numbered
        == f"INSERT INTO t VALUES ($1::TEXT, {one}, CAST({both} AS JSONB), $11::JSONB) -- $1"
    )
    assert list(sent) == [*params, first, late.pending[first], second, late.pending[second]]
    # the text does not depend on the placeholder: the driver may prepare it
    again = LateNumbers()
    again_first = again.ask("TAKE", "SO-2026", 6)
    assert again.numbered(sql, [again_first if p == first else p for p in params[:3]])[0] == (
        "INSERT INTO t VALUES ($1::TEXT, (replace($2::TEXT, $4::TEXT, current_setting($5::TEXT))), "
        "CAST($10 AS JSONB), $11::JSONB) -- $1"
    )
    assert late.numbered(sql, ["a", "b", 3]) == (sql, ["a", "b", 3])  # nothing quotes one
    assert first.startswith(PLACEHOLDER_PREFIX) and first != second
    assert [placeholder for _, _, placeholder in late.held] == [first, second]


def test_the_rewritten_texts_kept_for_reuse_stay_bounded() -> None:
    """Each statement is rewritten once per process and then reused; the texts kept for that
    stay bounded however many different statements come."""
    from salesorders.adapters._postgres_numbers import _NUMBERED_TEXTS, _NUMBERED_TEXTS_KEPT

    late = LateNumbers()
    placeholder = late.ask("TAKE", "SO-2026", 6)
    texts = [late.numbered(f"SELECT $1 -- {n}", [placeholder])[0] for n in range(1_200)]
    assert len(_NUMBERED_TEXTS) <= _NUMBERED_TEXTS_KEPT
    assert texts[7] == "SELECT (replace($1::TEXT, $2::TEXT, current_setting($3::TEXT))) -- 7"
    assert late.numbered("SELECT $1 -- 7", [placeholder])[0] == texts[7]


def test_settings_are_named_by_their_place_in_the_transaction_so_none_pile_up() -> None:
    """A connection keeps every setting name it ever set: one name per order would pile up."""
    names = []
    for _ in range(3):
        late = LateNumbers()
        late.ask("TAKE", "SO-2026", 6)
        late.ask("TAKE", "CN-2026", 6)
        names.append(sorted(late.pending.values()))
    assert names == [["salesorders.number_1", "salesorders.number_2"]] * 3


def test_a_number_is_written_with_at_least_six_digits() -> None:
    assert number_text("SO-2026", 42) == "SO-2026-000042"
    assert number_text("SO-2026", 1_234_567) == "SO-2026-1234567"


# --------------------------------------------------------------------------- with a server


@pytest.fixture
def store(postgres_dsn: str, postgres_schema: str) -> Iterator[PostgresStore]:
    with PostgresStore(postgres_dsn, schema=postgres_schema, max_size=4) as opened:
        yield opened


def _dsn() -> str:
    return os.environ["SALESORDERS_TEST_POSTGRES_DSN"]  # the tests needing it take ``store``


def _service(store: PostgresStore, **options: Any) -> SalesService:
    service = bootstrap(uow=store.unit_of_work, clock=ManualClock(T0), **options)
    service.handle(RegisterWarehouse(warehouse=Warehouse("W1")))
    for sku in ("A", "B"):
        service.handle(ReceiveStock(sku=sku, warehouse_id="W1", quantity=1000))
    return service


def _order(key: str | None = None, confirm: bool = True) -> PlaceOrder:
    lines = (LineSpec("A", 1, Money("5.00", "EUR")), LineSpec("B", 2, Money("2.50", "EUR")))
    return PlaceOrder(
        customer_id="C-1", currency="EUR", lines=lines, confirm=confirm, idempotency_key=key
    )


def _stored_texts(schema: str) -> list[str]:
    """Every row of every table of ``schema``, as text."""
    return [text for texts in postgres_rows_as_text(_dsn(), schema).values() for text in texts]


@pytest.mark.postgres
def test_every_stored_text_carries_the_number_and_none_the_placeholder(
    store: PostgresStore, postgres_schema: str
) -> None:
    service = _service(store)
    first = service.handle(_order("K-1"))
    second = service.handle(_order())
    draft = service.handle(CreateDraft(customer_id="C-2", currency="EUR", lines=_order().lines))
    third = service.handle(PlaceDraft(order_id=draft.order_id, idempotency_key="K-3"))
    assert [first.number, second.number, third.number] == [
        "SO-2026-000001",
        "SO-2026-000002",
        "SO-2026-000003",
    ]
    texts = _stored_texts(postgres_schema)
    assert not [text for text in texts if PLACEHOLDER_PREFIX in text]
    messages = in_uow(store.unit_of_work, lambda uow: uow.outbox.messages(), False)
    for result in (first, second, third):
        assert service.get_order(result.order_id).number == result.number
        placed = [
            m.payload["number"]
            for m in messages
            if m.stream_id == result.order_id and m.event_type == "OrderPlaced"
        ]
        assert placed == [result.number]
    # the stored result of the key is the one returned, number and all
    assert service.handle(_order("K-1")) == first
    assert service.handle(PlaceDraft(order_id=draft.order_id, idempotency_key="K-3")) == third


@pytest.mark.postgres
def test_the_series_row_stays_unlocked_until_the_commit_takes_the_number(
    store: PostgresStore, postgres_schema: str
) -> None:
    assert in_uow(store.unit_of_work, lambda uow: uow.numbers.next_number("SO-2026")) == 1
    with store.unit_of_work() as uow:
        placeholder = uow.numbers.number_at_commit("SO-2026", 6)
        assert placeholder is not None and placeholder.startswith(PLACEHOLDER_PREFIX)
        uow.outbox.append(
            [OutboxMessage("O-1:1", "O-1", 1, "OrderPlaced", {"number": placeholder}, T0)]
        )
        with psycopg.connect(_dsn()) as other:
            # would raise LockNotAvailable had the number been taken already
            other.execute(
                f'SELECT last FROM "{postgres_schema}".order_number_series WHERE series = %s '
                "FOR UPDATE NOWAIT",
                ("SO-2026",),
            )
        uow.commit()
        assert dict(uow.numbers.taken) == {placeholder: "SO-2026-000002"}
    messages = in_uow(store.unit_of_work, lambda uow: uow.outbox.messages(), False)
    assert [m.payload for m in messages] == [{"number": "SO-2026-000002"}]


@pytest.mark.postgres
def test_a_unit_of_work_rolled_back_uses_up_no_number_and_reads_see_the_number(
    store: PostgresStore,
) -> None:
    in_uow(store.unit_of_work, lambda uow: uow.numbers.number_at_commit("SO-2026", 6), commit=False)

    def two_and_a_read(uow: Any) -> tuple[str, str, object]:
        first = uow.numbers.number_at_commit("SO-2026", 6)
        second = uow.numbers.number_at_commit("SO-2026", 6)
        message = OutboxMessage("O-2:1", "O-2", 1, "X", {"both": f"{first}/{second}"}, T0)
        uow.outbox.append([message])
        return first, second, [m.payload for m in uow.outbox.messages()]  # a read flushes

    with store.unit_of_work() as uow:
        first, second, seen = two_and_a_read(uow)
        uow.commit()
        taken = dict(uow.numbers.taken)
    assert taken == {first: "SO-2026-000001", second: "SO-2026-000002"}
    assert seen == [{"both": "SO-2026-000001/SO-2026-000002"}]


@pytest.mark.postgres
def test_a_counter_past_six_digits_keeps_every_digit(
    store: PostgresStore, postgres_schema: str
) -> None:
    in_uow(store.unit_of_work, lambda uow: uow.numbers.next_number("SO-2026"))
    with psycopg.connect(_dsn()) as conn:
        conn.execute(f'UPDATE "{postgres_schema}".order_number_series SET last = 999999')
    service = _service(store)
    assert service.handle(_order()).number == "SO-2026-1000000"


@pytest.mark.postgres
def test_with_the_audit_trail_the_number_is_taken_at_once_and_the_chain_verifies(
    store: PostgresStore, postgres_schema: str
) -> None:
    service = _service(store, audit=True)
    result = service.handle(_order("K-1"))
    assert result.number == "SO-2026-000001"
    report = service.verify_audit()
    assert report.intact and report.checked > 0
    assert not [text for text in _stored_texts(postgres_schema) if PLACEHOLDER_PREFIX in text]


@pytest.mark.postgres
def test_concurrent_placements_get_gap_free_numbers_each_stored_with_its_order(
    store: PostgresStore,
) -> None:
    service = _service(store)
    results: list[Any] = []

    def place(count: int) -> None:
        for _ in range(count):
            results.append(service.handle(_order(f"K-{uuid.uuid4().hex}")))

    threads = [threading.Thread(target=place, args=(10,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    numbers = sorted(result.number for result in results)
    assert numbers == [f"SO-2026-{n:06d}" for n in range(1, 41)]
    for result in results:
        assert service.get_order(result.order_id).number == result.number


@pytest.mark.postgres
def test_an_order_placed_without_confirming_gets_its_number_too(
    store: PostgresStore, postgres_schema: str
) -> None:
    service = _service(store)
    placed = service.handle(_order(confirm=False))
    assert placed.number == "SO-2026-000001"
    assert service.get_order(placed.order_id).number == "SO-2026-000001"
    assert not [text for text in _stored_texts(postgres_schema) if PLACEHOLDER_PREFIX in text]


@pytest.mark.postgres
def test_a_guard_of_the_hosts_own_reads_the_real_number(store: PostgresStore) -> None:
    seen: list[str | None] = []

    def numbered(order: Any) -> bool:
        seen.append(order.number)
        return True

    workflow = (
        default_workflow()
        .extend("numbered-order", version=1)
        .remove_transition("confirm", "placed")
        .add_transition("confirm", "placed", "confirmed", guards=["numbered"], effects=[RESERVE])
        .guard("numbered", numbered)
        .build()
    )
    assert not workflow.guards_built_in and default_workflow().guards_built_in
    service = _service(store, workflows=[workflow])
    command = attrs.evolve(_order(), workflow="numbered-order")
    result = service.handle(command)
    # asked before the order is numbered (does confirm reserve?), then when it is confirmed
    assert seen == [None, "SO-2026-000001"] and result.number == "SO-2026-000001"


@pytest.mark.postgres
def test_a_service_built_by_hand_with_an_audit_trail_takes_the_number_at_once(
    store: PostgresStore,
) -> None:
    built = _service(store)
    assert built.handlers.numbers_at_commit
    audited = SalesService(
        uow_factory=store.unit_of_work,
        clock=ManualClock(T0),
        handlers=built.handlers,
        idempotency=built.idempotency,
        retrier=built.retrier,
        dispatcher=built.dispatcher,
        trail=AuditTrail(True),
    )
    assert not built.handlers.numbers_at_commit
    assert audited.handle(_order("K-1")).number == "SO-2026-000001"
    report = audited.verify_audit()
    assert report.intact and report.checked > 0


@pytest.mark.postgres
def test_a_result_without_a_number_taken_at_the_commit_is_returned_as_it_is(
    store: PostgresStore,
) -> None:
    service = _service(store)
    placed = service.handle(_order(confirm=False))
    confirmed = service.handle(ConfirmOrder(order_id=placed.order_id))
    with store.unit_of_work() as uow:
        assert numbered_result(confirmed, uow) is confirmed
        assert numbered_result("text", uow) == "text"
