"""Backorder workload: ``AllocateBackorders`` serving 1,000 waiting lines after the stock arrived.

Setup (not timed) registers the warehouses, places and confirms BACKORDER_ORDERS orders of
BACKORDER_LINES lines each (BACKORDER_SKUS SKUs, no stock: every line backordered), one second
apart, then receives enough stock for all of them, spread over the warehouses so that some lines
are split. The timed part is one ``AllocateBackorders`` command serving every waiting line. The
baseline does the same work by hand in the same run (plain dicts; raw sqlite3 on the store's
tables): walk the waiting orders oldest placement first, take stock per SKU and warehouse in
priority order, create the reservations and their ledger rows, update each order (lines
allocated/backordered, version, one ``OrderAllocationChanged`` event).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from harness import Result, per_call_us, raw_sqlite_connect
from workloads_service import (
    PRICE,
    T0,
    WAREHOUSES,
)
from workloads_shipping import ZERO

from salesorders.adapters.memory import MemoryStore
from salesorders.adapters.sqlite import SQLiteStore
from salesorders.domain.warehouse import Warehouse
from salesorders.service import (
    AllocateBackorders,
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
    bootstrap,
)

BACKORDER_SKUS = [f"BO-{i:02d}" for i in range(10)]
BACKORDER_ORDERS = 250
BACKORDER_LINES = 4  # 250 orders x 4 lines: 1,000 waiting lines, 100 per SKU
BACKORDER_LIMIT = 1_000
BACKORDER_REASON = "stock arrived for backordered lines"


def _backorder_lines(n: int) -> list[tuple[str, str, Decimal]]:
    """Line id, SKU and quantity of order ``n``'s lines: distinct SKUs, 1 to 3 units."""
    return [
        (
            f"L{i + 1}",
            BACKORDER_SKUS[(n + i * 3) % len(BACKORDER_SKUS)],
            Decimal(1 + (n + i) % 3),
        )
        for i in range(BACKORDER_LINES)
    ]


def _backorder_receipts() -> list[tuple[str, str, Decimal]]:
    """(SKU, warehouse, quantity) received: every SKU's demand, a third per warehouse and more."""
    demand = dict.fromkeys(BACKORDER_SKUS, ZERO)
    for n in range(BACKORDER_ORDERS):
        for _, sku, qty in _backorder_lines(n):
            demand[sku] += qty
    receipts = []
    for sku in BACKORDER_SKUS:
        share = demand[sku] // 3 + 1
        for wh, quantity in zip(
            WAREHOUSES, (share, share, demand[sku] - 2 * share + 5), strict=True
        ):
            receipts.append((sku, wh, quantity))
    return receipts


def _waiting(service: SalesService, clock: ManualClock) -> list[str]:
    """Place and confirm the backordered orders, then receive the stock: their ids."""
    for priority, wh in enumerate(WAREHOUSES):
        service.handle(RegisterWarehouse(warehouse=Warehouse(wh, priority=priority)))
    ids = []
    for n in range(BACKORDER_ORDERS):
        clock.advance(dt.timedelta(seconds=1))
        result = service.handle(
            PlaceOrder(
                customer_id=f"C-{n % 50}",
                currency="USD",
                lines=tuple(LineSpec(sku, qty, PRICE) for _, sku, qty in _backorder_lines(n)),
                confirm=True,
            )
        )
        if result.allocation_status != "backordered":
            raise RuntimeError(f"order {n} is not backordered: {result.allocation_status}")
        ids.append(result.order_id)
    clock.advance(dt.timedelta(seconds=1))
    for sku, wh, quantity in _backorder_receipts():
        service.handle(ReceiveStock(sku=sku, warehouse_id=wh, quantity=quantity))
    clock.advance(dt.timedelta(seconds=1))
    return ids


def _check_served(results: Sequence[Any]) -> None:
    if len(results) != BACKORDER_ORDERS or any(r.allocation_status != "allocated" for r in results):
        raise RuntimeError(f"AllocateBackorders served {len(results)} orders, not all allocated")


def _served_lines(lines: Sequence[list[Any]], got: dict[str, Decimal]) -> list[list[str]]:
    """Lines ``[line_id, sku, quantity, allocated, backordered]`` after ``got``: the event's."""
    changed = []
    for line in lines:
        extra = got.get(line[0])
        if extra is not None:
            line[3] += extra
            line[4] -= extra
            changed.append([line[0], str(line[3]), str(line[4])])
    return changed


def allocate_backorders_memory(quick: bool) -> Result:
    repeats = 3 if quick else 7
    waiting_lines = BACKORDER_ORDERS * BACKORDER_LINES
    command = AllocateBackorders(limit=BACKORDER_LIMIT)

    def make() -> Callable[[], object]:
        store = MemoryStore()
        clock = ManualClock(T0)
        service = bootstrap(uow=store.unit_of_work, clock=clock)
        _waiting(service, clock)

        def step() -> object:
            results = service.handle(command)
            _check_served(results)
            return results

        return step

    def make_baseline() -> Callable[[], object]:
        # the state the setup leaves (not timed)
        now = T0 + dt.timedelta(seconds=BACKORDER_ORDERS + 2)
        ranked = list(WAREHOUSES)  # by priority, then id
        stock = {(sku, wh): [ZERO, ZERO, ZERO] for sku in BACKORDER_SKUS for wh in WAREHOUSES}
        for sku, wh, quantity in _backorder_receipts():
            stock[(sku, wh)][0] += quantity
        orders: dict[str, dict[str, Any]] = {}
        for n in range(BACKORDER_ORDERS):
            order_id = uuid.uuid4().hex
            orders[order_id] = {
                "id": order_id,
                "placed_at": T0 + dt.timedelta(seconds=n + 1),
                "updated_at": T0 + dt.timedelta(seconds=n + 1),
                "version": 1,
                "event_sequence": 2,
                "lines": [[lid, sku, qty, ZERO, qty] for lid, sku, qty in _backorder_lines(n)],
            }
        reservations: dict[str, tuple[Any, ...]] = {}
        ledger: list[tuple[Any, ...]] = []
        outbox: list[tuple[Any, ...]] = []

        def step() -> object:
            found = [o for o in orders.values() if any(line[4] > 0 for line in o["lines"])]
            found.sort(key=lambda o: (o["placed_at"], o["id"]))
            served = []
            for order in found[:BACKORDER_LIMIT]:
                order_id = order["id"]
                got: dict[str, Decimal] = {}
                for line in order["lines"]:
                    need = line[4]
                    if need <= 0:
                        continue
                    line_id, sku = line[0], line[1]
                    for wh in ranked:
                        row = stock[(sku, wh)]
                        free = row[0] - row[1] - row[2]
                        if free <= 0:
                            continue
                        take = min(free, need)
                        row[1] += take
                        rid = f"{order_id}/{line_id}/{wh}"
                        reservations[rid] = (order_id, line_id, sku, wh, take, None, ZERO, ZERO)
                        ledger.append(
                            (
                                "reservation",
                                sku,
                                wh,
                                ZERO,
                                take,
                                now,
                                None,
                                "",
                                "",
                                order_id,
                                line_id,
                                None,
                                rid,
                                None,
                            )
                        )
                        got[line_id] = got.get(line_id, ZERO) + take
                        need -= take
                        if not need:
                            break
                if not got:
                    continue
                changed = _served_lines(order["lines"], got)
                order["updated_at"] = max(order["updated_at"], now)
                sequence = order["event_sequence"] = order["event_sequence"] + 1
                payload = {
                    "order_id": order_id,
                    "sequence": sequence,
                    "at": now,
                    "actor": "",
                    "reason": BACKORDER_REASON,
                    "lines": changed,
                }
                outbox.append(
                    (
                        f"{order_id}:{sequence}",
                        order_id,
                        sequence,
                        "OrderAllocationChanged",
                        payload,
                        now,
                    )
                )
                order["version"] += 1
                served.append((order_id, order["version"], "allocated"))
            if len(served) != BACKORDER_ORDERS:
                raise RuntimeError(f"baseline served {len(served)} orders")
            return served

        return step

    value = per_call_us(make, calls=1, repeats=repeats) / waiting_lines
    base = per_call_us(make_baseline, calls=1, repeats=repeats) / waiting_lines
    return Result(
        "allocate_backorders_memory",
        value,
        "µs/line",
        base,
        target="≤ 3× baseline",
        note=f"one AllocateBackorders serving {waiting_lines:,} waiting lines "
        f"({BACKORDER_ORDERS} orders, {len(BACKORDER_SKUS)} SKUs, {len(WAREHOUSES)} warehouses) "
        "through SalesService; baseline: dicts",
    )


class _RawBackorders:
    """AllocateBackorders written by hand with raw sqlite3 on the store's own tables, one
    transaction: the waiting orders oldest placement first, per order its SKUs' stock rows, the
    stock taken in warehouse priority order, reservations, ledger rows, the order document at the
    next version and its ``OrderAllocationChanged`` outbox row."""

    def __init__(self, now: dt.datetime) -> None:
        self.now_text = now.astimezone(dt.UTC).isoformat(timespec="microseconds")
        self.now_iso = now.isoformat()

    def run(self, db: sqlite3.Connection) -> int:
        db.execute("BEGIN IMMEDIATE")
        try:
            served = self._serve(db)
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return served

    def _serve(self, db: sqlite3.Connection) -> int:
        now_text, now_iso = self.now_text, self.now_iso
        warehouses = [
            (json.loads(doc).get("priority", 0), wid)
            for wid, doc in db.execute("SELECT id, doc FROM warehouses")
        ]
        rank = {wid: index for index, (_, wid) in enumerate(sorted(warehouses))}
        rows = db.execute(
            "SELECT doc, version FROM orders WHERE waiting = 1 ORDER BY placed_at, id LIMIT ?",
            (BACKORDER_LIMIT,),
        ).fetchall()
        served = 0
        for doc, version in rows:
            data = json.loads(doc)
            order_id = data["id"]
            wanted = [line for line in data["lines"] if Decimal(line.get("backordered", "0")) > 0]
            if not wanted:
                continue
            skus = sorted({line["sku"] for line in wanted})
            marks = ", ".join("?" * len(skus))
            free: dict[str, list[list[Any]]] = {}
            for sku, wh, on_hand, reserved, safety in db.execute(
                "SELECT sku, warehouse_id, on_hand, reserved, safety_stock FROM stock_items "
                f"WHERE sku IN ({marks})",
                skus,
            ):
                free.setdefault(sku, []).append(
                    [
                        rank[wh],
                        wh,
                        Decimal(on_hand) - Decimal(reserved) - Decimal(safety),
                        Decimal(reserved),
                    ]
                )
            for places in free.values():
                places.sort()
            held: list[tuple[Any, ...]] = []
            ledger: list[tuple[Any, ...]] = []
            touched: dict[tuple[str, str], list[Any]] = {}
            changed = []
            for line in wanted:
                line_id, sku = line["line_id"], line["sku"]
                need = Decimal(line.get("backordered", "0"))
                got = ZERO
                for place in free.get(sku, ()):
                    if place[2] <= 0:
                        continue
                    take = min(place[2], need)
                    place[2] -= take
                    place[3] += take
                    wh = place[1]
                    touched[(sku, wh)] = place
                    rid = f"{order_id}/{line_id}/{wh}"
                    held.append((rid, order_id, line_id, sku, wh, str(take)))
                    ledger.append((sku, wh, str(take), now_text, order_id, line_id, rid))
                    got += take
                    need -= take
                    if not need:
                        break
                if got:
                    allocated = Decimal(line.get("allocated", "0")) + got
                    line["allocated"], line["backordered"] = str(allocated), str(need)
                    changed.append([line_id, line["allocated"], line["backordered"]])
            if not changed:
                continue
            db.executemany(
                "UPDATE stock_items SET reserved = ? WHERE sku = ? AND warehouse_id = ?",
                [(str(place[3]), sku, wh) for (sku, wh), place in touched.items()],
            )
            db.executemany(
                "INSERT INTO reservations (id, order_id, line_id, sku, warehouse_id, quantity, "
                "batch_id, released, consumed) VALUES (?, ?, ?, ?, ?, ?, NULL, '0', '0')",
                held,
            )
            db.executemany(
                "INSERT INTO stock_ledger (movement, sku, warehouse_id, on_hand_delta, "
                "reserved_delta, at, batch_id, actor, reason, order_id, line_id, return_id, "
                "reservation_id, transfer_id) "
                "VALUES ('reservation', ?, ?, '0', ?, ?, NULL, '', '', ?, ?, NULL, ?, NULL)",
                ledger,
            )
            data["updated_at"] = max(data["updated_at"], now_iso)
            sequence = data["event_sequence"] = data.get("event_sequence", 0) + 1
            data["version"] = version + 1
            waiting = int(any(Decimal(line.get("backordered", "0")) > 0 for line in data["lines"]))
            cursor = db.execute(
                "UPDATE orders SET state = ?, version = ?, doc = ?, waiting = ? "
                "WHERE id = ? AND version = ?",
                (
                    data["state"],
                    version + 1,
                    json.dumps(data, separators=(",", ":")),
                    waiting,
                    order_id,
                    version,
                ),
            )
            if cursor.rowcount != 1:
                raise RuntimeError(f"order {order_id} changed meanwhile")
            payload = {
                "order_id": order_id,
                "sequence": sequence,
                "at": now_iso,
                "actor": "",
                "reason": BACKORDER_REASON,
                "lines": changed,
            }
            db.execute(
                "INSERT INTO outbox (event_id, stream_id, sequence, event_type, payload, "
                "occurred_at, attempts, status, last_error, next_attempt_at, delivered_at) "
                "VALUES (?, ?, ?, 'OrderAllocationChanged', ?, ?, 0, 'pending', NULL, NULL, NULL)",
                (
                    f"{order_id}:{sequence}",
                    order_id,
                    sequence,
                    json.dumps(payload, separators=(",", ":")),
                    now_text,
                ),
            )
            served += 1
        return served


def allocate_backorders_sqlite(quick: bool) -> Result:
    repeats = 2 if quick else 5
    waiting_lines = BACKORDER_ORDERS * BACKORDER_LINES
    folder = Path(tempfile.mkdtemp(prefix="so-bench-backorders-"))
    runs = [0]
    now = T0 + dt.timedelta(seconds=BACKORDER_ORDERS + 2)

    def prepared() -> Path:
        runs[0] += 1
        path = folder / f"run{runs[0]}.sqlite3"
        clock = ManualClock(T0)
        with SQLiteStore(path) as store:
            _waiting(bootstrap(uow=store.unit_of_work, clock=clock), clock)
        if clock.now() != now:
            raise RuntimeError("the setup ended at another time than the baseline assumes")
        return path

    def library() -> float:
        path = prepared()
        with SQLiteStore(path) as store:
            service = bootstrap(uow=store.unit_of_work, clock=ManualClock(now))
            command = AllocateBackorders(limit=BACKORDER_LIMIT)
            start = time.perf_counter()
            results = service.handle(command)
            elapsed = time.perf_counter() - start
        _check_served(results)
        return elapsed * 1e6 / waiting_lines

    def baseline() -> float:
        path = prepared()
        raw = _RawBackorders(now)
        db = raw_sqlite_connect(path)
        try:
            start = time.perf_counter()
            served = raw.run(db)
            elapsed = time.perf_counter() - start
            (left,) = db.execute("SELECT COUNT(*) FROM orders WHERE waiting = 1").fetchone()
            (held,) = db.execute("SELECT COUNT(*) FROM reservations").fetchone()
        finally:
            db.close()
        if served != BACKORDER_ORDERS or left or held < waiting_lines:
            raise RuntimeError(f"baseline served {served} orders, {left} still waiting")
        return elapsed * 1e6 / waiting_lines

    try:
        value = min(library() for _ in range(repeats))
        base = min(baseline() for _ in range(repeats))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return Result(
        "allocate_backorders_sqlite",
        value,
        "µs/line",
        base,
        target="≤ 3× baseline",
        note=f"SQLite file, WAL, synchronous=NORMAL, one AllocateBackorders (one transaction) "
        f"serving {waiting_lines:,} waiting lines ({BACKORDER_ORDERS} orders); "
        "baseline: raw sqlite3 on the store's tables, same writes",
    )
