"""Where rows come from: CSV and XLSX files read one row at a time, with hostile files refused.

:func:`open_rows` yields ``(row_number, cells)`` for every row of the file (the header is row
1) without loading the file: a CSV through :mod:`csv` over a text stream whose physical lines are
cut at :attr:`Limits.max_line_chars`; an XLSX through openpyxl in read-only mode, after the zip
directory was checked against :class:`Limits` (declared sizes, compression ratio, member count)
before anything is expanded. Every refusal is a :class:`~salesorders.errors.FileRefusedError`.
"""

from __future__ import annotations

import contextlib
import csv
import importlib
import io
import os
import zipfile
from collections.abc import Generator, Iterator
from typing import IO, Any, Final

import attrs

from salesorders.errors import FileRefusedError, MissingExtraError, ValidationError

__all__ = [
    "Limits",
    "Source",
    "UncomputedFormula",
    "check_zip",
    "detect_format",
    "load_openpyxl",
    "open_rows",
    "source_name",
]

#: A spreadsheet to read: a path, the file's bytes, or a binary file object (seekable, since an
#: import reads it twice: once to check every cell, once to import).
Source = str | os.PathLike[str] | bytes | IO[bytes]

#: The encodings a CSV may be read in (UTF-8 with or without a byte order mark, GB18030).
ENCODINGS: Final = ("utf-8", "gb18030")

_ZIP_MAGIC: Final = b"PK\x03\x04"
_RATIO_FLOOR: Final = 1 << 20  # members smaller than this are not held to the ratio


class UncomputedFormula:
    """What is read from a formula cell whose workbook holds no computed value (the workbook
    was written by a program that does not calculate): a bad cell, never evaluated."""

    __slots__ = ("formula",)

    def __init__(self, formula: str) -> None:
        self.formula = formula

    def __repr__(self) -> str:
        return f"UncomputedFormula({self.formula!r})"


def _positive(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"limits.{attribute.name}", value, "must be a positive int")


@attrs.frozen(slots=True)
class Limits:
    """What a file may ask of the reader before it is refused.

    ``max_line_chars``: characters in one physical CSV line; ``max_rows``: rows in a file (the
    header included); ``max_xlsx_bytes``: the declared size of an XLSX's members once expanded,
    all together; ``max_compression_ratio``: expanded size over compressed size of any member
    larger than 1 MiB (a zip bomb expands a thousandfold; real sheets about tenfold);
    ``max_zip_members``: members in an XLSX.
    """

    max_line_chars: int = attrs.field(default=65_536, validator=_positive)
    max_rows: int = attrs.field(default=2_000_000, validator=_positive)
    max_xlsx_bytes: int = attrs.field(default=512 * 2**20, validator=_positive)
    max_compression_ratio: int = attrs.field(default=100, validator=_positive)
    max_zip_members: int = attrs.field(default=10_000, validator=_positive)


def detect_format(source: Source, format: str | None) -> str:
    """``"csv"`` or ``"xlsx"``: ``format`` if given, else from a path's suffix, else from the
    first bytes (an XLSX is a zip file)."""
    if format is not None:
        if format not in ("csv", "xlsx"):
            raise ValidationError("format", format, "must be 'csv' or 'xlsx'")
        return format
    if isinstance(source, str | os.PathLike):
        suffix = os.fspath(source).rsplit(".", 1)[-1].lower()
        if suffix in ("csv", "xlsx"):
            return suffix
        raise ValidationError(
            "format",
            None,
            f"cannot tell from the file name {os.fspath(source)!r}",
            "name the file .csv or .xlsx, or pass format='csv' or format='xlsx'",
        )
    with _binary(source) as stream:
        return "xlsx" if stream.read(4) == _ZIP_MAGIC else "csv"


@contextlib.contextmanager
def _binary(source: Source) -> Iterator[IO[bytes]]:
    """``source`` as a binary stream at its start (a file object is rewound, not closed)."""
    if isinstance(source, bytes):
        yield io.BytesIO(source)
    elif isinstance(source, str | os.PathLike):
        try:
            stream = open(source, "rb")  # noqa: SIM115 - closed below
        except OSError as error:
            raise ValidationError(
                "source",
                os.fspath(source),
                f"cannot be opened ({error.strerror})",
                "check the path",
            ) from error
        with stream:
            yield stream
    elif hasattr(source, "read") and hasattr(source, "seek"):
        try:
            source.seek(0)
            probe = source.read(0)
        except (OSError, io.UnsupportedOperation) as error:
            raise ValidationError(
                "source", source, "must be seekable", "pass a path or the file's bytes instead"
            ) from error
        if not isinstance(probe, bytes):
            raise ValidationError(
                "source", source, "must be opened in binary mode", "open the file with 'rb'"
            )
        yield source
    else:
        raise ValidationError(
            "source",
            source,
            "must be a path, bytes or a binary file object",
            "open the file in binary mode ('rb')",
        )


@contextlib.contextmanager
def open_rows(
    source: Source,
    format: str | None = None,
    encoding: str = "utf-8",
    limits: Limits | None = None,
) -> Iterator[Iterator[tuple[int, list[Any]]]]:
    """The rows of ``source`` as ``(row_number, cells)``, read lazily, the header as row 1.

    A CSV's cells are strings; an XLSX's are what its cells hold (text, numbers, dates, ``None``
    for an empty cell, :class:`UncomputedFormula` for a formula never calculated).
    """
    if encoding not in ENCODINGS:
        raise ValidationError(
            "encoding", encoding, "is not supported", "use 'utf-8' (the default) or 'gb18030'"
        )
    kind = detect_format(source, format)
    limits = _checked_limits(limits)
    with _binary(source) as stream:
        if kind == "csv":
            lines = _csv_rows(stream, encoding, limits)
            try:
                yield _counted(lines, limits)
            finally:
                lines.close()  # lets go of the stream before it closes
        else:
            with _xlsx_rows(stream, limits) as rows:
                yield _counted(rows, limits)


def _checked_limits(limits: Limits | None) -> Limits:
    if limits is None:
        return _DEFAULT_LIMITS
    if not isinstance(limits, Limits):
        raise ValidationError("limits", limits, "must be a Limits or None")
    return limits


_DEFAULT_LIMITS: Final = Limits()


def _counted(rows: Iterator[list[Any]], limits: Limits) -> Iterator[tuple[int, list[Any]]]:
    for number, cells in enumerate(rows, 1):
        if number > limits.max_rows:
            raise FileRefusedError(
                "file",
                number,
                f"has more than {limits.max_rows} rows",
                "split the file, or raise Limits(max_rows=...)",
            )
        yield number, cells


# --------------------------------------------------------------------------- CSV


def _csv_rows(stream: IO[bytes], encoding: str, limits: Limits) -> Generator[list[str], None, None]:
    codec = "utf-8-sig" if encoding == "utf-8" else encoding
    text = io.TextIOWrapper(stream, encoding=codec, errors="strict", newline="")
    try:
        reader = csv.reader(_limited_lines(text, encoding, limits.max_line_chars), strict=True)
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise FileRefusedError(
                    "file",
                    f"line {reader.line_num}",
                    f"is not valid CSV ({error})",
                    "check the quotes of that line, or export the sheet as CSV again",
                ) from error
            yield cells
    finally:
        text.detach()  # the caller's stream stays open


def _limited_lines(text: IO[str], encoding: str, max_chars: int) -> Iterator[str]:
    """The lines of ``text``, refusing one longer than ``max_chars`` as soon as it is, without
    reading the rest of it."""
    line_number = 0
    readline = text.readline
    while True:
        line_number += 1
        try:
            line = readline(max_chars + 1)
        except UnicodeDecodeError as error:
            raise _encoding_error(encoding, line_number) from error
        if len(line) > max_chars:
            raise _long_line(line_number, max_chars)
        if not line:
            return
        yield line


def _long_line(line_number: int, max_chars: int) -> FileRefusedError:
    hint = "a row is far shorter: check the file, or raise Limits(max_line_chars=...)"
    return FileRefusedError(
        "file",
        f"line {line_number}",
        f"line {line_number} is longer than {max_chars} characters",
        hint,
        message=f"line {line_number} of the file is longer than {max_chars} characters; {hint}",
    )


def _encoding_error(encoding: str, line_number: int) -> FileRefusedError:
    if encoding == "utf-8":
        return FileRefusedError(
            "encoding",
            "utf-8",
            f"does not fit the file (around line {line_number})",
            'save the file as UTF-8, or read it with encoding="gb18030" if it was saved in '
            "a Chinese encoding (GBK, GB2312, GB18030)",
        )
    return FileRefusedError(
        "encoding",
        encoding,
        f"does not fit the file (around line {line_number})",
        'read it with encoding="utf-8" (the default) if it was saved as UTF-8',
    )


# --------------------------------------------------------------------------- XLSX


def check_zip(stream: IO[bytes], limits: Limits) -> None:
    """Refuse an XLSX whose zip directory declares more than the limits allow, before any
    member is expanded. (Reading a member never yields more than its declared size.)"""
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise FileRefusedError(
            "file",
            "xlsx",
            "is not an XLSX workbook (not a zip file)",
            "save the sheet as .xlsx, or read a CSV with format='csv'",
        ) from error
    with archive:
        members = archive.infolist()
    if len(members) > limits.max_zip_members:
        raise FileRefusedError(
            "file",
            len(members),
            f"has more than {limits.max_zip_members} zip members",
            "this is not a plain workbook: save it again from a spreadsheet program",
        )
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size >= _RATIO_FLOOR and (
            member.file_size > limits.max_compression_ratio * max(member.compress_size, 1)
        ):
            raise FileRefusedError(
                "file",
                member.filename,
                f"expands {member.file_size // max(member.compress_size, 1)} times "
                f"(more than {limits.max_compression_ratio}): a zip bomb, not a workbook",
                "do not open it; ask for the file again",
            )
    if total > limits.max_xlsx_bytes:
        raise FileRefusedError(
            "file",
            total,
            f"expands to more than {limits.max_xlsx_bytes} bytes",
            "split the workbook, or raise Limits(max_xlsx_bytes=...)",
        )
    stream.seek(0)


def load_openpyxl() -> Any:
    """The openpyxl module, or :class:`~salesorders.errors.MissingExtraError`."""
    try:
        return importlib.import_module("openpyxl")
    except ImportError as missing:
        raise MissingExtraError.needs("xlsx", "openpyxl", "reading and writing XLSX") from missing


@contextlib.contextmanager
def _xlsx_rows(stream: IO[bytes], limits: Limits) -> Iterator[Iterator[list[Any]]]:
    """The first sheet's rows, values only: each cell's cached value, a formula without one
    :class:`UncomputedFormula`. Formulas are never evaluated."""
    check_zip(stream, limits)
    openpyxl = load_openpyxl()
    try:
        values = openpyxl.load_workbook(stream, read_only=True, data_only=True)
        formulas = openpyxl.load_workbook(stream, read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, SyntaxError) as error:
        raise _unreadable(error) from error
    try:
        yield _cached_values(values.worksheets[0], formulas.worksheets[0])
    finally:
        values.close()
        formulas.close()


def _unreadable(error: BaseException) -> FileRefusedError:
    return FileRefusedError(
        "file",
        "xlsx",
        f"is not a readable XLSX workbook ({type(error).__name__}: {error})",
        "save the sheet again as .xlsx from a spreadsheet program",
    )


def _cached_values(values: Any, formulas: Any) -> Iterator[list[Any]]:
    rows = zip(
        values.iter_rows(values_only=True), formulas.iter_rows(values_only=True), strict=False
    )
    while True:
        try:
            cached, written = next(rows)
        except StopIteration:
            return
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, SyntaxError) as error:
            raise _unreadable(error) from error  # SyntaxError: the XML parser's ParseError
        cells = list(cached)
        for index, value in enumerate(cells):
            if value is None and index < len(written):
                formula = written[index]
                if isinstance(formula, str) and formula.startswith("="):
                    cells[index] = UncomputedFormula(formula)
        while cells and cells[-1] is None:
            cells.pop()
        yield cells


def source_name(source: Source) -> str:
    """How messages name ``source``: a path's file name, else ``the spreadsheet``."""
    if isinstance(source, str | os.PathLike):
        return os.path.basename(os.fspath(source)) or "the spreadsheet"
    return "the spreadsheet"
