"""Serving backorders while new orders arrive, and the checker of what such a race leaves
(no tests here).

* the workload: two warehouses, a hot SKU and a second one, orders of both already waiting when
  the race starts;
* the racers, each a role: ``receive`` (stock arrives, then its backorders are served), ``serve``
  (``AllocateBackorders`` over and over), ``place`` (placed and confirmed in one command, some
  all-or-nothing) and ``place-then-confirm``; as threads sharing one service, or as "spawn"
  processes each opening its own store on the same file or database;
* :func:`audit`, which reads a :class:`Stored` snapshot and lists every broken guarantee instead of
  stopping at the first: no oversell, no unit reserved twice, every line's plan consistent, the
  ledger folding to the figures, every order confirmed or cleanly refused;
* :func:`idle_stock`, which lists SKUs left free while a line of theirs still waits.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import attrs

from race_support import PRICE, close_store, open_store, service_over
from salesorders.domain.stock import reconcile
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import InsufficientStockError
from salesorders.ports import OrderQuery, UnitOfWorkFactory
from salesorders.service import (
    AllocateBackorders,
    ConfirmOrder,
    LineSpec,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
)

WAREHOUSES = (("W1", 1), ("W2", 2))
OPENING = (("HOT", "W1", 2), ("MUG", "W1", 1))
#: What each order asks for (odd orders list the lines the other way round).
LINES = (("HOT", 2), ("MUG", 1))
#: Orders placed and confirmed before the race: most of them wait for stock.
WAITING = 6
ROUNDS = 6
#: What one round of the ``receive`` role receives.
RECEIPTS = (("HOT", "W1", 1), ("HOT", "W2", 1), ("MUG", "W1", 1))
ROLES = ("receive", "serve", "serve", "place", "place", "place-then-confirm")
#: Conflicting units of work are re-run; serving one order from two racers conflicts often.
MAX_RETRIES = 12

#: ``(order id or role, status, detail)``; status "confirmed" (detail: allocation status),
#: "rejected" (an all-or-nothing order refused for a shortage), "placed" (placed, to be
#: confirmed), "served" (detail: order ids a serve allocated to) or "error" (anything else that
#: reached a caller).
Outcome = tuple[str, str, str]


def stocked(receivers: int) -> dict[str, int]:
    """Units of each SKU on hand once ``receivers`` receive roles have run (nothing ships)."""
    totals: dict[str, int] = {}
    for sku, _, quantity in OPENING:
        totals[sku] = totals.get(sku, 0) + quantity
    for sku, _, quantity in RECEIPTS:
        totals[sku] += quantity * ROUNDS * receivers
    return totals


def _lines(index: int) -> tuple[LineSpec, ...]:
    specs = tuple(LineSpec(sku, quantity, PRICE) for sku, quantity in LINES)
    return specs[::-1] if index % 2 else specs


def _place(service: SalesService, order_id: str, index: int, *, confirm: bool, aon: bool) -> Any:
    return service.handle(
        PlaceOrder(
            order_id=order_id,
            customer_id=f"C-{index}",
            currency="USD",
            lines=_lines(index),
            confirm=confirm,
            all_or_nothing=aon,
        )
    )


def open_shop(service: SalesService) -> list[Outcome]:
    """Warehouses, the opening stock, and :data:`WAITING` confirmed orders (most wait)."""
    for warehouse_id, priority in WAREHOUSES:
        service.handle(RegisterWarehouse(warehouse=Warehouse(warehouse_id, priority=priority)))
    for sku, warehouse_id, quantity in OPENING:
        service.handle(ReceiveStock(sku=sku, warehouse_id=warehouse_id, quantity=quantity))
    outcomes = []
    for n in range(WAITING):
        result = _place(service, f"WAIT-{n}", n, confirm=True, aon=False)
        outcomes.append((result.order_id, "confirmed", result.allocation_status))
    return outcomes


# --------------------------------------------------------------------------- roles


def _attempt(name: str, aon: bool, command: Callable[[], Any]) -> tuple[Any, Outcome | None]:
    """Run ``command``: ``(its result, None)``, or ``(None, the outcome)`` if it failed."""
    try:
        return command(), None
    except InsufficientStockError as error:
        if aon:
            return None, (name, "rejected", str(error))
        return None, (name, "error", f"InsufficientStockError without all-or-nothing: {error}")
    except Exception as error:  # every other error reaching the caller is a finding
        return None, (name, "error", f"{type(error).__name__}: {error}")


def _receive(service: SalesService, prefix: str) -> list[Outcome]:
    outcomes = []
    for _ in range(ROUNDS):
        for sku, warehouse_id, quantity in RECEIPTS:
            receipt = ReceiveStock(sku=sku, warehouse_id=warehouse_id, quantity=quantity)
            _, failed = _attempt(prefix, False, lambda c=receipt: service.handle(c))
            if failed is not None:
                outcomes.append(failed)
        outcomes.append(_serve(service, prefix, AllocateBackorders(sku="HOT")))
    return outcomes


def _serve_all(service: SalesService, prefix: str) -> list[Outcome]:
    """All SKUs, then one, then a few waiting orders only, over and over."""
    outcomes = []
    for n in range(ROUNDS):
        command = AllocateBackorders(sku=None if n % 3 else "MUG", limit=3 if n % 3 == 2 else 1000)
        outcomes.append(_serve(service, prefix, command))
    return outcomes


def _serve(service: SalesService, name: str, command: AllocateBackorders) -> Outcome:
    served, failed = _attempt(name, False, lambda: service.handle(command))
    if failed is not None:
        return failed
    return (name, "served", ",".join(r.order_id for r in served))


def _place_and_confirm(service: SalesService, prefix: str) -> list[Outcome]:
    """Orders placed and confirmed in one command, every other one all-or-nothing."""
    outcomes = []
    for n in range(ROUNDS):
        order_id, aon = f"{prefix}-{n}", n % 2 == 1
        result, failed = _attempt(
            order_id, aon, lambda o=order_id, i=n, a=aon: _place(service, o, i, confirm=True, aon=a)
        )
        outcomes.append(failed or (order_id, "confirmed", result.allocation_status))
    return outcomes


def _place_then_confirm(service: SalesService, prefix: str) -> list[Outcome]:
    """Orders placed, then confirmed one by one, every other one all-or-nothing; one refused at
    confirmation stays placed."""
    outcomes = []
    placed = []
    for n in range(ROUNDS):
        order_id = f"{prefix}-{n}"
        _, failed = _attempt(
            order_id, False, lambda o=order_id, i=n: _place(service, o, i, confirm=False, aon=False)
        )
        if failed is None:
            placed.append((order_id, n % 2 == 0))
        else:
            outcomes.append(failed)
    for order_id, aon in placed:
        command = ConfirmOrder(order_id=order_id, all_or_nothing=aon)
        result, failed = _attempt(order_id, aon, lambda c=command: service.handle(c))
        if failed is None:
            outcomes.append((order_id, "confirmed", result.allocation_status))
        elif failed[1] == "rejected":
            outcomes.append((order_id, "placed", failed[2]))
        else:
            outcomes.append(failed)
    return outcomes


_ROLES: dict[str, Callable[[SalesService, str], list[Outcome]]] = {
    "receive": _receive,
    "serve": _serve_all,
    "place": _place_and_confirm,
    "place-then-confirm": _place_then_confirm,
}


def run_role(service: SalesService, role: str, prefix: str) -> list[Outcome]:
    """One racer's work; every order id it makes starts with ``prefix``."""
    return _ROLES[role](service, prefix)


def race_threads(service: SalesService, roles: Sequence[str] = ROLES) -> list[Outcome]:
    """One thread per role, released at once, sharing ``service``."""
    barrier = threading.Barrier(len(roles))
    results: list[list[Outcome]] = [[] for _ in roles]

    def run(index: int) -> None:
        barrier.wait(timeout=60)
        results[index] = run_role(service, roles[index], f"T{index}")

    workers = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(len(roles))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=180)
    stuck = [roles[n] for n, worker in enumerate(workers) if worker.is_alive()]
    if stuck:
        raise AssertionError(f"racers {stuck} never finished: a deadlock or a lost wake-up")
    return [outcome for found in results for outcome in found]


def _process_racer(
    kind: str, where: str, schema: str, role: str, index: int, start: Any, results: Any
) -> None:
    """One racing process: its own store on the shared file or database, one role."""
    try:
        store = open_store(kind, where, schema, pool=2)
        try:
            service = service_over(store.unit_of_work, seed=index, max_retries=MAX_RETRIES)
            start.wait(timeout=120)
            outcomes = run_role(service, role, f"P{index}")
        finally:
            close_store(store)
        results.put((index, outcomes))
    except BaseException as error:
        results.put((index, [(f"P{index}", "error", f"{type(error).__name__}: {error}")]))


def race_processes(
    kind: str, where: str, schema: str = "", roles: Sequence[str] = ROLES
) -> list[Outcome]:
    """One "spawn" process per role, released together."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(roles))
    results = context.Queue()
    workers = [
        context.Process(target=_process_racer, args=(kind, where, schema, role, n, start, results))
        for n, role in enumerate(roles)
    ]
    for worker in workers:
        worker.start()
    outcomes: list[Outcome] = []
    try:
        for _ in workers:
            outcomes.extend(results.get(timeout=240)[1])
    except queue.Empty:
        outcomes.append(("", "error", "a racing process never reported: it hung or crashed"))
    for worker in workers:
        worker.join(timeout=60)
        if worker.is_alive():
            worker.kill()
            outcomes.append(("", "error", f"process {worker.pid} did not exit"))
        elif worker.exitcode != 0:
            outcomes.append(("", "error", f"process {worker.pid} exited with {worker.exitcode}"))
    return outcomes


# --------------------------------------------------------------------------- the checker


@attrs.frozen
class Stored:
    """Everything the checker reads, as one store holds it."""

    items: tuple[Any, ...]
    reservations: tuple[Any, ...]
    ledger: tuple[Any, ...]
    orders: dict[str, Any]
    messages: tuple[Any, ...]


def read(factory: UnitOfWorkFactory) -> Stored:
    with factory() as uow:
        orders: dict[str, Any] = {}
        page = uow.orders.list(OrderQuery(limit=500))
        while True:
            orders.update((order.id, order) for order in page.orders)
            if page.next_cursor is None:
                break
            page = uow.orders.list(OrderQuery(limit=500, after=page.next_cursor))
        return Stored(
            tuple(uow.stock.items()),
            tuple(uow.stock.reservations()),
            tuple(uow.stock.ledger()),
            orders,
            tuple(uow.outbox.messages()),
        )


def audit(stored: Stored, outcomes: Sequence[Outcome], on_hand: dict[str, int]) -> list[str]:
    """Every broken guarantee of a race (oversell first of all); ``on_hand`` is what each SKU
    must have on hand."""
    problems = [f"{name}: {detail}" for name, status, detail in outcomes if status == "error"]
    _check_stock(stored, on_hand, problems)
    problems.extend(
        d.explanation for d in reconcile(stored.items, stored.reservations, stored.ledger)
    )
    held = _check_reservations(stored, problems)
    for order in stored.orders.values():
        _check_order(order, held.get(order.id, {}), problems)
    _check_outcomes(stored, outcomes, problems)
    _check_streams(stored, problems)
    return problems


def _check_stock(stored: Stored, on_hand: dict[str, int], problems: list[str]) -> None:
    held: dict[tuple[str, str], Decimal] = {}
    for reservation in stored.reservations:
        held[reservation.item_key] = held.get(reservation.item_key, Decimal(0)) + reservation.open
    totals: dict[str, Decimal] = {}
    for item in stored.items:
        where = f"{item.sku} in {item.warehouse_id}"
        totals[item.sku] = totals.get(item.sku, Decimal(0)) + item.on_hand
        promised = max(item.reserved, held.get(item.key, Decimal(0)))
        if promised > item.on_hand:
            problems.append(f"oversold {where}: {promised} promised, {item.on_hand} on hand")
        if item.reserved < 0:
            problems.append(f"{where}: reserved {item.reserved} is negative")
        if item.reserved != held.get(item.key, Decimal(0)):
            problems.append(
                f"{where}: reserved {item.reserved} but open reservations "
                f"{held.get(item.key, Decimal(0))}"
            )
    expected = {sku: Decimal(n) for sku, n in on_hand.items()}
    if totals != expected:
        problems.append(f"on hand per SKU {totals}, expected {expected}")


def _check_reservations(stored: Stored, problems: list[str]) -> dict[str, dict[str, Decimal]]:
    """Open units per order and line; a reservation of no line, of another SKU, or with a
    negative open quantity is a problem."""
    held: dict[str, dict[str, Decimal]] = {}
    for reservation in stored.reservations:
        order = stored.orders.get(reservation.order_id)
        line = (
            next((x for x in order.lines if x.line_id == reservation.line_id), None)
            if order
            else None
        )
        if line is None or line.sku != reservation.sku:
            problems.append(
                f"reservation {reservation.id} holds {reservation.sku} for "
                f"{reservation.order_id} {reservation.line_id}, which has no such line"
            )
        if reservation.open < 0:
            problems.append(f"reservation {reservation.id}: open {reservation.open} is negative")
        lines = held.setdefault(reservation.order_id, {})
        lines[reservation.line_id] = lines.get(reservation.line_id, Decimal(0)) + reservation.open
    return held


def _check_order(order: Any, held: dict[str, Decimal], problems: list[str]) -> None:
    """A confirmed order's lines: allocated within the quantity, allocated + backordered equal
    to it, and exactly the allocated units held by open reservations (nothing ships here). A
    placed order holds nothing."""
    if order.state not in ("placed", "confirmed"):
        problems.append(f"{order.id}: {order.state}, yet nothing but placing and confirming ran")
    for line in order.lines:
        where = f"{order.id} {line.line_id}"
        holds = held.get(line.line_id, Decimal(0))
        if order.state == "placed":
            if line.allocated or line.backordered or holds:
                problems.append(f"{where}: placed, yet allocated {line.allocated}, holds {holds}")
            continue
        if not 0 <= line.allocated <= line.quantity:
            problems.append(f"{where}: allocated {line.allocated} of {line.quantity} ordered")
        if line.backordered < 0 or line.allocated + line.backordered != line.quantity:
            problems.append(
                f"{where}: allocated {line.allocated} + backordered {line.backordered} "
                f"is not the {line.quantity} ordered"
            )
        if holds != line.allocated:
            problems.append(f"{where}: allocated {line.allocated} but holds {holds}")
    allocated = sum((line.allocated for line in order.lines), Decimal(0))
    backordered = sum((line.backordered for line in order.lines), Decimal(0))
    status = (
        "unallocated"
        if not allocated and not backordered
        else "allocated"
        if not backordered
        else "partially_allocated"
        if allocated
        else "backordered"
    )
    if order.allocation_status != status:
        problems.append(
            f"{order.id}: allocation status {order.allocation_status}, lines say {status}"
        )


def _check_outcomes(stored: Stored, outcomes: Sequence[Outcome], problems: list[str]) -> None:
    """Every order confirmed with its plan stored, or refused cleanly: an all-or-nothing order
    refused in one command was never stored; one refused at confirmation is still placed."""
    told: dict[str, str] = {}
    for name, status, _ in outcomes:
        if status in ("confirmed", "rejected", "placed"):
            told[name] = status
    for order_id, status in told.items():
        order = stored.orders.get(order_id)
        if status == "rejected" and order is not None:
            problems.append(f"{order_id}: refused in one command, yet stored as {order.state}")
        elif status == "confirmed" and (order is None or order.state != "confirmed"):
            problems.append(f"{order_id}: reported confirmed but stored as {order and order.state}")
        elif status == "placed" and (order is None or order.state != "placed"):
            problems.append(
                f"{order_id}: refused at confirmation but stored as {order and order.state}"
            )
    stray = sorted(set(stored.orders) - set(told))
    if stray:
        problems.append(f"orders stored that no racer reported: {stray[:5]}")


def _check_streams(stored: Stored, problems: list[str]) -> None:
    """Each order's events run 1..n: placed, confirmed, then allocation changes whose figures
    only grow and end at what the order holds now."""
    streams: dict[str, list[Any]] = {}
    for message in stored.messages:
        streams.setdefault(message.stream_id, []).append(message)
    for order_id, order in stored.orders.items():
        stream = streams.get(order_id, [])
        if [m.sequence for m in stream] != list(range(1, order.event_sequence + 1)):
            problems.append(f"{order_id}: outbox sequences {[m.sequence for m in stream]}")
        types = [m.event_type for m in stream]
        head = ["OrderPlaced"] if order.state == "placed" else ["OrderPlaced", "OrderConfirmed"]
        if types[: len(head)] != head or set(types[len(head) :]) - {"OrderAllocationChanged"}:
            problems.append(f"{order_id}: events {types}")
        last: dict[str, tuple[Decimal, Decimal]] = {}
        for message in stream[len(head) :]:
            for line_id, allocated, backordered in message.payload["lines"]:
                figures = (Decimal(allocated), Decimal(backordered))
                if line_id in last and figures[0] <= last[line_id][0]:
                    problems.append(
                        f"{order_id} {line_id}: allocation went from {last[line_id][0]} to "
                        f"{figures[0]}"
                    )
                last[line_id] = figures
        now = {line.line_id: (line.allocated, line.backordered) for line in order.lines}
        for line_id, figures in last.items():
            if now.get(line_id) != figures:
                problems.append(
                    f"{order_id} {line_id}: events end at {figures}, the line has "
                    f"{now.get(line_id)}"
                )


def idle_stock(stored: Stored) -> list[str]:
    """SKUs with units free while a confirmed line of theirs still waits (after a final serve,
    nothing should be left so)."""
    free: dict[str, Decimal] = {}
    for item in stored.items:
        free[item.sku] = free.get(item.sku, Decimal(0)) + item.on_hand - item.reserved
    waiting = {
        line.sku
        for order in stored.orders.values()
        if order.state == "confirmed"
        for line in order.lines
        if line.backordered > 0
    }
    return [f"{sku}: {free[sku]} free while lines wait" for sku in sorted(waiting) if free.get(sku)]
