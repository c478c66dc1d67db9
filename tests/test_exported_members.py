"""The curated public API, pinned: every name of every public namespace, where each object says it
lives, and that moving them kept annotations, pickles and the docs working.

Changing a list below is a change of the public API: say so in the changelog.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pickle
import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest

import salesorders
from salesorders._public import PUBLIC_MODULES

ROOT = Path(__file__).resolve().parent.parent

EXPORTED = {
    "salesorders": [
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
    ],
    "salesorders.barcodes": [
        "MemoryBarcodes",
        "ScanEntry",
        "check_gtin",
        "gtin14",
    ],
    "salesorders.analytics": [
        "Bottleneck",
        "BottleneckQuery",
        "BottleneckReport",
        "ERROR_REASONS",
        "GROUPS",
        "LapsingCustomer",
        "LeadTimeReport",
        "LineFacts",
        "OrderFacts",
        "PERCENTILES",
        "PERIODS",
        "ReferenceAnalytics",
        "Report",
        "ReportQuery",
        "ReportRow",
        "RetentionQuery",
        "RetentionReport",
        "STAGES",
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
    ],
    "salesorders.errors": [
        "AllocationError",
        "AnonymizationRefusedError",
        "BadCell",
        "ConcurrencyConflictError",
        "ConflictError",
        "CurrencyMismatchError",
        "DataError",
        "DatabaseError",
        "DeliveryError",
        "DeserializationError",
        "ExchangeRateUnavailableError",
        "FieldProblem",
        "FileRefusedError",
        "FloatNotAllowedError",
        "GuardRejectedError",
        "IdempotencyConflictError",
        "InsufficientStockError",
        "IntegrityError",
        "InterfaceError",
        "InternalError",
        "InvalidBarcodeError",
        "InvalidQuantityError",
        "InvalidTransitionError",
        "InventoryError",
        "LineNotFoundError",
        "MissingExtraError",
        "NoPriceError",
        "NotFoundError",
        "NotSupportedError",
        "OperationalError",
        "OrderError",
        "OrderNotEditableError",
        "PROBLEM_TYPE_BASE",
        "PaymentDeclinedError",
        "PaymentGatewayError",
        "PermanentDeliveryError",
        "PermissionDeniedError",
        "PricingError",
        "ProgrammingError",
        "ReservationError",
        "ReturnWindowError",
        "SalesOrdersError",
        "Shortage",
        "SpreadsheetError",
        "StorageError",
        "TemplateError",
        "UnknownCurrencyError",
        "UnknownStockItemError",
        "UnknownWarehouseError",
        "ValidationError",
        "WebhookVerificationError",
        "WorkflowDefinitionError",
    ],
    "salesorders.events": [
        "ChangeApproved",
        "ChangeCancelled",
        "ChangeDeclined",
        "ChangeEvent",
        "ChangeRequested",
        "CreditNoteIssued",
        "DeliveryPromised",
        "EVENT_TYPES",
        "FollowUpDone",
        "FollowUpScheduled",
        "OrderAllocationChanged",
        "OrderCancelled",
        "OrderCompleted",
        "OrderConfirmed",
        "OrderDelivered",
        "OrderEvent",
        "OrderHeld",
        "OrderLinesCancelled",
        "OrderNoteAdded",
        "OrderPlaced",
        "OrderResumed",
        "OrderShipped",
        "OrderTransitioned",
        "PaymentApproved",
        "PaymentAuthorized",
        "PaymentCaptured",
        "PaymentEvent",
        "PaymentRecorded",
        "PaymentRefunded",
        "PaymentRejected",
        "PaymentTermsSet",
        "PaymentVoided",
        "RepairAdvanced",
        "RepairClosed",
        "RepairEvent",
        "RepairNoted",
        "RepairOpened",
        "ReturnApproved",
        "ReturnEvent",
        "ReturnExchanged",
        "ReturnReceived",
        "ReturnRejected",
        "ReturnRequested",
        "ShipmentDispatched",
        "ShipmentTracked",
        "TicketAnswered",
        "TicketAssigned",
        "TicketClosed",
        "TicketEvent",
        "TicketNoted",
        "TicketOpened",
        "TicketReopened",
        "TicketResolved",
        "event_class_for",
    ],
    "salesorders.orders": [
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
    ],
    "salesorders.pricing": [
        "Charge",
        "Discount",
        "DiscountKind",
        "ExchangeRate",
        "LineToPrice",
        "Money",
        "PriceBook",
        "PriceBreak",
        "PriceList",
        "PriceListEntry",
        "PriceQuote",
        "PricedDocument",
        "PricedLine",
        "PricingPolicy",
        "Rounding",
        "StaticExchangeRates",
        "TaxComponent",
        "TaxMode",
        "TaxRounding",
        "allocate",
        "currency_exponent",
        "format_money",
        "minor_unit",
        "money",
        "price_document",
        "price_places",
        "quantize",
    ],
    "salesorders.spreadsheets": [
        "Column",
        "DEFAULT_ORDER_ID_PREFIX",
        "ImportMode",
        "ImportOutcome",
        "ImportReport",
        "ImportStatus",
        "LINE_COLUMNS",
        "LINE_EXPORT_COLUMNS",
        "Layout",
        "Limits",
        "ORDER_EXPORT_COLUMNS",
        "PRICE_COLUMNS",
        "Progress",
        "STOCK_COLUMNS",
        "Source",
        "Target",
        "UncomputedFormula",
        "check_orders",
        "export_lines",
        "export_orders",
        "import_orders",
        "import_stock_counts",
        "iter_orders",
        "neutralise",
        "order_id_for",
        "order_line_rows",
        "order_rows",
        "read_price_lists",
        "rich_progress",
        "write_records",
        "write_table",
    ],
    "salesorders.customers": [
        "AccruePoints",
        "AddCustomerNote",
        "Customer",
        "CustomerFields",
        "CustomerNote",
        "DEFAULT_TIER",
        "ENTRY_KINDS",
        "EvaluateTiers",
        "LoyaltyEntry",
        "LoyaltyProgram",
        "MembershipTiers",
        "POINTS_EVENTS",
        "PointsPosted",
        "PointsReview",
        "RedeemPoints",
        "RegisterCustomer",
        "StoreCustomerDirectory",
        "TIER_CHANGED_EVENT",
        "Tier",
        "TierChange",
        "TierReview",
        "TierStanding",
        "UpdateCustomer",
        "balance",
        "settlement",
        "standing_of",
    ],
    "salesorders.privacy": [
        "ANONYMIZED_EVENT",
        "AnonymizationRefusedError",
        "AnonymizeCustomer",
        "CustomerAnonymized",
        "CustomerDataExport",
        "ExportCustomerData",
        "MIN_SEARCHED_LENGTH",
        "PERSONAL_FIELDS",
        "REDACTED",
        "Redactor",
        "anonymized_order",
        "customer_stream",
        "open_business",
        "personal_values",
        "resealed",
    ],
    "salesorders.audit": [
        "AUDIT_COLUMNS",
        "AUDIT_OUTCOMES",
        "AuditBreak",
        "AuditPurge",
        "AuditRecord",
        "AuditReport",
        "PurgeAuditRecords",
        "record_hash",
        "verify_records",
    ],
    "salesorders.permissions": [
        "Actor",
        "CHANNELS",
        "CommandFacts",
        "Condition",
        "DENIAL_EVENT",
        "Decision",
        "Grant",
        "PermissionPolicy",
        "ROLES",
        "RolePolicy",
        "denial_stream",
        "not_requester",
        "own_department_tickets",
        "own_orders",
        "permission_of",
        "refund_at_most",
    ],
    "salesorders.notifications": [
        "BUILTIN_LOCALES",
        "BackorderSummary",
        "CHANNEL_NAME",
        "CONTEXT_VARIABLES",
        "Channel",
        "CustomerContact",
        "CustomerDirectory",
        "Deferred",
        "GSM7_BASIC",
        "GSM7_EXTENSION",
        "InMemoryCustomerDirectory",
        "LineSummary",
        "Notice",
        "NoticeRenderer",
        "NotifierChannel",
        "OutboxRelay",
        "Outcome",
        "QuietHours",
        "Rendered",
        "Sent",
        "Skipped",
        "SmsAlphabet",
        "SmsGateway",
        "SmsLength",
        "TemplateCatalog",
        "notice_context",
        "shorten_sms",
        "sms_segments",
    ],
    "salesorders.stock": [
        "Allocation",
        "AllocationPlan",
        "AllocationPolicy",
        "AllocationRequest",
        "AvailableBatch",
        "Backorder",
        "Batch",
        "ByDistance",
        "ByPriority",
        "DemandLine",
        "Destination",
        "Discrepancy",
        "Eligibility",
        "ExcludeWarehouses",
        "FewestShipmentsPolicy",
        "IncomingStock",
        "LedgerEntry",
        "LowStock",
        "Movement",
        "NearestPolicy",
        "PlanProblem",
        "PriorityPolicy",
        "Product",
        "RankedPolicy",
        "Ranking",
        "Reservation",
        "ShipsToDestination",
        "StockBook",
        "StockDesk",
        "StockItem",
        "StockLevels",
        "StockSnapshot",
        "Warehouse",
        "WarehouseFilter",
        "availability",
        "backorders_by_sku",
        "fold_ledger",
        "incoming_by_date",
        "plan_problems",
        "reconcile",
        "reserved_vs_on_hand",
        "verify_plan",
    ],
    "salesorders.workflow": [
        "CONSUME",
        "DEFAULT_WORKFLOW",
        "EFFECTS",
        "Guard",
        "HELD_FROM",
        "NOTHING_SHIPPED",
        "PAID",
        "RELEASE",
        "RESERVE",
        "Transition",
        "Workflow",
        "WorkflowBuilder",
        "WorkflowRegistry",
        "default_workflow",
    ],
}

#: The modules docs and examples may import from (the namespaces above, and the kits for adapters,
#: tests and JSON).
DOC_MODULES = PUBLIC_MODULES | {
    "salesorders.ports",
    "salesorders.serialization",
    "salesorders.json_schema",
    "salesorders.adapters.memory",
    "salesorders.adapters.sqlite",
    "salesorders.adapters.postgres",
    "salesorders.adapters.tracking",
    "salesorders.adapters.smtp",
    "salesorders.adapters.webhook",
    "salesorders.adapters.sms",
    "salesorders.adapters.nats",
    "salesorders.adapters.rabbitmq",
}


def _public_objects() -> list[tuple[str, str, object]]:
    found = []
    for module_name, names in EXPORTED.items():
        module = importlib.import_module(module_name)
        found += [(module_name, name, getattr(module, name)) for name in names]
    return found


@pytest.mark.parametrize("module_name", sorted(EXPORTED))
def test_each_namespace_exports_exactly_its_pinned_names(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert sorted(module.__all__) == EXPORTED[module_name]
    assert len(set(module.__all__)) == len(module.__all__)
    assert [name for name in module.__all__ if not hasattr(module, name)] == []


def test_the_namespaces_are_the_public_modules() -> None:
    assert set(EXPORTED) == PUBLIC_MODULES


def test_the_top_level_is_curated() -> None:
    names = set(salesorders.__all__)
    assert "SalesService" in names and "bootstrap" in names
    # errors, pricing, stock, workflow and events live in their namespaces only
    assert not names & set(EXPORTED["salesorders.errors"])
    assert not names & set(EXPORTED["salesorders.events"])
    assert not names & set(EXPORTED["salesorders.workflow"])
    assert len(names) < 90


def test_every_public_object_says_it_lives_in_a_public_namespace() -> None:
    homeless = [
        (module_name, name, obj.__module__)
        for module_name, name, obj in _public_objects()
        if (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__.startswith("salesorders")
        and obj.__module__ not in PUBLIC_MODULES
    ]
    assert homeless == []
    assert salesorders.PlaceOrder.__module__ == "salesorders"
    assert repr(salesorders.PlaceOrder) == "<class 'salesorders.PlaceOrder'>"
    assert importlib.import_module("salesorders.pricing").PriceBook.__module__ == (
        "salesorders.pricing"
    )


def test_the_home_an_object_says_is_where_it_can_be_imported_from() -> None:
    wrong = [
        (name, obj.__module__)
        for _, name, obj in _public_objects()
        if (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__.startswith("salesorders")
        and getattr(importlib.import_module(obj.__module__), obj.__qualname__, None) is not obj
    ]
    assert wrong == []


def test_annotations_of_moved_classes_still_resolve() -> None:
    failed = []
    for _, name, obj in _public_objects():
        if inspect.isclass(obj) and obj.__module__.startswith("salesorders"):
            try:
                typing.get_type_hints(obj)
            except Exception as error:  # any failure is what this test reports
                failed.append((name, repr(error)))
    assert failed == []


def test_moved_commands_and_values_still_pickle() -> None:
    command = salesorders.PlaceOrder(
        customer_id="C-1",
        currency="EUR",
        lines=(salesorders.LineSpec("SKU-1", 2, salesorders.money("9.50", "EUR")),),
        confirm=True,
    )
    assert pickle.loads(pickle.dumps(command)) == command


def _doc_imports() -> list[tuple[str, str]]:
    block = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for code in block.findall(path.read_text(encoding="utf-8")):
            for node in ast.walk(ast.parse(code)):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "salesorders"
                ):
                    found.append((path.name, str(node.module)))
                elif isinstance(node, ast.Import):
                    found += [
                        (path.name, alias.name)
                        for alias in node.names
                        if alias.name.startswith("salesorders")
                    ]
    return found


def test_the_docs_import_only_public_modules() -> None:
    imports = _doc_imports()
    assert imports  # the docs do import the library
    private = [
        (doc, module)
        for doc, module in imports
        if module not in DOC_MODULES and not module.startswith("salesorders.testing")
    ]
    assert private == []


def test_all_exported_names_exist() -> None:
    missing = [name for name in salesorders.__all__ if not hasattr(salesorders, name)]
    assert missing == []


def test_nothing_private_is_exported() -> None:
    for names in EXPORTED.values():
        private = [n for n in names if n.startswith("_") and n != "__version__"]
        assert private == []


def test_public_objects_belong_to_the_package() -> None:
    foreign = []
    for module_name, name, obj in _public_objects():
        module = getattr(obj, "__module__", "salesorders")
        if inspect.isclass(obj) and module and not module.startswith("salesorders"):
            foreign.append((module_name, name, module))
    assert foreign == []


def test_version_is_a_string() -> None:
    assert isinstance(salesorders.__version__, str)
    assert salesorders.__version__[0].isdigit()


def test_importing_the_package_loads_no_adapter_or_driver() -> None:
    code = (
        "import sys, salesorders; "
        "bad = [m for m in sys.modules if m.startswith(('psycopg', 'sqlite3', "
        "'salesorders.adapters.', 'hypothesis', 'salesorders.testing'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr
