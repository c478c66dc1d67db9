"""Data analysis over the stored orders: counts, values, lead times, rates and rankings.

One API over every store: :class:`ReportQuery` (or :class:`BottleneckQuery`,
:class:`TurnoverQuery`) in, a frozen answer out, through
:meth:`~salesorders.service.SalesService.report` and its siblings. The SQL stores aggregate in
the database; :class:`ReferenceAnalytics` is the definition in plain Python they are checked
against (and what the memory store runs). See the Analytics guide for each measure.
:class:`RetentionQuery` gives the retention figures over the customer records
(``service.retention``): repeat-purchase rate by tier, lapsing customers, points liability.
"""

from salesorders._public import publish
from salesorders.analytics.facts import (
    ERROR_REASONS,
    LineFacts,
    OrderFacts,
    line_facts,
    order_facts,
)
from salesorders.analytics.measures import (
    GROUPS,
    PERCENTILES,
    PERIODS,
    STAGES,
    Bottleneck,
    BottleneckQuery,
    BottleneckReport,
    LeadTimeReport,
    Report,
    ReportQuery,
    ReportRow,
    StagePercentiles,
    StockTurnover,
    TopCustomer,
    TopSku,
    TurnoverQuery,
)
from salesorders.analytics.reference import ReferenceAnalytics, nearest_rank
from salesorders.analytics.retention import (
    LapsingCustomer,
    RetentionQuery,
    RetentionReport,
    TierRetention,
    retention_of,
)
from salesorders.analytics.source import analytics_of

__all__ = [
    "ERROR_REASONS",
    "GROUPS",
    "PERCENTILES",
    "PERIODS",
    "STAGES",
    "Bottleneck",
    "BottleneckQuery",
    "BottleneckReport",
    "LapsingCustomer",
    "LeadTimeReport",
    "LineFacts",
    "OrderFacts",
    "ReferenceAnalytics",
    "Report",
    "ReportQuery",
    "ReportRow",
    "RetentionQuery",
    "RetentionReport",
    "StagePercentiles",
    "StockTurnover",
    "TierRetention",
    "TopCustomer",
    "TopSku",
    "TurnoverQuery",
    "analytics_of",
    "line_facts",
    "nearest_rank",
    "order_facts",
    "retention_of",
]

publish(globals(), __name__, __all__)
