"""Price lists: quantity breaks per SKU, lists per currency and customer group, and the
:class:`PriceBook` that quotes a unit price and says where it came from.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Mapping
from decimal import Decimal
from types import MappingProxyType

import attrs

from salesorders.domain.checks import optional_id
from salesorders.domain.money import (
    check_currency,
    check_price_precision,
    price_places,
    within_places,
)
from salesorders.domain.pricing.checks import (
    _check_id,
    _check_optional_name,
    _checked_currency,
    _to_min_quantity,
    _to_quantity,
    _to_unit_price,
)
from salesorders.errors import NoPriceError, ValidationError


@attrs.frozen(slots=True)
class PriceBreak:
    """``unit_price`` applies from ``min_quantity`` (inclusive) up to the next break."""

    min_quantity: Decimal = attrs.field(converter=_to_min_quantity)
    unit_price: Decimal = attrs.field(converter=_to_unit_price)


def _to_breaks(value: Iterable[PriceBreak]) -> tuple[PriceBreak, ...]:
    breaks = tuple(value)
    if not breaks:
        raise ValidationError("breaks", breaks, "must not be empty", "give at least one break")
    for index, item in enumerate(breaks):
        if not isinstance(item, PriceBreak):
            raise ValidationError(f"breaks[{index}]", item, "must be a PriceBreak")
    ordered = tuple(sorted(breaks, key=lambda item: item.min_quantity))
    for previous, item in itertools.pairwise(ordered):
        if item.min_quantity == previous.min_quantity:
            raise ValidationError(
                "breaks",
                item.min_quantity,
                "has two breaks with the same min_quantity",
                "keep one price per min_quantity",
            )
    return ordered


@attrs.frozen(slots=True)
class PriceListEntry:
    """The price of one SKU: quantity breaks, stored sorted by ``min_quantity``.

    Breaks may be given in any order; their min quantities must be distinct.
    """

    sku: str = attrs.field(validator=_check_id)
    breaks: tuple[PriceBreak, ...] = attrs.field(converter=_to_breaks)

    def break_for(self, quantity: Decimal) -> PriceBreak | None:
        """The largest break whose ``min_quantity <= quantity``, or None."""
        index = bisect.bisect_right(self.breaks, quantity, key=_min_quantity)
        return self.breaks[index - 1] if index else None


def _min_quantity(item: PriceBreak) -> Decimal:
    return item.min_quantity


def _to_entries(
    value: Mapping[str, PriceListEntry] | Iterable[PriceListEntry],
) -> Mapping[str, PriceListEntry]:
    items = value.items() if isinstance(value, Mapping) else ((e.sku, e) for e in value)
    entries: dict[str, PriceListEntry] = {}
    for key, entry in items:
        if not isinstance(entry, PriceListEntry):
            raise ValidationError(f"entries[{key!r}]", entry, "must be a PriceListEntry")
        if key != entry.sku:
            raise ValidationError(
                f"entries[{key!r}]", entry.sku, "is filed under another SKU", "key it by its SKU"
            )
        if key in entries:
            raise ValidationError(
                f"entries[{key!r}]", key, "appears twice", "give one entry per SKU"
            )
        entries[key] = entry
    return MappingProxyType(entries)


@attrs.frozen(slots=True)
class PriceList:
    """Prices of SKUs in one currency, for one customer group or (``None``) for everyone.

    ``entries`` maps SKU to entry (an iterable of entries is accepted too); it is read-only.
    """

    id: str = attrs.field(validator=_check_id)
    currency: str = attrs.field(validator=_checked_currency)
    entries: Mapping[str, PriceListEntry] = attrs.field(converter=_to_entries, hash=False)
    customer_group: str | None = attrs.field(default=None)
    name: str = attrs.field(default="", validator=_check_optional_name)

    @customer_group.validator
    def _check_group(self, attribute: attrs.Attribute[str | None], value: object) -> None:
        optional_id(value, "customer_group")


@attrs.frozen(slots=True)
class PriceQuote:
    """The unit price found for a SKU, with where it came from (``reason``).

    ``price_precision``: the decimal places the price book allows a unit price in ``currency``
    (``None``: the library's default, see :func:`~salesorders.domain.money.price_places`).
    """

    sku: str
    currency: str
    unit_price: Decimal
    price_list_id: str
    min_quantity: Decimal
    reason: str
    price_precision: int | None = None


class PriceBook:
    """Looks up unit prices in a set of price lists. Immutable after construction.

    For a customer group the group's lists of the currency are searched first, then the general
    lists (``customer_group=None``) of that currency. Several lists for the same currency and
    group are searched in the order given. The first list with a break that applies wins.

    ``price_precision``: how many decimal places a unit price may have, in every list; by default
    the currency's minor unit plus 4 (6 for USD, 4 for JPY). A finer price is refused here, and
    the lines quoted from the book accept the book's precision.
    """

    __slots__ = ("_index", "_precision", "_price_lists")

    def __init__(
        self, price_lists: Iterable[PriceList], *, price_precision: int | None = None
    ) -> None:
        self._precision = check_price_precision(price_precision)
        lists = tuple(price_lists)
        seen: set[str] = set()
        index: dict[tuple[str, str | None], dict[str, list[tuple[PriceList, PriceListEntry]]]] = {}
        for position, price_list in enumerate(lists):
            if not isinstance(price_list, PriceList):
                raise ValidationError(f"price_lists[{position}]", price_list, "must be a PriceList")
            if price_list.id in seen:
                raise ValidationError(
                    f"price_lists[{position}].id", price_list.id, "is used twice", "use unique ids"
                )
            seen.add(price_list.id)
            _check_price_places(price_list, position, price_precision)
            by_sku = index.setdefault((price_list.currency, price_list.customer_group), {})
            for sku, entry in price_list.entries.items():
                by_sku.setdefault(sku, []).append((price_list, entry))
        self._price_lists = lists
        self._index = {
            key: {sku: tuple(found) for sku, found in by_sku.items()}
            for key, by_sku in index.items()
        }

    @property
    def price_lists(self) -> tuple[PriceList, ...]:
        return self._price_lists

    @property
    def price_precision(self) -> int | None:
        return self._precision

    def quote(
        self, sku: str, currency: str, quantity: Decimal, customer_group: str | None = None
    ) -> PriceQuote:
        """The unit price of ``quantity`` of ``sku`` in ``currency`` for ``customer_group``.

        Uses the largest break whose ``min_quantity <= quantity``. Raises
        :class:`~salesorders.errors.NoPriceError` when no list has one, and
        :class:`~salesorders.errors.ValidationError` for a bad quantity or currency.
        """
        check_currency(currency)
        amount = _to_quantity(quantity)
        keys: tuple[tuple[str, str | None], ...] = ((currency, None),)
        if customer_group is not None:
            keys = ((currency, customer_group), (currency, None))
        for key in keys:
            for price_list, entry in self._index.get(key, {}).get(sku, ()):
                found = entry.break_for(amount)
                if found is not None:
                    return _quote(sku, price_list, found, self._precision)
        raise NoPriceError(sku, currency, customer_group)


def _check_price_places(price_list: PriceList, position: int, precision: int | None) -> None:
    """Refuse a break whose unit price is finer than the book allows in the list's currency."""
    places = price_places(price_list.currency, precision)
    for sku, entry in price_list.entries.items():
        for index, item in enumerate(entry.breaks):
            if not within_places(item.unit_price, places):
                raise ValidationError(
                    f"price_lists[{position}].entries[{sku!r}].breaks[{index}].unit_price",
                    item.unit_price,
                    f"has more than {places} decimal places",
                    "round the price, or give the price book a larger price_precision",
                )


def _quote(sku: str, price_list: PriceList, found: PriceBreak, precision: int | None) -> PriceQuote:
    group = f" (group {price_list.customer_group})" if price_list.customer_group else ""
    reason = f"price list {price_list.id}{group}, break >= {found.min_quantity}"
    return PriceQuote(
        sku,
        price_list.currency,
        found.unit_price,
        price_list.id,
        found.min_quantity,
        reason,
        precision,
    )
