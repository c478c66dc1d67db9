"""salesorders: the engine inside an order system.

Exact money, a configurable order workflow, real-time multi-warehouse stock that never oversells,
idempotent commands and a transactional outbox, with ports for your own storage and channels.

The names below are the public API a caller needs day to day: the service and ``bootstrap``, every
command, the values commands are built from, and what the service returns. The rest lives in
namespaces: :mod:`salesorders.errors` (every error, with its code), :mod:`salesorders.pricing`,
:mod:`salesorders.stock` (stock and allocation), :mod:`salesorders.workflow`,
:mod:`salesorders.events`, :mod:`salesorders.orders` (the order's parts and the queries' rows),
:mod:`salesorders.ports` (for your own adapters), the stores in :mod:`salesorders.adapters`
(``salesorders.adapters.memory``, ``.sqlite``, ``.postgres``) and the test kits in
:mod:`salesorders.testing`. Everything else is private and may change in any release.
"""

from salesorders._public import publish
from salesorders.domain.changes import ChangeAction
from salesorders.domain.money import Money, money
from salesorders.domain.order import Address, LineSpec, Order, OrderLine
from salesorders.domain.payments import PaymentTerms
from salesorders.domain.pricing import Discount, TaxComponent
from salesorders.domain.returns import Inspection, InspectionOutcome
from salesorders.domain.snapshot import IncomingStock
from salesorders.domain.warehouse import Warehouse
from salesorders.ports import OrderPage, OrderQuery
from salesorders.service.bootstrap import bootstrap
from salesorders.service.change_commands import (
    ApproveChange,
    CancelChange,
    DeclineChange,
    RequestChange,
)
from salesorders.service.changes import ChangeResult
from salesorders.service.clock import ManualClock, SystemClock
from salesorders.service.commands import (
    AdjustStock,
    AllocateBackorders,
    CancelLine,
    CancelLines,
    CancelOrder,
    CompleteOrder,
    ConfirmOrder,
    CreateDraft,
    DeliverOrder,
    ExpectStock,
    HoldOrder,
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
from salesorders.service.idempotency import Execution
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
from salesorders.service.results import BackorderedLine, OrderResult
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
from salesorders.service.views import OrderSummary, OrderView

__version__ = "0.1.0"

__all__ = [
    "AddOrderNote",
    "AddTicketNote",
    "Address",
    "AdjustStock",
    "AdvanceRepair",
    "AllocateBackorders",
    "ApproveChange",
    "ApprovePayment",
    "ApproveReturn",
    "AssignTicket",
    "AuthorizePayment",
    "BackorderedLine",
    "CancelChange",
    "CancelLine",
    "CancelLines",
    "CancelOrder",
    "CapturePayment",
    "ChangeAction",
    "ChangeResult",
    "CloseRepair",
    "CloseTicket",
    "CompleteOrder",
    "ConfirmOrder",
    "CreateDraft",
    "DeclineChange",
    "DeliverOrder",
    "Discount",
    "ExchangeReturn",
    "Execution",
    "ExpectStock",
    "HoldOrder",
    "IncomingStock",
    "Inspection",
    "InspectionOutcome",
    "LineSpec",
    "ManualClock",
    "Money",
    "NewOrder",
    "OpenRepair",
    "OpenTicket",
    "Order",
    "OrderLine",
    "OrderPage",
    "OrderQuery",
    "OrderResult",
    "OrderSummary",
    "OrderView",
    "PaymentTerms",
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
    "ReturnItem",
    "SalesService",
    "ScheduleFollowUp",
    "SetPaymentTerms",
    "SetStockLevels",
    "ShipLine",
    "ShipOrder",
    "SystemClock",
    "TaxComponent",
    "TransferStock",
    "TransitionOrder",
    "VoidPayment",
    "Warehouse",
    "WriteOffStock",
    "__version__",
    "bootstrap",
    "money",
]

publish(globals(), __name__, __all__)

# The namespaces, imported once the names above have their home here, so that every public
# object has its public home from the start.
from salesorders import errors, events, orders, pricing, stock, workflow  # noqa: E402, F401
