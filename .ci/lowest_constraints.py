"""Prints pip constraints pinning each dependency to the lowest version pyproject.toml allows.

    python .ci/lowest_constraints.py postgres tracking testing > constraints.txt

Covers the core dependencies and those of the named extras (an extra that names another extra of
salesorders pulls its dependencies in too). Every one must have a ``>=`` lower bound.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*([^;]*)")


def requirements(project: dict[str, object], extras: list[str]) -> list[str]:
    optional = project.get("optional-dependencies", {})
    assert isinstance(optional, dict)
    found = list(project.get("dependencies", []))  # type: ignore[call-overload]
    pending, seen = list(extras), set()
    while pending:
        extra = pending.pop()
        if extra in seen:
            continue
        if extra not in optional:
            sys.exit(f"lowest_constraints: no extra {extra!r} in pyproject.toml")
        seen.add(extra)
        for requirement in optional[extra]:
            name, inner, _ = REQUIREMENT.match(requirement).groups()  # type: ignore[union-attr]
            if name == project["name"]:
                pending.extend(part.strip() for part in (inner or "").split(","))
            else:
                found.append(requirement)
    return found


def lowest(requirement: str) -> str:
    match = REQUIREMENT.match(requirement)
    if match is None:
        sys.exit(f"lowest_constraints: cannot read requirement {requirement!r}")
    name, _, specifiers = match.groups()
    for specifier in specifiers.split(","):
        specifier = specifier.strip()
        if specifier.startswith(">="):
            return f"{name}=={specifier[2:].strip()}"
    sys.exit(f"lowest_constraints: {requirement!r} has no >= lower bound")


def main(extras: list[str]) -> None:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    pins = dict.fromkeys(lowest(requirement) for requirement in requirements(project, extras))
    print("\n".join(pins))


if __name__ == "__main__":
    main(sys.argv[1:])
