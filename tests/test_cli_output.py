"""The command line's output helpers: widths, wrapping, clipping, tables in 80 columns."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from moneyed import Money

from salesorders.cli.output import WIDTH, Column, Output, clip, display_width, wrap

WORDS = st.text(
    alphabet=st.sampled_from([*"abcdefghij-,.:", "注", "文", "ご", "€", "\xa0"]),
    min_size=0,
    max_size=30,
)


def test_wide_characters_take_two_columns() -> None:
    assert display_width("abc") == 3
    assert display_width("注文") == 4
    assert display_width("147,10\xa0€") == 8


def test_clip_cuts_with_an_ellipsis_only_when_needed() -> None:
    assert clip("SO-2026-000001", 14) == "SO-2026-000001"
    assert clip("SO-2026-000001", 10) == "SO-2026-0…"
    assert display_width(clip("ご注文ありがとう", 7)) <= 7


@given(st.lists(WORDS, max_size=30), st.integers(min_value=10, max_value=80))
def test_wrap_keeps_every_character_and_fits_the_width(words: list[str], width: int) -> None:
    text = "  " + " ".join(words)
    lines = wrap(text, width, indent=4)
    assert all(display_width(line) <= width for line in lines)
    assert "".join("".join(lines).split(" ")) == "".join(text.split(" "))


def test_wrap_keeps_money_whole_and_splits_only_at_ascii_spaces() -> None:
    lines = wrap("  credit note CN-2026-000001: 11,71\xa0€ refunded to P1 11,71\xa0€", 30, 4)
    assert lines == [
        "  credit note CN-2026-000001:",
        "      11,71\xa0€ refunded to P1",
        "      11,71\xa0€",
    ]


def _table(plain: bool, columns: list[Column], rows: list[list[str]]) -> list[str]:
    stream = io.StringIO()
    Output(stream, plain=plain).table(columns, rows)
    return stream.getvalue().splitlines()


COLUMNS = [
    Column("number", keep=True),
    Column("note"),
    Column("why", wrap=True),
    Column("total", right=True),
]
ROWS = [
    ["SO-2026-000001", "x" * 60, "a reason long enough to need more than one line", "$1.00"],
    ["SO-2026-000002", "short", "-", "$1,000.00"],
]


@pytest.mark.parametrize("plain", [True, False], ids=["plain", "rich"])
def test_tables_fit_the_width_keeping_kept_columns_whole(plain: bool) -> None:
    if not plain:
        pytest.importorskip("rich")
    lines = _table(plain, COLUMNS, ROWS)
    assert all(display_width(line) <= WIDTH for line in lines)
    assert all(line == line.rstrip() for line in lines)
    text = "\n".join(lines)
    assert "SO-2026-000001" in text and "SO-2026-000002" in text  # kept whole
    assert "…" in text  # the long note was cut
    assert "$1,000.00" in text
    assert len(lines) > 4  # the reason wrapped onto another line


def test_plain_tables_align_numbers_right() -> None:
    lines = _table(True, [Column("sku"), Column("qty", right=True)], [["A", "1"], ["B", "100"]])
    assert lines == ["  sku  qty", "  ---  ---", "  A      1", "  B    100"]


def test_rich_tables_have_the_same_cells() -> None:
    pytest.importorskip("rich")
    lines = _table(False, [Column("sku"), Column("qty", right=True)], [["A", "1"], ["B", "100"]])
    assert [line.split() for line in lines if line.strip() and "─" not in line] == [
        ["sku", "qty"],
        ["A", "1"],
        ["B", "100"],
    ]


def test_rich_reads_no_markup_in_cells() -> None:
    pytest.importorskip("rich")
    lines = _table(False, [Column("note")], [["[bold]as typed[/bold]"]])
    assert "[bold]as typed[/bold]" in "\n".join(lines)


def test_money_is_formatted_in_the_output_locale() -> None:
    assert Output(io.StringIO(), locale="de_DE").money(Money("1234.5", "EUR")) == "1.234,50\xa0€"
    assert Output(io.StringIO(), locale="ja_JP").money(Money("5752", "JPY")) == "￥5,752"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_rich_tables_are_coloured_only_on_a_terminal() -> None:
    pytest.importorskip("rich")
    columns, rows = [Column("sku"), Column("qty", right=True)], [["A", "1"]]
    terminal, pipe = _Terminal(), io.StringIO()
    Output(terminal).table(columns, rows)
    Output(pipe).table(columns, rows)
    assert "\x1b[" in terminal.getvalue()  # the bold header
    assert "\x1b[" not in pipe.getvalue()
    Output(terminal, plain=True).table(columns, rows)
    assert terminal.getvalue().endswith("  sku  qty\n  ---  ---\n  A      1\n")


def test_wrap_keeps_room_for_text_under_a_deep_indent() -> None:
    # Leading spaces and the indent together wider than the line: found by the property above.
    lines = wrap("       ::::", 10, indent=4)
    assert all(display_width(line) <= 10 for line in lines)
    assert "".join(line.strip() for line in lines) == "::::"
    assert all(display_width(line) <= 6 for line in wrap("      注文注文", 6, indent=4))
