"""Benchmarks for salesorders: each figure beside a hand-written baseline measured in the same run.

    python benchmarks/run.py              # full run, prints a table
    python benchmarks/run.py --quick      # short run
    python benchmarks/run.py --smoke      # every workload once with tiny counts: does it still run?
    python benchmarks/run.py --json out.json --only price_order_3_lines,workflow_transition

Not part of the test suite: timings never live in tests. The figures are reported in
docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from harness import Result
from workloads_analytics import analytics_postgres, analytics_sqlite
from workloads_backorders import allocate_backorders_memory, allocate_backorders_sqlite
from workloads_changes import change_approval_memory, change_approval_sqlite
from workloads_domain import (
    allocate_3_lines_3_warehouses,
    allocate_scaling,
    price_order_3_lines,
    workflow_transition,
)
from workloads_import import import_check_csv, import_orders_memory
from workloads_payments import capture_memory, capture_sqlite
from workloads_permissions import permission_check_memory
from workloads_relay import relay_postgres_1, relay_postgres_4
from workloads_returns import return_refund_memory, return_refund_sqlite
from workloads_scaling import growth_postgres, growth_sqlite, lines_memory
from workloads_service import (
    place_confirm_memory,
    place_confirm_postgres,
    place_confirm_postgres_8,
    place_confirm_postgres_hot,
    place_confirm_sqlite,
    statements_per_order,
)
from workloads_shipping import ship_deliver_memory, ship_deliver_postgres, ship_deliver_sqlite

Workload = Callable[[bool], Result | None]

WORKLOADS: dict[str, Workload] = {
    "price_order_3_lines": price_order_3_lines,
    "workflow_transition": workflow_transition,
    "allocate_3_lines_3_warehouses": allocate_3_lines_3_warehouses,
    "allocate_scaling": allocate_scaling,
    "place_confirm_memory": place_confirm_memory,
    "place_confirm_sqlite": place_confirm_sqlite,
    "place_confirm_postgres": place_confirm_postgres,
    "place_confirm_postgres_8": place_confirm_postgres_8,
    "place_confirm_postgres_hot": place_confirm_postgres_hot,
    "statements_per_order": statements_per_order,
    "permission_check_memory": permission_check_memory,
    "ship_deliver_memory": ship_deliver_memory,
    "ship_deliver_sqlite": ship_deliver_sqlite,
    "ship_deliver_postgres": ship_deliver_postgres,
    "allocate_backorders_memory": allocate_backorders_memory,
    "allocate_backorders_sqlite": allocate_backorders_sqlite,
    "lines_memory": lines_memory,
    "growth_sqlite": growth_sqlite,
    "growth_postgres": growth_postgres,
    "capture_memory": capture_memory,
    "capture_sqlite": capture_sqlite,
    "change_approval_memory": change_approval_memory,
    "change_approval_sqlite": change_approval_sqlite,
    "return_refund_memory": return_refund_memory,
    "return_refund_sqlite": return_refund_sqlite,
    "import_check_csv": import_check_csv,
    "import_orders_memory": import_orders_memory,
    "analytics_sqlite": analytics_sqlite,
    "analytics_postgres": analytics_postgres,
    "relay_postgres_1": relay_postgres_1,
    "relay_postgres_4": relay_postgres_4,
}


def _table(results: list[Result]) -> str:
    header = f"{'workload':32} {'value':>12} {'unit':10} {'baseline':>12} {'ratio':>8}  target"
    rows = [header, "-" * len(header)]
    for r in results:
        baseline = "-" if r.baseline is None else f"{r.baseline:12.2f}"
        ratio = "-" if r.ratio is None else f"{r.ratio:8.2f}"
        rows.append(
            f"{r.name:32} {r.value:12.2f} {r.unit:10} {baseline:>12} {ratio:>8}  {r.target}"
        )
        if r.note:
            rows.append(f"{'':32} {r.note}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="every workload once with tiny counts, to check that it runs (figures mean nothing)",
    )
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    parser.add_argument("--only", help="comma-separated workload names")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(WORKLOADS)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads: {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    if not os.environ.get("SALESORDERS_TEST_POSTGRES_DSN"):
        print("note: SALESORDERS_TEST_POSTGRES_DSN unset; PostgreSQL workloads are skipped")
    harness.SMOKE = args.smoke
    results: list[Result] = []
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        result = WORKLOADS[name](args.quick or args.smoke)
        if result is not None:
            results.append(result)
    if args.smoke:
        print(f"smoke run: {len(results)} workloads ran (tiny counts: the figures mean nothing)")
        return 0
    print(_table(results))
    if args.json:
        payload = {"results": [r.as_json() for r in results]}
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
