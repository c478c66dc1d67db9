"""Every error salesorders raises, rooted at :class:`SalesOrdersError`.

Each error carries structured fields (the order id, the field, the value, the state ...) so a
host can react programmatically, and a message that says what to do about it. Every class has
a stable ``code``, a suggested ``http_status`` and a ``title`` (the table is in docs/errors.md);
``to_problem()`` gives RFC 9457 problem details (see :mod:`salesorders.problems`).

::

    SalesOrdersError
    ├── ValidationError                 bad input: names the field, the value and what to do
    │   ├── FloatNotAllowedError        a float where money, a price, a rate or a quantity enters
    │   ├── InvalidQuantityError        zero, negative, or more decimal places than the unit allows
    │   ├── UnknownCurrencyError        not an ISO 4217 code
    │   ├── CurrencyMismatchError       amounts in two currencies were combined
    │   ├── ReturnWindowError           a return the return policy does not accept (window, SKU)
    │   └── DeserializationError        data that does not fit a type; lists every bad path
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

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar

__all__ = [
    "PROBLEM_TYPE_BASE",
    "AllocationError",
    "ConcurrencyConflictError",
    "ConflictError",
    "CurrencyMismatchError",
    "DataError",
    "DatabaseError",
    "DeserializationError",
    "ExchangeRateUnavailableError",
    "FieldProblem",
    "FloatNotAllowedError",
    "GuardRejectedError",
    "IdempotencyConflictError",
    "InsufficientStockError",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "InvalidQuantityError",
    "InvalidTransitionError",
    "InventoryError",
    "LineNotFoundError",
    "NoPriceError",
    "NotFoundError",
    "NotSupportedError",
    "OperationalError",
    "OrderError",
    "OrderNotEditableError",
    "PaymentDeclinedError",
    "PaymentGatewayError",
    "PricingError",
    "ProgrammingError",
    "ReservationError",
    "ReturnWindowError",
    "SalesOrdersError",
    "Shortage",
    "StorageError",
    "UnknownCurrencyError",
    "UnknownStockItemError",
    "UnknownWarehouseError",
    "ValidationError",
    "WorkflowDefinitionError",
]

#: Where problem ``type`` URIs point: ``PROBLEM_TYPE_BASE + code``. A host that documents the
#: problems under its own domain passes ``type_base=`` to :meth:`SalesOrdersError.to_problem`.
PROBLEM_TYPE_BASE = "https://salesorders.dev/problems/"


class SalesOrdersError(Exception):
    """The root of every error this library raises.

    Every class has a stable snake_case ``code``, a suggested ``http_status`` and a short
    ``title``; :meth:`to_problem` turns an error into an RFC 9457 problem details object.
    """

    code: ClassVar[str] = "salesorders_error"
    http_status: ClassVar[int] = 500
    title: ClassVar[str] = "Sales orders error"

    def to_problem(
        self, *, instance: str | None = None, type_base: str = PROBLEM_TYPE_BASE
    ) -> dict[str, Any]:
        """This error as RFC 9457 problem details with JSON-safe members only: ``type``
        (``type_base`` + ``code``), ``title``, ``status``, ``detail`` (the message),
        ``instance`` when given, then ``code`` and the error's fields (a validation error lists
        them under ``errors``: ``field``, ``value``, ``problem``, ``hint``)."""
        from salesorders.problems import problem_details  # not at import time

        return problem_details(self, instance=instance, type_base=type_base)


# --------------------------------------------------------------------------- validation


class ValidationError(SalesOrdersError, ValueError):
    """Input that cannot be accepted. Nothing was changed.

    ``field`` names the offending input (``"lines[2].quantity"``), ``value`` is what was given.
    """

    code = "validation_failed"
    http_status = 422
    title = "Invalid input"

    def __init__(
        self, field: str, value: Any, problem: str, hint: str = "", *, message: str = ""
    ) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        self.hint = hint
        if not message:
            message = f"{problem} (got {value!r})"
            if field:
                message = f"{field}: {message}"
            if hint:
                message += f"; {hint}"
        super().__init__(message)

    def under(self, prefix: str) -> ValidationError:
        """The same error, same class, with its field under ``prefix`` (``lines[2].quantity``).
        An error with an empty field (the input as a whole) is named ``prefix`` itself."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        message = str(self)
        if not self.field:
            message = f"{prefix}: {message}"
        elif message.startswith(f"{self.field}:"):
            message = f"{prefix}.{message}"
        copy = type(self).__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.field = field
        Exception.__init__(copy, message)
        return copy


class FloatNotAllowedError(ValidationError, TypeError):
    """A float was given where exact values are required."""

    code = "float_not_allowed"
    http_status = 422
    title = "Float not accepted"

    def __init__(self, field: str, value: Any) -> None:
        super().__init__(
            field,
            value,
            "floats are not accepted for money, prices, rates or quantities",
            "pass a decimal.Decimal or a string such as '19.99'",
        )


class InvalidQuantityError(ValidationError):
    """A quantity that is not positive, or has more decimal places than its unit allows."""

    code = "invalid_quantity"
    http_status = 422
    title = "Invalid quantity"


class UnknownCurrencyError(ValidationError):
    """A currency code that is not in ISO 4217."""

    code = "unknown_currency"
    http_status = 422
    title = "Unknown currency"

    def __init__(self, field: str, value: Any) -> None:
        super().__init__(
            field,
            value,
            "not an ISO 4217 currency code",
            "use a code such as 'USD', 'EUR' or 'JPY'",
        )


class CurrencyMismatchError(ValidationError):
    """Two amounts in different currencies met in one calculation."""

    code = "currency_mismatch"
    http_status = 422
    title = "Currency mismatch"

    def __init__(self, field: str, value: Any, expected: str) -> None:
        self.expected = expected
        super().__init__(
            field,
            value,
            f"currency differs from the document currency {expected}",
            "convert the amount first with an exchange rate",
        )


class ReturnWindowError(ValidationError):
    """A line asked back outside its return window, or of a SKU the return policy does not take
    back for that reason. ``line_id`` names the line."""

    code = "return_not_accepted"
    http_status = 422
    title = "Return not accepted"

    def __init__(self, field: str, line_id: str, problem: str, hint: str = "") -> None:
        self.line_id = line_id
        super().__init__(field, line_id, problem, hint)


class FieldProblem:
    """One bad field in a :class:`DeserializationError`: its JSON path and what is wrong."""

    __slots__ = ("path", "problem")

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem

    def __repr__(self) -> str:
        return f"FieldProblem({self.path!r}, {self.problem!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldProblem) and (self.path, self.problem) == (
            other.path,
            other.problem,
        )

    def __hash__(self) -> int:
        return hash((self.path, self.problem))


class DeserializationError(ValidationError):
    """Data that does not fit the expected shape. ``problems`` lists every bad path at once."""

    code = "deserialization_failed"
    http_status = 400
    title = "Malformed data"

    def __init__(self, type_name: str, problems: Sequence[FieldProblem]) -> None:
        self.type_name = type_name
        self.problems = tuple(problems)
        listing = "; ".join(f"{p.path}: {p.problem}" for p in self.problems)
        first = self.problems[0].path if self.problems else "$"
        super().__init__(
            first,
            type_name,
            f"cannot build {type_name}",
            "fix the listed fields and load again",
            message=f"cannot build {type_name}: {listing}; fix the listed fields and load again",
        )


# --------------------------------------------------------------------------- orders


class OrderError(SalesOrdersError):
    """An order refused a command. The order is exactly as it was before the call."""

    code = "order_refused"
    http_status = 409
    title = "Order refused the command"

    def __init__(self, order_id: str, message: str) -> None:
        self.order_id = order_id
        super().__init__(message)


class InvalidTransitionError(OrderError):
    """The event is not allowed in the order's current state."""

    code = "invalid_transition"
    http_status = 409
    title = "Transition not allowed"

    def __init__(self, order_id: str, state: str, event: str, allowed: Sequence[str]) -> None:
        self.state = state
        self.event = event
        self.allowed = tuple(allowed)
        allowed_text = ", ".join(self.allowed) if self.allowed else "none (final state)"
        super().__init__(
            order_id,
            f"order {order_id}: cannot {event!r} in state {state!r}; "
            f"allowed events: {allowed_text}",
        )


class GuardRejectedError(OrderError):
    """A workflow guard rejected the transition."""

    code = "guard_rejected"
    http_status = 409
    title = "Workflow guard rejected the transition"

    def __init__(
        self, order_id: str, state: str, event: str, guard: str, hint: str | None = None
    ) -> None:
        self.state = state
        self.event = event
        self.guard = guard
        advice = hint or f"satisfy {guard!r} first (for example record the payment or approval)"
        super().__init__(
            order_id,
            f"order {order_id}: {event!r} from {state!r} needs guard {guard!r} to pass; {advice}",
        )


class OrderNotEditableError(OrderError):
    """Lines, addresses and discounts can only be edited while the order is a draft."""

    code = "order_not_editable"
    http_status = 409
    title = "Order not editable"

    def __init__(self, order_id: str, state: str, action: str) -> None:
        self.state = state
        self.action = action
        super().__init__(
            order_id,
            f"order {order_id}: cannot {action} in state {state!r}; only draft orders are "
            "editable, request a change instead (RequestChange)",
        )


class LineNotFoundError(OrderError):
    """The order has no line with that id."""

    code = "line_not_found"
    http_status = 404
    title = "Order line not found"

    def __init__(self, order_id: str, line_id: str) -> None:
        self.line_id = line_id
        super().__init__(order_id, f"order {order_id}: no line {line_id!r}; check the line id")


class WorkflowDefinitionError(SalesOrdersError):
    """A workflow definition failed validation. ``problems`` lists every problem found."""

    code = "invalid_workflow_definition"
    http_status = 500
    title = "Invalid workflow definition"

    def __init__(self, workflow: str, problems: Sequence[str]) -> None:
        self.workflow = workflow
        self.problems = tuple(problems)
        super().__init__(f"workflow {workflow!r} is invalid: " + "; ".join(self.problems))


# --------------------------------------------------------------------------- pricing


class PricingError(SalesOrdersError):
    """A price or a rate could not be determined."""

    code = "pricing_failed"
    http_status = 422
    title = "Price not determined"


class NoPriceError(PricingError):
    """No price list entry matches the SKU, currency and customer group."""

    code = "no_price"
    http_status = 422
    title = "No price"

    def __init__(self, sku: str, currency: str, customer_group: str | None) -> None:
        self.sku = sku
        self.currency = currency
        self.customer_group = customer_group
        super().__init__(
            f"no price for SKU {sku!r} in {currency} for customer group {customer_group!r}; "
            "add a price list entry or give the unit price explicitly"
        )


class ExchangeRateUnavailableError(PricingError):
    """The exchange rate source has no rate for the currency pair."""

    code = "exchange_rate_unavailable"
    http_status = 422
    title = "Exchange rate unavailable"

    def __init__(self, base: str, quote: str) -> None:
        self.base = base
        self.quote = quote
        super().__init__(f"no exchange rate from {base} to {quote}; supply a rate for this pair")


# --------------------------------------------------------------------------- inventory


class Shortage:
    """How much of a SKU is missing: ``requested - available``."""

    __slots__ = ("available", "requested", "sku")

    def __init__(self, sku: str, requested: Decimal, available: Decimal) -> None:
        self.sku = sku
        self.requested = requested
        self.available = available

    @property
    def missing(self) -> Decimal:
        return self.requested - self.available

    def __repr__(self) -> str:
        return f"Shortage({self.sku!r}, requested={self.requested}, available={self.available})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Shortage) and (self.sku, self.requested, self.available) == (
            other.sku,
            other.requested,
            other.available,
        )

    def __hash__(self) -> int:
        return hash((self.sku, self.requested, self.available))


class InventoryError(SalesOrdersError):
    """A stock operation was refused. Stock is unchanged."""

    code = "inventory_refused"
    http_status = 409
    title = "Stock operation refused"


class InsufficientStockError(InventoryError):
    """Not enough available stock. ``shortages`` names every SKU short and by how much.

    ``order_id`` is the stored order that could not be served. When placing a new order failed
    (``order_created`` is False) the order was not created, so ``order_id`` is ``None`` and the
    message says so instead of naming an order that does not exist.
    """

    code = "insufficient_stock"
    http_status = 409
    title = "Insufficient stock"

    def __init__(
        self,
        shortages: Sequence[Shortage],
        order_id: str | None = None,
        *,
        order_created: bool = True,
    ) -> None:
        self.shortages = tuple(shortages)
        self.order_created = order_created
        self.order_id = order_id if order_created else None
        listing = ", ".join(f"{s.sku} short by {s.missing}" for s in self.shortages)
        if not order_created:
            prefix = "the order was not created: "
        else:
            prefix = f"order {order_id}: " if order_id else ""
        super().__init__(
            f"{prefix}insufficient stock: {listing}; receive stock, or allow partial "
            "allocation with backorders"
        )


class UnknownWarehouseError(InventoryError):
    code = "unknown_warehouse"
    http_status = 404
    title = "Unknown warehouse"

    def __init__(self, warehouse_id: str) -> None:
        self.warehouse_id = warehouse_id
        super().__init__(f"no warehouse {warehouse_id!r}; register it first")


class UnknownStockItemError(InventoryError):
    code = "unknown_stock_item"
    http_status = 404
    title = "Unknown stock item"

    def __init__(self, sku: str, warehouse_id: str) -> None:
        self.sku = sku
        self.warehouse_id = warehouse_id
        super().__init__(
            f"no stock item for SKU {sku!r} in warehouse {warehouse_id!r}; receive stock first"
        )


class ReservationError(InventoryError):
    """A reservation cannot be released or consumed as asked."""

    code = "reservation_refused"
    http_status = 409
    title = "Reservation refused"

    def __init__(self, reservation_id: str, message: str) -> None:
        self.reservation_id = reservation_id
        super().__init__(message)


class AllocationError(SalesOrdersError):
    """An allocation policy produced a plan that breaks the allocation rules."""

    code = "invalid_allocation"
    http_status = 500
    title = "Invalid allocation plan"


# --------------------------------------------------------------------------- payments


class PaymentGatewayError(SalesOrdersError):
    """The payment gateway refused or failed a call; the order is unchanged.

    ``operation`` is ``authorize``, ``capture``, ``void`` or ``refund``. A gateway that timed out
    raises :class:`OperationalError` instead (the service retries it with the same idempotency
    key, so the gateway answers the retry without moving money twice).
    """

    code = "payment_gateway_failed"
    http_status = 502
    title = "Payment gateway failed"

    def __init__(self, operation: str, message: str) -> None:
        self.operation = operation
        super().__init__(f"payment gateway {operation}: {message}")


class PaymentDeclinedError(PaymentGatewayError):
    """The gateway declined: ask the customer for another payment method."""

    code = "payment_declined"
    http_status = 402
    title = "Payment declined"


# --------------------------------------------------------------------------- storage


class NotFoundError(SalesOrdersError, LookupError):
    """No record with that key."""

    code = "not_found"
    http_status = 404
    title = "Not found"

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"no {kind} {key!r}; check the id or number")


class ConflictError(SalesOrdersError):
    """The command conflicts with another one."""

    code = "conflict"
    http_status = 409
    title = "Conflict"


class ConcurrencyConflictError(ConflictError):
    """The order was changed by someone else since it was read."""

    code = "concurrency_conflict"
    http_status = 409
    title = "Order changed concurrently"

    def __init__(self, order_id: str, expected_version: int, actual_version: int | None) -> None:
        self.order_id = order_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        super().__init__(
            f"order {order_id} changed concurrently (expected version {expected_version}, "
            f"found {actual_version}); reload the order and retry the command"
        )


class IdempotencyConflictError(ConflictError):
    """The idempotency key was used before with a different command payload."""

    code = "idempotency_conflict"
    http_status = 409
    title = "Idempotency key reused"

    def __init__(self, key: str, command: str) -> None:
        self.key = key
        self.command = command
        super().__init__(
            f"idempotency key {key!r} was already used with a different {command} payload; "
            "use a new key for a new command"
        )


class StorageError(SalesOrdersError):
    """A database driver failed; the original driver error is the ``__cause__``."""

    code = "storage_failed"
    http_status = 500
    title = "Storage failed"


class InterfaceError(StorageError):
    code = "storage_interface_error"
    http_status = 500
    title = "Storage interface error"


class DatabaseError(StorageError):
    code = "database_error"
    http_status = 500
    title = "Database error"


class OperationalError(DatabaseError):
    code = "database_unavailable"
    http_status = 503
    title = "Database unavailable"


class IntegrityError(DatabaseError):
    code = "integrity_conflict"
    http_status = 409
    title = "Integrity conflict"


class ProgrammingError(DatabaseError):
    code = "database_programming_error"
    http_status = 500
    title = "Database programming error"


class DataError(DatabaseError):
    code = "data_not_storable"
    http_status = 422
    title = "Data not storable"


class InternalError(DatabaseError):
    code = "database_internal_error"
    http_status = 500
    title = "Database internal error"


class NotSupportedError(DatabaseError):
    code = "not_supported"
    http_status = 501
    title = "Not supported"


# --------------------------------------------------------------------------- spreadsheets, barcodes
#
#    ValidationError
#    ├── SpreadsheetError          every bad cell of a spreadsheet, found before anything is written
#    ├── FileRefusedError          a hostile or unreadable file: zip bomb, huge line, wrong encoding
#    └── InvalidBarcodeError       a GTIN with a bad check digit, length or character
#    MissingExtraError             an optional extra (xlsx, barcodes, cli) is not installed

__all__ += [  # the errors of this section, added where they are defined
    "BadCell",
    "FileRefusedError",
    "InvalidBarcodeError",
    "MissingExtraError",
    "SpreadsheetError",
]

_CELLS_SHOWN = 20  # bad cells listed in a SpreadsheetError's message (all are in ``cells``)


class BadCell:
    """One bad cell of a spreadsheet: its ``row`` (the header is row 1), its ``column`` (the
    header as the file writes it), the ``value`` read (as text), what is wrong and what to do."""

    __slots__ = ("column", "hint", "problem", "row", "value")

    def __init__(self, row: int, column: str, value: str, problem: str, hint: str = "") -> None:
        self.row = row
        self.column = column
        self.value = value
        self.problem = problem
        self.hint = hint

    @property
    def field(self) -> str:
        """The cell as a field path: ``rows[4].数量``."""
        return f"rows[{self.row}].{self.column}"

    def as_dict(self) -> dict[str, Any]:
        """The cell as JSON-safe data: row, column, value, problem, hint."""
        return {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "problem": self.problem,
            "hint": self.hint,
        }

    def __repr__(self) -> str:
        return f"BadCell({self.row}, {self.column!r}, {self.value!r}, {self.problem!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BadCell) and self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash((self.row, self.column, self.value, self.problem, self.hint))


class SpreadsheetError(ValidationError):
    """A spreadsheet that cannot be imported as it is; nothing was written.

    ``cells`` lists every bad cell the validation pass found, in file order (build one with
    :meth:`listing`); ``to_problem()`` gives one ``errors`` entry per cell and the cells
    themselves under ``cells``.
    """

    code = "spreadsheet_invalid"
    http_status = 422
    title = "Invalid spreadsheet"

    cells: tuple[BadCell, ...] = ()

    @classmethod
    def listing(
        cls,
        cells: Sequence[BadCell],
        source: str = "the spreadsheet",
        outcome: str = "nothing was imported",
    ) -> SpreadsheetError:
        """The error listing every one of ``cells`` (at least one) found in ``source``, where
        ``outcome`` says what became of the import."""
        found = tuple(cells)
        if not found:
            raise ValueError("a SpreadsheetError lists at least one bad cell")
        shown = "; ".join(
            f"row {c.row} {c.column}: {c.problem} (got {c.value!r})" for c in found[:_CELLS_SHOWN]
        )
        more = len(found) - _CELLS_SHOWN
        if more > 0:
            shown += f"; and {more} more (see .cells)"
        count = f"{len(found)} bad cell{'s' if len(found) > 1 else ''}"
        first = found[0]
        error = cls(
            first.field,
            first.value,
            first.problem,
            first.hint,
            message=f"{count} in {source}, {outcome}: {shown}; fix them and import the file again",
        )
        error.cells = found
        return error

    def to_problem(
        self, *, instance: str | None = None, type_base: str = PROBLEM_TYPE_BASE
    ) -> dict[str, Any]:
        """Problem details with one ``errors`` entry per bad cell and the ``cells`` listed."""
        problem = super().to_problem(instance=instance, type_base=type_base)
        if self.cells:
            problem["errors"] = [
                {"field": c.field, "value": c.value, "problem": c.problem, "hint": c.hint}
                for c in self.cells
            ]
            problem["cells"] = [c.as_dict() for c in self.cells]
        return problem


class FileRefusedError(ValidationError):
    """A file refused before its rows are read: too large once expanded (a zip bomb), a line
    longer than the limit, not the encoding it should be in, not the format it claims."""

    code = "file_refused"
    http_status = 422
    title = "File refused"


class InvalidBarcodeError(ValidationError):
    """A barcode (GTIN-8, -12, -13 or -14) with a bad check digit, length or character."""

    code = "invalid_barcode"
    http_status = 422
    title = "Invalid barcode"


class MissingExtraError(SalesOrdersError):
    """A feature needs an optional extra that is not installed; the message names the
    ``pip install`` command. ``extra`` is the extra's name."""

    code = "extra_not_installed"
    http_status = 501
    title = "Optional extra not installed"

    extra: str = ""

    @classmethod
    def needs(cls, extra: str, package: str, feature: str) -> MissingExtraError:
        """The error for ``feature`` needing ``package`` from the ``extra`` extra."""
        error = cls(
            f"{feature} needs the {package} package, which is not installed; install it "
            f'with pip install "salesorders[{extra}]"'
        )
        error.extra = extra
        return error
