"""The writes a PostgreSQL transaction holds back for a number taken at the commit are sent as one
statement where that cannot change what they do, and as they came everywhere else.

The first part needs no server: how statements are taken apart, cut into runs and joined. The
second runs against PostgreSQL (marked ``postgres``, skipped without
SALESORDERS_TEST_POSTGRES_DSN): a place-and-confirm sends its writes after the number as one
statement, and writes that depend on each other are not joined.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from moneyed import Money

from salesorders.adapters import _postgres_batch as batch
from salesorders.adapters._postgres_batch import batches, joined, send_held, shape_of
from salesorders.adapters._postgres_numbers import NUMBER_QUERY, Held, LateNumbers
from salesorders.adapters.postgres import PostgresStore
from salesorders.domain.warehouse import Warehouse
from salesorders.service import (
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    bootstrap,
)
from salesorders.testing.contracts import T0

S = '"shop".'
TAKE = (
    f"WITH n AS (INSERT INTO {S}order_number_series AS s (series, last) VALUES ($1, 1) "
    "ON CONFLICT (series) DO UPDATE SET last = s.last + 1 RETURNING last) "
    "SELECT set_config($2::TEXT, $1::TEXT || '-' || CAST(n.last AS TEXT), true) AS number FROM n"
)
ORDER = f"INSERT INTO {S}orders (id, number, doc) VALUES ($1, $2, CAST($3 AS JSONB))"
LINES = f"INSERT INTO {S}order_lines (order_id, line_id) VALUES ($1::TEXT, $2::TEXT)"
PUT = (
    f"WITH put AS (INSERT INTO {S}idempotency AS r (key) VALUES ($1) ON CONFLICT (key) DO "
    "NOTHING RETURNING key) "
    f"INSERT INTO {S}idempotency (key) SELECT $1 WHERE NOT EXISTS (SELECT 1 FROM put)"
)


def _held(*statements: tuple[str, int] | tuple[str, int, str]) -> list[Held]:
    return [
        (sql, tuple(f"v{i}" for i in range(size)), rest[0] if rest else None)
        for sql, size, *rest in statements
    ]


def _cut(held: Sequence[Held]) -> list[list[str]]:
    return [[sql for sql, _, _ in run] for run in batches(held)]


# --------------------------------------------------------------------------- taken apart


def test_a_statement_is_taken_apart_into_its_with_queries_main_part_and_tables() -> None:
    shape = shape_of(PUT)
    assert shape is not None
    assert shape.names == frozenset({"put"})
    assert shape.queries == (
        f"put AS (INSERT INTO {S}idempotency AS r (key) VALUES ($1) ON CONFLICT (key) DO "
        "NOTHING RETURNING key)",
    )
    assert shape.main.startswith(f"INSERT INTO {S}idempotency (key) SELECT $1")
    assert shape.tables == frozenset({"shop.idempotency"}) and shape.writes
    columns = shape_of(
        f"WITH v (a, b) AS (VALUES ($1, ')('), ($2, 'x')), w AS (SELECT 1) "
        f"UPDATE {S}t SET a = v.a FROM v"
    )
    assert columns is not None and columns.names == frozenset({"v", "w"})
    assert columns.queries[0] == "v (a, b) AS (VALUES ($1, ')('), ($2, 'x'))"
    take = shape_of(TAKE)
    assert take is not None and not take.writes and take.names == frozenset({"n"})


@pytest.mark.parametrize(
    "sql",
    [
        f"INSERT INTO {S}t VALUES ($1) -- a comment",
        f"INSERT INTO {S}t VALUES ($1) /* a comment */",
        f"INSERT INTO {S}t VALUES ($tag$text$tag$)",
        f"INSERT INTO {S}t VALUES ('unclosed)",
        f"WITH RECURSIVE r AS (SELECT 1) INSERT INTO {S}t SELECT * FROM r",
        f"WITH r AS MATERIALIZED (SELECT 1) INSERT INTO {S}t SELECT * FROM r",
        f"WITH batch_1 AS (SELECT 1) INSERT INTO {S}t SELECT * FROM batch_1",
        f"INSERT INTO {S}t VALUES (E'it\\'s')",
        f'INSERT INTO {S}t (U&"d\\0061ta") VALUES ($1)',
        f"WITH v AS (VALUES (($1)) INSERT INTO {S}t SELECT * FROM v",
    ],
)
def test_a_statement_that_is_not_plain_is_never_joined(sql: str) -> None:
    assert shape_of(sql) is None
    assert _cut(_held((ORDER, 3), (sql, 1), (LINES, 2))) == [[ORDER], [sql], [LINES]]


def test_quoted_text_is_not_taken_for_syntax() -> None:
    sql = f'INSERT INTO {S}t (a, b) VALUES (\'-- $1 /* (\', "odd""name")'
    shape = shape_of(sql)
    assert shape is not None and shape.tables == frozenset({"shop.t"})
    text, _ = joined([(TAKE, ("a", "b"), True), (sql, (), False)])
    assert "'-- $1 /* ('" in text  # quoted text keeps its dollar sign and number


# --------------------------------------------------------------------------- cut into runs


def test_the_writes_of_a_placed_order_after_its_number_are_one_run() -> None:
    held = _held((TAKE, 3, "p1"), (ORDER, 3), (LINES, 2), (PUT, 1))
    assert _cut(held) == [[TAKE, ORDER, LINES, PUT]]


def test_a_write_naming_a_table_of_the_run_starts_a_new_run() -> None:
    again = f"UPDATE {S}orders SET doc = CAST($1 AS JSONB) WHERE id = $2"
    reads = f"INSERT INTO {S}order_lines (order_id) SELECT id FROM {S}orders WHERE id = $1"
    held = _held((TAKE, 3, "p1"), (ORDER, 3), (again, 2), (reads, 1), (PUT, 1))
    assert _cut(held) == [[TAKE, ORDER], [again], [reads, PUT]]


def test_with_queries_of_one_name_a_second_number_and_too_many_parameters_start_new_runs() -> None:
    other_put = PUT.replace("idempotency", "customers")
    held = _held((PUT, 1), (other_put, 1))
    assert _cut(held) == [[PUT], [other_put]]
    second_take = TAKE.replace("order_number_series", "credit_note_series")
    assert _cut(_held((TAKE, 3, "p1"), (ORDER, 3), (second_take, 3, "p2"), (LINES, 2))) == [
        [TAKE, ORDER],
        [second_take, LINES],
    ]
    big = batch.MAX_PARAMETERS - 2
    assert _cut(_held((ORDER, 3), (LINES, big))) == [[ORDER], [LINES]]
    assert _cut(_held((ORDER, 2), (LINES, big))) == [[ORDER, LINES]]


def test_a_statement_that_neither_writes_nor_takes_a_number_is_sent_alone_in_its_place() -> None:
    lock = "SELECT pg_advisory_xact_lock(hashtext($1))"
    read = f"SELECT id FROM {S}orders WHERE id = $1"
    create = f"CREATE TABLE {S}t (a TEXT)"
    held = _held((ORDER, 3), (lock, 1), (LINES, 2), (read, 1), (create, 0), (PUT, 1))
    assert _cut(held) == [[ORDER], [lock], [LINES], [read], [create], [PUT]]


# --------------------------------------------------------------------------- joined


def test_joined_writes_become_with_queries_with_their_parameters_renumbered() -> None:
    text, values = joined(
        [(TAKE, ("SO", "s1"), True), (ORDER, ("o1", "n", "{}"), False), (PUT, ("k",), False)]
    )
    assert text == (
        'WITH n AS (INSERT INTO "shop".order_number_series AS s (series, last) VALUES ($1, 1) '
        "ON CONFLICT (series) DO UPDATE SET last = s.last + 1 RETURNING last), "
        f"{NUMBER_QUERY} AS (SELECT set_config($2::TEXT, $1::TEXT || '-' || "
        "CAST(n.last AS TEXT), true) AS number FROM n), "
        'batch_2 AS (INSERT INTO "shop".orders (id, number, doc) VALUES ($3, $4, '
        "CAST($5 AS JSONB)) RETURNING 1), "
        'put AS (INSERT INTO "shop".idempotency AS r (key) VALUES ($6) ON CONFLICT (key) DO '
        "NOTHING RETURNING key), "
        'batch_3 AS (INSERT INTO "shop".idempotency (key) SELECT $6 WHERE NOT EXISTS '
        "(SELECT 1 FROM put) RETURNING 1) "
        f"SELECT (SELECT number FROM {NUMBER_QUERY}) AS number, "
        "(SELECT count(*) FROM batch_2), (SELECT count(*) FROM batch_3)"
    )
    assert values == ["SO", "s1", "o1", "n", "{}", "k"]
    returning = ORDER + " RETURNING id"
    plain, _ = joined([(returning, ("o", "n", "{}"), False), (LINES, ("o", "L1"), False)])
    assert plain.endswith(
        'RETURNING id), batch_2 AS (INSERT INTO "shop".order_lines (order_id, line_id) VALUES '
        "($4::TEXT, $5::TEXT) RETURNING 1) "
        "SELECT (SELECT count(*) FROM batch_1), (SELECT count(*) FROM batch_2)"
    )


def test_the_texts_kept_for_reuse_stay_bounded() -> None:
    for n in range(1_200):
        sql = f"INSERT INTO {S}t{n} (a) VALUES ($1)"
        assert shape_of(sql) is not None
        joined([(ORDER, ("o", "n", "{}"), False), (sql, ("a",), False)])
    assert len(batch._SHAPES) <= batch._KEPT
    assert len(batch._JOINED) <= batch._KEPT


def test_sent_held_writes_read_a_number_of_their_own_statement_from_it() -> None:
    late = LateNumbers()
    placeholder = late.ask(TAKE, "SO-2026", 6)
    late.held.append((ORDER, ("o1", placeholder, f'{{"number": "{placeholder}"}}'), None))
    late.held.append((LINES, ("o1", "L1"), None))
    sent: list[tuple[str, list[Any]]] = []
    answered: list[tuple[str, list[Any]]] = []
    send_held(
        late,
        lambda sql, params: sent.append((sql, list(params))),
        lambda sql, params: answered.append((sql, list(params))) or "cursor",
    )
    assert late.held == [] and sent == [] and late.answers == {placeholder: "cursor"}
    ((text, values),) = answered
    assert f"replace($5::TEXT, $7::TEXT, (SELECT number FROM {NUMBER_QUERY}))" in text
    assert f"replace($6::TEXT, $7::TEXT, (SELECT number FROM {NUMBER_QUERY}))" in text
    assert "current_setting" not in text
    assert values[6] == placeholder and values[7:] == ["o1", "L1"]
    # alone in its run (the number taken by an earlier statement), a write reads the setting
    late.held.append((ORDER, ("o2", placeholder, "{}"), None))
    send_held(late, lambda sql, params: sent.append((sql, list(params))), print)
    ((alone, params),) = sent
    assert "current_setting($5::TEXT)" in alone
    assert params[3:] == [placeholder, late.pending[placeholder]]


# --------------------------------------------------------------------------- with a server


@pytest.fixture
def store(postgres_dsn: str, postgres_schema: str) -> Iterator[PostgresStore]:
    with PostgresStore(postgres_dsn, schema=postgres_schema, max_size=1) as opened:
        yield opened


def _statements_sent(store: PostgresStore, command: PlaceOrder) -> tuple[list[str], Any]:
    """The statements (``Execute`` messages) one command sends, from a libpq trace, and its
    result."""
    service = bootstrap(uow=store.unit_of_work, clock=ManualClock(T0))
    pool = store._pool
    assert pool is not None
    with pool.connection() as connection:
        pass  # the pool's only connection: the one the command will use
    with tempfile.TemporaryFile("w+") as trace:
        connection.pgconn.trace(trace.fileno())
        try:
            result = service.handle(command)
        finally:
            connection.pgconn.untrace()
        trace.seek(0)
        lines = trace.read().splitlines()
    return [line for line in lines if "\tF\t" in line and "\tExecute\t" in line], result


@pytest.mark.postgres
def test_a_placed_order_sends_its_writes_after_the_number_as_one_statement(
    store: PostgresStore,
) -> None:
    service = bootstrap(uow=store.unit_of_work, clock=ManualClock(T0))
    service.handle(RegisterWarehouse(warehouse=Warehouse("W1")))
    service.handle(ReceiveStock(sku="A", warehouse_id="W1", quantity=10))
    lines = (LineSpec("A", 1, Money("5.00", "EUR")),)
    place = PlaceOrder(
        customer_id="C-1", currency="EUR", lines=lines, confirm=True, idempotency_key="k-1"
    )
    before = store.statements
    # BEGIN, the key's lock, its lookup, the stock snapshot; the stock's writes; then the
    # number, the order, its line facts, its events and the key's record as one; COMMIT.
    sent, result = _statements_sent(store, place)
    assert len(sent) == 7
    assert store.statements - before == 9  # the repositories' statements, as they asked them
    order = service.get_order(result.order_id)
    assert result.number == order.number == "SO-2026-000001" and order.state == "confirmed"
    assert service.handle(place).number == "SO-2026-000001"  # the key's record has the number


@pytest.mark.postgres
def test_writes_after_a_number_that_depend_on_each_other_run_one_after_the_other(
    store: PostgresStore, postgres_dsn: str, postgres_schema: str
) -> None:
    import psycopg

    table = f'"{postgres_schema}".customers'
    with store.unit_of_work() as uow:
        placeholder = uow.numbers.number_at_commit("SO-2026", 6)
        assert placeholder is not None
        session = uow._session
        session.run(
            f"INSERT INTO {table} (id, tier, version, updated_at, doc) "
            "VALUES ($1, $2, 1, now(), CAST($3 AS JSONB))",
            ("C-1", "gold", f'{{"number": "{placeholder}"}}'),
        )
        # reads the row the insert wrote: joined with it, it would find none
        session.run(
            f"UPDATE {table} SET version = version + 1, tier = $1 WHERE id = $2", ("vip", "C-1")
        )
        uow.commit()
        number = uow.numbers.taken[placeholder]
    with psycopg.connect(postgres_dsn) as conn:
        row = conn.execute(f"SELECT tier, version, doc FROM {table} WHERE id = 'C-1'").fetchone()
    assert row == ("vip", 2, {"number": number})
    assert number == "SO-2026-000001"


@pytest.mark.postgres
def test_joined_writes_raise_the_error_the_first_of_them_would(store: PostgresStore) -> None:
    """An order placed again under its id: its own conflict, not its outbox message's (which
    would come from a later write of the same statement)."""
    from salesorders.errors import ConflictError

    service = bootstrap(uow=store.unit_of_work, clock=ManualClock(T0))
    service.handle(RegisterWarehouse(warehouse=Warehouse("W1")))
    service.handle(ReceiveStock(sku="A", warehouse_id="W1", quantity=10))
    lines = (LineSpec("A", 1, Money("5.00", "EUR")),)
    place = PlaceOrder(order_id="O-1", customer_id="C-1", currency="EUR", lines=lines, confirm=True)
    service.handle(place)
    with pytest.raises(ConflictError) as refused:
        service.handle(place)
    assert type(refused.value) is ConflictError and "order" in str(refused.value)
    assert service.get_order("O-1").number == "SO-2026-000001"
