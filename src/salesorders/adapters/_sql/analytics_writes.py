"""What an order's save writes for analytics, and the backfill of schema version 9.

The facts are defined in :mod:`salesorders.analytics.facts`; the stores keep them where SQL can
aggregate them without reading a document:

* five columns of the order's own row — ``customer_group``, ``grand_total`` (minor units),
  ``rate_base`` and ``rate`` (the frozen rate) and ``facts`` (the flags: cancelled, backordered,
  returned, corrected, promised, on time) — written by the statement that writes the order
  (no extra statement, no extra index);
* ``order_lines``: one row per line (SKU, quantity and net value as whole numbers), keyed by
  ``(order_id, line_id)`` (SQLite: ``WITHOUT ROWID``, one B-tree), written when an order is
  added and, on save, only for the lines whose facts changed.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from salesorders.adapters._sql.dialect import Dialect, _chunks
from salesorders.adapters._sql.session import Row, Session
from salesorders.analytics.facts import LineFacts, line_facts, order_facts
from salesorders.domain.order import Order, OrderLine
from salesorders.domain.workflow import default_workflow
from salesorders.serialization import Serializer

__all__ = [
    "ORDER_FACT_COLUMNS",
    "AnalyticsStatements",
    "LineFactsWriter",
    "backfill_analytics",
    "order_fact_values",
]

#: The analytics columns of the orders row, in the order the order statements write them.
ORDER_FACT_COLUMNS: Final = ("customer_group", "grand_total", "rate_base", "rate", "facts")
_LINE_COLUMNS: Final = "order_id, line_id, sku, quantity, net"
_LINE_TYPES: Final = ("text", "text", "text", "int", "int")
_BACKFILL_BATCH: Final = 500


class AnalyticsStatements:
    """The write statements of the analytics facts, rendered for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.lines_delete = dialect.render(
            "DELETE FROM {p}order_lines WHERE order_id = ? AND line_id = ?"
        )
        self.backfill_batch = dialect.render(
            "SELECT id, CAST(doc AS TEXT) FROM {p}orders WHERE id > ? ORDER BY id LIMIT ?"
        )
        self.facts_update = dialect.render(
            "UPDATE {p}orders SET customer_group = ?, grand_total = ?, rate_base = ?, rate = ?, "
            "facts = ? WHERE id = ?"
        )

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one instance per store, kept for its life
    def lines_upsert(self, count: int) -> str:
        rows = self.dialect.rows(_LINE_TYPES, count)
        return self.dialect.render(
            f"INSERT INTO {{p}}order_lines ({_LINE_COLUMNS}) {rows} "
            "ON CONFLICT (order_id, line_id) DO UPDATE SET sku = excluded.sku, "
            "quantity = excluded.quantity, net = excluded.net"
        )


def order_fact_values(order: Order, d: Dialect) -> tuple[Any, ...]:
    """The analytics columns of ``order``'s row (see :data:`ORDER_FACT_COLUMNS`)."""
    facts = order_facts(order)
    if facts is None:
        return (order.customer_group, None, None, None, 0)
    return (
        facts.customer_group,
        facts.grand_total,
        facts.rate_base,
        d.opt_dec(facts.rate),
        facts.flags,
    )


def _line_row(order_id: str, facts: LineFacts) -> Row:
    return (order_id, facts.line_id, facts.sku, facts.quantity, facts.net)


class LineFactsWriter:
    """Writes the line facts of the orders one unit of work adds or saves.

    It remembers the lines of every order read or written in the unit of work; a save writes
    the facts of the lines that differ from those (and deletes a line that is gone). An order it
    never saw has all its lines written.
    """

    __slots__ = ("_known", "_session", "_sql")

    def __init__(self, session: Session, sql: AnalyticsStatements) -> None:
        self._session = session
        self._sql = sql
        self._known: dict[str, tuple[OrderLine, ...]] = {}

    def remember(self, order: Order) -> None:
        self._known[order.id] = order.lines

    def write(self, order: Order) -> None:
        current = order.lines
        known = self._known.get(order.id)
        if current is known:
            return
        self._known[order.id] = current
        if known is None:
            rows = [_line_row(order.id, f) for f in line_facts(order)]
        else:
            rows = _changed_rows(order, known)
            gone = {line.line_id for line in known} - {line.line_id for line in current}
            for line_id in sorted(gone):
                self._session.run(self._sql.lines_delete, (order.id, line_id))
        _write(self._session, self._sql, rows)


def _changed_rows(order: Order, known: Sequence[OrderLine]) -> list[Row]:
    before: Mapping[str, OrderLine] = {line.line_id: line for line in known}
    facts = {f.line_id: f for f in line_facts(order)}
    rows = []
    for line in order.lines:
        old = before.get(line.line_id)
        if old is line or old == line:
            continue
        if old is None or (old.sku, old.quantity - old.cancelled, old.net) != (
            line.sku,
            line.quantity - line.cancelled,
            line.net,
        ):
            rows.append(_line_row(order.id, facts[line.line_id]))
    return rows


def _write(session: Session, sql: AnalyticsStatements, rows: Sequence[Row]) -> None:
    d = sql.dialect
    width = len(_LINE_TYPES)
    for chunk in _chunks(rows, d.rows_per_statement(width)):
        session.run(sql.lines_upsert(len(chunk)), d.pack(chunk, width))


def backfill_analytics(session: Session, dialect: Dialect) -> None:
    """Schema version 9: fill the analytics columns and line facts of the orders already
    stored, from their documents, a batch at a time. The documents are read with the default
    workflow in place of theirs (the facts do not depend on it), so an order on a host's
    workflow needs no workflow registry here."""
    sql = AnalyticsStatements(dialect)
    serializer = Serializer()
    flow = default_workflow()
    named = {"name": flow.name, "version": flow.version}
    last = ""
    while True:
        rows = session.rows(sql.backfill_batch, (last, _BACKFILL_BATCH))
        if not rows:
            return
        lines: list[Row] = []
        for order_id, doc in rows:
            data = json.loads(doc)
            data["workflow"] = named
            data.pop("version", None)
            order = serializer.load(data, Order)
            session.run(sql.facts_update, (*order_fact_values(order, dialect), order_id))
            lines.extend(_line_row(order_id, f) for f in line_facts(order))
        _write(session, sql, lines)
        last = rows[-1][0]
