"""The input checks every layer shares: a timezone-aware time, a non-empty text."""

from __future__ import annotations

import datetime as dt

from salesorders.errors import ValidationError

__all__ = ["aware_time", "require_text"]


def aware_time(at: object, field: str = "at") -> dt.datetime:
    """Return ``at`` if it is a timezone-aware datetime, else raise naming ``field``."""
    if not isinstance(at, dt.datetime) or at.utcoffset() is None:
        raise ValidationError(
            field, at, "must be a timezone-aware datetime", "pass e.g. datetime.now(timezone.utc)"
        )
    return at


def require_text(value: object, field: str, *, blank_ok: bool = True) -> str:
    """Return ``value`` if it is a non-empty string (not only blanks unless ``blank_ok``)."""
    if not isinstance(value, str) or not value or (not blank_ok and not value.strip()):
        raise ValidationError(field, value, "must be a non-empty string")
    return value
