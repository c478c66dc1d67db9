"""How a change is worked out against an order: every action checked and applied to a working
copy of the order's lines, discounts, shipping and address, the stock it needs and frees counted,
and the result priced — without touching the order. :class:`~salesorders.domain.order_changes.
OrderChanges` previews and applies what :class:`ChangeWork` works out.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Final

import attrs
from moneyed import Money

from salesorders.domain.changes import ChangeAction, ChangeKind, ChangePreview, SkuQuantity
from salesorders.domain.checks import check_text
from salesorders.domain.money import to_quantity
from salesorders.domain.order_pricing import priced_order
from salesorders.domain.order_values import Address, LineSpec, OrderLine, Totals, with_allocation
from salesorders.domain.payments import payment_figures
from salesorders.domain.plan import AllocationPlan
from salesorders.domain.pricing import Charge, Discount, check_unit_price
from salesorders.errors import (
    CurrencyMismatchError,
    InsufficientStockError,
    Shortage,
    ValidationError,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from salesorders.domain.order_changes import OrderChanges
    from salesorders.domain.order_values import LineFields
    from salesorders.domain.payments import Payment
    from salesorders.domain.pricing import LineToPrice

__all__ = ["ChangeWork", "PlannedChange"]

_ZERO: Final = Decimal(0)


@attrs.frozen(slots=True)
class PlannedChange:
    """A change worked out against the order as it is: the priced result and its stock."""

    lines: tuple[OrderLine, ...]
    order_discounts: tuple[Discount, ...]
    shipping: Charge | None
    shipping_address: Address | None
    totals: Totals
    increases: dict[str, tuple[str, Decimal]]  # line id -> (sku, quantity to reserve)
    freed: dict[str, Decimal]  # line id -> allocated quantity to release
    freed_skus: dict[str, Decimal]
    next_line_number: int

    def preview(
        self,
        currency: str,
        grand_total_before: Decimal,
        owed_before: Decimal,
        payments: Sequence[Payment],
    ) -> ChangePreview:
        """What the change does to the order's totals, stock and balance (counted as the
        order's payment figures count it: the amount owed — the grand total, less credit
        notes, plus repairs charged — less net paid)."""
        before = payment_figures(payments, owed_before)
        owed_after = owed_before - grand_total_before + self.totals.grand_total
        after = payment_figures(payments, owed_after)
        needed: dict[str, Decimal] = {}
        for sku, quantity in self.increases.values():
            needed[sku] = needed.get(sku, _ZERO) + quantity
        return ChangePreview(
            currency,
            grand_total_before,
            self.totals,
            before.balance_due,
            after.balance_due,
            after.customer_credit,
            _sku_quantities(needed),
            _sku_quantities(self.freed_skus),
        )

    def with_plan(
        self, order_id: str, plan: AllocationPlan | None, on_shortage: str
    ) -> tuple[tuple[OrderLine, ...], tuple[tuple[str, str], ...]]:
        """The planned lines with what ``plan`` reserved for the increases and the rest
        backordered (or, with ``on_shortage="refuse"``, refused), and the backorders as text."""
        got: dict[str, Decimal] = {}
        if plan is not None:
            if not isinstance(plan, AllocationPlan) or plan.order_id != order_id:
                raise ValidationError("plan", plan, f"must be an AllocationPlan for {order_id}")
            for allocation in plan.allocations:
                got[allocation.line_id] = got.get(allocation.line_id, _ZERO) + allocation.quantity
        for line_id, quantity in got.items():
            wanted = self.increases.get(line_id)
            if wanted is None or quantity > wanted[1]:
                raise ValidationError(
                    "plan.allocations", line_id, "allocates more than the change adds to the line"
                )
        shortages = []
        backorders = []
        lines = []
        for line in self.lines:
            increase = self.increases.get(line.line_id)
            if increase is not None:
                reserved = got.get(line.line_id, _ZERO)
                rest = increase[1] - reserved
                if rest:
                    shortages.append(Shortage(line.sku, increase[1], reserved))
                    backorders.append((line.line_id, str(rest)))
                line = with_allocation(
                    line,
                    line.allocated + reserved,
                    line.backordered + rest,
                    line.backorder_expected,
                )
            lines.append(line)
        if shortages and on_shortage == "refuse":
            raise InsufficientStockError(shortages, order_id)
        return tuple(lines), tuple(backorders)


class ChangeWork:
    """One change being worked out: the order's lines, discounts, shipping and address as the
    actions so far leave them, and the stock they need and free."""

    def __init__(self, order: OrderChanges) -> None:
        self.order = order
        self.holds = order.holds_stock
        self.shipped = order.shipped_quantities()
        self.lines = {line.line_id: line for line in order.lines}
        self.removed: set[str] = set()
        self.quantity_set: set[str] = set()
        self.price_set: set[str] = set()
        self.added: list[tuple[LineFields, LineToPrice]] = []
        self.number = order.next_line_number
        self.order_discounts = order.order_discounts
        self.shipping = order.shipping
        self.address = order.shipping_address
        self.increases: dict[str, tuple[str, Decimal]] = {}
        self.freed: dict[str, Decimal] = {}
        self.freed_skus: dict[str, Decimal] = {}

    def take(self, action: ChangeAction) -> None:
        kind = action.kind
        if kind is ChangeKind.SET_QUANTITY or kind is ChangeKind.REMOVE_LINE:
            self._quantity(action, kind is ChangeKind.REMOVE_LINE)
        elif kind is ChangeKind.ADD_LINE:
            self._add(action)
        elif kind is ChangeKind.CHANGE_UNIT_PRICE:
            self._price(action)
        elif kind is ChangeKind.CHANGE_DISCOUNTS:
            self._discounts(action)
        elif kind is ChangeKind.SHIPPING_ADDRESS:
            if not isinstance(action.address, Address):
                raise ValidationError("address", action.address, "must be an Address")
            self.address = action.address
        elif kind is ChangeKind.SHIPPING_CHARGE:
            value = self.order._own_amount(_given(self._money(action, "amount")), "amount")
            if value < 0:
                raise ValidationError("amount", str(value), "must not be negative")
            self.shipping = Charge(value, action.taxes) if value else None
        else:
            raise ValidationError(
                "kind", kind, "is not a change kind", "use one of the ChangeAction class methods"
            )

    def _line(self, line_id: str) -> OrderLine:
        line = self.lines.get(line_id) if isinstance(line_id, str) else None
        if line is None or line_id in self.removed:
            raise ValidationError(
                "line_id", line_id, f"is not a line of order {self.order.id}", "check the line id"
            )
        return line

    def _quantity(self, action: ChangeAction, remove: bool) -> None:
        line = self._line(action.line_id)
        if line.line_id in self.quantity_set:
            raise ValidationError(
                "line_id", line.line_id, "has its quantity changed twice", "change it once"
            )
        shipped = self.shipped.get(line.line_id, _ZERO)
        if remove:
            if shipped:
                raise ValidationError(
                    "line_id",
                    line.line_id,
                    f"has {shipped} shipped and cannot be removed",
                    "set its quantity to what has shipped instead",
                )
            wanted = _ZERO
        else:
            wanted = to_quantity(action.quantity, "quantity", line.quantity_precision)
            if wanted < shipped:
                raise ValidationError(
                    "quantity",
                    str(wanted),
                    f"is less than the {shipped} of line {line.line_id} already shipped",
                    "only unshipped quantities can change; shipped goods come back through a "
                    "return",
                )
            if wanted == line.open_quantity:
                raise ValidationError(
                    "quantity", str(wanted), f"is already line {line.line_id}'s quantity"
                )
        self.quantity_set.add(line.line_id)
        difference = wanted - line.open_quantity
        allocated, backordered = line.allocated, line.backordered
        if self.holds and difference > 0:
            self.increases[line.line_id] = (line.sku, difference)
        elif self.holds:
            less = -difference
            from_backorder = min(less, backordered)
            from_allocated = less - from_backorder
            backordered -= from_backorder
            allocated -= from_allocated
            if from_allocated:
                self.freed[line.line_id] = from_allocated
                self.freed_skus[line.sku] = self.freed_skus.get(line.sku, _ZERO) + from_allocated
        if remove:
            self.removed.add(line.line_id)
            return
        self.lines[line.line_id] = attrs.evolve(
            line,
            quantity=line.cancelled + wanted,
            allocated=allocated,
            backordered=backordered,
            backorder_expected=line.backorder_expected if backordered else None,
        )

    def _unshipped(self, line: OrderLine, field: str) -> None:
        shipped = self.shipped.get(line.line_id, _ZERO)
        if shipped:
            raise ValidationError(
                field,
                line.line_id,
                f"line {line.line_id} has {shipped} shipped; its price can no longer change",
                "change the price of lines nothing has shipped from",
            )

    def _price(self, action: ChangeAction) -> None:
        line = self._line(action.line_id)
        self._unshipped(line, "line_id")
        if line.line_id in self.price_set:
            raise ValidationError("line_id", line.line_id, "has its price changed twice")
        note = action.note
        if not isinstance(note, str) or not note.strip():
            raise ValidationError(
                "note", note, "is required to change a unit price", "say why the price changes"
            )
        check_text(note, "note")
        price = check_unit_price(_given(self._money(action, "unit_price")), self.order.currency)
        self.price_set.add(line.line_id)
        self.lines[line.line_id] = attrs.evolve(
            line, unit_price=price, price_source=f"changed: {note}"
        )

    def _discounts(self, action: ChangeAction) -> None:
        discounts = action.discounts
        if not isinstance(discounts, tuple):
            raise ValidationError("discounts", discounts, "must be a tuple of Discount")
        for index, discount in enumerate(discounts):
            if not isinstance(discount, Discount):
                raise ValidationError(f"discounts[{index}]", discount, "must be a Discount")
        if not action.line_id:
            self.order_discounts = discounts
            return
        line = self._line(action.line_id)
        self._unshipped(line, "line_id")
        self.lines[line.line_id] = attrs.evolve(line, discounts=discounts)

    def _add(self, action: ChangeAction) -> None:
        price = _given(self._money(action, "unit_price"), "unit_price")
        new = LineSpec(
            action.sku,
            _given(action.quantity, "quantity"),
            price,
            action.description,
            taxes=action.taxes,
            discounts=action.discounts,
        )
        used = set(self.lines) | {fields[0] for fields, _ in self.added}
        fields, to_price = self.order._build_line(new, self.number, used)
        self.added.append((fields, to_price))
        self.number += 1
        if self.holds:
            self.increases[fields[0]] = (fields[1], fields[2])

    def _money(self, action: ChangeAction, field: str) -> tuple[Decimal | None, str]:
        """The action's ``field`` (``unit_price`` or ``amount``), whose currency must be the
        order's."""
        value: Decimal | None = getattr(action, field)
        currency = self.order.currency
        if action.currency and action.currency != currency:
            shown = value if value is None else Money(value, action.currency)
            raise CurrencyMismatchError(field, shown, currency)
        return value, field

    def planned(self) -> PlannedChange:
        kept = tuple(line for key, line in self.lines.items() if key not in self.removed)
        if not any(line.open_quantity for line in kept) and not self.added:
            raise ValidationError(
                "actions",
                "",
                "would leave nothing on the order",
                "cancel the order instead (CancelOrder)",
            )
        lines, totals = priced_order(
            self.order.currency,
            self.order.pricing,
            kept,
            self.order_discounts,
            self.shipping,
            self.added,
        )
        return PlannedChange(
            lines,
            self.order_discounts,
            self.shipping,
            self.address,
            totals,
            self.increases,
            self.freed,
            self.freed_skus,
            self.number,
        )


def _given(value: Decimal | tuple[Decimal | None, str] | None, field: str = "") -> Decimal:
    """A value the action must have: refused, naming ``field``, when it is missing."""
    if isinstance(value, tuple):
        value, field = value
    if value is None:
        raise ValidationError(field, None, "is required for this kind of change")
    return value


def _sku_quantities(quantities: dict[str, Decimal]) -> tuple[SkuQuantity, ...]:
    return tuple(SkuQuantity(sku, quantities[sku]) for sku in sorted(quantities))
