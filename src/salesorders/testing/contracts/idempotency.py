"""Contract: the idempotency store (get, put, duplicates, expiry, the optional get_soon)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from salesorders.errors import IdempotencyConflictError
from salesorders.ports import IdempotencyRecord, UnitOfWork
from salesorders.testing.contracts._base import T0, AdapterContract

__all__ = ["IdempotencyStoreContract"]

_DAY = dt.timedelta(hours=24)


def record(key: str = "K-1", *, at: dt.datetime = T0, **changes: Any) -> IdempotencyRecord:
    """A record created at ``at`` that expires a day later."""
    fields: dict[str, Any] = {
        "key": key,
        "command": "PlaceOrder",
        "fingerprint": "0123abcd" * 8,
        "result": {
            "order_id": "O-1",
            "number": "SO-2026-000001",
            "grand_total": {"amount": "9.99", "currency": "USD"},
            "lines": [1, 2],
        },
        "created_at": at,
        "expires_at": at + _DAY,
    }
    fields.update(changes)
    return IdempotencyRecord(**fields)


class IdempotencyStoreContract(AdapterContract):
    """A key stores one command outcome until it expires."""

    def _given(self, *records: IdempotencyRecord) -> None:
        def put(uow: UnitOfWork) -> None:
            for item in records:
                uow.idempotency.put(item)

        self.in_uow(put)

    def test_an_unknown_key_has_no_record(self) -> None:
        assert self.read(lambda uow: uow.idempotency.get("K-1", T0)) is None

    def test_a_stored_record_round_trips_exactly(self) -> None:
        self._given(record())
        assert (
            self.read(lambda uow: uow.idempotency.get("K-1", T0 + dt.timedelta(hours=1)))
            == record()
        )
        assert self.read(lambda uow: uow.idempotency.get("K-2", T0)) is None

    def test_a_second_put_of_a_key_conflicts(self) -> None:
        self._given(record())
        with pytest.raises(IdempotencyConflictError) as caught:
            self._given(record(fingerprint="ff" * 32, at=T0 + dt.timedelta(minutes=1)))
        assert caught.value.key == "K-1"
        assert self.read(lambda uow: uow.idempotency.get("K-1", T0)) == record()

    def test_expired_records_are_not_returned(self) -> None:
        self._given(record())
        assert self.read(
            lambda uow: uow.idempotency.get("K-1", T0 + _DAY - dt.timedelta(seconds=1))
        )
        assert self.read(lambda uow: uow.idempotency.get("K-1", T0 + _DAY)) is None

    def test_an_expired_record_is_replaced_by_a_new_put(self) -> None:
        self._given(record())
        later = T0 + 2 * _DAY
        fresh = record(at=later, fingerprint="ee" * 32)
        self._given(fresh)
        assert self.read(lambda uow: uow.idempotency.get("K-1", later)) == fresh

    def test_purge_deletes_expired_records_only(self) -> None:
        self._given(record("K-old", at=T0), record("K-new", at=T0 + _DAY))
        purged = self.in_uow(lambda uow: uow.idempotency.purge_expired(T0 + _DAY))
        assert purged == 1
        now = T0 + _DAY
        assert self.read(lambda uow: uow.idempotency.get("K-new", now)) == record("K-new", at=now)
        assert self.in_uow(lambda uow: uow.idempotency.purge_expired(now)) == 0
        # the purged key is free again, even for a get at an earlier time
        assert self.read(lambda uow: uow.idempotency.get("K-old", T0)) is None

    def test_a_lookup_sent_soon_reads_what_get_reads(self) -> None:
        """The optional ``get_soon``: its answer, read after other statements, is ``get``'s."""
        self._given(record(), record("K-2", at=T0 - _DAY))  # K-2 has expired by T0 + 1 hour
        later = T0 + dt.timedelta(hours=1)

        def lookups(uow: UnitOfWork) -> tuple[Any, ...]:
            soon = getattr(uow.idempotency, "get_soon", None)
            if soon is None:
                pytest.skip("the adapter's idempotency store does not offer get_soon")
            first, expired, unknown = soon("K-1", later), soon("K-2", later), soon("K-3", later)
            between = uow.idempotency.get("K-1", later)
            return unknown(), expired(), first(), between

        assert self.in_uow(lookups) == (None, None, record(), record())

    def test_a_rolled_back_put_is_forgotten(self) -> None:
        self.in_uow(lambda uow: uow.idempotency.put(record()), commit=False)
        assert self.read(lambda uow: uow.idempotency.get("K-1", T0)) is None
        self._given(record())  # the key is free

    def test_concurrent_puts_of_one_key_let_exactly_one_win(self) -> None:
        if not self.supports_concurrency:
            pytest.skip("the adapter does not support concurrent units of work")

        def put(uow: UnitOfWork, index: int) -> int:
            uow.idempotency.put(record(fingerprint=f"{index:064d}"))
            return index

        outcomes = self.race(put)
        winners = [o for o in outcomes if isinstance(o, int)]
        assert len(winners) == 1, outcomes
        losers = [o for o in outcomes if not isinstance(o, int)]
        assert all(isinstance(o, IdempotencyConflictError) for o in losers), losers
        stored = self.read(lambda uow: uow.idempotency.get("K-1", T0))
        assert stored is not None
        assert stored.fingerprint == f"{winners[0]:064d}"
