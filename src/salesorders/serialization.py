"""One cattrs converter for every domain object, to and from JSON-compatible data.

* ``Decimal`` ↔ string (``"19.99"``); floats are refused on the way in.
* ``Money`` ↔ ``{"amount": "19.99", "currency": "USD"}``.
* ``datetime`` ↔ ISO 8601 with its zone; a naive datetime is refused. ``date`` ↔ ISO 8601.
* Enums ↔ their values; tuples and frozensets ↔ lists.
* A number a command takes in several forms (``Decimal | int | str``, and ``Money | Decimal |
  str | int`` for amounts) loads from JSON as a ``Decimal`` (from ``3`` or ``"3"``), or as a
  ``Money`` from ``{"amount", "currency"}``; a float such as ``1.1`` is refused.
* A whole number must be a JSON integer and a boolean ``true`` or ``false`` (never ``1.9`` or
  ``"false"``, which a plain cast would take).
* An order's workflow ↔ ``{"name": ..., "version": ...}``, resolved through a
  :class:`~salesorders.domain.workflow.WorkflowRegistry` on the way in.
* Unknown keys are refused, and every bad field is reported at once, with its path, in one
  :class:`~salesorders.errors.DeserializationError` (``$.lines[3].quantity: ...``).

Dumping is compiled: for each class, :func:`compile_dumper` writes one function that builds the
whole nested data in a single expression, the fields of nested attrs classes, optionals, sequences,
money and enums written inline, where the converter would call one hook per value. The converter
stays the reference: a compiled dumper gives exactly the converter's data (a property test checks
it on generated orders, commands and events).
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import re
import threading
import types
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.fns import identity
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import format_exception
from moneyed import Money

from salesorders.domain.money import check_currency, to_decimal
from salesorders.domain.order import Order
from salesorders.domain.workflow import Workflow, WorkflowRegistry
from salesorders.errors import DeserializationError, FieldProblem, SalesOrdersError, Shortage
from salesorders.serialization_defaults import compact_defaults, drop_defaults

__all__ = ["Serializer", "compile_canonical_text", "compile_dumper", "make_converter"]

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


def _structure_int(value: Any, cls: type[int]) -> int:
    if value.__class__ is int:
        return int(value) if cls is int else cls(value)  # an IntEnum, say
    raise ValueError(f"expected a whole number, got {type(value).__name__}")


def _structure_bool(value: Any, _: type) -> bool:
    if value.__class__ is bool:
        return bool(value)
    raise ValueError(f"expected true or false, got {type(value).__name__}")


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


#: The types a command's number may be given as; loaded from JSON, it becomes a Decimal (or Money).
_NUMBER_FORMS = frozenset({Decimal, int, str})


def _number_members(t: Any) -> frozenset[Any] | None:
    """The members of a union of a number's forms (``Decimal | int | str``, with ``Money``,
    with ``None``), or ``None`` for any other type."""
    if get_origin(t) not in (Union, types.UnionType):
        return None
    members = frozenset(get_args(t)) - {type(None)}
    if Decimal in members and members <= _NUMBER_FORMS | {Money}:
        return members
    return None


def _number_hook(t: Any) -> Callable[[Any, type], Any]:
    """Load a number given in any of its forms as a ``Decimal`` (a JSON number or a string;
    never a float), a ``Money`` where the union takes one, or ``None`` where it is optional."""
    takes_money = Money in get_args(t)
    takes_none = type(None) in get_args(t)

    def structure_number(value: Any, _: type) -> Any:
        if value is None and takes_none:
            return None
        if takes_money and isinstance(value, dict):
            return _structure_money(value, Money)
        return _structure_decimal(value, Decimal)

    return structure_number


def _unstructure_money(money: Money) -> dict[str, Any]:
    return {"amount": str(money.amount), "currency": money.currency.code}


def _unstructure_enum(member: enum.Enum) -> Any:
    return member.value


# Fields left out of a class's data (the converter's overrides, which the compiler follows too).
_OMITTED: dict[type, frozenset[str]] = {Order: frozenset({"events"})}


#: Types whose structure hooks raise a ValueError that says what is wrong and what to write.
_EXPLAINED: frozenset[Any] = frozenset(
    {Workflow, Decimal, Money, Shortage, dt.datetime, dt.date, int, bool}
)


def _explains(target: Any) -> bool:
    """Whether the hook for ``target`` (or for the type an optional ``target`` holds) raises
    errors of its own worth showing."""
    if _is_optional(target):
        target = next(a for a in get_args(target) if a is not type(None))
    return target in _EXPLAINED or _number_members(target) is not None


def _explained(exc: BaseException, target: type | None) -> str:
    """cattrs' message, or ours where we raised one that says more (an unknown workflow)."""
    if isinstance(exc, ValueError) and _explains(target):
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
    return _converter((registry or WorkflowRegistry()).get)


def _converter(find: Callable[[str, int], Workflow]) -> cattrs.Converter:
    """A converter for every domain type; an order's workflow is ``find(name, version)``."""
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    _register_lean_hooks(conv)

    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_unstructure_hook(dt.datetime, dt.datetime.isoformat)
    conv.register_structure_hook(dt.datetime, _structure_datetime)
    conv.register_unstructure_hook(dt.date, dt.date.isoformat)
    conv.register_structure_hook(dt.date, _structure_date)
    conv.register_unstructure_hook(Money, _unstructure_money)
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
    conv.register_structure_hook_factory(lambda t: _number_members(t) is not None, _number_hook)
    conv.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), _unstructure_enum
    )

    def unstructure_workflow(workflow: Workflow) -> dict[str, Any]:
        return {"name": workflow.name, "version": workflow.version}

    def structure_workflow(value: Any, _: type) -> Workflow:
        if not isinstance(value, dict) or set(value) != {"name", "version"}:
            raise ValueError('expected {"name": ..., "version": ...}')
        try:
            return find(value["name"], value["version"])
        except SalesOrdersError as error:
            raise ValueError(
                f"{error}; register the workflow with bootstrap(workflows=[...]) (or the "
                "Serializer's WorkflowRegistry) before reading orders that follow it"
            ) from None

    conv.register_unstructure_hook(Workflow, unstructure_workflow)
    conv.register_structure_hook(Workflow, structure_workflow)
    conv.register_unstructure_hook(
        Order,
        make_dict_unstructure_fn(Order, conv, events=override(omit=True)),  # as in _OMITTED
    )
    conv.register_structure_hook(
        Order,
        make_dict_structure_fn(
            Order, conv, events=override(omit=True), _cattrs_forbid_extra_keys=True
        ),
    )
    return conv


_LEAN_OPTIONAL = "_register_lean_hooks.<locals>.optional.<locals>.unstructure_optional"
_LEAN_SEQUENCE = "_register_lean_hooks.<locals>.sequence.<locals>.unstructure_sequence"


class _DumpWriter:
    """Writes the code that dumps a value of a type, following the converter's hooks.

    Hooks it knows (pass-through, money, enums, unions of plain types, this module's optionals
    and sequences, cattrs' generated hooks for attrs classes) are written inline; any other hook
    is called as it is. The top level's nested objects are read once into locals.
    """

    def __init__(self, converter: cattrs.Converter, *, compact: bool = False) -> None:
        self.converter = converter
        #: leave out of each attrs object the fields at an empty default (see compact_defaults)
        self.compact = compact
        self.names: dict[str, Any] = {"_str": str}
        self._by_id: dict[int, str] = {}
        self._counter = itertools.count()
        self._open: list[type] = []
        self.statements: list[str] = []

    def name(self, value: Any) -> str:
        """A name for ``value`` in the generated code (a global of the generated function)."""
        found = self._by_id.get(id(value))
        if found is None:
            found = self._by_id[id(value)] = f"_h{next(self._counter)}"
            self.names[found] = value
        return found

    def call(self, hook: Callable[[Any], Any], src: str) -> str:
        return f"{self.name(hook)}({src})"

    def value(
        self, t: Any, hook: Callable[[Any], Any], src: str, omit: frozenset[str] = frozenset()
    ) -> str:
        """The expression that gives ``hook(src)`` for ``src`` of type ``t``; an attrs class
        written inline leaves the fields named in ``omit`` out."""
        if hook is identity:
            return src
        if hook is str:
            return f"_str({src})"
        if hook is _unstructure_money:
            return f"{{'amount': _str({src}.amount), 'currency': {src}.currency.code}}"
        if hook is _unstructure_enum:
            return f"{src}.value"
        qualname = getattr(hook, "__qualname__", "")
        if qualname == _LEAN_OPTIONAL:
            args = get_args(t)
            inner = args[0] if args[1] is type(None) else args[1]
            item = self.value(inner, self.converter.get_unstructure_hook(inner), src)
            return f"(None if {src} is None else {item})"
        if qualname == _LEAN_SEQUENCE:
            inner = get_args(t)[0]
            var = f"_v{next(self._counter)}"
            item = self.value(inner, self.converter.get_unstructure_hook(inner), var)
            return f"([{item} for {var} in {src}] if {src} else [])"
        if qualname.endswith("._unstructure_union") and getattr(hook, "__self__", None) is (
            self.converter
        ):
            return self.union(t, hook, src)
        if (
            isinstance(t, type)
            and attrs.has(t)
            and t not in self._open
            and getattr(hook, "__name__", None) == f"unstructure_{t.__name__}"
        ):
            return self.fields(t, src, omit)
        return self.call(hook, src)

    def union(
        self, t: Any, hook: Callable[[Any], Any], src: str, *, with_money: bool = True
    ) -> str:
        """cattrs dispatches a union on the value's class: plain classes and ``Money`` are
        tested inline (exactly that class; a subclass goes to cattrs' dispatch as before).
        ``with_money=False``: the caller has tested for a ``Money`` already."""
        kept, as_text, money = self.members(t, src)
        expr = self.call(hook, src)
        if money and with_money:
            inline = self.value(Money, _unstructure_money, src)
            expr = f"{inline} if {money} else {expr}"
        if as_text:
            expr = f"_str({src}) if {' or '.join(as_text)} else {expr}"
        if kept:
            expr = f"{src} if {' or '.join(kept)} else {expr}"
        return f"({expr})"

    def members(self, t: Any, src: str) -> tuple[list[str], list[str], str]:
        """The tests of ``src``'s class for the members of the union ``t`` whose data is the
        value itself, is its ``str``, and is a ``Money``'s dict ("" if no member is)."""
        kept, as_text, money = [], [], ""
        for member in get_args(t):
            if not isinstance(member, type):
                continue
            member_hook = self.converter.get_unstructure_hook(member)
            test = f"{src}.__class__ is {self.name(member)}"
            if member_hook is identity:
                kept.append(test)
            elif member_hook is str:
                as_text.append(test)
            elif member_hook is _unstructure_money and member is Money:
                money = test
        return kept, as_text, money

    def fields(self, cls: type, src: str, omit: frozenset[str] = frozenset()) -> str:
        """A dict literal with the fields of the attrs class ``cls``, as cattrs' generated hook.

        At the top level (``src`` is ``instance``) a field read more than once is read into a
        local first."""
        attrs.resolve_types(cls)
        omitted = omit | _OMITTED.get(cls, frozenset())
        use_alias = getattr(self.converter, "use_alias", False)
        self._open.append(cls)
        items = []
        for field in attrs.fields(cls):
            if field.name in omitted or not field.init:
                continue
            key = field.alias if use_alias else field.name
            get = f"{src}.{field.name}"
            if field.type is None or isinstance(field.type, TypeVar):
                items.append(f"{key!r}: {self.call(self.converter.unstructure, get)}")
                continue
            hook = self.converter.get_unstructure_hook(field.type)
            if src == "instance":
                local = f"_f{next(self._counter)}"
                expr = self.value(field.type, hook, local)
                if len(re.findall(rf"\b{local}\b", expr)) > 1:
                    self.statements.append(f"{local} = {get}")
                else:
                    expr = re.sub(rf"\b{local}\b", get, expr)
            else:
                expr = self.value(field.type, hook, get)
            items.append(f"{key!r}: {expr}")
        self._open.pop()
        literal = "{" + ", ".join(items) + "}"
        if self.compact:
            defaults = compact_defaults(cls, self.converter, omitted)
            if defaults:
                return f"{self.name(drop_defaults(defaults))}({literal})"
        return literal


class _TextWriter(_DumpWriter):
    """Writes the code that gives ``repr`` of what a dump gives, without building the data.

    Each value becomes an expression for its text: literals for keys and punctuation, ``repr``
    for the leaves, ``", ".join`` for sequences; what the dump writer would only call is
    dumped and then passed to ``repr``. The parts of one object are put together by one
    ``%`` formatting, whose ``%r`` takes a leaf's ``repr`` without a call of its own.
    """

    def __init__(self, converter: cattrs.Converter) -> None:
        super().__init__(converter)
        self.names.update({"_repr": repr, "_comma": ", ".join})
        #: the expressions ``_repr(x)`` written so far, and their ``x``
        self._shown: dict[str, str] = {}

    def shown(self, src: str) -> str:
        """The expression giving ``repr`` of ``src``."""
        expr = f"_repr({src})"
        self._shown[expr] = src
        return expr

    def joined(self, parts: list[tuple[bool, str]]) -> str:
        """One expression from ``(is_literal, text)`` parts, adjacent literals merged."""
        merged: list[tuple[bool, str]] = []
        for literal, text in parts:
            if literal and merged and merged[-1][0]:
                merged[-1] = (True, merged[-1][1] + text)
            else:
                merged.append((literal, text))
        if len(merged) == 1:
            literal, text = merged[0]
            return repr(text) if literal else text
        template: list[str] = []
        values: list[str] = []
        for literal, text in merged:
            if literal:
                template.append(text.replace("%", "%%"))
            elif text in self._shown:
                template.append("%r")
                values.append(f"({self._shown[text]})")
            else:
                template.append("%s")  # a text already
                values.append(f"({text})")
        return f"({''.join(template)!r} % ({', '.join(values)},))"

    def text(self, t: Any, hook: Callable[[Any], Any], src: str) -> str:
        """The expression that gives ``repr(hook(src))`` for ``src`` of type ``t``."""
        if hook is identity:
            return self.shown(src)
        if hook is str:
            return self.shown(f"_str({src})")
        if hook is _unstructure_money:
            return self.joined(
                [
                    (True, "{'amount': "),
                    (False, self.shown(f"_str({src}.amount)")),
                    (True, ", 'currency': "),
                    (False, self.shown(f"{src}.currency.code")),
                    (True, "}"),
                ]
            )
        if hook is _unstructure_enum:
            return self.shown(f"{src}.value")
        qualname = getattr(hook, "__qualname__", "")
        if qualname == _LEAN_OPTIONAL:
            args = get_args(t)
            inner = args[0] if args[1] is type(None) else args[1]
            item = self.text(inner, self.converter.get_unstructure_hook(inner), src)
            shown = self._shown.get(item)
            if shown is not None:  # repr(None) is 'None'
                return self.shown(f"None if {src} is None else {shown}")
            return f"('None' if {src} is None else {item})"
        if qualname == _LEAN_SEQUENCE:
            inner = get_args(t)[0]
            var = f"_v{next(self._counter)}"
            item = self.text(inner, self.converter.get_unstructure_hook(inner), var)
            return f"('[' + _comma([{item} for {var} in {src}]) + ']' if {src} else '[]')"
        if (
            isinstance(t, type)
            and attrs.has(t)
            and t not in self._open
            and getattr(hook, "__name__", None) == f"unstructure_{t.__name__}"
        ):
            return self.record(t, src)
        if qualname.endswith("._unstructure_union") and getattr(hook, "__self__", None) is (
            self.converter
        ):
            money = self.members(t, src)[2]
            if money:  # a Money's text at once, without its dict
                inline = self.text(Money, _unstructure_money, src)
                rest = self.shown(self.union(t, hook, src, with_money=False))
                return f"({inline} if {money} else {rest})"
        return self.shown(self.value(t, hook, src))

    def record(self, cls: type, src: str, omit: frozenset[str] = frozenset()) -> str:
        """The text of the dict that :meth:`_DumpWriter.fields` would write."""
        attrs.resolve_types(cls)
        omitted = omit | _OMITTED.get(cls, frozenset())
        use_alias = getattr(self.converter, "use_alias", False)
        self._open.append(cls)
        parts: list[tuple[bool, str]] = [(True, "{")]
        for field in attrs.fields(cls):
            if field.name in omitted or not field.init:
                continue
            key = field.alias if use_alias else field.name
            if len(parts) > 1:
                parts.append((True, ", "))
            parts.append((True, f"{key!r}: "))
            get = f"{src}.{field.name}"
            if field.type is None or isinstance(field.type, TypeVar):
                parts.append((False, self.shown(self.call(self.converter.unstructure, get))))
                continue
            hook = self.converter.get_unstructure_hook(field.type)
            if src == "instance":
                local = f"_f{next(self._counter)}"
                expr = self.text(field.type, hook, local)
                if len(re.findall(rf"\b{local}\b", expr)) > 1:
                    self.statements.append(f"{local} = {get}")
                else:
                    shown = self._shown.get(expr)
                    expr = re.sub(rf"\b{local}\b", get, expr)
                    if shown is not None:
                        self._shown[expr] = re.sub(rf"\b{local}\b", get, shown)
            else:
                expr = self.text(field.type, hook, get)
            parts.append((False, expr))
        parts.append((True, "}"))
        self._open.pop()
        return self.joined(parts)


def compile_canonical_text(
    cls: type, converter: cattrs.Converter, omit: frozenset[str] = frozenset()
) -> Callable[[Any], str]:
    """One compiled function giving ``repr`` of what ``compile_dumper(cls, converter, omit)``
    gives (the canonical text the command fingerprint hashes), without building the data."""
    hook = converter.get_unstructure_hook(cls)
    writer = _TextWriter(converter)
    if attrs.has(cls) and getattr(hook, "__name__", None) == f"unstructure_{cls.__name__}":
        body = writer.record(cls, "instance", omit)
        lines = [*writer.statements, f"return {body}"]
    else:
        dump = compile_dumper(cls, converter, omit)
        lines = [f"return _repr({writer.name(dump)}(instance))"]
    name = f"text_{cls.__name__}"
    source = f"def {name}(instance):\n" + "".join(f"    {line}\n" for line in lines)
    namespace: dict[str, Any] = dict(writer.names)
    exec(compile(source, f"<compiled text {cls.__module__}.{cls.__qualname__}>", "exec"), namespace)
    function: Callable[[Any], str] = namespace[name]
    function.__doc__ = source
    return function


def compile_dumper(
    cls: type,
    converter: cattrs.Converter,
    omit: frozenset[str] = frozenset(),
    *,
    compact: bool = False,
) -> Callable[[Any], Any]:
    """One compiled function that dumps instances of exactly ``cls`` as ``converter`` would.

    ``omit`` names keys left out of the data (as ``dump`` then ``del``; the command fingerprint
    leaves out the idempotency key). A class whose hook the compiler does not know gets that hook
    itself. ``compact``: every attrs object written inline leaves out the fields whose data is
    their empty default's (see :func:`~salesorders.serialization_defaults.compact_defaults`);
    loading the data restores them.
    """
    hook = converter.get_unstructure_hook(cls)
    writer = _DumpWriter(converter, compact=compact)
    body = writer.value(cls, hook, "instance", omit)
    called = writer.call(hook, "instance")
    if body == called:
        if not omit:
            return hook
        lines = [f"data = {called}", "if isinstance(data, dict):"]
        lines += [f"    data.pop({key!r}, None)" for key in sorted(omit)]
        lines.append("return data")
    else:
        lines = [*writer.statements, f"return {body}"]
    name = f"dump_{cls.__name__}"
    source = f"def {name}(instance):\n" + "".join(f"    {line}\n" for line in lines)
    namespace: dict[str, Any] = dict(writer.names)
    exec(compile(source, f"<compiled dump {cls.__module__}.{cls.__qualname__}>", "exec"), namespace)
    dumper: Callable[[Any], Any] = namespace[name]
    dumper.__doc__ = source
    return dumper


#: The registry of the serializer loading data in this thread or task: the shared converter's
#: workflow hook looks orders' workflows up in it.
_LOADING: ContextVar[WorkflowRegistry | None] = ContextVar("salesorders_loading", default=None)
_DEFAULT_REGISTRY = WorkflowRegistry()


def _find_loading(name: str, version: int) -> Workflow:
    return (_LOADING.get() or _DEFAULT_REGISTRY).get(name, version)


class _Codecs:
    """A converter and the functions compiled from it, each kept once compiled."""

    __slots__ = ("converter", "documents", "dumpers", "partial_dumpers", "texts")

    def __init__(self, converter: cattrs.Converter) -> None:
        self.converter = converter
        self.dumpers: dict[type, Callable[[Any], Any]] = {}
        self.partial_dumpers: dict[tuple[type, frozenset[str]], Callable[[Any], Any]] = {}
        self.texts: dict[tuple[type, frozenset[str]], Callable[[Any], str]] = {}
        self.documents: dict[type, Callable[[Any], Any]] = {}


_shared: list[_Codecs] = []
_shared_lock = threading.Lock()


def _shared_codecs() -> _Codecs:
    """The process's codecs, which every serializer uses until its own converter is asked for:
    built at the first use, so a second store or service compiles nothing again."""
    if not _shared:
        with _shared_lock:
            if not _shared:
                _shared.append(_Codecs(_converter(_find_loading)))
    return _shared[0]


class Serializer:
    """Dump and load domain objects; a failed load raises one error listing every bad path.

    Each class's dump function is compiled from the converter's hooks once
    (:func:`compile_dumper`) and kept. Serializers share one converter and its compiled
    functions in a process, so a new service or store compiles nothing again. Asking for
    :attr:`converter` gives this serializer a converter of its own, and compiled functions of
    its own from then on: register any extra hooks on it and they change no other serializer. A
    hook made by cattrs for an attrs class is written inline field by field; give a class a hook
    of your own (any other function) to have it called instead.
    """

    __slots__ = ("_codecs", "_registry")

    def __init__(self, registry: WorkflowRegistry | None = None) -> None:
        self._registry = registry if registry is not None else WorkflowRegistry()
        self._codecs = _shared_codecs()

    @property
    def converter(self) -> cattrs.Converter:
        """This serializer's own converter (orders' workflows looked up in its registry):
        register extra hooks on it before the dumps and loads they should change."""
        if self._codecs is _shared_codecs():
            self._codecs = _Codecs(make_converter(self._registry))
        return self._codecs.converter

    def dump(self, obj: object) -> Any:
        """JSON-compatible data for ``obj`` (dicts, lists, strings, ints, booleans, None)."""
        return self.dumper(type(obj))(obj)

    def dumper(self, cls: type) -> Callable[[Any], Any]:
        """The function that dumps instances of exactly ``cls``; compiled once per class."""
        codecs = self._codecs
        dumper = codecs.dumpers.get(cls)
        if dumper is None:
            dumper = codecs.dumpers[cls] = compile_dumper(cls, codecs.converter)
        return dumper

    def document(self, cls: type) -> Callable[[Any], Any]:
        """The function that dumps instances of exactly ``cls`` as a stored document: like
        :meth:`dumper`, without the fields left at an empty default (``None``, ``False``, zero,
        an empty text or collection), which :meth:`load` restores; compiled once per class."""
        codecs = self._codecs
        dumper = codecs.documents.get(cls)
        if dumper is None:
            dumper = compile_dumper(cls, codecs.converter, compact=True)
            codecs.documents[cls] = dumper
        return dumper

    def dumper_without(self, cls: type, omit: frozenset[str]) -> Callable[[Any], Any]:
        """Like :meth:`dumper`, leaving the keys named in ``omit`` out of the data (as ``dump``
        and then ``del``); compiled once per class and names."""
        codecs = self._codecs
        dumper = codecs.partial_dumpers.get((cls, omit))
        if dumper is None:
            dumper = compile_dumper(cls, codecs.converter, omit)
            codecs.partial_dumpers[(cls, omit)] = dumper
        return dumper

    def canonical_text(self, cls: type, omit: frozenset[str] = frozenset()) -> Callable[[Any], str]:
        """The function giving ``repr`` of :meth:`dumper_without`'s data for instances of
        exactly ``cls`` (what the command fingerprint hashes), written without building the
        data; compiled once per class and names."""
        codecs = self._codecs
        function = codecs.texts.get((cls, omit))
        if function is None:
            function = compile_canonical_text(cls, codecs.converter, omit)
            codecs.texts[(cls, omit)] = function
        return function

    def load(self, data: Any, cls: type[T]) -> T:
        """Build a ``cls`` from ``data`` or raise :class:`DeserializationError`."""
        if attrs.has(cls) and not isinstance(data, Mapping):
            raise DeserializationError(
                cls.__name__,
                [FieldProblem("$", f"must be an object of fields, not {type(data).__name__}")],
            )
        loading = _LOADING.set(self._registry)
        try:
            return self._codecs.converter.structure(data, cls)
        except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as error:
            if isinstance(error, cattrs.BaseValidationError):
                problems = _problems(error)
            else:
                problems = [FieldProblem("$", str(error))]
            raise DeserializationError(cls.__name__, problems) from error
        finally:
            _LOADING.reset(loading)
