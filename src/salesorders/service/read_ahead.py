"""The idempotency lookup, sent together with the stock snapshot a command will take first.

A store that can send statements without waiting (PostgreSQL in pipeline mode) then reads the
key's record and locks the command's stock rows in one round trip. The key's lock is still taken
first, so a duplicate waits at its lookup before it locks any stock. Only a command whose first
stock read is known before it runs is read ahead: a ``PlaceOrder`` that creates and confirms an
order, whose lines are all valid (an invalid one is refused by the handler, which names it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from salesorders.errors import SalesOrdersError
from salesorders.ports import IdempotencyRecord, UnitOfWork
from salesorders.service.commands import PlaceOrder
from salesorders.service.line_input import line_skus

__all__ = ["lookup", "stock_wanted"]


def stock_wanted(command: object) -> Sequence[str]:
    """The SKUs whose stock ``command`` snapshots first, when known before it runs; else ``()``."""
    if not (isinstance(command, PlaceOrder) and command.confirm and command.creates_order):
        return ()
    lines = command.lines
    if not isinstance(lines, tuple | list):
        return ()
    try:
        return tuple(dict.fromkeys(line_skus(lines)))
    except SalesOrdersError:
        return ()


def lookup(
    uow: UnitOfWork, key: str, now: dt.datetime, skus: Sequence[str]
) -> IdempotencyRecord | None:
    """The record stored under ``key``, with the snapshot of ``skus`` sent along where the
    store's stock repository can (its optional ``read_ahead``)."""
    if skus:
        read_ahead = getattr(uow.stock, "read_ahead", None)
        if read_ahead is not None:
            read_ahead(skus)
    return uow.idempotency.get(key, now)
