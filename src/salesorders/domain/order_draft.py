"""A new draft order in one call (:meth:`Order.from_draft <salesorders.domain.order.Order>`).

The verbs build a draft one step at a time — :meth:`Order.create`, ``use_exchange_rate``,
``add_lines``, ``apply_discount`` per discount, ``set_shipping`` — and price the order again at
each step. :func:`order_from_draft` takes everything at once (the caller fetched the quotes and
the exchange rate first): each line is checked once, every line is priced together with the order
discounts and the shipping in one pass, and each :class:`OrderLine` is built once, with its prices.

It gives exactly the order the verbs give. When an input is bad it raises exactly the error the
verbs raise (the same class, message and field path: ``lines[2].quantity``,
``discounts[0].discount``): the one pass refuses, and the verbs are then replayed on a scratch
order to name the first bad input the way they do. Nothing the caller holds changes either way.

The checks of a line, a unit price, an exchange rate and a shipping charge live here, once; the
verbs call them too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from moneyed import Money

from salesorders.domain.checks import aware_time, check_text, optional_id, require_id
from salesorders.domain.money import check_currency, quantize, to_decimal, to_quantity
from salesorders.domain.order_pricing import priced_order
from salesorders.domain.order_values import Address, LineFields, LineSpec
from salesorders.domain.pricing import (
    Charge,
    Discount,
    ExchangeRate,
    LineToPrice,
    PricingPolicy,
    TaxComponent,
    check_unit_price,
    line_to_price,
)
from salesorders.domain.pricing.checks import _DOCUMENT_LIMIT
from salesorders.domain.workflow import Workflow, default_workflow
from salesorders.errors import CurrencyMismatchError, ValidationError

if TYPE_CHECKING:
    from salesorders.domain.order import Order

__all__ = [
    "build_line",
    "check_new_order",
    "check_rate",
    "order_from_draft",
    "own_amount",
    "shipping_charge",
    "unit_price_in",
]

_DEFAULT_PRICING: Final = PricingPolicy()
# A draft whose order discounts could leave a step of the verbs (priced before the discounts)
# near the document limit is built by the verbs, which refuse exactly where they would.
_NEAR_LIMIT: Final = _DOCUMENT_LIMIT / 2


def check_new_order(
    order_id: object,
    customer_id: object,
    currency: object,
    at: object,
    customer_group: object = None,
) -> None:
    """Refuse what :meth:`Order.create` refuses of a new order's ids, currency and time."""
    require_id(order_id, "order_id")
    require_id(customer_id, "customer_id")
    optional_id(customer_group, "customer_group")
    check_currency(currency)
    aware_time(at)


def check_rate(rate: ExchangeRate, currency: str) -> None:
    """Refuse a rate that does not convert into the order's ``currency``."""
    if rate.quote != currency:
        raise CurrencyMismatchError("exchange_rate.quote", rate.quote, currency)


def unit_price_in(
    unit_price: Money | Decimal | str | int | None,
    source: str,
    precision: int | None,
    currency: str,
    rate: ExchangeRate | None,
    policy: PricingPolicy,
) -> tuple[Decimal, str]:
    """The unit price in ``currency`` (converted with the frozen ``rate`` if need be), and the
    price source saying so."""
    if unit_price is None:
        raise ValidationError(
            "unit_price",
            None,
            "is required to add a line to an order",
            "give a price, or place the order through the service to quote it from its price book",
        )
    if isinstance(unit_price, Money):
        code = unit_price.currency.code
        value = check_unit_price(unit_price.amount, code, precision)
    else:
        code = currency
        value = check_unit_price(unit_price, code, precision)
    if code == currency:
        return value, source
    if rate is None or rate.base != code:
        raise CurrencyMismatchError("unit_price", unit_price, currency)
    converted = rate.convert(value, policy.rounding)
    return converted, f"{source}; converted from {code} at {rate.rate}"


def build_line(
    new: LineSpec,
    number: int,
    used: set[str],
    currency: str,
    rate: ExchangeRate | None,
    policy: PricingPolicy,
) -> tuple[LineFields, LineToPrice]:
    """A new line's fields and what pricing needs of it, every input checked here (once),
    where the caller knows the line's path; the line itself is built once priced."""
    require_id(new.sku, "sku")
    qty = to_quantity(new.quantity, "quantity", new.quantity_precision)
    price, source = unit_price_in(
        new.unit_price, new.price_source, new.price_precision, currency, rate, policy
    )
    to_price = line_to_price(qty, price, new.discounts, new.taxes)  # pricing's limits
    check_text(new.description, "description")
    check_text(source, "price_source")
    given = new.line_id
    line_id = f"L{number}" if given is None else require_id(given, "line_id")
    if line_id in used:
        raise ValidationError("line_id", line_id, "is already used on this order")
    fields: LineFields = (
        line_id,
        new.sku,
        qty,
        price,
        new.description,
        to_price.discounts,
        to_price.taxes,
        new.quantity_precision,
        source,
    )
    return fields, to_price


def own_amount(
    amount: Money | Decimal | str | int, field: str, currency: str, policy: PricingPolicy
) -> Decimal:
    """An amount in ``currency`` at its precision (a Money must be in that currency)."""
    if isinstance(amount, Money):
        if amount.currency.code != currency:
            raise CurrencyMismatchError(field, amount, currency)
        return to_decimal(amount.amount, field)
    value = to_decimal(amount, field)
    if quantize(value, currency, policy.rounding) != value:
        raise ValidationError(field, amount, f"has more decimal places than {currency} allows")
    return value


def shipping_charge(
    amount: Money | Decimal | str | int,
    currency: str,
    policy: PricingPolicy,
    taxes: Sequence[TaxComponent] = (),
) -> Charge | None:
    """The shipping charge of ``amount`` with ``taxes``; ``None`` for zero (no charge)."""
    value = own_amount(amount, "shipping", currency, policy)
    if value < 0:
        raise ValidationError("shipping", amount, "must not be negative")
    return Charge(value, tuple(taxes)) if value else None


def order_from_draft(
    cls: type[Order],
    order_id: str,
    customer_id: str,
    currency: str,
    at: dt.datetime,
    *,
    lines: Sequence[LineSpec] = (),
    workflow: Workflow | None = None,
    customer_group: str | None = None,
    pricing: PricingPolicy | None = None,
    billing_address: Address | None = None,
    shipping_address: Address | None = None,
    exchange_rate: ExchangeRate | None = None,
    discounts: Sequence[Discount] = (),
    shipping: Money | Decimal | str | int | None = None,
    shipping_taxes: Sequence[TaxComponent] = (),
) -> Order:
    """A new draft built in one pass; see the module's docstring."""
    draft = _Draft(
        cls, order_id, customer_id, currency, at, tuple(lines), workflow, customer_group,
        pricing, billing_address, shipping_address, exchange_rate, tuple(discounts), shipping,
        tuple(shipping_taxes),
    )  # fmt: skip
    try:
        return draft.in_one_pass()
    except Exception as refused:  # any refusal: the verbs name it their way
        draft.by_verbs()  # raises the verbs' own error for the first bad input
        raise refused  # pragma: no cover - the one pass refuses only what the verbs refuse


class _Draft:
    """The inputs of one new draft, and the two ways to build it."""

    __slots__ = (
        "at", "billing_address", "cls", "currency", "customer_group", "customer_id",
        "discounts", "exchange_rate", "lines", "order_id", "pricing", "shipping",
        "shipping_address", "shipping_taxes", "workflow",
    )  # fmt: skip

    def __init__(
        self,
        cls: type[Order],
        order_id: str,
        customer_id: str,
        currency: str,
        at: dt.datetime,
        lines: Sequence[LineSpec],
        workflow: Workflow | None,
        customer_group: str | None,
        pricing: PricingPolicy | None,
        billing_address: Address | None,
        shipping_address: Address | None,
        exchange_rate: ExchangeRate | None,
        discounts: Sequence[Discount],
        shipping: Money | Decimal | str | int | None,
        shipping_taxes: Sequence[TaxComponent],
    ) -> None:
        self.cls = cls
        self.order_id = order_id
        self.customer_id = customer_id
        self.currency = currency
        self.at = at
        self.lines = lines
        self.workflow = workflow
        self.customer_group = customer_group
        self.pricing = pricing
        self.billing_address = billing_address
        self.shipping_address = shipping_address
        self.exchange_rate = exchange_rate
        self.discounts = discounts
        self.shipping = shipping
        self.shipping_taxes = shipping_taxes

    def in_one_pass(self) -> Order:
        currency, at, rate = self.currency, self.at, self.exchange_rate
        check_new_order(self.order_id, self.customer_id, currency, at, self.customer_group)
        policy = self.pricing or _DEFAULT_PRICING
        if rate is not None:
            check_rate(rate, currency)
        added: list[tuple[LineFields, LineToPrice]] = []
        used: set[str] = set()
        number = 1
        for index, new in enumerate(self.lines):
            if new.__class__ is not LineSpec and not isinstance(new, LineSpec):
                raise ValidationError(f"lines[{index}]", new, "must be a LineSpec")
            try:
                line = build_line(new, number, used, currency, rate, policy)
            except ValidationError as error:
                raise error.under(f"lines[{index}]") from error
            added.append(line)
            used.add(line[0][0])
            number += 1
        discounts = tuple(self.discounts)
        for index, discount in enumerate(discounts):
            if not isinstance(discount, Discount):
                raise ValidationError(f"discounts[{index}]", discount, "must be a Discount")
        charge = None
        if self.shipping is not None:
            charge = shipping_charge(self.shipping, currency, policy, self.shipping_taxes)
        priced, totals = priced_order(currency, policy, (), discounts, charge, added)
        if discounts and _may_reach_limit(totals.subtotal, added):
            return self.by_verbs()
        flow = self.workflow or default_workflow()
        return self.cls(
            id=self.order_id,
            customer_id=self.customer_id,
            currency=currency,
            workflow=flow,
            state=flow.initial,
            created_at=at,
            updated_at=at,
            customer_group=self.customer_group,
            lines=priced,
            order_discounts=discounts,
            shipping=charge,
            billing_address=self.billing_address,
            shipping_address=self.shipping_address,
            pricing=policy,
            exchange_rate=rate,
            totals=totals,
            next_line_number=number,
        )

    def by_verbs(self) -> Order:
        """The same draft built verb by verb (each step re-prices the order)."""
        at = self.at
        order = self.cls.create(
            self.order_id,
            self.customer_id,
            self.currency,
            at,
            workflow=self.workflow,
            customer_group=self.customer_group,
            pricing=self.pricing,
            billing_address=self.billing_address,
            shipping_address=self.shipping_address,
        )
        if self.exchange_rate is not None:
            order.use_exchange_rate(self.exchange_rate, at)
        order.add_lines(self.lines, at)
        for index, discount in enumerate(self.discounts):
            try:
                order.apply_discount(discount, at)
            except ValidationError as error:
                raise error.under(f"discounts[{index}]") from error
        if self.shipping is not None:
            order.set_shipping(self.shipping, at, taxes=self.shipping_taxes)
        return order


def _may_reach_limit(subtotal: Decimal, added: Sequence[tuple[LineFields, LineToPrice]]) -> bool:
    """Whether the lines priced before the order discounts (the verbs' first step) could reach
    the document limit: their taxes are at most the subtotal times the largest sum of rates."""
    if subtotal < _NEAR_LIMIT / 2:
        most = max((sum(t.rate for t in line.taxes) for _, line in added), default=Decimal(0))
        return subtotal * (1 + most) >= _NEAR_LIMIT
    return True
