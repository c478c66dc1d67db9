from __future__ import annotations

import os
import socket
import urllib.parse
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    deadline=None,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("SALESORDERS_HYPOTHESIS_PROFILE", "default"))

POSTGRES_DSN = os.environ.get("SALESORDERS_TEST_POSTGRES_DSN", "")
_skipped_postgres: list[str] = []


_skipped_other: list[pytest.TestReport] = []

#: Broker tests: marker -> (the variable naming the server, the URL tried when it is unset, the
#: broker's name). Setting the variable makes a skipped test of that marker fail the session.
BROKERS = {
    "nats": ("SALESORDERS_TEST_NATS_URL", "nats://127.0.0.1:4222", "NATS JetStream"),
    "rabbitmq": (
        "SALESORDERS_TEST_RABBITMQ_URL",
        "amqp://guest:guest@127.0.0.1:5672/",
        "RabbitMQ",
    ),
}
_skipped_brokers: dict[str, list[str]] = {marker: [] for marker in BROKERS}


def pytest_configure(config: pytest.Config) -> None:
    for marker, (variable, _, broker) in BROKERS.items():
        config.addinivalue_line("markers", f"{marker}: needs {broker} ({variable})")


def _broker_url(marker: str) -> str:
    """The URL of the broker the ``marker`` tests use (the variable's, or the local default),
    after checking a server answers there; the test is skipped, saying so, where none does."""
    variable, default, broker = BROKERS[marker]
    url = os.environ.get(variable) or default
    parts = urllib.parse.urlsplit(url)
    where = (parts.hostname or "127.0.0.1", parts.port or int(default.rsplit(":", 1)[1][:4]))
    try:
        socket.create_connection(where, timeout=2).close()
    except OSError as error:
        pytest.skip(f"no {broker} server reachable at {url} ({error}); set {variable}")
    return url


@pytest.fixture
def nats_url() -> str:
    return _broker_url("nats")


@pytest.fixture
def rabbitmq_url() -> str:
    return _broker_url("rabbitmq")


def _missing_package(report: pytest.TestReport) -> bool:
    """Whether ``report`` was skipped by ``pytest.importorskip``: an optional package is not
    installed (a PostgreSQL test of a chart, say, where matplotlib is not), not a server down."""
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
    return "could not import" in reason


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "postgres" in report.keywords and not _missing_package(report):
        _skipped_postgres.append(report.nodeid)
    elif report.skipped and (brokers := [m for m in BROKERS if m in report.keywords]):
        if not _missing_package(report):
            _skipped_brokers[brokers[0]].append(report.nodeid)
        _skipped_other.append(report)
    elif report.skipped and "+SKIP" not in str(report.longrepr):
        _skipped_other.append(report)  # a doctest skipped by +SKIP is meant to be skipped


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line for the PostgreSQL tests skipped without a server, not one line per test."""
    for report in _skipped_other:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else "skipped"
        terminalreporter.write_line(f"SKIPPED {report.nodeid}: {reason.removeprefix('Skipped: ')}")
    if not _skipped_postgres:
        return
    if POSTGRES_DSN:
        advice = "although SALESORDERS_TEST_POSTGRES_DSN is set (see the skip reasons with -rs)"
    else:
        advice = (
            "set SALESORDERS_TEST_POSTGRES_DSN=postgresql://USER@HOST:5432/DATABASE to run them"
        )
    terminalreporter.write_line(
        f"salesorders: {len(_skipped_postgres)} PostgreSQL tests skipped; {advice}", yellow=True
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for marker, skipped in _skipped_brokers.items():
        variable, _, broker = BROKERS[marker]
        if skipped and os.environ.get(variable):
            if reporter is not None:
                reporter.write_line(
                    f"FAILED: {len(skipped)} {broker} tests were skipped although {variable} "
                    "is set (is the server running and the URL right?)",
                    red=True,
                )
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if os.environ.get("SALESORDERS_REQUIRE_POSTGRES") == "1" and _skipped_postgres:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"FAILED: {len(_skipped_postgres)} PostgreSQL tests were skipped but "
                "SALESORDERS_REQUIRE_POSTGRES=1 (is PostgreSQL running and the DSN right?)",
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def postgres_dsn() -> str:
    if not POSTGRES_DSN:
        pytest.skip("SALESORDERS_TEST_POSTGRES_DSN is not set; PostgreSQL tests need a server")
    return POSTGRES_DSN


@pytest.fixture
def postgres_schema(postgres_dsn: str) -> Iterator[str]:
    """A schema name of this test's own on the test server, dropped with everything in it after."""
    import psycopg

    name = f"so_test_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
