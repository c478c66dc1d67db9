"""Collection rules for the whole tree: the doctests of an adapter whose optional client package
is not installed are not collected (importing the module names the extra to install instead)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

# Adapter modules and the package each needs (its extra).
_NEEDS = {
    Path("src/salesorders/adapters/nats.py"): "nats",
    Path("src/salesorders/adapters/rabbitmq.py"): "pika",
    Path("src/salesorders/adapters/postgres.py"): "psycopg",
}
_ROOT = Path(__file__).resolve().parent


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    try:
        relative = collection_path.resolve().relative_to(_ROOT)
    except ValueError:
        return None
    package = _NEEDS.get(relative)
    if package is not None and importlib.util.find_spec(package) is None:
        return True
    return None
