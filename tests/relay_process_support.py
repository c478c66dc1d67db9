"""What the multi-process relay tests share (no tests here): the relay processes, the channel that
records every delivery in a PostgreSQL table ``relay_sink``, a deliberately broken outbox whose
claim ignores leases, and the checker of the sink."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from salesorders.notifications import Notice, Outcome, Sent
from salesorders.service import OutboxRelay, SystemClock
from test_service_support import WrappedUnitOfWork

SINK_TABLE = """CREATE TABLE "{schema}".relay_sink (
    n BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    sequence INT NOT NULL,
    pid INT NOT NULL)"""


class SinkChannel:
    """Records each delivery as a row of ``relay_sink`` (the row's ``n`` is the delivery order).

    With ``block_on``, the first process (of all) to be handed that event writes its pid to
    ``marker`` and blocks there, before recording, until it is killed."""

    def __init__(
        self, name: str, dsn: str, schema: str, block_on: str = "", marker: str = ""
    ) -> None:
        import psycopg

        self.name = name
        self._connection = psycopg.connect(dsn, autocommit=True)
        self._insert = (
            f'INSERT INTO "{schema}".relay_sink (event_id, channel, stream_id, sequence, pid) '
            "VALUES (%s, %s, %s, %s, %s)"
        ).encode()
        self._block_on = block_on
        self._marker = marker

    def send(self, notice: Notice) -> Outcome:
        message = notice.message
        if message.event_id == self._block_on and self._first_to_block():
            time.sleep(120)  # killed here, mid-batch, before recording
        self._connection.execute(
            self._insert,
            (message.event_id, self.name, message.stream_id, message.sequence, os.getpid()),
        )
        return Sent(f"sink:{os.getpid()}")

    def _first_to_block(self) -> bool:
        try:  # the lock file stays: only the first process ever blocks
            os.close(os.open(self._marker + ".lock", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        Path(self._marker + ".tmp").write_text(str(os.getpid()))
        os.rename(self._marker + ".tmp", self._marker)  # the pid is complete when it appears
        return True


class _LeaselessOutbox:
    """An outbox whose ``claim`` ignores leases: every relay takes every due message."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def claim(
        self, owner: str, now: dt.datetime, lease_until: dt.datetime, limit: int = 100
    ) -> Any:
        return self._inner.due(now, limit)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class LeaselessUnitOfWork(WrappedUnitOfWork):
    @property
    def outbox(self) -> Any:
        return _LeaselessOutbox(self._inner.outbox)


def relay_process(
    dsn: str,
    schema: str,
    start: Any,
    block_on: str = "",
    marker: str = "",
    broken: bool = False,
    lease_seconds: float = 2.0,
) -> None:
    """One relay process: its own store, two sink channels, run until idle for a while."""
    from salesorders.adapters.postgres import PostgresStore

    store = PostgresStore(dsn, schema=schema, min_size=1, max_size=2)
    factory: Any = store.unit_of_work
    if broken:
        factory = lambda: LeaselessUnitOfWork(store.unit_of_work())  # noqa: E731
    channels = [
        SinkChannel("a", dsn, schema, block_on, marker),
        SinkChannel("b", dsn, schema),
    ]
    relay = OutboxRelay(
        factory,
        channels,
        SystemClock(),
        lease=dt.timedelta(seconds=lease_seconds),
        batch_size=10,
        poll_interval=dt.timedelta(milliseconds=50),
    )
    start.wait(60)
    idle_for = lease_seconds * 2.5
    relay.run(max_idle=max(1, int(idle_for / 0.05)))
    store.close()


def sink_problems(
    rows: Sequence[tuple[int, str, str, str, int, int]], expected: dict[str, list[int]]
) -> list[str]:
    """Every broken guarantee in ``relay_sink`` rows ``(n, event_id, channel, stream_id,
    sequence, pid)``: a message of ``expected`` (stream -> sequences) not delivered, or
    delivered twice, on a channel, or a stream delivered out of sequence order."""
    problems: list[str] = []
    seen: dict[tuple[str, str], list[int]] = {}
    for _, _event, channel, stream_id, sequence, _ in sorted(rows):
        seen.setdefault((stream_id, channel), []).append(sequence)
    channels = sorted({row[2] for row in rows} | {"a", "b"})
    for stream_id, sequences in sorted(expected.items()):
        for channel in channels:
            got = seen.get((stream_id, channel), [])
            missing = sorted(set(sequences) - set(got))
            if missing:
                problems.append(f"{stream_id} on {channel}: never delivered {missing}")
            twice = sorted({s for s in got if got.count(s) > 1})
            if twice:
                problems.append(f"{stream_id} on {channel}: delivered more than once {twice}")
            if got != sorted(got):
                problems.append(f"{stream_id} on {channel}: out of order {got}")
    return problems


def read_sink(dsn: str, schema: str) -> list[tuple[int, str, str, str, int, int]]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        return list(
            connection.execute(
                f'SELECT n, event_id, channel, stream_id, sequence, pid FROM "{schema}".relay_sink'.encode()
            )
        )


def marker_pid(marker: Path, timeout: float = 60.0) -> int:
    """The pid written to ``marker`` by the process that blocked (waits for it)."""
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("no relay process reached the blocking message")
        time.sleep(0.01)
    return int(marker.read_text())
