"""The command line as a shell sees it: exit codes, stderr, pipes, extras, migrations, 80 columns."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import salesorders
from salesorders.adapters._sql.dialect import SQLiteDialect
from salesorders.adapters._sql.schema import LATEST_VERSION, MIGRATIONS, render_migration
from salesorders.cli import main
from salesorders.cli.output import display_width

SRC = Path(__file__).resolve().parent.parent / "src"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("shell") / "demo.sqlite3"
    assert run("demo", "--store", str(path))[0] == 0
    return path


def test_version() -> None:
    assert run("--version") == (0, f"salesorders {salesorders.__version__}\n")


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run() == (2, "")
    assert "error: name a command" in capsys.readouterr().err
    assert run("orders", "list", "--store", "x.db", "--bogus")[0] == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
    assert run("orders", "list", "--store", "x.db", "--locale", "xx_YY")[0] == 2
    assert "unknown locale 'xx_YY'" in capsys.readouterr().err


def test_the_store_can_come_from_the_environment(
    demo_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESORDERS_STORE", str(demo_store))
    code, text = run("orders", "list", "--json")
    assert code == 0
    assert json.loads(text)["total"] == 5


def test_a_missing_store_file_is_a_clear_error_and_no_file_is_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sqlite3"
    completed = subprocess.run(
        [sys.executable, "-m", "salesorders", "stock", "--store", str(missing)],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert completed.returncode == 2
    assert completed.stderr.startswith("error: --store: no store file exists there")
    assert "Traceback" not in completed.stderr
    assert completed.stdout == ""
    assert not missing.exists()


def test_a_file_that_is_no_database_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database, but long enough to be read as one " * 40)
    assert run("migrate", "--check", "--store", str(junk))[0] == 2
    assert "is not an SQLite store" in capsys.readouterr().err


def test_a_dsn_without_psycopg_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['psycopg'] = None\n"
        "from salesorders.cli import main\n"
        "raise SystemExit(main(['orders', 'list', '--store', "
        "'postgresql://app:secret@db.example/shop']))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env()
    )
    assert completed.returncode == 2
    assert "a postgresql:// store needs the psycopg package" in completed.stderr
    assert 'pip install "salesorders[postgres]"' in completed.stderr
    assert "secret" not in completed.stderr
    assert "Traceback" not in completed.stderr


@pytest.mark.parametrize(
    "command",
    [
        "orders list --limit 100",
        "orders show SO-2026-000002",
        "stock",
        "demo",
    ],
)
def test_piping_into_head_ends_quietly(demo_store: Path, tmp_path: Path, command: str) -> None:
    store = tmp_path / "own.sqlite3" if command == "demo" else demo_store
    script = (
        f"{sys.executable} -m salesorders {command} --store {store} | head -1; "
        'echo "status ${PIPESTATUS[0]}"'
    )
    completed = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=_env(), timeout=300
    )
    lines = completed.stdout.splitlines()
    assert len(lines) == 2 and lines[1] == "status 0", completed.stdout
    assert completed.stderr == ""  # no BrokenPipeError, no traceback


@pytest.fixture(scope="module")
def busy_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with 300 orders: a listing of them is larger than a pipe's buffer."""
    from moneyed import Money

    from salesorders.adapters.sqlite import SQLiteStore
    from salesorders.service import LineSpec, PlaceOrder, bootstrap

    path = tmp_path_factory.mktemp("busy") / "busy.sqlite3"
    with SQLiteStore(path) as store:
        service = bootstrap(store=store)
        for n in range(300):
            service.handle(
                PlaceOrder(
                    customer_id=f"C-{n:04}",
                    currency="USD",
                    lines=(LineSpec("TEA-100", 1, Money("12.50", "USD")),),
                )
            )
    return path


@pytest.mark.parametrize("style", ["--json", "--plain", "--locale=en_US"])
def test_a_listing_larger_than_the_pipe_ends_quietly_in_head(busy_store: Path, style: str) -> None:
    # 300 orders are more than the pipe holds: the command is still writing when head exits.
    script = (
        f"{sys.executable} -m salesorders orders list --limit 300 {style} --store {busy_store}"
        ' | head -1; echo "status ${PIPESTATUS[0]}"'
    )
    completed = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=_env(), timeout=300
    )
    assert completed.stdout.splitlines()[1] == "status 0"
    assert completed.stderr == ""


def test_a_write_to_a_closed_pipe_returns_0() -> None:
    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    assert main(["--version"], out=ClosedPipe()) == 0


def test_a_closed_pipe_before_the_first_write_ends_quietly(demo_store: Path) -> None:
    # The reader is gone before anything is written: every write fails.
    script = f"{sys.executable} -m salesorders stock --store {demo_store} | true"
    completed = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=_env())
    assert completed.returncode == 0
    assert completed.stderr == ""


def test_errors_go_to_stderr_not_stdout(demo_store: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "salesorders", "orders", "show", "SO-0", "--store", str(demo_store)],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr == "error: no order number 'SO-0'; check the id or number\n"


@pytest.mark.parametrize("style", ["--plain", "--locale=en_US"])
@pytest.mark.parametrize(
    "command",
    [
        "orders list",
        "orders list --limit 1",
        "orders show SO-2026-000001",
        "orders show SO-2026-000004",
        "orders track SO-2026-000002",
        "orders track --customer C-ACME",
        "stock",
        "migrate --check",
        "purge-idempotency",
        "report --from 2026-11-01 --to 2026-11-30",
        "report --from 2026-11-01 --to 2026-11-30 --period day --group-by customer",
    ],
)
def test_every_command_fits_80_columns(demo_store: Path, command: str, style: str) -> None:
    code, text = run(*command.split(), "--store", str(demo_store), style)
    assert code == 0
    lines = text.splitlines()
    cursor = lines[-1] if "next page: --after (the cursor below)" in lines else None
    wide = [line for line in lines if display_width(line) > 80 and line != cursor]
    assert wide == []


# --------------------------------------------------------------------------- migrations


def _sqlite_at(path: Path, version: int) -> None:
    dialect = SQLiteDialect()
    raw = sqlite3.connect(path)
    with raw:
        for migration in MIGRATIONS[:version]:
            for statement in render_migration(dialect, migration):
                raw.execute(statement)
    raw.close()


def test_migrate_check_lists_pending_migrations_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _sqlite_at(path, LATEST_VERSION - 2)
    code, text = run("migrate", "--check", "--store", str(path))
    assert code == 1
    lines = text.splitlines()
    assert lines[0] == f"schema at version {LATEST_VERSION - 2}; 2 migrations pending:"
    assert lines[1].startswith(f"  {LATEST_VERSION - 1}: ")
    code, document = run("migrate", "--check", "--json", "--store", str(path))
    assert code == 1
    assert [m["version"] for m in json.loads(document)["pending"]] == [
        LATEST_VERSION - 1,
        LATEST_VERSION,
    ]
    with sqlite3.connect(path) as raw:  # still at the old version: --check changed nothing
        assert raw.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == (
            LATEST_VERSION - 2
        )
    code, applied = run("migrate", "--store", str(path))
    assert code == 0
    assert (
        applied.splitlines()[0] == f"applied 2 migrations; schema now at version {LATEST_VERSION}:"
    )
    assert run("migrate", "--check", "--store", str(path)) == (
        0,
        f"schema up to date at version {LATEST_VERSION}\n",
    )


def test_migrate_check_refuses_a_newer_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "new.sqlite3"
    _sqlite_at(path, LATEST_VERSION)
    with sqlite3.connect(path) as raw:
        raw.execute(
            "INSERT INTO schema_version VALUES (?, 'from the future', CURRENT_TIMESTAMP)",
            (LATEST_VERSION + 1,),
        )
    assert run("migrate", "--check", "--store", str(path))[0] == 2
    assert "newer than the version" in capsys.readouterr().err


@pytest.mark.postgres
def test_migrate_on_postgres(postgres_dsn: str) -> None:
    psycopg = pytest.importorskip("psycopg")
    from salesorders.adapters.postgres import PostgresDialect

    schema = f"so_cli_migrate_{uuid.uuid4().hex[:10]}"
    dialect = PostgresDialect(f'"{schema}".')
    try:
        with psycopg.connect(postgres_dsn) as raw:
            raw.execute(f'CREATE SCHEMA "{schema}"'.encode())
            for migration in MIGRATIONS[: LATEST_VERSION - 1]:
                for statement in render_migration(dialect, migration):
                    raw.execute(statement.encode())
        where = ["--store", postgres_dsn, "--schema", schema]
        code, text = run("migrate", "--check", *where)
        assert code == 1
        assert text.startswith(f"schema at version {LATEST_VERSION - 1}; 1 migration pending:")
        assert run("migrate", *where)[0] == 0
        assert run("migrate", "--check", *where)[0] == 0
        empty = ["--store", postgres_dsn, "--schema", f"{schema}_none"]
        code, nothing = run("migrate", "--check", "--json", *empty)
        assert code == 1
        assert len(json.loads(nothing)["pending"]) == LATEST_VERSION  # no schema at all yet
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as raw:
            raw.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'.encode())
            raw.execute(f'DROP SCHEMA IF EXISTS "{schema}_none" CASCADE'.encode())
