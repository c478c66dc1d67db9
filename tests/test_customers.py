"""Customer records on every store, membership tiers evaluated by command (upgrades and
downgrades over the rolling period), a customer's tier pricing their new orders, the stores'
records as the notifications directory, and anonymization reaching the record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from salesorders import Address
from salesorders.domain.customers import Customer, MembershipTiers, Tier, standing_of
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import (
    ConcurrencyConflictError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from salesorders.notifications import CustomerContact
from salesorders.permissions import Actor, RolePolicy
from salesorders.pricing import PriceBook, PriceBreak, PriceList, PriceListEntry
from salesorders.privacy import REDACTED, AnonymizeCustomer
from salesorders.service import (
    CancelOrder,
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
    bootstrap,
)
from salesorders.service.customers import (
    TIER_CHANGED_EVENT,
    AddCustomerNote,
    EvaluateTiers,
    RegisterCustomer,
    StoreCustomerDirectory,
    TierChange,
    UpdateCustomer,
)
from support.stores import STORE_KINDS, fresh_store

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ROOT = Actor("root", {"admin"}, channel="job")
SAM = Actor("sam", {"sales"})
MAX = Actor("max", {"manager"})
ALICE = Actor.customer("C-1")
TIERS = MembershipTiers(
    (Tier("regular"), Tier("silver", Decimal(100), 3), Tier("gold", Decimal(500))),
    "USD",
    period=dt.timedelta(days=90),
)
TEA = PriceListEntry("TEA", (PriceBreak(1, Decimal("10.00")),))
GOLD_TEA = PriceListEntry("TEA", (PriceBreak(1, Decimal("8.00")),))
BOOK = PriceBook(
    [
        PriceList("LIST", "USD", [TEA]),
        PriceList("GOLD", "USD", [GOLD_TEA], customer_group="gold"),
    ]
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
    built = bootstrap(
        store=store,
        clock=clock,
        permissions=RolePolicy.standard(),
        audit=True,
        tiers=TIERS,
        price_book=BOOK,
    )
    built.handle(RegisterWarehouse(warehouse=Warehouse("W1")), actor=ROOT)
    built.handle(ReceiveStock(sku="TEA", warehouse_id="W1", quantity=500), actor=ROOT)
    return built


def _register(service: SalesService, customer_id: str = "C-1", **kw: Any) -> Customer:
    return service.handle(
        RegisterCustomer(customer_id=customer_id, name="Alice", email="alice@example.org", **kw),
        actor=SAM,
    )


def _buy(service: SalesService, quantity: int, customer: str = "C-1") -> str:
    command = PlaceOrder(
        customer_id=customer, currency="USD", lines=(LineSpec("TEA", quantity),), confirm=True
    )
    return service.handle(command, actor=ROOT).order_id


# --------------------------------------------------------------------------- records


def test_a_record_is_registered_read_updated_and_noted(service: SalesService) -> None:
    home = Address("Alice", "1 Main St", "Springfield", "US")
    created = _register(service, addresses=(home,), groups=("newsletter",))
    assert created.version == 1 and created.tier == "regular"
    assert created.contact == CustomerContact("C-1", "Alice", "alice@example.org")
    assert service.get_customer("C-1", actor=SAM) == created
    updated = service.handle(
        UpdateCustomer(customer_id="C-1", name="Alice L.", locale="de_DE", channels=("sms",),
                       phone="+4930123456"),
        actor=ALICE,
    )  # fmt: skip
    assert updated.version == 2 and updated.contact.locale == "de_DE"
    assert updated.addresses == () and updated.groups == ()  # every field as given
    noted = service.handle(
        AddCustomerNote(customer_id="C-1", text="prefers mornings", personal=True), actor=SAM
    )
    assert [(n.id, n.text, n.author, n.personal) for n in noted.notes] == [
        ("C1", "prefers mornings", "sam", True)
    ]
    assert service.get_customer("C-1", actor=ALICE).version == 3


def test_bad_input_names_the_field_and_changes_nothing(service: SalesService) -> None:
    _register(service)
    with pytest.raises(ConflictError):
        _register(service)
    with pytest.raises(ValidationError) as caught:
        service.handle(UpdateCustomer(customer_id="C-1", email="not-an-email"), actor=SAM)
    assert caught.value.field == "email"
    with pytest.raises(ValidationError) as caught:
        service.handle(AddCustomerNote(customer_id="C-1", text=" "), actor=SAM)
    assert caught.value.field == "text"
    with pytest.raises(NotFoundError):
        service.handle(AddCustomerNote(customer_id="C-9", text="x"), actor=SAM)
    with pytest.raises(NotFoundError):
        service.get_customer("C-9", actor=SAM)
    assert service.get_customer("C-1", actor=SAM).version == 1


def test_a_customer_reads_and_changes_only_their_own_record(service: SalesService) -> None:
    _register(service)
    _register(service, "C-2")
    with pytest.raises(NotFoundError):
        service.get_customer("C-2", actor=ALICE)
    with pytest.raises(PermissionDeniedError):
        service.handle(UpdateCustomer(customer_id="C-2", name="Mallory"), actor=ALICE)
    with pytest.raises(PermissionDeniedError):
        service.handle(EvaluateTiers(), actor=SAM)


def test_a_stale_record_is_a_concurrency_conflict(store: Any, service: SalesService) -> None:
    stale = _register(service)
    with store.unit_of_work() as uow:
        uow.customers.save(stale.with_note("first", T0))
        uow.commit()
    with store.unit_of_work() as uow, pytest.raises(ConcurrencyConflictError):
        uow.customers.save(stale.with_note("second", T0))


def test_records_are_listed_by_id_in_pages(store: Any, service: SalesService) -> None:
    for customer_id in ("C-3", "C-1", "C-2"):
        _register(service, customer_id)
    with store.read() as uow:
        first = uow.customers.list(limit=2)
        rest = uow.customers.list(after=first[-1].id, limit=2)
    assert [c.id for c in first] == ["C-1", "C-2"] and [c.id for c in rest] == ["C-3"]


def test_the_stores_records_are_the_notifications_directory(
    store: Any, service: SalesService
) -> None:
    _register(service)
    directory = StoreCustomerDirectory(store.read)
    assert directory.contact("C-1") == CustomerContact("C-1", "Alice", "alice@example.org")
    assert directory.contact("C-9") is None


# --------------------------------------------------------------------------- tiers


def test_spend_over_the_period_upgrades_and_its_lapse_downgrades(
    store: Any, service: SalesService, clock: ManualClock
) -> None:
    _register(service)
    _register(service, "C-2")
    _buy(service, 6)  # 60.00: regular
    review = service.handle(EvaluateTiers(), actor=MAX)
    assert review.changes == ()
    assert [(s.customer_id, s.spend, s.orders, s.tier) for s in review.standings] == [
        ("C-1", Decimal("60.00"), 1, "regular"),
        ("C-2", Decimal("0"), 0, "regular"),
    ]
    clock.advance(dt.timedelta(days=10))
    _buy(service, 5)  # 110.00 in the period: silver by spend
    review = service.handle(EvaluateTiers(customer_id="C-1"), actor=MAX)
    assert review.changes == (TierChange("C-1", "regular", "silver", upgrade=True),)
    record = service.get_customer("C-1", actor=MAX)
    assert (record.tier, record.tier_since) == ("silver", clock.now())

    clock.advance(dt.timedelta(days=85))  # the first order left the 90-day period
    review = service.handle(EvaluateTiers(), actor=MAX)
    assert review.changes == (TierChange("C-1", "silver", "regular", upgrade=False),)
    with store.read() as uow:
        told = uow.outbox.messages("customer:C-1")
    assert [(m.event_type, m.payload["to_tier"]) for m in told] == [
        (TIER_CHANGED_EVENT, "silver"),
        (TIER_CHANGED_EVENT, "regular"),
    ]
    audit = service.audit_records()
    assert [r.after["changes"] for r in audit if r.action == "EvaluateTiers"] == [
        [], [["C-1", "regular", "silver"]], [["C-1", "silver", "regular"]],
    ]  # fmt: skip


def test_order_count_earns_a_tier_and_cancelled_orders_do_not_count(
    service: SalesService,
) -> None:
    _register(service)
    cancelled = _buy(service, 1)
    service.handle(CancelOrder(order_id=cancelled, reason="changed mind"), actor=ROOT)
    _buy(service, 1)
    _buy(service, 1)
    assert service.handle(EvaluateTiers(), actor=MAX).changes == ()
    _buy(service, 1)  # the third order that counts
    assert service.handle(EvaluateTiers(), actor=MAX).changes == (
        TierChange("C-1", "regular", "silver", upgrade=True),
    )


def test_a_customers_tier_prices_their_new_orders(service: SalesService, store: Any) -> None:
    _register(service)
    _buy(service, 50)  # 500.00 at the list price: gold
    service.handle(EvaluateTiers(), actor=MAX)
    gold = service.get_order(_buy(service, 1), actor=ROOT)
    assert gold.customer_group == "gold"
    assert gold.lines[0].unit_price == Decimal("8.00")
    # a customer without a record, or an order naming its group, is priced as before
    assert service.get_order(_buy(service, 1, "C-9"), actor=ROOT).lines[0].unit_price == 10
    named = PlaceOrder(
        customer_id="C-1", currency="USD", lines=(LineSpec("TEA", 1),), customer_group="staff"
    )
    staff = service.get_order(service.handle(named, actor=ROOT).order_id, actor=ROOT)
    assert staff.customer_group == "staff" and staff.lines[0].unit_price == 10


def test_evaluating_needs_tiers(store: Any, clock: ManualClock) -> None:
    plain = bootstrap(store=store, clock=clock)
    with pytest.raises(ValidationError) as caught:
        plain.handle(EvaluateTiers())
    assert caught.value.field == "tiers"


def test_the_tier_rules_check_their_input() -> None:
    with pytest.raises(ValidationError) as caught:
        Tier("silver", Decimal(-1))
    assert caught.value.field == "min_spend"
    with pytest.raises(ValidationError) as caught:
        MembershipTiers((Tier("a"), Tier("a")), "USD")
    assert caught.value.field == "tiers[1].name"
    with pytest.raises(ValidationError) as caught:
        MembershipTiers((Tier("a"),), "USD", period=dt.timedelta(0))
    assert caught.value.field == "period"
    standard = MembershipTiers.standard("EUR")
    assert standard.names == ("regular", "silver", "gold")
    assert standard.tier_for(Decimal(2000), 0) == "gold"
    assert standard.tier_for(Decimal(0), 5) == "silver"
    assert standing_of("C-1", [], standard, T0).tier == "regular"


# --------------------------------------------------------------------------- personal data


def test_anonymization_reaches_the_record_and_the_directory_forgets_it(
    store: Any, service: SalesService
) -> None:
    home = Address("Alice Liddell", "7 Looking-Glass Lane", "Oxford", "GB")
    _register(service, addresses=(home,), phone="+441865000111")
    service.handle(
        AddCustomerNote(customer_id="C-1", text="Alice Liddell likes green tea", personal=True),
        actor=SAM,
    )
    service.handle(
        AddCustomerNote(customer_id="C-1", text="ring Alice Liddell before noon"), actor=SAM
    )
    service.handle(AnonymizeCustomer(customer_id="C-1", reason="erasure request"), actor=ROOT)
    record = service.get_customer("C-1", actor=ROOT)
    assert record.anonymized_at is not None
    assert (record.contact.name, record.contact.email, record.contact.phone) == (
        REDACTED, None, None,
    )  # fmt: skip
    assert record.addresses[0].line1 == REDACTED and record.addresses[0].country == "GB"
    assert [n.text for n in record.notes] == [REDACTED, f"ring {REDACTED} before noon"]
    assert StoreCustomerDirectory(store.read).contact("C-1") is None
    assert attrs.evolve(record, version=0).id == "C-1"
