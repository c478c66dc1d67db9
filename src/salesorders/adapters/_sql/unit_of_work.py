"""One database transaction over every SQL repository (:class:`SqlUnitOfWork`), and what the
units of work of one store share (:class:`StoreConfig`)."""

from __future__ import annotations

import abc
import contextlib
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType, TracebackType
from typing import Self

from salesorders import errors
from salesorders.adapters._sql.audit import AuditStatements, SqlAuditLog
from salesorders.adapters._sql.customers import SqlCustomerRepository
from salesorders.adapters._sql.dialect import Dialect
from salesorders.adapters._sql.orders import SqlOrderNumbers, SqlOrderRepository
from salesorders.adapters._sql.outbox import SqlIdempotencyStore, SqlOutboxStore
from salesorders.adapters._sql.personal_data import SqlPersonalData
from salesorders.adapters._sql.session import Session
from salesorders.adapters._sql.statements import Statements
from salesorders.adapters._sql.stock import SqlStockRepository
from salesorders.domain.warehouse import Warehouse
from salesorders.serialization import Serializer

__all__ = ["SqlUnitOfWork", "StoreConfig"]


class _WarehouseCache:
    """Decoded warehouses by their stored document, and the read-only mapping of a whole set.

    Snapshots of an unchanged set of warehouses share one mapping object, so a policy may cache
    what it derives from the warehouses by the mapping's identity.
    """

    def __init__(self, serializer: Serializer) -> None:
        self._serializer = serializer
        self._by_doc: dict[str, Warehouse] = {}
        self._sets: dict[tuple[tuple[str, str], ...], Mapping[str, Warehouse]] = {}

    def decode(self, doc: str) -> Warehouse:
        found = self._by_doc.get(doc)
        if found is None:
            found = self._serializer.load(json.loads(doc), Warehouse)
            if len(self._by_doc) > 4096:
                self._by_doc.clear()
            self._by_doc[doc] = found
        return found

    def mapping(self, rows: Sequence[tuple[str, str]]) -> Mapping[str, Warehouse]:
        key = tuple(sorted(rows))
        found = self._sets.get(key)
        if found is None:
            found = MappingProxyType({wid: self.decode(doc) for wid, doc in key})
            if len(self._sets) > 64:
                self._sets.clear()
            self._sets[key] = found
        return found


class StoreConfig:
    """What every unit of work of one store shares: dialect, statements, serializer, caches."""

    __slots__ = ("audit_sql", "dialect", "places", "serializer", "sql", "unit", "warehouses")

    def __init__(
        self, dialect: Dialect, serializer: Serializer | None = None, quantity_places: int = 3
    ) -> None:
        if isinstance(quantity_places, bool) or not isinstance(quantity_places, int):
            raise errors.ValidationError("quantity_places", quantity_places, "must be an int")
        if quantity_places < 0:
            raise errors.ValidationError("quantity_places", quantity_places, "must not be negative")
        self.dialect = dialect
        self.sql = Statements(dialect)
        self.audit_sql = AuditStatements(dialect)
        self.places = quantity_places
        self.unit = Decimal(1).scaleb(-quantity_places)
        self.use_serializer(serializer or Serializer())

    def use_serializer(self, serializer: Serializer) -> None:
        """Write and read orders and warehouses with ``serializer`` from the next unit of work on
        (its workflow registry resolves the workflows stored orders name)."""
        if not isinstance(serializer, Serializer):
            raise errors.ValidationError(
                "serializer",
                serializer,
                "must be a Serializer",
                "pass the serializer built from the service's workflow registry",
            )
        self.serializer = serializer
        self.warehouses = _WarehouseCache(serializer)


class SqlUnitOfWork(abc.ABC):
    """One database transaction over orders, stock, outbox, idempotency records, numbers and
    the audit log.

    Used once, as a context manager: leaving the block without :meth:`commit` rolls back.
    ``statements`` counts the statements the repositories sent (transaction control excluded).
    """

    orders: SqlOrderRepository
    stock: SqlStockRepository
    outbox: SqlOutboxStore
    idempotency: SqlIdempotencyStore
    numbers: SqlOrderNumbers
    audit: SqlAuditLog
    personal_data: SqlPersonalData
    customers: SqlCustomerRepository

    def __init__(self, config: StoreConfig) -> None:
        self._config = config
        self._session: Session | None = None
        self._used = False

    # hooks of the adapters

    @abc.abstractmethod
    def _begin(self) -> Session:
        """Start the transaction and return its session."""

    @abc.abstractmethod
    def _commit(self, session: Session) -> None: ...

    @abc.abstractmethod
    def _rollback(self, session: Session) -> None: ...

    @abc.abstractmethod
    def _release(self, session: Session) -> None:
        """Give the connection back (called once, after commit or rollback)."""

    # the unit of work

    @property
    def statements(self) -> int:
        return 0 if self._session is None else self._session.statements

    def __enter__(self) -> Self:
        if self._used:
            raise errors.ProgrammingError("a unit of work is used once; open a new one")
        self._used = True
        session = self._begin()
        self._session = session
        config = self._config
        self.orders = SqlOrderRepository(session, config)
        self.stock = SqlStockRepository(session, config)
        self.outbox = SqlOutboxStore(session, config)
        self.idempotency = SqlIdempotencyStore(session, config)
        self.numbers = SqlOrderNumbers(session, config)
        self.audit = SqlAuditLog(session, config)
        self.personal_data = SqlPersonalData(session, config)
        self.customers = SqlCustomerRepository(session, config)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self._session
        if session is not None and not session.finished:
            if exc is None:
                self.rollback()
            else:
                # the exception in flight says more than a failed rollback would
                with contextlib.suppress(errors.StorageError):
                    self.rollback()

    def _open(self) -> Session:
        session = self._session
        if session is None:
            raise errors.ProgrammingError("enter the unit of work (with uow: ...) first")
        if session.finished:
            raise session.closed_error()
        return session

    def commit(self) -> None:
        """Make every change durable and visible at once; the unit of work is then finished."""
        session = self._open()
        try:
            self._commit(session)
        except BaseException:
            with contextlib.suppress(errors.StorageError):
                self._rollback(session)
            raise
        finally:
            session.finished = True
            self._release(session)

    def rollback(self) -> None:
        """Undo every change of this unit of work; it is then finished."""
        session = self._open()
        try:
            self._rollback(session)
        finally:
            session.finished = True
            self._release(session)
