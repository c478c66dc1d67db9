"""How one database spells the shared SQL (:class:`Dialect`, :class:`SQLiteDialect`), and the
codecs that turn stored values back into Python ones.

Quantities never pass through floating point: a dialect writes :class:`~decimal.Decimal` as the
database's exact type (PostgreSQL ``NUMERIC``) or as a decimal string (SQLite), and the codecs
here read either back as a ``Decimal``.
"""

from __future__ import annotations

import abc
import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any, ClassVar, Final

__all__ = ["Dialect", "SQLiteDialect"]

_UTC: Final = dt.UTC


# --------------------------------------------------------------------------- value codecs


def _utc_text(at: dt.datetime) -> str:
    """Fixed-width ISO 8601 in UTC: sorts as text in the same order as the instants."""
    return at.astimezone(_UTC).isoformat(timespec="microseconds")


def _dec(value: Any) -> Decimal:
    return value if type(value) is Decimal else Decimal(value)


def _opt_dec(value: Any) -> Decimal | None:
    return None if value is None else _dec(value)


def _time(value: Any) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def _opt_time(value: Any) -> dt.datetime | None:
    return None if value is None else _time(value)


def _day(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON data")


_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_json_default)
_json_text: Final = _ENCODER.encode


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


# --------------------------------------------------------------------------- dialects


class Dialect(abc.ABC):
    """How one database spells the shared SQL: column types, typed rows, row locks, values.

    Statement templates use ``?`` for parameters, ``{p}`` for the table prefix (the schema) and
    ``{text}``, ``{dec}``, ``{int}``, ``{ts}``, ``{date}``, ``{json}`` for column types;
    ``{binary}`` follows a text column to compare it character by character (code point order,
    as Python compares strings) where the database's own collation might not; ``{filter_only}``
    precedes a column whose condition filters the rows another index found.
    """

    name: ClassVar[str]
    types: ClassVar[Mapping[str, str]]
    #: Appended to a stock row read inside ``reserve`` / ``release`` (PostgreSQL: row locks).
    lock_items: ClassVar[str] = ""
    lock_rows: ClassVar[str] = ""
    #: The column that orders reservations as they were made.
    position: ClassVar[str]
    #: The most parameters one statement may carry.
    max_params: ClassVar[int]
    #: ``reserve`` writes items, batches, reservations and ledger entries in one statement.
    writes_in_one_statement: ClassVar[bool] = False
    #: The stock rows a snapshot read stay as read until the unit of work itself writes stock
    #: (SQLite: the unit of work holds the database's one write lock from ``BEGIN IMMEDIATE``),
    #: so a ``lock`` of them is answered from what the snapshot read, without a statement.
    snapshot_rows_stay_current: ClassVar[bool] = False
    #: The snapshot row-locks the stock items it reads, and each item row it returns is the
    #: newest committed version (PostgreSQL: ``SELECT ... FOR UPDATE`` waits for a writer and
    #: returns the row as that writer left it), so a ``lock`` of them is answered from those item
    #: rows. The batches the same statement read may predate a commit the lock waited for, so
    #: they are read again, in a statement of their own, for items that have batches.
    snapshot_locks_items: ClassVar[bool] = False
    #: An order's reservations are found through the reservation id's key, not an index of
    #: their own: every reservation id starts with ``"<order id>/"`` (the domain's ``reserve``
    #: makes them so), and text compares byte by byte, so they are the ids from
    #: ``"<order id>/"`` up to ``"<order id>0"`` (``"0"`` follows ``"/"``) that also name the
    #: order. See :meth:`order_reservations`.
    order_reservations_by_id: ClassVar[bool] = False

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def render(self, template: str) -> str:
        """The template with this dialect's table prefix and column types filled in."""
        return template.format(p=self.prefix, position=self.position, **self.types)

    def order_reservations(self, alias: str = "") -> str:
        """The condition that picks one order's reservations (``alias`` prefixes the columns),
        whose parameters :meth:`order_reservation_params` gives."""
        if self.order_reservations_by_id:
            return f"{alias}id >= ? AND {alias}id < ? AND {alias}order_id = ?"
        return f"{alias}order_id = ?"

    def order_reservation_params(self, order_id: str) -> tuple[str, ...]:
        """The parameters of :meth:`order_reservations` for ``order_id``."""
        if self.order_reservations_by_id:
            return (order_id + "/", order_id + "0", order_id)
        return (order_id,)

    def rows(self, types: Sequence[str], count: int) -> str:
        """A ``VALUES`` list of ``count`` rows of columns of the logical ``types``."""
        one = "(" + ", ".join("?" * len(types)) + ")"
        return "VALUES " + ", ".join([one] * count)

    @staticmethod
    def pack(rows: Sequence[Sequence[Any]], width: int) -> list[Any]:
        """The parameters for :meth:`rows`: the rows' values in order."""
        return [value for row in rows for value in row]

    def rows_per_statement(self, width: int) -> int:
        return max(1, self.max_params // max(width, 1))

    @abc.abstractmethod
    def dec(self, value: Decimal) -> Any: ...

    @abc.abstractmethod
    def time(self, value: dt.datetime) -> Any: ...

    @abc.abstractmethod
    def day(self, value: dt.date) -> Any: ...

    def opt_dec(self, value: Decimal | None) -> Any:
        return None if value is None else self.dec(value)

    def opt_time(self, value: dt.datetime | None) -> Any:
        return None if value is None else self.time(value)

    def opt_day(self, value: dt.date | None) -> Any:
        return None if value is None else self.day(value)


class SQLiteDialect(Dialect):
    """SQLite: decimals and times as text (times in UTC, fixed width), bulk rows as VALUES."""

    name = "sqlite"
    types = MappingProxyType(
        {
            "text": "TEXT",
            "dec": "TEXT",
            "int": "INTEGER",
            "ts": "TEXT",
            "date": "TEXT",
            "json": "TEXT",
            "ledger_key": "INTEGER PRIMARY KEY",
            # a key that is never handed out twice, even once the highest rows are deleted
            "serial_key": "INTEGER PRIMARY KEY AUTOINCREMENT",
            "position_column": "",
            "binary": "",
            # SQLite plans without statistics: a unary + keeps it from choosing a column's
            # index where another condition's index serves the query better
            "filter_only": "+",
            # a table whose primary key is its only B-tree
            "without_rowid": " WITHOUT ROWID",
        }
    )
    position = "rowid"
    max_params = 32766
    snapshot_rows_stay_current = True
    order_reservations_by_id = True

    def dec(self, value: Decimal) -> Any:
        return str(value)

    def __init__(self, prefix: str = "") -> None:
        super().__init__(prefix)
        self._last_time: tuple[dt.datetime | None, str] = (None, "")

    def time(self, value: dt.datetime) -> Any:
        # One unit of work stamps many rows with the same moment: convert it once.
        last = self._last_time
        if last[0] is value:
            return last[1]
        text = _utc_text(value)
        self._last_time = (value, text)
        return text

    def day(self, value: dt.date) -> Any:
        return value.isoformat()


# --------------------------------------------------------------------------- bulk rows


def _chunks(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """``rows`` in slices of at most ``size`` (see :meth:`Dialect.rows_per_statement`)."""
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
