"""Measurement helpers for benchmarks/run.py: every figure beside a baseline from the same run."""

from __future__ import annotations

import gc
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: Set by ``run.py --smoke``: every workload runs once with tiny counts, which proves it still runs;
#: its figures then mean nothing.
SMOKE = False


def smoke_or(value: T, tiny: T) -> T:
    """``tiny`` in a smoke run, else ``value``."""
    return tiny if SMOKE else value


@dataclass
class Result:
    name: str
    value: float
    unit: str
    baseline: float | None
    target: str = ""
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        assert self.baseline is not None
        return self.value / self.baseline

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "value": round(self.value, 3),
            "unit": self.unit,
            "baseline": None if self.baseline is None else round(self.baseline, 3),
            "ratio": None if self.ratio is None else round(self.ratio, 3),
            "target": self.target,
            "note": self.note,
            **({"extra": {k: round(v, 3) for k, v in self.extra.items()}} if self.extra else {}),
        }


def per_call_us(make: Callable[[], Callable[[], object]], *, calls: int, repeats: int) -> float:
    """Best-of-``repeats`` mean µs per call of the function ``make()`` returns, over ``calls`` calls.

    ``make`` runs outside the timed region (fresh state per repeat). The minimum over repeats is the
    least disturbed run on a noisy machine.
    """
    calls, repeats = smoke_or((calls, repeats), (min(calls, 10), 1))
    best = float("inf")
    for _ in range(repeats):
        fn = make()
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            elapsed = time.perf_counter() - start
        finally:
            gc.enable()
        best = min(best, elapsed / calls * 1e6)
    return best


def concurrent_rate(work: Callable[[Sequence[int]], None], total: int, workers: int) -> float:
    """Operations per second of ``total`` numbered operations split over ``workers`` threads.

    ``work(numbers)`` performs the operations with those numbers. Only the threads' run is timed;
    the first error a worker raised is raised here.
    """
    failures: list[BaseException] = []
    numbers = list(range(total))

    def run(share: Sequence[int]) -> None:
        try:
            work(share)
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=run, args=(numbers[i::workers],)) for i in range(workers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise failures[0]
    return total / elapsed


# --------------------------------------------------------------------------- raw SQLite baselines


def raw_sqlite_connect(path: Path) -> sqlite3.Connection:
    """A raw connection set up like the store's: WAL, synchronous=NORMAL, same checkpoints."""
    db = sqlite3.connect(path, isolation_level=None, cached_statements=512)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA wal_autocheckpoint=10000")
    return db


def raw_record_key(
    db: sqlite3.Connection,
    key: str,
    command: str,
    fingerprint: str,
    result: dict[str, Any],
    at: str,
    expires: str,
) -> None:
    """A raw baseline's idempotency record, written as the store writes it."""
    db.execute(
        "INSERT INTO idempotency (key, command, fingerprint, result, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (key, command, fingerprint, json.dumps({"value": result}), at, expires),
    )
