"""The outbox relay on PostgreSQL: delivered messages per second with 1 and 4 relay processes (a
no-op channel), beside a raw psycopg loop doing the same work in the same number of processes
(``SELECT ... FOR UPDATE SKIP LOCKED`` a batch of pending messages, ``UPDATE ... SET status =
'delivered'``), measured in the same run.

Each process opens its store (or connection) and then waits for a common start; only the time
from the start until every process has finished is measured.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import time
import uuid
from typing import Any

from harness import Result, smoke_or

from salesorders.notifications import Notice, Outcome, Sent
from salesorders.ports import OutboxMessage
from salesorders.service import OutboxRelay, SystemClock

DSN = os.environ.get("SALESORDERS_TEST_POSTGRES_DSN", "")
T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
PER_STREAM = 5
BATCH = 100


class _Nothing:
    """A channel that delivers instantly."""

    name = "noop"

    def send(self, notice: Notice) -> Outcome:
        return Sent("")


def _relay_worker(schema: str, ready: Any, start: Any) -> None:
    from salesorders.adapters.postgres import PostgresStore

    store = PostgresStore(DSN, schema=schema, min_size=1, max_size=1)
    relay = OutboxRelay(
        store.unit_of_work,
        [_Nothing()],
        SystemClock(),
        batch_size=BATCH,
        poll_interval=dt.timedelta(milliseconds=10),
    )
    ready.put(os.getpid())
    start.wait()
    relay.run(max_idle=2)
    store.close()


def _raw_worker(schema: str, ready: Any, start: Any) -> None:
    import psycopg

    connection = psycopg.connect(DSN)
    pick = (
        f'SELECT event_id FROM "{schema}".outbox WHERE status = %s '
        "ORDER BY stream_id, sequence LIMIT %s FOR UPDATE SKIP LOCKED"
    ).encode()
    mark = (
        f'UPDATE "{schema}".outbox SET status = %s, delivered_at = now() WHERE event_id = ANY(%s)'
    ).encode()
    ready.put(os.getpid())
    start.wait()
    while True:
        with connection.transaction():
            ids = [row[0] for row in connection.execute(pick, ("pending", BATCH))]
            if ids:
                connection.execute(mark, ("delivered", ids))
        if not ids:
            break
    connection.close()


def _fill(schema: str, messages: int) -> None:
    from salesorders.adapters.postgres import PostgresStore

    store = PostgresStore(DSN, schema=schema, min_size=1, max_size=1)
    try:
        streams = max(1, messages // PER_STREAM)
        with store.unit_of_work() as uow:
            uow.outbox.append(
                [
                    OutboxMessage(f"S-{s:05d}:{q}", f"S-{s:05d}", q, "OrderPlaced", {"n": q}, T0)
                    for s in range(streams)
                    for q in range(1, PER_STREAM + 1)
                ]
            )
            uow.commit()
    finally:
        store.close()


def _drop(schema: str) -> None:
    import psycopg

    with psycopg.connect(DSN, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'.encode())


def _delivered(schema: str) -> int:
    import psycopg

    with psycopg.connect(DSN, autocommit=True) as connection:
        row = connection.execute(
            f"SELECT count(*) FROM \"{schema}\".outbox WHERE status = 'delivered'".encode()
        ).fetchone()
        return int(row[0]) if row else 0


def _rate(worker: Any, processes: int, messages: int) -> float:
    """Delivered messages per second of ``processes`` processes running ``worker``."""
    schema = f"benchrelay_{uuid.uuid4().hex[:10]}"
    try:
        _fill(schema, messages)
        total = (messages // PER_STREAM) * PER_STREAM
        context = multiprocessing.get_context("spawn")
        ready, start = context.Queue(), context.Event()
        started = [
            context.Process(target=worker, args=(schema, ready, start)) for _ in range(processes)
        ]
        for process in started:
            process.start()
        for _ in started:
            ready.get(timeout=120)
        begin = time.perf_counter()
        start.set()
        for process in started:
            process.join(timeout=600)
        elapsed = time.perf_counter() - begin
        if any(p.exitcode != 0 for p in started):
            raise RuntimeError("a benchmark process failed")
        if _delivered(schema) != total:
            raise RuntimeError("not every message was delivered")
        return total / elapsed
    finally:
        _drop(schema)


def _result(name: str, processes: int, quick: bool) -> Result | None:
    if not DSN:
        return None
    messages = smoke_or(2_000 if quick else 10_000, 50)
    value = _rate(_relay_worker, processes, messages)
    baseline = _rate(_raw_worker, processes, messages)
    return Result(
        name,
        value,
        "msgs/s",
        baseline,
        target="≥ 0.25× raw psycopg",
        note=(
            f"{messages} messages in {messages // PER_STREAM} streams, {processes} process"
            f"{'es' if processes > 1 else ''}, batches of {BATCH}, one no-op channel; baseline: "
            "raw SKIP LOCKED + UPDATE per batch, no stream order, no delivery log"
        ),
    )


def relay_postgres_1(quick: bool) -> Result | None:
    return _result("relay_postgres_1", 1, quick)


def relay_postgres_4(quick: bool) -> Result | None:
    return _result("relay_postgres_4", 4, quick)
