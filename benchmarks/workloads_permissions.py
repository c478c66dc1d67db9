"""Permission workload: what the permission check adds to place + confirm in memory.

The same 3-line orders with an idempotency key go through two services, each on a memory store: one
bootstrapped with ``permissions=RolePolicy.standard()`` and handled with an actor of the ``sales``
role, one without a policy and without an actor (the baseline). The check's whole cost is measured:
the actor reconciled with the command (the command's empty ``actor`` field filled in), the facts
the conditions may read, and the policy's decision, in the command's unit of work.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable

from harness import Result, smoke_or
from workloads_service import T0, _order, _seed

from salesorders.adapters.memory import MemoryStore
from salesorders.permissions import Actor, RolePolicy
from salesorders.service import ManualClock, SalesService, bootstrap

ANN = Actor("ann", {"sales"})


def _service(policed: bool) -> SalesService:
    """A service on a fresh memory store with stock seeded; with ``policed``, it asks the
    standard role policy before every command (the stock is seeded by a service without one)."""
    store = MemoryStore()
    seeder = bootstrap(uow=store.unit_of_work, clock=ManualClock(T0))
    _seed(seeder)
    if not policed:
        return seeder
    return bootstrap(
        uow=store.unit_of_work, clock=ManualClock(T0), permissions=RolePolicy.standard()
    )


def _interleaved(
    make: Callable[[], Callable[[], object]],
    make_baseline: Callable[[], Callable[[], object]],
    *,
    calls: int,
    block: int,
    repeats: int,
) -> tuple[list[float], list[float]]:
    """µs per call of both sides in each repeat, timed in alternate blocks of ``block`` calls.

    Each repeat makes both sides afresh (outside the timed region) and runs them turn about,
    ``block`` calls at a time, the side going first alternating, so a slow spell of the shared
    machine, and the stores' growth over the repeat, hit both alike. The cyclic collector is off
    while a repeat runs, as in ``per_call_us``.
    """
    calls, repeats = smoke_or((calls, repeats), (min(calls, 10), 1))
    values: list[float] = []
    bases: list[float] = []
    for _ in range(repeats):
        sides = (make(), make_baseline())
        spent = [0.0, 0.0]
        gc.collect()
        gc.disable()
        try:
            for turn, first in enumerate(range(0, calls, block)):
                count = min(block, calls - first)
                for side in (0, 1) if turn % 2 == 0 else (1, 0):
                    fn = sides[side]
                    start = time.perf_counter()
                    for _ in range(count):
                        fn()
                    spent[side] += time.perf_counter() - start
        finally:
            gc.enable()
        values.append(spent[0] / calls * 1e6)
        bases.append(spent[1] / calls * 1e6)
    return values, bases


def permission_check_memory(quick: bool) -> Result:
    calls, repeats = (500, 4) if quick else (2_000, 10)
    block = 20

    def make() -> Callable[[], object]:
        service = _service(policed=True)
        it = iter([_order(n) for n in range(calls)])

        def step() -> object:
            return service.handle(next(it), actor=ANN)

        return step

    def make_baseline() -> Callable[[], object]:
        service = _service(policed=False)
        it = iter([_order(n) for n in range(calls)])

        def step() -> object:
            return service.handle(next(it))

        return step

    values, bases = _interleaved(make, make_baseline, calls=calls, block=block, repeats=repeats)
    value, base = min(values), min(bases)
    paired = statistics.median(v / b for v, b in zip(values, bases, strict=True))
    return Result(
        "permission_check_memory",
        value,
        "µs/order",
        base,
        target="≤ 1.05",
        note="place_confirm_memory with permissions=RolePolicy.standard() and "
        'actor=Actor("ann", {"sales"}); baseline: the same without a policy or an actor; '
        f"best of {len(values)} repeats, the two sides in alternate blocks of {block} orders; "
        f"median ratio of the repeats {paired:.3f}",
        extra={"median_repeat_ratio": paired},
    )
