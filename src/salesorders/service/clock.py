"""Clocks for the service layer: the system clock, and a manual one for tests and demos."""

from __future__ import annotations

import datetime as dt
import threading

from salesorders.domain.checks import aware_time
from salesorders.errors import ValidationError

__all__ = ["ManualClock", "SystemClock"]


class SystemClock:
    """The current UTC time."""

    __slots__ = ()

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class ManualClock:
    """A clock that stands still until moved: ``advance(timedelta)`` or ``set(datetime)``."""

    __slots__ = ("_lock", "_now")

    def __init__(self, start: dt.datetime) -> None:
        self._now = aware_time(start, "start")
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        """Move forward by ``delta`` (not backward) and return the new time."""
        if not isinstance(delta, dt.timedelta) or delta < dt.timedelta(0):
            raise ValidationError("delta", delta, "must be a non-negative timedelta")
        with self._lock:
            self._now = self._now + delta
            return self._now

    def set(self, moment: dt.datetime) -> None:
        """Jump to ``moment``."""
        self._now = aware_time(moment, "moment")
