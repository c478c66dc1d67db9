"""Customers' personal data on request: export everything held about a customer, or anonymize
them on every store.

:data:`PERSONAL_FIELDS` registers which fields hold personal data (addresses, notes marked
``personal``, ticket descriptions, contacts, delivery recipients). :class:`ExportCustomerData`
returns a :class:`CustomerDataExport` (JSON); :class:`AnonymizeCustomer` replaces the customer's
personal values with :data:`REDACTED` in their orders and in every copy the store keeps (outbox
messages, delivery records, stored results, audit records, re-sealed so the chains hold), and
returns a :class:`CustomerAnonymized`. It is refused with
:class:`~salesorders.errors.AnonymizationRefusedError` while the customer has an open order, an
unsettled return, an unpaid balance or a credit not refunded.
"""

from salesorders._public import publish
from salesorders.domain.personal_data import (
    MIN_SEARCHED_LENGTH,
    PERSONAL_FIELDS,
    REDACTED,
    Redactor,
    anonymized_order,
    open_business,
    personal_values,
    resealed,
)
from salesorders.errors import AnonymizationRefusedError
from salesorders.service.personal_data import (
    ANONYMIZED_EVENT,
    AnonymizeCustomer,
    CustomerAnonymized,
    CustomerDataExport,
    ExportCustomerData,
    customer_stream,
)

__all__ = [
    "ANONYMIZED_EVENT",
    "MIN_SEARCHED_LENGTH",
    "PERSONAL_FIELDS",
    "REDACTED",
    "AnonymizationRefusedError",
    "AnonymizeCustomer",
    "CustomerAnonymized",
    "CustomerDataExport",
    "ExportCustomerData",
    "Redactor",
    "anonymized_order",
    "customer_stream",
    "open_business",
    "personal_values",
    "resealed",
]

publish(globals(), __name__, __all__)
