"""One example of every command, and real results and views from a service that ran commands.

:func:`service_command_classes` walks every module of :mod:`salesorders.service` for commands (the
attrs classes that take an idempotency key), so a command added anywhere there without an example
here fails the JSON tests. Examples fill optional fields, so that nested values, optionals and
dates are exercised too.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import pkgutil
from decimal import Decimal
from typing import Any

import attrs
from moneyed import Money

import salesorders.service as service_package
from salesorders.adapters.memory import MemoryStore
from salesorders.audit import PurgeAuditRecords
from salesorders.customers import (
    AccruePoints,
    AddCustomerNote,
    EvaluateTiers,
    RedeemPoints,
    RegisterCustomer,
    UpdateCustomer,
)
from salesorders.domain.changes import ChangeAction
from salesorders.domain.order import Address
from salesorders.domain.payments import PaymentTerms
from salesorders.domain.pricing import Discount, DiscountKind, PricingPolicy, TaxComponent
from salesorders.domain.returns import Inspection, InspectionOutcome
from salesorders.domain.snapshot import IncomingStock
from salesorders.domain.warehouse import Warehouse
from salesorders.privacy import AnonymizeCustomer, ExportCustomerData
from salesorders.service import (
    AddOrderNote,
    AddTicketNote,
    AdjustStock,
    AdvanceRepair,
    AllocateBackorders,
    ApproveChange,
    ApprovePayment,
    ApproveReturn,
    AssignTicket,
    AuthorizePayment,
    CancelChange,
    CancelLine,
    CancelLines,
    CancelOrder,
    CapturePayment,
    CloseRepair,
    CloseTicket,
    CompleteOrder,
    ConfirmOrder,
    CreateDraft,
    DeclineChange,
    DeliverOrder,
    ExchangeReturn,
    ExpectStock,
    HoldOrder,
    LineSpec,
    ManualClock,
    OpenRepair,
    OpenTicket,
    PlaceDraft,
    PlaceOrder,
    PromiseDelivery,
    ReceiveExpected,
    ReceiveReturn,
    ReceiveStock,
    RecordPayment,
    RecordRepairNote,
    RecordShipmentEvent,
    RefundPayment,
    RegisterWarehouse,
    RejectPayment,
    RejectReturn,
    ReopenTicket,
    RequestChange,
    RequestReturn,
    ResolveTicket,
    ResumeOrder,
    ReturnItem,
    SalesService,
    ScheduleFollowUp,
    SetPaymentTerms,
    SetStockLevels,
    ShipLine,
    ShipOrder,
    TransferStock,
    TransitionOrder,
    VoidPayment,
    WriteOffStock,
    bootstrap,
)
from salesorders.service.views import OrderSummary, OrderView
from salesorders.testing.fakes import FakePaymentGateway

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 3, 9)

_ADDRESS = Address("Ada Lovelace", "1 Main St", "London", "GB", postal_code="N1 9GU")
_TAXES = (TaxComponent("VAT", Decimal("0.20")),)
_DISCOUNTS = (Discount(DiscountKind.PERCENTAGE, Decimal("10"), "spring"),)
_INSPECTIONS = (
    Inspection("L1", Decimal("1"), InspectionOutcome.RESTOCK, "W1", "as new"),
    Inspection("L2", Decimal("1"), InspectionOutcome.WRITE_OFF),
)
_LINE = LineSpec(
    "SKU-A",
    Decimal("2"),
    Money("19.99", "EUR"),
    "A thing",
    _TAXES,
    _DISCOUNTS,
    quantity_precision=1,
    price_precision=4,
)


def service_command_classes() -> tuple[type, ...]:
    """Every command in every module of :mod:`salesorders.service`, by name."""
    found: set[type] = set()
    for info in pkgutil.iter_modules(service_package.__path__):
        module = importlib.import_module(f"{service_package.__name__}.{info.name}")
        for name in getattr(module, "__all__", ()):
            cls = getattr(module, name)
            if (
                inspect.isclass(cls)
                and attrs.has(cls)
                and (
                    "idempotency_key" in attrs.fields_dict(cls)
                    or isinstance(getattr(cls, "permission", None), str)
                )
            ):
                found.add(cls)
    return tuple(sorted(found, key=lambda cls: cls.__name__))


COMMANDS: dict[type, Any] = {
    cls: example
    for example in (
        CreateDraft(
            "C-1",
            "EUR",
            (_LINE, LineSpec("SKU-B", 3)),
            order_id="O-1",
            customer_group="retail",
            shipping_address=_ADDRESS,
            billing_address=_ADDRESS,
            discounts=_DISCOUNTS,
            shipping=Money("4.95", "EUR"),
            shipping_taxes=_TAXES,
            exchange_rate_base="USD",
            pricing=PricingPolicy(),
            workflow="approval",
            idempotency_key="k-1",
            actor="ann",
        ),
        PlaceOrder(
            customer_id="C-1",
            currency="EUR",
            lines=(_LINE, LineSpec("SKU-B", Decimal("1.5"), quantity_precision=1)),
            shipping=Money("4.95", "EUR"),
            confirm=True,
            all_or_nothing=True,
            idempotency_key="k-2",
        ),
        PlaceDraft("O-7", confirm=True, actor="sales:li", idempotency_key="k-2b"),
        ConfirmOrder("O-1", all_or_nothing=True, reason="ok", idempotency_key="k", actor="a"),
        CancelOrder("O-1", "customer asked"),
        HoldOrder("O-1", "credit check"),
        ResumeOrder("O-1", "cleared"),
        ReceiveStock("SKU-A", "W1", Decimal("10"), "PO-1", "B-1", dt.date(2027, 1, 31)),
        ReceiveExpected("IN-1", Decimal("4"), "B-2", dt.date(2027, 2, 1), "partial"),
        AdjustStock("SKU-A", "W1", Decimal("7"), "count", "B-1", release_excess=True),
        WriteOffStock("SKU-A", "W1", Decimal("1"), "broken", "B-1"),
        TransferStock("SKU-A", "W1", "W2", Decimal("2"), "T-1", "B-1", DAY, in_transit=False),
        RegisterWarehouse(
            Warehouse(
                "W1",
                "Main",
                "EU",
                "north",
                (Decimal("51.5"), Decimal("-0.12")),
                priority=1,
                ships_to=frozenset({"GB", "FR"}),
                distances=(("GB", Decimal("10")),),
            )
        ),
        SetStockLevels("SKU-A", "W1", Decimal("2"), Decimal("5"), Decimal("20")),
        ExpectStock(IncomingStock("IN-1", "SKU-A", "W1", Decimal("12"), DAY, "B-2", DAY)),
        AllocateBackorders("SKU-A", limit=10),
        ShipOrder(
            "O-1",
            (ShipLine("L1", Decimal("1")), ShipLine("L2")),
            "dhl",
            "express",
            "TRACK-1",
            "ship it",
        ),
        RecordShipmentEvent("O-1", "S1", "in_transit", "TR", T0, "Leeds", "on its way"),
        DeliverOrder("O-1", "signed"),
        CompleteOrder("O-1"),
        TransitionOrder("O-1", "approve", "fine", all_or_nothing=True),
        CancelLines("O-1", (CancelLine("L1", Decimal("1")), CancelLine("L2")), "short ship"),
        PromiseDelivery("O-1", DAY, "promised"),
        AuthorizePayment("O-1", Money("10.00", "EUR"), "P9", reference="card-1"),
        CapturePayment("O-1", "P1", Decimal("5.00")),
        VoidPayment("O-1", "P1", "not needed"),
        RefundPayment("O-1", "P1", Money("2.50", "EUR"), "goodwill"),
        RecordPayment("O-1", "bank_transfer", Decimal("12.34"), "BANK-1", "P2", "paid"),
        ApprovePayment("O-1", "P2", "seen on statement"),
        RejectPayment("O-1", "P2", "not on statement"),
        SetPaymentTerms("O-1", PaymentTerms.deposit("30", 14), "agreed"),
        RequestChange(
            "O-1",
            (
                ChangeAction.set_quantity("L1", 3),
                ChangeAction.add_line("SKU-C", 1, Money("5.00", "EUR"), taxes=_TAXES),
                ChangeAction.ship_to(_ADDRESS),
                ChangeAction.change_discounts(_DISCOUNTS, line_id="L1"),
            ),
            "customer asked",
            "C7",
        ),
        ApproveChange("O-1", "C1", "backorder", "fine"),
        DeclineChange("O-1", "C1", "too late"),
        CancelChange("O-1", "C1", "withdrawn"),
        RequestReturn("O-1", (ReturnItem("L1", Decimal("1"), "defective"),), "box torn", "R9"),
        ApproveReturn("O-1", "R1", "fine"),
        RejectReturn("O-1", "R1", "outside the window"),
        ReceiveReturn("O-1", "R1", _INSPECTIONS, "store_credit", "received"),
        ExchangeReturn("O-1", "R1", _INSPECTIONS, _LINE, "store_credit", "swap"),
        OpenRepair("O-1", "L1", Decimal("1"), "does not start", "RP9"),
        AdvanceRepair("O-1", "RP1", "diagnosing", "looked at"),
        RecordRepairNote("O-1", "RP1", "new battery"),
        CloseRepair("O-1", "RP1", Money("15.00", "EUR"), "warranty", "fixed"),
        OpenTicket("O-1", "damaged", "box crushed", "urgent", "L1", "S1", "T9"),
        AssignTicket("O-1", "T1", "warehouse", "Kim"),
        AddTicketNote("O-1", "T1", "replacement sent", "customer", "N9"),
        ResolveTicket("O-1", "T1", "replaced the item"),
        ReopenTicket("O-1", "T1", "still broken"),
        CloseTicket("O-1", "T1"),
        AddOrderNote("O-1", "@warehouse please check the seal", "N8"),
        PurgeAuditRecords(dt.datetime(2016, 1, 1, tzinfo=dt.UTC), dry_run=False),
        ExportCustomerData("C-1"),
        AnonymizeCustomer("C-1", "erasure request R-17"),
        RegisterCustomer(
            "C-1",
            "Alice",
            "alice@example.org",
            "+4930123456",
            "de_DE",
            "Europe/Berlin",
            ("email", "sms"),
            ("webhook",),
            (Address("Alice", "1 Main St", "Berlin", "DE"),),
            ("newsletter",),
        ),
        UpdateCustomer("C-1", "Alice L.", None, None, "en_GB"),
        AddCustomerNote("C-1", "prefers mornings", personal=True),
        EvaluateTiers("C-1"),
        AccruePoints(),
        RedeemPoints("O-1", 120, "LP1"),
        ScheduleFollowUp(
            "O-1", "call", dt.datetime(2026, 3, 9, 9, 0, tzinfo=dt.UTC), "mia", note="how is it"
        ),
    )
    for cls in [type(example)]
}


def _service() -> tuple[SalesService, ManualClock]:
    clock = ManualClock(T0)
    built = bootstrap(
        store=MemoryStore(),
        clock=clock,
        sleep=lambda _s: None,
        payment_gateway=FakePaymentGateway(),
    )
    built.handle(RegisterWarehouse(Warehouse("W1", priority=1)))
    built.handle(RegisterWarehouse(Warehouse("W2", priority=2)))
    for sku in ("SKU-A", "SKU-B"):
        built.handle(ReceiveStock(sku, "W1", 10, "PO-1"))
    return built, clock


def results() -> dict[str, Any]:
    """Every kind of result and view, from a service that ran an order's whole life (one of each
    kind; tuples of results under their own names)."""
    service, clock = _service()
    found: dict[str, Any] = {}
    lines = (LineSpec("SKU-A", 2, Money("19.99", "EUR"), taxes=_TAXES), LineSpec("SKU-B", 12))
    lines = (lines[0], attrs.evolve(lines[1], unit_price=Money("5.00", "EUR")))
    placed = service.handle(
        PlaceOrder(customer_id="C-1", currency="EUR", lines=lines, confirm=True)
    )
    order_id = placed.order_id
    found["OrderResult"] = placed
    found["LedgerEntry"] = service.handle(ReceiveStock("SKU-A", "W1", 5, "PO-2"))
    found["tuple[LedgerEntry, ...]"] = service.handle(
        TransferStock("SKU-A", "W1", "W2", 1, "T-1", in_transit=True)
    )
    service.handle(ReceiveStock("SKU-B", "W1", 5, "PO-3"))  # the backordered 2 can be served
    found["tuple[OrderResult, ...]"] = service.handle(AllocateBackorders())
    service.handle(AuthorizePayment(order_id, placed.grand_total))
    service.handle(CapturePayment(order_id, "P1"))
    service.handle(RecordPayment(order_id, "bank_transfer", "1.00", "BANK-1", actor="fin"))
    found["AwaitingReview"] = service.payments_awaiting_review()[0]
    found["ChangeResult"] = service.handle(
        RequestChange(order_id, (ChangeAction.set_quantity("L1", 1),), "fewer", actor="cs")
    )
    found["ChangeAwaitingReview"] = service.changes_awaiting_review()[0]
    found["Reservation"] = service.reservations(order_id)[0]
    found["StockItem"] = service.stock_items()[0]
    service.handle(ShipOrder(order_id, tracking_number="TRACK-1"))
    found["Page[OpenShipment]"] = service.open_shipments()
    clock.advance(dt.timedelta(days=1))
    service.handle(DeliverOrder(order_id))
    found["Page[LeadTime]"] = service.lead_times()
    found["LineEligibility"] = service.return_eligibility(order_id)[0]
    service.handle(RequestReturn(order_id, (ReturnItem("L1", 1),), actor="cs"))
    found["ReturnAwaitingReview"] = service.returns_awaiting_review()[0]
    found["ReviewItem"] = service.awaiting_review()[0]
    net = service.handle(
        PlaceOrder(customer_id="C-2", currency="EUR", lines=lines[:1], confirm=True)
    )
    service.handle(SetPaymentTerms(net.order_id, PaymentTerms.net(1)))
    service.handle(PromiseDelivery(net.order_id, clock.now().date()))
    service.handle(ShipOrder(net.order_id))
    clock.advance(dt.timedelta(days=5))
    found["Page[LateShipment]"] = service.late_shipments()
    found["OverdueOrder"] = service.overdue_orders()[0]
    found["DispatchReport"] = service.dispatcher.dispatch_once()
    order = service.get_order(order_id)
    for name in ("OpenShipment", "LeadTime", "LateShipment"):
        found[name] = found[f"Page[{name}]"].items[0]
    found["OrderView"] = OrderView.of(order)
    found["OrderSummary"] = OrderSummary.of(order)
    return found
