"""How the command line writes: tables, wrapped text, money and JSON, in 80 columns.

Tables are drawn with rich when the ``cli`` extra is installed (``pip install
"salesorders[cli]"``) and as aligned plain text otherwise (or with ``--plain``); both fit
:data:`WIDTH` columns, truncating the widest cells with an ellipsis. Widths count East Asian wide
characters as two columns, as terminals draw them. Money is formatted with
:func:`~salesorders.domain.money.format_money` in the command's locale, as the notifications are.
"""

from __future__ import annotations

import importlib.util
import io
import json
import unicodedata
from collections.abc import Sequence
from typing import Any, TextIO

import attrs
from moneyed import Money

from salesorders.domain.money import format_money

__all__ = [
    "WIDTH",
    "Column",
    "Output",
    "clip",
    "counted",
    "display_width",
    "is_terminal",
    "rich_available",
    "wrap",
]

#: The width every line of output fits in.
WIDTH = 80

_ELLIPSIS = "…"
_GAP = "  "
_MIN_COLUMN = 4
_MIN_WRAP = 16
_RICH_GAP = 2
_INDENT = 2


def rich_available() -> bool:
    """True when rich (the ``cli`` extra) can be imported."""
    return importlib.util.find_spec("rich") is not None


def counted(number: int, singular: str, plural: str = "") -> str:
    """``"1 migration"``, ``"2 migrations"``: ``number`` with the noun it counts."""
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


def is_terminal(stream: TextIO) -> bool:
    """True when ``stream`` is a terminal (colours are welcome there)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    """How many terminal columns ``text`` takes (wide CJK characters take two)."""
    return sum(_char_width(char) for char in text)


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns, ending with an ellipsis when something was cut."""
    if display_width(text) <= width:
        return text
    kept: list[str] = []
    used = 0
    for char in text:
        size = _char_width(char)
        if used + size > width - 1:
            break
        kept.append(char)
        used += size
    return "".join(kept) + _ELLIPSIS


def _split_long(word: str, first: int, rest: int) -> list[str]:
    """``word`` in pieces: the first at most ``first`` columns wide, the others ``rest``."""
    pieces: list[str] = []
    current = ""
    room = first
    for char in word:
        if current and display_width(current + char) > room:
            pieces.append(current)
            current = ""
            room = rest
        current += char
    return [*pieces, current]


def wrap(text: str, width: int = WIDTH, indent: int = 0) -> list[str]:
    """``text`` in lines of at most ``width`` columns, continuation lines indented by ``indent``
    more spaces than the first; words wider than a line (a sentence in Chinese or Japanese, which
    has no spaces) are split. Indentation never takes the last two columns of a line, so every
    line has room for a character, even a wide one."""
    room = max(width - 2, 0)
    lead = min(len(text) - len(text.lstrip(" ")), room)
    follow = " " * min(lead + indent, room)
    lines: list[str] = []
    current = " " * lead
    has_words = False
    for word in (part for part in text.split(" ") if part):
        sep = " " if has_words else ""
        if display_width(current) + len(sep) + display_width(word) <= width:
            current += sep + word
            has_words = True
            continue
        if has_words:
            lines.append(current)
            current = follow
        pieces = _split_long(word, width - display_width(current), width - len(follow))
        for piece in pieces[:-1]:
            lines.append(current + piece)
            current = follow
        current += pieces[-1]
        has_words = True
    lines.append(current)
    return lines


@attrs.frozen(slots=True)
class Column:
    """A table column: its header, whether its cells align right (numbers, money), and whether
    long cells wrap onto more lines (free text) rather than being cut short; a ``keep`` column
    (an order number) keeps its width while others give way."""

    header: str
    right: bool = False
    wrap: bool = False
    keep: bool = False


def _fit(columns: Sequence[Column], natural: list[int], room: int, gap: int) -> list[int]:
    """Column widths that fit ``room``: wrapping columns give way first (down to
    :data:`_MIN_WRAP` columns), then the widest columns, one column at a time."""
    fitted = list(natural)

    def excess() -> int:
        return sum(fitted) + gap * (len(fitted) - 1) - room

    for i, column in enumerate(columns):
        if column.wrap and excess() > 0:
            fitted[i] = max(min(fitted[i], _MIN_WRAP), fitted[i] - excess())
    shrinkable = [i for i, column in enumerate(columns) if not column.keep] or list(
        range(len(columns))
    )
    while excess() > 0:
        widest = max(shrinkable, key=lambda i: fitted[i])
        if fitted[widest] <= _MIN_COLUMN:
            break
        fitted[widest] -= 1
    return fitted


def _pad(text: str, width: int, right: bool) -> str:
    space = " " * max(0, width - display_width(text))
    return space + text if right else text + space


class Output:
    """Where a command writes: ``stream``, in ``locale``, as rich or plain tables."""

    def __init__(
        self, stream: TextIO, *, locale: str = "en_US", plain: bool = False, width: int = WIDTH
    ) -> None:
        self.stream = stream
        self.locale = locale
        self.width = width
        self.rich = not plain and rich_available()

    def money(self, amount: Money) -> str:
        """``amount`` formatted for the output's locale."""
        return format_money(amount, self.locale)

    def line(self, text: str = "", indent: int = 4) -> None:
        """Write ``text``, wrapped to the width; continuation lines are indented."""
        for piece in wrap(text, self.width, indent):
            self.stream.write(piece.rstrip() + "\n")

    def heading(self, text: str) -> None:
        """A blank line, then ``text``."""
        self.stream.write("\n")
        self.line(text)

    def json(self, document: Any) -> None:
        """``document`` as indented JSON (keys as given; non-ASCII text kept readable)."""
        self.stream.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")

    def table(self, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> None:
        """A table of ``rows`` under ``columns``' headers, fitted to the width."""
        if self.rich:
            self._rich_table(columns, rows)
        else:
            self._plain_table(columns, rows)

    def _widths(
        self, columns: Sequence[Column], rows: Sequence[Sequence[str]], gap: int
    ) -> list[int]:
        natural = [
            max([display_width(column.header)] + [display_width(row[i]) for row in rows])
            for i, column in enumerate(columns)
        ]
        return _fit(columns, natural, self.width - _INDENT, gap)

    def _plain_table(self, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> None:
        widths = self._widths(columns, rows, len(_GAP))

        def write(cells: Sequence[str]) -> None:
            pieces = [
                wrap(cell, width) if column.wrap else [clip(cell, width)]
                for cell, width, column in zip(cells, widths, columns, strict=True)
            ]
            for n in range(max(len(piece) for piece in pieces)):
                parts = [
                    _pad(piece[n] if n < len(piece) else "", width, column.right)
                    for piece, width, column in zip(pieces, widths, columns, strict=True)
                ]
                self.stream.write((" " * _INDENT + _GAP.join(parts)).rstrip() + "\n")

        write([column.header for column in columns])
        write(["-" * width for width in widths])
        for row in rows:
            write(row)

    def _rich_table(self, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> None:
        from rich import box
        from rich.console import Console
        from rich.padding import Padding
        from rich.table import Table
        from rich.text import Text

        widths = self._widths(columns, rows, _RICH_GAP)
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
        for column, width in zip(columns, widths, strict=True):
            table.add_column(
                Text(column.header, style="bold"),
                justify="right" if column.right else "left",
                overflow="fold" if column.wrap else "ellipsis",
                no_wrap=not column.wrap,
                width=width,
            )
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))
        terminal = is_terminal(self.stream)
        buffer = io.StringIO()
        console = Console(
            file=buffer,
            width=self.width,
            force_terminal=terminal,
            color_system="auto" if terminal else None,
            highlight=False,
            emoji=False,
            soft_wrap=False,
        )
        console.print(Padding(table, (0, 0, 0, _INDENT), expand=False))
        for text in buffer.getvalue().splitlines():
            self.stream.write(text.rstrip() + "\n")
