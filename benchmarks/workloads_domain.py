"""Domain workloads: pricing, workflow transitions, allocation + reservation."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from harness import Result, per_call_us

from salesorders.domain.allocation import PriorityPolicy
from salesorders.domain.order import Order
from salesorders.domain.plan import AllocationRequest, DemandLine
from salesorders.domain.pricing import Discount, LineToPrice, TaxComponent, price_document
from salesorders.domain.stock import StockBook
from salesorders.domain.warehouse import Warehouse
from salesorders.domain.workflow import default_workflow

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
VAT = TaxComponent("VAT", Decimal("0.19"))
CENT = Decimal("0.01")


def _reps(quick: bool) -> tuple[int, int]:
    return (2_000, 3) if quick else (20_000, 7)


# --------------------------------------------------------------------------- pricing


def price_order_3_lines(quick: bool) -> Result:
    """Price, discount, tax and total a 3-line order (line discount, order discount, VAT)."""
    lines = [
        LineToPrice(Decimal(2), Decimal("19.99"), (Discount.percentage(10),), (VAT,)),
        LineToPrice(Decimal(1), Decimal("5.49"), (), (VAT,)),
        LineToPrice(Decimal(3), Decimal("7.25"), (), (VAT,)),
    ]
    order_discounts = (Discount.fixed(Decimal("5.00")),)

    def library() -> object:
        return price_document("EUR", lines, order_discounts=order_discounts)

    raw = [
        (Decimal(2), Decimal("19.99"), Decimal(10)),
        (Decimal(1), Decimal("5.49"), None),
        (Decimal(3), Decimal("7.25"), None),
    ]
    rate = Decimal("0.19")
    fixed = Decimal("5.00")

    def baseline() -> object:
        # the same arithmetic by hand: line amounts, a percentage line discount, a fixed order
        # discount spread by largest remainder, per-line VAT, totals
        bases = []
        for quantity, price, pct in raw:
            amount = (quantity * price).quantize(CENT, ROUND_HALF_UP)
            if pct is not None:
                amount -= (amount * pct / 100).quantize(CENT, ROUND_HALF_UP)
            bases.append(amount)
        total = sum(bases)
        cents = int(fixed * 100)
        exact = [Decimal(cents) * b / total for b in bases]
        parts = [int(e) for e in exact]
        left = cents - sum(parts)
        for i in sorted(range(3), key=lambda i: -(exact[i] - parts[i]))[:left]:
            parts[i] += 1
        out = {"net": Decimal(0), "tax": Decimal(0)}
        for base, part in zip(bases, parts, strict=True):
            net = base - Decimal(part) / 100
            tax = (net * rate).quantize(CENT, ROUND_HALF_UP)
            out["net"] += net
            out["tax"] += tax
        out["gross"] = out["net"] + out["tax"]
        return out

    assert library().grand_total == baseline()["gross"]  # type: ignore[attr-defined,index]
    calls, repeats = _reps(quick)
    value = per_call_us(lambda: library, calls=calls, repeats=repeats)
    base = per_call_us(lambda: baseline, calls=calls, repeats=repeats)
    return Result(
        "price_order_3_lines", value, "µs/order", base, note="price_document, EUR, VAT 19 %"
    )


# --------------------------------------------------------------------------- workflow


def workflow_transition(quick: bool) -> Result:
    """One workflow transition on an order (hold/resume alternating: guards, audit, event)."""
    calls, repeats = _reps(quick)

    def make() -> object:
        order = Order.create("O-1", "C-1", "USD", T0)
        order.add_line("A", 1, "1.00", T0)
        order.place("SO-1", T0)
        flip = [True]

        def step() -> None:
            if flip[0]:
                order.hold(T0)
            else:
                order.resume(T0)
            flip[0] = not flip[0]
            if len(order.events) > 16:
                order.events.clear()
                order.audit = ()

        return step

    table = {("placed", "hold"): "on_hold", ("on_hold", "resume"): "placed"}

    def make_baseline() -> object:
        state = {"state": "placed", "held_from": None, "audit": [], "events": []}
        flip = [True]

        def step() -> None:
            event = "hold" if flip[0] else "resume"
            source = state["state"]
            target = table.get((source, event))  # type: ignore[call-overload]
            if target is None:
                raise ValueError(event)
            if event == "resume" and state["held_from"] != "placed":
                raise ValueError("guard")
            state["state"] = target
            state["held_from"] = source if event == "hold" else None
            state["audit"].append((event, source, target, T0, "", ""))  # type: ignore[attr-defined]
            state["events"].append(("O-1", len(state["events"]) + 1, T0))  # type: ignore[attr-defined]
            flip[0] = not flip[0]
            if len(state["events"]) > 16:  # type: ignore[arg-type]
                state["events"].clear()  # type: ignore[attr-defined]
                state["audit"].clear()  # type: ignore[attr-defined]

        return step

    value = per_call_us(make, calls=calls, repeats=repeats)  # type: ignore[arg-type]
    base = per_call_us(make_baseline, calls=calls, repeats=repeats)  # type: ignore[arg-type]

    machine_cls = default_workflow().machine

    class Subject:
        state = "placed"
        held_from: str | None = None

    def make_engine() -> object:
        subject = Subject()
        machine = machine_cls(model=subject, start_value="placed")
        flip = [True]

        def step() -> None:
            if flip[0]:
                subject.held_from = "placed"
                machine.send("hold")
            else:
                machine.send("resume")
            flip[0] = not flip[0]

        return step

    engine = per_call_us(make_engine, calls=max(200, calls // 50), repeats=3)  # type: ignore[arg-type]
    return Result(
        "workflow_transition",
        value,
        "µs/transition",
        base,
        target="≤ 5 µs",
        note=f"python-statemachine engine, same transitions: {engine:.1f} µs",
        extra={"statemachine_engine_us": engine},
    )


# --------------------------------------------------------------------------- allocation


def _stock(skus: int, warehouses: int) -> StockBook:
    book = StockBook()
    for w in range(warehouses):
        book.add_warehouse(Warehouse(f"W{w:02d}", priority=w))
    for s in range(skus):
        for w in range(warehouses):
            book.receive(f"SKU-{s:03d}", f"W{w:02d}", Decimal(10**9), T0)
    return book


def _allocate_and_reserve(lines: int, warehouses: int, quick: bool) -> tuple[float, float]:
    calls, repeats = _reps(quick)
    calls = max(200, calls // max(1, lines * warehouses // 9))
    skus = max(100, lines)
    policy = PriorityPolicy()
    counter = [0]

    def make() -> object:
        book = _stock(skus, warehouses)

        def step() -> None:
            counter[0] += 1
            n = counter[0]
            request = AllocationRequest(
                f"O{n}",
                tuple(
                    DemandLine(f"L{i}", f"SKU-{(n * 7 + i * 13) % skus:03d}", Decimal(1))
                    for i in range(lines)
                ),
            )
            snapshot = book.snapshot({line.sku for line in request.lines})
            plan = policy.allocate(request, snapshot)
            book.reserve_plan(plan, T0)

        return step

    # hand-written baseline: plain dicts of available stock, priority order, greedy fill
    order = [f"W{w:02d}" for w in range(warehouses)]

    def make_baseline() -> object:
        available = {(f"SKU-{s:03d}", wh): Decimal(10**9) for s in range(skus) for wh in order}
        reserved: dict[tuple[str, str], Decimal] = {}
        ledger: list[tuple[str, str, str, Decimal]] = []

        def step() -> None:
            counter[0] += 1
            n = counter[0]
            demand: dict[str, Decimal] = {}
            lines_ = [
                (f"L{i}", f"SKU-{(n * 7 + i * 13) % skus:03d}", Decimal(1)) for i in range(lines)
            ]
            for _, sku, qty in lines_:
                demand[sku] = demand.get(sku, Decimal(0)) + qty
            plan = []
            for line_id, sku, qty in lines_:
                need = qty
                for wh in order:
                    free = available[(sku, wh)]
                    if free <= 0:
                        continue
                    take = min(free, need)
                    plan.append((line_id, sku, wh, take))
                    need -= take
                    if not need:
                        break
            for line_id, sku, wh, take in plan:
                available[(sku, wh)] -= take
                reserved[(sku, wh)] = reserved.get((sku, wh), Decimal(0)) + take
                ledger.append((line_id, sku, wh, take))

        return step

    value = per_call_us(make, calls=calls, repeats=repeats)  # type: ignore[arg-type]
    base = per_call_us(make_baseline, calls=calls, repeats=repeats)  # type: ignore[arg-type]
    return value, base


def allocate_3_lines_3_warehouses(quick: bool) -> Result:
    value, base = _allocate_and_reserve(3, 3, quick)
    return Result(
        "allocate_3_lines_3_warehouses",
        value,
        "µs/order",
        base,
        target="≤ 10 µs",
        note="priority policy, 100 SKUs, snapshot + allocate + reserve_plan",
    )


def allocate_scaling(quick: bool) -> Result:
    sizes = [(3, 3), (5, 10), (10, 25), (20, 50)]
    figures = {f"{lines}x{wh}": _allocate_and_reserve(lines, wh, quick)[0] for lines, wh in sizes}
    big = figures["20x50"]
    base_value, base = _allocate_and_reserve(20, 50, quick)
    del base_value
    per_cell = {k: v / (int(k.split("x")[0]) * int(k.split("x")[1])) for k, v in figures.items()}
    per_line = {k: v / int(k.split("x")[0]) for k, v in figures.items()}
    note = "µs per order: " + ", ".join(f"{k} {v:.1f}" for k, v in figures.items())
    note += " | µs per line: " + ", ".join(f"{k} {v:.2f}" for k, v in per_line.items())
    note += " | µs per line×warehouse: " + ", ".join(f"{k} {v:.3f}" for k, v in per_cell.items())
    return Result(
        "allocate_scaling",
        big,
        "µs/order",
        base,
        target="linear in lines × warehouses",
        note=note,
        extra={**{f"us_{k}": v for k, v in figures.items()}},
    )
