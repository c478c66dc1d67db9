"""The demo's story: a seeded store, orders in several currencies, and what happens to them.

:func:`play_demo` runs the whole story on a store with a manual clock, so every run gives the same
data: it seeds three warehouses and a catalogue, places, confirms and cancels orders, ships one
with a tracking number, serves a backorder when its stock arrives, runs an order through an
approval workflow, has finance review its bank transfer, takes an item back and refunds it, and
delivers the notifications through the outbox. Built on the service layer only.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import attrs
from moneyed import Money

from salesorders.cli.demo_customers import (
    DEMO_LOYALTY,
    DEMO_TIERS,
    CustomerScene,
    register_customers,
    reward_order,
    settle_after_return,
)
from salesorders.cli.demo_mail import DemoMailbox, ReceivedMail, mail_available
from salesorders.cli.demo_notices import ExplainingPolicy
from salesorders.cli.demo_permissions import PermissionScene, play_permissions
from salesorders.cli.demo_returns import deliver_and_pay, return_one_item
from salesorders.domain.changes import ChangeAction
from salesorders.domain.order import Address
from salesorders.domain.pricing import (
    Discount,
    ExchangeRate,
    PriceBook,
    PriceBreak,
    PriceList,
    PriceListEntry,
    StaticExchangeRates,
    TaxComponent,
)
from salesorders.domain.snapshot import IncomingStock
from salesorders.domain.warehouse import Warehouse
from salesorders.domain.workflow import RELEASE, RESERVE, Workflow, default_workflow
from salesorders.ports import Store
from salesorders.service import (
    ApproveChange,
    ApprovePayment,
    CancelOrder,
    ConfirmOrder,
    ExpectStock,
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveExpected,
    ReceiveStock,
    RecordPayment,
    RecordShipmentEvent,
    RegisterWarehouse,
    RequestChange,
    SalesService,
    SetStockLevels,
    ShipOrder,
    TransitionOrder,
    bootstrap,
)
from salesorders.service.customers import StoreCustomerDirectory
from salesorders.testing.fakes import FakeCarrier

__all__ = ["APPROVAL_WORKFLOW", "DEMO_START", "DemoRun", "play_demo"]

DEMO_START = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)

#: Orders of business customers wait for a manager's approval; stock is reserved on approval.
APPROVAL_WORKFLOW: Workflow = (
    default_workflow()
    .extend("approved-order", version=1)
    .add_state("awaiting_approval")
    .remove_transition("confirm", "placed")
    .add_transition("submit", "placed", "awaiting_approval")
    .add_transition("approve", "awaiting_approval", "confirmed", effects=[RESERVE])
    .add_transition("cancel", "awaiting_approval", "cancelled", effects=[RELEASE])
    .build()
)


def demo_price_book() -> PriceBook:
    def entry(sku: str, *breaks: tuple[int, str]) -> PriceListEntry:
        return PriceListEntry(sku, tuple(PriceBreak(Decimal(q), Decimal(p)) for q, p in breaks))

    return PriceBook(
        [
            PriceList(
                "RETAIL-CNY",
                "CNY",
                {
                    "TEA-100": entry("TEA-100", (1, "88.00"), (10, "79.00")),
                    "MUG-6": entry("MUG-6", (1, "45.00")),
                },
            ),
            PriceList(
                "RETAIL-EUR",
                "EUR",
                {
                    "TEA-100": entry("TEA-100", (1, "11.90"), (10, "10.50")),
                    "MUG-6": entry("MUG-6", (1, "5.90")),
                },
            ),
            PriceList(
                "RETAIL-USD",
                "USD",
                {
                    "TEA-100": entry("TEA-100", (1, "12.50")),
                    "LAMP-1": entry("LAMP-1", (1, "49.00"), (5, "45.00")),
                    "MUG-6": entry("MUG-6", (1, "6.50")),
                },
            ),
        ]
    )


def seed_demo(service: SalesService, clock: ManualClock) -> None:
    for site in (
        Warehouse(
            "SHA", "Shanghai", region="CN-East", priority=1, ships_to=frozenset({"CN-East", "JP"})
        ),
        Warehouse(
            "BER", "Berlin", region="EU-Central", priority=2, ships_to=frozenset({"EU-Central"})
        ),
        Warehouse("NYC", "New York", region="US-East", priority=3, ships_to=frozenset({"US-East"})),
    ):
        service.handle(RegisterWarehouse(warehouse=site, actor="ops"))
    receipts = [
        ("TEA-100", "SHA", 40),
        ("TEA-100", "BER", 25),
        ("MUG-6", "SHA", 8),
        ("MUG-6", "BER", 10),
        ("MUG-6", "NYC", 20),
        ("LAMP-1", "NYC", 2),
        ("TEA-100", "NYC", 6),
    ]
    for sku, warehouse, quantity in receipts:
        service.handle(
            ReceiveStock(sku=sku, warehouse_id=warehouse, quantity=quantity, reason="opening stock")
        )
    service.handle(
        SetStockLevels(sku="MUG-6", warehouse_id="SHA", reorder_point=4, reorder_quantity=24)
    )
    service.handle(
        ExpectStock(
            incoming=IncomingStock(
                "PO-7001",
                "LAMP-1",
                "NYC",
                Decimal(10),
                (clock.now() + dt.timedelta(days=12)).date(),
            )
        )
    )


def place_demo_orders(service: SalesService, clock: ManualClock) -> tuple[list[str], CustomerScene]:
    vat_de = TaxComponent("MwSt", Decimal("0.19"))
    vat_cn = TaxComponent("增值税", Decimal("0.13"))
    sales_tax = TaxComponent("NY sales tax", Decimal("0.08875"))
    placed = []
    clock.advance(dt.timedelta(minutes=7))
    li_command = PlaceOrder(
        customer_id="C-LI",
        currency="CNY",
        lines=(LineSpec("TEA-100", 3, taxes=(vat_cn,)), LineSpec("MUG-6", 5, taxes=(vat_cn,))),
        shipping_address=Address("李雷", "南京东路 1 号", "上海", "CN", region="CN-East"),
        confirm=True,
        idempotency_key="demo-li-1",
        actor="web",
    )
    li = service.handle(li_command)
    placed.append(li.order_id)
    clock.advance(dt.timedelta(minutes=12))
    anna = service.handle(
        PlaceOrder(
            customer_id="C-ANNA",
            currency="EUR",
            lines=(
                LineSpec("TEA-100", 12, taxes=(vat_de,)),
                LineSpec("MUG-6", 1, Money("5.90", "EUR"), taxes=(vat_de,)),
            ),
            discounts=(Discount.percentage(10, "Stammkunde"),),
            shipping=Money("4.90", "EUR"),
            shipping_taxes=(vat_de,),
            shipping_address=Address(
                "Anna Schmidt", "Hauptstr. 5", "Berlin", "DE", region="EU-Central"
            ),
            idempotency_key="demo-anna-1",
            actor="web",
        )
    )
    service.handle(ConfirmOrder(order_id=anna.order_id, actor="ops", idempotency_key="demo-anna-2"))
    placed.append(anna.order_id)
    clock.advance(dt.timedelta(hours=3))
    # The carrier books the shipment and gives its tracking number; its own codes are translated.
    shipped = service.handle(
        ShipOrder(order_id=anna.order_id, carrier="DHL", service_level="express", actor="dock")
    )
    clock.advance(dt.timedelta(hours=5))
    service.handle(
        RecordShipmentEvent(
            order_id=anna.order_id,
            shipment_id=shipped.shipment_ids[0],
            carrier_code="IT",
            location="Leipzig hub",
        )
    )
    clock.advance(dt.timedelta(minutes=20))
    smith = service.handle(
        PlaceOrder(
            customer_id="C-SMITH",
            currency="USD",
            lines=(
                LineSpec("LAMP-1", 5, taxes=(sales_tax,)),
                LineSpec("MUG-6", 2, taxes=(sales_tax,)),
            ),
            shipping_address=Address("John Smith", "5th Ave 1", "New York", "US", region="US-East"),
            confirm=True,
            idempotency_key="demo-smith-1",
            actor="phone",
        )
    )
    placed.append(smith.order_id)
    clock.advance(dt.timedelta(minutes=30))
    sato = service.handle(
        PlaceOrder(
            customer_id="C-SATO",
            currency="JPY",
            lines=(LineSpec("TEA-100", 2), LineSpec("MUG-6", 2)),
            exchange_rate_base="USD",
            shipping_address=Address("佐藤 花子", "銀座 1-1", "東京", "JP", region="JP"),
            confirm=True,
            idempotency_key="demo-sato-1",
            actor="web",
        )
    )
    placed.append(sato.order_id)
    clock.advance(dt.timedelta(hours=2))
    service.handle(
        CancelOrder(order_id=sato.order_id, reason="customer changed their mind", actor="cs:yuki")
    )
    # A retried request with the same idempotency key returns the stored result: no second order.
    again = service.handle(li_command)
    assert again == li
    # A business order waits for a manager: its stock is reserved only when it is approved.
    clock.advance(dt.timedelta(minutes=30))
    acme = service.handle(
        PlaceOrder(
            customer_id="C-ACME",
            currency="USD",
            lines=(LineSpec("MUG-6", 12, taxes=(sales_tax,)),),
            shipping_address=Address(
                "ACME Corp", "Broadway 100", "New York", "US", region="US-East"
            ),
            workflow=APPROVAL_WORKFLOW.name,
            idempotency_key="demo-acme-1",
            actor="sales:bo",
        )
    )
    service.handle(
        TransitionOrder(
            order_id=acme.order_id, event="submit", reason="business account", actor="sales:bo"
        )
    )
    clock.advance(dt.timedelta(hours=1))
    service.handle(
        TransitionOrder(
            order_id=acme.order_id, event="approve", reason="credit checked", actor="mgr:ana"
        )
    )
    placed.append(acme.order_id)
    # ACME pays by bank transfer: the payment waits for finance to check the bank statement.
    clock.advance(dt.timedelta(hours=2))
    grand_total = service.get_order(acme.order_id).grand_total
    recorded = service.handle(
        RecordPayment(
            order_id=acme.order_id,
            method="bank_transfer",
            amount=grand_total,
            reference="BANK-REF-55012",
            actor="sales:bo",
        )
    )
    assert recorded.payment_status == "unpaid"  # nothing counts until it is approved
    (pending,) = service.payments_awaiting_review()
    service.handle(
        ApprovePayment(
            order_id=acme.order_id,
            payment_id=pending.payment.id,
            reason="seen on the bank statement",
            actor="finance:jo",
        )
    )
    # After paying, ACME asks for three more mugs: the change is reviewed, the extra mugs are
    # reserved, and only the difference is due — paid by a second transfer.
    clock.advance(dt.timedelta(hours=1))
    service.handle(
        RequestChange(
            order_id=acme.order_id,
            actions=(ChangeAction.set_quantity("L1", 15),),
            reason="three more for the new office",
            actor="cs:yuki",
        )
    )
    changed = service.handle(
        ApproveChange(
            order_id=acme.order_id, change_id="C1", reason="stock checked", actor="mgr:ana"
        )
    )
    service.handle(
        RecordPayment(
            order_id=acme.order_id,
            method="bank_transfer",
            amount=changed.preview.difference_due,
            reference="BANK-REF-55077",
            actor="sales:bo",
        )
    )
    service.handle(
        ApprovePayment(
            order_id=acme.order_id,
            payment_id="P2",
            reason="seen on the bank statement",
            actor="finance:jo",
        )
    )
    # The lamps expected on PO-7001 arrive early: Smith's backorder is served in the receipt's
    # own transaction.
    clock.advance(dt.timedelta(days=1))
    service.handle(ReceiveExpected(incoming_id="PO-7001", reason="PO-7001 delivered", actor="dock"))
    # Anna pays and her order completes: she earns a tier and points. Her parcel had a dented
    # tin: it comes back, she is refunded to the cent, and the points go back in proportion.
    deliver_and_pay(service, clock, anna.order_id)
    rewarded = reward_order(service, clock, anna.order_id, register_customers(service))
    return_one_item(service, clock, anna.order_id)
    return placed, settle_after_return(service, rewarded)


@attrs.frozen
class DemoRun:
    """A played demo: its service (over the store it was given), the ids of the orders it placed
    (Li, Anna, Smith, Sato, ACME), the notification emails its local mail server received (empty
    without the ``demo`` extra: ``mailed`` says whether they were sent), and each order's
    allocation reasons."""

    service: SalesService
    order_ids: tuple[str, ...]
    received: tuple[ReceivedMail, ...]
    mailed: bool
    policy: ExplainingPolicy
    permissions: PermissionScene
    customers: CustomerScene


def play_demo(store: Store) -> DemoRun:
    """Play the demo's story on ``store`` (an empty one) and send its notifications: through the
    outbox relay, the email channel and the built-in templates, to a local SMTP server started
    for the purpose (with the ``demo`` extra; without it the messages stay in the outbox)."""
    if not mail_available():
        return _play(store, None)
    with DemoMailbox() as mailbox:
        return _play(store, mailbox)


def _play(store: Store, mailbox: DemoMailbox | None) -> DemoRun:
    clock = ManualClock(DEMO_START)
    rates = StaticExchangeRates(
        [ExchangeRate("USD", "JPY", Decimal("151.37"), DEMO_START, "demo rates")]
    )
    policy = ExplainingPolicy()
    channels = []
    if mailbox is not None:
        from salesorders.adapters.smtp import EmailChannel, SmtpSettings
        from salesorders.notifications import TemplateCatalog

        settings = SmtpSettings(
            host=mailbox.host,
            port=mailbox.port,
            sender="orders@shop.example",
            sender_name="Demo Shop",
            timeout=10.0,
        )
        channels.append(EmailChannel(settings, TemplateCatalog(), clock=clock))
    service = bootstrap(
        store=store,
        clock=clock,
        price_book=demo_price_book(),
        exchange_rates=rates,
        allocation_policy=policy,
        channels=channels,
        directory=StoreCustomerDirectory(_reader(store)),
        carriers=[FakeCarrier("DHL", prefix="JD")],
        workflows=[APPROVAL_WORKFLOW],
        serve_backorders_on_receipt=True,
        tiers=DEMO_TIERS,
        loyalty=DEMO_LOYALTY,
    )
    seed_demo(service, clock)
    ids, customers = place_demo_orders(service, clock)
    # The same store, served to people with roles: a denied cancel, four eyes on a change.
    scene = play_permissions(store, clock, (APPROVAL_WORKFLOW,), own=ids[4], other=ids[0])
    if mailbox is not None:
        while service.relay.run_once().delivered:
            pass
    received = tuple(mailbox.received) if mailbox is not None else ()
    return DemoRun(service, tuple(ids), received, mailbox is not None, policy, scene, customers)


def _reader(store: Store) -> Any:
    """The store's read factory (its unit of work when it has none)."""
    return getattr(store, "read", store.unit_of_work)
