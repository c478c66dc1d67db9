"""Every ```python block in README.md and docs/*.md runs, in order, one namespace per file.

A block may end with assertions: they are the documentation's claims, checked here.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_doc_examples_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = _missing_modules(path)
    if missing:  # a page about an optional extra, in an environment without it
        pytest.skip(f"{path.name} imports {', '.join(missing)}, not installed here")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{path.stem}"}
    for index, block in enumerate(_blocks(path)):
        code = compile(block, f"{path.name}[block {index}]", "exec")
        exec(code, namespace)


# The library's modules that need an optional package: a page importing one needs the package.
_ADAPTER_NEEDS = {
    "salesorders.adapters.nats": "nats",
    "salesorders.adapters.rabbitmq": "pika",
    "salesorders.adapters.postgres": "psycopg",
}


def _missing_modules(path: Path) -> list[str]:
    """The top-level modules the page's examples import (directly, or through an adapter that
    needs them) that cannot be found."""
    wanted: set[str] = set()
    for block in _blocks(path):
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            wanted.update(name.split(".")[0] for name in names)
            wanted.update(_ADAPTER_NEEDS[name] for name in names if name in _ADAPTER_NEEDS)
    return sorted(name for name in wanted if importlib.util.find_spec(name) is None)


def test_docs_have_examples() -> None:
    with_code = [p.name for p in DOCS if _blocks(p)]
    assert "money.md" in with_code
