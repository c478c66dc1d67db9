"""Which fields a compact document leaves out: those whose data is an empty default.

A stored order document (:meth:`~salesorders.serialization.Serializer.document`) leaves out each
field whose dumped value equals the dumped value of its attrs default, when that default is empty:
``None``, ``False``, ``0``, ``""``, ``"0"`` (a zero ``Decimal``), ``[]`` or ``{}``. Loading fills a
missing field from its default, so the object read back is the one written. Defaults that carry a
meaning of their own (a price source, a rounding rule, a kind of payment terms) are always
written: a later version of the library may change such a default, and a stored document must
keep saying what it said. Documents written in full, as before, load unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import attrs
import cattrs

__all__ = ["compact_defaults", "drop_defaults"]

#: The empty values a compact document leaves out (compared with their type: ``0`` is not
#: ``False``).
_EMPTY: Final[tuple[Any, ...]] = (None, False, 0, "", "0", [], {})


def _is_empty(value: Any) -> bool:
    return any(type(value) is type(empty) and value == empty for empty in _EMPTY)


def compact_defaults(
    cls: type, converter: cattrs.Converter, omitted: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The keys of ``cls``'s data that may be left out, with the empty data of their default."""
    found: dict[str, Any] = {}
    attrs.resolve_types(cls)
    for field in attrs.fields(cls):
        default = field.default
        if field.name in omitted or not field.init or default is attrs.NOTHING:
            continue
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            if default.takes_self:
                continue
            default = default.factory()
        if field.type is None:
            continue
        dumped = converter.get_unstructure_hook(field.type)(default)
        if _is_empty(dumped):
            found[field.alias if getattr(converter, "use_alias", False) else field.name] = dumped
    return found


def _test(empty: Any) -> str:
    """The condition that ``v`` is the empty value ``empty``, of its type."""
    if empty is None or isinstance(empty, bool):
        return f"v is {empty!r}"
    if isinstance(empty, int):
        return "v == 0 and v.__class__ is int"  # not False, which equals 0
    return f"v == {empty!r}"  # only a str equals a str, a list a list, a dict a dict


def drop_defaults(defaults: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A compiled function removing from a dict the keys whose value is their empty default
    (``defaults``, from :func:`compact_defaults`), and returning the dict."""
    lines = ["def drop(data):"]
    for key, empty in defaults.items():
        lines += [f"    v = data[{key!r}]", f"    if {_test(empty)}:", f"        del data[{key!r}]"]
    lines.append("    return data")
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines), "<compiled drop of defaults>", "exec"), namespace)
    drop: Callable[[dict[str, Any]], dict[str, Any]] = namespace["drop"]
    return drop
