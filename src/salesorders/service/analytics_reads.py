"""The analytics queries of the service (a part of :class:`~salesorders.service.SalesService`):
the order reports of :mod:`salesorders.analytics`, answered by each store, and the retention
figures over the customer records."""

from __future__ import annotations

from typing import Any, TypeVar

from salesorders.analytics.measures import (
    BottleneckQuery,
    BottleneckReport,
    LeadTimeReport,
    Report,
    ReportQuery,
    StockTurnover,
    TopCustomer,
    TopSku,
    TurnoverQuery,
)
from salesorders.analytics.retention import RetentionQuery, RetentionReport, retention_of
from salesorders.analytics.source import analytics_of
from salesorders.domain.loyalty import LoyaltyProgram
from salesorders.errors import ValidationError
from salesorders.ports import UnitOfWorkFactory
from salesorders.service.customers import customers_of, every_customer, orders_of_customer

__all__ = ["AnalyticsReads", "expect"]

Q = TypeVar("Q")


def expect(query: Any, kind: type[Q]) -> Q:
    """``query`` if it is a ``kind``, else a :class:`~salesorders.errors.ValidationError`."""
    if not isinstance(query, kind):
        raise ValidationError("query", query, f"must be a {kind.__name__}")
    return query


class AnalyticsReads:
    """The analytics queries, each in a read of the store."""

    read_factory: UnitOfWorkFactory
    loyalty_program: LoyaltyProgram | None

    # ------------------------------------------------------------------ analytics

    def report(self, query: ReportQuery) -> Report:
        """Order count, value and rates per period (and group) of the orders placed in the
        query's window; see :mod:`salesorders.analytics`."""
        with self.read_factory() as uow:
            return analytics_of(uow).report(expect(query, ReportQuery))

    def lead_time_percentiles(self, query: ReportQuery) -> LeadTimeReport:
        """p50, p90 and p99 (nearest rank) of each lead-time stage, per period."""
        with self.read_factory() as uow:
            return analytics_of(uow).lead_time_percentiles(expect(query, ReportQuery))

    def top_skus(self, query: ReportQuery) -> tuple[TopSku, ...]:
        """The ``query.limit`` SKUs ordered in the most units in the window."""
        with self.read_factory() as uow:
            return analytics_of(uow).top_skus(expect(query, ReportQuery))

    def top_customers(self, query: ReportQuery) -> tuple[TopCustomer, ...]:
        """The ``query.limit`` customers who placed the most orders in the window."""
        with self.read_factory() as uow:
            return analytics_of(uow).top_customers(expect(query, ReportQuery))

    def bottlenecks(self, query: BottleneckQuery) -> BottleneckReport:
        """Which lead-time stage grew from one period to the other, per warehouse or carrier."""
        with self.read_factory() as uow:
            return analytics_of(uow).bottlenecks(expect(query, BottleneckQuery))

    def stock_turnover(self, query: TurnoverQuery) -> tuple[StockTurnover, ...]:
        """Turnover and days of cover of each stocked SKU and warehouse, from the ledger."""
        with self.read_factory() as uow:
            return analytics_of(uow).stock_turnover(expect(query, TurnoverQuery))

    def retention(self, query: RetentionQuery) -> RetentionReport:
        """Repeat-purchase rate by tier, the customers lapsing (no order within
        ``query.lapse_after``) and the loyalty points outstanding with their worth, over every
        customer record (see ``docs/customers.md``)."""
        checked = expect(query, RetentionQuery)
        with self.read_factory() as uow:
            records = customers_of(uow)
            pairs = [(r, orders_of_customer(uow, r.id)) for r in every_customer(records)]
        return retention_of(pairs, checked, self.loyalty_program)
