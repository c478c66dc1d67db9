"""The service layer: commands, their handlers, idempotency, retries, queries and the outbox.

Build a service with :func:`bootstrap` over a store and send it commands::

    service = bootstrap(store=MemoryStore())
    result = service.handle(
        PlaceOrder(customer_id="C-1", currency="USD", lines=(...), confirm=True)
    )
"""

from salesorders.service.bootstrap import bootstrap
from salesorders.service.change_commands import (
    ApproveChange,
    CancelChange,
    DeclineChange,
    RequestChange,
)
from salesorders.service.changes import ChangeAwaitingReview, ChangeResult
from salesorders.service.clock import ManualClock, SystemClock
from salesorders.service.commands import (
    AdjustStock,
    AllocateBackorders,
    CancelLine,
    CancelLines,
    CancelOrder,
    Command,
    CompleteOrder,
    ConfirmOrder,
    CreateDraft,
    DeliverOrder,
    ExpectStock,
    HoldOrder,
    LineSpec,
    NewOrder,
    PlaceDraft,
    PlaceOrder,
    PromiseDelivery,
    ReceiveExpected,
    ReceiveStock,
    RecordShipmentEvent,
    RegisterWarehouse,
    ResumeOrder,
    SetStockLevels,
    ShipLine,
    ShipOrder,
    TransferStock,
    TransitionOrder,
    WriteOffStock,
)
from salesorders.service.handlers import Handlers
from salesorders.service.idempotency import (
    Execution,
    IdempotencyKeeper,
    command_fingerprint,
    scoped_key,
)
from salesorders.service.numbering import NumbersAtCommit
from salesorders.service.outbox import NotifierChannel, OutboxDispatcher, OutboxRelay
from salesorders.service.payment_commands import (
    ApprovePayment,
    AuthorizePayment,
    CapturePayment,
    RecordPayment,
    RefundPayment,
    RejectPayment,
    SetPaymentTerms,
    VoidPayment,
)
from salesorders.service.payments import AwaitingReview, OverdueOrder
from salesorders.service.results import BackorderedLine, DispatchReport, OrderResult
from salesorders.service.retry import RETRYABLE, Retrier
from salesorders.service.return_commands import (
    AdvanceRepair,
    ApproveReturn,
    CloseRepair,
    ExchangeReturn,
    OpenRepair,
    ReceiveReturn,
    RecordRepairNote,
    RejectReturn,
    RequestReturn,
    ReturnItem,
)
from salesorders.service.returns import ReturnAwaitingReview
from salesorders.service.reviews import ReviewItem, ReviewKind
from salesorders.service.sales import SalesService
from salesorders.service.ticket_commands import (
    AddOrderNote,
    AddTicketNote,
    AssignTicket,
    CloseTicket,
    OpenTicket,
    ReopenTicket,
    ResolveTicket,
    ScheduleFollowUp,
)

__all__ = [
    "RETRYABLE",
    "AddOrderNote",
    "AddTicketNote",
    "AdjustStock",
    "AdvanceRepair",
    "AllocateBackorders",
    "ApproveChange",
    "ApprovePayment",
    "ApproveReturn",
    "AssignTicket",
    "AuthorizePayment",
    "AwaitingReview",
    "BackorderedLine",
    "CancelChange",
    "CancelLine",
    "CancelLines",
    "CancelOrder",
    "CapturePayment",
    "ChangeAwaitingReview",
    "ChangeResult",
    "CloseRepair",
    "CloseTicket",
    "Command",
    "CompleteOrder",
    "ConfirmOrder",
    "CreateDraft",
    "DeclineChange",
    "DeliverOrder",
    "DispatchReport",
    "ExchangeReturn",
    "Execution",
    "ExpectStock",
    "Handlers",
    "HoldOrder",
    "IdempotencyKeeper",
    "LineSpec",
    "ManualClock",
    "NewOrder",
    "NotifierChannel",
    "NumbersAtCommit",
    "OpenRepair",
    "OpenTicket",
    "OrderResult",
    "OutboxDispatcher",
    "OutboxRelay",
    "OverdueOrder",
    "PlaceDraft",
    "PlaceOrder",
    "PromiseDelivery",
    "ReceiveExpected",
    "ReceiveReturn",
    "ReceiveStock",
    "RecordPayment",
    "RecordRepairNote",
    "RecordShipmentEvent",
    "RefundPayment",
    "RegisterWarehouse",
    "RejectPayment",
    "RejectReturn",
    "ReopenTicket",
    "RequestChange",
    "RequestReturn",
    "ResolveTicket",
    "ResumeOrder",
    "Retrier",
    "ReturnAwaitingReview",
    "ReturnItem",
    "ReviewItem",
    "ReviewKind",
    "SalesService",
    "ScheduleFollowUp",
    "SetPaymentTerms",
    "SetStockLevels",
    "ShipLine",
    "ShipOrder",
    "SystemClock",
    "TransferStock",
    "TransitionOrder",
    "VoidPayment",
    "WriteOffStock",
    "bootstrap",
    "command_fingerprint",
    "scoped_key",
]
