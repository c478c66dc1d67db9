"""An order and everything that hangs off it, as the service's queries return them.

:class:`Order` is the aggregate (its lines, totals, audit trail, shipments, payments, change
requests and revisions, returns, credit notes, repairs, tickets and notes); the rest are its
parts, their statuses, and the rows of the service's queries (open and late shipments, lead
times, items awaiting review, overdue orders, tickets due, the timeline). Return windows, the
standard return policy and the ticket SLA policy live here too.
"""

from salesorders._public import publish
from salesorders.domain.changes import (
    ChangeKind,
    ChangePreview,
    ChangeRequest,
    ChangeStatus,
    Revision,
    SkuQuantity,
)
from salesorders.domain.fulfilment import (
    FulfilmentStatus,
    Shipment,
    ShipmentStatus,
    ShippedLine,
    TrackingEvent,
)
from salesorders.domain.logistics import LateShipment, LeadTime, OpenShipment
from salesorders.domain.logistics_queries import (
    LateShipmentQuery,
    LeadTimeQuery,
    Page,
    ShipmentQuery,
)
from salesorders.domain.order import AuditEntry, Order, OrderLine, Totals
from salesorders.domain.payments import (
    Payment,
    PaymentFigures,
    PaymentMethod,
    PaymentState,
    PaymentStatus,
    TermsKind,
)
from salesorders.domain.repairs import Repair, RepairCharge, RepairNote, RepairStage
from salesorders.domain.return_policy import ReturnReason, ReturnWindow, StandardReturnPolicy
from salesorders.domain.returns import (
    CreditNote,
    CreditNoteLine,
    LineEligibility,
    OrderReturn,
    ReturnLine,
    ReturnState,
    ReturnStatus,
)
from salesorders.domain.ticket_sla import DueTicket, SlaPolicy, TicketQuery
from salesorders.domain.tickets import (
    NoteVisibility,
    OrderNote,
    Ticket,
    TicketCategory,
    TicketNote,
    TicketPriority,
    TicketStatus,
)
from salesorders.domain.timeline import TimelineEntry, TimelineKind
from salesorders.service.changes import ChangeAwaitingReview
from salesorders.service.payments import AwaitingReview, OverdueOrder
from salesorders.service.results import DispatchReport
from salesorders.service.returns import ReturnAwaitingReview
from salesorders.service.reviews import ReviewItem, ReviewKind
from salesorders.service.views import LineView, ShipmentView, TotalsView

__all__ = [
    "AuditEntry",
    "AwaitingReview",
    "ChangeAwaitingReview",
    "ChangeKind",
    "ChangePreview",
    "ChangeRequest",
    "ChangeStatus",
    "CreditNote",
    "CreditNoteLine",
    "DispatchReport",
    "DueTicket",
    "FulfilmentStatus",
    "LateShipment",
    "LateShipmentQuery",
    "LeadTime",
    "LeadTimeQuery",
    "LineEligibility",
    "LineView",
    "NoteVisibility",
    "OpenShipment",
    "Order",
    "OrderLine",
    "OrderNote",
    "OrderReturn",
    "OverdueOrder",
    "Page",
    "Payment",
    "PaymentFigures",
    "PaymentMethod",
    "PaymentState",
    "PaymentStatus",
    "Repair",
    "RepairCharge",
    "RepairNote",
    "RepairStage",
    "ReturnAwaitingReview",
    "ReturnLine",
    "ReturnReason",
    "ReturnState",
    "ReturnStatus",
    "ReturnWindow",
    "ReviewItem",
    "ReviewKind",
    "Revision",
    "Shipment",
    "ShipmentQuery",
    "ShipmentStatus",
    "ShipmentView",
    "ShippedLine",
    "SkuQuantity",
    "SlaPolicy",
    "StandardReturnPolicy",
    "TermsKind",
    "Ticket",
    "TicketCategory",
    "TicketNote",
    "TicketPriority",
    "TicketQuery",
    "TicketStatus",
    "TimelineEntry",
    "TimelineKind",
    "Totals",
    "TotalsView",
    "TrackingEvent",
]

publish(globals(), __name__, __all__)
