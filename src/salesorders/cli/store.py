"""The store a command works on: an SQLite file or a PostgreSQL DSN (``--store``).

A DSN needs the ``postgres`` extra; a missing SQLite file is refused rather than created empty.
:func:`schema_version_of` reads a database's schema version without opening a store (opening one
applies the missing migrations).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from salesorders.adapters.sqlite import SQLiteStore
from salesorders.cli.demo_scenes import APPROVAL_WORKFLOW
from salesorders.errors import MissingExtraError, OperationalError, ValidationError
from salesorders.service import SalesService, bootstrap

if TYPE_CHECKING:
    from salesorders.adapters.postgres import PostgresStore

__all__ = ["is_dsn", "open_service", "open_store", "redacted", "schema_version_of"]


def is_dsn(target: str) -> bool:
    """True when ``target`` is a PostgreSQL connection string rather than a file path."""
    return target.startswith(("postgresql://", "postgres://"))


def redacted(target: str) -> str:
    """``target`` with the password of a DSN hidden, for messages."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", target)


def _sqlite_path(target: str) -> Path:
    path = Path(target)
    if not path.is_file():
        raise ValidationError(
            "--store",
            target,
            "no store file exists there",
            "give the path of an existing SQLite store or a postgresql:// DSN "
            "(salesorders demo creates a store to try)",
        )
    return path


def _postgres_store_class() -> type[PostgresStore]:
    try:
        from salesorders.adapters.postgres import PostgresStore
    except ImportError as missing:
        raise MissingExtraError.needs("postgres", "psycopg", "a postgresql:// store") from missing
    return PostgresStore


@contextmanager
def open_store(target: str, schema: str = "salesorders") -> Iterator[SQLiteStore | PostgresStore]:
    """The store at ``target`` (migrated to the latest schema), closed on leaving."""
    if is_dsn(target):
        with _postgres_store_class()(target, schema=schema, max_size=2) as postgres:
            yield postgres
        return
    with SQLiteStore(_sqlite_path(target)) as sqlite:
        yield sqlite


@contextmanager
def open_service(target: str, schema: str = "salesorders") -> Iterator[SalesService]:
    """A service over the store at ``target``, knowing the demo's approval workflow."""
    with open_store(target, schema) as store:
        yield bootstrap(store=store, workflows=[APPROVAL_WORKFLOW])


def schema_version_of(target: str, schema: str = "salesorders") -> int:
    """The schema version of the database at ``target`` (0: no schema yet), read without
    migrating it."""
    if is_dsn(target):
        return _postgres_version(target, schema)
    path = _sqlite_path(target)
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            found = connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
            ).fetchone()
            if found is None:
                return 0
            row = connection.execute("SELECT MAX(version) FROM schema_version").fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise ValidationError(
            "--store", target, f"is not an SQLite store ({error})", "check the path"
        ) from error
    return int(row[0] or 0)


def _postgres_version(dsn: str, schema: str) -> int:
    _postgres_store_class()  # the same clear error when psycopg is missing
    import psycopg
    from psycopg import sql

    table = sql.Identifier(schema, "schema_version")
    try:
        with psycopg.connect(dsn) as connection:
            name = table.as_string(connection)
            exists: Any = connection.execute("SELECT to_regclass(%s)", (name,)).fetchone()
            if exists is None or exists[0] is None:
                return 0
            row: Any = connection.execute(
                sql.SQL("SELECT MAX(version) FROM {}").format(table)
            ).fetchone()
    except psycopg.Error as error:
        raise OperationalError(f"cannot read the schema version at {redacted(dsn)}: {error}") from (
            error
        )
    return int(row[0] or 0) if row else 0
