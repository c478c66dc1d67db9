"""JSON Schemas (Draft 2020-12) of the commands, results and read views, from their types.

The schema says what :class:`~salesorders.serialization.Serializer` reads and writes for a class:

* ``str``, ``int``, ``bool`` → ``string``, ``integer``, ``boolean``;
* ``Decimal`` (and a number a command takes as ``Decimal | int | str``) → a decimal string such as
  ``"19.99"`` or an integer; never a float;
* ``Money`` → ``{"amount": "19.99", "currency": "EUR"}``;
* ``datetime`` → a ``date-time`` string with its offset, ``date`` → a ``date`` string;
* an enum → one of its values; ``X | None`` → ``X`` or ``null``;
* ``tuple[X, ...]``, ``list[X]``, ``frozenset[X]`` → an array of ``X``;
* an attrs class → an object under ``$defs`` (by class name), referred to with ``$ref``; a field
  with a default is not required, and no other keys are allowed.

``json_schema(cls)`` gives one class's schema; ``schemas()`` every command's, result's and view's
by class name. ``schemas(ref_prefix="#/components/schemas/")`` gives them flat, nested classes
included, with references under that prefix: ready for an OpenAPI document's components.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from decimal import Decimal
from typing import Any, Final, Union

import attrs
from moneyed import Money

from salesorders.domain.logistics import LateShipment, LeadTime, OpenShipment
from salesorders.domain.returns import LineEligibility
from salesorders.domain.stock import LedgerEntry, Reservation, StockItem
from salesorders.errors import Shortage, ValidationError
from salesorders.service import (
    audit_trail,
    change_commands,
    commands,
    customers,
    loyalty,
    payment_commands,
    personal_data,
    return_commands,
    ticket_commands,
)
from salesorders.service.changes import ChangeAwaitingReview, ChangeResult
from salesorders.service.payments import AwaitingReview, OverdueOrder
from salesorders.service.results import DispatchReport, OrderResult
from salesorders.service.returns import ReturnAwaitingReview
from salesorders.service.reviews import ReviewItem
from salesorders.service.views import OrderSummary, OrderView

__all__ = [
    "DECIMAL_PATTERN",
    "DRAFT",
    "RESULTS",
    "VIEWS",
    "command_classes",
    "json_schema",
    "schemas",
]

#: The dialect of every schema.
DRAFT: Final = "https://json-schema.org/draft/2020-12/schema"

#: A finite decimal number written as text (as ``str(Decimal)`` writes it).
DECIMAL_PATTERN: Final = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"

_DECIMAL: Final[dict[str, Any]] = {
    "type": ["string", "integer"],
    "pattern": DECIMAL_PATTERN,
    "description": "an exact decimal number, as a string such as '19.99' (or an integer)",
}
_NUMBER_FORMS: Final = frozenset({Decimal, int, str})

# Fixed shapes written by the converter's own hooks, kept as definitions of their own.
_SHAPES: Final[dict[type, dict[str, Any]]] = {
    Money: {
        "type": "object",
        "properties": {
            "amount": _DECIMAL,
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        },
        "required": ["amount", "currency"],
        "additionalProperties": False,
        "description": "an exact amount in an ISO 4217 currency",
    },
    Shortage: {
        "type": "object",
        "properties": {"sku": {"type": "string"}, "requested": _DECIMAL, "available": _DECIMAL},
        "required": ["sku", "requested", "available"],
        "additionalProperties": False,
    },
}

#: What the service's commands and queries return (the rows of a query's page).
RESULTS: Final[tuple[type, ...]] = (
    OrderResult,
    ChangeResult,
    LedgerEntry,
    DispatchReport,
    AwaitingReview,
    ChangeAwaitingReview,
    ReturnAwaitingReview,
    ReviewItem,
    OverdueOrder,
    Reservation,
    StockItem,
    OpenShipment,
    LateShipment,
    LeadTime,
    LineEligibility,
)

#: The read views of orders.
VIEWS: Final[tuple[type, ...]] = (OrderView, OrderSummary)

_COMMAND_MODULES: Final = (
    audit_trail,
    customers,
    loyalty,
    personal_data,
    commands,
    change_commands,
    payment_commands,
    return_commands,
    ticket_commands,
)


def command_classes() -> tuple[type, ...]:
    """Every command the service handles (the classes of the command modules that take an
    idempotency key or declare a permission), by name."""
    found = {
        cls
        for module in _COMMAND_MODULES
        for cls in (getattr(module, name) for name in module.__all__)
        if isinstance(cls, type)
        and attrs.has(cls)
        and (
            "idempotency_key" in attrs.fields_dict(cls)
            or isinstance(getattr(cls, "permission", None), str)
        )
    }
    return tuple(sorted(found, key=lambda cls: cls.__name__))


class _Builder:
    """Collects the definitions one schema (or one set of schemas) refers to."""

    def __init__(self, ref_prefix: str) -> None:
        self.ref_prefix = ref_prefix
        self.defs: dict[str, dict[str, Any]] = {}
        self._names: dict[type, str] = {}

    def name(self, cls: type) -> str:
        """The definition name of ``cls``: its class name, qualified by its module if taken."""
        found = self._names.get(cls)
        if found is None:
            found = cls.__name__
            if found in self._names.values():
                found = f"{cls.__module__}.{cls.__qualname__}"
            self._names[cls] = found
        return found

    def ref(self, cls: type) -> dict[str, Any]:
        name = self.name(cls)
        if name not in self.defs:
            self.defs[name] = {}  # taken before building: a class may refer to itself
            self.defs[name] = _SHAPES[cls] if cls in _SHAPES else self.object(cls)
        return {"$ref": self.ref_prefix + name}

    def object(self, cls: type) -> dict[str, Any]:
        """The schema of the attrs class ``cls``'s data."""
        hints = typing.get_type_hints(cls)
        properties: dict[str, Any] = {}
        required = []
        for field in attrs.fields(cls):
            if not field.init:
                continue
            properties[field.name] = self.schema(hints[field.name], f"{cls.__name__}.{field.name}")
            if field.default is attrs.NOTHING:
                required.append(field.name)
        schema: dict[str, Any] = {"title": cls.__name__, "type": "object"}
        summary = _summary(cls)
        if summary:
            schema["description"] = summary
        schema["properties"] = properties
        if required:
            schema["required"] = required
        schema["additionalProperties"] = False
        return schema

    def schema(self, t: Any, where: str) -> dict[str, Any]:
        """The schema of a value of type ``t`` (``where`` names the field, for errors)."""
        if t is Decimal:
            return dict(_DECIMAL)
        if t in _SHAPES:
            return self.ref(t)
        simple = _SIMPLE.get(t)
        if simple is not None:
            return dict(simple)
        if isinstance(t, type) and issubclass(t, enum.Enum):
            values = [member.value for member in t]
            return {"title": t.__name__, "enum": values}
        if isinstance(t, type) and attrs.has(t):
            return self.ref(t)
        origin, args = typing.get_origin(t), typing.get_args(t)
        if origin in (Union, types.UnionType):
            return self.union(args, where)
        if origin in (tuple, list, frozenset, set):
            return self.array(origin, args, where)
        if origin is dict and args and args[0] is str:
            return {"type": "object", "additionalProperties": self.schema(args[1], where)}
        raise ValidationError(
            "cls", where, f"has a type with no JSON Schema: {t!r}", "use a type listed in the docs"
        )

    def union(self, args: tuple[Any, ...], where: str) -> dict[str, Any]:
        members = [a for a in args if a is not type(None)]
        nullable = len(members) < len(args)
        if Decimal in members and set(members) <= _NUMBER_FORMS | {Money}:
            # a number a command takes in several forms: it loads as a Decimal (or Money)
            members = [Money, Decimal] if Money in members else [Decimal]
        options = [self.schema(m, where) for m in members]
        if nullable:
            options.append({"type": "null"})
        return options[0] if len(options) == 1 else {"anyOf": options}

    def array(self, origin: Any, args: tuple[Any, ...], where: str) -> dict[str, Any]:
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            items = [self.schema(a, where) for a in args]
            return {
                "type": "array",
                "prefixItems": items,
                "items": False,
                "minItems": len(items),
                "maxItems": len(items),
            }
        schema: dict[str, Any] = {"type": "array", "items": self.schema(args[0], where)}
        if origin in (frozenset, set):
            schema["uniqueItems"] = True
        return schema


_SIMPLE: Final[dict[Any, dict[str, Any]]] = {
    str: {"type": "string"},
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    dt.datetime: {"type": "string", "format": "date-time"},
    dt.date: {"type": "string", "format": "date"},
    type(None): {"type": "null"},
}


def _summary(cls: type) -> str:
    """The first paragraph of the class's docstring, on one line."""
    doc = cls.__doc__ or ""
    if doc.startswith(f"{cls.__name__}("):  # attrs' generated signature: no docstring
        return ""
    return " ".join(doc.strip().split("\n\n")[0].split())


def json_schema(cls: type) -> dict[str, Any]:
    """The JSON Schema (Draft 2020-12) of the data of ``cls`` (an attrs class), its nested
    classes under ``$defs``."""
    if not (isinstance(cls, type) and attrs.has(cls)):
        raise ValidationError("cls", cls, "is not an attrs class", "pass a command, result or view")
    builder = _Builder("#/$defs/")
    name = builder.name(cls)
    builder.ref(cls)
    schema = {"$schema": DRAFT, **builder.defs.pop(name)}
    if builder.defs:
        schema["$defs"] = dict(sorted(builder.defs.items()))
    return schema


def schemas(ref_prefix: str | None = None) -> dict[str, dict[str, Any]]:
    """Every command's, result's and read view's schema, by class name.

    With ``ref_prefix`` (an OpenAPI document's ``"#/components/schemas/"``), the schemas come flat:
    nested classes are entries of their own, references point under the prefix, and no entry
    carries ``$schema`` or ``$defs``.
    """
    classes = sorted({*command_classes(), *RESULTS, *VIEWS}, key=lambda c: c.__name__)
    if ref_prefix is None:
        return {cls.__name__: json_schema(cls) for cls in classes}
    builder = _Builder(ref_prefix)
    for cls in classes:
        builder.ref(cls)
    return dict(sorted(builder.defs.items()))
