"""Renders the reST touches in salesorders' docstrings as Markdown for the API reference.

The docstrings are written for ``help()`` and doctest: ``>>>`` examples, ``:class:`X``` roles and
``::`` before literal blocks. This griffe extension fences each run of doctest lines as a
``pycon`` block and turns a role into a code span, so Markdown neither reads ``['0.02']`` as a
link nor shows the role's markup.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|mod|func|meth|attr|exc|data|obj|const):`~?([^`]+)`")
_LITERAL_MARKER = re.compile(r"(\S)::$", re.M)


def _role(match: re.Match[str]) -> str:
    target = match.group(1)
    name = target.rsplit(".", 1)[-1] if match.group(0).count("~") else target
    return f"`{name}`"


def _fence_doctests(text: str) -> str:
    out: list[str] = []
    in_example = False
    for line in text.splitlines():
        starts = line.lstrip().startswith(">>>")
        if starts and not in_example:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}```pycon")
            in_example = True
        elif in_example and not line.strip():
            out.append(f"{indent}```")
            in_example = False
        out.append(line)
    if in_example:
        out.append(f"{indent}```")
    return "\n".join(out)


def to_markdown(text: str) -> str:
    text = _fence_doctests(text)
    text = _ROLE.sub(_role, text)
    return _LITERAL_MARKER.sub(r"\1:", text)


class MarkdownDocstrings(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
