"""Payment workloads: capture an authorised card payment (``CapturePayment``), in memory and on
SQLite.

Setup (not timed) places and confirms 3-line orders and authorises each one's grand total through
the service with a :class:`~salesorders.testing.fakes.FakePaymentGateway`. The timed part captures
each authorisation with an idempotency key. The baseline does the same work by hand on plain
dicts in the same run: look up the idempotency key, read the order, check the amount against what
the authorisation still holds, call a dict "gateway" with a derived idempotency key, record the
capture on the payment, recompute the balance due, append the outbox event, bump the version and
record the key. On SQLite the baseline is raw sqlite3 on the store's own tables: look up the key,
read the order document, capture, rewrite the document at the next version, append the outbox
row and record the key, in one transaction.
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
from decimal import Decimal
from pathlib import Path
from typing import Any

from harness import Result, per_call_us, raw_record_key, raw_sqlite_connect
from workloads_service import T0, _order, _seed

from salesorders.adapters.memory import MemoryStore
from salesorders.adapters.sqlite import SQLiteStore
from salesorders.service import AuthorizePayment, CapturePayment, ManualClock, bootstrap
from salesorders.testing.fakes import FakePaymentGateway

ZERO = Decimal(0)
# SQLite holds times as fixed-width UTC text
AT_TEXT = T0.astimezone(dt.UTC).isoformat(timespec="microseconds")
EXPIRES = (T0 + dt.timedelta(hours=24)).astimezone(dt.UTC).isoformat(timespec="microseconds")


def capture_memory(quick: bool) -> Result:
    calls, repeats = (300, 3) if quick else (3_000, 5)

    def make() -> Callable[[], object]:
        store = MemoryStore()
        service = bootstrap(
            uow=store.unit_of_work, clock=ManualClock(T0), payment_gateway=FakePaymentGateway()
        )
        _seed(service)
        commands = []
        for n in range(calls):
            placed = service.handle(_order(n))
            service.handle(AuthorizePayment(order_id=placed.order_id, amount=placed.grand_total))
            commands.append(
                CapturePayment(
                    order_id=placed.order_id,
                    payment_id="P1",
                    idempotency_key=f"capture-{uuid.uuid4().hex}",
                )
            )
        it = iter(commands)

        def step() -> object:
            return service.handle(next(it))

        return step

    def make_baseline() -> Callable[[], object]:
        orders: dict[str, dict[str, Any]] = {}
        gateway: dict[str, dict[str, Any]] = {}
        outbox: list[tuple[str, int, str, dict[str, str]]] = []
        keys: dict[str, dict[str, Any]] = {}
        work = []
        for _ in range(calls):  # the state place + authorise leaves (not timed)
            order_id = uuid.uuid4().hex
            total = Decimal("29.97")
            orders[order_id] = {
                "total": total,
                "version": 3,
                "sequence": 3,
                "payments": {
                    "P1": {"amount": total, "captured": ZERO, "refunded": ZERO, "ops": []}
                },
            }
            work.append((order_id, f"capture-{uuid.uuid4().hex}"))
        it = iter(work)

        def capture(order_id: str, key: str) -> dict[str, Any]:
            order = orders[order_id]
            payment = order["payments"]["P1"]
            amount = payment["amount"] - payment["captured"]
            if amount <= 0:
                raise RuntimeError("nothing left to capture")
            gateway_key = f"{key}:capture"
            answer = gateway.get(gateway_key)
            if answer is None:
                answer = gateway[gateway_key] = {"id": f"T{len(gateway)}", "amount": amount}
            payment["captured"] += amount
            payment["ops"].append(("capture", amount, T0, answer["id"], gateway_key))
            paid = sum(p["captured"] - p["refunded"] for p in order["payments"].values())
            balance = max(order["total"] - paid, ZERO)
            order["sequence"] += 1
            outbox.append(
                (
                    order_id,
                    order["sequence"],
                    "PaymentCaptured",
                    {"payment_id": "P1", "amount": str(amount), "balance_due": str(balance)},
                )
            )
            order["version"] += 1
            return {"order_id": order_id, "balance_due": balance, "version": order["version"]}

        def step() -> object:
            order_id, key = next(it)
            seen = keys.get(key)
            if seen is not None:
                return seen
            result = keys[key] = capture(order_id, key)
            return result

        return step

    value = per_call_us(make, calls=calls, repeats=repeats)
    base = per_call_us(make_baseline, calls=calls, repeats=repeats)
    return Result(
        "capture_memory",
        value,
        "µs/capture",
        base,
        note="CapturePayment with an idempotency key through SalesService and the fake gateway, "
        "3-line order; baseline: dicts",
    )


# --------------------------------------------------------------------------- SQLite


def _authorised(service: Any, count: int) -> list[str]:
    """Seed the stock, place and confirm ``count`` 3-line orders and authorise each: their ids."""
    _seed(service)
    ids = []
    for n in range(count):
        placed = service.handle(_order(n))
        service.handle(AuthorizePayment(order_id=placed.order_id, amount=placed.grand_total))
        ids.append(placed.order_id)
    return ids


def _raw_capture(db: sqlite3.Connection, gateway: dict[str, Any], order_id: str, key: str) -> None:
    """CapturePayment by hand on the store's tables: one transaction."""
    db.execute("BEGIN IMMEDIATE")
    try:
        seen = db.execute(
            "SELECT result FROM idempotency WHERE key = ? AND expires_at > ?", (key, AT_TEXT)
        ).fetchone()
        if seen is not None:
            db.execute("ROLLBACK")
            return
        doc, version = db.execute(
            "SELECT doc, version FROM orders WHERE id = ?", (order_id,)
        ).fetchone()
        data = json.loads(doc)
        payment = data["payments"][0]
        amount = Decimal(payment["amount"]) - Decimal(payment.get("captured", "0"))
        if amount <= 0:
            raise RuntimeError("nothing left to capture")
        gateway_key = f"{key}:capture"
        answer = gateway.get(gateway_key)
        if answer is None:
            answer = gateway[gateway_key] = {"id": f"T{len(gateway)}", "amount": amount}
        payment["captured"] = str(Decimal(payment.get("captured", "0")) + amount)
        payment["status"] = "captured"
        payment.setdefault("operations", []).append(
            {
                "kind": "capture",
                "amount": str(amount),
                "at": AT_TEXT,
                "actor": "",
                "reason": "",
                "transaction_id": answer["id"],
                "idempotency_key": gateway_key,
            }
        )
        paid = sum(
            Decimal(p.get("captured", "0")) - Decimal(p.get("refunded", "0"))
            for p in data["payments"]
        )
        balance = max(Decimal(data["totals"]["grand_total"]) - paid, ZERO)
        sequence = data["event_sequence"] = data.get("event_sequence", 0) + 1
        data["version"] = version + 1
        cursor = db.execute(
            "UPDATE orders SET version = ?, doc = ? WHERE id = ? AND version = ?",
            (version + 1, json.dumps(data), order_id, version),
        )
        if cursor.rowcount != 1:
            raise RuntimeError(f"order {order_id} changed meanwhile")
        payload = {"payment_id": "P1", "amount": str(amount), "balance_due": str(balance)}
        db.execute(
            "INSERT INTO outbox (event_id, stream_id, sequence, event_type, payload, occurred_at, "
            "attempts, status) VALUES (?, ?, ?, ?, ?, ?, 0, 'pending')",
            (
                f"{order_id}:{sequence}",
                order_id,
                sequence,
                "PaymentCaptured",
                json.dumps(payload),
                AT_TEXT,
            ),
        )
        result = {"order_id": order_id, "balance_due": str(balance), "version": version + 1}
        fingerprint = hashlib.sha256(f"CapturePayment{order_id}".encode()).hexdigest()
        raw_record_key(db, key, "CapturePayment", fingerprint, result, AT_TEXT, EXPIRES)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def capture_sqlite(quick: bool) -> Result:
    orders, repeats = (300, 2) if quick else (2_000, 3)
    folder = Path(tempfile.mkdtemp(prefix="so-bench-capture-"))
    runs = [0]

    def prepared() -> tuple[Path, list[str], FakePaymentGateway]:
        runs[0] += 1
        path = folder / f"run{runs[0]}.sqlite3"
        gateway = FakePaymentGateway()
        with SQLiteStore(path) as store:
            service = bootstrap(
                uow=store.unit_of_work, clock=ManualClock(T0), payment_gateway=gateway
            )
            ids = _authorised(service, orders)
        return path, ids, gateway

    def library() -> float:
        path, ids, gateway = prepared()
        with SQLiteStore(path) as store:
            service = bootstrap(
                uow=store.unit_of_work, clock=ManualClock(T0), payment_gateway=gateway
            )
            commands = [
                CapturePayment(order_id=i, payment_id="P1", idempotency_key=uuid.uuid4().hex)
                for i in ids
            ]
            start = time.perf_counter()
            for command in commands:
                service.handle(command)
            elapsed = time.perf_counter() - start
        return orders / elapsed

    def baseline() -> float:
        path, ids, _ = prepared()
        db = raw_sqlite_connect(path)
        gateway: dict[str, Any] = {}
        try:
            keys = [uuid.uuid4().hex for _ in ids]
            start = time.perf_counter()
            for order_id, key in zip(ids, keys, strict=True):
                _raw_capture(db, gateway, order_id, key)
            elapsed = time.perf_counter() - start
            if len(gateway) != len(ids):
                raise RuntimeError("the baseline did not capture every order")
        finally:
            db.close()
        return orders / elapsed

    try:
        value = max(library() for _ in range(repeats))
        base = max(baseline() for _ in range(repeats))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return Result(
        "capture_sqlite",
        value,
        "captures/s",
        base,
        note="SQLite file, WAL, synchronous=NORMAL, CapturePayment (one transaction, idempotency "
        "key, fake gateway); baseline: raw sqlite3 on the store's tables, same writes",
    )
