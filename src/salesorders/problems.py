"""Errors as RFC 9457 problem details, made of JSON-safe values only.

:meth:`salesorders.errors.SalesOrdersError.to_problem` calls :func:`problem_details`;
:func:`json_safe` is the conversion it applies to every field of an error: ``Decimal`` becomes
a string, ``Money`` ``{"amount": "12.30", "currency": "EUR"}``, tuples and sets lists, enums
their value, dates and times ISO 8601 strings, attrs objects and the errors' value objects
(``Shortage``, ``FieldProblem``) dicts; anything else its ``repr``.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs
from moneyed import Money

from salesorders.errors import (
    PROBLEM_TYPE_BASE,
    DeserializationError,
    FieldProblem,
    SalesOrdersError,
    Shortage,
    ValidationError,
)

__all__ = ["field_path", "json_safe", "problem_details"]

# The members RFC 9457 defines; an error's own fields never overwrite them.
_STANDARD = frozenset({"type", "title", "status", "detail", "instance", "code"})
# A ValidationError's fields, given in its ``errors`` entries rather than at the top level.
_VALIDATION_FIELDS = frozenset({"field", "value", "problem", "hint", "problems"})
_MAX_DEPTH = 12


def problem_details(
    error: SalesOrdersError, *, instance: str | None = None, type_base: str = PROBLEM_TYPE_BASE
) -> dict[str, Any]:
    """``error`` as an RFC 9457 problem details dict (see ``SalesOrdersError.to_problem``)."""
    problem: dict[str, Any] = {
        "type": f"{type_base}{error.code}",
        "title": error.title,
        "status": error.http_status,
        "detail": str(error),
    }
    if instance is not None:
        problem["instance"] = instance
    problem["code"] = error.code
    validation = error if isinstance(error, ValidationError) else None
    for name, value in vars(error).items():
        if name.startswith("_") or name in _STANDARD:
            continue
        if validation is not None and name in _VALIDATION_FIELDS:
            continue
        problem[name] = json_safe(value)
    if validation is not None:
        problem["errors"] = _field_errors(validation)
    return problem


def _field_errors(error: ValidationError) -> list[dict[str, Any]]:
    """One entry per bad field: every problem of a DeserializationError, else the one field."""
    if isinstance(error, DeserializationError):
        return [
            {
                "field": field_path(p.path),
                "value": None,
                "problem": p.problem,
                "hint": error.hint,
            }
            for p in error.problems
        ]
    return [
        {
            "field": field_path(error.field),
            "value": json_safe(error.value),
            "problem": error.problem,
            "hint": error.hint,
        }
    ]


def field_path(path: str) -> str:
    """A field's path as every error names it: ``lines[1].quantity`` (a deserialization path
    ``$.lines[1].quantity`` loses its ``$.``; the whole document stays ``$``)."""
    if path.startswith("$."):
        return path[2:]
    if path.startswith("$["):
        return path[1:]
    return path


def json_safe(value: object, _depth: int = 0) -> Any:
    """``value`` made of what ``json.dumps`` takes: dicts, lists, strings, numbers, booleans
    and ``None`` (see the module docstring for each conversion)."""
    if value is None or isinstance(value, str | bool | int):
        return value if not isinstance(value, enum.Enum) else json_safe(value.value, _depth)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Money):
        return {"amount": str(value.amount), "currency": value.currency.code}
    if isinstance(value, enum.Enum):
        return json_safe(value.value, _depth)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _duration(value)
    if isinstance(value, bytes | bytearray):
        return value.hex()
    if _depth >= _MAX_DEPTH:
        return repr(value)
    depth = _depth + 1
    if isinstance(value, Mapping):
        return {_key(k): json_safe(v, depth) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item, depth) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((json_safe(item, depth) for item in value), key=repr)
    if isinstance(value, Shortage):
        names = ("sku", "requested", "available", "missing")
        return {name: json_safe(getattr(value, name), depth) for name in names}
    if isinstance(value, FieldProblem):
        return {"field": field_path(value.path), "problem": value.problem}
    cls = type(value)
    if attrs.has(cls):
        return {f.name: json_safe(getattr(value, f.name), depth) for f in attrs.fields(cls)}
    return repr(value)


def _key(key: object) -> str:
    safe = json_safe(key, _MAX_DEPTH)
    return safe if isinstance(safe, str) else str(safe)


def _duration(value: dt.timedelta) -> str:
    """ISO 8601 duration in seconds: ``PT90S``, ``PT0.5S``, ``-PT3600S``."""
    seconds = Decimal(value.days * 86400 + value.seconds) + Decimal(value.microseconds).scaleb(-6)
    sign = "-" if seconds < 0 else ""
    text = format(abs(seconds).normalize(), "f")
    return f"{sign}PT{text}S"
