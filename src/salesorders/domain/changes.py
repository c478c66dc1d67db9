"""Changes to a placed order, with review: what can change, the request, its preview, revisions.

A change request (:class:`ChangeRequest`) lists :class:`ChangeAction` values — set a line's
quantity, add or remove a line, change a unit price (with a reason), change discounts, the
shipping address or the shipping charge. When it is requested the order previews it
(:class:`ChangePreview`): the re-priced totals, the stock it needs or frees per SKU, and the
difference due or the refund, exact in the order's currency. A reviewer approves or declines it;
the requester may cancel it. Approval applies it at once and moves the order from revision ``n``
to ``n + 1``; each earlier revision is kept as a :class:`Revision` (the order's lines, discounts,
shipping, address and totals as they were, and the change that ended it).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from decimal import Decimal
from typing import Final

import attrs
from moneyed import Money

from salesorders.domain.money import to_decimal
from salesorders.domain.order_values import Address, OrderLine, Totals
from salesorders.domain.plan import AllocationRequest
from salesorders.domain.pricing import Charge, Discount, TaxComponent

__all__ = [
    "ChangeAction",
    "ChangeDemand",
    "ChangeKind",
    "ChangePreview",
    "ChangeRequest",
    "ChangeStatus",
    "Revision",
    "SkuQuantity",
]

_ZERO: Final = Decimal(0)
Amount = Money | Decimal | str | int


class ChangeKind(enum.Enum):
    """What one action of a change does."""

    SET_QUANTITY = "set_quantity"
    ADD_LINE = "add_line"
    REMOVE_LINE = "remove_line"
    CHANGE_UNIT_PRICE = "change_unit_price"
    CHANGE_DISCOUNTS = "change_discounts"
    SHIPPING_ADDRESS = "shipping_address"
    SHIPPING_CHARGE = "shipping_charge"


class ChangeStatus(enum.Enum):
    """Where a change request stands: awaiting review, then approved, declined or cancelled."""

    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    DECLINED = "declined"
    CANCELLED = "cancelled"


def _amount(value: Amount | None, field: str) -> tuple[Decimal | None, str]:
    """An amount as given: its number and, for a ``Money``, its currency (checked by the order)."""
    if value is None:
        return None, ""
    if isinstance(value, Money):
        return to_decimal(value.amount, field), value.currency.code
    return to_decimal(value, field), ""


@attrs.frozen(slots=True)
class ChangeAction:
    """One thing a change does. Build it with the class methods (``ChangeAction.set_quantity``
    …); the order checks every field when the change is requested, naming ``actions[i].field``.

    ``quantity`` is what the order wants of a line (cancelled units stay cancelled);
    ``unit_price`` and ``amount`` are in ``currency`` (``""``: the order's); ``discounts`` replace
    the line's (with ``line_id``) or the order's discounts; ``note`` is why a price changes.
    """

    kind: ChangeKind
    line_id: str = ""
    sku: str = ""
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    amount: Decimal | None = None
    currency: str = ""
    description: str = ""
    discounts: tuple[Discount, ...] = ()
    taxes: tuple[TaxComponent, ...] = ()
    address: Address | None = None
    note: str = ""

    @classmethod
    def set_quantity(cls, line_id: str, quantity: Decimal | int | str) -> ChangeAction:
        """The line's new quantity (at least what has shipped of it)."""
        return cls(ChangeKind.SET_QUANTITY, line_id, quantity=to_decimal(quantity, "quantity"))

    @classmethod
    def add_line(
        cls,
        sku: str,
        quantity: Decimal | int | str,
        unit_price: Amount,
        *,
        description: str = "",
        discounts: Iterable[Discount] = (),
        taxes: Iterable[TaxComponent] = (),
    ) -> ChangeAction:
        """A new line (its id is the order's next, e.g. ``L4``)."""
        price, currency = _amount(unit_price, "unit_price")
        return cls(
            ChangeKind.ADD_LINE,
            sku=sku,
            quantity=to_decimal(quantity, "quantity"),
            unit_price=price,
            currency=currency,
            description=description,
            discounts=tuple(discounts),
            taxes=tuple(taxes),
        )

    @classmethod
    def remove_line(cls, line_id: str) -> ChangeAction:
        """Take a line off the order (nothing of it may have shipped)."""
        return cls(ChangeKind.REMOVE_LINE, line_id)

    @classmethod
    def change_unit_price(cls, line_id: str, unit_price: Amount, note: str) -> ChangeAction:
        """A new unit price for a line none of which has shipped; ``note`` says why."""
        price, currency = _amount(unit_price, "unit_price")
        return cls(
            ChangeKind.CHANGE_UNIT_PRICE, line_id, unit_price=price, currency=currency, note=note
        )

    @classmethod
    def change_discounts(cls, discounts: Iterable[Discount], *, line_id: str = "") -> ChangeAction:
        """Replace the order's discounts (or, with ``line_id``, that line's); none removes them."""
        return cls(ChangeKind.CHANGE_DISCOUNTS, line_id, discounts=tuple(discounts))

    @classmethod
    def ship_to(cls, address: Address) -> ChangeAction:
        """A new shipping address."""
        return cls(ChangeKind.SHIPPING_ADDRESS, address=address)

    @classmethod
    def shipping_charge(cls, amount: Amount, taxes: Iterable[TaxComponent] = ()) -> ChangeAction:
        """A new shipping charge (zero removes it)."""
        value, currency = _amount(amount, "amount")
        return cls(ChangeKind.SHIPPING_CHARGE, amount=value, currency=currency, taxes=tuple(taxes))


@attrs.frozen(slots=True)
class SkuQuantity:
    """A quantity of one SKU (stock a change needs or frees)."""

    sku: str
    quantity: Decimal


@attrs.frozen(slots=True)
class ChangePreview:
    """What a change does to the order, exact in its currency.

    ``totals`` are the re-priced totals; ``difference`` is the new grand total less the old.
    ``balance_due`` is what the customer owes after the change (grand total − net paid, as the
    order's payment figures count it) and ``refund_due`` what was paid beyond the new grand total:
    give it back with ``RefundPayment``. ``stock_needed`` and ``stock_freed`` are what the
    change reserves and releases per SKU (nothing for an order that holds no stock).
    """

    currency: str
    grand_total_before: Decimal
    totals: Totals
    balance_due_before: Decimal
    balance_due: Decimal
    refund_due: Decimal
    stock_needed: tuple[SkuQuantity, ...] = ()
    stock_freed: tuple[SkuQuantity, ...] = ()

    @property
    def grand_total(self) -> Money:
        return Money(self.totals.grand_total, self.currency)

    @property
    def difference(self) -> Money:
        """New grand total − old grand total (negative when the order gets cheaper)."""
        return Money(self.totals.grand_total - self.grand_total_before, self.currency)

    @property
    def difference_due(self) -> Money:
        """How much more the customer owes because of the change (never below zero)."""
        grown = self.balance_due - self.balance_due_before
        return Money(grown if grown > 0 else _ZERO, self.currency)

    @property
    def refund(self) -> Money:
        """What to refund through the payment flow after the change (``refund_due``)."""
        return Money(self.refund_due, self.currency)


@attrs.frozen(slots=True, eq=False)
class ChangeDemand:
    """What approving a change must reserve (``request``: its increases, none for an order that
    holds no stock), worked out on the order at ``event_sequence``; hand it back to
    ``Order.approve_change`` so the change is not worked out twice."""

    change_id: str
    event_sequence: int
    request: AllocationRequest
    worked: object = attrs.field(repr=False)


@attrs.frozen(slots=True)
class ChangeRequest:
    """A requested change of an order (ids ``C1``, ``C2`` …), who asked and why, its preview,
    and — once decided — who decided, when and why. ``base_revision`` is the order's revision it
    was requested on; ``revision`` the revision its approval made."""

    id: str
    actions: tuple[ChangeAction, ...]
    reason: str
    requested_by: str
    requested_at: dt.datetime
    base_revision: int
    preview: ChangePreview
    status: ChangeStatus = ChangeStatus.PENDING_REVIEW
    decided_by: str = ""
    decided_at: dt.datetime | None = None
    decision_reason: str = ""
    on_shortage: str = ""
    revision: int | None = None

    @property
    def awaiting_review(self) -> bool:
        return self.status is ChangeStatus.PENDING_REVIEW


@attrs.frozen(slots=True)
class Revision:
    """The order as it was at revision ``number``: lines, discounts, shipping, address and
    totals, and the change (``change_id``: ``order.change(change_id).actions`` say what it did)
    that ended the revision at ``ended_at`` (empty for the order's current revision)."""

    number: int
    lines: tuple[OrderLine, ...]
    order_discounts: tuple[Discount, ...]
    shipping: Charge | None
    shipping_address: Address | None
    totals: Totals
    change_id: str = ""
    ended_at: dt.datetime | None = None

    @property
    def grand_total(self) -> Money:
        return Money(self.totals.grand_total, self.totals.currency)
