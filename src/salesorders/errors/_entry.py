"""The errors of accurate entry: spreadsheets, barcodes, and optional extras not installed (see
:mod:`salesorders.errors`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from salesorders.errors._base import PROBLEM_TYPE_BASE, SalesOrdersError, ValidationError

_CELLS_SHOWN = 20  # bad cells listed in a SpreadsheetError's message (all are in ``cells``)


class BadCell:
    """One bad cell of a spreadsheet: its ``row`` (the header is row 1), its ``column`` (the
    header as the file writes it), the ``value`` read (as text), what is wrong and what to do."""

    __slots__ = ("column", "hint", "problem", "row", "value")

    def __init__(self, row: int, column: str, value: str, problem: str, hint: str = "") -> None:
        self.row = row
        self.column = column
        self.value = value
        self.problem = problem
        self.hint = hint

    @property
    def field(self) -> str:
        """The cell as a field path: ``rows[4].数量``."""
        return f"rows[{self.row}].{self.column}"

    def as_dict(self) -> dict[str, Any]:
        """The cell as JSON-safe data: row, column, value, problem, hint."""
        return {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "problem": self.problem,
            "hint": self.hint,
        }

    def __repr__(self) -> str:
        return f"BadCell({self.row}, {self.column!r}, {self.value!r}, {self.problem!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BadCell) and self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash((self.row, self.column, self.value, self.problem, self.hint))


class SpreadsheetError(ValidationError):
    """A spreadsheet that cannot be imported as it is; nothing was written.

    ``cells`` lists every bad cell the validation pass found, in file order (build one with
    :meth:`listing`); ``to_problem()`` gives one ``errors`` entry per cell and the cells
    themselves under ``cells``.
    """

    code = "spreadsheet_invalid"
    http_status = 422
    title = "Invalid spreadsheet"

    cells: tuple[BadCell, ...] = ()

    @classmethod
    def listing(
        cls,
        cells: Sequence[BadCell],
        source: str = "the spreadsheet",
        outcome: str = "nothing was imported",
    ) -> SpreadsheetError:
        """The error listing every one of ``cells`` (at least one) found in ``source``, where
        ``outcome`` says what became of the import."""
        found = tuple(cells)
        if not found:
            raise ValueError("a SpreadsheetError lists at least one bad cell")
        shown = "; ".join(
            f"row {c.row} {c.column}: {c.problem} (got {c.value!r})" for c in found[:_CELLS_SHOWN]
        )
        more = len(found) - _CELLS_SHOWN
        if more > 0:
            shown += f"; and {more} more (see .cells)"
        count = f"{len(found)} bad cell{'s' if len(found) > 1 else ''}"
        first = found[0]
        error = cls(
            first.field,
            first.value,
            first.problem,
            first.hint,
            message=f"{count} in {source}, {outcome}: {shown}; fix them and import the file again",
        )
        error.cells = found
        return error

    def to_problem(
        self, *, instance: str | None = None, type_base: str = PROBLEM_TYPE_BASE
    ) -> dict[str, Any]:
        """Problem details with one ``errors`` entry per bad cell and the ``cells`` listed."""
        problem = super().to_problem(instance=instance, type_base=type_base)
        if self.cells:
            problem["errors"] = [
                {"field": c.field, "value": c.value, "problem": c.problem, "hint": c.hint}
                for c in self.cells
            ]
            problem["cells"] = [c.as_dict() for c in self.cells]
        return problem


class FileRefusedError(ValidationError):
    """A file refused before its rows are read: too large once expanded (a zip bomb), a line
    longer than the limit, not the encoding it should be in, not the format it claims."""

    code = "file_refused"
    http_status = 422
    title = "File refused"


class InvalidBarcodeError(ValidationError):
    """A barcode (GTIN-8, -12, -13 or -14) with a bad check digit, length or character."""

    code = "invalid_barcode"
    http_status = 422
    title = "Invalid barcode"


class MissingExtraError(SalesOrdersError):
    """A feature needs an optional extra that is not installed; the message names the
    ``pip install`` command. ``extra`` is the extra's name."""

    code = "extra_not_installed"
    http_status = 501
    title = "Optional extra not installed"

    extra: str = ""

    @classmethod
    def needs(cls, extra: str, package: str, feature: str) -> MissingExtraError:
        """The error for ``feature`` needing ``package`` from the ``extra`` extra."""
        error = cls(
            f"{feature} needs the {package} package, which is not installed; install it "
            f'with pip install "salesorders[{extra}]"'
        )
        error.extra = extra
        return error
