"""Which implementation answers a unit of work's analytics: the store's own, or the reference."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from salesorders.analytics.reference import ReferenceAnalytics
from salesorders.domain.checks import MAX_PAGE_SIZE
from salesorders.domain.order import Order
from salesorders.ports import OrderAnalytics, OrderQuery, UnitOfWork

__all__ = ["analytics_of"]


def _every_order(uow: UnitOfWork) -> Iterator[Order]:
    after = None
    while True:
        page = uow.orders.list(OrderQuery(limit=MAX_PAGE_SIZE, after=after))
        yield from page.orders
        if page.next_cursor is None:
            return
        after = page.next_cursor


class _Listed:
    """The orders a repository lists, read again each time a measure walks them."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def __iter__(self) -> Iterator[Order]:
        return _every_order(self._uow)


def analytics_of(uow: UnitOfWork) -> OrderAnalytics:
    """The analytics of ``uow``'s store: its repository's ``analytics`` when it has one (the
    SQL stores aggregate in the database, the memory store runs the reference over its orders),
    else :class:`ReferenceAnalytics` over every order the repository lists."""
    own: Any = getattr(uow.orders, "analytics", None)
    if own is not None:
        return own  # type: ignore[no-any-return]
    return ReferenceAnalytics(_Listed(uow), uow.stock.ledger)
