"""Four relay processes over one PostgreSQL outbox: every message is delivered exactly once per
channel, each stream in sequence order, and a process killed (SIGKILL) mid-batch loses nothing —
once its lease has ended another process delivers the message it held and the rest of that
stream, still in order. A relay records a batch's outcomes together once the batch is through,
so what the killed process had sent in its batch is sent again (at least once): only those
messages, and each once more, by one other process. A claim that ignores leases is caught by the same checker."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from race_support import drop_schema, new_schema
from relay_process_support import (
    SINK_TABLE,
    marker_pid,
    read_sink,
    relay_process,
    sink_problems,
)
from salesorders.ports import OutboxMessage

pytestmark = pytest.mark.postgres

STREAMS = 30
PER_STREAM = 5
T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def outbox(postgres_dsn: str) -> Iterator[tuple[str, str, dict[str, list[int]]]]:
    """A fresh schema holding STREAMS x PER_STREAM pending messages and an empty sink."""
    import psycopg

    from salesorders.adapters.postgres import PostgresStore

    schema = new_schema()
    store = PostgresStore(postgres_dsn, schema=schema, min_size=1, max_size=1)
    expected = {f"S-{s:03d}": list(range(1, PER_STREAM + 1)) for s in range(STREAMS)}
    try:
        with store.unit_of_work() as uow:
            uow.outbox.append(
                [
                    OutboxMessage(f"{stream}:{seq}", stream, seq, "OrderPlaced", {}, T0)
                    for stream, sequences in expected.items()
                    for seq in sequences
                ]
            )
            uow.commit()
        store.close()
        with psycopg.connect(postgres_dsn, autocommit=True) as connection:
            connection.execute(SINK_TABLE.format(schema=schema).encode())
        yield postgres_dsn, schema, expected
    finally:
        drop_schema(postgres_dsn, schema)


def _statuses(dsn: str, schema: str) -> set[str]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        rows = connection.execute(f'SELECT DISTINCT status FROM "{schema}".outbox'.encode())
        return {status for (status,) in rows}


def _run(dsn: str, schema: str, count: int, **options: Any) -> list[Any]:
    """``count`` relay processes, started together (the start event lives as long as the
    processes: each child unpickles it when it starts)."""
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    _EVENTS.append(start)
    processes = [
        context.Process(target=relay_process, args=(dsn, schema, start), kwargs=options)
        for _ in range(count)
    ]
    for process in processes:
        process.start()
    start.set()
    return processes


_EVENTS: list[Any] = []


def _join(processes: list[Any]) -> None:
    for process in processes:
        process.join(timeout=180)
    for process in processes:
        if process.is_alive():
            process.kill()
            pytest.fail("a relay process did not finish")
    _EVENTS.clear()


def test_four_relays_deliver_every_message_once_per_channel_in_order_despite_a_kill(
    outbox: tuple[str, str, dict[str, list[int]]], tmp_path: Path
) -> None:
    dsn, schema, expected = outbox
    marker = tmp_path / "blocked"
    held = "S-007:2"
    processes = _run(dsn, schema, 4, block_on=held, marker=str(marker))
    try:
        killed = marker_pid(marker)
        os.kill(killed, signal.SIGKILL)
    finally:
        _join(processes)
    assert sorted(p.exitcode for p in processes) == [-signal.SIGKILL, 0, 0, 0]
    rows = read_sink(dsn, schema)
    kept, resent = _without_resends(rows, killed)
    assert sink_problems(kept, expected) == []
    assert len(kept) == 2 * STREAMS * PER_STREAM
    assert held not in resent  # the kill came before the held message was sent
    assert _in_order_once([r for r in rows if r[5] == killed])
    assert _statuses(dsn, schema) == {"delivered"}
    # the held message was delivered by another process, after the kill
    takers = {pid for _, event_id, _, _, _, pid in rows if event_id == held}
    assert len(takers) == 1 and killed not in takers
    assert len({pid for *_, pid in rows}) >= 2  # the work was shared


def _without_resends(rows: list[Any], killed: int) -> tuple[list[Any], set[str]]:
    """The sink rows without the killed process's sends of messages that another process
    sent again (its batch, sent but not recorded), and those messages' ids."""
    by_killed = {row[1] for row in rows if row[5] == killed}
    by_others = {row[1] for row in rows if row[5] != killed}
    resent = by_killed & by_others
    return [r for r in rows if not (r[5] == killed and r[1] in resent)], resent


def _in_order_once(rows: list[Any]) -> bool:
    """Whether ``rows`` send each stream on each channel in rising sequence, each once."""
    seen: dict[tuple[str, str], list[int]] = {}
    for _, _event, channel, stream_id, sequence, _ in sorted(rows):
        seen.setdefault((stream_id, channel), []).append(sequence)
    return all(got == sorted(set(got)) for got in seen.values())


def test_the_checker_catches_relays_whose_claim_ignores_leases(
    outbox: tuple[str, str, dict[str, list[int]]],
) -> None:
    dsn, schema, expected = outbox
    _join(_run(dsn, schema, 4, broken=True, lease_seconds=0.2))
    problems = sink_problems(read_sink(dsn, schema), expected)
    assert any("more than once" in p or "out of order" in p for p in problems), problems


def test_the_checker_flags_a_missing_a_duplicate_and_a_reordered_delivery() -> None:
    expected = {"S-1": [1, 2], "S-2": [1]}
    good = [
        (1, "S-1:1", "a", "S-1", 1, 10),
        (2, "S-1:2", "a", "S-1", 2, 10),
        (3, "S-2:1", "a", "S-2", 1, 11),
        (4, "S-1:1", "b", "S-1", 1, 10),
        (5, "S-1:2", "b", "S-1", 2, 10),
        (6, "S-2:1", "b", "S-2", 1, 11),
    ]
    assert sink_problems(good, expected) == []
    swapped = [(2, *good[0][1:]), (1, *good[1][1:]), *good[2:]]
    assert sink_problems(swapped, expected) == ["S-1 on a: out of order [2, 1]"]
    assert sink_problems([*good, (7, "S-2:1", "b", "S-2", 1, 12)], expected) == [
        "S-2 on b: delivered more than once [1]"
    ]
    assert sink_problems(good[1:], expected) == ["S-1 on a: never delivered [1]"]
