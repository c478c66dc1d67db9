"""The gap-free numbers of orders and credit notes, numbers a store takes at the commit, and the
ids of new orders.

Every number is written ``<series>-NNNNNN``: the series (``SO-2026``, ``CN-2026``), then the
series' counter with at least :data:`NUMBER_WIDTH` digits.

A number's series row stays locked from taking the number until the unit of work ends, so the
service takes an order's number last. A store may go further (the PostgreSQL store does): its
``numbers`` then also offer :class:`NumbersAtCommit`, and a placed order gets a placeholder that
the store replaces with the number in the statements it sends with the commit, so the row is
locked only for those. After the commit the service puts the number into the command's result
(:func:`numbered_result`); everything the store wrote already carries it. The service takes the
number at once where something would read it before the commit: the audit trail (it seals each
record with its hash) and a workflow's own guards.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Protocol, TypeVar

import attrs

from salesorders.domain.workflow import Workflow
from salesorders.ports import OrderNumbers, UnitOfWork
from salesorders.service.results import OrderResult

__all__ = [
    "NUMBER_WIDTH",
    "NumbersAtCommit",
    "make_order_id",
    "number_text",
    "numbered_result",
    "take_number",
]

#: The fewest digits of a number's counter (``SO-2026-000042``).
NUMBER_WIDTH = 6

R = TypeVar("R")


class NumbersAtCommit(Protocol):
    """Order numbers a store can take with its commit (an optional part of its ``numbers``).

    Contract: ``number_at_commit(series, width)`` returns a placeholder text for the next number
    of ``series`` (or ``None``, when it cannot this time). Wherever the unit of work writes the
    placeholder, whole, in a text it stores, the store writes the number instead
    (``<series>-`` and the counter with at least ``width`` digits), taken gap-free by the same
    commit. After the commit, ``taken`` maps each placeholder to its number.
    """

    def number_at_commit(self, series: str, width: int) -> str | None: ...

    @property
    def taken(self) -> Mapping[str, str]: ...


def number_text(series: str, counter: int) -> str:
    """The written number: ``series``, a dash, and ``counter`` with at least 6 digits."""
    return f"{series}-{counter:0{NUMBER_WIDTH}d}"


def take_number(
    numbers: OrderNumbers, series: str, *, at_commit: bool = False, workflow: Workflow | None = None
) -> str:
    """The next number of ``series``, written; with ``at_commit`` a placeholder for it where the
    store takes numbers at the commit (see the module's docstring). Not for an order whose
    ``workflow`` has guards of the host's own: a guard may read the number before the commit."""
    if at_commit:
        later = getattr(numbers, "number_at_commit", None)  # NumbersAtCommit, if offered
        if later is not None and (workflow is None or workflow.guards_built_in):
            placeholder: str | None = later(series, NUMBER_WIDTH)
            if placeholder is not None:
                return placeholder
    return number_text(series, numbers.next_number(series))


def numbered_result(result: R, uow: UnitOfWork) -> R:
    """``result`` with the number its order took at the commit, if it took one there."""
    if not isinstance(result, OrderResult):
        return result
    taken: Mapping[str, str] | None = getattr(uow.numbers, "taken", None)  # NumbersAtCommit
    if not taken:
        return result
    number = None if result.number is None else taken.get(result.number)
    if number is None:
        return result
    return attrs.evolve(result, number=number)


# The version (7) in bits 76-79 and the variant (0b10) in bits 62-63 of a version 7 UUID.
_V7_SET = 0x7 << 76 | 0x2 << 62
_V7_CLEAR = ~(0xF << 76 | 0x3 << 62)


def make_order_id() -> str:
    """A new order id: a version 7 UUID (RFC 9562) as 32 lowercase hex digits.

    Its first 48 bits are the Unix time in milliseconds and its other 74 free bits are random,
    so ids made later sort later: a store's keys that start with an order id (the order, its
    lines, reservations and outbox messages) grow at their end, where the pages are already in
    memory, instead of at a random place of a large index.
    """
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10))
    return f"{value & _V7_CLEAR | _V7_SET:032x}"
