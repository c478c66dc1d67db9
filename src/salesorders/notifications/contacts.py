"""The customers' contact details as notifications need them: the :class:`CustomerDirectory` port
and an in-memory implementation (the stores' customer records are one too: see
:class:`~salesorders.service.customers.StoreCustomerDirectory`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from salesorders.domain.contacts import CHANNEL_NAME, CustomerContact
from salesorders.errors import ValidationError

__all__ = ["CHANNEL_NAME", "CustomerContact", "CustomerDirectory", "InMemoryCustomerDirectory"]


class CustomerDirectory(Protocol):
    """The customers' contact details, as the host keeps them.

    Contract: ``contact`` returns the customer's current :class:`CustomerContact`, or ``None``
    for a customer it does not know (nothing is then sent to them but host-level channels such as
    webhooks).
    """

    def contact(self, customer_id: str) -> CustomerContact | None: ...


class InMemoryCustomerDirectory:
    """A :class:`CustomerDirectory` kept in a dict: for tests, demos and small hosts."""

    def __init__(self, contacts: Iterable[CustomerContact] = ()) -> None:
        self._contacts: dict[str, CustomerContact] = {}
        for contact in contacts:
            self.put(contact)

    def put(self, contact: CustomerContact) -> None:
        """Add or replace a customer's contact."""
        if not isinstance(contact, CustomerContact):
            raise ValidationError("contact", contact, "must be a CustomerContact")
        self._contacts[contact.customer_id] = contact

    def remove(self, customer_id: str) -> None:
        """Forget a customer (no error if unknown)."""
        self._contacts.pop(customer_id, None)

    def contact(self, customer_id: str) -> CustomerContact | None:
        return self._contacts.get(customer_id)

    def __len__(self) -> int:
        return len(self._contacts)
