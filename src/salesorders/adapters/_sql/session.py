"""A driver's open transaction as the repositories see it (:class:`Session`), and the translation
of driver errors into the library's :class:`~salesorders.errors.StorageError` tree."""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final

from salesorders import errors
from salesorders.ports import read_only_refusal

__all__ = ["Row", "Session", "translate_error"]

Row = tuple[Any, ...]


_DRIVER_ERRORS: Final[Mapping[str, type[errors.StorageError]]] = {
    "OperationalError": errors.OperationalError,
    "IntegrityError": errors.IntegrityError,
    "ProgrammingError": errors.ProgrammingError,
    "DataError": errors.DataError,
    "InternalError": errors.InternalError,
    "NotSupportedError": errors.NotSupportedError,
    "InterfaceError": errors.InterfaceError,
    "DatabaseError": errors.DatabaseError,
}

_HINTS: Final[Mapping[type[errors.StorageError], str]] = {
    errors.OperationalError: (
        "the database was busy, a lock or statement timed out, or the connection failed; "
        "retry the command"
    ),
    errors.IntegrityError: "a row with the same key is already stored, or a constraint refused it",
    errors.ProgrammingError: "the schema does not match this library; open the store to migrate it",
    errors.DataError: "a value does not fit its column",
    errors.InterfaceError: "the connection is closed or unusable; open a new one",
}


def translate_error(error: BaseException) -> errors.StorageError:
    """The :class:`~salesorders.errors.StorageError` subclass named like the driver's PEP 249
    class of ``error`` (serialization failures and deadlocks are ``OperationalError``s).

    Raise it ``from error`` so the driver's error stays the ``__cause__``.
    """
    target: type[errors.StorageError] = errors.StorageError
    for cls in type(error).__mro__:
        found = _DRIVER_ERRORS.get(cls.__name__)
        if found is not None:
            target = found
            break
    hint = _HINTS.get(target, "")
    message = f"{type(error).__name__}: {str(error).strip()}"
    return target(f"{message}; {hint}" if hint else message)


class Session(abc.ABC):
    """One open transaction of a driver connection, as the repositories see it.

    :meth:`run`, :meth:`rows` and :meth:`count` each count one statement in :attr:`statements` and
    raise the driver's errors (:attr:`driver_error`) as :class:`~salesorders.errors.StorageError`
    subclasses (see :func:`translate_error`); a driver supplies only :meth:`_run`, :meth:`_rows`
    and :meth:`_count`.
    """

    __slots__ = ("erased", "failed", "finished", "read_only", "statements", "wrote")

    #: The driver's error base class, translated at this boundary.
    driver_error: ClassVar[type[Exception]]

    def __init__(self, *, read_only: bool = False) -> None:
        self.statements = 0
        #: A read: every statement that would change data raises
        #: :class:`~salesorders.errors.ProgrammingError` before it is sent (see :meth:`_start`).
        self.read_only = read_only
        self.finished = False
        #: Set once a statement changed (or may have changed) data, or once one failed: a unit
        #: of work with neither has nothing to undo.
        self.wrote = False
        self.failed = False
        #: Set when personal data was redacted: the store may erase old row versions on commit.
        self.erased = False

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Execute a statement whose result is not needed."""
        self._start(writes=True)
        try:
            self._run(sql, params)
        except self.driver_error as error:
            raise self.failure(error) from error

    def rows(self, sql: str, params: Sequence[Any] = (), *, writes: bool = False) -> list[Row]:
        """Execute a statement and return every row (``writes``: it also changes data)."""
        self._start(writes=writes)
        try:
            return self._rows(sql, params)
        except self.driver_error as error:
            raise self.failure(error) from error

    def rows_soon(self, sql: str, params: Sequence[Any] = ()) -> Callable[[], list[Row]]:
        """Send a read now and return a function that gives its rows. A driver that pipelines
        statements sends it without waiting for the answer, so the caller can work while it
        travels; this one reads it at once. Errors are raised by whichever call meets them."""
        found = self.rows(sql, params)
        return lambda: found

    @property
    def reads_ahead(self) -> bool:
        """Whether :meth:`read_ahead` can save a round trip here (else it does nothing)."""
        return False

    def read_ahead(self, sql: str, params: Sequence[Any]) -> None:
        """Say that :meth:`rows` of this read will be asked for soon. A driver that pipelines
        statements sends it right after the next statement whose answer is waited for, so both
        answers come in one round trip (this one does nothing). The read is only used if it is
        asked for, with the same parameters, before any statement that may change data."""
        del sql, params  # nothing to save here: each statement is answered when it runs

    def count(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute a statement and return how many rows it changed."""
        self._start(writes=True)
        try:
            return self._count(sql, params)
        except self.driver_error as error:
            raise self.failure(error) from error

    def failure(self, error: Exception) -> errors.SalesOrdersError:
        """Mark the transaction failed and return the library's error for a driver error."""
        self.failed = True
        return self.translate(error)

    def translate(self, error: Exception) -> errors.SalesOrdersError:
        return translate_error(error)

    def read_only_error(self) -> errors.ProgrammingError:
        """The error of a write attempted in a read (raised before anything is sent)."""
        return read_only_refusal()

    def closed_error(self) -> errors.ProgrammingError:
        return errors.ProgrammingError(
            "this unit of work is finished (committed or rolled back); open a new one"
        )

    def _start(self, *, writes: bool) -> None:
        if self.finished:
            raise self.closed_error()
        if writes:
            if self.read_only:
                raise self.read_only_error()
            self.wrote = True
        self.statements += 1

    @abc.abstractmethod
    def _run(self, sql: str, params: Sequence[Any]) -> None: ...

    @abc.abstractmethod
    def _rows(self, sql: str, params: Sequence[Any]) -> list[Row]: ...

    @abc.abstractmethod
    def _count(self, sql: str, params: Sequence[Any]) -> int: ...
