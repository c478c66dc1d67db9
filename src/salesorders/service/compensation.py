"""Undoing what a command did outside the database when its attempt does not commit.

A handler that calls out — a carrier booking a shipment, say — registers how to undo that call
with :func:`on_failure`. The service runs every command attempt inside :func:`attempt`: when the
attempt raises (in the handler, or while committing), the undo steps run newest first, then the
error goes on as it was (a retried attempt calls out afresh). When it commits, they are dropped.
The steps are kept per context (a :class:`~contextvars.ContextVar`), so concurrent commands in
threads never see each other's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["attempt", "on_failure"]

_PENDING: ContextVar[list[Callable[[], object]] | None] = ContextVar(
    "salesorders_undo_steps", default=None
)


def on_failure(undo: Callable[[], object]) -> None:
    """Run ``undo`` if the current command attempt does not commit (outside an attempt, a
    handler called directly, there is nothing to undo into, so it is not kept)."""
    pending = _PENDING.get()
    if pending is not None:
        pending.append(undo)


@contextmanager
def attempt() -> Iterator[None]:
    """One command attempt: undo the registered steps, newest first, if it raises.

    An undo step that fails itself does not hide the attempt's error: its failure is added to
    that error as a note, and the other steps still run.
    """
    pending: list[Callable[[], object]] = []
    token = _PENDING.set(pending)
    try:
        yield
    except BaseException as error:
        for undo in reversed(pending):
            try:
                undo()
            except Exception as failed:
                error.add_note(f"undoing a step of the failed command failed too: {failed!r}")
        raise
    finally:
        _PENDING.reset(token)
