"""Order numbers a PostgreSQL transaction takes at its commit.

A gap-free number is one row per series, incremented in the transaction that uses the number and
locked from then until that transaction ends. Taken while the order is being built, the row stays
locked through the client's work, a round trip and the commit, and concurrent placements queue on
it. Taken at the commit, it is locked only for the last statements and the commit itself.

So a :class:`LateNumbers` hands out a placeholder for each number asked for, and holds back, on
the client, every write sent after it. At the next statement that needs an answer, or at the
commit, it sends them all at once, in order: first the statement that takes the number (it keeps
it in a transaction-local setting), then each held write, with every parameter that quotes a
placeholder wrapped in ``replace(..., current_setting(...))``; where they can, the number and the
writes travel as one statement, and the writes then read the number from its ``WITH`` query
(:mod:`._postgres_batch`). The server writes the number where the client wrote the placeholder,
in the order row, its document, the outbox messages and the idempotency record alike. After the
commit, :attr:`LateNumbers.taken` maps each placeholder to the number it stands for (the service
puts it into the command's result).

The placeholder is a random 128-bit token, so it cannot match anything else a write carries; a
placeholder written where no parameter quotes it whole (split across parameters, or altered)
would stay stored, so the service uses it only as a whole order number, never in part.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import Any, Final

__all__ = ["NUMBER_QUERY", "PLACEHOLDER_PREFIX", "Held", "LateNumbers", "take_statement"]

#: How every placeholder begins (tests search stored data for it).
PLACEHOLDER_PREFIX: Final = "number-at-commit-"

_PARAMETER: Final = re.compile(r"\$(\d+)")

#: Statement texts with their parameters wrapped, by (text, wrapped parameters): the same few
#: statements come with every order, so each is rewritten once per process, not per order.
_NUMBERED_TEXTS: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
_NUMBERED_TEXTS_KEPT: Final = 512

#: One held statement: its text, its parameters, and the placeholder whose number it returns.
Held = tuple[str, Sequence[Any], str | None]

#: The ``WITH`` query of a joined statement that takes an order number (column ``number``).
NUMBER_QUERY: Final = "batch_number"


class LateNumbers:
    """The numbers one transaction takes at its commit, and the writes that wait for them."""

    __slots__ = ("answers", "held", "pending", "taken")

    def __init__(self) -> None:
        #: Statements held back since the first number was asked for, in the order they came:
        #: a number's statement comes before the writes quoting it.
        self.held: list[Held] = []
        #: Placeholder -> the transaction-local setting that will hold its number.
        self.pending: dict[str, str] = {}
        #: Placeholder -> the driver's cursor of the statement that takes its number, once sent.
        self.answers: dict[str, Any] = {}
        #: Placeholder -> the number taken for it (filled after the commit).
        self.taken: dict[str, str] = {}

    def read_answers(self) -> None:
        """After the commit: fill :attr:`taken` from the statements that took the numbers."""
        for placeholder, cursor in self.answers.items():
            row = cursor.fetchone()
            assert row is not None
            self.taken[placeholder] = str(row[0])

    def ask(self, take_sql: str, series: str, width: int) -> str:
        """Hold the statement taking the next number of ``series`` (written ``series-NNNNNN``
        with at least ``width`` digits) and return the placeholder that stands for it."""
        placeholder = PLACEHOLDER_PREFIX + secrets.token_hex(16)
        # Named by its place in the transaction, not by the placeholder: a connection keeps
        # every setting name it ever set (reset to '' when the transaction ends), and a name
        # per order would pile up, each one making later settings slower to change.
        setting = f"salesorders.number_{len(self.pending) + 1}"
        self.pending[placeholder] = setting
        self.held.append((take_sql, (series, setting, width), placeholder))
        return placeholder

    def numbered(
        self, sql: str, params: Sequence[Any], local: str | None = None
    ) -> tuple[str, Sequence[Any]]:
        """``sql`` and ``params`` with each parameter that quotes a pending placeholder replaced,
        on the server, by the number taken for it. The placeholder and its setting travel as
        parameters of their own, so the text stays the same from one order to the next (and the
        driver can prepare it). ``local``: the placeholder whose number is taken by the same
        statement (joined writes, see :mod:`salesorders.adapters._postgres_batch`); its number
        is read from that statement's ``WITH`` query, not from the setting."""
        wrapped: dict[str, str] = {}
        extra: list[str] = []
        numbers: dict[str, str] = {}  # placeholder -> the expression of its number
        for index, value in enumerate(params, 1):
            if value.__class__ is not str or PLACEHOLDER_PREFIX not in value:
                continue
            expression = ""
            for placeholder, setting in self.pending.items():
                if placeholder not in value:
                    continue
                found = numbers.get(placeholder)
                if found is None:
                    extra.append(placeholder)
                    quoted = f"${len(params) + len(extra)}::TEXT"
                    if placeholder == local:
                        number = f"(SELECT number FROM {NUMBER_QUERY})"
                    else:
                        extra.append(setting)
                        number = f"current_setting(${len(params) + len(extra)}::TEXT)"
                    found = numbers[placeholder] = f"{quoted}, {number}"
                inner = expression or f"${index}::TEXT"
                expression = f"replace({inner}, {found})"
            if expression:
                wrapped[str(index)] = f"({expression})"
        if not wrapped:
            return sql, params
        key = (sql, tuple(wrapped.items()))
        text = _NUMBERED_TEXTS.get(key)
        if text is None:
            text = _PARAMETER.sub(lambda m: wrapped.get(m.group(1), m.group(0)), sql)
            if len(_NUMBERED_TEXTS) >= _NUMBERED_TEXTS_KEPT:
                _NUMBERED_TEXTS.clear()
            _NUMBERED_TEXTS[key] = text
        return text, (*params, *extra)


def take_statement(next_number_sql: str) -> str:
    """The statement taking a number into a setting: parameters series, setting name, width;
    it returns the number as text. ``next_number_sql`` increments the series (parameter ``$1``)
    and returns ``last``."""
    digits = "CAST(n.last AS TEXT)"
    return (
        f"WITH n AS ({next_number_sql}) SELECT set_config($2::TEXT, $1::TEXT || '-' || "
        f"lpad({digits}, greatest($3::INT, length({digits})), '0'), true) AS number FROM n"
    )
