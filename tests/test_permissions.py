"""Roles and permissions: the Actor, the role policy and its conditions, the service's one
check before any handler (a denial changes nothing, is recorded, and never shows a stored
result), every command declaring a permission, on every store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest
from moneyed import Money

import salesorders
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import NotFoundError, PermissionDeniedError, ValidationError
from salesorders.permissions import (
    DENIAL_EVENT,
    Actor,
    CommandFacts,
    Decision,
    Grant,
    RolePolicy,
    denial_stream,
    permission_of,
)
from salesorders.ports import OrderPage, OrderQuery
from salesorders.service import (
    AddOrderNote,
    ApprovePayment,
    AssignTicket,
    AuthorizePayment,
    CancelOrder,
    CapturePayment,
    LineSpec,
    ManualClock,
    OpenTicket,
    PlaceOrder,
    ReceiveStock,
    RecordPayment,
    RefundPayment,
    RegisterWarehouse,
    ResolveTicket,
    SalesService,
    bootstrap,
)
from salesorders.testing.fakes import FakePaymentGateway
from support.stores import STORE_KINDS, fresh_store

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ADMIN = Actor("root", {"admin"}, channel="job")
ANN = Actor("ann", {"sales"}, department="sales")
CARL = Actor("carl", {"customer_service"}, department="customer_service")
FIONA = Actor("fiona", {"finance"}, department="finance")
FRED = Actor("fred", {"finance"}, department="finance")
WANDA = Actor("wanda", {"warehouse"}, department="warehouse")
ALICE = Actor.customer("C-1")
BOB = Actor.customer("C-2")


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


def _service(store: Any, **options: Any) -> SalesService:
    service = bootstrap(
        store=store,
        clock=ManualClock(T0),
        sleep=lambda _s: None,
        payment_gateway=FakePaymentGateway(),
        permissions=RolePolicy.standard(),
        **options,
    )
    service.handle(RegisterWarehouse(warehouse=Warehouse("W1")), actor=ADMIN)
    service.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=100), actor=ADMIN)
    return service


@pytest.fixture
def service(store: Any) -> SalesService:
    return _service(store)


def _place(service: SalesService, actor: Actor, customer_id: str = "C-1", **kw: Any) -> str:
    line = LineSpec("SKU-A", kw.pop("quantity", 1), Money(kw.pop("price", "20.00"), "USD"))
    command = PlaceOrder(customer_id=customer_id, currency="USD", lines=(line,), confirm=True, **kw)
    return service.handle(command, actor=actor).order_id


def _state(store: Any) -> tuple[object, ...]:
    """Everything a command may change, but the denial records."""
    with store.unit_of_work() as uow:
        return (
            [(o.id, o.version) for o in uow.orders.list(OrderQuery()).orders],
            {(i.sku, i.warehouse_id): (i.on_hand, i.reserved) for i in uow.stock.items()},
            len(uow.stock.ledger()),
            [
                (m.event_id, m.event_type)
                for m in uow.outbox.messages()
                if m.event_type != DENIAL_EVENT
            ],
        )


def _denials(store: Any, actor_id: str) -> list[dict[str, Any]]:
    with store.unit_of_work() as uow:
        return [m.payload for m in uow.outbox.messages(denial_stream(actor_id))]


def _refused(service: SalesService, store: Any, command: Any, actor: Actor | None) -> Any:
    before = _state(store)
    with pytest.raises(PermissionDeniedError) as caught:
        service.handle(command, actor=actor)
    assert _state(store) == before
    return caught.value


# --------------------------------------------------------------------------- the actor


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"id": ""}, "id"),
        ({"id": "a", "roles": "sales"}, "roles"),
        ({"id": "a", "roles": {""}}, "roles"),
        ({"id": "a", "channel": "fax"}, "channel"),
        ({"id": "a", "department": " "}, "department"),
        ({"id": "a", "customer_id": 7}, "customer_id"),
    ],
)
def test_an_actor_with_bad_fields_is_refused_naming_the_field(
    fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Actor(**fields)
    assert caught.value.field == field


def test_a_customer_actor_serves_only_themselves() -> None:
    assert ALICE.id == "customer:C-1"
    assert ALICE.roles == frozenset({"customer"})
    assert ALICE.customer_id == "C-1"
    assert ALICE.has("customer") and not ALICE.has("admin")


# --------------------------------------------------------------------------- declarations


def _public_commands() -> list[type]:
    import salesorders.audit
    import salesorders.customers
    import salesorders.privacy
    import salesorders.service

    return [
        value
        for module in (
            salesorders.service,
            salesorders.audit,
            salesorders.privacy,
            salesorders.customers,
        )
        for name in module.__all__
        if isinstance(value := getattr(module, name), type)
        and attrs.has(value)
        and "actor" in attrs.fields_dict(value)
        and (
            "idempotency_key" in attrs.fields_dict(value)
            or isinstance(getattr(value, "permission", None), str)
        )
    ]


#: Permissions only an administrator holds, on purpose.
ADMIN_ONLY = frozenset({"audit.purge", "customers.anonymize"})


def undeclared(commands: list[type], policy: RolePolicy) -> list[str]:
    """Commands that declare no permission, or one no role but admin is granted (unless it is
    meant to be an administrator's alone)."""
    found = []
    for command in commands:
        permission = permission_of(command)
        if permission is None:
            found.append(f"{command.__name__}: declares no permission")
        elif permission in ADMIN_ONLY:
            continue
        elif not [r for r in policy.roles_granting(permission) if r != "admin"]:
            found.append(f"{command.__name__}: {permission} is granted to no role but admin")
    return found


def test_every_public_command_declares_a_permission_the_standard_roles_grant() -> None:
    commands = _public_commands()
    assert len(commands) >= 50
    routed = set(bootstrap(store=salesorders.adapters.memory.MemoryStore())._routes)
    assert routed <= set(commands)
    assert undeclared(commands, RolePolicy.standard()) == []


def test_the_declaration_check_flags_a_command_without_a_permission() -> None:
    @attrs.frozen
    class Undeclared:
        idempotency_key: str | None = None
        actor: str = ""

    @attrs.frozen
    class Unassigned:
        permission: ClassVar[str] = "secrets.read"
        idempotency_key: str | None = None
        actor: str = ""

    assert undeclared([Undeclared, Unassigned], RolePolicy.standard()) == [
        "Undeclared: declares no permission",
        "Unassigned: secrets.read is granted to no role but admin",
    ]
    decision = RolePolicy.standard().decide(ADMIN, Undeclared(), CommandFacts(lambda _i: None))  # type: ignore[arg-type,return-value]
    assert decision == Decision(False, "", "the command declares no permission")


def test_the_declared_permission_is_not_part_of_the_command_data() -> None:
    assert PlaceOrder.permission == "orders.place"
    assert "permission" not in attrs.fields_dict(PlaceOrder)


# --------------------------------------------------------------------------- the policy


def test_grants_cover_a_permission_an_area_or_everything() -> None:
    assert Grant("orders.place").covers("orders.place")
    assert not Grant("orders.place").covers("orders.placed")
    assert Grant("orders.*").covers("orders.cancel")
    assert not Grant("orders.*").covers("ordersx.cancel")
    assert Grant("*").covers("stock.adjust")


@pytest.mark.parametrize("name", ["", "orders", "orders.place.now", " orders.place", ".place"])
def test_a_bad_permission_name_is_refused(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Grant(name)
    assert caught.value.field == "permission"


def test_a_condition_must_be_callable_and_the_refund_limit_an_amount() -> None:
    with pytest.raises(ValidationError) as caught:
        Grant("orders.place", ("not callable",))  # type: ignore[arg-type]
    assert caught.value.field == "conditions[0]"
    with pytest.raises(ValidationError) as limit:
        RolePolicy.standard(refund_limit="-5")
    assert limit.value.field == "refund_limit"


def test_bootstrap_refuses_a_policy_without_decide() -> None:
    with pytest.raises(ValidationError) as caught:
        bootstrap(store=salesorders.adapters.memory.MemoryStore(), permissions=object())  # type: ignore[arg-type]
    assert caught.value.field == "permissions"


# --------------------------------------------------------------------------- the service


def test_an_allowed_command_runs_under_the_actors_id(service: SalesService, store: Any) -> None:
    order_id = _place(service, ANN)
    with store.unit_of_work() as uow:
        order = uow.orders.get(order_id)
    assert order.state == "confirmed"
    assert {entry.actor for entry in order.audit} == {"ann"}


def test_a_command_naming_another_actor_is_refused(service: SalesService) -> None:
    command = PlaceOrder(customer_id="C-1", currency="USD", lines=(), actor="mallory")
    with pytest.raises(ValidationError) as caught:
        service.handle(command, actor=ANN)
    assert caught.value.field == "actor"


def test_a_role_without_the_permission_is_denied_and_nothing_changes(
    service: SalesService, store: Any
) -> None:
    order_id = _place(service, ANN)
    error = _refused(service, store, CancelOrder(order_id=order_id, reason="x"), WANDA)
    assert (error.actor, error.command, error.permission) == (
        "wanda",
        "CancelOrder",
        "orders.cancel",
    )
    assert "no role of the actor grants it (roles: warehouse)" in error.reason
    problem = error.to_problem()
    assert problem["status"] == 403 and problem["code"] == "permission_denied"
    [record] = _denials(store, "wanda")
    assert record["command"] == "CancelOrder"
    assert record["permission"] == "orders.cancel"
    assert record["order_id"] == order_id
    assert record["roles"] == ["warehouse"]
    assert record["at"] == T0.isoformat()


def test_a_command_without_an_actor_is_refused_when_a_policy_is_set(
    service: SalesService, store: Any
) -> None:
    error = _refused(service, store, ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=1), None)
    assert error.actor == "anonymous"
    assert _denials(store, "anonymous")[0]["command"] == "ReceiveStock"


def test_without_a_policy_every_command_runs_and_an_actor_only_names_it(store: Any) -> None:
    service = bootstrap(store=store, clock=ManualClock(T0))
    service.handle(RegisterWarehouse(warehouse=Warehouse("W1")))
    entry = service.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=5), actor=WANDA)
    assert entry.actor == "wanda"


def test_a_customer_places_and_cancels_only_their_own_orders(
    service: SalesService, store: Any
) -> None:
    mine = _place(service, ALICE)
    _refused(service, store, PlaceOrder(customer_id="C-2", currency="USD", lines=()), ALICE)
    error = _refused(service, store, CancelOrder(order_id=mine, reason="changed mind"), BOB)
    assert error.reason == f"as customer: order {mine} is not one of the customer's orders"
    _refused(service, store, CancelOrder(order_id="no-such-order", reason="x"), BOB)
    _refused(service, store, ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=1), ALICE)
    assert (
        service.handle(CancelOrder(order_id=mine, reason="changed mind"), actor=ALICE).state
        == "cancelled"
    )


def test_a_refund_over_the_limit_needs_finance(service: SalesService, store: Any) -> None:
    order_id = _place(service, ANN, quantity=3, price="400.00")
    service.handle(
        AuthorizePayment(order_id=order_id, amount="1200.00", payment_id="P1"), actor=FIONA
    )
    service.handle(CapturePayment(order_id=order_id, payment_id="P1"), actor=FIONA)
    error = _refused(service, store, RefundPayment(order_id=order_id, payment_id="P1"), CARL)
    assert "a refund of 1200.00 is over the limit of 1000" in error.reason
    _refused(
        service, store, RefundPayment(order_id=order_id, payment_id="P1", amount="1000.01"), CARL
    )
    _refused(service, store, RefundPayment(order_id=order_id, payment_id="P1", amount="lots"), CARL)
    result = service.handle(
        RefundPayment(order_id=order_id, payment_id="P1", amount=Money("1000.00", "USD")),
        actor=CARL,
    )
    assert result.payment_status == "partially_refunded"
    done = service.handle(RefundPayment(order_id=order_id, payment_id="P1"), actor=FIONA)
    assert done.payment_status == "refunded"


def test_an_approval_needs_a_second_person(service: SalesService, store: Any) -> None:
    order_id = _place(service, ANN)
    service.handle(
        RecordPayment(
            order_id=order_id, method="bank_transfer", amount="20.00", reference="TX-1",
            payment_id="P9",
        ),
        actor=FIONA,
    )  # fmt: skip
    error = _refused(service, store, ApprovePayment(order_id=order_id, payment_id="P9"), FIONA)
    assert error.reason == "fiona asked for it, so a second person must decide it"
    _refused(
        service,
        store,
        ApprovePayment(order_id=order_id, payment_id="P9"),
        ADMIN.__class__("fiona", {"admin"}),
    )
    approved = service.handle(ApprovePayment(order_id=order_id, payment_id="P9"), actor=FRED)
    assert approved.payment_status == "paid"


def test_tickets_are_worked_by_their_own_department(service: SalesService, store: Any) -> None:
    order_id = _place(service, ALICE)
    service.handle(
        OpenTicket(order_id=order_id, category="damaged", description="Box dented", ticket_id="T1"),
        actor=ALICE,
    )
    service.handle(
        AssignTicket(order_id=order_id, ticket_id="T1", department="warehouse"), actor=ADMIN
    )
    resolve = ResolveTicket(order_id=order_id, ticket_id="T1", resolution="Replaced")
    error = _refused(service, store, resolve, CARL)
    assert "ticket T1 belongs to warehouse, not to customer_service" in error.reason
    service.handle(
        AssignTicket(order_id=order_id, ticket_id="T1", department="customer_service"), actor=ADMIN
    )
    assert service.handle(resolve, actor=CARL).order_id == order_id


def test_a_denied_actor_never_sees_a_stored_result(service: SalesService, store: Any) -> None:
    key = "place-once"
    order_id = _place(service, ALICE, idempotency_key=key)
    line = LineSpec("SKU-A", 1, Money("20.00", "USD"))
    replay = PlaceOrder(
        customer_id="C-1", currency="USD", lines=(line,), confirm=True, idempotency_key=key
    )
    assert service.execute(replay, actor=ALICE).replayed
    assert service.handle(replay, actor=ALICE).order_id == order_id
    _refused(service, store, replay, BOB)
    _refused(service, store, replay, WANDA)


def test_notes_need_the_permission_too(service: SalesService, store: Any) -> None:
    order_id = _place(service, ANN)
    _refused(service, store, AddOrderNote(order_id=order_id, text="hi @warehouse"), ALICE)
    assert service.handle(AddOrderNote(order_id=order_id, text="hi @warehouse"), actor=WANDA)


def test_a_policy_of_the_hosts_own_decides(store: Any) -> None:
    def weekdays_only(actor: Actor, command: object, facts: CommandFacts) -> str | None:
        return None if T0.weekday() < 5 else "only on weekdays"

    def no_big_orders(actor: Actor, command: object, facts: CommandFacts) -> str | None:
        lines = getattr(command, "lines", ())
        return "over 5 units" if sum(Decimal(line.quantity) for line in lines) > 5 else None

    policy = RolePolicy(
        {"clerk": [Grant("orders.place", (weekdays_only, no_big_orders))], "admin": ["*"]}
    )
    service = bootstrap(store=store, clock=ManualClock(T0), permissions=policy)
    service.handle(RegisterWarehouse(warehouse=Warehouse("W1")), actor=ADMIN)
    service.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=100), actor=ADMIN)
    clerk = Actor("cleo", {"clerk"})
    assert _place(service, clerk, quantity=5)
    error = _refused(
        service,
        store,
        PlaceOrder(
            customer_id="C-1", currency="USD", lines=(LineSpec("SKU-A", 6, Money("1", "USD")),)
        ),
        clerk,
    )
    assert error.reason == "as clerk: over 5 units"


def test_a_failing_condition_is_not_swallowed(store: Any) -> None:
    def broken(actor: Actor, command: object, facts: CommandFacts) -> str | None:
        raise RuntimeError("condition bug")

    service = bootstrap(
        store=store, clock=ManualClock(T0), permissions=RolePolicy({"x": [Grant("*", (broken,))]})
    )
    with pytest.raises(RuntimeError):
        service.handle(RegisterWarehouse(warehouse=Warehouse("W1")), actor=Actor("x", {"x"}))
    assert _denials(store, "x") == []  # a bug in a condition is no denial


# --------------------------------------------------------------------------- queries


def test_a_customer_reads_only_their_own_orders(service: SalesService) -> None:
    mine = _place(service, ALICE)
    theirs = _place(service, BOB, customer_id="C-2")
    number = service.get_order(theirs, actor=ANN).number
    assert service.get_order(mine, actor=ALICE).id == mine
    with pytest.raises(NotFoundError):
        service.get_order(theirs, actor=ALICE)
    with pytest.raises(NotFoundError):
        service.get_order_by_number(str(number), actor=ALICE)
    with pytest.raises(NotFoundError):
        service.view_order(theirs, actor=ALICE)
    with pytest.raises(NotFoundError):
        service.timeline(theirs, actor=ALICE)
    assert service.timeline(mine, actor=ALICE)
    assert [o.id for o in service.list_orders(actor=ALICE).orders] == [mine]
    assert service.list_orders(OrderQuery(customer_id="C-2", with_total=True), actor=ALICE) == (
        OrderPage((), None, 0)
    )
    assert {o.id for o in service.list_orders(actor=WANDA).orders} == {mine, theirs}


def test_a_read_without_an_actor_or_by_nobody_is_refused(service: SalesService) -> None:
    order_id = _place(service, ANN)
    with pytest.raises(PermissionDeniedError):
        service.get_order(order_id)
    with pytest.raises(PermissionDeniedError):
        service.list_orders(actor=Actor("nobody"))
    with pytest.raises(PermissionDeniedError):
        service.list_orders(actor=Actor("lost", {"customer"}))
