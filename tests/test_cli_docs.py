"""Every command line in docs/cli.md runs on the demo's store and prints what the page shows.

In a ```console block, a line starting ``$ `` is a command (``export NAME=VALUE`` sets the
environment); the lines after it, up to the next command, are its output; ``  # exits N`` after a command
says its exit status (else 0). A block titled with a file name (```csv title="orders.csv"``) is
written to that file first, for the commands to read. ``...`` in an output
line stands for any text (an order id, a cursor). The page shows the tables as rich draws them,
so the output is compared where rich 15 or newer is installed; the exit codes are checked
everywhere.
"""

from __future__ import annotations

import importlib.util
import io
import re
import shlex
from pathlib import Path

import pytest

from salesorders.cli import main

PAGE = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
CONSOLE = re.compile(r"^```console\n(.*?)^```", re.S | re.M)
FILE = re.compile(r'^```\w+ title="([^"]+)"\n(.*?)^```', re.S | re.M)


def _rich_draws_as_the_page() -> bool:
    """Whether rich is installed at a version that draws tables as the page shows them (its
    table widths moved by a column between versions; the page was drawn with rich 15)."""
    if importlib.util.find_spec("rich") is None:
        return False
    from importlib.metadata import version

    return int(version("rich").split(".")[0]) >= 15


def _files() -> dict[str, str]:
    """The files the page shows (a block with a ``title``), which its commands read."""
    return dict(FILE.findall(PAGE.read_text(encoding="utf-8")))


def _commands() -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for block in CONSOLE.findall(PAGE.read_text(encoding="utf-8")):
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            else:
                found[-1][1].append(line)
    return found


def _matches(expected: str, actual: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, actual) is not None


def test_the_page_shows_commands() -> None:
    commands = [command for command, _ in _commands()]
    assert len(commands) >= 8
    for name in (
        "orders list", "orders show", "orders track", "stock", "report", "migrate", "purge",
        "import", "export", "relay", "outbox dead", "outbox redrive", "outbox deliveries",
        "outbox purge",
    ):  # fmt: skip
        assert any(command.startswith(f"salesorders {name}") for command in commands), name


def test_every_documented_command_prints_what_the_page_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SALESORDERS_STORE", raising=False)
    assert main(["demo"], out=io.StringIO()) == 0
    for name, text in _files().items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    compare = _rich_draws_as_the_page()
    for command, expected in _commands():
        command, _, comment = command.partition("  # ")
        status = int(comment.removeprefix("exits ")) if comment else 0
        words = shlex.split(command)
        if words[0] == "export":
            name, value = words[1].split("=", 1)
            monkeypatch.setenv(name, value)
            continue
        assert words[0] == "salesorders", command
        out = io.StringIO()
        assert main(words[1:], out=out) == status, command
        if not compare:
            continue
        actual = out.getvalue().splitlines()
        assert len(actual) == len(expected), (command, actual)
        for want, got in zip(expected, actual, strict=True):
            assert _matches(want, got), (command, want, got)
