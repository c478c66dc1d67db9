"""Every ```python block in README.md and docs/*.md runs, in order, one namespace per file.

A block may end with assertions: they are the documentation's claims, checked here.
"""

from __future__ import annotations

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
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{path.stem}"}
    for index, block in enumerate(_blocks(path)):
        code = compile(block, f"{path.name}[block {index}]", "exec")
        exec(code, namespace)


def test_docs_have_examples() -> None:
    with_code = [p.name for p in DOCS if _blocks(p)]
    assert "money.md" in with_code
