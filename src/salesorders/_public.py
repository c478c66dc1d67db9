"""How the public namespaces give their objects a public home (``__module__``), as svcs does.

Each public module (``salesorders``, ``salesorders.pricing``, ``salesorders.stock`` ...) lists its
names and calls :func:`publish`: the classes and functions defined in private modules then say they
live in the public one, so reprs, pickles, error messages and the API reference show the name a
caller imports. Annotations are resolved first, against the private module they were written in,
so ``typing.get_type_hints`` and cattrs keep working after the move.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

__all__ = ["PUBLIC_MODULES", "publish"]

#: The modules whose names are the public API (the adapters, ports and kits keep their homes).
PUBLIC_MODULES = frozenset(
    {
        "salesorders",
        "salesorders.barcodes",
        "salesorders.analytics",
        "salesorders.audit",
        "salesorders.customers",
        "salesorders.errors",
        "salesorders.events",
        "salesorders.orders",
        "salesorders.permissions",
        "salesorders.pricing",
        "salesorders.privacy",
        "salesorders.spreadsheets",
        "salesorders.notifications",
        "salesorders.stock",
        "salesorders.workflow",
    }
)


def publish(namespace: Mapping[str, Any], module: str, names: Iterable[str]) -> None:
    """Give the classes and functions ``names`` of ``namespace`` the home ``module``.

    An object already at home in a public module keeps it (an object two namespaces export
    lives in the first that published it); objects from outside the package are left alone.
    """
    moving = [
        obj
        for obj in (namespace[name] for name in names)
        if (isinstance(obj, type) or inspect.isfunction(obj))
        and obj.__module__.startswith("salesorders.")
        and obj.__module__ not in PUBLIC_MODULES
    ]  # names that are not classes or functions (constants, ``__version__``) have no home
    for obj in moving:  # every annotation resolved before any class moves
        if isinstance(obj, type):
            _resolve_annotations(obj)
    for obj in moving:
        obj.__module__ = module


def _resolve_annotations(cls: type) -> None:
    """Replace the string annotations of ``cls`` and its bases in the package by the objects
    they name, evaluated where they were written."""
    for klass in reversed(cls.__mro__):  # bases first: a subclass then sees resolved ones
        own = inspect.get_annotations(klass)
        if not own or not klass.__module__.startswith("salesorders"):
            continue
        if not any(isinstance(value, str) for value in own.values()):
            continue
        hints = typing.get_type_hints(klass, include_extras=True)
        klass.__annotations__ = {name: hints.get(name, value) for name, value in own.items()}
        if attrs.has(klass):
            attrs.resolve_types(klass)
