"""Contract: gap-free order numbers per series."""

from __future__ import annotations

import pytest

from salesorders.ports import OutboxMessage, UnitOfWork
from salesorders.testing.contracts._base import T0, AdapterContract

__all__ = ["OrderNumbersContract"]


class OrderNumbersContract(AdapterContract):
    """Each series counts 1, 2, 3 ... with no gap, even when units of work roll back; numbers an
    adapter takes at the commit (``NumbersAtCommit``, optional) are written where their
    placeholders were, and count in the same series."""

    def _take(self, series: str, *, commit: bool = True) -> int:
        return self.in_uow(lambda uow: uow.numbers.next_number(series), commit=commit)

    def test_a_series_starts_at_one_and_counts_up(self) -> None:
        assert [self._take("SO-2026") for _ in range(3)] == [1, 2, 3]

    def test_several_numbers_in_one_unit_of_work(self) -> None:
        def take(uow: UnitOfWork) -> list[int]:
            return [uow.numbers.next_number("SO-2026") for _ in range(3)]

        assert self.in_uow(take) == [1, 2, 3]
        assert self._take("SO-2026") == 4

    def test_series_count_independently(self) -> None:
        assert self._take("SO-2026") == 1
        assert self._take("SO-2027") == 1
        assert self._take("SO-2026") == 2
        assert self._take("INV-2026") == 1

    def test_a_rollback_gives_the_number_back(self) -> None:
        assert self._take("SO-2026") == 1
        assert self._take("SO-2026", commit=False) == 2
        assert self._take("SO-2026", commit=False) == 2
        assert self._take("SO-2026") == 2

    def test_a_new_series_rolled_back_starts_again_at_one(self) -> None:
        assert self._take("SO-2030", commit=False) == 1
        assert self._take("SO-2030") == 1

    def test_concurrent_units_of_work_get_distinct_numbers_without_gaps(self) -> None:
        if not self.supports_concurrency:
            pytest.skip("the adapter does not support concurrent units of work")
        self._take("SO-2026")

        def take(uow: UnitOfWork, index: int) -> int:
            return uow.numbers.next_number("SO-2026")

        outcomes = self.race(take)
        assert sorted(outcomes) == list(range(2, self.concurrency_threads + 2)), outcomes  # type: ignore[type-var]

    # numbers taken at the commit (optional: skipped where the adapter does not offer them)

    def _at_commit(self, uow: UnitOfWork) -> str | None:
        ask = getattr(uow.numbers, "number_at_commit", None)
        if ask is None:
            pytest.skip("the adapter's numbers do not offer number_at_commit")
        placeholder: str | None = ask("SO-2026", 6)
        return placeholder

    def test_a_number_taken_at_the_commit_replaces_its_placeholder(self) -> None:
        with self.uow_factory() as uow:
            first = uow.numbers.next_number("SO-2026")
            placeholder = self._at_commit(uow)
            if placeholder is not None:
                payload = {"number": placeholder, "note": f"order {placeholder} placed"}
                uow.outbox.append([OutboxMessage("O-1:1", "O-1", 1, "OrderPlaced", payload, T0)])
            uow.commit()
            taken: dict[str, str] = dict(getattr(uow.numbers, "taken", {}))
        assert first == 1
        if placeholder is None:  # none taken at the commit this time: nothing used up
            assert taken == {}
            assert self._take("SO-2026") == 2
            return
        assert taken == {placeholder: "SO-2026-000002"}
        stored = self.in_uow(lambda uow: uow.outbox.messages(), commit=False)
        assert [m.payload for m in stored] == [
            {"number": "SO-2026-000002", "note": "order SO-2026-000002 placed"}
        ]
        assert self._take("SO-2026") == 3

    def test_a_number_at_the_commit_rolled_back_is_not_used_up(self) -> None:
        with self.uow_factory() as uow:
            self._at_commit(uow)
            uow.rollback()
        assert self._take("SO-2026") == 1
