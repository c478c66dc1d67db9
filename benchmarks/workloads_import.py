"""Spreadsheet import workloads: a 100,000-row order file (3 lines an order) read and checked,
then imported into the memory store.

``import_check_csv`` times :func:`salesorders.spreadsheets.check_orders` over the file's bytes:
decoding, the CSV reader, the header, every cell checked by the domain's checks, the orders
grouped. ``import_orders_memory`` times :func:`~salesorders.spreadsheets.import_orders` into a
memory store: both passes (the check, then each order placed through the service). The baseline
of both, in the same run, is a bare loop of :mod:`csv` over the same bytes that decodes them and
touches every cell (``len`` of each). Figures are rows per second; the ratio is the fraction of
the bare loop's speed (1.0: as fast as reading the file and doing nothing with it).
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import io
import time
from collections.abc import Callable

from harness import Result, smoke_or

from salesorders.adapters.memory import MemoryStore
from salesorders.service import ManualClock, bootstrap
from salesorders.spreadsheets import check_orders, import_orders

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
HEADER = "reference,customer,currency,sku,quantity,unit_price,description\n"


def order_file(rows: int) -> bytes:
    """``rows`` order lines, three to an order, as a UTF-8 CSV."""
    lines = [HEADER]
    for n in range(rows):
        lines.append(
            f"PO-{n // 3},C-{n // 3 % 97},USD,SKU-{n % 50},{1 + n % 4},{n % 90 + 10}.{n % 100:02d},"
            f"line {n}\n"
        )
    return "".join(lines).encode()


def _best(run: Callable[[], object], repeats: int) -> float:
    """The least disturbed of ``repeats`` runs, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def _bare_csv_loop(data: bytes) -> int:
    cells = 0
    for row in csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")):
        for cell in row:
            cells += len(cell)
    return cells


def import_check_csv(quick: bool) -> Result:
    rows = smoke_or(20_000 if quick else 100_000, 300)
    repeats = smoke_or(3 if quick else 5, 1)
    data = order_file(rows)
    assert check_orders(data) == ()
    value = rows / _best(lambda: check_orders(data), repeats)
    base = rows / _best(lambda: _bare_csv_loop(data), repeats)
    return Result(
        "import_check_csv",
        value,
        "rows/s",
        base,
        note=f"{rows:,} rows parsed and every cell checked; baseline: bare csv loop (rows/s)",
    )


def import_orders_memory(quick: bool) -> Result:
    rows = smoke_or(20_000 if quick else 100_000, 300)
    repeats = smoke_or(1 if quick else 2, 1)
    data = order_file(rows)

    def run() -> None:
        service = bootstrap(store=MemoryStore(), clock=ManualClock(T0))
        report = import_orders(service, data)
        assert len(report.created) == (rows + 2) // 3

    value = rows / _best(run, repeats)
    base = rows / _best(lambda: _bare_csv_loop(data), max(repeats, 3))
    return Result(
        "import_orders_memory",
        value,
        "rows/s",
        base,
        note=f"{rows:,} rows, {(rows + 2) // 3:,} orders placed in a memory store; "
        "baseline: bare csv loop (rows/s)",
    )
