"""Idempotent commands with Stripe's semantics.

* The fingerprint of a command is the SHA-256 of its name and the canonical form of its fields
  without ``idempotency_key`` (see :func:`command_fingerprint`).
* The first run under a key stores ``(command, fingerprint, result)`` in the same unit of work as
  the command's effects, so either both are committed or neither.
* A retry with the same key and the same payload returns the stored result and changes nothing —
  also after a restart, since the record is in the store. The same key with a different payload
  (or another command) raises :class:`~salesorders.errors.IdempotencyConflictError`.
* Two concurrent runs under one key execute once: the loser's ``put`` conflicts, its unit of work
  rolls back, and it returns the winner's stored result.
* Records expire after the retention period (24 hours by default); the key is then free again.
* A **scope** (a tenant or an account) gives keys a key space of their own, as Stripe scopes keys
  per account: the record is stored under :func:`scoped_key`, so two tenants sending the same
  key run two commands. A key or scope may not hold the separator (U+001F) that joins them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Generic, TypeVar

import attrs

from salesorders.domain.checks import KEY_MAX_LENGTH, require_id, require_text
from salesorders.errors import IdempotencyConflictError, ValidationError
from salesorders.ports import IdempotencyRecord
from salesorders.serialization import Serializer

__all__ = [
    "Execution",
    "IdempotencyKeeper",
    "check_key",
    "check_scope",
    "command_fingerprint",
    "scoped_key",
]

_THE_KEY = frozenset({"idempotency_key"})
_SEPARATOR = "\x1f"  # joins a scope and a key; neither may hold it

T = TypeVar("T")


@attrs.frozen(slots=True)
class Execution(Generic[T]):
    """What :meth:`SalesService.execute <salesorders.service.SalesService.execute>` returns: the
    command's ``result``, and ``replayed``: true when it is the result an earlier run stored under
    the same idempotency key (this run changed nothing)."""

    result: T
    replayed: bool


def _refuse_separator(value: str, field: str) -> str:
    if _SEPARATOR in value:
        raise ValidationError(
            field,
            value,
            "must not contain the character U+001F (unit separator)",
            "remove the control characters",
        )
    return value


def check_key(value: object, field: str = "idempotency_key") -> str:
    """An idempotency key: a non-empty text of at most 255 characters, without U+001F."""
    return _refuse_separator(require_text(value, field, max_length=KEY_MAX_LENGTH), field)


def check_scope(value: object, field: str = "scope") -> str:
    """An idempotency scope (a tenant or account id): an id, without U+001F."""
    return _refuse_separator(require_id(value, field), field)


def scoped_key(scope: str | None, key: str) -> str:
    """The key an idempotency record is stored under: ``key`` itself without a scope."""
    return key if scope is None else f"{scope}{_SEPARATOR}{key}"


def command_fingerprint(command: object, serializer: Serializer) -> str:
    """SHA-256 hex of the command's name and its canonical form without the idempotency key.

    The canonical form is the ``repr`` of the serialized command: only strings, numbers,
    booleans, ``None``, lists and dicts, the dicts' keys in the order of the command's fields and
    sets as sorted lists, so equal commands give equal text in every process (``repr`` of these
    types does not depend on the locale or on hash seeds). The text is written by a function
    compiled once per command class, without building the data it shows.
    """
    canonical = serializer.canonical_text(type(command), _THE_KEY)(command)
    text = f"{type(command).__name__}\n{canonical}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class IdempotencyKeeper:
    """Builds records for new results and answers retries from stored ones."""

    __slots__ = ("retention", "serializer")

    def __init__(self, serializer: Serializer, retention: dt.timedelta) -> None:
        if not isinstance(retention, dt.timedelta) or retention <= dt.timedelta(0):
            raise ValidationError(
                "idempotency_retention", retention, "must be a positive timedelta"
            )
        self.serializer = serializer
        self.retention = retention

    def fingerprint(self, command: object) -> str:
        return command_fingerprint(command, self.serializer)

    def record(
        self, key: str, command: object, fingerprint: str, result: object, now: dt.datetime
    ) -> IdempotencyRecord:
        """The record to store with the command's effects."""
        return IdempotencyRecord(
            key=key,
            command=type(command).__name__,
            fingerprint=fingerprint,
            result={"value": self.serializer.dumper(type(result))(result)},
            created_at=now,
            expires_at=now + self.retention,
        )

    def replay(
        self, record: IdempotencyRecord, command: object, fingerprint: str, result_type: Any
    ) -> Any:
        """The stored result, if ``record`` was made by this same command; else a conflict."""
        name = type(command).__name__
        if record.command != name or record.fingerprint != fingerprint:
            raise IdempotencyConflictError(getattr(command, "idempotency_key", record.key), name)
        value = record.result["value"]
        if result_type is None:
            return None
        return self.serializer.load(value, result_type)
