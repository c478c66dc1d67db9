"""The sandbox notification templates run in: two Jinja2 ``ImmutableSandboxedEnvironment``
(autoescape on for HTML, off for subjects, text and SMS), ``StrictUndefined``, the formatting
filters, and the load-time check of every template's syntax tree.

The check refuses, before anything runs: an attribute or item whose name starts with ``_``
(``''.__class__``), a name that is neither a context variable nor one the template set itself
(``config``, ``self``, ``cycler``, ``lipsum``, ``request``), a filter or test outside the list
below (``attr``, ``map``), and ``include``, ``import`` and ``extends``. What the tree cannot show
(an attribute name computed at render time) the sandbox refuses when it renders.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import babel.dates
import babel.numbers
import jinja2
import moneyed
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from salesorders.domain.money import format_money, get_locale
from salesorders.errors import SalesOrdersError, TemplateError

__all__ = [
    "ALLOWED_FILTERS",
    "check_template",
    "compile_template",
    "environment",
    "render_template",
]

_BUILTIN_FILTERS = (
    "capitalize",
    "default",
    "d",
    "e",
    "escape",
    "first",
    "join",
    "last",
    "length",
    "count",
    "lower",
    "replace",
    "title",
    "trim",
    "truncate",
    "upper",
    "wordwrap",
)
_OWN_FILTERS = ("money", "number", "date", "datetime")
#: The filters a template may use: a few of Jinja2's own and the formatting ones.
ALLOWED_FILTERS = frozenset(_BUILTIN_FILTERS + _OWN_FILTERS)
_ALLOWED_TESTS = frozenset({"defined", "undefined", "none", "number", "string", "eq", "ne"})
_REFUSED_NODES: dict[type[nodes.Node], str] = {
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "import",
    nodes.Extends: "extends",
}


def _zone(context: Mapping[str, Any]) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(str(context.get("time_zone") or "UTC"))
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return dt.UTC


def _locale(context: Mapping[str, Any]) -> str:
    return str(context.get("locale") or "en_US")


@jinja2.pass_context
def _money(context: Any, value: object) -> str:
    if not isinstance(value, moneyed.Money):
        raise TypeError(f"money filter needs a Money, got {type(value).__name__}")
    return format_money(value, _locale(context))


@jinja2.pass_context
def _number(context: Any, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TypeError(f"number filter needs a number, got {type(value).__name__}")
    return str(babel.numbers.format_decimal(value, locale=get_locale(_locale(context))))


def _local(context: Any, value: object) -> dt.datetime | dt.date:
    if isinstance(value, dt.datetime):
        return value.astimezone(_zone(context))
    if isinstance(value, dt.date):
        return value
    raise TypeError(f"needs a date or datetime, got {type(value).__name__}")


@jinja2.pass_context
def _date(context: Any, value: object, format: str = "medium") -> str:
    local = _local(context, value)
    day = local.date() if isinstance(local, dt.datetime) else local
    return str(babel.dates.format_date(day, format, locale=get_locale(_locale(context))))


@jinja2.pass_context
def _datetime(context: Any, value: object, format: str = "medium") -> str:
    local = _local(context, value)
    if not isinstance(local, dt.datetime):
        local = dt.datetime.combine(local, dt.time(), tzinfo=_zone(context))
    return str(babel.dates.format_datetime(local, format, locale=get_locale(_locale(context))))


_FORMATTERS: dict[str, Callable[..., str]] = {
    "money": _money,
    "number": _number,
    "date": _date,
    "datetime": _datetime,
}


#: The most a template may repeat a string or list (``'-' * 40``) or raise a number to.
MAX_REPEAT = 1_000
MAX_EXPONENT = 64


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, refusing ``*`` and ``**`` that would build huge values."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"an exponent over {MAX_EXPONENT} is not allowed")
            return left**right
        for count, other in ((left, right), (right, left)):
            repeats = isinstance(count, int) and isinstance(other, str | list | tuple)
            if repeats and count > MAX_REPEAT:
                raise SecurityError(f"repeating more than {MAX_REPEAT} times is not allowed")
        return left * right


def _build(autoescape: bool) -> ImmutableSandboxedEnvironment:
    env = _Sandbox(
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.clear()  # no range, lipsum, cycler, joiner, namespace, dict
    env.filters = {name: env.filters[name] for name in _BUILTIN_FILTERS}
    env.filters.update(_FORMATTERS)
    env.tests = {name: env.tests[name] for name in _ALLOWED_TESTS}
    return env


_TEXT = _build(autoescape=False)
_HTML = _build(autoescape=True)


def environment(html: bool) -> ImmutableSandboxedEnvironment:
    """The sandboxed environment for an HTML part (autoescaped) or any other part."""
    return _HTML if html else _TEXT


def compile_template(name: str, source: str, html: bool) -> jinja2.Template:
    """Compile a checked template for an HTML part (autoescaped) or any other part."""
    try:
        return environment(html).from_string(source)
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(name, source, f"is not a valid template: {error.message}") from None


def render_template(
    name: str, source: str, template: jinja2.Template, context: Mapping[str, Any]
) -> str:
    """Render ``template``; whatever goes wrong is a :class:`~salesorders.errors.TemplateError`
    naming ``name``: the sandbox refusing an access, an undefined value, a filter given the
    wrong type."""
    try:
        return template.render(context)
    except SecurityError as error:
        raise TemplateError(name, source, f"is refused by the sandbox: {error}") from None
    except jinja2.UndefinedError as error:
        raise TemplateError(
            name, source, f"uses an undefined value: {error}", "use the context variables"
        ) from None
    except (
        jinja2.TemplateError,
        SalesOrdersError,
        ArithmeticError,
        TypeError,
        ValueError,
        LookupError,
    ) as error:
        raise TemplateError(name, source, f"could not be rendered: {error}") from None


def check_template(name: str, source: str, allowed: Iterable[str]) -> None:
    """Parse ``source`` and refuse it, with a :class:`~salesorders.errors.TemplateError` naming
    ``name`` and what it tried, if it reaches outside the ``allowed`` variables (see the module
    docstring)."""
    try:
        tree = _TEXT.parse(source)
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(
            name, source, f"is not a valid template: {error.message} (line {error.lineno})"
        ) from None
    known = set(allowed) | _assigned(tree)
    for node in tree.find_all(nodes.Node):
        problem = _problem(node, known)
        if problem:
            raise TemplateError(
                name, source, f"is refused: it {problem}", "use only the documented variables"
            )


def _assigned(tree: nodes.Template) -> set[str]:
    """Names the template binds itself: loop targets, ``set``, macro and call arguments."""
    names = {"loop", "caller", "varargs", "kwargs"} if _has_loops_or_macros(tree) else set()
    for node in tree.find_all(nodes.Name):
        if node.ctx in ("store", "param"):
            names.add(node.name)
    for macro in tree.find_all(nodes.Macro):
        names.add(macro.name)
    return names


def _has_loops_or_macros(tree: nodes.Template) -> bool:
    return any(True for _ in tree.find_all((nodes.For, nodes.Macro, nodes.CallBlock)))


def _problem(node: nodes.Node, known: set[str]) -> str:
    if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
        return f"reads the private attribute {node.attr!r}"
    if isinstance(node, nodes.Getitem):
        key = node.arg
        if isinstance(key, nodes.Const) and isinstance(key.value, str) and key.value[:1] == "_":
            return f"reads the private item {key.value!r}"
    if isinstance(node, nodes.Name) and node.ctx == "load" and node.name not in known:
        return f"uses {node.name!r}, which is not a context variable"
    if isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
        return f"uses the filter {node.name!r}, which templates may not use"
    if isinstance(node, nodes.Test) and node.name not in _ALLOWED_TESTS:
        return f"uses the test {node.name!r}, which templates may not use"
    for kind, word in _REFUSED_NODES.items():
        if isinstance(node, kind):
            return f"uses {word}, which templates may not use"
    return ""
