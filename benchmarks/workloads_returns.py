"""Return workloads: the return and refund of 1 unit of 1 line of a paid, delivered 10-line order
with an order discount and shipping — ``RequestReturn``, ``ApproveReturn`` and ``ReceiveReturn``
(restock into a warehouse, credit note, refund to the card through the gateway), in memory and
on SQLite.

Setup (not timed) places and confirms the orders, captures their grand total with a
:class:`~salesorders.testing.fakes.FakePaymentGateway`, ships and delivers them. The timed part is
the three commands, each with an idempotency key. The baseline does the same work by hand in the
same run: on plain dicts, the window check, the exact refund (the line's gross and its share of
shipping spread over units with integer largest-remainder arithmetic, as ``allocate`` does), the
refund to the payment through a dict "gateway", the restock, the credit note number, the events
and versions; on SQLite, raw sqlite3 on the store's own tables with the same writes — three
transactions that read and rewrite the order document and append the outbox rows, the last also
raising the stock row, appending the ledger row and taking the credit note number.
"""

from __future__ import annotations

import datetime as dt
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
from moneyed import Money

from salesorders.adapters.memory import MemoryStore
from salesorders.adapters.sqlite import SQLiteStore
from salesorders.domain.pricing import Discount
from salesorders.domain.returns import Inspection, InspectionOutcome
from salesorders.domain.warehouse import Warehouse
from salesorders.service import (
    ApproveReturn,
    AuthorizePayment,
    CapturePayment,
    DeliverOrder,
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveReturn,
    ReceiveStock,
    RegisterWarehouse,
    RequestReturn,
    ReturnItem,
    SalesService,
    ShipOrder,
    bootstrap,
)
from salesorders.testing.fakes import FakePaymentGateway

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
LINES = 10
SKUS = [f"SKU-{i:02d}" for i in range(LINES)]
ZERO = Decimal(0)
AT_TEXT = T0.astimezone(dt.UTC).isoformat(timespec="microseconds")
EXPIRES = (T0 + dt.timedelta(hours=24)).astimezone(dt.UTC).isoformat(timespec="microseconds")
INSPECT = (Inspection("L4", Decimal(1), InspectionOutcome.RESTOCK, "W1"),)


def _prices() -> list[str]:
    return [f"{3 + i}.{(i * 37) % 100:02d}" for i in range(LINES)]


def _delivered(service: SalesService, count: int) -> list[str]:
    """Seed stock; place, pay, ship and deliver ``count`` 10-line orders: their ids."""
    service.handle(RegisterWarehouse(warehouse=Warehouse("W1", priority=1)))
    for sku in SKUS:
        service.handle(ReceiveStock(sku=sku, warehouse_id="W1", quantity=10**8))
    ids = []
    for _ in range(count):
        placed = service.handle(
            PlaceOrder(
                customer_id="C-1",
                currency="USD",
                lines=tuple(
                    LineSpec(sku, 3, Money(price, "USD"))
                    for sku, price in zip(SKUS, _prices(), strict=True)
                ),
                discounts=(Discount.percentage("7"),),
                shipping=Money("9.95", "USD"),
                confirm=True,
            )
        )
        order_id = placed.order_id
        service.handle(AuthorizePayment(order_id=order_id, amount=placed.grand_total))
        service.handle(CapturePayment(order_id=order_id, payment_id="P1"))
        service.handle(ShipOrder(order_id=order_id, tracking_number=f"T-{order_id[:20]}"))
        service.handle(DeliverOrder(order_id=order_id))
        ids.append(order_id)
    return ids


def _return(service: SalesService, order_id: str) -> object:
    """The timed work: request, approve and receive a return of 1 unit of line L4."""
    key = uuid.uuid4().hex
    service.handle(
        RequestReturn(
            order_id=order_id,
            lines=(ReturnItem("L4", 1, "defective"),),
            actor="ana",
            idempotency_key=f"{key}:rq",
        )
    )
    service.handle(
        ApproveReturn(order_id=order_id, return_id="R1", actor="lee", idempotency_key=f"{key}:ap")
    )
    return service.handle(
        ReceiveReturn(
            order_id=order_id, return_id="R1", inspections=INSPECT, idempotency_key=f"{key}:rc"
        )
    )


# --------------------------------------------------------------------------- the arithmetic by hand


def _split(total: int, weights: list[int]) -> list[int]:
    """Largest-remainder split of ``total`` minor units by ``weights`` (ties: earliest)."""
    whole = sum(weights)
    parts, remainders = [], []
    for weight in weights:
        part, remainder = divmod(total * weight, whole)
        parts.append(part)
        remainders.append(remainder)
    for index in sorted(range(len(parts)), key=remainders.__getitem__, reverse=True)[
        : total - sum(parts)
    ]:
        parts[index] += 1
    return parts


def _first(total: int, done: int, of: int) -> int:
    if done <= 0:
        return 0
    if done >= of:
        return total
    return _split(total, [done, of - done])[0]


def _refund(
    line_gross: list[int], shipping: int, index: int, before: int, units: int, q: int
) -> int:
    """Minor units refunded for ``units`` of line ``index`` after ``before`` were credited."""
    ship = _split(shipping, line_gross)[index]
    goods = _first(line_gross[index], before + units, q) - _first(line_gross[index], before, q)
    share = _first(ship, before + units, q) - _first(ship, before, q)
    return goods + share


# --------------------------------------------------------------------------- memory


def return_refund_memory(quick: bool) -> Result:
    calls, repeats = (100, 3) if quick else (1_000, 5)

    def make() -> Callable[[], object]:
        store = MemoryStore()
        service = bootstrap(
            uow=store.unit_of_work, clock=ManualClock(T0), payment_gateway=FakePaymentGateway()
        )
        first, *rest = _delivered(service, calls + 1)
        _return(service, first)  # warms the service's compiled codecs (not timed)
        it = iter(rest)
        return lambda: _return(service, next(it))

    def make_baseline() -> Callable[[], object]:
        orders: dict[str, dict[str, Any]] = {}
        gateway: dict[str, int] = {}
        stock = dict.fromkeys(SKUS, 10**8)
        ledger: list[tuple[str, int, str]] = []
        outbox: list[tuple[str, int, str, dict[str, str]]] = []
        keys: dict[str, object] = {}
        numbers = [0]
        gross = [int(Decimal(p) * 300 * 93 / 100) for p in _prices()]  # cents, 7 % off
        for _ in range(calls):
            order_id = uuid.uuid4().hex
            orders[order_id] = {
                "lines": {f"L{i + 1}": (SKUS[i], 3) for i in range(LINES)},
                "gross": gross,
                "shipping": 995,
                "paid": sum(gross) + 995,
                "refunded": 0,
                "delivered_at": T0,
                "returns": {},
                "credit_notes": [],
                "version": 8,
                "sequence": 8,
            }
        it = iter(list(orders))

        def event(order: dict[str, Any], order_id: str, kind: str, **fields: str) -> None:
            order["sequence"] += 1
            order["version"] += 1
            outbox.append((order_id, order["sequence"], kind, fields))

        def once(key: str, work: Callable[[], object]) -> object:
            if key not in keys:
                keys[key] = work()
            return keys[key]

        def request(order_id: str) -> object:
            order = orders[order_id]
            if order["delivered_at"] + dt.timedelta(days=30) < T0:
                raise RuntimeError("outside the window")
            estimate = _refund(order["gross"], order["shipping"], 3, 0, 1, 3)
            order["returns"]["R1"] = {"line": "L4", "units": 1, "state": "requested"}
            event(order, order_id, "ReturnRequested", estimate=str(estimate))
            return order["version"]

        def approve(order_id: str) -> object:
            order = orders[order_id]
            if order["returns"]["R1"]["state"] != "requested":
                raise RuntimeError("not awaiting review")
            order["returns"]["R1"].update(state="approved", decided_by="lee", decided_at=T0)
            event(order, order_id, "ReturnApproved")
            return order["version"]

        def receive(order_id: str) -> object:
            order = orders[order_id]
            amount = _refund(order["gross"], order["shipping"], 3, 0, 1, 3)
            gateway_key = f"{order_id}:refund"
            gateway[gateway_key] = gateway.get(gateway_key, 0) + amount
            order["refunded"] += amount
            stock[SKUS[3]] += 1
            ledger.append((SKUS[3], 1, order_id))
            numbers[0] += 1
            number = f"CN-2026-{numbers[0]:06d}"
            order["credit_notes"].append((number, amount))
            order["returns"]["R1"]["state"] = "received"
            event(order, order_id, "PaymentRefunded", amount=str(amount))
            event(order, order_id, "ReturnReceived")
            event(order, order_id, "CreditNoteIssued", number=number, amount=str(amount))
            owed = sum(order["gross"]) + order["shipping"] - amount
            return order["paid"] - order["refunded"] - owed

        def step() -> object:
            order_id = next(it)
            key = uuid.uuid4().hex
            once(f"{key}:rq", lambda: request(order_id))
            once(f"{key}:ap", lambda: approve(order_id))
            return once(f"{key}:rc", lambda: receive(order_id))

        return step

    value = per_call_us(make, calls=calls, repeats=repeats)
    base = per_call_us(make_baseline, calls=calls, repeats=repeats)
    return Result(
        "return_refund_memory",
        value,
        "µs/return",
        base,
        note="RequestReturn + ApproveReturn + ReceiveReturn of 1 unit of 1 of 10 lines (restock, "
        "credit note, card refund), idempotency keys; baseline: dicts, same arithmetic",
    )


# --------------------------------------------------------------------------- SQLite


def _raw_return(db: sqlite3.Connection, gateway: dict[str, int], order_id: str) -> None:
    """The three commands by hand on the store's tables: three transactions, each recording its
    idempotency key."""
    key = uuid.uuid4().hex

    def rewrite(
        step: str, change: Callable[[dict[str, Any]], list[tuple[str, dict[str, str]]]]
    ) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            seen = db.execute(
                "SELECT result FROM idempotency WHERE key = ? AND expires_at > ?",
                (f"{key}:{step}", AT_TEXT),
            ).fetchone()
            if seen is not None:
                db.execute("ROLLBACK")
                return
            doc, version = db.execute(
                "SELECT doc, version FROM orders WHERE id = ?", (order_id,)
            ).fetchone()
            data = json.loads(doc)
            events = change(data)
            first = data.get("event_sequence", 0) + 1
            data["event_sequence"] = first - 1 + len(events)
            data["version"] = version + 1
            cursor = db.execute(
                "UPDATE orders SET version = ?, doc = ? WHERE id = ? AND version = ?",
                (version + 1, json.dumps(data), order_id, version),
            )
            if cursor.rowcount != 1:
                raise RuntimeError(f"order {order_id} changed meanwhile")
            for sequence, (kind, payload) in enumerate(events, start=first):
                db.execute(
                    "INSERT INTO outbox (event_id, stream_id, sequence, event_type, payload, "
                    "occurred_at, attempts, status) VALUES (?, ?, ?, ?, ?, ?, 0, 'pending')",
                    (
                        f"{order_id}:{sequence}",
                        order_id,
                        sequence,
                        kind,
                        json.dumps(payload),
                        AT_TEXT,
                    ),
                )
            result = {"order_id": order_id, "version": version + 1}
            raw_record_key(db, f"{key}:{step}", step, key, result, AT_TEXT, EXPIRES)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def refund_of(data: dict[str, Any]) -> int:
        gross = [int(Decimal(line["gross"]) * 100) for line in data["lines"]]
        shipping = int(
            (
                Decimal(data["totals"].get("shipping_net", "0"))
                + Decimal(data["totals"].get("shipping_tax", "0"))
            )
            * 100
        )
        return _refund(gross, shipping, 3, 0, 1, 3)

    def request(data: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
        estimate = refund_of(data)
        data.setdefault("returns", []).append(
            {"id": "R1", "line_id": "L4", "quantity": "1", "reason": "defective",
             "state": "requested", "estimate": str(Decimal(estimate) / 100)}
        )  # fmt: skip
        return [("ReturnRequested", {"return_id": "R1", "estimate": str(estimate)})]

    def approve(data: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
        data["returns"][-1].update(state="approved", decided_by="lee", decided_at=AT_TEXT)
        return [("ReturnApproved", {"return_id": "R1"})]

    def receive(data: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
        amount = refund_of(data)
        gateway[order_id] = gateway.get(order_id, 0) + amount
        payment = data["payments"][0]
        payment["refunded"] = str(Decimal(payment.get("refunded", "0")) + Decimal(amount) / 100)
        db.execute(
            "UPDATE stock_items SET on_hand = on_hand + 1 WHERE sku = ? AND warehouse_id = 'W1'",
            (SKUS[3],),
        )
        db.execute(
            "INSERT INTO stock_ledger (movement, sku, warehouse_id, on_hand_delta, reserved_delta, "
            "at, actor, reason, order_id, line_id, return_id) "
            "VALUES ('return', ?, 'W1', 1, 0, ?, '', 'return R1', ?, 'L4', ?)",
            (SKUS[3], AT_TEXT, order_id, f"{order_id}:R1"),
        )
        (number,) = db.execute(
            "INSERT INTO order_number_series AS s (series, last) VALUES ('CN-2026', 1) "
            "ON CONFLICT (series) DO UPDATE SET last = s.last + 1 RETURNING last"
        ).fetchone()
        data["returns"][-1]["state"] = "received"
        data.setdefault("credit_notes", []).append(
            {"number": f"CN-2026-{number:06d}", "amount": str(Decimal(amount) / 100)}
        )
        return [
            ("PaymentRefunded", {"payment_id": "P1", "amount": str(amount)}),
            ("ReturnReceived", {"return_id": "R1"}),
            ("CreditNoteIssued", {"number": f"CN-2026-{number:06d}", "amount": str(amount)}),
        ]

    rewrite("rq", request)
    rewrite("ap", approve)
    rewrite("rc", receive)


def return_refund_sqlite(quick: bool) -> Result:
    orders, repeats = (100, 2) if quick else (1_000, 3)
    folder = Path(tempfile.mkdtemp(prefix="so-bench-returns-"))
    runs = [0]

    def prepared() -> tuple[Path, list[str], FakePaymentGateway]:
        runs[0] += 1
        path = folder / f"run{runs[0]}.sqlite3"
        gateway = FakePaymentGateway()
        with SQLiteStore(path) as store:
            service = bootstrap(
                uow=store.unit_of_work, clock=ManualClock(T0), payment_gateway=gateway
            )
            ids = _delivered(service, orders + 1)
        return path, ids, gateway

    def library() -> float:
        path, ids, gateway = prepared()
        with SQLiteStore(path) as store:
            service = bootstrap(
                uow=store.unit_of_work, clock=ManualClock(T0), payment_gateway=gateway
            )
            _return(service, ids[0])  # warms the service's compiled codecs (not timed)
            start = time.perf_counter()
            for order_id in ids[1:]:
                _return(service, order_id)
            elapsed = time.perf_counter() - start
        return orders / elapsed

    def baseline() -> float:
        path, ids, _ = prepared()
        db = raw_sqlite_connect(path)
        gateway: dict[str, int] = {}
        try:
            _raw_return(db, gateway, ids[0])
            start = time.perf_counter()
            for order_id in ids[1:]:
                _raw_return(db, gateway, order_id)
            elapsed = time.perf_counter() - start
            if len(gateway) != len(ids):
                raise RuntimeError("the baseline did not refund every order")
        finally:
            db.close()
        return orders / elapsed

    try:
        value = max(library() for _ in range(repeats))
        base = max(baseline() for _ in range(repeats))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return Result(
        "return_refund_sqlite",
        value,
        "returns/s",
        base,
        note="SQLite file, WAL, synchronous=NORMAL, RequestReturn + ApproveReturn + ReceiveReturn "
        "(three transactions, idempotency keys, fake gateway) of 1 of 10 lines; baseline: raw "
        "sqlite3 on the store's tables, same writes",
    )
