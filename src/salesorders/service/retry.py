"""Bounded retries with jittered exponential backoff for transient conflicts.

A :class:`~salesorders.errors.ConcurrencyConflictError` (someone saved the order first) or an
:class:`~salesorders.errors.OperationalError` (serialization failure, deadlock, lock timeout,
database busy) means "run the whole unit of work again". Anything else is surfaced at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from salesorders.errors import ConcurrencyConflictError, OperationalError, ValidationError

__all__ = ["RETRYABLE", "Retrier"]

T = TypeVar("T")

#: The errors worth running a unit of work again for.
RETRYABLE: tuple[type[Exception], ...] = (ConcurrencyConflictError, OperationalError)


class Retrier:
    """Run a callable, retrying it up to ``max_retries`` times on :data:`RETRYABLE` errors.

    Before retry *n* (1-based) it sleeps a random time in ``[0, min(max_delay, base_delay *
    2**(n-1))]`` ("full jitter"), drawn from ``rng``. After the last retry the error is raised.
    """

    __slots__ = ("base_delay", "max_delay", "max_retries", "rng", "sleep")

    def __init__(
        self,
        max_retries: int = 5,
        *,
        base_delay: float = 0.005,
        max_delay: float = 0.5,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValidationError("max_retries", max_retries, "must be an int >= 0")
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.rng = rng or random.Random()
        self.sleep = sleep

    def delay(self, retry: int) -> float:
        """The pause before retry number ``retry`` (1-based), jittered."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        return self.rng.uniform(0, ceiling)

    def run(self, attempt: Callable[[], T]) -> T:
        """Call ``attempt`` until it returns, or raise its error after ``max_retries`` retries."""
        retry = 0
        while True:
            try:
                return attempt()
            except RETRYABLE:
                if retry >= self.max_retries:
                    raise
                retry += 1
                self.sleep(self.delay(retry))
