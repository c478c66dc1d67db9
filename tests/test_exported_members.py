"""The curated public API: every exported name exists, nothing private leaks, no driver is loaded."""

from __future__ import annotations

import subprocess
import sys

import salesorders


def test_all_exported_names_exist() -> None:
    missing = [name for name in salesorders.__all__ if not hasattr(salesorders, name)]
    assert missing == []


def test_nothing_private_is_exported() -> None:
    private = [n for n in salesorders.__all__ if n.startswith("_") and n != "__version__"]
    assert private == []
    assert len(set(salesorders.__all__)) == len(salesorders.__all__)


def test_public_objects_belong_to_the_package() -> None:
    foreign = []
    for name in salesorders.__all__:
        obj = getattr(salesorders, name)
        module = getattr(obj, "__module__", "salesorders")
        if module and not module.startswith("salesorders"):
            foreign.append((name, module))
    assert foreign == []


def test_version_is_a_string() -> None:
    assert isinstance(salesorders.__version__, str)
    assert salesorders.__version__[0].isdigit()


def test_importing_the_package_loads_no_adapter_or_driver() -> None:
    code = (
        "import sys, salesorders; "
        "bad = [m for m in sys.modules if m.startswith(('psycopg', 'sqlite3', "
        "'salesorders.adapters.', 'hypothesis', 'salesorders.testing'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr
