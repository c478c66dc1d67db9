"""Contract: one unit of work is one transaction over every repository."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from salesorders.errors import NotFoundError
from salesorders.ports import IdempotencyRecord, OutboxMessage, UnitOfWork
from salesorders.testing.contracts._base import T0, AdapterContract, desk, plan_for, sample_order

__all__ = ["UnitOfWorkContract"]


class _Boom(Exception):
    pass


def _message(event_id: str = "O-1:1", sequence: int = 1) -> OutboxMessage:
    return OutboxMessage(
        event_id=event_id,
        stream_id=event_id.split(":")[0],
        sequence=sequence,
        event_type="OrderPlaced",
        payload={"order_id": event_id.split(":")[0], "sequence": sequence},
        occurred_at=T0,
    )


def _record(key: str = "K-1") -> IdempotencyRecord:
    return IdempotencyRecord(
        key=key,
        command="PlaceOrder",
        fingerprint="f" * 64,
        result={"order_id": "O-1"},
        created_at=T0,
        expires_at=T0 + dt.timedelta(hours=24),
    )


class UnitOfWorkContract(AdapterContract):
    """Commit makes every change visible at once; rollback undoes every change."""

    def _change_everything(self, uow: UnitOfWork) -> int:
        uow.orders.add(sample_order("O-1"))
        desk(uow).receive("SKU-A", "W1", Decimal(5), T0)
        desk(uow).reserve_plan(plan_for("O-1", ("L1", "SKU-A", "W1", 2)), T0)
        uow.outbox.append([_message()])
        uow.idempotency.put(_record())
        return uow.numbers.next_number("SO-2026")

    def _assert_nothing_changed(self, uow: UnitOfWork) -> None:
        with pytest.raises(NotFoundError):
            uow.orders.get("O-1")
        assert [
            (i.sku, i.warehouse_id, i.on_hand, i.reserved) for i in uow.stock.items() if i.on_hand
        ] == [("SKU-A", "W1", Decimal(10), Decimal(0))]
        assert uow.stock.reservations() == ()
        assert len(uow.stock.ledger()) == 1
        assert uow.outbox.messages() == []
        assert uow.idempotency.get("K-1", T0) is None
        assert uow.numbers.next_number("SO-2026") == 1

    def _given_base(self) -> None:
        self.given_warehouses("W1")
        self.given_stock(("SKU-A", "W1", 10))

    def test_commit_makes_every_change_visible(self) -> None:
        self._given_base()
        number = self.in_uow(self._change_everything)
        assert number == 1

        def check(uow: UnitOfWork) -> None:
            assert uow.orders.get("O-1").id == "O-1"
            item = next(i for i in uow.stock.items() if i.sku == "SKU-A" and i.warehouse_id == "W1")
            assert (item.on_hand, item.reserved) == (Decimal(15), Decimal(2))
            assert [r.quantity for r in uow.stock.reservations("O-1")] == [Decimal(2)]
            assert [m.event_id for m in uow.outbox.messages()] == ["O-1:1"]
            assert uow.idempotency.get("K-1", T0) == _record()
            assert uow.numbers.next_number("SO-2026") == 2

        self.read(check)

    def test_leaving_without_commit_rolls_everything_back(self) -> None:
        self._given_base()
        self.in_uow(self._change_everything, commit=False)
        self.read(self._assert_nothing_changed)

    def test_an_exception_rolls_everything_back(self) -> None:
        self._given_base()

        def fail(uow: UnitOfWork) -> None:
            self._change_everything(uow)
            raise _Boom

        with pytest.raises(_Boom):
            self.in_uow(fail)
        self.read(self._assert_nothing_changed)

    def test_explicit_rollback_undoes_everything(self) -> None:
        self._given_base()
        with self.uow_factory() as uow:
            self._change_everything(uow)
            uow.rollback()
        self.read(self._assert_nothing_changed)

    def test_a_unit_of_work_sees_its_own_changes(self) -> None:
        self._given_base()

        def work(uow: UnitOfWork) -> None:
            self._change_everything(uow)
            assert uow.orders.get("O-1").version == 1
            assert uow.stock.snapshot(["SKU-A"]).available_at("SKU-A", "W1") == Decimal(13)
            assert [m.event_id for m in uow.outbox.messages("O-1")] == ["O-1:1"]
            assert uow.idempotency.get("K-1", T0) == _record()

        self.in_uow(work, commit=False)
        self.read(self._assert_nothing_changed)

    def test_committed_work_survives_a_later_rollback(self) -> None:
        self._given_base()
        self.in_uow(lambda uow: uow.orders.add(sample_order("O-0")))
        self.in_uow(self._change_everything, commit=False)
        assert self.read(lambda uow: uow.orders.get("O-0").id) == "O-0"
