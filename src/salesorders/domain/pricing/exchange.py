"""Currency conversion: :class:`ExchangeRate` (a rate as published at a time, and its inverse)
and :class:`StaticExchangeRates`, rates held in memory.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
)

import attrs
from moneyed import Money

from salesorders.domain.checks import aware_time
from salesorders.domain.money import (
    EXACT_CONTEXT,
    Rounding,
    check_currency,
    minor_unit,
    same_currency,
    to_decimal,
)
from salesorders.domain.pricing.checks import (
    _AMOUNT_LIMIT,
    _check_aware,
    _check_free_text,
    _to_exchange_rate,
)
from salesorders.errors import ExchangeRateUnavailableError, ValidationError

# Inverse exchange rates are kept to this many significant digits.
INVERSE_RATE_DIGITS = 10
_INVERSE = Context(
    prec=INVERSE_RATE_DIGITS, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero]
)

_mul = EXACT_CONTEXT.multiply

_ONE = Decimal(1)


def _check_rate_pair(instance: ExchangeRate, attribute: attrs.Attribute[str], value: str) -> None:
    check_currency(value, attribute.name)


@attrs.frozen(slots=True)
class ExchangeRate:
    """One unit of ``base`` is worth ``rate`` units of ``quote``, as published at ``as_of``.

    ``rate`` is a positive Decimal (floats refused), ``as_of`` is timezone-aware. An order stores
    the rate it used, so its totals never change when rates move.
    """

    base: str = attrs.field(validator=_check_rate_pair)
    quote: str = attrs.field(validator=_check_rate_pair)
    rate: Decimal = attrs.field(converter=_to_exchange_rate)
    as_of: dt.datetime = attrs.field(validator=_check_aware)
    source: str = attrs.field(default="", validator=_check_free_text)

    def __attrs_post_init__(self) -> None:
        if self.base == self.quote and self.rate != 1:
            raise ValidationError("rate", self.rate, f"must be 1 from {self.base} to itself")

    def convert(self, amount: Decimal, rounding: Rounding = Rounding.HALF_UP) -> Decimal:
        """``amount`` in ``base`` converted to ``quote``, rounded to the quote's minor unit.

        Refuses floats and amounts of ``10**15`` or more (either sign).
        """
        value = to_decimal(amount, "amount")
        if abs(value) >= _AMOUNT_LIMIT:
            raise ValidationError("amount", amount, f"must be less than {_AMOUNT_LIMIT:,}")
        return _mul(value, self.rate).quantize(
            minor_unit(self.quote), rounding.value, EXACT_CONTEXT
        )

    def convert_money(self, amount: Money, rounding: Rounding = Rounding.HALF_UP) -> Money:
        """Convert a :class:`Money` in ``base``; refuses any other currency."""
        if not isinstance(amount, Money):
            raise ValidationError("amount", amount, "must be a Money")
        value = same_currency(amount, self.base, "amount")
        return Money(self.convert(value, rounding), self.quote)

    def inverse(self) -> ExchangeRate:
        """The rate from ``quote`` to ``base``: ``1 / rate`` to 10 significant digits (half-even).

        Converting there and back may therefore differ from the start by a minor unit.
        """
        if self.base == self.quote:
            return self
        source = f"inverse of {self.base}/{self.quote}" + (f" {self.source}" if self.source else "")
        rate = _INVERSE.divide(_ONE, self.rate)
        return ExchangeRate(self.quote, self.base, rate, self.as_of, source)


class StaticExchangeRates:
    """Exchange rates held in memory: an :class:`~salesorders.ports.ExchangeRates` source.

    ``rate(base, quote, at)`` returns the latest stored rate for the pair with ``as_of <= at``;
    without one, the inverse (:meth:`ExchangeRate.inverse`) of the latest stored reverse pair;
    rate 1 when ``base == quote``; otherwise it raises
    :class:`~salesorders.errors.ExchangeRateUnavailableError`. Immutable after construction.
    """

    __slots__ = ("_pairs",)

    def __init__(self, rates: Iterable[ExchangeRate]) -> None:
        pairs: dict[tuple[str, str], dict[dt.datetime, ExchangeRate]] = {}
        for index, rate in enumerate(rates):
            if not isinstance(rate, ExchangeRate):
                raise ValidationError(f"rates[{index}]", rate, "must be an ExchangeRate")
            by_time = pairs.setdefault((rate.base, rate.quote), {})
            known = by_time.get(rate.as_of)
            if known is not None and known.rate != rate.rate:
                raise ValidationError(
                    f"rates[{index}]",
                    rate,
                    f"conflicts with rate {known.rate} for the same pair and time",
                    "give one rate per pair and as_of",
                )
            by_time[rate.as_of] = rate
        self._pairs: dict[tuple[str, str], tuple[tuple[dt.datetime, ...], tuple[ExchangeRate, ...]]]
        self._pairs = {}
        for pair, by_time in pairs.items():
            ordered = sorted(by_time.values(), key=lambda rate: rate.as_of)
            self._pairs[pair] = (tuple(r.as_of for r in ordered), tuple(ordered))

    def rate(self, base: str, quote: str, at: dt.datetime) -> ExchangeRate:
        """The rate converting one ``base`` into ``quote`` valid at ``at`` (timezone-aware)."""
        check_currency(base, "base")
        check_currency(quote, "quote")
        aware_time(at, "at")
        if base == quote:
            return ExchangeRate(base, quote, _ONE, at, "identity")
        direct = self._latest((base, quote), at)
        if direct is not None:
            return direct
        reverse = self._latest((quote, base), at)
        if reverse is not None:
            return reverse.inverse()
        raise ExchangeRateUnavailableError(base, quote)

    def _latest(self, pair: tuple[str, str], at: dt.datetime) -> ExchangeRate | None:
        found = self._pairs.get(pair)
        if found is None:
            return None
        times, rates = found
        index = bisect.bisect_right(times, at)
        return rates[index - 1] if index else None
