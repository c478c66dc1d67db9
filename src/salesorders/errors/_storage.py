"""The errors of storage: lookups, conflicts, and database drivers' failures by their PEP 249
names (see :mod:`salesorders.errors`)."""

from __future__ import annotations

from salesorders.errors._base import SalesOrdersError


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
