"""Personal data on request, on every store: the export holds everything about one customer;
anonymization replaces their personal values in orders, events, delivery records, stored
results and audit records (whose chains still verify), is refused while business is open, and
leaves no personal value in any raw table or database file."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money

from salesorders import Address
from salesorders.customers import AddCustomerNote, RegisterCustomer
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import (
    AnonymizationRefusedError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from salesorders.permissions import Actor, RolePolicy
from salesorders.ports import AuditQuery, DeliveryRecord
from salesorders.privacy import (
    ANONYMIZED_EVENT,
    PERSONAL_FIELDS,
    REDACTED,
    AnonymizeCustomer,
    CustomerAnonymized,
    CustomerDataExport,
    ExportCustomerData,
    Redactor,
    personal_values,
)
from salesorders.service import (
    AddOrderNote,
    AddTicketNote,
    CancelOrder,
    HoldOrder,
    LineSpec,
    ManualClock,
    OpenTicket,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
    bootstrap,
)
from support.stores import STORE_KINDS, fresh_store, postgres_rows_as_text

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ROOT = Actor("root", {"admin"}, channel="job")
CARL = Actor("carl", {"customer_service"}, department="customer_service")
ALICE = Actor.customer("C-1")
BOB = Actor.customer("C-2")

#: Alice's personal values: none of them may remain anywhere once she is anonymized.
ALICE_VALUES = (
    "Alice Liddell",
    "7 Looking-Glass Lane",
    "Flat 3b",
    "Oxfordshire Town",
    "OX1 4AU",
    "+441865000111",
    "alice.liddell@example.org",
    "The parcel arrived crushed at the corner",
    "Alice prefers calls after six",
    "Alice's neighbour Dinah signs for parcels",
)
HOME = Address(
    name="Alice Liddell",
    line1="7 Looking-Glass Lane",
    line2="Flat 3b",
    city="Oxfordshire Town",
    country="GB",
    region="ENG",
    postal_code="OX1 4AU",
    phone="+441865000111",
    email="alice.liddell@example.org",
)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def service(store: Any, clock: ManualClock) -> SalesService:
    built = bootstrap(store=store, clock=clock, permissions=RolePolicy.standard(), audit=True)
    built.handle(RegisterWarehouse(warehouse=Warehouse("W1")), actor=ROOT)
    built.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=10), actor=ROOT)
    return built


def _place(service: SalesService, customer: Actor, **kw: Any) -> str:
    line = LineSpec("SKU-A", 1, Money("15.00", "GBP"))
    command = PlaceOrder(
        customer_id=customer.customer_id or "", currency="GBP", lines=(line,), confirm=True, **kw
    )
    return service.handle(command, actor=customer).order_id


def _alice_history(service: SalesService, store: Any, clock: ManualClock) -> list[str]:
    """Two orders of Alice's, with her addresses, a ticket in her words, personal and plain
    notes, a reason naming her and an email delivered to her; both orders cancelled. Bob has
    an order too. Returns Alice's order ids."""
    service.handle(
        RegisterCustomer(
            customer_id="C-1", name="Alice Liddell", email="alice.liddell@example.org",
            phone="+441865000111", addresses=(HOME,),
        ),
        actor=CARL,
    )  # fmt: skip
    service.handle(
        AddCustomerNote(customer_id="C-1", text="Alice prefers calls after six", personal=True),
        actor=CARL,
    )
    first = _place(service, ALICE, billing_address=HOME, shipping_address=HOME)
    second = _place(service, ALICE, shipping_address=HOME)
    _place(service, BOB)
    clock.advance(dt.timedelta(hours=1))
    service.handle(
        OpenTicket(
            order_id=first,
            category="damaged",
            description="The parcel arrived crushed at the corner",
        ),
        actor=ALICE,
    )
    service.handle(
        AddTicketNote(
            order_id=first,
            ticket_id="T1",
            text="Alice's neighbour Dinah signs for parcels",
            personal=True,
        ),
        actor=CARL,
    )
    service.handle(
        AddOrderNote(order_id=first, text="Alice prefers calls after six", personal=True),
        actor=CARL,
    )
    service.handle(AddOrderNote(order_id=first, text="Repack in a stronger box"), actor=CARL)
    service.handle(HoldOrder(order_id=second, reason="Alice Liddell asked to wait"), actor=ROOT)
    for order_id in (first, second):
        service.handle(CancelOrder(order_id=order_id, reason="customer request"), actor=ALICE)
    with store.unit_of_work() as uow:
        message = uow.outbox.messages(first)[0]
        uow.outbox.record_delivery(
            DeliveryRecord(
                event_id=message.event_id,
                channel="email",
                stream_id=first,
                event_type=message.event_type,
                recipient="alice.liddell@example.org",
                status="failed",
                attempts=1,
                last_error="550 mailbox alice.liddell@example.org is full",
                provider_id=None,
                updated_at=clock.now(),
            )
        )
        uow.commit()
    return [first, second]


# --------------------------------------------------------------------------- the registry


def test_the_registry_names_the_personal_fields_of_addresses_notes_and_contacts() -> None:
    assert set(PERSONAL_FIELDS["Address"]) == {
        "name", "line1", "line2", "city", "postal_code", "phone", "email",
    }  # fmt: skip
    assert PERSONAL_FIELDS["OrderNote"] == ("text",)
    assert PERSONAL_FIELDS["DeliveryRecord"] == ("recipient",)
    assert "country" not in PERSONAL_FIELDS["Address"]


def test_the_redactor_replaces_whole_values_and_long_values_inside_text() -> None:
    redactor = Redactor(["Jane Doe", "Jane", "5b", " "])
    assert redactor.text("Jane Doe") == REDACTED
    assert redactor.text("call Jane Doe today") == f"call {REDACTED} today"
    assert redactor.text(" Jane ") == REDACTED
    assert redactor.text("flat 5b") == "flat 5b"  # a short value is replaced only where it sits
    data = {"who": "Jane", "n": 5, "items": ["ok", "Jane Doe"], "Jane": True}
    assert redactor.data(data) == {"who": REDACTED, "n": 5, "items": ["ok", REDACTED], "Jane": True}
    assert redactor.values == frozenset({"Jane Doe", "Jane"})


# --------------------------------------------------------------------------- export


def test_the_export_holds_every_order_event_delivery_and_audit_record_of_the_customer(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    first, second = _alice_history(service, store, clock)
    export = service.handle(ExportCustomerData(customer_id="C-1"), actor=ALICE)
    assert isinstance(export, CustomerDataExport)
    data = json.loads(export.to_json())
    assert data["customer_id"] == "C-1"
    assert data["customer"]["contact"]["email"] == "alice.liddell@example.org"
    assert sorted(o["id"] for o in data["orders"]) == sorted([first, second])
    text = export.to_json()
    for value in ALICE_VALUES:
        assert value in text, value
    assert {e["order_id"] for e in data["events"]} == {first, second}
    assert [d["recipient"] for d in data["deliveries"]] == ["alice.liddell@example.org"]
    assert {r["stream"] for r in data["audit"]} == {
        f"order:{first}", f"order:{second}", "customer:C-1",
    }  # fmt: skip
    assert [r["action"] for r in data["audit"] if r["stream"] == "customer:C-1"] == [
        "RegisterCustomer", "AddCustomerNote",
    ]  # fmt: skip
    assert "C-2" not in {o["customer_id"] for o in data["orders"]}
    recorded = service.audit_records(AuditQuery(stream="customer:C-1"))
    assert [(r.action, r.actor, dict(r.after)) for r in recorded][-1] == (
        "ExportCustomerData", ALICE.id, {"orders": 2, "events": len(data["events"])},
    )  # fmt: skip


def test_a_customer_exports_only_their_own_data_and_staff_need_the_permission(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    _alice_history(service, store, clock)
    with pytest.raises(PermissionDeniedError):
        service.handle(ExportCustomerData(customer_id="C-1"), actor=BOB)
    with pytest.raises(PermissionDeniedError):
        service.handle(ExportCustomerData(customer_id="C-1"), actor=Actor("wes", {"warehouse"}))
    assert service.handle(ExportCustomerData(customer_id="C-1"), actor=CARL).data["orders"]


# --------------------------------------------------------------------------- anonymization


def _raw_sqlite_bytes(path: Path) -> bytes:
    found = b""
    for part in (path, path.with_name(path.name + "-wal")):
        if part.exists():
            found += part.read_bytes()
    return found


def _cells(row: tuple[Any, ...]) -> str:
    return "\n".join(str(cell) for cell in row)


def _raw_postgres_text(store: Any) -> str:
    rows = postgres_rows_as_text(os.environ["SALESORDERS_TEST_POSTGRES_DSN"], store.schema)
    assert "orders" in rows and "audit_log" in rows
    return "\n".join(text for texts in rows.values() for text in texts)


def test_anonymizing_replaces_every_personal_value_and_keeps_figures_and_chains(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    first, second = _alice_history(service, store, clock)
    before = {o: service.get_order(o, actor=ROOT) for o in (first, second)}
    clock.advance(dt.timedelta(days=30))
    done = service.handle(
        AnonymizeCustomer(customer_id="C-1", reason="erasure request R-17"), actor=ROOT
    )
    assert isinstance(done, CustomerAnonymized)
    assert done.order_ids == (first, second) or sorted(done.order_ids) == sorted([first, second])
    assert done.values >= len(ALICE_VALUES)
    assert done.copies > 0

    for order_id, old in before.items():
        new = service.get_order(order_id, actor=ROOT)
        assert new.totals == old.totals and new.lines == old.lines
        assert new.state == old.state and new.created_at == old.created_at
        assert personal_values(new) <= {REDACTED}
    order = service.get_order(first, actor=ROOT)
    assert order.shipping_address is not None and order.shipping_address.name == REDACTED
    assert order.shipping_address.country == "GB" and order.shipping_address.region == "ENG"
    assert [n.text for n in order.notes] == [REDACTED, "Repack in a stronger box"]
    assert order.tickets[0].description == REDACTED
    assert service.get_order(second, actor=ROOT).billing_address is None

    export = service.handle(ExportCustomerData(customer_id="C-1"), actor=ROOT).to_json()
    for value in ALICE_VALUES:
        assert value not in export, value
    assert "erasure request R-17" in export  # the reason is kept: it names no one

    report = service.verify_audit()
    assert report.intact, report.broken
    records = service.audit_records(AuditQuery(stream=f"order:{second}"))
    assert [r.reason for r in records if r.action == "HoldOrder"] == [f"{REDACTED} asked to wait"]
    anonymized = service.audit_records(AuditQuery(action="AnonymizeCustomer"))
    assert [(r.stream, r.reason) for r in anonymized] == [("customer:C-1", "erasure request R-17")]

    with store.read() as uow:
        notice = uow.outbox.messages("customer:C-1")
        assert [m.event_type for m in notice] == [ANONYMIZED_EVENT]
        assert sorted(notice[0].payload["order_ids"]) == sorted([first, second])
        deliveries = uow.outbox.deliveries(stream_id=first)
    assert [(d.recipient, d.last_error) for d in deliveries] == [
        (REDACTED, f"550 mailbox {REDACTED} is full")
    ]
    # Bob keeps everything
    assert service.handle(ExportCustomerData(customer_id="C-2"), actor=ROOT).data["orders"]


def test_no_personal_value_remains_in_any_raw_table_or_database_file(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    _alice_history(service, store, clock)
    kind = type(store).__name__
    if kind == "MemoryStore":
        pytest.skip("the memory store has no tables to search; the API test covers it")
    service.handle(AnonymizeCustomer(customer_id="C-1", reason="erasure request"), actor=ROOT)
    if kind == "SQLiteStore":
        raw = _raw_sqlite_bytes(Path(store.path))
        assert b"Repack in a stronger box" in raw  # the search does read the data
        leftovers = [v for v in ALICE_VALUES if v.encode() in raw]
        with sqlite3.connect(store.path) as conn:
            leftovers += [
                v
                for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
                for row in conn.execute(f'SELECT * FROM "{table}"')
                for v in ALICE_VALUES
                if v in _cells(row)
            ]
    else:
        raw_text = _raw_postgres_text(store)
        assert "Repack in a stronger box" in raw_text
        leftovers = [v for v in ALICE_VALUES if v in raw_text]
    assert leftovers == []


def test_the_search_finds_personal_values_before_anonymization(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    """The raw search above would catch a store that kept a copy: before anonymization it finds
    every value."""
    _alice_history(service, store, clock)
    kind = type(store).__name__
    if kind == "MemoryStore":
        pytest.skip("the memory store has no tables to search")
    if kind == "SQLiteStore":
        with sqlite3.connect(store.path) as conn:
            text = "\n".join(
                _cells(row)
                for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
                for row in conn.execute(f'SELECT * FROM "{table}"')
            )
    else:
        text = _raw_postgres_text(store)
    assert [v for v in ALICE_VALUES if v not in text] == []


def test_anonymization_is_refused_while_an_order_is_open_and_changes_nothing(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    open_order = _place(service, ALICE, shipping_address=HOME)
    with pytest.raises(AnonymizationRefusedError) as caught:
        service.handle(AnonymizeCustomer(customer_id="C-1", reason="erasure"), actor=ROOT)
    assert caught.value.customer_id == "C-1"
    assert [r for r in caught.value.reasons if open_order in r and "confirmed" in r]
    assert caught.value.code == "anonymization_refused"
    order = service.get_order(open_order, actor=ROOT)
    assert order.shipping_address == HOME


def test_anonymization_checks_its_input_and_permission(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    _alice_history(service, store, clock)
    with pytest.raises(PermissionDeniedError):
        service.handle(AnonymizeCustomer(customer_id="C-1", reason="x"), actor=CARL)
    with pytest.raises(PermissionDeniedError):
        service.handle(AnonymizeCustomer(customer_id="C-1", reason="x"), actor=ALICE)
    with pytest.raises(ValidationError) as caught:
        service.handle(AnonymizeCustomer(customer_id="C-1", reason="  "), actor=ROOT)
    assert caught.value.field == "reason"
    with pytest.raises(NotFoundError):
        service.handle(AnonymizeCustomer(customer_id="C-404", reason="erasure"), actor=ROOT)
    assert len(service.list_orders(actor=ROOT).orders) == 3
    export = service.handle(ExportCustomerData(customer_id="C-1"), actor=ROOT).to_json()
    assert "Alice Liddell" in export  # nothing was changed


def test_an_anonymization_run_twice_under_one_key_replays_its_summary(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    _alice_history(service, store, clock)
    command = AnonymizeCustomer(customer_id="C-1", reason="erasure", idempotency_key="erase-1")
    first = service.execute(command, actor=ROOT)
    again = service.execute(command, actor=ROOT)
    assert not first.replayed and again.replayed
    assert again.result == first.result
