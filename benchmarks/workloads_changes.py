"""Change workloads: approve a change of a 10-line order (``ApproveChange``), in memory and on
SQLite.

Setup (not timed) places and confirms 10-line orders (2 units a line, each line reserved) and
requests one change on each: line L1 up from 2 to 4, line L2 down from 2 to 1. The timed part
approves each change with an idempotency key: the order re-prices its 10 lines, the policy plans
the 2 more units of L1 and they are reserved, the unit L2 no longer wants is released, the order
moves to revision 2 keeping revision 1, and the event, the stock ledger and the key are written.

The memory baseline does the same work by hand on plain dicts in the same run: look up the key,
read the order, apply the two quantities, re-price the 10 lines and the totals, reserve the
increase from a warehouse with stock free, release the decrease from the line's reservation,
keep the old lines and totals as revision 1, recompute the balance due, append the outbox event,
bump the version and record the key. On SQLite the baseline is raw sqlite3 on the store's own
tables, in one transaction: look up the key, read the order document, re-price it, update the
two stock rows, insert the new reservation, release from the old one, write two ledger rows,
rewrite the document at the next version, append the outbox row and record the key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from harness import Result, per_call_us, raw_record_key, raw_sqlite_connect
from workloads_service import PRICE, SKUS, T0, WAREHOUSES, _seed

from salesorders.adapters.memory import MemoryStore
from salesorders.adapters.sqlite import SQLiteStore
from salesorders.domain.changes import ChangeAction
from salesorders.service import (
    ApproveChange,
    LineSpec,
    ManualClock,
    PlaceOrder,
    RequestChange,
    SalesService,
    bootstrap,
)

ZERO = Decimal(0)
CENT = Decimal("0.01")
LINES = 10
AT_TEXT = T0.astimezone(dt.UTC).isoformat(timespec="microseconds")
EXPIRES = (T0 + dt.timedelta(hours=24)).astimezone(dt.UTC).isoformat(timespec="microseconds")
ACTIONS = (ChangeAction.set_quantity("L1", 4), ChangeAction.set_quantity("L2", 1))


def _requested(service: SalesService, count: int) -> list[str]:
    """Seed the stock, place and confirm ``count`` 10-line orders (2 units a line) and request
    the change on each: their ids."""
    _seed(service)
    ids = []
    for n in range(count):
        lines = tuple(LineSpec(SKUS[(n * 7 + i * 13) % len(SKUS)], 2, PRICE) for i in range(LINES))
        placed = service.handle(
            PlaceOrder(customer_id=f"C-{n % 50}", currency="USD", lines=lines, confirm=True)
        )
        service.handle(
            RequestChange(order_id=placed.order_id, actions=ACTIONS, reason="bench", actor="a")
        )
        ids.append(placed.order_id)
    return ids


def _approve(order_id: str) -> ApproveChange:
    return ApproveChange(
        order_id=order_id, change_id="C1", actor="b", idempotency_key=f"approve-{uuid.uuid4().hex}"
    )


def change_approval_memory(quick: bool) -> Result:
    calls, repeats = (200, 3) if quick else (2_000, 5)

    def make() -> Callable[[], object]:
        service = bootstrap(uow=MemoryStore().unit_of_work, clock=ManualClock(T0))
        it = iter([_approve(i) for i in _requested(service, calls)])

        def step() -> object:
            return service.handle(next(it))

        return step

    def make_baseline() -> Callable[[], object]:
        stock = {(sku, wh): [Decimal(10**8), ZERO] for sku in SKUS for wh in WAREHOUSES}
        orders: dict[str, dict[str, Any]] = {}
        reservations: dict[str, list[dict[str, Any]]] = {}
        outbox: list[tuple[str, int, str, dict[str, str]]] = []
        keys: dict[str, dict[str, Any]] = {}
        work = []
        for n in range(calls):  # the state setup leaves (not timed)
            order_id = uuid.uuid4().hex
            lines = []
            for i in range(LINES):
                sku = SKUS[(n * 7 + i * 13) % len(SKUS)]
                lines.append({"id": f"L{i + 1}", "sku": sku, "qty": Decimal(2)})
                stock[(sku, "W1")][1] += 2
                reservations.setdefault(order_id, []).append(
                    {"line": f"L{i + 1}", "sku": sku, "wh": "W1", "qty": Decimal(2), "rel": ZERO}
                )
            orders[order_id] = {"lines": lines, "version": 2, "sequence": 3, "revisions": []}
            work.append((order_id, f"approve-{uuid.uuid4().hex}"))
        it = iter(work)
        price = PRICE.amount
        wanted = {"L1": Decimal(4), "L2": Decimal(1)}

        def approve(order_id: str) -> dict[str, Any]:
            order = orders[order_id]
            old = order["lines"]
            lines = []
            total = ZERO
            increases = []
            decreases = []
            for line in old:
                qty = wanted.get(line["id"], line["qty"])
                if qty > line["qty"]:
                    increases.append((line, qty - line["qty"]))
                elif qty < line["qty"]:
                    decreases.append((line, line["qty"] - qty))
                amount = (qty * price).quantize(CENT, ROUND_HALF_UP)
                total += amount
                lines.append({**line, "qty": qty, "amount": amount})
            for line, need in increases:
                for wh in WAREHOUSES:
                    row = stock[(line["sku"], wh)]
                    take = min(row[0] - row[1], need)
                    if take > 0:
                        row[1] += take
                        reservations[order_id].append(
                            {"line": line["id"], "sku": line["sku"], "wh": wh, "qty": take,
                             "rel": ZERO}
                        )  # fmt: skip
                        need -= take
                    if not need:
                        break
            for line, less in decreases:
                for held in reversed(reservations[order_id]):
                    if held["line"] == line["id"] and held["qty"] > held["rel"]:
                        take = min(held["qty"] - held["rel"], less)
                        held["rel"] += take
                        stock[(held["sku"], held["wh"])][1] -= take
                        less -= take
                    if not less:
                        break
            order["revisions"].append({"number": 1, "lines": old, "total": order.get("total")})
            order["lines"] = lines
            order["total"] = total
            order["sequence"] += 1
            order["version"] += 1
            outbox.append(
                (order_id, order["sequence"], "ChangeApproved",
                 {"change_id": "C1", "grand_total": str(total), "balance_due": str(total)})
            )  # fmt: skip
            return {"order_id": order_id, "grand_total": total, "version": order["version"]}

        def step() -> object:
            order_id, key = next(it)
            seen = keys.get(key)
            if seen is not None:
                return seen
            result = keys[key] = approve(order_id)
            return result

        return step

    value = per_call_us(make, calls=calls, repeats=repeats)
    base = per_call_us(make_baseline, calls=calls, repeats=repeats)
    return Result(
        "change_approval_memory",
        value,
        "µs/approval",
        base,
        note="ApproveChange with an idempotency key through SalesService, 10-line order, one "
        "line up (reserved) and one down (released); baseline: dicts",
    )


# --------------------------------------------------------------------------- SQLite


def _raw_approve(db: sqlite3.Connection, order_id: str, key: str) -> None:
    """ApproveChange by hand on the store's tables: one transaction."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if db.execute(
            "SELECT result FROM idempotency WHERE key = ? AND expires_at > ?", (key, AT_TEXT)
        ).fetchone():
            db.execute("ROLLBACK")
            return
        doc, version = db.execute(
            "SELECT doc, version FROM orders WHERE id = ?", (order_id,)
        ).fetchone()
        data = json.loads(doc)
        wanted = {"L1": Decimal(4), "L2": Decimal(1)}
        old_lines = data["lines"]
        lines = []
        total = ZERO
        moves = []
        for line in old_lines:
            qty = Decimal(line["quantity"])
            new = wanted.get(line["line_id"], qty)
            if new != qty:
                moves.append((line["line_id"], line["sku"], new - qty))
            amount = (new * Decimal(line["unit_price"])).quantize(CENT, ROUND_HALF_UP)
            total += amount
            lines.append({**line, "quantity": str(new), "amount": str(amount),
                          "net": str(amount), "gross": str(amount), "allocated": str(new)})  # fmt: skip
        for line_id, sku, delta in moves:
            if delta > 0:
                row = db.execute(
                    "SELECT warehouse_id, on_hand, reserved FROM stock_items WHERE sku = ? "
                    "ORDER BY warehouse_id",
                    (sku,),
                ).fetchone()
                warehouse = row[0]
                db.execute(
                    "UPDATE stock_items SET reserved = reserved + ? WHERE sku = ? AND "
                    "warehouse_id = ?",
                    (str(delta), sku, warehouse),
                )
                reservation = uuid.uuid4().hex
                db.execute(
                    "INSERT INTO reservations (id, order_id, line_id, sku, warehouse_id, "
                    "batch_id, quantity, released, consumed) VALUES (?, ?, ?, ?, ?, NULL, ?, "
                    "'0', '0')",
                    (reservation, order_id, line_id, sku, warehouse, str(delta)),
                )
                movement, reserved_delta = "reserve", str(delta)
            else:
                reservation, warehouse = db.execute(
                    "SELECT id, warehouse_id FROM reservations WHERE order_id = ? AND "
                    "line_id = ? ORDER BY rowid DESC",
                    (order_id, line_id),
                ).fetchone()
                db.execute(
                    "UPDATE reservations SET released = released + ? WHERE id = ?",
                    (str(-delta), reservation),
                )
                db.execute(
                    "UPDATE stock_items SET reserved = reserved - ? WHERE sku = ? AND "
                    "warehouse_id = ?",
                    (str(-delta), sku, warehouse),
                )
                movement, reserved_delta = "release", str(delta)
            db.execute(
                "INSERT INTO stock_ledger (movement, sku, warehouse_id, on_hand_delta, "
                "reserved_delta, at, batch_id, actor, reason, order_id, line_id, return_id, "
                "reservation_id) VALUES (?, ?, ?, '0', ?, ?, NULL, 'b', 'change C1', ?, ?, NULL, ?)",
                (movement, sku, warehouse, reserved_delta, AT_TEXT, order_id, line_id,
                 reservation),
            )  # fmt: skip
        data.setdefault("revisions", []).append(
            {"number": 1, "lines": old_lines, "totals": data["totals"]}
        )
        data["lines"] = lines
        data["totals"] = {**data["totals"], "grand_total": str(total), "net_total": str(total)}
        data["revision"] = 2
        sequence = data["event_sequence"] = data.get("event_sequence", 0) + 1
        data["version"] = version + 1
        cursor = db.execute(
            "UPDATE orders SET version = ?, doc = ? WHERE id = ? AND version = ?",
            (version + 1, json.dumps(data), order_id, version),
        )
        if cursor.rowcount != 1:
            raise RuntimeError(f"order {order_id} changed meanwhile")
        payload = {"change_id": "C1", "grand_total": str(total), "balance_due": str(total)}
        db.execute(
            "INSERT INTO outbox (event_id, stream_id, sequence, event_type, payload, occurred_at, "
            "attempts, status) VALUES (?, ?, ?, ?, ?, ?, 0, 'pending')",
            (f"{order_id}:{sequence}", order_id, sequence, "ChangeApproved",
             json.dumps(payload), AT_TEXT),
        )  # fmt: skip
        result = {"order_id": order_id, "grand_total": str(total), "version": version + 1}
        fingerprint = hashlib.sha256(f"ApproveChange{order_id}".encode()).hexdigest()
        raw_record_key(db, key, "ApproveChange", fingerprint, result, AT_TEXT, EXPIRES)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def change_approval_sqlite(quick: bool) -> Result:
    orders, repeats = (150, 2) if quick else (1_000, 3)
    folder = Path(tempfile.mkdtemp(prefix="so-bench-change-"))
    runs = [0]

    def prepared() -> tuple[Path, list[str]]:
        runs[0] += 1
        path = folder / f"run{runs[0]}.sqlite3"
        with SQLiteStore(path) as store:
            ids = _requested(bootstrap(uow=store.unit_of_work, clock=ManualClock(T0)), orders)
        return path, ids

    def library() -> float:
        path, ids = prepared()
        with SQLiteStore(path) as store:
            service = bootstrap(uow=store.unit_of_work, clock=ManualClock(T0))
            commands = [_approve(i) for i in ids]
            start = time.perf_counter()
            for command in commands:
                service.handle(command)
            elapsed = time.perf_counter() - start
        return orders / elapsed

    def baseline() -> float:
        path, ids = prepared()
        db = raw_sqlite_connect(path)
        try:
            keys = [uuid.uuid4().hex for _ in ids]
            start = time.perf_counter()
            for order_id, key in zip(ids, keys, strict=True):
                _raw_approve(db, order_id, key)
            elapsed = time.perf_counter() - start
            done = db.execute(
                "SELECT count(*) FROM idempotency WHERE command = 'ApproveChange'"
            ).fetchone()[0]
            if done != len(ids):
                raise RuntimeError("the baseline did not approve every change")
        finally:
            db.close()
        return orders / elapsed

    try:
        value = max(library() for _ in range(repeats))
        base = max(baseline() for _ in range(repeats))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return Result(
        "change_approval_sqlite",
        value,
        "approvals/s",
        base,
        note="SQLite file, WAL, synchronous=NORMAL, ApproveChange of a 10-line order (one "
        "transaction, idempotency key, one line reserved up, one released down); baseline: raw "
        "sqlite3 on the store's tables, same writes",
    )
