from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from salesorders.cli import main


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_demo_runs_twice_on_a_fresh_store(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite3"
    first = run("demo", "--db", str(db))
    second = run("demo", "--db", str(db))
    assert first[0] == 0
    assert second == first  # same clock, same data: the same summary, not a growing store
    text = first[1]
    assert "SO-2026-000004" in text
    assert "cancelled" in text
    assert "confirmed: LAMP-1 3 backordered, expected 2026-12-09" in text
    assert "stock arrived: LAMP-1 5 reserved, 0 backordered" in text
    assert "approve  awaiting_approval -> confirmed         by mgr:ana" in text
    assert "reserved on approval, then by changes: MUG-6 x12 from NYC, MUG-6 x3 from NYC" in text
    assert (
        "change C1 requested by cs:yuki: three more for the new office; approved by mgr:ana" in text
    )
    assert "revision 2, total $106.15, difference due $21.23" in text
    assert "bank_transfer $21.23 ref BANK-REF-55077" in text
    assert "bank_transfer $84.92 ref BANK-REF-55012 recorded by sales:bo" in text
    assert "by finance:jo: seen on the bank statement" in text
    assert "payment status paid, balance due $0.00" in text
    assert "return R1: TEA-100 x1 (damaged) requested by cs:mia, received" in text
    assert "credit note CN-2026-000001: 11,71\xa0€" in text
    assert "refunded to P1 11,71\xa0€" in text
    assert "balance due 0,00\xa0€" in text
    assert "JD0000000001" in text  # the carrier's tracking number
    assert "0 discrepancies" in text
    assert "感谢您的订购" in text and "Vielen Dank" in text and "ご注文" in text
    assert "147,10\xa0€" in text  # localized with babel, not with the process locale


def test_operator_commands_read_the_store(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite3"
    run("demo", "--db", str(db))
    code, listing = run("orders", str(db))
    assert code == 0
    assert len(listing.strip().splitlines()) == 5
    code, stock = run("stock", str(db))
    assert code == 0
    assert stock.strip().endswith("0 discrepancies")
    assert "LAMP-1" in stock


def test_missing_store_file_is_a_clear_error(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "salesorders", "stock", str(tmp_path / "nope.sqlite3")],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 2
    assert "no store file" in completed.stderr


def test_module_entry_point_runs_the_demo(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "salesorders", "demo", "--db", str(tmp_path / "d.sqlite3")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Notifications delivered through the outbox" in completed.stdout
