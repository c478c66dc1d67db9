"""The customer records of the memory store (``uow.customers``)."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from salesorders.adapters._memory_outbox import check_limit
from salesorders.domain.customers import Customer
from salesorders.errors import (
    ConcurrencyConflictError,
    ConflictError,
    NotFoundError,
    ValidationError,
)

__all__ = ["MemoryCustomerRepository"]

Undo = Callable[[], None]


class MemoryCustomerRepository:
    """A :class:`~salesorders.ports.CustomerRepository` in a dict, undone with the unit of
    work."""

    __slots__ = ("_by_id", "_journal")

    def __init__(self, by_id: dict[str, Customer], journal: list[Undo]) -> None:
        self._by_id = by_id
        self._journal = journal

    def add(self, customer: Customer) -> Customer:
        if not isinstance(customer, Customer):
            raise ValidationError("customer", customer, "must be a Customer")
        if customer.id in self._by_id:
            raise ConflictError(f"customer {customer.id!r} already exists; update it instead")
        stored = attrs.evolve(customer, version=1)
        self._put(customer.id, stored, None)
        return stored

    def save(self, customer: Customer) -> Customer:
        if not isinstance(customer, Customer):
            raise ValidationError("customer", customer, "must be a Customer")
        before = self._by_id.get(customer.id)
        if before is None:
            raise NotFoundError("customer", customer.id)
        if before.version != customer.version:
            raise ConcurrencyConflictError(customer.id, customer.version, before.version)
        stored = attrs.evolve(customer, version=customer.version + 1)
        self._put(customer.id, stored, before)
        return stored

    def get(self, customer_id: str) -> Customer:
        found = self._by_id.get(customer_id)
        if found is None:
            raise NotFoundError("customer", customer_id)
        return found

    def find(self, customer_id: str) -> Customer | None:
        return self._by_id.get(customer_id)

    def list(self, *, after: str | None = None, limit: int = 500) -> list[Customer]:
        check_limit(limit)
        ids = sorted(i for i in self._by_id if after is None or i > after)[:limit]
        return [self._by_id[i] for i in ids]

    def _put(self, customer_id: str, stored: Customer, before: Customer | None) -> None:
        self._by_id[customer_id] = stored
        by_id = self._by_id

        def undo() -> None:
            if before is None:
                by_id.pop(customer_id, None)
            else:
                by_id[customer_id] = before

        self._journal.append(undo)
