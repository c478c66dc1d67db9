"""Personal data: where the library keeps it, how an order is anonymized, and how the copies
of it elsewhere (outbox messages, delivery records, stored results, audit records) are redacted.

:data:`PERSONAL_FIELDS` is the registry: per kind of record, the fields that hold personal data.
:func:`anonymized_order` replaces those fields of one order with :data:`REDACTED` and returns the
values it replaced; a :class:`Redactor` then finds those values in any JSON data (events copy a
note's text, a delivery's error names its recipient) and replaces them there too. Totals,
quantities, dates, ids and states are never touched, so every figure stays as it was.

:func:`open_business` says why a customer cannot be anonymized yet: an order still open, a
return not settled, a balance not paid or a credit not refunded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, TypeVar

import attrs

from salesorders.domain.audit import AuditRecord, record_hash
from salesorders.domain.changes import ChangeAction, ChangeRequest
from salesorders.domain.customers import Customer
from salesorders.domain.order import Order
from salesorders.domain.order_values import Address
from salesorders.domain.returns import ReturnState
from salesorders.domain.tickets import OrderNote, Ticket, TicketNote

__all__ = [
    "MIN_SEARCHED_LENGTH",
    "PERSONAL_FIELDS",
    "REDACTED",
    "Redactor",
    "anonymized_customer",
    "anonymized_order",
    "open_business",
    "personal_values",
    "resealed",
]

#: What a personal value is replaced with.
REDACTED: Final = "[redacted]"

#: A personal value shorter than this is replaced where it is registered, but not searched for in
#: copies: a short value ("5", "Ulm") would match ids, codes and words that are not about the
#: customer.
MIN_SEARCHED_LENGTH: Final = 4

#: The registry: per kind of record, the fields holding personal data. Notes are personal when
#: marked so (``personal=True``); a ticket's description is the customer's own words. The
#: country and region of an address stay (tax reports and allocation need them, and they name
#: no one); so do ids, which are the host's opaque keys.
PERSONAL_FIELDS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "Address": ("name", "line1", "line2", "city", "postal_code", "phone", "email"),
        "OrderNote": ("text",),
        "TicketNote": ("text",),
        "CustomerNote": ("text",),
        "Ticket": ("description",),
        "CustomerContact": ("name", "email", "phone"),
        "DeliveryRecord": ("recipient",),
    }
)

_ADDRESS_FIELDS: Final = PERSONAL_FIELDS["Address"]


class Redactor:
    """Replaces known personal values in text and JSON data with :data:`REDACTED`.

    Values of at least :data:`MIN_SEARCHED_LENGTH` characters are searched: a string equal to
    one is replaced whole, a longer string has each occurrence replaced. Shorter values are
    ignored here (they are replaced only in their registered fields). Mapping keys, numbers and
    booleans are kept.
    """

    __slots__ = ("_exact", "_searched")

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._exact: set[str] = set()
        self._searched: list[str] = []
        self.add(values)

    def add(self, values: Iterable[str]) -> None:
        """Also redact ``values`` (blank ones and the marker itself are ignored)."""
        for value in values:
            text = value.strip() if isinstance(value, str) else ""
            if len(text) < MIN_SEARCHED_LENGTH or text == REDACTED or text in self._exact:
                continue
            self._exact.add(text)
            self._searched.append(text)
        self._searched.sort(key=len, reverse=True)  # a longer value first: "Jane Doe", "Jane"

    @property
    def values(self) -> frozenset[str]:
        """The values searched for."""
        return frozenset(self._exact)

    def text(self, value: str) -> str:
        """``value`` with every known personal value replaced."""
        if value.strip() in self._exact:
            return REDACTED
        for searched in self._searched:
            if searched in value:
                value = value.replace(searched, REDACTED)
        return value

    def data(self, value: Any) -> Any:
        """JSON data (dicts, lists, strings, numbers) with every known value replaced in its
        strings; the structure and the keys stay."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {key: self.data(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(item) for item in value]
        return value


_T = TypeVar("_T")


def _blank(value: str) -> str:
    return value if not value else REDACTED


def _address(address: Address | None, found: list[str]) -> Address | None:
    if address is None:
        return None
    values = {name: getattr(address, name) for name in _ADDRESS_FIELDS}
    found.extend(values.values())
    return attrs.evolve(address, **{name: _blank(value) for name, value in values.items()})


def _note(note: _T, found: list[str]) -> _T:
    if not getattr(note, "personal", False):
        return note
    found.append(note.text)  # type: ignore[attr-defined]
    return attrs.evolve(note, text=REDACTED)  # type: ignore[misc]


def _ticket(ticket: Ticket, found: list[str]) -> Ticket:
    found.append(ticket.description)
    notes: list[TicketNote] = [_note(note, found) for note in ticket.notes]
    return attrs.evolve(ticket, description=REDACTED, notes=tuple(notes))


def _change(change: ChangeRequest, found: list[str]) -> ChangeRequest:
    actions: list[ChangeAction] = []
    for action in change.actions:
        if action.address is not None:
            action = attrs.evolve(action, address=_address(action.address, found))
        actions.append(action)
    return attrs.evolve(change, actions=tuple(actions))


def personal_values(order: Order) -> frozenset[str]:
    """The personal values ``order`` holds in the fields of :data:`PERSONAL_FIELDS`."""
    found: list[str] = []
    _anonymize_into(order, found)
    return frozenset(v.strip() for v in found if v and v.strip() and v != REDACTED)


def anonymized_order(order: Order, at: dt.datetime) -> tuple[Order, frozenset[str]]:
    """``order`` with every registered personal field replaced by :data:`REDACTED` (updated at
    ``at``, its version unchanged for the repository to bump), and the values replaced."""
    found: list[str] = []
    changed = _anonymize_into(order, found)
    changed.updated_at = max(order.updated_at, at)
    return changed, frozenset(v.strip() for v in found if v and v.strip() and v != REDACTED)


def _anonymize_into(order: Order, found: list[str]) -> Order:
    notes: list[OrderNote] = [_note(note, found) for note in order.notes]
    return attrs.evolve(
        order,
        billing_address=_address(order.billing_address, found),
        shipping_address=_address(order.shipping_address, found),
        notes=tuple(notes),
        tickets=tuple(_ticket(ticket, found) for ticket in order.tickets),
        changes=tuple(_change(change, found) for change in order.changes),
    )


def anonymized_customer(customer: Customer, at: dt.datetime) -> tuple[Customer, frozenset[str]]:
    """``customer``'s record with its contact's name, email and phone, its addresses and its
    personal notes replaced (email and phone become ``None``: a contact needs a real address or
    none), marked anonymized at ``at``; and the values replaced."""
    contact = customer.contact
    found: list[str] = [contact.name, contact.email or "", contact.phone or ""]
    addresses = tuple(a for a in (_address(a, found) for a in customer.addresses) if a is not None)
    notes = tuple(_note(note, found) for note in customer.notes)
    changed = attrs.evolve(
        customer,
        contact=attrs.evolve(contact, name=_blank(contact.name), email=None, phone=None),
        addresses=addresses,
        notes=notes,
        anonymized_at=at,
        updated_at=max(customer.updated_at, at),
    )
    return changed, frozenset(v.strip() for v in found if v and v.strip() and v != REDACTED)


_OPEN_RETURNS: Final = frozenset({ReturnState.REQUESTED, ReturnState.APPROVED})


def open_business(orders: Sequence[Order]) -> tuple[str, ...]:
    """Why the customer of ``orders`` cannot be anonymized yet (empty: nothing stands in the
    way): an order not in a final state, a return requested or approved but not settled, a
    balance still due, a credit the customer is still owed."""
    reasons: list[str] = []
    for order in orders:
        finished = order.state in order.workflow.finals
        if not finished:
            reasons.append(f"order {order.id} is {order.state}: finish or cancel it first")
        for found in order.returns:
            if found.state in _OPEN_RETURNS:
                reasons.append(
                    f"return {found.id} of order {order.id} is {found.state.value}: "
                    "receive or reject it first"
                )
        due = order.balance_due
        if finished and due.amount > 0 and order.state not in _CLOSED_UNPAID:
            reasons.append(
                f"order {order.id} has {due.amount} {order.currency} unpaid: collect it first"
            )
        credit = order.customer_credit
        if credit.amount > 0:
            reasons.append(
                f"order {order.id} owes the customer {credit.amount} {order.currency}: "
                "refund it first"
            )
    return tuple(reasons)


#: Final states in which an amount left "due" is no debt (nothing was delivered).
_CLOSED_UNPAID: Final = frozenset({"cancelled"})


def resealed(records: Collection[AuditRecord], redactor: Redactor) -> list[AuditRecord]:
    """The records of one stream (in sequence order) with personal values redacted from their
    ``reason``, ``before`` and ``after``, and every hash from the first changed record on
    computed again, so the chain holds. Returns only the records that changed."""
    changed: list[AuditRecord] = []
    previous_hash: str | None = None
    for record in records:
        reason = redactor.text(record.reason)
        before = redactor.data(dict(record.before))
        after = redactor.data(dict(record.after))
        link = record.previous_hash if previous_hash is None else previous_hash
        if (
            reason == record.reason
            and before == record.before
            and after == record.after
            and link == record.previous_hash
        ):
            previous_hash = record.hash
            continue
        updated = attrs.evolve(
            record, reason=reason, before=before, after=after, previous_hash=link, hash=""
        )
        updated = attrs.evolve(updated, hash=record_hash(updated))
        changed.append(updated)
        previous_hash = updated.hash
    return changed
