"""The input checks every layer shares: a timezone-aware time, and text every store can hold.

Every id, SKU, name and free text that enters the library passes through :func:`check_text` (or
one of its friends), so the memory, SQLite and PostgreSQL stores accept and refuse exactly the same
input, before anything is stored. A text is refused when it

* is not a ``str``;
* is longer than its kind allows (counted in characters): :data:`ID_MAX_LENGTH` for ids, SKUs,
  codes and order numbers, :data:`NAME_MAX_LENGTH` for names, address parts and actors,
  :data:`TEXT_MAX_LENGTH` for free texts such as descriptions and reasons, and
  :data:`KEY_MAX_LENGTH` for idempotency keys;
* contains a NUL character (PostgreSQL cannot store one in text or JSON);
* cannot be encoded as UTF-8 (a lone surrogate such as ``"\\ud800"``, left by decoding bytes
  with ``surrogateescape``).

The limits keep every indexed column well inside PostgreSQL's index entry size, whatever the
characters (four bytes each at most).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from salesorders.errors import ValidationError

__all__ = [
    "ID_MAX_LENGTH",
    "KEY_MAX_LENGTH",
    "MAX_PAGE_SIZE",
    "NAME_MAX_LENGTH",
    "TEXT_MAX_LENGTH",
    "aware_time",
    "check_name",
    "check_text",
    "next_free_id",
    "optional_id",
    "page_limit",
    "require_id",
    "require_name",
    "require_text",
]

#: Ids, SKUs, codes, customer groups, warehouse ids and order numbers.
ID_MAX_LENGTH = 100
#: Names: people, address lines, cities, actors, tax components, warehouses, units.
NAME_MAX_LENGTH = 200
#: Free texts: line descriptions, reasons, discount reasons, price sources.
TEXT_MAX_LENGTH = 2000
#: Idempotency keys (Stripe allows 255 characters too).
KEY_MAX_LENGTH = 255

#: The most rows one page of a listing (orders, shipments, lead times) may ask for.
MAX_PAGE_SIZE = 10_000

_SHOWN = 40  # characters of an over-long value shown in an error message


def aware_time(at: object, field: str = "at") -> dt.datetime:
    """Return ``at`` if it is a timezone-aware datetime, else raise naming ``field``."""
    if not isinstance(at, dt.datetime) or at.utcoffset() is None:
        raise ValidationError(
            field, at, "must be a timezone-aware datetime", "pass e.g. datetime.now(timezone.utc)"
        )
    return at


def check_text(value: object, field: str, max_length: int = TEXT_MAX_LENGTH) -> str:
    """Return ``value`` if it is a string every store can hold (it may be empty).

    Raises :class:`~salesorders.errors.ValidationError` naming ``field`` for anything else: not a
    string, longer than ``max_length`` characters, a NUL character, a lone surrogate.
    """
    if (
        value.__class__ is str
        and len(value) <= max_length
        and value.isascii()
        and "\x00" not in value
    ):
        return value  # the common case, checked at once
    return _checked_text(value, field, max_length)


def _checked_text(value: object, field: str, max_length: int) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, value, "must be a string")
    if len(value) > max_length:
        shown = f"{value[:_SHOWN]!r}... ({len(value)} characters)"
        raise ValidationError(
            field,
            value,
            f"must be at most {max_length} characters",
            "shorten it",
            message=f"{field}: must be at most {max_length} characters (got {shown}); shorten it",
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            field,
            value,
            "is not valid Unicode text (it holds a lone surrogate)",
            "decode the input as UTF-8 with errors='strict' or 'replace'",
        ) from None
    if "\x00" in value:
        raise ValidationError(
            field, value, "must not contain a NUL character", "remove the '\\x00' characters"
        )
    return value


def require_text(
    value: object, field: str, *, blank_ok: bool = True, max_length: int = TEXT_MAX_LENGTH
) -> str:
    """Return ``value`` if it is a non-empty string every store can hold (see :func:`check_text`).

    ``blank_ok=False`` also refuses a string of blanks only.
    """
    if not isinstance(value, str) or not value or (not blank_ok and value.isspace()):
        raise ValidationError(field, value, "must be a non-empty string")
    return check_text(value, field, max_length)


def require_id(value: object, field: str) -> str:
    """An id, a SKU or a code: not blank, at most :data:`ID_MAX_LENGTH` characters."""
    if value.__class__ is str and value and not value.isspace():
        return check_text(value, field, ID_MAX_LENGTH)
    return require_text(value, field, blank_ok=False, max_length=ID_MAX_LENGTH)


def optional_id(value: object, field: str) -> str | None:
    """``None``, or an id as :func:`require_id` accepts it."""
    return None if value is None else require_id(value, field)


def next_free_id(prefix: str, taken: Iterable[str]) -> str:
    """The next id of a numbered series on an order (``P1``, ``C2``, ``R3`` …): one past the
    highest number taken, so an id a caller chose (``R2``) never blocks the numbering."""
    highest = 0
    size = len(prefix)
    for found in taken:
        rest = found[size:]
        if found.startswith(prefix) and rest.isdigit() and rest.isascii():
            highest = max(highest, int(rest))
    return f"{prefix}{highest + 1}"


def require_name(value: object, field: str) -> str:
    """A name: not blank, at most :data:`NAME_MAX_LENGTH` characters."""
    return require_text(value, field, blank_ok=False, max_length=NAME_MAX_LENGTH)


def check_name(value: object, field: str) -> str:
    """A name that may be empty (an optional address line, an actor): a string of at most
    :data:`NAME_MAX_LENGTH` characters."""
    return check_text(value, field, NAME_MAX_LENGTH)


def page_limit(value: object, field: str = "limit") -> int:
    """How many rows one page of a listing may hold: an int from 1 to :data:`MAX_PAGE_SIZE`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE_SIZE:
        raise ValidationError(
            field, value, f"must be an int from 1 to {MAX_PAGE_SIZE}", "page with next_cursor"
        )
    return value
