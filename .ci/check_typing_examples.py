"""Type-checks `typing-examples/`: the examples of the public API pass `mypy --strict`, and
every line of `misuse.py` marked `# error` is reported (and no other line)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "typing-examples"


def main() -> int:
    good = str(EXAMPLES / "public_api.py")
    out, err, status = api.run(["--strict", "--no-incremental", good])
    if status != 0:
        print(out, err, sep="\n")
        print("typing-examples: public_api.py does not type-check")
        return 1
    misuse = EXAMPLES / "misuse.py"
    expected = {
        number
        for number, line in enumerate(misuse.read_text().splitlines(), 1)
        if line.rstrip().endswith("# error")
    }
    out, err, _ = api.run(["--strict", "--no-incremental", str(misuse)])
    reported = {int(n) for n in re.findall(rf"{re.escape(misuse.name)}:(\d+): error", out)}
    if reported != expected:
        print(out, err, sep="\n")
        print(f"typing-examples: expected errors on lines {sorted(expected)}, got {sorted(reported)}")
        return 1
    print(f"typing-examples: public_api.py clean; misuse.py reported on {len(expected)} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
