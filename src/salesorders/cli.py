"""The operator's command line: ``python -m salesorders <command>``.

* ``demo`` — seeds an embedded SQLite store, places, confirms and cancels orders in several
  currencies, ships one with a tracking number, serves a backorder when its stock arrives, runs
  an order through an approval workflow, has finance review its bank transfer, takes an item
  back and refunds it to the cent, delivers the notifications through the outbox, and prints a
  readable summary.
* ``orders`` — lists the orders of a store file.
* ``stock`` — stock per SKU and warehouse of a store file, and the reconciliation check.

Built on the service layer only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from moneyed import Money

from salesorders.adapters.sqlite import SQLiteStore
from salesorders.cli_returns import print_return, return_one_item
from salesorders.domain.changes import ChangeAction
from salesorders.domain.money import format_money
from salesorders.domain.order import Address, Order
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
from salesorders.errors import SalesOrdersError
from salesorders.ports import OrderQuery, OutboxMessage
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
from salesorders.testing.fakes import FakeCarrier

__all__ = ["main"]

DEMO_START = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)

# The language each demo customer reads their notifications in.
CUSTOMER_LOCALES = {
    "C-LI": "zh_CN",
    "C-ANNA": "de_DE",
    "C-SMITH": "en_US",
    "C-SATO": "ja_JP",
    "C-ACME": "en_US",
}

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

_TEMPLATES = {
    "en_US": {
        "OrderPlaced": "Thank you! Order {number} was received; total {total}.",
        "OrderConfirmed": "Order {number} is confirmed and its stock is reserved.",
        "OrderCancelled": "Order {number} was cancelled.",
        "OrderHeld": "Order {number} is on hold.",
        "OrderResumed": "Order {number} is being processed again.",
        "OrderShipped": "Order {number} has shipped.",
        "OrderAllocationChanged": "Stock for order {number} is now reserved.",
    },
    "zh_CN": {
        "OrderPlaced": "感谢您的订购！订单 {number} 已收到，总计 {total}。",
        "OrderConfirmed": "订单 {number} 已确认，库存已为您预留。",
        "OrderCancelled": "订单 {number} 已取消。",
        "OrderHeld": "订单 {number} 已暂停处理。",
        "OrderResumed": "订单 {number} 已恢复处理。",
        "OrderShipped": "订单 {number} 已发货。",
        "OrderAllocationChanged": "订单 {number} 的商品库存已为您预留。",
    },
    "de_DE": {
        "OrderPlaced": "Vielen Dank! Bestellung {number} ist eingegangen; Summe {total}.",
        "OrderConfirmed": "Bestellung {number} ist bestätigt, die Ware ist reserviert.",
        "OrderCancelled": "Bestellung {number} wurde storniert.",
        "OrderHeld": "Bestellung {number} wurde angehalten.",
        "OrderResumed": "Bestellung {number} wird weiter bearbeitet.",
        "OrderShipped": "Bestellung {number} ist unterwegs.",
        "OrderAllocationChanged": "Die Ware für Bestellung {number} ist jetzt reserviert.",
    },
    "ja_JP": {
        "OrderPlaced": "ご注文ありがとうございます。注文 {number} を承りました（合計 {total}）。",
        "OrderConfirmed": "注文 {number} を確定し、在庫を確保しました。",
        "OrderCancelled": "注文 {number} はキャンセルされました。",
        "OrderHeld": "注文 {number} は保留中です。",
        "OrderResumed": "注文 {number} の処理を再開しました。",
        "OrderShipped": "注文 {number} を発送しました。",
        "OrderAllocationChanged": "注文 {number} の在庫を確保しました。",
    },
}


class LocalizedNotifier:
    """Renders order events as short customer messages in each customer's language."""

    def __init__(self, orders: dict[str, Order]) -> None:
        self.orders = orders
        self.sent: list[tuple[str, int, str, str]] = []  # (order number, sequence, customer, text)

    def notify(self, message: OutboxMessage) -> None:
        order = self.orders.get(message.stream_id)
        if order is None:
            return  # not an order stream (e.g. a low-stock alert): no customer to tell
        locale = CUSTOMER_LOCALES.get(order.customer_id, "en_US")
        template = _TEMPLATES[locale].get(message.event_type)
        if template is None:
            return
        total = format_money(Money(order.totals.grand_total, order.currency), locale)
        text = template.format(number=order.number, total=total)
        self.sent.append((order.number or order.id, message.sequence, order.customer_id, text))


def _price_book() -> PriceBook:
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


def _seed(service: SalesService, clock: ManualClock) -> None:
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


def _place_demo_orders(service: SalesService, clock: ManualClock) -> list[str]:
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
    # Anna's parcel arrives with a dented tin: it comes back, and she is refunded to the cent.
    return_one_item(service, clock, anna.order_id)
    return placed


def run_demo(path: Path, out: TextIO) -> int:
    """Run the demo on a fresh SQLite file at ``path``; print the summary to ``out``."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    clock = ManualClock(DEMO_START)
    rates = StaticExchangeRates(
        [ExchangeRate("USD", "JPY", Decimal("151.37"), DEMO_START, "demo rates")]
    )
    orders: dict[str, Order] = {}
    notifier = LocalizedNotifier(orders)
    with SQLiteStore(path) as store:
        service = bootstrap(
            store=store,
            clock=clock,
            price_book=_price_book(),
            exchange_rates=rates,
            notifiers=[notifier],
            carriers=[FakeCarrier("DHL", prefix="JD")],
            workflows=[APPROVAL_WORKFLOW],
            serve_backorders_on_receipt=True,
        )
        _seed(service, clock)
        ids = _place_demo_orders(service, clock)
        for order_id in ids:
            orders[order_id] = service.get_order(order_id)
        while service.dispatcher.dispatch_once().delivered:
            pass
        _print_summary(service, ids, notifier, path, out)
    return 0


def _print_summary(
    service: SalesService, ids: Sequence[str], notifier: LocalizedNotifier, path: Path, out: TextIO
) -> None:
    w = out.write
    w(f"salesorders demo — embedded SQLite store at {path}\n\n")
    w("Orders\n")
    w(f"  {'number':16} {'customer':9} {'state':10} {'allocation':20} {'total':>16}\n")
    for order_id in ids:
        order = service.get_order(order_id)
        locale = CUSTOMER_LOCALES[order.customer_id]
        total = format_money(order.grand_total, locale)
        w(
            f"  {order.number or '-':16} {order.customer_id:9} {order.state:10} "
            f"{order.allocation_status:20} {total:>16}\n"
        )
    _print_backorders(service, service.get_order(ids[2]), w)
    _print_approval(service, service.get_order(ids[4]), w)
    w(f"\nLines and prices of {service.get_order(ids[1]).number}\n")
    anna = service.get_order(ids[1])
    for line in anna.lines:
        w(
            f"  {line.line_id} {line.sku:8} x{line.quantity:<4} "
            f"{format_money(Money(line.gross, anna.currency), 'de_DE'):>12}"
            f"  ({line.price_source})\n"
        )
    print_return(anna, "de_DE", w)
    w(f"\nShipments of {anna.number}\n")
    for shipment in anna.shipments:
        lines = ", ".join(f"{line.sku} x{line.quantity}" for line in shipment.lines)
        last = shipment.events[-1] if shipment.events else None
        where = f", {last.status.value} at {last.location}" if last and last.location else ""
        w(
            f"  {shipment.id[-2:]} from {shipment.warehouse_id} by {shipment.carrier} "
            f"{shipment.tracking_number} ({lines}){where}\n"
        )
    sato = service.get_order(ids[3])
    w(f"\nAudit trail of {sato.number}\n")
    for entry in sato.audit:
        w(
            f"  {entry.at:%Y-%m-%d %H:%M} {entry.event:8} {entry.from_state:>9} -> "
            f"{entry.to_state:10} by {entry.actor or '-'}"
            f"{': ' + entry.reason if entry.reason else ''}\n"
        )
    w("\nStock (on hand / reserved / available)\n")
    items = service.stock_items()
    for item in sorted(items, key=lambda i: (i.sku, i.warehouse_id)):
        w(
            f"  {item.sku:8} {item.warehouse_id:4} {item.on_hand:>6} {item.reserved:>6} "
            f"{item.available:>6}\n"
        )
    discrepancies = service.reconcile_stock()
    with service.uow_factory() as uow:
        alerts = [m for m in uow.outbox.messages() if m.event_type == "LowStock"]
    w(
        f"  reconciliation: {len(discrepancies)} discrepancies between figures, "
        "reservations and ledger\n"
    )
    for alert in alerts:
        payload = alert.payload
        w(
            f"  low stock: {payload['sku']} in {payload['warehouse_id']} at {payload['available']} "
            f"(reorder point {payload['reorder_point']}, suggest {payload['suggested_quantity']})\n"
        )
    w("\nNotifications delivered through the outbox\n")
    for number, sequence, customer, text in sorted(notifier.sent):
        w(f"  {number} #{sequence} {customer:8} {text}\n")
    w("\nRun it again: the demo starts from a fresh store each time.\n")


def _print_backorders(service: SalesService, order: Order, w: Callable[[str], object]) -> None:
    """What the order's confirmation backordered, and what the receipt served later."""
    w(f"\nBackorders on {order.number}\n")
    skus = {line.line_id: line.sku for line in order.lines}
    with service.uow_factory() as uow:
        messages = uow.outbox.messages(order.id)
    for message in messages:
        at = f"{message.occurred_at:%Y-%m-%d %H:%M}"
        if message.event_type == "OrderConfirmed":
            for line_id, quantity, expected in message.payload["backorders"]:
                w(
                    f"  {at} confirmed: {skus[line_id]} {quantity} backordered, "
                    f"expected {expected or 'at an unknown date'}\n"
                )
        elif message.event_type == "OrderAllocationChanged":
            for line_id, allocated, backordered in message.payload["lines"]:
                w(
                    f"  {at} stock arrived: {skus[line_id]} {allocated} reserved, "
                    f"{backordered} backordered\n"
                )


def _print_approval(service: SalesService, order: Order, w: Callable[[str], object]) -> None:
    """The approval steps of an order on the approval workflow, and what approval reserved."""
    w(f"\nApproval and payment of {order.number} (workflow {order.workflow.name})\n")
    for entry in order.audit:
        w(
            f"  {entry.at:%Y-%m-%d %H:%M} {entry.event:8} {entry.from_state:>17} -> "
            f"{entry.to_state:17} by {entry.actor or '-'}"
            f"{': ' + entry.reason if entry.reason else ''}\n"
        )
    held = ", ".join(
        f"{r.sku} x{r.quantity} from {r.warehouse_id}" for r in service.reservations(order.id)
    )
    w(f"  reserved on approval, then by changes: {held or 'nothing'}\n")
    for change in order.changes:
        w(
            f"  change {change.id} requested by {change.requested_by}: {change.reason}; "
            f"{change.status.value} by {change.decided_by or '-'}: {change.decision_reason}; "
            f"revision {change.revision}, total {format_money(change.preview.grand_total, 'en_US')}"
            f", difference due {format_money(change.preview.difference_due, 'en_US')}\n"
        )
    for payment in order.payments:
        amount = format_money(Money(payment.amount, payment.currency), "en_US")
        w(
            f"  payment {payment.id}: {payment.method.value} {amount} ref {payment.reference} "
            f"recorded by {payment.recorded_by}, {payment.status.value}"
            + (f" by {payment.decided_by}: {payment.decision_reason}" if payment.decided_by else "")
            + "\n"
        )
    w(
        f"  payment status {order.payment_status.value}, balance due "
        f"{format_money(order.balance_due, 'en_US')}\n"
    )


def _orders(path: Path, out: TextIO) -> int:
    with SQLiteStore(path) as store:
        service = bootstrap(store=store, workflows=[APPROVAL_WORKFLOW])
        query = OrderQuery(limit=100)
        while True:
            page = service.list_orders(query)
            for order in page.orders:
                out.write(
                    f"{order.number or order.id:18} {order.customer_id:10} {order.state:10} "
                    f"{format_money(order.grand_total, 'en_US'):>14}\n"
                )
            if page.next_cursor is None:
                return 0
            query = OrderQuery(limit=100, after=page.next_cursor)


def _stock(path: Path, out: TextIO) -> int:
    with SQLiteStore(path) as store:
        service = bootstrap(store=store, workflows=[APPROVAL_WORKFLOW])
        for item in sorted(service.stock_items(), key=lambda i: (i.sku, i.warehouse_id)):
            out.write(
                f"{item.sku:12} {item.warehouse_id:6} on hand {item.on_hand:>8} "
                f"reserved {item.reserved:>8} available {item.available:>8}\n"
            )
        found = service.reconcile_stock()
        for discrepancy in found:
            out.write(
                f"DISCREPANCY {discrepancy.sku} {discrepancy.warehouse_id}: "
                f"{discrepancy.explanation}\n"
            )
        out.write(f"{len(found)} discrepancies\n")
        return 1 if found else 0


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    parser = argparse.ArgumentParser(
        prog="python -m salesorders", description="salesorders operator tools"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the demo on an embedded SQLite store")
    demo.add_argument(
        "--db",
        type=Path,
        default=Path(tempfile.gettempdir()) / "salesorders-demo.sqlite3",
        help="the demo's SQLite file (recreated on every run)",
    )
    for name, text in (
        ("orders", "list the orders of a store"),
        ("stock", "stock figures and reconciliation"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("db", type=Path, help="the SQLite store file")
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            return run_demo(args.db, stream)
        if not args.db.exists():
            parser.error(f"no store file at {args.db}")
        if args.command == "orders":
            return _orders(args.db, stream)
        return _stock(args.db, stream)
    except SalesOrdersError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
