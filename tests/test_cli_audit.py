"""``salesorders audit verify|export`` on the demo's store: the chains verified, a tampered
record named with exit 1, the records written as JSON Lines and CSV."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from salesorders.cli import main


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def flat(text: str) -> str:
    """``text`` with the output's line wrapping undone."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audit") / "demo.sqlite3"
    assert run("demo", "--store", str(path))[0] == 0
    return path


def test_verify_reports_the_chains_intact(demo: Path) -> None:
    code, text = run("audit", "verify", "--store", str(demo))
    assert (code, flat(text)) == (0, "5 audit records checked; every hash chain intact")
    code, text = run("audit", "verify", "--store", str(demo), "--stream", "denied:dock:wanda")
    assert (code, json.loads(run("audit", "verify", "--store", str(demo), "--json")[1])) == (
        0,
        {"checked": 5, "intact": True, "broken": None},
    )
    assert "1 audit record checked" in text


def test_verify_names_a_tampered_record_and_exits_1(demo: Path, tmp_path: Path) -> None:
    copy = tmp_path / "tampered.sqlite3"
    shutil.copy(demo, copy)
    with sqlite3.connect(copy) as db:
        db.execute(
            "UPDATE audit_log SET reason = 'nothing to see' WHERE stream = 'denied:dock:wanda'"
        )
    db.close()
    code, text = run("audit", "verify", "--store", str(copy))
    assert code == 1
    assert "broken at denied:dock:wanda record 1: its content does not match its hash" in flat(text)


def test_export_writes_json_lines_or_csv(demo: Path, tmp_path: Path) -> None:
    code, text = run("audit", "export", "--store", str(demo))
    rows = [json.loads(line) for line in text.splitlines()]
    assert code == 0 and len(rows) == 5
    assert {r["outcome"] for r in rows} == {"done", "denied"}
    target = tmp_path / "audit.csv"
    code, text = run(
        "audit", "export", "--store", str(demo), "--format", "csv", "--output", str(target),
        "--stream", "denied:dock:wanda",
    )  # fmt: skip
    assert (code, flat(text)) == (0, f"wrote 1 audit record to {target}")
    with target.open(encoding="utf-8", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert (row["actor"], row["action"], row["outcome"]) == ("dock:wanda", "CancelOrder", "denied")
    code, text = run("audit", "export", "--store", str(demo), "--from", "2030-01-01")
    assert (code, text) == (0, "")


def test_a_bad_time_is_refused_naming_the_option(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("audit", "verify", "--store", str(demo), "--from", "yesterday")[0] == 2
    assert "--from: is not an ISO 8601 date" in capsys.readouterr().err
