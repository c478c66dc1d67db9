"""Packaging promises: the test kit names its extra when Hypothesis or pytest is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"


def _run_without(module: str, code: str) -> subprocess.CompletedProcess[str]:
    preamble = f"import sys\nsys.modules[{module!r}] = None\n"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-c", preamble + code],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.mark.parametrize("module", ["hypothesis", "pytest"])
@pytest.mark.parametrize(
    "kit_module",
    [
        "salesorders.testing.strategies",
        "salesorders.testing.policies",
        "salesorders.testing.return_policies",
        "salesorders.testing.contracts",
    ],
)
def test_kit_without_its_extra_names_the_install_command(module: str, kit_module: str) -> None:
    result = _run_without(module, f"import {kit_module}")
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ImportError:"), result.stderr
    assert f"{module} not found" in last_line
    assert "pip install 'salesorders[testing]'" in last_line


def test_fakes_need_only_the_core_library() -> None:
    # The demo uses the fake carrier and payment gateway, and installs no extra.
    code = (
        "from salesorders.testing.fakes import FakeCarrier, FakePaymentGateway\n"
        "print(FakeCarrier.__name__, FakePaymentGateway.__name__)\n"
    )
    result = _run_without("hypothesis", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["FakeCarrier", "FakePaymentGateway"]


def test_kit_imports_with_its_extra() -> None:
    result = _run_without("tracking_numbers", "import salesorders.testing.strategies\nprint('ok')")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
