"""What an import reports, and the two passes every import makes over its file.

The first pass reads every row and checks every cell, writing nothing. With
``mode="all_or_nothing"`` any bad cell stops the import there: a
:class:`~salesorders.errors.SpreadsheetError` lists them all and nothing was written. Then the
second pass reads the file again and writes one unit (an order, a stock count) at a time, each
in its own unit of work; with ``mode="good_rows"`` units with a bad cell are reported failed
and the others written.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from salesorders.errors import BadCell, SalesOrdersError, SpreadsheetError, ValidationError

__all__ = [
    "ImportMode",
    "ImportOutcome",
    "ImportReport",
    "ImportStatus",
    "Progress",
    "Unit",
    "reporter",
    "run_import",
]

#: Called as the file is read: the phase (``"checking"``, then ``"importing"``), the rows done,
#: and the rows in all (``None`` while the first pass is still counting them).
Progress = Callable[[str, int, int | None], None]

_PROGRESS_EVERY = 500  # rows between two progress calls


class ImportMode(enum.Enum):
    """What an import does with a file that has bad cells."""

    #: Any bad cell refuses the whole file: nothing is written.
    ALL_OR_NOTHING = "all_or_nothing"
    #: Units (orders, stock counts) with a bad cell are reported failed; the others are written.
    GOOD_ROWS = "good_rows"


class ImportStatus(enum.Enum):
    """What became of one unit of the file."""

    CREATED = "created"  # written now
    SKIPPED = "skipped"  # already there (an earlier import wrote it): nothing written
    FAILED = "failed"  # a bad cell, or the service refused it: nothing written for it
    NOT_ATTEMPTED = "not_attempted"  # after a refusal in all-or-nothing mode


@attrs.frozen(slots=True)
class ImportOutcome:
    """One unit of the file: its ``reference`` (an order's reference, ``sku@warehouse`` for a
    stock count), its rows, the id it was written under (``key``), what became of it and, when
    it failed, the error's ``code`` and ``message`` and its bad ``cells``."""

    reference: str
    status: ImportStatus
    first_row: int
    last_row: int
    key: str = ""
    code: str = ""
    message: str = ""
    cells: tuple[BadCell, ...] = attrs.field(default=(), eq=False)


@attrs.frozen(slots=True)
class ImportReport:
    """The outcome of every unit of an imported file, in file order, and every bad cell."""

    kind: str
    rows: int
    outcomes: tuple[ImportOutcome, ...]
    bad_cells: tuple[BadCell, ...] = attrs.field(default=(), eq=False)

    def _with(self, status: ImportStatus) -> tuple[str, ...]:
        return tuple(o.reference for o in self.outcomes if o.status is status)

    @property
    def created(self) -> tuple[str, ...]:
        """The references written by this import."""
        return self._with(ImportStatus.CREATED)

    @property
    def skipped(self) -> tuple[str, ...]:
        """The references found already written (by an earlier import of the file)."""
        return self._with(ImportStatus.SKIPPED)

    @property
    def failed(self) -> tuple[str, ...]:
        """The references not written: a bad cell, or the service refused them."""
        return self._with(ImportStatus.FAILED)

    @property
    def not_attempted(self) -> tuple[str, ...]:
        """The references left after a refusal in all-or-nothing mode."""
        return self._with(ImportStatus.NOT_ATTEMPTED)

    @property
    def complete(self) -> bool:
        """Whether every unit of the file is now written (created or skipped)."""
        return not (self.failed or self.not_attempted)

    def outcome(self, reference: str) -> ImportOutcome:
        """The outcome of ``reference``; :class:`KeyError` if the file has none."""
        for found in self.outcomes:
            if found.reference == reference:
                return found
        raise KeyError(reference)


@attrs.frozen(slots=True)
class Unit:
    """One unit of a file as the reader found it: rows ``first_row`` to ``last_row``, its bad
    cells, and what to write (``payload``, ``None`` when a cell is bad)."""

    reference: str
    first_row: int
    last_row: int
    bad: tuple[BadCell, ...]
    payload: Any


#: Opens the file and yields its units; raises SpreadsheetError for a bad header.
Units = Callable[[], contextlib.AbstractContextManager[Iterator[Unit]]]
#: Writes one unit: its outcome (CREATED or SKIPPED), or raises the service's refusal.
Write = Callable[[Unit], ImportOutcome]


def check_mode(mode: ImportMode | str) -> ImportMode:
    try:
        return ImportMode(mode)
    except ValueError:
        raise ValidationError(
            "mode", mode, "is not an import mode", "use 'all_or_nothing' or 'good_rows'"
        ) from None


def run_import(
    kind: str,
    units: Units,
    write: Write,
    mode: ImportMode | str,
    progress: Progress | None,
    source_name: str,
) -> ImportReport:
    """Check every unit, then write them as ``mode`` says (see the module docstring)."""
    chosen = check_mode(mode)
    report = reporter(progress)
    bad: list[BadCell] = []
    rows = 0
    with units() as found:
        for unit in found:
            bad.extend(unit.bad)
            rows = unit.last_row
            report("checking", rows, None)
    report("checking", rows, rows, force=True)
    if bad and chosen is ImportMode.ALL_OR_NOTHING:
        raise SpreadsheetError.listing(bad, source_name)
    outcomes: list[ImportOutcome] = []
    stopped = False
    with units() as found:
        for unit in found:
            if stopped:
                outcomes.append(_outcome(unit, ImportStatus.NOT_ATTEMPTED))
            elif unit.bad:
                outcomes.append(_bad_unit(unit, source_name))
            else:
                try:
                    outcomes.append(write(unit))
                except SalesOrdersError as error:
                    outcomes.append(_refused(unit, error))
                    stopped = chosen is ImportMode.ALL_OR_NOTHING
            report("importing", unit.last_row, rows)
    report("importing", rows, rows, force=True)
    return ImportReport(kind, max(rows - 1, 0), tuple(outcomes), tuple(bad))


def _outcome(unit: Unit, status: ImportStatus, key: str = "") -> ImportOutcome:
    return ImportOutcome(unit.reference, status, unit.first_row, unit.last_row, key)


def _bad_unit(unit: Unit, source_name: str) -> ImportOutcome:
    error = SpreadsheetError.listing(unit.bad, source_name, f"{unit.reference} was not imported")
    return ImportOutcome(
        unit.reference,
        ImportStatus.FAILED,
        unit.first_row,
        unit.last_row,
        "",
        error.code,
        str(error),
        unit.bad,
    )


def _refused(unit: Unit, error: SalesOrdersError) -> ImportOutcome:
    return ImportOutcome(
        unit.reference,
        ImportStatus.FAILED,
        unit.first_row,
        unit.last_row,
        "",
        error.code,
        str(error),
    )


def written(unit: Unit, created: bool, key: str) -> ImportOutcome:
    """The outcome of a unit written now (``created``) or found written before."""
    return _outcome(unit, ImportStatus.CREATED if created else ImportStatus.SKIPPED, key)


class _Reporter:
    __slots__ = ("_callback", "_last")

    def __init__(self, callback: Progress | None) -> None:
        self._callback = callback
        self._last = -_PROGRESS_EVERY

    def __call__(self, phase: str, done: int, total: int | None, *, force: bool = False) -> None:
        if self._callback is None:
            return
        if force or done - self._last >= _PROGRESS_EVERY or done < self._last:
            self._last = done
            self._callback(phase, done, total)


def reporter(callback: Progress | None) -> _Reporter:
    """A reporter calling ``callback`` every few hundred rows, and at once when forced."""
    if callback is not None and not callable(callback):
        raise ValidationError("progress", callback, "must be a callable or None")
    return _Reporter(callback)
