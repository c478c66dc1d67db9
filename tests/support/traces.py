"""Round trips of a PostgreSQL connection, counted from a libpq trace."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any

from psycopg_pool import ConnectionPool

__all__ = ["round_trips", "traced"]


def round_trips(trace: str) -> int:
    """Round trips in a libpq trace: each time the client, having sent, reads an answer."""
    trips = 0
    previous = ""
    for line in trace.splitlines():
        fields = line.split("\t")
        direction = fields[1] if len(fields) > 1 else ""
        if direction in ("F", "B"):
            trips += previous == "F" and direction == "B"
            previous = direction
    return trips


def traced(pool: ConnectionPool[Any], action: Callable[[], object]) -> int:
    """Round trips ``action`` makes on the pool's only connection."""
    with pool.connection() as connection:
        pass
    with tempfile.TemporaryFile("w+") as trace:
        connection.pgconn.trace(trace.fileno())
        try:
            action()
        finally:
            connection.pgconn.untrace()
        trace.seek(0)
        return round_trips(trace.read())
