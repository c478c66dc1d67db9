"""Analytics workloads: the monthly report over a million orders, on SQLite and PostgreSQL.

``analytics_sqlite`` and ``analytics_postgres`` fill a store with 1,000,000 placed orders over
one year (``--quick``: 200,000; ``--smoke``: 2,000) and two lines each, written straight into the
store's own schema by the database itself (a recursive CTE / ``generate_series``: the filling is
not what is measured), in three currencies, two with a rate frozen from USD. Then, in the same
run, best of three each:

* value: ``SalesService.report`` of the monthly report over the year in USD (order count, value
  per currency and in USD, average order value, cancellation, backorder, return, error and
  on-time rates, repeat customers), through the store's read path;
* baseline: the same figures from two hand-written SQL statements over the same columns (the
  tallies per currency and rate; the repeat customers), run for each month as the library does,
  and the few lines of Python that convert and divide them.

The ratio is what the library costs over writing the SQL by hand. ``extra`` has the seconds of
the filling, of ``top_skus`` and of ``lead_time_percentiles`` over the same orders, and of the
hand-written statements run once over the whole year (``GROUP BY`` month: slower, it sorts every
order).
"""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from harness import Result, smoke_or
from workloads_service import DSN, _drop, _pg_store

from salesorders.adapters.sqlite import SQLiteStore
from salesorders.analytics import ReportQuery
from salesorders.service import ManualClock, bootstrap

YEAR = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
QUERY = ReportQuery(YEAR, YEAR.replace(year=2026), "month", reporting_currency="USD")
_EPOCH_2025 = 1735689600

# Facts flags: cancelled 1, backordered 2, returned 4, corrected 8, promised 16, on time 32.
_COLUMNS = (
    "id, number, customer_id, state, currency, created_at, placed_at, version, doc, waiting, "
    "confirmed_at, customer_group, grand_total, rate_base, rate, facts"
)


def _count(quick: bool) -> int:
    return int(smoke_or(200_000 if quick else 1_000_000, 2_000))


def _sqlite_fill(path: Path, count: int) -> float:
    step = 365 * 86400 // count
    started = time.perf_counter()
    raw = sqlite3.connect(path)
    try:
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=OFF")
        raw.execute(
            f"""INSERT INTO orders ({_COLUMNS})
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})
            SELECT 'O-' || printf('%08d', i), 'SO-' || i, 'C-' || (i * 7919 % 40000),
                'confirmed', CASE WHEN i % 10 < 7 THEN 'USD' WHEN i % 10 < 9 THEN 'EUR'
                ELSE 'JPY' END, t, t, 1, '{{}}', (i % 23 = 0),
                strftime('%Y-%m-%dT%H:%M:%S', {_EPOCH_2025} + (i - 1) * {step} + 3600, 'unixepoch')
                    || '.000000+00:00',
                CASE i % 3 WHEN 0 THEN NULL WHEN 1 THEN 'retail' ELSE 'trade' END,
                1000 + i * 37 % 100000,
                CASE WHEN i % 10 < 7 THEN NULL ELSE 'USD' END,
                CASE WHEN i % 10 < 7 THEN NULL WHEN i % 10 < 9 THEN '0.92' ELSE '150.5' END,
                (i % 17 = 0) + 2 * (i % 23 = 0) + 4 * (i % 13 = 0) + 8 * (i % 29 = 0)
                    + 16 * (i % 3 = 0) + 32 * (i % 6 = 0)
            FROM (SELECT i, strftime('%Y-%m-%dT%H:%M:%S', {_EPOCH_2025} + (i - 1) * {step},
                'unixepoch') || '.000000+00:00' AS t FROM n)"""
        )
        raw.execute(
            f"""INSERT INTO order_lines (order_id, line_id, sku, quantity, net)
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})
            SELECT 'O-' || printf('%08d', i), 'L' || k, 'SKU-' || ((i * k * 31) % 500),
                k * 1000000, 500 + (i * k) % 20000
            FROM n, (SELECT 1 AS k UNION ALL SELECT 2)"""
        )
        raw.commit()
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    return time.perf_counter() - started


def _pg_fill(schema: str, count: int) -> float:
    import psycopg

    step = 365 * 86400 // count
    started = time.perf_counter()
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(
            f"""INSERT INTO "{schema}".orders ({_COLUMNS})
            SELECT 'O-' || lpad(i::text, 8, '0'), 'SO-' || i, 'C-' || (i * 7919 % 40000),
                'confirmed', CASE WHEN i % 10 < 7 THEN 'USD' WHEN i % 10 < 9 THEN 'EUR'
                ELSE 'JPY' END, t, t, 1, '{{}}'::jsonb, (i % 23 = 0)::int,
                t + interval '1 hour',
                CASE i % 3 WHEN 0 THEN NULL WHEN 1 THEN 'retail' ELSE 'trade' END,
                1000 + i * 37 % 100000,
                CASE WHEN i % 10 < 7 THEN NULL ELSE 'USD' END,
                CASE WHEN i % 10 < 7 THEN NULL WHEN i % 10 < 9 THEN 0.92 ELSE 150.5 END,
                (i % 17 = 0)::int + 2 * (i % 23 = 0)::int + 4 * (i % 13 = 0)::int
                    + 8 * (i % 29 = 0)::int + 16 * (i % 3 = 0)::int + 32 * (i % 6 = 0)::int
            FROM (SELECT i, to_timestamp({_EPOCH_2025} + (i - 1) * {step}) AS t
                FROM generate_series(1::bigint, {count}) AS i) AS g"""
        )
        conn.execute(
            f"""INSERT INTO "{schema}".order_lines (order_id, line_id, sku, quantity, net)
            SELECT 'O-' || lpad(i::text, 8, '0'), 'L' || k, 'SKU-' || ((i * k * 31) % 500),
                k * 1000000, 500 + (i * k) % 20000
            FROM generate_series(1::bigint, {count}) AS i, generate_series(1, 2) AS k"""
        )
        conn.execute(f'VACUUM ANALYZE "{schema}".orders')
        conn.execute(f'VACUUM ANALYZE "{schema}".order_lines')
    return time.perf_counter() - started


# --------------------------------------------------------------------------- the baseline

_EXPONENT = {"USD": 2, "EUR": 2, "JPY": 0}


def _baseline_report(rows: list[Any], repeat_rows: list[Any]) -> dict[str, Any]:
    """The monthly figures from the hand-written statements' rows."""
    months: dict[str, dict[str, Any]] = {}
    for month, currency, _base, rate, orders, total, *flags in rows:
        m = months.setdefault(
            str(month)[:7], {"orders": 0, "usd": Decimal(0), "flags": [0] * 6, "values": {}}
        )
        m["orders"] += int(orders)
        amount = Decimal(int(total)).scaleb(-_EXPONENT[currency])
        m["values"][currency] = m["values"].get(currency, 0) + amount
        m["usd"] += amount if currency == "USD" else amount / Decimal(str(rate))
        m["flags"] = [a + int(b) for a, b in zip(m["flags"], flags, strict=True)]
    for month, customers, repeat in repeat_rows:
        months[str(month)[:7]]["repeat"] = (int(customers), int(repeat))
    for m in months.values():
        m["value"] = m["usd"].quantize(Decimal("0.01"), ROUND_HALF_UP)
        m["average"] = (m["usd"] / m["orders"]).quantize(Decimal("0.01"), ROUND_HALF_UP)
        m["rates"] = [Decimal(f) / m["orders"] for f in m["flags"][:4]]
    return months


_FLAGS = ", ".join(f"SUM((facts & {f}) / {f})" for f in (1, 2, 4, 8, 16, 32))


def _baseline_sql(prefix: str, marks: str, month: str = "") -> tuple[str, str]:
    """The hand-written statements: for one month given as a parameter (``month`` empty), or
    grouped by the ``month`` expression over any window."""
    label = month or marks
    by_month = "m, " if month else ""
    window = f"placed_at >= {marks} AND placed_at < {marks}"
    tallies = (
        f"SELECT {label} AS m, currency, rate_base, rate, COUNT(*), SUM(grand_total), {_FLAGS} "
        f"FROM {prefix}orders WHERE {window} GROUP BY {by_month}currency, rate_base, rate"
    )
    repeat = (
        f"SELECT {label if not month else 'm'}, COUNT(*), "
        "SUM(CASE WHEN n >= 2 THEN 1 ELSE 0 END) FROM "
        f"(SELECT {month + ' AS m, ' if month else ''}customer_id, COUNT(*) AS n "
        f"FROM {prefix}orders WHERE {window} GROUP BY {by_month}customer_id) AS c"
        + (" GROUP BY m" if month else "")
    )
    return tallies, repeat


def _best(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def _result(
    name: str, count: int, library: float, baseline: float, extra: dict[str, float]
) -> Result:
    return Result(
        name,
        library,
        "s",
        baseline,
        target="≤ 2 s for 1,000,000 orders; ratio near 1",
        note=f"monthly report over {count:,} orders (one year, 3 currencies), best of 3; "
        "baseline: the same figures from hand-written SQL",
        extra=extra,
    )


#: The months of the report: the hand-written baseline reads one month at a time, as the
#: library does (grouping one month's orders costs less than sorting the year's by month).
MONTHS = [YEAR.replace(month=m) for m in range(1, 13)] + [QUERY.end]


def _hand_written(
    run: Callable[[str, tuple[Any, ...]], list[Any]],
    sql: tuple[str, str],
    at: Callable[[dt.datetime], Any],
    bounds: list[dt.datetime],
) -> dict[str, dict[str, Any]]:
    """The baseline's figures from its statements run for each month of ``bounds`` (the month
    passed as a parameter), or, given only the year's bounds, once over the year."""
    tallies: list[Any] = []
    repeat: list[Any] = []
    for lower, upper in itertools.pairwise(bounds):
        window = (at(lower), at(upper))
        params = window if len(bounds) == 2 else (lower.strftime("%Y-%m"), *window)
        tallies += run(sql[0], params)
        repeat += run(sql[1], params)
    return _baseline_report(tallies, repeat)


def _measure(
    service: Any,
    run: Callable[[str, tuple[Any, ...]], list[Any]],
    sql: tuple[str, str],
    year_sql: tuple[str, str],
    at: Callable[[dt.datetime], Any],
    repeats: int,
) -> tuple[float, float, dict[str, float]]:
    report = service.report(QUERY)
    assert sum(r.orders for r in report.rows) == sum(
        m["orders"] for m in _hand_written(run, sql, at, MONTHS).values()
    )
    _agree(report, _hand_written(run, sql, at, MONTHS))
    library = baseline = float("inf")
    for _ in range(repeats):  # interleaved, so both see the same state of the machine
        library = min(library, _best(lambda: service.report(QUERY), 1))
        baseline = min(baseline, _best(lambda: _hand_written(run, sql, at, MONTHS), 1))
    extra = {
        "one_statement_baseline_s": _best(
            lambda: _hand_written(run, year_sql, at, [QUERY.start, QUERY.end]), 1
        ),
        "top_skus_s": _best(lambda: service.top_skus(QUERY), 1),
        "lead_time_percentiles_s": _best(lambda: service.lead_time_percentiles(QUERY), 1),
    }
    return library, baseline, extra


def analytics_sqlite(quick: bool) -> Result:
    count = _count(quick)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "analytics.db"
        SQLiteStore(path).close()  # the schema
        fill = _sqlite_fill(path, count)
        raw = sqlite3.connect(path)
        try:
            with SQLiteStore(path) as store:
                service = bootstrap(store=store, clock=ManualClock(YEAR))
                library, baseline, extra = _measure(
                    service,
                    lambda sql, params: raw.execute(sql, params).fetchall(),
                    _baseline_sql("", "?"),
                    _baseline_sql("", "?", "substr(placed_at, 1, 7)"),
                    lambda at: at.isoformat(timespec="microseconds"),
                    smoke_or(3, 1),
                )
        finally:
            raw.close()
    return _result("analytics_sqlite", count, library, baseline, {"fill_s": fill, **extra})


def analytics_postgres(quick: bool) -> Result | None:
    if not DSN:
        return None
    import psycopg

    count = _count(quick)
    schema = f"bench_an_{uuid.uuid4().hex[:10]}"
    store = _pg_store(schema, 1)
    try:
        fill = _pg_fill(schema, count)
        service = bootstrap(store=store, clock=ManualClock(YEAR))
        month = "to_char(placed_at AT TIME ZONE 'UTC', 'YYYY-MM')"
        with psycopg.connect(DSN) as conn:
            library, baseline, extra = _measure(
                service,
                lambda sql, params: conn.execute(sql, params).fetchall(),  # type: ignore[arg-type]
                _baseline_sql(f'"{schema}".', "%s"),
                _baseline_sql(f'"{schema}".', "%s", month),
                lambda at: at,
                smoke_or(3, 1),
            )
    finally:
        store.close()
        _drop(schema)
    return _result("analytics_postgres", count, library, baseline, {"fill_s": fill, **extra})


def _agree(report: Any, expected: dict[str, dict[str, Any]]) -> None:
    """The library and the baseline computed the same figures (else the comparison is void)."""
    assert len(report.rows) == len(expected)
    for row in report.rows:
        month = expected[row.period.isoformat()[:7]]
        assert row.orders == month["orders"]
        assert row.value.amount == month["value"], (row.value, month["value"])
        assert row.average_value.amount == month["average"]
        assert (row.customers, row.repeat_customers) == month["repeat"]
        assert (row.cancelled, row.backordered, row.returned, row.corrected) == tuple(
            month["flags"][:4]
        )
        assert {m.currency.code: m.amount for m in row.values} == month["values"]
