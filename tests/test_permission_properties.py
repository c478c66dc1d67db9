"""A command is never executed by an actor the policy denies: random actors × random commands
against a service whose handlers are watched. The same checker flags a service whose gate lets
every command through."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moneyed import Money

from salesorders.adapters.memory import MemoryStore
from salesorders.domain.tickets import DEPARTMENTS
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import PermissionDeniedError, SalesOrdersError
from salesorders.permissions import ROLES, Actor, CommandFacts, RolePolicy
from salesorders.service import (
    AddOrderNote,
    AdjustStock,
    ApprovePayment,
    AuthorizePayment,
    CancelOrder,
    CapturePayment,
    HoldOrder,
    LineSpec,
    ManualClock,
    OpenTicket,
    PlaceOrder,
    ReceiveStock,
    RecordPayment,
    RefundPayment,
    RegisterWarehouse,
    SalesService,
    bootstrap,
)
from salesorders.service.access import Access
from salesorders.testing.fakes import FakePaymentGateway

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ROOT = Actor("root", {"admin"})
POLICY = RolePolicy.standard()


class _OpenGate(Access):
    """A broken gate: asks nobody."""

    def check(self, uow: Any, command: Any, actor: Actor) -> None:
        return None


def _world(gate: Access | None = None) -> tuple[SalesService, list[str], list[Any]]:
    """A service with two customers' orders (one paid by card, one with a manual payment
    awaiting review), whose handlers note each command they run."""
    service = bootstrap(
        store=MemoryStore(),
        clock=ManualClock(T0),
        payment_gateway=FakePaymentGateway(),
        permissions=POLICY,
    )
    if gate is not None:
        service.access = gate
    service.handle(RegisterWarehouse(warehouse=Warehouse("W1")), actor=ROOT)
    service.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=10**6), actor=ROOT)
    orders = []
    for customer in ("C-1", "C-2"):
        line = LineSpec("SKU-A", 2, Money("700.00", "USD"))
        placed = service.handle(
            PlaceOrder(customer_id=customer, currency="USD", lines=(line,), confirm=True),
            actor=ROOT,
        )
        orders.append(placed.order_id)
    service.handle(
        AuthorizePayment(order_id=orders[0], amount="1400.00", payment_id="P1"), actor=ROOT
    )
    service.handle(CapturePayment(order_id=orders[0], payment_id="P1"), actor=ROOT)
    service.handle(
        RecordPayment(
            order_id=orders[1], method="cash", amount="1400.00", reference="R-1", payment_id="P1"
        ),
        actor=Actor("fiona", {"finance"}),
    )
    ran: list[Any] = []
    routes = service._routes

    def watched(handler: Callable[..., Any]) -> Callable[..., Any]:
        def run(uow: Any, command: Any, now: dt.datetime) -> Any:
            ran.append(command)
            return handler(uow, command, now)

        return run

    service._routes = {kind: (watched(h), result) for kind, (h, result) in routes.items()}
    return service, orders, ran


def _commands(orders: list[str]) -> list[Any]:
    line = (LineSpec("SKU-A", 1, Money("5.00", "USD")),)
    made: list[Any] = [
        ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=1),
        AdjustStock(sku="SKU-A", warehouse_id="W1", counted=10**6, reason="count"),
    ]
    for customer in ("C-1", "C-2"):
        made.append(PlaceOrder(customer_id=customer, currency="USD", lines=line))
    for order_id in orders:
        made += [
            CancelOrder(order_id=order_id, reason="asked"),
            HoldOrder(order_id=order_id, reason="check"),
            AddOrderNote(order_id=order_id, text="see @finance"),
            OpenTicket(order_id=order_id, category="damaged", description="dented"),
            RefundPayment(order_id=order_id, payment_id="P1", amount="10.00"),
            RefundPayment(order_id=order_id, payment_id="P1", amount="1200.00"),
            ApprovePayment(order_id=order_id, payment_id="P1"),
        ]
    return made


actors = st.builds(
    Actor,
    id=st.sampled_from(["ann", "fiona", "root", "customer:C-1"]),
    roles=st.frozensets(st.sampled_from(ROLES), max_size=3),
    department=st.none() | st.sampled_from(DEPARTMENTS),
    customer_id=st.none() | st.sampled_from(["C-1", "C-2"]),
)


def violation(service: SalesService, ran: list[Any], actor: Actor, command: Any) -> str | None:
    """Run ``command`` as ``actor``; what went wrong, if the policy's decision (taken on the
    state before) and what ran disagree."""
    with service.uow_factory() as uow:
        named = attrs.evolve(command, actor=actor.id)
        decision = POLICY.decide(actor, named, CommandFacts(uow.orders.get))
    ran.clear()
    denied = False
    try:
        service.handle(command, actor=actor)
    except PermissionDeniedError:
        denied = True
    except SalesOrdersError:
        pass  # refused by the domain after the policy allowed it
    if ran and not decision.allowed:
        return f"{type(command).__name__} ran for {actor} though the policy denied it"
    if denied and decision.allowed:
        return f"{type(command).__name__} was denied to {actor} though the policy allowed it"
    if denied and ran:
        return "a denied command reached its handler"
    return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_command_never_runs_for_an_actor_the_policy_denies(data: st.DataObject) -> None:
    service, orders, ran = _world()
    commands = _commands(orders)
    for _ in range(data.draw(st.integers(1, 6))):
        actor = data.draw(actors)
        command = data.draw(st.sampled_from(commands))
        assert violation(service, ran, actor, command) is None


def test_the_checker_flags_a_gate_that_lets_everything_through() -> None:
    service, orders, ran = _world(_OpenGate(POLICY))
    wanda = Actor("wanda", {"warehouse"})
    found = [violation(service, ran, wanda, c) for c in _commands(orders)]
    assert any(f and "though the policy denied it" in f for f in found)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_allowed_something_and_denied_something(role: str) -> None:
    service, orders, _ran = _world()
    actor = Actor("someone", {role}, customer_id="C-1" if role == "customer" else None)
    with service.uow_factory() as uow:
        facts = CommandFacts(uow.orders.get)
        allowed = {POLICY.decide(actor, c, facts).allowed for c in _commands(orders)}
    assert allowed == ({True} if role == "admin" else {True, False})
