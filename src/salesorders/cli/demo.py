"""``salesorders demo``: play the demo's story on a fresh SQLite file and show what happened.

The store is kept where the user can find it (``./salesorders-demo.sqlite3`` unless ``--store``
names another file), recreated on every run, and the summary ends with the commands to try on it.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from moneyed import Money

from salesorders.adapters.sqlite import SQLiteStore
from salesorders.cli.demo_customers import print_customers
from salesorders.cli.demo_mail import DEMO_CONTACTS
from salesorders.cli.demo_permissions import print_permissions
from salesorders.cli.demo_returns import print_return
from salesorders.cli.demo_scenes import DemoRun, play_demo
from salesorders.cli.output import Column, Output
from salesorders.cli.store import is_dsn, redacted
from salesorders.domain.money import format_money
from salesorders.domain.order import Order
from salesorders.errors import ValidationError

__all__ = ["DEFAULT_DEMO_STORE", "run_demo"]

#: Where the demo keeps its store unless ``--store`` says otherwise: the current directory.
DEFAULT_DEMO_STORE = "salesorders-demo.sqlite3"

# The language each demo customer reads.
CUSTOMER_LOCALES = {contact.customer_id: contact.locale for contact in DEMO_CONTACTS}


def run_demo(target: str, out: Output) -> int:
    """Play the demo on a fresh SQLite file at ``target`` and print its summary."""
    if is_dsn(target):
        raise ValidationError(
            "--store",
            redacted(target),
            "the demo runs on an SQLite file, which it deletes and recreates",
            "give a file path, e.g. --store salesorders-demo.sqlite3",
        )
    path = Path(target)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with SQLiteStore(path) as store:
        run = play_demo(store)
        _print_summary(run, target, out)
    return 0


def _audit_table(order: Order, out: Output) -> None:
    out.table(
        [
            Column("at"),
            Column("event"),
            Column("from"),
            Column("to"),
            Column("by"),
            Column("why", wrap=True),
        ],
        [
            [
                f"{entry.at:%m-%d %H:%M}",
                entry.event,
                entry.from_state,
                entry.to_state,
                entry.actor or "-",
                entry.reason,
            ]
            for entry in order.audit
        ],
    )


def _print_summary(run: DemoRun, target: str, out: Output) -> None:
    service = run.service
    orders = [service.get_order(order_id) for order_id in run.order_ids]
    li, anna, smith, sato, acme = orders
    out.line(f"salesorders demo — embedded SQLite store at {target}")
    out.heading("Orders")
    out.table(
        [
            Column("number"),
            Column("customer"),
            Column("state"),
            Column("allocation"),
            Column("total", right=True),
        ],
        [
            [
                order.number or "-",
                order.customer_id,
                order.state,
                order.allocation_status,
                format_money(order.grand_total, CUSTOMER_LOCALES[order.customer_id]),
            ]
            for order in orders
        ],
    )
    out.heading("Why the stock came from where it did (the allocation plans)")
    for order in orders:
        for reason in run.policy.reasons.get(order.id, ()):
            out.line(f"  {order.number} {reason}", indent=6)
    out.heading("Exchange rates frozen on orders in another currency")
    for order in orders:
        rate = order.exchange_rate
        if rate is not None and rate.base != rate.quote:
            out.line(
                f"  {order.number}: 1 {rate.base} = {rate.rate} {rate.quote}, "
                f"as of {rate.as_of:%Y-%m-%d %H:%M} ({rate.source}); its totals never move"
            )
    _print_backorders(run, smith, out)
    _print_approval(run, acme, out)
    print_permissions(run.permissions, str(acme.number), out)
    out.heading(f"Lines and prices of {anna.number}")
    out.table(
        [
            Column("line"),
            Column("sku"),
            Column("qty", right=True),
            Column("gross", right=True),
            Column("price from"),
        ],
        [
            [
                line.line_id,
                line.sku,
                str(line.quantity),
                format_money(Money(line.gross, anna.currency), "de_DE"),
                line.price_source,
            ]
            for line in anna.lines
        ],
    )
    print_return(anna, out, "de_DE")
    print_customers(run.customers, str(anna.number), out)
    _print_shipments(anna, out)
    out.heading(f"Audit trail of {sato.number}")
    _audit_table(sato, out)
    _print_stock(run, out)
    _print_mail(run, out)
    _print_next_steps(target, li, anna, out)


def _print_mail(run: DemoRun, out: Output) -> None:
    """What the local mail server received through the relay: one line per email."""
    out.heading("Notifications delivered through the outbox")
    if not run.mailed:
        out.line(
            "  (install the demo extra to send them by email to a local mail server: "
            "pip install 'salesorders[demo]')"
        )
        return
    # By customer, in the story's order; each customer's mail in the order it was sent.
    rank = {contact.email: index for index, contact in enumerate(DEMO_CONTACTS)}
    received = sorted(run.received, key=lambda mail: rank.get(mail.recipient, len(rank)))
    locales = sorted({mail.locale for mail in received})
    out.line(
        f"  the outbox relay sent {len(received)} emails through a local SMTP server, "
        f"in {len(locales)} languages ({', '.join(locales)}); it received:"
    )
    out.table(
        [Column("to"), Column("language"), Column("subject", wrap=True)],
        [[mail.recipient, mail.locale, mail.subject] for mail in received],
    )
    first = received[0] if received else None
    if first is not None:
        out.line(f"  the first, as {first.recipient} reads it:")
        for line in first.text().strip().splitlines():
            out.line(f"    {line}", indent=4)


def _print_shipments(order: Order, out: Output) -> None:
    out.heading(f"Shipments of {order.number}")
    rows = []
    for shipment in order.shipments:
        last = shipment.events[-1] if shipment.events else None
        where = f"{last.status.value} at {last.location}" if last and last.location else ""
        rows.append(
            [
                shipment.id[-2:],
                shipment.warehouse_id,
                shipment.carrier,
                shipment.tracking_number or "-",
                ", ".join(f"{line.sku} x{line.quantity}" for line in shipment.lines),
                where or shipment.status.value,
            ]
        )
    out.table(
        [
            Column("id"),
            Column("from"),
            Column("carrier"),
            Column("tracking"),
            Column("goods"),
            Column("status"),
        ],
        rows,
    )


def _print_stock(run: DemoRun, out: Output) -> None:
    service = run.service
    out.heading("Stock")
    items = sorted(service.stock_items(), key=lambda i: (i.sku, i.warehouse_id))
    out.table(
        [
            Column("sku"),
            Column("warehouse"),
            Column("on hand", right=True),
            Column("reserved", right=True),
            Column("available", right=True),
        ],
        [
            [
                item.sku,
                item.warehouse_id,
                str(item.on_hand),
                str(item.reserved),
                str(item.available),
            ]
            for item in items
        ],
    )
    discrepancies = service.reconcile_stock()
    out.line(
        f"  reconciliation: {len(discrepancies)} discrepancies between figures, "
        "reservations and ledger"
    )
    with service.uow_factory() as uow:
        alerts = [m for m in uow.outbox.messages() if m.event_type == "LowStock"]
    for alert in alerts:
        payload = alert.payload
        out.line(
            f"  low stock: {payload['sku']} in {payload['warehouse_id']} at "
            f"{payload['available']} (reorder point {payload['reorder_point']}, suggest "
            f"{payload['suggested_quantity']})"
        )


def _print_backorders(run: DemoRun, order: Order, out: Output) -> None:
    """What the order's confirmation backordered, and what the receipt served later."""
    out.heading(f"Backorders on {order.number}")
    skus = {line.line_id: line.sku for line in order.lines}
    with run.service.uow_factory() as uow:
        messages = uow.outbox.messages(order.id)
    for message in messages:
        at = f"{message.occurred_at:%Y-%m-%d %H:%M}"
        if message.event_type == "OrderConfirmed":
            for line_id, quantity, expected in message.payload["backorders"]:
                out.line(
                    f"  {at} confirmed: {skus[line_id]} {quantity} backordered, "
                    f"expected {expected or 'at an unknown date'}"
                )
        elif message.event_type == "OrderAllocationChanged":
            for line_id, allocated, backordered in message.payload["lines"]:
                out.line(
                    f"  {at} stock arrived: {skus[line_id]} {allocated} reserved, "
                    f"{backordered} backordered"
                )


def _print_approval(run: DemoRun, order: Order, out: Output) -> None:
    """The approval steps of an order on the approval workflow, and what approval reserved."""
    service = run.service
    out.heading(f"Approval and payment of {order.number} (workflow {order.workflow.name})")
    for entry in order.audit:
        why = f": {entry.reason}" if entry.reason else ""
        out.line(
            f"  {entry.at:%Y-%m-%d %H:%M} {entry.event}: {entry.from_state} -> "
            f"{entry.to_state} by {entry.actor or '-'}{why}"
        )
    held = ", ".join(
        f"{r.sku} x{r.quantity} from {r.warehouse_id}" for r in service.reservations(order.id)
    )
    out.line(f"  reserved on approval, then by changes: {held or 'nothing'}")
    for change in order.changes:
        out.line(
            f"  change {change.id} requested by {change.requested_by}: {change.reason}; "
            f"{change.status.value} by {change.decided_by or '-'}: {change.decision_reason}; "
            f"revision {change.revision}, total {format_money(change.preview.grand_total, 'en_US')}"
            f", difference due {format_money(change.preview.difference_due, 'en_US')}"
        )
    for payment in order.payments:
        amount = format_money(Money(payment.amount, payment.currency), "en_US")
        decided = (
            f" by {payment.decided_by}: {payment.decision_reason}" if payment.decided_by else ""
        )
        out.line(
            f"  payment {payment.id}: {payment.method.value} {amount} ref {payment.reference} "
            f"recorded by {payment.recorded_by}, {payment.status.value}{decided}"
        )
    out.line(
        f"  payment status {order.payment_status.value}, balance due "
        f"{format_money(order.balance_due, 'en_US')}"
    )


def _print_next_steps(target: str, li: Order, anna: Order, out: Output) -> None:
    commands: Sequence[str] = (
        "orders list",
        "orders list --customer C-ANNA --json",
        f"orders show {anna.number}",
        f"orders track {anna.number}",
        f"orders show {li.number} --locale zh_CN",
        "stock --sku MUG-6",
        "report --from 2026-11-01 --to 2026-11-30 --group-by sku",
        "migrate --check",
    )
    out.heading("Try next, on this demo's store (each run of the demo starts it afresh)")
    # whole, to copy: a path is not wrapped
    out.stream.write(f"  export SALESORDERS_STORE={shlex.quote(target)}\n")
    for command in commands:
        out.line(f"  python -m salesorders {command}", indent=6)
    out.line("  (or name the store in each command: --store PATH)")
