"""``salesorders relay`` and ``salesorders outbox``: against a real SQLite store (and PostgreSQL
where configured), a real SMTP server (aiosmtpd) and a real HTTP receiver of signed webhooks."""

from __future__ import annotations

import email
import email.policy
import http.server
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd")
pytest.importorskip("standardwebhooks")

from aiosmtpd.controller import Controller

from salesorders import LineSpec, Money, PlaceOrder, bootstrap
from salesorders.adapters.sqlite import SQLiteStore
from salesorders.adapters.webhook import WebhookVerifier, new_webhook_secret
from salesorders.cli import main
from salesorders.cli.output import Output
from salesorders.cli.parser import build_parser
from salesorders.cli.relay import run_relay

ROOT = Path(__file__).resolve().parent.parent
SECRET = new_webhook_secret()


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def _place(store: Any, customers: tuple[str, ...] = ("C-1",)) -> list[str]:
    """Place one order per customer; their numbers."""
    service = bootstrap(store=store)
    numbers = []
    for customer in customers:
        placed = service.handle(
            PlaceOrder(
                customer_id=customer,
                currency="USD",
                lines=(LineSpec("TEA-1", 2, Money("9.50", "USD")),),
            )
        )
        numbers.append(placed.number)
    return numbers


@pytest.fixture
def sqlite_store(tmp_path: Path) -> tuple[Path, list[str]]:
    """An SQLite store with two placed orders (two OrderPlaced messages pending)."""
    path = tmp_path / "shop.sqlite3"
    with SQLiteStore(path) as store:
        numbers = _place(store, ("C-1", "C-2"))
    return path, numbers


@pytest.fixture
def contacts(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.json"
    entries = [
        {"customer_id": "C-1", "name": "Ada", "email": "ada@example.com"},
        {"customer_id": "C-2", "name": "Jörg", "email": "joerg@example.com", "locale": "de_DE"},
    ]
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


# ---------------------------------------------------------------------- SMTP


class Mailbox:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(
                e.content.replace(b"\r\n", b"\n"), _class=EmailMessage, policy=email.policy.default
            )
            for e in self.envelopes
        ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


def test_relay_once_mails_the_customers_through_smtp(
    sqlite_store: tuple[Path, list[str]], contacts: Path, smtp: tuple[Mailbox, int]
) -> None:
    path, numbers = sqlite_store
    mailbox, port = smtp
    code, text = run(
        "relay", "--store", str(path), "--smtp", f"127.0.0.1:{port}",
        "--sender", "shop@example.com", "--contacts", str(contacts), "--once",
    )  # fmt: skip
    assert code == 0, text
    lines = text.splitlines()
    assert lines[0].startswith(f"relaying {path} to email ")
    assert "2 contacts" in lines[0]
    assert lines[-1] == "delivered 2, failed 0, dead 0, deferred 0"
    mails = {str(m["To"]): m for m in mailbox.messages()}
    assert set(mails) == {"Ada <ada@example.com>", "Jörg <joerg@example.com>"}
    assert mails["Ada <ada@example.com>"]["Subject"] == f"We received your order {numbers[0]}"
    german = mails["Jörg <joerg@example.com>"]
    assert german["Subject"] == f"Wir haben Ihre Bestellung {numbers[1]} erhalten"
    assert "Gesamt:" in german.get_body(("plain",)).get_content()
    # a second round finds nothing: the mails are not sent twice
    code, text = run(
        "relay", "--store", str(path), "--smtp", f"127.0.0.1:{port}",
        "--sender", "shop@example.com", "--contacts", str(contacts), "--once", "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(text) == {"delivered": 0, "failed": 0, "dead": 0, "deferred": 0}
    assert len(mailbox.envelopes) == 2


# ---------------------------------------------------------------------- webhooks


class Receiver:
    """An HTTP server that keeps the posts it receives and answers ``status``."""

    def __init__(self) -> None:
        self.posts: list[tuple[bytes, dict[str, str]]] = []
        self.status = 204
        self.received = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.posts.append((body, dict(self.headers.items())))
                self.send_response(receiver.status)
                self.send_header("content-length", "0")
                self.end_headers()
                receiver.received.set()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def events(self) -> list[dict[str, Any]]:
        verifier = WebhookVerifier(SECRET)
        return [verifier.verify(body, headers) for body, headers in self.posts]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    thread = threading.Thread(target=found.server.serve_forever, daemon=True)
    thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()


def _hook(receiver: Receiver) -> list[str]:
    return ["--webhook", f"crm={receiver.url}", "--webhook-secret", f"crm={SECRET}"]


def test_relay_posts_signed_webhooks(
    sqlite_store: tuple[Path, list[str]], receiver: Receiver
) -> None:
    path, numbers = sqlite_store
    code, text = run("relay", "--store", str(path), *_hook(receiver), "--once", "--json")
    assert code == 0, text
    assert json.loads(text) == {"delivered": 2, "failed": 0, "dead": 0, "deferred": 0}
    events = receiver.events()  # raises unless each signature checks out under the secret
    assert [e["type"] for e in events] == ["OrderPlaced", "OrderPlaced"]
    code, text = run("outbox", "deliveries", numbers[0], "--store", str(path), "--json")
    log = json.loads(text)["deliveries"]
    assert [(r["channel"], r["status"], r["recipient"]) for r in log] == [
        ("webhook-crm", "sent", receiver.url)
    ]


def test_the_webhook_secret_may_come_from_the_environment(
    sqlite_store: tuple[Path, list[str]], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESORDERS_WEBHOOK_SECRET_CRM", SECRET)
    path, _ = sqlite_store
    code, text = run("relay", "--store", str(path), "--webhook", f"crm={receiver.url}", "--once")
    assert code == 0, text
    assert text.splitlines()[-1] == "delivered 2, failed 0, dead 0, deferred 0"
    assert len(receiver.events()) == 2


def test_dead_messages_are_listed_redriven_and_purged(
    sqlite_store: tuple[Path, list[str]], receiver: Receiver
) -> None:
    path, numbers = sqlite_store
    store = ["--store", str(path)]
    receiver.status = 410  # gone: a permanent refusal, dead at once
    code, text = run("relay", *store, *_hook(receiver), "--once", "--json")
    assert json.loads(text) == {"delivered": 0, "failed": 0, "dead": 2, "deferred": 0}
    code, text = run("outbox", "dead", *store, "--json")
    dead = json.loads(text)
    assert code == 0
    assert [(d["event_type"], d["sequence"], d["attempts"]) for d in dead] == [
        ("OrderPlaced", 1, 1),
        ("OrderPlaced", 1, 1),
    ]
    assert all("answered 410" in d["last_error"] for d in dead)
    code, text = run("outbox", "dead", *store, "--plain")
    assert text.splitlines()[0] == "2 dead messages:"
    assert dead[0]["event_id"] in text
    code, text = run("outbox", "deliveries", numbers[0], *store, "--json")
    assert [(r["status"], r["attempts"]) for r in json.loads(text)["deliveries"]] == [
        ("refused", 1)
    ]

    # an id that is not dead refuses the command and redrives nothing
    code, _ = run("outbox", "redrive", dead[0]["event_id"], "no-such-event", *store)
    assert code == 2
    assert len(json.loads(run("outbox", "dead", *store, "--json")[1])) == 2

    receiver.status = 200
    code, text = run("outbox", "redrive", dead[0]["event_id"], *store)
    assert (code, text) == (0, "redrove 1 dead message; the relay delivers them next\n")
    remaining = json.loads(run("outbox", "dead", *store, "--json")[1])
    assert [d["event_id"] for d in remaining] == [dead[1]["event_id"]]
    code, text = run("outbox", "redrive", "--all", *store, "--json")
    assert json.loads(text) == {"redriven": 1}
    assert run("outbox", "dead", *store)[1] == "no dead messages\n"

    code, text = run("relay", *store, *_hook(receiver), "--once", "--json")
    assert json.loads(text)["delivered"] == 2
    assert len(receiver.events()) == 4  # two refused posts, then two delivered ones
    code, text = run("outbox", "deliveries", numbers[0], *store, "--plain")
    assert code == 0
    assert text.splitlines()[0] == f"Order {numbers[0]}: 1 delivery"
    assert "webhook-crm  sent" in text

    code, text = run("outbox", "purge", "--older-than", "1", *store, "--json")
    assert json.loads(text) == {"purged": 0}  # delivered just now: kept
    code, text = run("outbox", "purge", "--older-than", "0", *store)
    assert (code, text) == (0, "purged 2 delivered messages\n")
    assert run("outbox", "deliveries", numbers[0], *store)[1] == (
        f"Order {numbers[0]}: nothing delivered yet\n"
    )


def test_outbox_commands_refuse_bad_input(
    sqlite_store: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    store = ["--store", str(sqlite_store[0])]
    assert run("outbox", "redrive", *store)[0] == 2
    assert "event ids or --all" in capsys.readouterr().err
    assert run("outbox", "redrive", "x", "--all", *store)[0] == 2
    assert run("outbox", "deliveries", "SO-NOPE", *store)[0] == 2
    assert run("outbox", "purge", "--older-than", "-1", *store)[0] == 2
    assert run("outbox", "purge", *store)[0] == 2  # --older-than is required


# ---------------------------------------------------------------------- usage errors


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ([], "relay: needs a channel to deliver to; give --smtp HOST[:PORT], --webhook"),
        (["--smtp", "127.0.0.1:2525"], "--sender: is needed with --smtp"),
        (["--smtp", "mail:x", "--sender", "a@example.com"], "--smtp: must be HOST or HOST:PORT"),
        (
            ["--smtp", "mail", "--sender", "a@example.com", "--smtp-user", "shop"],
            "--smtp-password: is needed for an SMTP login",
        ),
        (["--webhook", "crm=http://127.0.0.1:1/"], "give --webhook-secret crm=whsec_... or set"),
        (["--webhook", "crm"], "--webhook: must be NAME=VALUE"),
        (
            ["--webhook", "crm=http://127.0.0.1:1/", "--webhook-secret", "erp=whsec_x"],
            "--webhook-secret: names no --webhook",
        ),
        (["--webhook", "crm=http://127.0.0.1:1/", "--webhook-secret", "crm=nope"], "secret"),
        (["--batch", "0", "--once"], "--batch: must be at least 1"),
        (["--lease", "soon"], "--lease: not a number of seconds"),
    ],
)
def test_relay_usage_errors_exit_2_naming_the_option(
    sqlite_store: tuple[Path, list[str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    options: list[str],
    expected: str,
) -> None:
    monkeypatch.delenv("SALESORDERS_SMTP_PASSWORD", raising=False)
    monkeypatch.delenv("SALESORDERS_WEBHOOK_SECRET_CRM", raising=False)
    code, text = run("relay", "--store", str(sqlite_store[0]), *options)
    assert code == 2
    assert expected in capsys.readouterr().err
    assert text == ""  # nothing started


def test_the_smtp_password_may_come_from_the_environment(
    sqlite_store: tuple[Path, list[str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SALESORDERS_SMTP_PASSWORD", "s3cret")
    options = ["--smtp", "127.0.0.1:1", "--sender", "shop@example.com", "--once"]
    code, _ = run("relay", "--store", str(sqlite_store[0]), *options)
    assert code == 2  # a password (from the environment) without a user
    assert "--smtp-user: is needed for an SMTP login" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("modules", "options", "expected"),
    [
        (
            ("standardwebhooks", "standardwebhooks.webhooks"),
            ["--webhook", "crm=http://127.0.0.1:1/", "--webhook-secret", f"crm={SECRET}"],
            'pip install "salesorders[webhooks]"',
        ),
        (("nats",), ["--nats", "nats://127.0.0.1:1"], 'pip install "salesorders[nats]"'),
    ],
)
def test_a_missing_extra_is_named(
    sqlite_store: tuple[Path, list[str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    modules: tuple[str, ...],
    options: list[str],
    expected: str,
) -> None:
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)  # the import fails as if not installed
    monkeypatch.delitem(sys.modules, "salesorders.adapters.nats", raising=False)
    code, _ = run("relay", "--store", str(sqlite_store[0]), *options, "--once")
    assert code == 2
    assert expected in capsys.readouterr().err


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ({"customer_id": "C-1"}, "must hold a JSON list of contact objects"),
        (["C-1"], "entry 1: must be an object"),
        ([{"customer_id": "C-1"}, {"name": "Bo"}], "entry 2.customer_id: is missing"),
        ([{"customer_id": "C-1", "mail": "a@b.c"}], "entry 1.mail: is not a contact field"),
        ([{"customer_id": "C-1", "email": "not-an-address"}], "entry 1.email"),
        ([{"customer_id": "C-1", "locale": "xx_NOPE"}], "entry 1.locale"),
    ],
)
def test_bad_contacts_are_named_by_entry_and_field(
    sqlite_store: tuple[Path, list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    receiver: Receiver,
    entries: Any,
    expected: str,
) -> None:
    path, _ = sqlite_store
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(entries), encoding="utf-8")
    code, _ = run("relay", "--store", str(path), *_hook(receiver), "--contacts", str(file))
    assert code == 2
    assert expected in capsys.readouterr().err
    assert receiver.posts == []  # nothing was delivered


# ---------------------------------------------------------------------- long-running


def test_relay_runs_until_its_stop_event_is_set(
    sqlite_store: tuple[Path, list[str]], receiver: Receiver
) -> None:
    path, _ = sqlite_store
    args = build_parser().parse_args(
        ["relay", "--store", str(path), *_hook(receiver), "--poll", "0.02"]
    )
    out = io.StringIO()
    stop = threading.Event()
    codes: list[int] = []
    worker = threading.Thread(target=lambda: codes.append(run_relay(args, Output(out), stop)))
    worker.start()
    assert receiver.received.wait(30)
    while len(receiver.posts) < 2 and worker.is_alive():
        receiver.received.clear()
        receiver.received.wait(0.5)
    stop.set()
    worker.join(30)
    assert not worker.is_alive()
    assert codes == [0]
    assert out.getvalue().splitlines()[-1] == "delivered 2, failed 0, dead 0, deferred 0"


def test_relay_with_max_idle_returns_by_itself(
    sqlite_store: tuple[Path, list[str]], receiver: Receiver
) -> None:
    path, _ = sqlite_store
    code, text = run(
        "relay", "--store", str(path), *_hook(receiver), "--poll", "0.01", "--max-idle", "0.03",
        "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(text) == {"delivered": 2, "failed": 0, "dead": 0, "deferred": 0}


def test_relay_process_stops_on_sigterm_and_prints_the_counts(
    sqlite_store: tuple[Path, list[str]], receiver: Receiver
) -> None:
    path, _ = sqlite_store
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONUNBUFFERED": "1"}
    environment["SALESORDERS_WEBHOOK_SECRET_CRM"] = SECRET
    process = subprocess.Popen(
        [sys.executable, "-m", "salesorders", "relay", "--store", str(path),
         "--webhook", f"crm={receiver.url}", "--poll", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        started = process.stdout.readline()
        assert started.startswith(f"relaying {path} to webhook-crm"), started
        while len(receiver.posts) < 2 and process.poll() is None:
            receiver.received.clear()
            receiver.received.wait(0.5)
        process.send_signal(signal.SIGTERM)
        rest, errors = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, errors
    assert rest.splitlines() == ["delivered 2, failed 0, dead 0, deferred 0"]
    assert SECRET not in started + rest + errors


# ---------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
def test_relay_on_postgres_hides_the_password(postgres_dsn: str, receiver: Receiver) -> None:
    psycopg = pytest.importorskip("psycopg")
    from salesorders.adapters.postgres import PostgresStore

    schema = f"so_relay_{uuid.uuid4().hex[:12]}"
    with PostgresStore(postgres_dsn, schema=schema, max_size=2) as postgres:
        numbers = _place(postgres)
    # trust authentication takes any password: one in the DSN must not be printed
    dsn = postgres_dsn.replace("://postgres@", "://postgres:hunter2@")
    try:
        store = ["--store", dsn, "--schema", schema]
        code, text = run("relay", *store, *_hook(receiver), "--once")
        assert code == 0, text
        assert "hunter2" not in text
        if dsn != postgres_dsn:
            assert ":***@" in text.splitlines()[0]
        assert text.splitlines()[-1] == "delivered 1, failed 0, dead 0, deferred 0"
        code, text = run("outbox", "deliveries", numbers[0], *store, "--json")
        assert [r["status"] for r in json.loads(text)["deliveries"]] == ["sent"]
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'.encode())
