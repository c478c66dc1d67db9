"""The ``customers`` table of schema version 13: the customer records of the SQL stores
(``uow.customers``), one row per customer holding the record as a JSON document."""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

import attrs

from salesorders import errors
from salesorders.adapters._sql.dialect import Dialect, _json_text
from salesorders.adapters._sql.session import Session
from salesorders.domain.customers import Customer

if TYPE_CHECKING:
    from salesorders.adapters._sql.unit_of_work import StoreConfig

__all__ = ["SqlCustomerRepository"]


class _Statements:
    def __init__(self, dialect: Dialect) -> None:
        r = dialect.render
        json_type = dialect.types["json"]
        self.insert = r(
            "INSERT INTO {p}customers (id, tier, version, updated_at, doc) "
            f"VALUES (?, ?, ?, ?, CAST(? AS {json_type}))"
        )
        self.update = r(
            "UPDATE {p}customers SET tier = ?, version = ?, updated_at = ?, "
            f"doc = CAST(? AS {json_type}) WHERE id = ? AND version = ?"
        )
        self.version = r("SELECT version FROM {p}customers WHERE id = ?")
        self.get = r("SELECT doc, version FROM {p}customers WHERE id = ?")
        self.first = r("SELECT doc, version FROM {p}customers ORDER BY id LIMIT ?")
        self.after = r("SELECT doc, version FROM {p}customers WHERE id > ? ORDER BY id LIMIT ?")


@functools.lru_cache(maxsize=8)
def _statements(dialect: Dialect) -> _Statements:
    return _Statements(dialect)


class SqlCustomerRepository:
    """A :class:`~salesorders.ports.CustomerRepository` over the ``customers`` table."""

    __slots__ = ("_config", "_session", "_sql")

    def __init__(self, session: Session, config: StoreConfig) -> None:
        self._session = session
        self._config = config
        self._sql = _statements(config.dialect)

    def _doc(self, customer: Customer) -> str:
        return _json_text(self._config.serializer.dump(customer))

    def _load(self, doc: Any, version: Any) -> Customer:
        data = json.loads(doc) if isinstance(doc, str | bytes) else doc
        loaded = self._config.serializer.load(data, Customer)
        return attrs.evolve(loaded, version=int(version))

    def add(self, customer: Customer) -> Customer:
        if not isinstance(customer, Customer):
            raise errors.ValidationError("customer", customer, "must be a Customer")
        stored = attrs.evolve(customer, version=1)
        d = self._config.dialect
        try:
            self._session.run(
                self._sql.insert,
                (stored.id, stored.tier, 1, d.time(stored.updated_at), self._doc(stored)),
            )
        except errors.IntegrityError as error:
            raise errors.ConflictError(
                f"customer {customer.id!r} already exists; update it instead"
            ) from error
        return stored

    def save(self, customer: Customer) -> Customer:
        if not isinstance(customer, Customer):
            raise errors.ValidationError("customer", customer, "must be a Customer")
        expected = customer.version
        stored = attrs.evolve(customer, version=expected + 1)
        d = self._config.dialect
        changed = self._session.count(
            self._sql.update,
            (stored.tier, expected + 1, d.time(stored.updated_at), self._doc(stored),
             stored.id, expected),
        )  # fmt: skip
        if changed == 0:
            rows = self._session.rows(self._sql.version, (customer.id,))
            if not rows:
                raise errors.NotFoundError("customer", customer.id)
            raise errors.ConcurrencyConflictError(customer.id, expected, int(rows[0][0]))
        return stored

    def find(self, customer_id: str) -> Customer | None:
        rows = self._session.rows(self._sql.get, (customer_id,))
        return self._load(*rows[0]) if rows else None

    def get(self, customer_id: str) -> Customer:
        found = self.find(customer_id)
        if found is None:
            raise errors.NotFoundError("customer", customer_id)
        return found

    def list(self, *, after: str | None = None, limit: int = 500) -> list[Customer]:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise errors.ValidationError("limit", limit, "must be an int of at least 1")
        if after is None:
            rows = self._session.rows(self._sql.first, (limit,))
        else:
            rows = self._session.rows(self._sql.after, (after, limit))
        return [self._load(doc, version) for doc, version in rows]
