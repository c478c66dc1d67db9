"""Analytics answered by the database: every measure aggregated in SQL over the fact columns of
the orders row, the line facts, the shipment rows and the stock ledger.

Each query reduces the orders to what :mod:`salesorders.analytics.reference` reduces them to —
tallies per period, group, currency and rate; the durations at the percentile ranks; medians per
warehouse or carrier — and the shared code of :mod:`salesorders.analytics` builds the answer, so
the two agree by construction where they share code and by a property test where they do not.

Exact numbers: amounts and quantities are stored as whole numbers (minor units, millionths), so
``SUM`` is exact in SQLite too. Durations are whole microseconds: SQLite reads them from its
fixed-width UTC text (seconds from ``strftime('%s')``, microseconds from the text), PostgreSQL
from ``EXTRACT(EPOCH ...)`` (``NUMERIC``). SQLite keeps stock quantities as decimal text: the
turnover sums them as whole millionths rounded from the text (exact below 9 billion units).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any, Final

from salesorders.adapters._sql.dialect import Dialect, _day, _opt_dec
from salesorders.adapters._sql.session import Row, Session
from salesorders.analytics.facts import QUANTITY_PLACES, from_scaled
from salesorders.analytics.measures import (
    PERCENTILES,
    STAGES,
    BottleneckQuery,
    BottleneckReport,
    LeadTimeReport,
    Report,
    ReportQuery,
    StagePercentiles,
    StockTurnover,
    TopCustomer,
    TopSku,
    TurnoverQuery,
)
from salesorders.analytics.reference import bottleneck_report, seconds, turnover_of
from salesorders.analytics.tallies import (
    FLAG_ORDER,
    CustomerTally,
    Tally,
    build_report,
    money_of,
    periods,
)

__all__ = ["SqlAnalytics"]

_WINDOW: Final = "o.placed_at >= ? AND o.placed_at < ?"


def _period(value: Any) -> dt.date:
    day = _day(value)
    assert day is not None
    return day


class _Spelling:
    """The expressions that differ between SQLite and PostgreSQL."""

    def __init__(self, dialect: Dialect) -> None:
        self.sqlite = dialect.name == "sqlite"
        self.binary = dialect.types["binary"]

    def micros(self, column: str) -> str:
        if self.sqlite:
            return (
                f"(CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) * 1000000 "
                f"+ CAST(substr({column}, 21, 6) AS INTEGER))"
            )
        return f"CAST(EXTRACT(EPOCH FROM {column}) * 1000000 AS BIGINT)"

    def between(self, start: str, end: str) -> str:
        return f"({self.micros(end)} - {self.micros(start)})"

    def quantity(self, column: str) -> str:
        if self.sqlite:
            scale = 10**QUANTITY_PLACES
            return f"CAST(ROUND(CAST({column} AS REAL) * {scale}) AS INTEGER)"
        return column


def _flag_sums(alias: str) -> str:
    return ", ".join(f"SUM(({alias}.facts & {flag}) / {flag})" for flag in FLAG_ORDER)


def _group_source(group_by: str | None) -> str:
    """One row per (order, group) of the orders placed in one period: group, currency, rate,
    flags, customer and the value the order brings to the group."""
    columns = "{grp} AS grp, o.currency, o.rate_base, o.rate, o.facts, o.customer_id, "
    columns += "{value} AS value"
    if group_by == "sku":
        select = columns.format(grp="l.sku", value="SUM(l.net)")
        return (
            f"SELECT {select} FROM {{p}}orders AS o JOIN {{p}}order_lines AS l "
            f"ON l.order_id = o.id WHERE {_WINDOW} GROUP BY o.id, l.sku"
        )
    if group_by == "warehouse":
        select = columns.format(grp="COALESCE(s.warehouse_id, '')", value="o.grand_total")
        return (
            f"SELECT {select} FROM {{p}}orders AS o LEFT JOIN {{p}}shipments AS s "
            f"ON s.order_id = o.id WHERE {_WINDOW} GROUP BY o.id, s.warehouse_id"
        )
    group = {
        None: "NULL",
        "customer": "o.customer_id",
        "customer_group": "COALESCE(o.customer_group, '')",
        "currency": "o.currency",
    }[group_by]
    select = columns.format(grp=group, value="o.grand_total")
    return f"SELECT {select} FROM {{p}}orders AS o WHERE {_WINDOW}"


class SqlAnalytics:
    """The analytics of one unit of work (see :class:`~salesorders.ports.OrderAnalytics`)."""

    __slots__ = ("_d", "_session", "_spell")

    def __init__(self, session: Session, dialect: Dialect) -> None:
        self._session = session
        self._d = dialect
        self._spell = _Spelling(dialect)

    def _rows(self, template: str, params: list[Any]) -> list[Row]:
        return self._session.rows(self._d.render(template), params)

    def _window(self, start: dt.datetime, end: dt.datetime) -> list[Any]:
        return [self._d.time(start), self._d.time(end)]

    def report(self, query: ReportQuery) -> Report:
        """One pair of statements per period, each reading its range of the placement index:
        grouping a period's orders costs less than sorting the whole window by period."""
        source = _group_source(query.group_by)
        # ungrouped, the group is no sort key: each period's orders sort by currency and rate
        grp, by_grp = ("b.grp", "b.grp, ") if query.group_by else ("NULL", "")
        tally_sql = self._d.render(
            f"SELECT {grp}, b.currency, b.rate_base, b.rate, COUNT(*), SUM(b.value), "
            f"{_flag_sums('b')} FROM ({source}) AS b GROUP BY {by_grp}b.currency, b.rate_base, "
            "b.rate"
        )
        customer_sql = self._d.render(
            f"SELECT {grp.replace('b.', 'c.')}, COUNT(*), SUM(CASE WHEN c.n >= 2 THEN 1 ELSE 0 "
            f"END) FROM (SELECT {by_grp}b.customer_id, COUNT(*) AS n FROM ({source}) AS b "
            f"GROUP BY {by_grp}b.customer_id) AS c" + (" GROUP BY c.grp" if query.group_by else "")
        )
        tallies: list[Tally] = []
        customers: list[CustomerTally] = []
        for day, lower, upper in periods(query.start, query.end, query.period):
            window = self._window(lower, upper)
            for r in self._session.rows(tally_sql, window):
                tallies.append(
                    Tally(
                        (day, r[0], r[1], r[2], _opt_dec(r[3])),
                        int(r[4]),
                        int(r[5]),
                        tuple(int(n) for n in r[6:12]),  # type: ignore[arg-type]
                    )
                )
            customers.extend(
                CustomerTally(day, r[0], int(r[1]), int(r[2]))
                for r in self._session.rows(customer_sql, window)
                if r[1]  # a period without orders (ungrouped: one row of nothing)
            )
        return build_report(query, tallies, customers)

    def lead_time_percentiles(self, query: ReportQuery) -> LeadTimeReport:
        """Per period, one statement ranks each stage's durations and keeps the rows at the
        percentile ranks (ranking one period's orders, not the window's)."""
        spell = self._spell
        stages = (
            ("o.confirmed_at IS NOT NULL", spell.between("o.placed_at", "o.confirmed_at")),
            (
                "o.confirmed_at IS NOT NULL AND o.shipped_at IS NOT NULL",
                spell.between("o.confirmed_at", "o.shipped_at"),
            ),
            (
                "o.shipped_at IS NOT NULL AND o.delivered_at IS NOT NULL",
                spell.between("o.shipped_at", "o.delivered_at"),
            ),
        )
        parts = [
            f"SELECT {i} AS stage, {duration} AS d FROM {{p}}orders AS o "
            f"WHERE {_WINDOW} AND {condition}"
            for i, (condition, duration) in enumerate(stages)
        ]
        ranks = ", ".join(f"({p} * x.n + 99) / 100" for p in PERCENTILES)
        sql = self._d.render(
            "SELECT x.stage, x.n, x.rn, x.d FROM (SELECT u.stage, u.d, "
            "ROW_NUMBER() OVER (PARTITION BY u.stage ORDER BY u.d) AS rn, "
            "COUNT(*) OVER (PARTITION BY u.stage) AS n "
            f"FROM ({' UNION ALL '.join(parts)}) AS u) AS x WHERE x.rn IN ({ranks})"
        )
        result = []
        for day, lower, upper in periods(query.start, query.end, query.period):
            found: dict[int, tuple[int, dict[int, int]]] = {}
            for stage, count, rank, duration in self._session.rows(
                sql, self._window(lower, upper) * len(stages)
            ):
                found.setdefault(int(stage), (int(count), {}))[1][int(rank)] = int(duration)
            if not found:
                continue
            for i, stage_name in enumerate(STAGES):
                count, at_rank = found.get(i, (0, {}))
                marks = [
                    seconds(at_rank[(p * count + 99) // 100]) if count else None
                    for p in PERCENTILES
                ]
                result.append(StagePercentiles(day, stage_name, count, *marks))
        return LeadTimeReport(query, tuple(result))

    def top_skus(self, query: ReportQuery) -> tuple[TopSku, ...]:
        """Units, orders and net value per SKU and currency, summed in SQL, then ranked."""
        sql = self._d.render(
            "SELECT l.sku, o.currency, SUM(l.quantity), COUNT(DISTINCT o.id), SUM(l.net) "
            f"FROM {{p}}orders AS o JOIN {{p}}order_lines AS l ON l.order_id = o.id "
            f"WHERE {_WINDOW} GROUP BY l.sku, o.currency"
        )
        quantity: dict[str, int] = defaultdict(int)
        orders: dict[str, int] = defaultdict(int)
        values: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        # SQLite sorts to group (a month's orders sort faster than the year's); PostgreSQL
        # joins the window's lines at once (a month at a time, it scans the lines each month)
        chunks = [(query.start, query.end)]
        if self._spell.sqlite:
            chunks = [
                (lower, upper) for _, lower, upper in periods(query.start, query.end, "month")
            ]
        for lower, upper in chunks:
            for sku, currency, units, count, net in self._session.rows(
                sql, self._window(lower, upper)
            ):
                quantity[sku] += int(units)
                orders[sku] += int(count)
                values[sku][currency] += int(net)
        ranked = sorted(orders, key=lambda s: (-quantity[s], s))[: query.limit]
        return tuple(
            TopSku(
                sku,
                from_scaled(quantity[sku], QUANTITY_PLACES),
                orders[sku],
                tuple(money_of(v, c) for c, v in sorted(values[sku].items())),
            )
            for sku in ranked
        )

    def top_customers(self, query: ReportQuery) -> tuple[TopCustomer, ...]:
        b = self._spell.binary
        window = self._window(query.start, query.end)
        rows = self._rows(
            "WITH top AS (SELECT o.customer_id AS id, COUNT(*) AS n FROM {p}orders AS o "
            f"WHERE {_WINDOW} GROUP BY o.customer_id ORDER BY n DESC, o.customer_id{b} "
            "LIMIT ?) SELECT top.id, top.n, o.currency, SUM(o.grand_total) FROM top "
            f"JOIN {{p}}orders AS o ON o.customer_id = top.id AND {_WINDOW} "
            f"GROUP BY top.id, top.n, o.currency ORDER BY top.n DESC, top.id{b}, o.currency",
            [*window, query.limit, *window],
        )
        found: dict[str, tuple[int, list[tuple[str, int]]]] = {}
        for customer, count, currency, total in rows:
            found.setdefault(customer, (int(count), []))[1].append((currency, int(total)))
        return tuple(
            TopCustomer(c, n, tuple(money_of(v, k) for k, v in sorted(parts)))
            for c, (n, parts) in sorted(found.items(), key=lambda kv: (-kv[1][0], kv[0]))
        )

    def bottlenecks(self, query: BottleneckQuery) -> BottleneckReport:
        spell = self._spell
        key = "s.warehouse_id" if query.by == "warehouse" else "s.carrier"
        stages = (
            ("o.confirmed_at IS NOT NULL", spell.between("o.placed_at", "o.confirmed_at")),
            ("o.confirmed_at IS NOT NULL", spell.between("o.confirmed_at", "s.shipped_at")),
            ("s.delivered_at IS NOT NULL", spell.between("s.shipped_at", "s.delivered_at")),
        )
        parts = [
            f"SELECT {key} AS k, {i} AS stage, {duration} AS d FROM {{p}}shipments AS s "
            f"JOIN {{p}}orders AS o ON o.id = s.order_id WHERE {_WINDOW} AND {condition}"
            for i, (condition, duration) in enumerate(stages)
        ]
        template = (
            "SELECT x.k, x.stage, x.n, x.d FROM (SELECT u.k, u.stage, u.d, "
            "ROW_NUMBER() OVER (PARTITION BY u.k, u.stage ORDER BY u.d) AS rn, "
            "COUNT(*) OVER (PARTITION BY u.k, u.stage) AS n "
            f"FROM ({' UNION ALL '.join(parts)}) AS u) AS x WHERE x.rn = (50 * x.n + 99) / 100"
        )
        medians = []
        for start, end in (
            (query.before_start, query.before_end),
            (query.after_start, query.after_end),
        ):
            rows = self._rows(template, self._window(start, end) * len(stages))
            medians.append({(k, STAGES[int(s)]): (int(d), int(n)) for k, s, n, d in rows})
        return bottleneck_report(query, medians[0], medians[1])

    def stock_turnover(self, query: TurnoverQuery) -> tuple[StockTurnover, ...]:
        q = self._spell.quantity("on_hand_delta")
        d = self._d
        params: list[Any] = [d.time(query.start), d.time(query.start), d.time(query.end)]
        only = ""
        if query.sku is not None:
            only = " AND sku = ?"
            params.append(query.sku)
        rows = self._rows(
            f"SELECT sku, warehouse_id, SUM(CASE WHEN at < ? THEN {q} ELSE 0 END), SUM({q}), "
            f"SUM(CASE WHEN at >= ? AND movement = 'shipment' THEN -{q} ELSE 0 END) "
            f"FROM {{p}}stock_ledger WHERE at < ?{only} GROUP BY sku, warehouse_id",
            params,
        )
        number = self._number
        return tuple(
            turnover_of(sku, warehouse, number(opening), number(closing), number(shipped), query)
            for sku, warehouse, opening, closing, shipped in sorted(
                rows, key=lambda r: (r[0], r[1])
            )
        )

    def _number(self, value: Any) -> Decimal:
        if self._spell.sqlite:
            return Decimal(int(value)).scaleb(-QUANTITY_PLACES)
        return Decimal(value)
