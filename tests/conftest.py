from __future__ import annotations

import os

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


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "postgres" in report.keywords:
        _skipped_postgres.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
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
