"""One cattrs converter for every domain object, to and from JSON-compatible data.

* ``Decimal`` ↔ string (``"19.99"``); floats are refused on the way in.
* ``Money`` ↔ ``{"amount": "19.99", "currency": "USD"}``.
* ``datetime`` ↔ ISO 8601 with its zone; a naive datetime is refused. ``date`` ↔ ISO 8601.
* Enums ↔ their values; tuples and frozensets ↔ lists.
* An order's workflow ↔ ``{"name": ..., "version": ...}``, resolved through a
  :class:`~salesorders.domain.workflow.WorkflowRegistry` on the way in.
* Unknown keys are refused, and every bad field is reported at once, with its path, in one
  :class:`~salesorders.errors.DeserializationError` (``$.lines[3].quantity: ...``).
"""

from __future__ import annotations

import datetime as dt
import enum
import types
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, Union, get_args, get_origin

import cattrs
from cattrs.fns import identity
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import format_exception
from moneyed import Money

from salesorders.domain.money import check_currency, to_decimal
from salesorders.domain.order import Order
from salesorders.domain.workflow import Workflow, WorkflowRegistry
from salesorders.errors import DeserializationError, FieldProblem, SalesOrdersError, Shortage

__all__ = ["Serializer", "make_converter"]

T = TypeVar("T")


def _structure_decimal(value: Any, _: type) -> Decimal:
    if value.__class__ is str:
        # The stored form (a plain decimal string) read at once; anything else takes the checks.
        try:
            result = Decimal(value)
        except InvalidOperation:
            pass
        else:
            if result.is_finite():
                return result
    if isinstance(value, float):
        raise ValueError("floats are not accepted; write the number as a string")
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ValueError(f"expected a decimal string, got {type(value).__name__}")
    try:
        return to_decimal(value, "value")
    except SalesOrdersError:
        raise ValueError(f"{value!r} is not a decimal number") from None


def _structure_datetime(value: Any, _: type) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 string, got {type(value).__name__}")
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("datetime must carry a time zone offset")
    return parsed


def _structure_date(value: Any, _: type) -> dt.date:
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 date string, got {type(value).__name__}")
    return dt.date.fromisoformat(value)


def _structure_money(value: Any, _: type) -> Money:
    if not isinstance(value, dict) or set(value) != {"amount", "currency"}:
        raise ValueError('expected {"amount": "...", "currency": "..."}')
    try:
        currency = check_currency(value["currency"])
    except SalesOrdersError:
        raise ValueError(f"unknown currency {value['currency']!r}") from None
    return Money(_structure_decimal(value["amount"], Decimal), currency)


def _structure_shortage(value: Any, _: type) -> Shortage:
    if not isinstance(value, dict) or set(value) != {"sku", "requested", "available"}:
        raise ValueError('expected {"sku": ..., "requested": ..., "available": ...}')
    return Shortage(
        str(value["sku"]),
        _structure_decimal(value["requested"], Decimal),
        _structure_decimal(value["available"], Decimal),
    )


def _explained(exc: BaseException, target: type | None) -> str:
    """cattrs' message, or ours where we raised one that says more (an unknown workflow)."""
    if target is Workflow and isinstance(exc, ValueError):
        return str(exc)
    return format_exception(exc, target)


def _problems(error: BaseException) -> list[FieldProblem]:
    problems = []
    for text in cattrs.transform_error(error, path="$", format_exception=_explained):
        message, _, path = text.rpartition(" @ ")
        problems.append(FieldProblem(path or "$", message or text))
    return problems


def _is_optional(t: Any) -> bool:
    """``X | None`` (exactly one other type)."""
    args = get_args(t)
    return (
        get_origin(t) in (Union, types.UnionType)
        and len(args) == 2
        and type(None) in args
        and not isinstance(args[0 if args[1] is type(None) else 1], TypeVar)
    )


def _is_homogeneous_sequence(t: Any) -> bool:
    """``tuple[X, ...]`` or ``list[X]``."""
    origin, args = get_origin(t), get_args(t)
    if origin is tuple:
        return len(args) == 2 and args[1] is Ellipsis and not isinstance(args[0], TypeVar)
    return origin is list and len(args) == 1 and not isinstance(args[0], TypeVar)


def _register_lean_hooks(conv: cattrs.Converter) -> None:
    """Hooks that give the same data as cattrs' own, with less work per value.

    An optional field whose other type passes through unchanged (``str | None``) is read as it
    is, with no call per value; a homogeneous tuple or list becomes a list in one comprehension.
    """

    def optional(t: Any) -> Callable[[Any], Any]:
        args = get_args(t)
        hook = conv.get_unstructure_hook(args[0] if args[1] is type(None) else args[1])
        if hook is identity:
            return identity

        def unstructure_optional(value: Any) -> Any:
            return None if value is None else hook(value)

        return unstructure_optional

    def sequence(t: Any) -> Callable[[Any], Any]:
        hook = conv.get_unstructure_hook(get_args(t)[0])
        if hook is identity:
            return list

        def unstructure_sequence(values: Any) -> list[Any]:
            return [hook(v) for v in values] if values else []

        return unstructure_sequence

    conv.register_unstructure_hook_factory(_is_optional, optional)
    conv.register_unstructure_hook_factory(_is_homogeneous_sequence, sequence)


def make_converter(registry: WorkflowRegistry | None = None) -> cattrs.Converter:
    """A converter for every domain type; orders' workflows are looked up in ``registry``."""
    workflows = registry or WorkflowRegistry()
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    _register_lean_hooks(conv)

    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_unstructure_hook(dt.datetime, dt.datetime.isoformat)
    conv.register_structure_hook(dt.datetime, _structure_datetime)
    conv.register_unstructure_hook(dt.date, dt.date.isoformat)
    conv.register_structure_hook(dt.date, _structure_date)
    conv.register_unstructure_hook(
        Money, lambda m: {"amount": str(m.amount), "currency": m.currency.code}
    )
    # sets become sorted lists, so the data is JSON-compatible and the same on every run
    conv.register_unstructure_hook_func(
        lambda t: t in (frozenset, set) or getattr(t, "__origin__", None) in (frozenset, set),
        lambda value: sorted(conv.unstructure(v) for v in value),
    )
    conv.register_structure_hook(Money, _structure_money)
    conv.register_unstructure_hook(
        Shortage,
        lambda s: {"sku": s.sku, "requested": str(s.requested), "available": str(s.available)},
    )
    conv.register_structure_hook(Shortage, _structure_shortage)
    conv.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), lambda e: e.value
    )

    def unstructure_workflow(workflow: Workflow) -> dict[str, Any]:
        return {"name": workflow.name, "version": workflow.version}

    def structure_workflow(value: Any, _: type) -> Workflow:
        if not isinstance(value, dict) or set(value) != {"name", "version"}:
            raise ValueError('expected {"name": ..., "version": ...}')
        try:
            return workflows.get(value["name"], value["version"])
        except SalesOrdersError as error:
            raise ValueError(
                f"{error}; register the workflow with bootstrap(workflows=[...]) (or the "
                "Serializer's WorkflowRegistry) before reading orders that follow it"
            ) from None

    conv.register_unstructure_hook(Workflow, unstructure_workflow)
    conv.register_structure_hook(Workflow, structure_workflow)
    conv.register_unstructure_hook(
        Order, make_dict_unstructure_fn(Order, conv, events=override(omit=True))
    )
    conv.register_structure_hook(
        Order,
        make_dict_structure_fn(
            Order, conv, events=override(omit=True), _cattrs_forbid_extra_keys=True
        ),
    )
    return conv


class Serializer:
    """Dump and load domain objects; a failed load raises one error listing every bad path.

    Each class's dump function is fetched from ``converter`` once and kept, so register any
    extra hooks on ``converter`` before the first dump.
    """

    def __init__(self, registry: WorkflowRegistry | None = None) -> None:
        self.converter = make_converter(registry)
        self._dumpers: dict[type, Callable[[Any], Any]] = {}

    def dump(self, obj: object) -> Any:
        """JSON-compatible data for ``obj`` (dicts, lists, strings, ints, booleans, None)."""
        return self.dumper(type(obj))(obj)

    def dumper(self, cls: type) -> Callable[[Any], Any]:
        """The function that dumps instances of exactly ``cls``; fetched once per class."""
        dumper = self._dumpers.get(cls)
        if dumper is None:
            dumper = self._dumpers[cls] = self.converter.get_unstructure_hook(cls)
        return dumper

    def load(self, data: Any, cls: type[T]) -> T:
        """Build a ``cls`` from ``data`` or raise :class:`DeserializationError`."""
        try:
            return self.converter.structure(data, cls)
        except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as error:
            if isinstance(error, cattrs.BaseValidationError):
                problems = _problems(error)
            else:
                problems = [FieldProblem("$", str(error))]
            raise DeserializationError(cls.__name__, problems) from error
