"""Every service command, and hypothesis strategies for its fields read from its annotations.

:func:`command_classes` finds the commands by themselves (the ``Command`` union and every attrs
class in ``__all__`` that takes an idempotency key), so a command added later is covered without
touching the tests. :func:`field_values` draws valid values for a field from its type, using the
library's own strategies for domain types; a type it does not know raises :class:`TypeError`
rather than being skipped, so a test over every field cannot quietly cover fewer of them.
"""

from __future__ import annotations

import datetime as dt
import functools
import types
import typing
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import strategies as st
from moneyed import Money

from salesorders.domain.order import Address
from salesorders.domain.pricing import Discount, PricingPolicy, TaxComponent
from salesorders.domain.snapshot import IncomingStock
from salesorders.domain.warehouse import Warehouse
from salesorders.service import commands
from salesorders.testing import stock_strategies
from salesorders.testing import strategies as sst

#: Fields whose text has a meaning beyond "some text".
_BY_NAME: dict[str, st.SearchStrategy[Any]] = {
    "currency": sst.currencies(),
    "exchange_rate_base": sst.currencies(),
}

_BY_TYPE: dict[Any, st.SearchStrategy[Any]] = {
    str: st.text(max_size=8),
    bool: st.booleans(),
    dt.date: st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31)),
    dt.datetime: st.datetimes(
        min_value=dt.datetime(2020, 1, 1),
        max_value=dt.datetime(2030, 12, 31),
        timezones=st.just(dt.UTC),
    ),
    int: st.integers(min_value=0, max_value=6),
    Decimal: st.integers(min_value=0, max_value=3).flatmap(sst.quantities),
    Money: sst.moneys(),
    Discount: sst.currencies().flatmap(sst.discounts),
    TaxComponent: sst.tax_components(),
    PricingPolicy: sst.pricing_policies(),
    Address: sst.addresses(),
    Warehouse: stock_strategies.warehouses(),
    IncomingStock: stock_strategies.incoming_stock(),
    commands.ShipLine: st.builds(
        commands.ShipLine,
        st.sampled_from(["L1", "L2"]),
        st.none() | st.integers(min_value=1, max_value=5),
    ),
    type(None): st.none(),
}


def command_classes() -> tuple[type, ...]:
    """Every command the service handles, by name."""
    union = set(typing.get_args(commands.Command))
    listed = (getattr(commands, name) for name in commands.__all__)
    keyed = {
        cls
        for cls in listed
        if isinstance(cls, type) and attrs.has(cls) and "idempotency_key" in attrs.fields_dict(cls)
    }
    return tuple(sorted(union | keyed, key=lambda cls: cls.__name__))


def fields_of(cls: type) -> tuple[attrs.Attribute[Any], ...]:
    """The attrs fields of ``cls`` with their annotations resolved to types."""
    attrs.resolve_types(cls)
    return tuple(attrs.fields(cls))


@functools.cache
def field_values(field: attrs.Attribute[Any]) -> st.SearchStrategy[Any]:
    """Valid values for one field of a command (or of a value inside one)."""
    if field.name in _BY_NAME:
        named = _BY_NAME[field.name]
        return st.none() | named if _allows_none(field.type) else named
    return values_of(field.type)


@functools.cache
def values_of(annotation: Any) -> st.SearchStrategy[Any]:
    """Valid values of a type: a known type, ``X | None``, ``tuple[X, ...]`` or an attrs class."""
    if annotation in _BY_TYPE:
        return _BY_TYPE[annotation]
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin in (types.UnionType, typing.Union):
        if Decimal in arguments:  # int and str there are other spellings of the same decimal
            arguments = tuple(a for a in arguments if a not in (int, str))
        return st.one_of(*(values_of(argument) for argument in arguments))
    if origin is tuple and len(arguments) == 2 and arguments[1] is Ellipsis:
        return st.lists(values_of(arguments[0]), max_size=2).map(tuple)
    if isinstance(annotation, type) and attrs.has(annotation):
        return st.builds(annotation, **{f.name: field_values(f) for f in fields_of(annotation)})
    raise TypeError(f"no strategy for values of {annotation!r}; add one to tests/support")


def commands_of(cls: type) -> st.SearchStrategy[Any]:
    """Instances of a command class, every field drawn (the key too)."""
    return st.builds(cls, **{f.name: field_values(f) for f in fields_of(cls)})


@functools.cache
def two_values(field: attrs.Attribute[Any]) -> st.SearchStrategy[tuple[Any, Any]]:
    """Two different valid values for one field."""
    pairs = st.lists(field_values(field), min_size=2, max_size=2, unique=True)
    return pairs.map(tuple)


def _allows_none(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation)
