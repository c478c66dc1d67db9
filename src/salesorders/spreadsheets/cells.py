"""One row's cells read as the values a command takes, each checked by the domain's own checks.

A cell that a check refuses becomes a :class:`~salesorders.errors.BadCell` (row, the column's
header as written, the value as text, the check's problem and hint) and the row reads on, so
one pass finds every bad cell of a file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from salesorders.domain.checks import ID_MAX_LENGTH, check_text, require_id
from salesorders.domain.money import check_currency, to_decimal, to_quantity
from salesorders.domain.pricing import check_unit_price
from salesorders.errors import BadCell, ValidationError
from salesorders.spreadsheets.sources import UncomputedFormula

__all__ = ["RowCells", "cell_text", "is_blank"]

T = TypeVar("T")


def cell_text(value: Any) -> str:
    """A cell's value as text: numbers as the shortest decimal that reads back the same
    (an XLSX stores them as binary floats), dates in ISO 8601, an empty cell as ``""``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def is_blank(cells: list[Any]) -> bool:
    """Whether a row has nothing in it (a blank line, a row of empty cells)."""
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


class RowCells:
    """The cells of one row by column name, read and checked one at a time.

    ``columns`` maps a column name to its index, ``headers`` a name to its header as written.
    Every refused cell is appended to ``bad``; its reader returns ``None``.
    """

    __slots__ = ("bad", "cells", "columns", "headers", "row")

    def __init__(
        self,
        row: int,
        cells: list[Any],
        columns: Mapping[str, int],
        headers: Mapping[str, str],
        bad: list[BadCell],
    ) -> None:
        self.row = row
        self.cells = cells
        self.columns = columns
        self.headers = headers
        self.bad = bad

    def raw(self, name: str) -> Any:
        index = self.columns.get(name)
        if index is None or index >= len(self.cells):
            return None
        return self.cells[index]

    def text(self, name: str) -> str:
        """The cell as text (``""`` when empty or when the file has no such column)."""
        index = self.columns.get(name)
        if index is None or index >= len(self.cells):
            return ""
        value = self.cells[index]
        if value.__class__ is str:
            return value.strip()  # every CSV cell: at once
        if isinstance(value, UncomputedFormula):
            self.refuse(
                name,
                value.formula,
                "is a formula with no computed value (formulas are never run here)",
                "open the file in a spreadsheet program and save it, or type the value",
            )
            return ""
        return cell_text(value)

    def refuse(self, name: str, value: str, problem: str, hint: str = "") -> None:
        self.bad.append(BadCell(self.row, self.headers.get(name, name), value, problem, hint))

    def checked(self, name: str, check: Callable[[str], T], *, required: bool = True) -> T | None:
        """``check`` of the cell's text; ``None`` when it is empty and not ``required``, or
        when a check refuses it (recorded as a bad cell)."""
        text = self.text(name)
        if not text:
            if required and not self._refused_formula(name):
                self.refuse(name, "", "is empty", "fill it in")
            return None
        try:
            return check(text)
        except ValidationError as error:
            self.refuse(name, text, error.problem, error.hint)
            return None

    def _refused_formula(self, name: str) -> bool:
        return isinstance(self.raw(name), UncomputedFormula)

    # ------------------------------------------------------------------ typed readers

    def identifier(
        self, name: str, *, required: bool = True, max_length: int = ID_MAX_LENGTH
    ) -> str | None:
        def check(text: str) -> str:
            checked = require_id(text, name)
            if len(checked) > max_length:
                raise ValidationError(
                    name, text, f"must be at most {max_length} characters", "shorten it"
                )
            return checked

        return self.checked(name, check, required=required)

    def free_text(self, name: str) -> str:
        return self.checked(name, lambda text: check_text(text, name), required=False) or ""

    def currency(self, name: str) -> str | None:
        return self.checked(name, lambda text: check_currency(text.upper(), name))

    def quantity(self, name: str, precision: int) -> Decimal | None:
        return self.checked(name, lambda text: to_quantity(text, name, precision))

    def count(self, name: str) -> Decimal | None:
        """A counted figure: zero or more."""

        def check(text: str) -> Decimal:
            number = to_decimal(text, name)
            if number < 0:
                raise ValidationError(name, text, "must not be negative", "count what is there")
            return number

        return self.checked(name, check)

    def unit_price(self, name: str, currency: str | None, *, required: bool) -> Decimal | None:
        if currency is None:  # the currency cell was refused: read the price as a number only
            return self.checked(name, lambda text: to_decimal(text, name), required=required)
        return self.checked(
            name, lambda text: check_unit_price(text, currency, field=name), required=required
        )
