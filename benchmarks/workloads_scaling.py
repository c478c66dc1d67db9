"""Scaling workloads: what an order costs per line, and whether it costs more as the store grows.

* ``lines_memory`` places and confirms orders of 1, 3, 10, 50 and 200 lines on the memory store,
  beside the dict baseline doing the same bookkeeping for as many lines, in the same run. It
  reports the 200-line order (value, baseline, ratio) and, in ``extra``, every size and the cost of
  one more line (the slope between 3 and 200 lines) for both.
* ``growth_sqlite`` and ``growth_postgres`` place and confirm the same batch of orders into a
  store already holding a small and a large number of orders (1,000 and 100,000; ``--quick``:
  1,000 and 10,000), in the same run: the figure is µs per order with the large store, the
  baseline the same with the small one, so the ratio is the cost of growth.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from harness import Result, concurrent_rate, per_call_us, smoke_or
from workloads_service import (
    DSN,
    PRICE,
    SKUS,
    T0,
    WAREHOUSES,
    _drop,
    _no_sync_dsn,
    _order,
    _pg_store,
    _seed,
)

from salesorders.adapters.memory import MemoryStore
from salesorders.adapters.sqlite import SQLiteStore
from salesorders.service import ManualClock, SalesService, bootstrap

SIZES = (1, 3, 10, 50, 200)


# --------------------------------------------------------------------------- lines


def _library(lines: int, calls: int) -> Callable[[], Callable[[], object]]:
    def make() -> Callable[[], object]:
        store = MemoryStore()
        service = bootstrap(uow=store.unit_of_work, clock=ManualClock(T0))
        _seed(service)
        commands = iter([_order(n, lines) for n in range(calls)])

        def step() -> object:
            return service.handle(next(commands))

        return step

    return make


def _dicts(lines: int) -> Callable[[], Callable[[], object]]:
    """The dict baseline of ``place_confirm_memory``, for orders of ``lines`` lines."""

    def make() -> Callable[[], object]:
        stock = {(sku, wh): [Decimal(10**8), Decimal(0)] for sku in SKUS for wh in WAREHOUSES}
        orders: dict[str, dict[str, Any]] = {}
        reservations: list[tuple[str, str, str, Decimal]] = []
        outbox: list[tuple[str, int, str]] = []
        keys: dict[str, str] = {}
        cent = Decimal("0.01")
        counter = [0]

        def step() -> object:
            counter[0] += 1
            n = counter[0]
            order_id = uuid.uuid4().hex
            keys[f"k{n}"] = order_id
            wanted = [
                (f"L{i}", SKUS[(n * 7 + i * 13) % len(SKUS)], Decimal(1)) for i in range(lines)
            ]
            total = Decimal(0)
            priced = []
            for line_id, sku, qty in wanted:
                amount = (qty * PRICE.amount).quantize(cent)
                total += amount
                priced.append({"line": line_id, "sku": sku, "qty": qty, "amount": amount})
            for line_id, sku, qty in wanted:
                need = qty
                for wh in WAREHOUSES:
                    row = stock[(sku, wh)]
                    take = min(row[0] - row[1], need)
                    if take > 0:
                        row[1] += take
                        reservations.append((order_id, line_id, wh, take))
                        need -= take
                    if not need:
                        break
            orders[order_id] = {"lines": priced, "total": total, "state": "confirmed", "v": 1}
            outbox.append((order_id, 1, "OrderPlaced"))
            outbox.append((order_id, 2, "OrderConfirmed"))
            return order_id

        return step

    return make


def lines_memory(quick: bool) -> Result:
    repeats = 3 if quick else 5
    value: dict[int, float] = {}
    base: dict[int, float] = {}
    for lines in SIZES:
        calls = max(20, (300 if quick else 3_000) // lines)
        value[lines] = per_call_us(_library(lines, calls), calls=calls, repeats=repeats)
        base[lines] = per_call_us(_dicts(lines), calls=calls, repeats=repeats)
    slope = (value[200] - value[3]) / 197
    base_slope = (base[200] - base[3]) / 197
    extra = {f"lines_{n}": value[n] for n in SIZES}
    extra.update({f"baseline_lines_{n}": base[n] for n in SIZES})
    extra.update(
        {
            "per_extra_line": slope,
            "baseline_per_extra_line": base_slope,
            "per_extra_line_ratio": slope / base_slope,
        }
    )
    return Result(
        "lines_memory",
        value[200],
        "µs/order",
        base[200],
        target="200 lines ≤ 5×; per extra line ≤ 5×",
        note=(
            "PlaceOrder(confirm=True) of 1/3/10/50/200 lines, memory store; per extra line "
            f"{slope:.1f} µs vs baseline {base_slope:.2f} µs ({slope / base_slope:.1f}×); "
            + ", ".join(f"{n}: {value[n]:.0f} vs {base[n]:.1f}" for n in SIZES)
        ),
        extra=extra,
    )


# --------------------------------------------------------------------------- growth


def _fill(service: SalesService, count: int, threads: int = 1) -> None:
    """Store ``count`` placed and confirmed orders (what a grown store holds)."""
    commands = [_order(n) for n in range(count)]

    def work(numbers: Sequence[int]) -> None:
        for n in numbers:
            service.handle(commands[n])

    if threads == 1:
        work(range(count))
    else:
        concurrent_rate(work, count, threads)


def _timed(service: SalesService, orders: int) -> float:
    """µs per order to place and confirm ``orders`` fresh orders."""
    commands = [_order(10**7 + n) for n in range(orders)]
    start = time.perf_counter()
    for command in commands:
        service.handle(command)
    return (time.perf_counter() - start) / orders * 1e6


def _growth_result(name: str, small: int, large: int, at_small: float, at_large: float) -> Result:
    return Result(
        name,
        at_large,
        "µs/order",
        at_small,
        target="≤ 1.3×",
        note=(
            f"place + confirm with {large:,} orders stored, beside the same with {small:,} "
            "stored (same run, same batch of orders)"
        ),
    )


def growth_sqlite(quick: bool) -> Result:
    small, large = (1_000, 10_000) if quick else (1_000, 100_000)
    orders = 300 if quick else 1_000
    (small, large), orders = smoke_or(((small, large), orders), ((20, 60), 10))
    timings: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="so-bench-growth-") as name:
        for stored in (small, large):
            with SQLiteStore(Path(name) / f"grown-{stored}.sqlite3") as store:
                service = bootstrap(uow=store.unit_of_work, clock=ManualClock(T0))
                _seed(service)
                _fill(service, stored)
                timings[stored] = min(_timed(service, orders) for _ in range(2))
    return _growth_result("growth_sqlite", small, large, timings[small], timings[large])


def growth_postgres(quick: bool) -> Result | None:
    if not DSN:
        return None
    small, large = (1_000, 10_000) if quick else (1_000, 100_000)
    orders = 300 if quick else 1_000
    (small, large), orders = smoke_or(((small, large), orders), ((20, 60), 10))
    timings: dict[int, float] = {}
    for stored in (small, large):
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        filler = _pg_store(schema, 8, _no_sync_dsn())  # filling only: commits need not wait
        try:
            service = bootstrap(uow=filler.unit_of_work, clock=ManualClock(T0))
            _seed(service)
            _fill(service, stored, threads=8)
        finally:
            filler.close()
        store = _pg_store(schema, 1)
        try:
            service = bootstrap(uow=store.unit_of_work, clock=ManualClock(T0))
            timings[stored] = min(_timed(service, orders) for _ in range(2))
        finally:
            store.close()
            _drop(schema)
    return _growth_result("growth_postgres", small, large, timings[small], timings[large])
