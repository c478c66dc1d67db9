"""What the demo's customers are told, in their own languages, and why each warehouse was chosen.

:class:`LocalizedNotifier` renders order events delivered through the outbox as short customer
messages; :class:`ExplainingPolicy` keeps the explanation of every allocation plan the service's
policy made, so the demo can show why stock came from where it did.
"""

from __future__ import annotations

from moneyed import Money

from salesorders.domain.allocation import AllocationPolicy, PriorityPolicy
from salesorders.domain.money import format_money
from salesorders.domain.order import Order
from salesorders.domain.plan import AllocationPlan, AllocationRequest
from salesorders.domain.snapshot import StockSnapshot
from salesorders.ports import OutboxMessage

__all__ = ["CUSTOMER_LOCALES", "ExplainingPolicy", "LocalizedNotifier"]

# The language each demo customer reads their notifications in.
CUSTOMER_LOCALES = {
    "C-LI": "zh_CN",
    "C-ANNA": "de_DE",
    "C-SMITH": "en_US",
    "C-SATO": "ja_JP",
    "C-ACME": "en_US",
}

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


class ExplainingPolicy:
    """The service's allocation policy (priority by default), keeping each order's first plan's
    reasons: one line per allocation and backorder (see
    :meth:`~salesorders.domain.plan.AllocationPlan.reasons`)."""

    def __init__(self, policy: AllocationPolicy | None = None) -> None:
        self.policy: AllocationPolicy = PriorityPolicy() if policy is None else policy
        self.reasons: dict[str, tuple[str, ...]] = {}

    @property
    def name(self) -> str:
        return f"explained {self.policy.name}"

    def allocate(self, request: AllocationRequest, snapshot: StockSnapshot) -> AllocationPlan:
        plan = self.policy.allocate(request, snapshot)
        self.reasons.setdefault(request.order_id, tuple(plan.reasons()))
        return plan
