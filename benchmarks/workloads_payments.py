"""Payment workload: capture an authorised card payment (``CapturePayment``) in memory.

Setup (not timed) places and confirms 3-line orders and authorises each one's grand total through
the service with a :class:`~salesorders.testing.fakes.FakePaymentGateway`. The timed part captures
each authorisation with an idempotency key. The baseline does the same work by hand on plain
dicts in the same run: look up the idempotency key, read the order, check the amount against what
the authorisation still holds, call a dict "gateway" with a derived idempotency key, record the
capture on the payment, recompute the balance due, append the outbox event, bump the version and
record the key.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from harness import Result, per_call_us
from workloads_service import T0, _order, _seed

from salesorders.adapters.memory import MemoryStore
from salesorders.service import AuthorizePayment, CapturePayment, ManualClock, bootstrap
from salesorders.testing.fakes import FakePaymentGateway

ZERO = Decimal(0)


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
