"""The after-sales commands: returns (request, review, receipt), exchanges and repairs.

Plain immutable values like every command (see :mod:`salesorders.service.commands`): each carries
``idempotency_key`` and ``actor``. Quantities are exact (``Decimal``, ``int`` or ``str``); money is
a ``Money`` in the order's currency, or a ``Decimal``, ``str`` or ``int`` taken in it.
``return_id`` and ``repair_id`` name a return or repair of the order (``RequestReturn`` numbers
new returns ``R1``, ``R2`` … and ``OpenRepair`` new repairs ``RP1``, ``RP2`` … when left out).
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

import attrs
from moneyed import Money

from salesorders.domain.returns import Inspection
from salesorders.service.commands import LineSpec

__all__ = [
    "AdvanceRepair",
    "ApproveReturn",
    "CloseRepair",
    "ExchangeReturn",
    "OpenRepair",
    "ReceiveReturn",
    "RecordRepairNote",
    "RejectReturn",
    "RequestReturn",
    "ReturnItem",
]

Amount = Money | Decimal | str | int


@attrs.frozen(slots=True)
class ReturnItem:
    """``quantity`` delivered units of order line ``line_id`` to return, and why: ``reason`` is
    ``no_reason``, ``defective``, ``damaged``, ``wrong_item`` or ``not_as_described``."""

    line_id: str
    quantity: Decimal | int | str
    reason: str = "no_reason"


@attrs.frozen(slots=True)
class RequestReturn:
    """Ask back delivered units of the order's lines; the return awaits review. Refused when a
    line is outside its return window or more is asked than was delivered."""

    permission: ClassVar[str] = "returns.request"

    order_id: str
    lines: tuple[ReturnItem, ...]
    note: str = ""
    return_id: str | None = None
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class ApproveReturn:
    """Accept a requested return (``actor`` is the reviewer; ``reason`` says why)."""

    permission: ClassVar[str] = "returns.approve"

    order_id: str
    return_id: str
    reason: str = ""
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class RejectReturn:
    """Refuse a requested return (``actor`` is the reviewer; ``reason`` is required)."""

    permission: ClassVar[str] = "returns.approve"

    order_id: str
    return_id: str
    reason: str
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class ReceiveReturn:
    """The goods of an approved return came back: ``inspections`` say, for every unit, restock
    (into ``warehouse_id``, through the stock engine) or write-off (no stock movement). A credit
    note is issued for the exact refund, which goes back to the original payments
    (``refund_to="original_payment"``) or stays as store credit (``"store_credit"``)."""

    permission: ClassVar[str] = "returns.receive"

    order_id: str
    return_id: str
    inspections: tuple[Inspection, ...]
    refund_to: str = "original_payment"
    reason: str = ""
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class ExchangeReturn:
    """Receive an approved return (as ``ReceiveReturn``) and add ``replacement`` to the order in
    its place, reserved from stock. The difference is settled both ways: the customer owes what
    the replacement costs beyond the credit, or the surplus is refunded per ``refund_to``."""

    permission: ClassVar[str] = "returns.exchange"

    order_id: str
    return_id: str
    inspections: tuple[Inspection, ...]
    replacement: LineSpec
    refund_to: str = "original_payment"
    reason: str = ""
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class OpenRepair:
    """Take in ``quantity`` delivered units of a line for repair (stage ``received``)."""

    permission: ClassVar[str] = "returns.repair"

    order_id: str
    line_id: str
    quantity: Decimal | int | str = 1
    problem: str = ""
    repair_id: str | None = None
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class AdvanceRepair:
    """Move a repair to its next ``stage``: ``diagnosing``, ``repairing``, then ``returned``."""

    permission: ClassVar[str] = "returns.repair"

    order_id: str
    repair_id: str
    stage: str
    reason: str = ""
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class RecordRepairNote:
    """Note what was found or done on an open repair."""

    permission: ClassVar[str] = "returns.repair"

    order_id: str
    repair_id: str
    note: str
    idempotency_key: str | None = None
    actor: str = ""


@attrs.frozen(slots=True)
class CloseRepair:
    """Close a repair returned to the customer: its ``cost`` is charged to the ``customer`` (the
    order owes it) or absorbed under ``warranty``."""

    permission: ClassVar[str] = "returns.repair"

    order_id: str
    repair_id: str
    cost: Amount
    charge_to: str = "customer"
    reason: str = ""
    idempotency_key: str | None = None
    actor: str = ""
