"""A fresh store of each kind for tests that must hold on every one (no tests here).

Use it from a fixture parametrized with :data:`STORE_KINDS`::

    @pytest.fixture(params=STORE_KINDS)
    def any_store(request, tmp_path):
        with fresh_store(request, tmp_path) as store:
            yield store
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from race_support import close_store, drop_schema, new_schema, open_store

STORE_KINDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextlib.contextmanager
def fresh_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """An empty store of the kind ``request.param``: in memory, an SQLite file under
    ``tmp_path``, or a new PostgreSQL schema (dropped afterwards)."""
    kind = request.param
    where = schema = ""
    if kind == "sqlite":
        where = str(tmp_path / "orders.db")
    elif kind == "postgres":
        where, schema = request.getfixturevalue("postgres_dsn"), new_schema()
    store = open_store(kind, where, schema)
    try:
        yield store
    finally:
        close_store(store)
        if kind == "postgres":
            drop_schema(where, schema)


def in_uow(factory: Callable[[], Any], work: Callable[[Any], Any], commit: bool = True) -> Any:
    """``work(uow)`` in a unit of work from ``factory`` (``store.unit_of_work``), committed
    unless ``commit`` is false; what ``work`` returned."""
    with factory() as uow:
        result = work(uow)
        if commit:
            uow.commit()
    return result


def postgres_rows_as_text(dsn: str, schema: str) -> dict[str, list[str]]:
    """Every row of every table of the PostgreSQL ``schema`` as text, by table: what a search of
    the raw database sees."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            ).fetchall()
        ]
        return {
            table: [
                str(row[0])
                for row in conn.execute(f'SELECT CAST(t AS TEXT) FROM "{schema}"."{table}" AS t')
            ]
            for table in tables
        }
