"""Contract: gap-free order numbers per series."""

from __future__ import annotations

import pytest

from salesorders.ports import UnitOfWork
from salesorders.testing.contracts._base import AdapterContract

__all__ = ["OrderNumbersContract"]


class OrderNumbersContract(AdapterContract):
    """Each series counts 1, 2, 3 ... with no gap, even when units of work roll back."""

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
