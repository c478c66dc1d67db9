"""The order's repair verbs, kept beside the aggregate's core.

:class:`OrderRepairs` is a base of :class:`~salesorders.domain.order.Order`: open a repair ticket
for delivered units of a line, move it one stage at a time, note what was found and done, and
close it with its cost — charged to the customer (the order owes that much more) or absorbed
under warranty. Each verb checks everything first and raises an event; a verb that raises
changes nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import attrs
from moneyed import Money

from salesorders.domain import events as ev
from salesorders.domain.checks import aware_time, check_name, check_text, next_free_id, require_id
from salesorders.domain.money import to_decimal, to_quantity
from salesorders.domain.payments import check_places
from salesorders.domain.repairs import (
    Repair,
    RepairNote,
    RepairStage,
    next_stage,
    repair_charge,
)
from salesorders.errors import (
    CurrencyMismatchError,
    InvalidQuantityError,
    OrderError,
    ValidationError,
)

if TYPE_CHECKING:
    from salesorders.domain.order_values import OrderLine

__all__ = ["OrderRepairs"]

_ZERO: Final = Decimal(0)


class OrderRepairs:
    """Repair verbs of the order (a base class of ``Order``)."""

    if not TYPE_CHECKING:
        __slots__ = ()  # Order keeps its fields in slots; this base adds none

    if TYPE_CHECKING:
        id: str
        currency: str
        repairs: tuple[Repair, ...]
        updated_at: dt.datetime
        event_sequence: int

        def _raise(self, event: ev.OrderEvent) -> None: ...

        def line(self, line_id: str) -> OrderLine: ...

        def delivered_quantities(self) -> dict[str, Decimal]: ...

    def repair(self, repair_id: str) -> Repair:
        for found in self.repairs:
            if found.id == repair_id:
                return found
        raise ValidationError(
            "repair_id", repair_id, f"is not a repair of order {self.id}", "check the repair id"
        )

    def next_repair_id(self) -> str:
        return next_free_id("RP", (r.id for r in self.repairs))

    def open_repair(
        self,
        repair_id: str,
        line_id: str,
        quantity: object,
        at: dt.datetime,
        *,
        problem: str = "",
        actor: str = "",
    ) -> Repair:
        """Take in ``quantity`` delivered units of a line for repair (stage ``received``)."""
        require_id(repair_id, "repair_id")
        if any(r.id == repair_id for r in self.repairs):
            raise ValidationError("repair_id", repair_id, "is already a repair of this order")
        self._step(at, actor, problem, "problem")
        line = self.line(line_id)
        amount = to_quantity(quantity, "quantity", line.quantity_precision)
        delivered = self.delivered_quantities().get(line.line_id, _ZERO)
        if amount > delivered:
            raise InvalidQuantityError(
                "quantity",
                str(amount),
                f"is more than the {delivered} of line {line.line_id} delivered",
                "repair only delivered units",
            )
        stage = RepairStage.RECEIVED
        created = Repair(
            repair_id,
            line.line_id,
            line.sku,
            amount,
            stage,
            at,
            actor,
            problem,
            history=((stage.value, at, actor),),
        )
        self._store_repair(created, at)
        self._repair_event(ev.RepairOpened, created, at, actor, problem)
        return created

    def advance_repair(
        self,
        repair_id: str,
        stage: object,
        at: dt.datetime,
        *,
        actor: str = "",
        reason: str = "",
    ) -> Repair:
        """Move a repair to its next stage (received → diagnosing → repairing → returned);
        closing takes :meth:`close_repair`."""
        found = self.repair(repair_id)
        self._step(at, actor, reason, "reason")
        target = _stage(stage)
        following = next_stage(found.stage)
        if target is RepairStage.CLOSED:
            raise ValidationError("stage", target.value, "is reached by closing", "use CloseRepair")
        if target is not following:
            raise OrderError(
                self.id,
                f"order {self.id}: repair {repair_id} is {found.stage.value}; it can only move "
                f"to {following.value if following else 'nothing'}, not {target.value}",
            )
        updated = attrs.evolve(
            found, stage=target, history=(*found.history, (target.value, at, actor))
        )
        self._store_repair(updated, at)
        self._repair_event(ev.RepairAdvanced, updated, at, actor, reason)
        return updated

    def note_repair(self, repair_id: str, text: str, at: dt.datetime, *, actor: str = "") -> Repair:
        """Add a note (what was found or done) to an open repair."""
        found = self._open(repair_id)
        self._step(at, actor, text, "note")
        if not isinstance(text, str) or not text.strip():
            raise ValidationError("note", text, "must not be empty", "say what was found or done")
        note = RepairNote(at, found.stage, text, actor)
        updated = attrs.evolve(found, notes=(*found.notes, note))
        self._store_repair(updated, at)
        self._repair_event(ev.RepairNoted, updated, at, actor, "", note=text)
        return updated

    def close_repair(
        self,
        repair_id: str,
        cost: Money | Decimal | str | int,
        charge_to: object,
        at: dt.datetime,
        *,
        actor: str = "",
        reason: str = "",
    ) -> Repair:
        """Close a repair returned to the customer, with its ``cost`` borne by ``charge_to``:
        ``customer`` (the order owes it) or ``warranty`` (absorbed)."""
        found = self._open(repair_id)
        self._step(at, actor, reason, "reason")
        if found.stage is not RepairStage.RETURNED:
            raise OrderError(
                self.id,
                f"order {self.id}: repair {repair_id} is {found.stage.value}; close it once "
                "returned to the customer",
            )
        value = self._cost(cost)
        who = repair_charge(charge_to)
        stage = RepairStage.CLOSED
        updated = attrs.evolve(
            found,
            stage=stage,
            history=(*found.history, (stage.value, at, actor)),
            cost=value,
            charge_to=who,
            closed_at=at,
            closed_by=actor,
            close_reason=reason,
        )
        self._store_repair(updated, at)
        self._repair_event(
            ev.RepairClosed,
            updated,
            at,
            actor,
            reason,
            cost=str(value),
            currency=self.currency,
            charge_to=who.value,
        )
        return updated

    # ------------------------------------------------------------------ internals

    def _open(self, repair_id: str) -> Repair:
        found = self.repair(repair_id)
        if found.stage is RepairStage.CLOSED:
            raise OrderError(self.id, f"order {self.id}: repair {repair_id} is closed")
        return found

    def _cost(self, cost: Money | Decimal | str | int) -> Decimal:
        if isinstance(cost, Money):
            if cost.currency.code != self.currency:
                raise CurrencyMismatchError("cost", cost, self.currency)
            value = to_decimal(cost.amount, "cost")
        else:
            value = to_decimal(cost, "cost")
        if value < 0:
            raise ValidationError("cost", str(value), "must not be negative")
        return check_places(value, self.currency, "cost")

    def _step(self, at: dt.datetime, actor: str, text: str, field: str) -> None:
        aware_time(at)
        check_name(actor, "actor")
        check_text(text, field)

    def _store_repair(self, updated: Repair, at: dt.datetime) -> None:
        if any(r.id == updated.id for r in self.repairs):
            self.repairs = tuple(updated if r.id == updated.id else r for r in self.repairs)
        else:
            self.repairs = (*self.repairs, updated)
        self.updated_at = max(self.updated_at, at)

    def _repair_event(
        self,
        cls: type[ev.RepairEvent],
        repair: Repair,
        at: dt.datetime,
        actor: str,
        reason: str,
        **fields: str,
    ) -> None:
        self._raise(
            cls(
                self.id,
                self.event_sequence + 1,
                at,
                actor,
                reason,
                repair_id=repair.id,
                line_id=repair.line_id,
                stage=repair.stage.value,
                **fields,
            )
        )


def _stage(value: object) -> RepairStage:
    try:
        return value if isinstance(value, RepairStage) else RepairStage(value)
    except ValueError:
        raise ValidationError(
            "stage",
            value,
            "is not a repair stage",
            "use one of " + ", ".join(s.value for s in RepairStage),
        ) from None
