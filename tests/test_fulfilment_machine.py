"""Random fulfilment sequences through the service, on every store, checked after every step.

A hypothesis :class:`RuleBasedStateMachine` places orders (confirmed at once or later, some lines
larger than the stock so that they backorder, some all-or-nothing), confirms, ships (everything,
or chosen lines and quantities), cancels orders and quantities of lines, receives stock (serving backorders on receipt or not,
chosen per run), counts stock, allocates backorders, reports shipments delivered (or in transit)
and delivers orders. A model predicts every outcome: what each line is allocated, backordered and
shipped, which waiting orders a receipt serves (oldest placement first), and which commands are
refused. A refused command must raise its typed error and change nothing (orders, stock figures,
reservations, ledger and outbox compared before and after).

After every step:

* per SKU and per (SKU, warehouse): on hand + shipped - received - adjustments == 0, against the
  model of what was received, counted and shipped (and the ledger's receipts, counts and shipments
  agree with it);
* no line ships more than it ordered; shipped per line is the sum of its shipment lines;
* reserved on each stock item is the sum of its open reservations, and what each line holds is
  what it was allocated and has not shipped;
* ``service.reconcile_stock()`` finds nothing (the ledger folds to the figures);
* the order's ``fulfilment_status`` and ``allocation_status`` are those its lines give;
* nothing is oversold: ``0 <= reserved <= on_hand`` everywhere.

A store that ships without taking the goods off its shelves must fail the same machine.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from race_support import (
    PRICE,
    T0,
    close_store,
    drop_schema,
    empty_schema,
    new_schema,
    open_store,
    service_over,
)
from salesorders.adapters.memory import MemoryStockRepository, MemoryStore
from salesorders.domain.stock import Movement, StockChange
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import (
    InsufficientStockError,
    InvalidTransitionError,
    NotFoundError,
    OrderError,
    SalesOrdersError,
    UnknownStockItemError,
    ValidationError,
)
from salesorders.ports import OrderQuery
from salesorders.service import (
    AdjustStock,
    AllocateBackorders,
    CancelLine,
    CancelLines,
    CancelOrder,
    ConfirmOrder,
    DeliverOrder,
    LineSpec,
    ManualClock,
    OrderResult,
    PlaceOrder,
    ReceiveStock,
    RecordShipmentEvent,
    RegisterWarehouse,
    ShipLine,
    ShipOrder,
)

SKUS = ("A", "B")
WAREHOUSES = (("W1", 1), ("W2", 2))
ITEM_KEYS = tuple((sku, w) for sku in SKUS for w, _ in WAREHOUSES)
OPENING = {("A", "W1"): 3, ("A", "W2"): 2, ("B", "W1"): 2}
MINUTE = dt.timedelta(minutes=1)
#: How many waiting orders a receipt serves at most when it serves them (the service's bound).
ALL_WAITING = 10_000
MISSING = "O-missing"

LINES = st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 5)), min_size=1, max_size=3)
SHIP_QUANTITIES = st.sampled_from([None, None, 1, 1, 2, 3, 4, 0])


# --------------------------------------------------------------------------- the model


@attrs.define
class ModelLine:
    """What the model expects of one order line (whole units)."""

    line_id: str
    sku: str
    quantity: int
    allocated: int = 0
    backordered: int = 0
    shipped: int = 0
    cancelled: int = 0

    @property
    def held(self) -> int:
        """Units reserved for the line and not yet shipped."""
        return self.allocated - self.shipped

    @property
    def to_fulfil(self) -> int:
        """Units the line still means to deliver (what was ordered and not cancelled)."""
        return self.quantity - self.cancelled

    @property
    def to_ship(self) -> int:
        return self.to_fulfil - self.shipped


@attrs.define
class ModelShipment:
    warehouse_id: str
    lines: dict[str, int]
    delivered: bool = False


@attrs.define
class ModelOrder:
    id: str
    state: str
    placed: int  # the step it was placed at: waiting orders are served in this order
    lines: list[ModelLine]
    shipments: dict[str, ModelShipment] = attrs.field(factory=dict)

    @property
    def waiting(self) -> bool:
        return any(line.backordered > 0 for line in self.lines)

    @property
    def allocation_status(self) -> str:
        allocated = sum(line.allocated for line in self.lines)
        backordered = sum(line.backordered for line in self.lines)
        if not allocated and not backordered:
            return "unallocated"
        if not backordered:
            return "allocated"
        return "partially_allocated" if allocated else "backordered"

    @property
    def fulfilment_status(self) -> str:
        if not self.shipments:
            return "unfulfilled"
        delivered: dict[str, int] = {}
        for shipment in self.shipments.values():
            if shipment.delivered:
                for line_id, quantity in shipment.lines.items():
                    delivered[line_id] = delivered.get(line_id, 0) + quantity
        if delivered:
            if all(delivered.get(line.line_id, 0) >= line.to_fulfil for line in self.lines):
                return "delivered"
            return "partially_delivered"
        if all(line.shipped >= line.to_fulfil for line in self.lines):
            return "shipped"
        return "partially_shipped"

    def line(self, line_id: str) -> ModelLine:
        return next(line for line in self.lines if line.line_id == line_id)


# --------------------------------------------------------------------------- the machine


class FulfilmentMachine(RuleBasedStateMachine):
    """The service over one store, and the model it must agree with."""

    where: ClassVar[str] = ""
    schema: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(T0)
        self.store = self.open_fresh()
        self.service: Any = None
        self.serve_on_receipt = False
        self.orders: dict[str, ModelOrder] = {}
        self.received = dict.fromkeys(OPENING, 0)
        self.adjusted = dict.fromkeys(OPENING, 0)
        self.shipped_from = dict.fromkeys(OPENING, 0)
        self.steps = 0
        self.counter = 0

    def open_fresh(self) -> Any:
        """A fresh, empty store (subclasses: another kind)."""
        return MemoryStore()

    def teardown(self) -> None:
        close_store(self.store)

    @initialize(serve_on_receipt=st.booleans())
    def open_shop(self, serve_on_receipt: bool) -> None:
        """The service (serving backorders on receipt in this run, or not), its warehouses and
        the opening stock."""
        self.serve_on_receipt = serve_on_receipt
        self.service = service_over(
            self.store.unit_of_work,
            clock=self.clock,
            serve_backorders_on_receipt=serve_on_receipt,
        )
        for warehouse_id, priority in WAREHOUSES:
            warehouse = Warehouse(warehouse_id, priority=priority)
            self.service.handle(RegisterWarehouse(warehouse=warehouse))
        for (sku, warehouse_id), quantity in OPENING.items():
            self.service.handle(ReceiveStock(sku=sku, warehouse_id=warehouse_id, quantity=quantity))
            self.received[(sku, warehouse_id)] += quantity

    # ------------------------------------------------------------------ model helpers

    def _tick(self) -> None:
        """Each step happens a minute after the last (tracking reports never predate a
        shipment, and placements are ordered)."""
        self.steps += 1
        self.clock.advance(MINUTE)

    def _on_hand(self, key: tuple[str, str]) -> int:
        return self.received[key] + self.adjusted[key] - self.shipped_from[key]

    def _free(self) -> dict[str, int]:
        """Units of each SKU that new allocations may take."""
        free = dict.fromkeys(SKUS, 0)
        for key in self.received:
            free[key[0]] += self._on_hand(key)
        for order in self.orders.values():
            for line in order.lines:
                free[line.sku] -= line.held
        return free

    def _plan(self, lines: Sequence[ModelLine], all_or_nothing: bool) -> dict[str, int] | None:
        """Units each line is allocated when the order is confirmed, in line order from what is
        free; ``None`` when an all-or-nothing order is short."""
        free = self._free()
        plan: dict[str, int] = {}
        for line in lines:
            plan[line.line_id] = taken = min(line.to_fulfil, free[line.sku])
            free[line.sku] -= taken
        if all_or_nothing and any(plan[line.line_id] < line.to_fulfil for line in lines):
            return None
        return plan

    def _confirmed(self, order: ModelOrder, plan: dict[str, int]) -> None:
        for line in order.lines:
            line.allocated = plan[line.line_id]
            line.backordered = line.to_fulfil - line.allocated
        order.state = "confirmed"

    def _serve(self, sku: str | None, limit: int) -> list[str]:
        """Serve waiting lines (of ``sku``, or all) from what is free, oldest placement first,
        among the ``limit`` oldest waiting orders; the ids of the orders served."""
        waiting = [o for o in self.orders.values() if o.waiting]
        waiting.sort(key=lambda o: o.placed)
        free = self._free()
        served = []
        for order in waiting[:limit]:
            got = False
            for line in order.lines:
                if line.backordered <= 0 or (sku is not None and line.sku != sku):
                    continue
                taken = min(line.backordered, free[line.sku])
                if taken:
                    line.allocated += taken
                    line.backordered -= taken
                    free[line.sku] -= taken
                    got = True
            if got:
                served.append(order.id)
        return served

    # Cancelling what is left to ship: ``cancel`` (below) cancels every line of an unshipped
    # order through ``_cancel_rest``; ``cancel_lines`` cancels chosen quantities (a short ship)
    # through ``_cancel_some``. The invariants count ``ModelLine.cancelled`` as no longer to fulfil.

    def _cancel_some(self, order: ModelOrder, wanted: dict[str, int]) -> None:
        """Each line gives up ``wanted`` units not shipped: backordered ones first, then
        reserved ones (released)."""
        for line_id, quantity in wanted.items():
            line = order.line(line_id)
            from_backorder = min(quantity, line.backordered)
            line.backordered -= from_backorder
            line.allocated -= min(quantity - from_backorder, line.allocated)
            line.cancelled += quantity
        if any(line.shipped for line in order.lines) and all(
            line.to_ship == 0 for line in order.lines
        ):
            order.state = "shipped"

    def _cancel_rest(self, order: ModelOrder, line_ids: Sequence[str]) -> None:
        """Lines ``line_ids`` stop wanting what they have not shipped: their reservations are
        released and nothing of them waits any more."""
        for line_id in line_ids:
            line = order.line(line_id)
            line.cancelled = line.quantity - line.shipped
            line.allocated = line.shipped
            line.backordered = 0

    # ------------------------------------------------------------------ service helpers

    def _fingerprint(self) -> object:
        """Everything a command may change."""
        with self.store.unit_of_work() as uow:
            return (
                uow.orders.list(OrderQuery(limit=1000)).orders,
                sorted(
                    (i.sku, i.warehouse_id, i.on_hand, i.reserved, i.low_stock)
                    for i in uow.stock.items()
                ),
                sorted(uow.stock.reservations(), key=lambda r: r.id),
                uow.stock.ledger(),
                [(m.event_id, m.event_type, m.payload, m.status) for m in uow.outbox.messages()],
            )

    def _refused(self, command: object, error: type[SalesOrdersError]) -> SalesOrdersError:
        """``command`` raises ``error`` and changes nothing; returns the error."""
        before = self._fingerprint()
        with pytest.raises(error) as caught:
            self.service.handle(command)
        assert self._fingerprint() == before, f"{type(command).__name__} refused but changed state"
        return caught.value

    def _pick(self, data: st.DataObject, states: Sequence[str]) -> str:
        """An order id: mostly one in ``states`` (when there is one), else any order, now and
        then one that does not exist."""
        ids = sorted(self.orders, key=lambda i: int(i[2:]))
        fitting = [i for i in ids if self.orders[i].state in states]
        if fitting and data.draw(st.integers(0, 3), label="fitting") > 0:
            return data.draw(st.sampled_from(fitting), label="order")
        return data.draw(st.sampled_from([*ids, MISSING]), label="order")

    def _check_result(self, result: OrderResult, order_id: str) -> None:
        order = self.orders[order_id]
        assert result.order_id == order_id
        assert result.state == order.state, order_id
        assert result.allocation_status == order.allocation_status, order_id
        assert result.fulfilment_status == order.fulfilment_status, order_id
        assert result.shipment_ids == tuple(order.shipments), order_id

    # ------------------------------------------------------------------ rules: orders

    @rule(lines=LINES, confirm=st.booleans(), all_or_nothing=st.booleans())
    def place(self, lines: list[tuple[str, int]], confirm: bool, all_or_nothing: bool) -> None:
        self._tick()
        self.counter += 1
        order_id = f"O-{self.counter}"
        order = ModelOrder(
            order_id,
            "placed",
            self.steps,
            [ModelLine(f"L{n}", sku, quantity) for n, (sku, quantity) in enumerate(lines, 1)],
        )
        command = PlaceOrder(
            order_id=order_id,
            customer_id="C-1",
            currency="USD",
            lines=tuple(LineSpec(sku, quantity, PRICE) for sku, quantity in lines),
            confirm=confirm,
            all_or_nothing=all_or_nothing,
        )
        plan = self._plan(order.lines, all_or_nothing) if confirm else {}
        if plan is None:
            self._refused(command, InsufficientStockError)
            return
        result = self.service.handle(command)
        if confirm:
            self._confirmed(order, plan)
        self.orders[order_id] = order
        self._check_result(result, order_id)

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data(), all_or_nothing=st.booleans())
    def confirm(self, data: st.DataObject, all_or_nothing: bool) -> None:
        self._tick()
        order_id = self._pick(data, ("placed",))
        command = ConfirmOrder(order_id=order_id, all_or_nothing=all_or_nothing)
        order = self.orders.get(order_id)
        if order is None:
            self._refused(command, NotFoundError)
            return
        if order.state != "placed":
            self._refused(command, InvalidTransitionError)
            return
        plan = self._plan(order.lines, all_or_nothing)
        if plan is None:
            self._refused(command, InsufficientStockError)
            return
        result = self.service.handle(command)
        self._confirmed(order, plan)
        self._check_result(result, order_id)

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        self._tick()
        order_id = self._pick(data, ("placed", "confirmed"))
        command = CancelOrder(order_id=order_id, reason="changed mind")
        order = self.orders.get(order_id)
        if order is None:
            self._refused(command, NotFoundError)
            return
        if order.state not in ("placed", "confirmed"):
            self._refused(command, InvalidTransitionError)
            return
        if order.shipments:
            error = self._refused(command, OrderError)
            assert not isinstance(error, InvalidTransitionError)  # refused for what shipped
            return
        result = self.service.handle(command)
        self._cancel_rest(order, [line.line_id for line in order.lines])
        order.state = "cancelled"
        self._check_result(result, order_id)

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data())
    def cancel_lines(self, data: st.DataObject) -> None:
        """Cancel chosen quantities of chosen lines: mostly some of what a line has left, now and
        then nothing left, too much, a bad quantity or a line that does not exist."""
        self._tick()
        order_id = self._pick(data, ("placed", "confirmed"))
        order = self.orders.get(order_id)
        line_ids = [line.line_id for line in order.lines] if order else ["L1"]
        chosen = data.draw(
            st.lists(st.sampled_from([*line_ids * 4, "L9"]), min_size=1, max_size=2, unique=True),
            label="lines",
        )
        parts = tuple(
            CancelLine(line_id, data.draw(st.none() | st.integers(-1, 5), label="quantity"))
            for line_id in chosen
        )
        command = CancelLines(order_id=order_id, lines=parts, reason="short ship")
        expected = self._cancel_plan(order, parts)
        if not isinstance(expected, dict):
            self._refused(command, expected)
            return
        assert order is not None
        result = self.service.handle(command)
        self._cancel_some(order, expected)
        self._check_result(result, order_id)

    def _cancel_plan(
        self, order: ModelOrder | None, parts: Sequence[CancelLine]
    ) -> dict[str, int] | type[SalesOrdersError]:
        """Units each line cancels, or the error that refuses the command."""
        if order is None:
            return NotFoundError
        if any(part.quantity is not None and int(part.quantity) <= 0 for part in parts):
            return ValidationError  # a quantity that is not positive
        if order.state == "cancelled":
            return OrderError
        lines = {line.line_id: line for line in order.lines}
        wanted: dict[str, int] = {}
        for part in parts:
            line = lines.get(part.line_id)
            if line is None:
                return ValidationError
            left = line.to_ship
            quantity = left if part.quantity is None else int(part.quantity)
            if quantity == 0 or quantity > left:
                return ValidationError  # nothing left, or more than is left
            wanted[part.line_id] = quantity
        if not any(line.shipped for line in order.lines) and all(
            wanted.get(line.line_id, 0) >= line.to_fulfil for line in order.lines
        ):
            return ValidationError  # everything, and nothing shipped: cancel the order instead
        return wanted

    # ------------------------------------------------------------------ rules: stock

    @rule(key=st.sampled_from(ITEM_KEYS), quantity=st.integers(1, 4), then_serve=st.booleans())
    def receive(self, key: tuple[str, str], quantity: int, then_serve: bool) -> None:
        """Stock arrives (served to waiting lines at once when the service is set up to); with
        ``then_serve`` the warehouse allocates that SKU's backorders right after."""
        self._tick()
        sku, warehouse_id = key
        entry = self.service.handle(
            ReceiveStock(sku=sku, warehouse_id=warehouse_id, quantity=quantity)
        )
        assert (entry.sku, entry.warehouse_id, entry.on_hand_delta) == (sku, warehouse_id, quantity)
        for known in (self.received, self.adjusted, self.shipped_from):
            known.setdefault(key, 0)
        self.received[key] += quantity
        if self.serve_on_receipt:
            self._serve(sku, ALL_WAITING)
        if then_serve:
            self._allocate_backorders(sku, 1000)

    @rule(key=st.sampled_from([*OPENING, *OPENING, ("B", "W2")]), counted=st.integers(0, 6))
    def count(self, key: tuple[str, str], counted: int) -> None:
        """A stock count: refused below what the item has reserved."""
        self._tick()
        sku, warehouse_id = key
        command = AdjustStock(sku=sku, warehouse_id=warehouse_id, counted=counted, reason="count")
        if key not in self.received:
            self._refused(command, UnknownStockItemError)
            return
        reserved = next(i.reserved for i in self.service.stock_items() if i.key == key)
        if counted < reserved:
            error = self._refused(command, ValidationError)
            assert error.field == "counted"
            return
        entry = self.service.handle(command)
        assert entry.on_hand_delta == counted - self._on_hand(key)
        self.adjusted[key] += counted - self._on_hand(key)

    @precondition(lambda self: any(o.waiting for o in self.orders.values()))
    @rule(sku=st.none() | st.sampled_from(SKUS), limit=st.sampled_from([1, 2, 1000]))
    def allocate_backorders(self, sku: str | None, limit: int) -> None:
        self._tick()
        self._allocate_backorders(sku, limit)

    def _allocate_backorders(self, sku: str | None, limit: int) -> None:
        expected = self._serve(sku, limit)
        served = self.service.handle(AllocateBackorders(sku=sku, limit=limit))
        assert [r.order_id for r in served] == expected
        for result in served:
            self._check_result(result, result.order_id)

    # ------------------------------------------------------------------ rules: fulfilment

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data())
    def ship_everything(self, data: st.DataObject) -> None:
        self._tick()
        self._ship(self._pick(data, ("confirmed",)), ())

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data())
    def ship_some(self, data: st.DataObject) -> None:
        """Chosen lines and quantities: mostly what a warehouse would ask (some of what a line
        holds, or all it has left), now and then anything at all."""
        self._tick()
        order_id = self._pick(data, ("confirmed",))
        order = self.orders.get(order_id)
        if order is not None and data.draw(st.integers(0, 3), label="plausible") > 0:
            holding = [line for line in order.lines if line.held > 0] or order.lines
            chosen = data.draw(
                st.lists(
                    st.sampled_from(holding), min_size=1, max_size=2, unique_by=lambda x: x.line_id
                ),
                label="chosen",
            )
            parts = [
                ShipLine(
                    line.line_id,
                    data.draw(st.none() | st.integers(1, max(1, line.held)), label="quantity"),
                )
                for line in chosen
            ]
        else:
            line_ids = [line.line_id for line in order.lines] if order else ["L1"]
            parts = data.draw(
                st.lists(
                    st.builds(ShipLine, st.sampled_from([*line_ids * 4, "L9"]), SHIP_QUANTITIES),
                    min_size=1,
                    max_size=3,
                ),
                label="lines",
            )
        self._ship(order_id, tuple(parts))

    def _ship_plan(
        self, order: ModelOrder | None, parts: Sequence[ShipLine]
    ) -> dict[str, int] | type[SalesOrdersError]:
        """Units each line ships, or the error that refuses the command."""
        if order is None:
            return NotFoundError
        if order.state != "confirmed":
            return InvalidTransitionError
        lines = {line.line_id: line for line in order.lines}
        wanted: dict[str, int] = {}
        if not parts:
            wanted = {line.line_id: line.to_ship for line in order.lines if line.to_ship > 0}
        for part in parts:
            line = lines.get(part.line_id)
            if line is None:
                return ValidationError
            rest = line.to_ship - wanted.get(line.line_id, 0)
            quantity = rest if part.quantity is None else int(part.quantity)
            if part.quantity is not None and not 0 < quantity <= rest:
                return ValidationError
            if quantity > 0:
                wanted[line.line_id] = wanted.get(line.line_id, 0) + quantity
        if not wanted or any(lines[i].held < quantity for i, quantity in wanted.items()):
            return ValidationError  # nothing to ship, or more than is reserved
        return wanted

    def _ship(self, order_id: str, parts: tuple[ShipLine, ...]) -> None:
        command = ShipOrder(order_id=order_id, lines=parts)
        order = self.orders.get(order_id)
        plan = self._ship_plan(order, parts)
        if not isinstance(plan, dict):
            self._refused(command, plan)
            return
        assert order is not None
        result = self.service.handle(command)
        stored = self.service.get_order(order_id).shipments
        new = stored[len(order.shipments) :]
        assert tuple(s.id for s in new) == result.shipment_ids[len(order.shipments) :]
        assert len({s.warehouse_id for s in new}) == len(new)  # one shipment per warehouse
        shipped: dict[str, int] = {}
        for shipment in new:
            lines = {}
            for item in shipment.lines:
                lines[item.line_id] = int(item.quantity)
                shipped[item.line_id] = shipped.get(item.line_id, 0) + int(item.quantity)
                assert item.sku == order.line(item.line_id).sku
                self.shipped_from[(item.sku, shipment.warehouse_id)] += int(item.quantity)
            order.shipments[shipment.id] = ModelShipment(shipment.warehouse_id, lines)
        assert shipped == plan
        for line_id, quantity in plan.items():
            order.line(line_id).shipped += quantity
        if all(line.to_ship == 0 for line in order.lines):
            order.state = "shipped"
        self._check_result(result, order_id)

    @precondition(lambda self: any(o.shipments for o in self.orders.values()))
    @rule(data=st.data(), status=st.sampled_from(["delivered", "delivered", "in_transit"]))
    def track(self, data: st.DataObject, status: str) -> None:
        """A carrier's report on a shipment: delivered (or in transit)."""
        self._tick()
        shipments = [
            (order_id, shipment_id, shipment)
            for order_id, order in self.orders.items()
            for shipment_id, shipment in order.shipments.items()
        ]
        underway = [s for s in shipments if not s[2].delivered]
        if underway and data.draw(st.booleans(), label="underway"):
            order_id, shipment_id, _ = data.draw(st.sampled_from(underway), label="shipment")
        else:
            order_id, shipment_id, _ = data.draw(st.sampled_from(shipments), label="shipment")
            shipment_id = data.draw(st.sampled_from([shipment_id] * 4 + ["nope"]), label="id")
        command = RecordShipmentEvent(order_id=order_id, shipment_id=shipment_id, status=status)
        order = self.orders[order_id]
        shipment = order.shipments.get(shipment_id)
        if shipment is None:
            self._refused(command, NotFoundError)
            return
        if shipment.delivered:
            error = self._refused(command, ValidationError)
            assert error.field == "status"  # nothing but a return follows a delivery
            return
        result = self.service.handle(command)
        if status == "delivered":
            shipment.delivered = True
            if order.fulfilment_status == "delivered" and order.state == "shipped":
                order.state = "delivered"
        self._check_result(result, order_id)

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        self._tick()
        order_id = self._pick(data, ("shipped",))
        command = DeliverOrder(order_id=order_id)
        order = self.orders.get(order_id)
        if order is None:
            self._refused(command, NotFoundError)
            return
        if order.state != "shipped":
            self._refused(command, InvalidTransitionError)
            return
        result = self.service.handle(command)
        for shipment in order.shipments.values():
            shipment.delivered = True
        order.state = "delivered"
        self._check_result(result, order_id)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def everything_agrees(self) -> None:
        with self.store.unit_of_work() as uow:
            items = uow.stock.items()
            reservations = uow.stock.reservations()
            ledger = uow.stock.ledger()
            stored = uow.orders.list(OrderQuery(limit=1000)).orders
        self._check_stock(items, ledger)
        self._check_reservations(items, reservations)
        self._check_orders(stored, reservations)
        assert self.service.reconcile_stock() == ()

    def _check_stock(self, items: Sequence[Any], ledger: Sequence[Any]) -> None:
        """Nothing oversold, and every unit accounted for: per (SKU, warehouse) and per SKU,
        on hand + shipped - received - adjustments == 0, in the model and in the ledger."""
        assert {i.key for i in items} == set(self.received)
        for item in items:
            key = item.key
            # nothing oversold: available (on hand - reserved) never negative
            assert 0 <= item.reserved <= item.on_hand, f"oversold {key}: {item}"
            balance = item.on_hand + self.shipped_from[key] - self.received[key]
            assert balance - self.adjusted[key] == 0, (
                f"{key}: on hand {item.on_hand} + shipped {self.shipped_from[key]} - received "
                f"{self.received[key]} - counted {self.adjusted[key]} is not 0"
            )
        for sku in SKUS:
            on_hand = sum(int(i.on_hand) for i in items if i.sku == sku)
            shipped = sum(
                line.shipped
                for order in self.orders.values()
                for line in order.lines
                if line.sku == sku
            )
            received = sum(q for key, q in self.received.items() if key[0] == sku)
            adjusted = sum(q for key, q in self.adjusted.items() if key[0] == sku)
            assert on_hand + shipped - received - adjusted == 0, (
                f"{sku}: on hand {on_hand} + shipped {shipped} - received {received} - counted "
                f"{adjusted} is not 0"
            )
            moved: dict[Movement, Decimal] = {}
            for entry in ledger:
                if entry.sku == sku:
                    moved[entry.movement] = moved.get(entry.movement, Decimal(0)) + (
                        entry.on_hand_delta
                    )
            in_ledger = [moved.get(m, 0) for m in (Movement.RECEIPT, Movement.ADJUSTMENT)]
            assert in_ledger == [received, adjusted], f"{sku}: ledger {moved}"
            assert moved.get(Movement.SHIPMENT, 0) == -shipped, f"{sku}: ledger {moved}"

    def _check_reservations(self, items: Sequence[Any], reservations: Sequence[Any]) -> None:
        held: dict[tuple[str, str], Decimal] = {}
        for reservation in reservations:
            assert reservation.open >= 0, reservation.id
            held[reservation.item_key] = held.get(reservation.item_key, Decimal(0)) + (
                reservation.open
            )
        for item in items:
            assert item.reserved == held.get(item.key, 0), (
                f"{item.key}: reserved {item.reserved}, open reservations {held.get(item.key, 0)}"
            )
        assert set(held) <= {i.key for i in items}

    def _check_orders(self, stored: Sequence[Any], reservations: Sequence[Any]) -> None:
        holding: dict[tuple[str, str], Decimal] = {}
        for reservation in reservations:
            key = (reservation.order_id, reservation.line_id)
            holding[key] = holding.get(key, Decimal(0)) + reservation.open
        assert {o.id for o in stored} == set(self.orders)
        shipped_from: dict[tuple[str, str], int] = {}
        for order in stored:
            expected = self.orders[order.id]
            assert order.state == expected.state, order.id
            assert order.fulfilment_status.value == expected.fulfilment_status, order.id
            assert order.allocation_status == expected.allocation_status, order.id
            assert [s.id for s in order.shipments] == list(expected.shipments), order.id
            in_shipments: dict[str, int] = {}
            for shipment in order.shipments:
                model = expected.shipments[shipment.id]
                assert (shipment.delivered_at is not None) == model.delivered, shipment.id
                assert {i.line_id: int(i.quantity) for i in shipment.lines} == model.lines
                for item in shipment.lines:
                    in_shipments[item.line_id] = in_shipments.get(item.line_id, 0) + int(
                        item.quantity
                    )
                    key = (item.sku, shipment.warehouse_id)
                    shipped_from[key] = shipped_from.get(key, 0) + int(item.quantity)
            assert order.shipped_quantities() == {
                line_id: Decimal(q) for line_id, q in in_shipments.items()
            }
            assert [line.line_id for line in order.lines] == [
                line.line_id for line in expected.lines
            ]
            for line, model_line in zip(order.lines, expected.lines, strict=True):
                where = f"{order.id} {line.line_id}"
                assert (line.sku, line.quantity) == (model_line.sku, model_line.quantity), where
                assert line.allocated == model_line.allocated, where
                assert line.backordered == model_line.backordered, where
                shipped = in_shipments.get(line.line_id, 0)
                assert shipped == model_line.shipped <= line.quantity, where
                holds = holding.get((order.id, line.line_id), 0)
                assert holds == model_line.held, f"{where} holds {holds}, not {model_line.held}"
                if expected.state == "placed":
                    assert line.allocated == line.backordered == 0, where
                else:
                    total = line.allocated + line.backordered + model_line.cancelled
                    assert total == line.quantity, where
        assert {k: q for k, q in self.shipped_from.items() if q} == shipped_from


class MemoryMachine(FulfilmentMachine):
    pass


class SQLiteMachine(FulfilmentMachine):
    directory: ClassVar[str] = ""

    def open_fresh(self) -> Any:
        type(self).where = f"{self.directory}/{uuid.uuid4().hex}.db"
        return open_store("sqlite", self.where)


class PostgresMachine(FulfilmentMachine):
    def open_fresh(self) -> Any:
        empty_schema(self.where, self.schema)
        return open_store("postgres", self.where, self.schema, pool=2)


def _examples(share: float) -> int:
    """A share of the loaded hypothesis profile's examples (100 by default, fewer in CI)."""
    return max(5, round(settings.default.max_examples * share))


def _run(machine: type[FulfilmentMachine], examples: int, steps: int, **options: Any) -> None:
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            **options,
        ),
    )


def test_fulfilment_on_the_memory_store_agrees_with_the_model() -> None:
    _run(MemoryMachine, examples=_examples(0.5), steps=40)


@pytest.mark.slow
def test_fulfilment_on_sqlite_agrees_with_the_model() -> None:
    with tempfile.TemporaryDirectory() as directory:
        machine = type("SQLiteRun", (SQLiteMachine,), {"directory": directory})
        _run(machine, examples=_examples(0.25), steps=40)


@pytest.mark.slow
@pytest.mark.postgres
def test_fulfilment_on_postgres_agrees_with_the_model(postgres_dsn: str) -> None:
    schema = new_schema()
    close_store(open_store("postgres", postgres_dsn, schema, pool=1))  # create the schema
    machine = type("PostgresRun", (PostgresMachine,), {"where": postgres_dsn, "schema": schema})
    try:
        _run(machine, examples=_examples(0.08), steps=30)
    finally:
        drop_schema(postgres_dsn, schema)


# --------------------------------------------------------------------------- the machine bites


class ShipsWithoutConsuming(MemoryStockRepository):
    """A broken stock port: a shipment leaves its reservations open and the shelf as it was."""

    __slots__ = ()

    def apply(self, change: StockChange, *, numbered: bool = False) -> Any:
        if change.ledger and all(e.movement is Movement.SHIPMENT for e in change.ledger):
            return ()  # the consumption is dropped
        return super().apply(change, numbered=numbered)


class ShipsWithoutConsumingMachine(MemoryMachine):
    def open_fresh(self) -> Any:
        store = MemoryStore()
        store._stock_repository = ShipsWithoutConsuming(store.stock_tables, store._journal)
        return store


def test_the_machine_catches_a_store_that_ships_without_consuming_stock() -> None:
    with pytest.raises(AssertionError, match=r"on hand .* is not 0|oversold|holds"):
        _run(
            ShipsWithoutConsumingMachine,
            examples=300,
            steps=40,
            phases=[Phase.generate],
            database=None,
        )
