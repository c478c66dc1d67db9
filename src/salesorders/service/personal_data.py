"""Customers' personal data on request: :class:`ExportCustomerData` gives everything held about
one customer as JSON; :class:`AnonymizeCustomer` replaces their personal data everywhere the
store keeps it (see :mod:`salesorders.domain.personal_data` and ``docs/privacy.md``).

Both are commands, so the permission policy decides who may run them and the audit trail records
each run (stream ``customer:<id>``). An export carries no idempotency key, so it is never stored
as a replayable result: running it twice reads twice. An anonymization may carry one (its result
is a summary naming no one).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, ClassVar

import attrs

from salesorders.domain.checks import require_id, require_text
from salesorders.domain.customers import Customer
from salesorders.domain.order import Order
from salesorders.domain.personal_data import (
    Redactor,
    anonymized_customer,
    anonymized_order,
    open_business,
)
from salesorders.errors import AnonymizationRefusedError, NotFoundError, ValidationError
from salesorders.ports import AuditQuery, UnitOfWork
from salesorders.serialization import Serializer
from salesorders.service.audit_export import record_row
from salesorders.service.customers import orders_of_customer
from salesorders.service.outbox import append_to_stream

__all__ = [
    "ANONYMIZED_EVENT",
    "AnonymizeCustomer",
    "CustomerAnonymized",
    "CustomerDataExport",
    "ExportCustomerData",
    "PersonalData",
    "customer_stream",
]

#: The event type of the outbox message an anonymization writes (stream ``customer:<id>``), for
#: hosts to erase their own copies (search indexes, mail archives, CRM records).
ANONYMIZED_EVENT = "CustomerAnonymized"


def customer_stream(customer_id: str) -> str:
    """The outbox and audit stream of what is done to a customer: ``customer:<id>``."""
    return f"customer:{customer_id}"


@attrs.frozen(slots=True)
class ExportCustomerData:
    """Everything the store holds about ``customer_id``, as JSON data: their orders (with
    addresses, notes, tickets, payments, returns), the events of those orders, what each channel
    sent them, and the audit records of their orders."""

    permission: ClassVar[str] = "customers.export"

    customer_id: str
    actor: str = ""


@attrs.frozen(slots=True)
class AnonymizeCustomer:
    """Replace ``customer_id``'s personal data, on every order and every copy the store keeps,
    with ``[redacted]``; ``reason`` says why (the request it answers; it is kept in the audit
    log, so it must name no one). Refused while the customer has an open order, an unsettled
    return, an unpaid balance or a credit not refunded."""

    permission: ClassVar[str] = "customers.anonymize"

    customer_id: str
    reason: str
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class CustomerDataExport:
    """What :class:`ExportCustomerData` found: ``data`` is JSON data (see :meth:`to_json`)."""

    customer_id: str
    exported_at: dt.datetime
    data: dict[str, Any]

    def to_json(self, *, indent: int | None = 2) -> str:
        """The export as a JSON document."""
        return json.dumps(self.data, indent=indent, ensure_ascii=False, sort_keys=True)

    def audit_figures(self) -> dict[str, Any]:
        return {"orders": len(self.data["orders"]), "events": len(self.data["events"])}


@attrs.frozen(slots=True)
class CustomerAnonymized:
    """What :class:`AnonymizeCustomer` did: the orders anonymized, how many distinct personal
    values were replaced and how many stored copies (outbox messages, delivery records, stored
    results, audit records) were rewritten."""

    customer_id: str
    order_ids: tuple[str, ...]
    values: int
    copies: int
    at: dt.datetime

    def audit_figures(self) -> dict[str, Any]:
        return {"orders": len(self.order_ids), "values": self.values, "copies": self.copies}


def _audit_records(uow: UnitOfWork, streams: list[str]) -> list[dict[str, Any]]:
    log = getattr(uow, "audit", None)
    if log is None:
        return []
    found: list[dict[str, Any]] = []
    for stream in streams:
        after = 0
        while batch := log.read(AuditQuery(stream=stream), after=after, limit=500):
            found.extend(record_row(record) for _position, record in batch)
            after = batch[-1][0]
    return found


class PersonalData:
    """Runs :class:`ExportCustomerData` and :class:`AnonymizeCustomer`."""

    __slots__ = ("serializer",)

    def __init__(self, serializer: Serializer) -> None:
        self.serializer = serializer

    def export(
        self, uow: UnitOfWork, command: ExportCustomerData, now: dt.datetime
    ) -> CustomerDataExport:
        customer_id = require_id(command.customer_id, "customer_id")
        orders = list(orders_of_customer(uow, customer_id))
        events: list[dict[str, Any]] = []
        deliveries: list[dict[str, Any]] = []
        for order in orders:
            for message in uow.outbox.messages(order.id):
                events.append(
                    {
                        "order_id": order.id, "sequence": message.sequence,
                        "event_type": message.event_type,
                        "occurred_at": message.occurred_at.isoformat(),
                        "payload": message.payload,
                    }
                )  # fmt: skip
            for record in uow.outbox.deliveries(stream_id=order.id):
                deliveries.append(
                    {
                        "order_id": order.id, "event_type": record.event_type,
                        "channel": record.channel, "recipient": record.recipient,
                        "status": record.status, "updated_at": record.updated_at.isoformat(),
                    }
                )  # fmt: skip
        streams = [f"order:{o.id}" for o in orders] + [customer_stream(customer_id)]
        records = getattr(uow, "customers", None)
        kept = None if records is None else records.find(customer_id)
        data = {
            "customer_id": customer_id,
            "exported_at": now.isoformat(),
            "customer": None if kept is None else self.serializer.dump(kept),
            "orders": [self.serializer.dump(order) for order in orders],
            "events": events,
            "deliveries": deliveries,
            "audit": _audit_records(uow, streams),
        }
        return CustomerDataExport(customer_id, now, data)

    def anonymize(
        self, uow: UnitOfWork, command: AnonymizeCustomer, now: dt.datetime
    ) -> CustomerAnonymized:
        customer_id = require_id(command.customer_id, "customer_id")
        require_text(command.reason, "reason", blank_ok=False)
        store = getattr(uow, "personal_data", None)
        if store is None:
            raise ValidationError(
                "customer_id",
                customer_id,
                "cannot be anonymized: the store keeps no personal-data port (uow.personal_data)",
                "use MemoryStore, SQLiteStore or PostgresStore, or add a PersonalDataStore",
            )
        orders = list(orders_of_customer(uow, customer_id))
        records = getattr(uow, "customers", None)
        record = None if records is None else records.find(customer_id)
        if not orders and record is None:
            raise NotFoundError("customer", customer_id)
        reasons = open_business(orders)
        if reasons:
            raise AnonymizationRefusedError(customer_id, reasons)
        redactor = Redactor()
        changed_record = None
        if record is not None:
            changed_record, values = anonymized_customer(record, now)
            redactor.add(values)
        anonymized = []
        for order in orders:
            changed, values = anonymized_order(order, now)
            redactor.add(values)
            anonymized.append(changed)
        # The values may be quoted elsewhere in a document (an order's history, a return's note,
        # a change's reason, a note not marked personal): every string of it is searched too.
        dump, load = self.serializer.dump, self.serializer.load
        if changed_record is not None:
            records.save(load(redactor.data(dump(changed_record)), Customer))  # type: ignore[union-attr]
        for changed in anonymized:
            uow.orders.save(load(redactor.data(dump(changed)), Order))
        streams = [f"order:{o.id}" for o in orders]
        streams += [customer_stream(customer_id), f"denied:customer:{customer_id}"]
        copies = store.redact([o.id for o in orders], streams, redactor)
        order_ids = tuple(o.id for o in orders)
        payload = {
            "customer_id": customer_id,
            "order_ids": list(order_ids),
            "reason": command.reason,
            "actor": command.actor,
            "at": now.isoformat(),
        }
        append_to_stream(uow, customer_stream(customer_id), [(ANONYMIZED_EVENT, payload)], now)
        return CustomerAnonymized(customer_id, order_ids, len(redactor.values), copies, now)
