"""Repairs: an after-sales service ticket tied to an order line.

A :class:`Repair` moves ``received`` → ``diagnosing`` → ``repairing`` → ``returned`` (to the
customer) → ``closed``, one stage at a time, with notes along the way. Closing it records its
cost and who bears it: the customer (the order then owes that much more: see
``Order.amount_owed``) or the seller under warranty (nothing is owed).
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Final

import attrs

from salesorders.errors import ValidationError

__all__ = ["Repair", "RepairCharge", "RepairNote", "RepairStage", "next_stage", "repair_charge"]

_ZERO: Final = Decimal(0)


class RepairStage(enum.Enum):
    """Where a repair is."""

    RECEIVED = "received"
    DIAGNOSING = "diagnosing"
    REPAIRING = "repairing"
    RETURNED = "returned"
    CLOSED = "closed"


_ORDER: Final = tuple(RepairStage)


def next_stage(stage: RepairStage) -> RepairStage | None:
    """The stage after ``stage`` (``None`` after ``closed``)."""
    index = _ORDER.index(stage) + 1
    return _ORDER[index] if index < len(_ORDER) else None


class RepairCharge(enum.Enum):
    """Who bears a repair's cost."""

    CUSTOMER = "customer"
    WARRANTY = "warranty"


def repair_charge(value: object, field: str = "charge_to") -> RepairCharge:
    try:
        return value if isinstance(value, RepairCharge) else RepairCharge(value)
    except ValueError:
        raise ValidationError(
            field,
            value,
            "is not who bears a repair's cost",
            "use one of " + ", ".join(c.value for c in RepairCharge),
        ) from None


@attrs.frozen(slots=True)
class RepairNote:
    """A note on a repair: what was found or done, when, by whom, at which stage."""

    at: dt.datetime
    stage: RepairStage
    text: str
    actor: str = ""


@attrs.frozen(slots=True)
class Repair:
    """A repair of ``quantity`` units of an order line. ``history`` holds ``(stage, at, actor)``
    for every stage reached; ``cost`` and ``charge_to`` are set when it is closed."""

    id: str
    line_id: str
    sku: str
    quantity: Decimal
    stage: RepairStage
    opened_at: dt.datetime
    opened_by: str = ""
    problem: str = ""
    notes: tuple[RepairNote, ...] = ()
    history: tuple[tuple[str, dt.datetime, str], ...] = ()
    cost: Decimal = _ZERO
    charge_to: RepairCharge | None = None
    closed_at: dt.datetime | None = None
    closed_by: str = ""
    close_reason: str = ""

    @property
    def charged(self) -> Decimal:
        """What the customer owes for this repair (nothing until closed, or under warranty)."""
        return self.cost if self.charge_to is RepairCharge.CUSTOMER else _ZERO
