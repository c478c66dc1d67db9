"""The demo: the same story on a fresh store each run, every part of it shown, in 80 columns."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from salesorders.cli import main
from salesorders.cli.output import display_width

SRC = Path(__file__).resolve().parent.parent / "src"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def _joined(text: str) -> str:
    """The text with wrapped lines joined again, to find sentences a wrap split."""
    return " ".join(line.strip() for line in text.splitlines())


@pytest.mark.parametrize("style", [["--plain"], []], ids=["plain", "default"])
def test_demo_runs_twice_on_a_fresh_store(tmp_path: Path, style: list[str]) -> None:
    db = tmp_path / "demo.sqlite3"
    first = run("demo", "--store", str(db), *style)
    second = run("demo", "--db", str(db), *style)  # --db: the older name of --store
    assert first[0] == 0
    assert second == first  # same clock, same data: the same summary, not a growing store
    text = _joined(first[1])
    assert "SO-2026-000004" in text
    assert "cancelled" in text
    assert "confirmed: LAMP-1 3 backordered, expected 2026-12-09" in text
    assert "stock arrived: LAMP-1 5 reserved, 0 backordered" in text
    assert "approve: awaiting_approval -> confirmed by mgr:ana: credit checked" in text
    assert "reserved on approval, then by changes: MUG-6 x12 from NYC, MUG-6 x3 from NYC" in text
    assert (
        "change C1 requested by cs:yuki: three more for the new office; approved by mgr:ana" in text
    )
    assert "revision 2, total $106.15, difference due $21.23" in text
    assert "bank_transfer $21.23 ref BANK-REF-55077" in text
    assert "bank_transfer $84.92 ref BANK-REF-55012 recorded by sales:bo" in text
    assert "by finance:jo: seen on the bank statement" in text
    assert "payment status paid, balance due $0.00" in text
    assert "dock:wanda tries to cancel the order: denied: no role of the actor grants it" in text
    assert "cs:lee tries to approve their own change: denied: cs:lee asked for it" in text
    assert "mgr:ana tries to approve the change: done" in text
    assert "audit log: 5 records (3 denied attempts), hash chains intact" in text
    assert "return R1: TEA-100 x1 (damaged) requested by cs:mia, received" in text
    assert "credit note CN-2026-000001: 11,71\xa0€" in text
    assert "refunded to P1 11,71\xa0€" in text
    assert "balance due 0,00\xa0€" in text
    assert "5 customer records in the store; the relay reads their contacts there" in text
    assert "tier: regular -> silver (spent EUR 147.10 in the last 365 days)" in text
    assert "points earned on the completed order: +147, balance 147" in text
    assert "points reversed on the refund: -12, balance 135" in text
    assert "JD0000000001" in text  # the carrier's tracking number
    assert "0 discrepancies" in text
    # The notifications went through the relay to the demo's local SMTP server, in 4 locales.
    assert "the outbox relay sent" in text and "in 4 languages (de-DE, en-US, ja-JP, zh-CN)" in text
    assert "我们已收到您的订单 SO-2026-000001" in text
    assert "Wir haben Ihre Bestellung SO-2026-000002 erhalten" in text
    assert "ご注文 SO-2026-000004 をキャンセルしました" in text
    assert "We received your order SO-2026-000003" in text
    assert "147,10\xa0€" in text  # localized with babel, not with the process locale


def test_demo_shows_what_it_seeds(tmp_path: Path) -> None:
    code, text = run("demo", "--store", str(tmp_path / "demo.sqlite3"), "--plain")
    assert code == 0
    joined = _joined(text)
    # the allocation plans' reasons, the backorder among them with its expected date
    assert "SO-2026-000001 L1 TEA-100 x3 from SHA: SHA: highest-priority warehouse" in joined
    assert (
        "SO-2026-000003 L1 LAMP-1 x3 backordered: no stock left in eligible warehouses; "
        "expected 2026-12-09 with incoming PO-7001 at NYC" in joined
    )
    # the rate frozen on the yen order
    assert "SO-2026-000004: 1 USD = 151.37 JPY, as of 2026-11-27 09:00 (demo rates)" in joined
    # tables with headers
    lines = text.splitlines()
    header = lines.index("Orders") + 1
    assert lines[header].split() == ["number", "customer", "state", "allocation", "total"]
    assert set(lines[header + 1].strip()) == {"-", " "}
    assert lines[header + 2].split()[:3] == ["SO-2026-000001", "C-LI", "confirmed"]
    stock = lines.index("Stock") + 1
    assert lines[stock].split() == ["sku", "warehouse", "on", "hand", "reserved", "available"]
    assert lines[stock + 2].split() == ["LAMP-1", "NYC", "12", "5", "7"]


@pytest.mark.parametrize("style", [["--plain"], []], ids=["plain", "default"])
def test_demo_fits_80_columns(tmp_path: Path, style: list[str]) -> None:
    store = tmp_path / "demo.sqlite3"
    code, text = run("demo", "--store", str(store), *style)
    assert code == 0
    export = f"  export SALESORDERS_STORE={store}"
    wide = [line for line in text.splitlines() if display_width(line) > 80 and line != export]
    assert wide == []
    assert export in text.splitlines()  # the path is written whole, to copy


def test_demo_ends_with_commands_that_work_on_its_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, text = run("demo")
    assert code == 0
    assert (tmp_path / "salesorders-demo.sqlite3").is_file()  # in the current directory
    assert "embedded SQLite store at salesorders-demo.sqlite3" in text
    lines = text.splitlines()
    tail = lines[
        lines.index("Try next, on this demo's store (each run of the demo starts it afresh)") :
    ]
    assert tail[1] == "  export SALESORDERS_STORE=salesorders-demo.sqlite3"
    commands = [line.split("python -m salesorders ", 1)[1] for line in tail if "python -m" in line]
    assert len(commands) >= 6
    monkeypatch.setenv("SALESORDERS_STORE", "salesorders-demo.sqlite3")
    for command in commands:
        code, shown = run(*command.split())
        assert code == 0, command
        assert shown.strip(), command


def test_demo_refuses_a_postgres_dsn(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run("demo", "--store", "postgresql://app:secret@db.example/shop")
    assert code == 2
    assert text == ""
    err = capsys.readouterr().err
    assert err.startswith("error: --store: the demo runs on an SQLite file")
    assert "secret" not in err  # the password is never printed


def test_module_entry_point_runs_the_demo(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "salesorders", "demo", "--store", str(tmp_path / "d.sqlite3")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Notifications delivered through the outbox" in completed.stdout


def test_demo_needs_no_extra(tmp_path: Path) -> None:
    # As after a plain `pip install .`: no rich, no psycopg, no Hypothesis.
    code = (
        "import sys\n"
        "for name in ('rich', 'psycopg', 'psycopg_pool', 'hypothesis', 'openpyxl', 'matplotlib',"
        " 'plotext', 'stdnum', 'tracking_numbers'):\n"
        "    sys.modules[name] = None\n"
        "from salesorders.cli import main\n"
        f"raise SystemExit(main(['demo', '--store', {str(tmp_path / 'd.sqlite3')!r}]))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert completed.returncode == 0, completed.stderr
    assert "  number          customer  state" in completed.stdout  # the plain tables
    assert "Try next" in completed.stdout
