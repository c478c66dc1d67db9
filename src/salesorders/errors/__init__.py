"""Every error salesorders raises, rooted at :class:`SalesOrdersError`.

Each error carries structured fields (the order id, the field, the value, the state ...) so a
host can react programmatically, and a message that says what to do about it. Every class has
a stable ``code``, a suggested ``http_status`` and a ``title`` (the table is in docs/errors.md);
``to_problem()`` gives RFC 9457 problem details (see :mod:`salesorders.problems`).

The classes are written in private modules by family and all live here, in ``salesorders.errors``.

::

    SalesOrdersError
    ├── ValidationError                 bad input: names the field, the value and what to do
    │   ├── FloatNotAllowedError        a float where money, a price, a rate or a quantity enters
    │   ├── InvalidQuantityError        zero, negative, or more decimal places than the unit allows
    │   ├── UnknownCurrencyError        not an ISO 4217 code
    │   ├── CurrencyMismatchError       amounts in two currencies were combined
    │   ├── ReturnWindowError           a return the return policy does not accept (window, SKU)
    │   ├── DeserializationError        data that does not fit a type; lists every bad path
    │   ├── SpreadsheetError            every bad cell of a spreadsheet, found before any write
    │   ├── FileRefusedError            a hostile or unreadable file: zip bomb, huge line, encoding
    │   ├── InvalidBarcodeError         a GTIN with a bad check digit, length or character
    │   └── TemplateError               a notification template refused: syntax, or unsafe
    ├── OrderError                      a command an order refused; the order is unchanged
    │   ├── InvalidTransitionError      the event is not allowed in the order's current state
    │   ├── GuardRejectedError          a workflow guard said no
    │   ├── OrderNotEditableError       the order is no longer a draft
    │   └── LineNotFoundError           no line with that id on the order
    ├── WorkflowDefinitionError         a workflow failed validation when it was built
    ├── PricingError
    │   ├── NoPriceError                no price list entry for the SKU, currency and group
    │   └── ExchangeRateUnavailableError
    ├── InventoryError
    │   ├── InsufficientStockError      lists every SKU short and by how much
    │   ├── UnknownWarehouseError
    │   ├── UnknownStockItemError
    │   └── ReservationError            release or consume more than is reserved, unknown id
    ├── AllocationError                 a policy returned an impossible plan
    ├── PaymentGatewayError             the payment gateway refused or failed a call
    │   └── PaymentDeclinedError        the gateway declined the authorisation, capture or refund
    ├── MissingExtraError               an optional extra (xlsx, barcodes, cli) is not installed
    ├── DeliveryError                   a channel could not deliver a notification now; retried
    │   └── PermanentDeliveryError      the receiver refused it for good; parked as dead at once
    ├── WebhookVerificationError        a received webhook's signature or timestamp did not verify
    ├── PermissionDeniedError           the permission policy refused the actor the command
    ├── AnonymizationRefusedError       the customer still has open orders, returns or balances
    ├── NotFoundError                   no such order (by id or number)
    ├── ConflictError
    │   ├── ConcurrencyConflictError    the order changed since it was read (optimistic version)
    │   └── IdempotencyConflictError    the key was used before with a different payload
    └── StorageError                    a database driver failed (PEP 249 names)
        ├── InterfaceError
        └── DatabaseError
            ├── OperationalError        connection lost, lock timeout, database locked
            ├── IntegrityError
            ├── ProgrammingError
            ├── DataError
            ├── InternalError
            └── NotSupportedError
"""

from __future__ import annotations

from salesorders._public import publish
from salesorders.errors._access import AnonymizationRefusedError, PermissionDeniedError
from salesorders.errors._base import (
    PROBLEM_TYPE_BASE,
    CurrencyMismatchError,
    DeserializationError,
    FieldProblem,
    FloatNotAllowedError,
    InvalidQuantityError,
    ReturnWindowError,
    SalesOrdersError,
    UnknownCurrencyError,
    ValidationError,
)
from salesorders.errors._delivery import (
    DeliveryError,
    PermanentDeliveryError,
    TemplateError,
    WebhookVerificationError,
)
from salesorders.errors._domain import (
    AllocationError,
    ExchangeRateUnavailableError,
    GuardRejectedError,
    InsufficientStockError,
    InvalidTransitionError,
    InventoryError,
    LineNotFoundError,
    NoPriceError,
    OrderError,
    OrderNotEditableError,
    PaymentDeclinedError,
    PaymentGatewayError,
    PricingError,
    ReservationError,
    Shortage,
    UnknownStockItemError,
    UnknownWarehouseError,
    WorkflowDefinitionError,
)
from salesorders.errors._entry import (
    BadCell,
    FileRefusedError,
    InvalidBarcodeError,
    MissingExtraError,
    SpreadsheetError,
)
from salesorders.errors._storage import (
    ConcurrencyConflictError,
    ConflictError,
    DatabaseError,
    DataError,
    IdempotencyConflictError,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotFoundError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    StorageError,
)

__all__ = [
    "PROBLEM_TYPE_BASE",
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
]

publish(globals(), __name__, __all__)
