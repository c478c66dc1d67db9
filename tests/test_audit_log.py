"""The audit log port on every store: appends roll back with their unit of work, a taken
(stream, sequence) conflicts, reads page by position with filters, purges count and delete, and
the hash chain names the first broken link."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from salesorders.domain.audit import AuditRecord, chained_record, verify_records
from salesorders.errors import ConcurrencyConflictError, ValidationError
from salesorders.ports import AuditQuery
from support.stores import STORE_KINDS, fresh_store

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


def _chain(stream: str, count: int, start: dt.datetime = T0, **fields: Any) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    for n in range(count):
        records.append(
            chained_record(
                records[-1] if records else None,
                stream,
                start + n * DAY,
                actor=fields.get("actor", "ann"),
                channel="api",
                action=fields.get("action", "HoldOrder"),
                subject=stream.split(":")[-1],
                reason=f"step {n} — «quoted», 中文",
                before={"state": "placed", "version": n},
                after={"state": "on_hold", "version": n + 1, "total": "12.50"},
            )
        )
    return records


def _append(store: Any, records: list[AuditRecord]) -> None:
    with store.unit_of_work() as uow:
        uow.audit.append(records)
        uow.commit()


def _all(store: Any, query: AuditQuery | None = None) -> list[AuditRecord]:
    with store.unit_of_work() as uow:
        return [r for _p, r in uow.audit.read(query or AuditQuery(), limit=10_000)]


def test_records_come_back_as_they_were_appended(store: Any) -> None:
    first, second = _chain("order:A", 3), _chain("order:B", 2)
    _append(store, first[:2])
    _append(store, second)
    _append(store, first[2:])
    assert _all(store) == first[:2] + second + first[2:]
    with store.unit_of_work() as uow:
        assert uow.audit.last("order:A") == first[2]
        assert uow.audit.last("order:B") == second[1]
        assert uow.audit.last("order:C") is None
    assert verify_records(_all(store)) is None


def test_an_append_rolls_back_with_its_unit_of_work(store: Any) -> None:
    with store.unit_of_work() as uow:
        uow.audit.append(_chain("order:A", 2))
    assert _all(store) == []
    with store.unit_of_work() as uow:
        assert uow.audit.last("order:A") is None


def test_a_taken_sequence_conflicts_and_changes_nothing(store: Any) -> None:
    records = _chain("order:A", 2)
    _append(store, records)
    rival = attrs.evolve(_chain("order:A", 2, actor="bob")[1])
    with pytest.raises(ConcurrencyConflictError):
        _append(store, [rival])  # at the append, or at the commit
    assert _all(store) == records


def test_reads_page_by_position_and_filter(store: Any) -> None:
    _append(store, _chain("order:A", 4, action="HoldOrder"))
    _append(store, _chain("denied:eve", 3, actor="eve", action="CancelOrder"))
    with store.unit_of_work() as uow:
        page = uow.audit.read(AuditQuery(), limit=3)
        assert len(page) == 3
        rest = uow.audit.read(AuditQuery(), after=page[-1][0], limit=100)
        assert [p for p, _ in page + rest] == sorted({p for p, _ in page + rest})
        assert len(rest) == 4
        assert [r.sequence for _p, r in uow.audit.read(AuditQuery(actor="eve"))] == [1, 2, 3]
        assert len(uow.audit.read(AuditQuery(stream="order:A", since=T0 + DAY))) == 3
        assert len(uow.audit.read(AuditQuery(until=T0 + DAY))) == 2
        assert len(uow.audit.read(AuditQuery(action="CancelOrder", subject="eve"))) == 3
        assert uow.audit.read(AuditQuery(outcome="denied")) == []


def test_a_purge_counts_then_deletes_the_old_records(store: Any) -> None:
    _append(store, _chain("order:A", 5))
    _append(store, _chain("order:B", 2, start=T0 + 10 * DAY))
    cutoff = T0 + 3 * DAY
    with store.unit_of_work() as uow:
        assert uow.audit.purge(cutoff, dry_run=True) == 3
        uow.commit()
    assert len(_all(store)) == 7
    with store.unit_of_work() as uow:
        assert uow.audit.purge(cutoff) == 3
        uow.commit()
    left = _all(store)
    assert [(r.stream, r.sequence) for r in left] == [
        ("order:A", 4), ("order:A", 5), ("order:B", 1), ("order:B", 2)
    ]  # fmt: skip
    assert verify_records(left) is None  # the first record left anchors its stream
    with store.unit_of_work() as uow:
        assert uow.audit.last("order:A") == left[1]


def test_a_purge_rolls_back_with_its_unit_of_work(store: Any) -> None:
    _append(store, _chain("order:A", 3))
    with store.unit_of_work() as uow:
        assert uow.audit.purge(T0 + 10 * DAY) == 3
    assert len(_all(store)) == 3


def test_a_bad_limit_or_time_is_refused(store: Any) -> None:
    with store.unit_of_work() as uow:
        with pytest.raises(ValidationError):
            uow.audit.read(AuditQuery(), limit=0)
        with pytest.raises(ValidationError):
            uow.audit.purge(dt.datetime(2026, 1, 1))  # naive


# --------------------------------------------------------------------------- the chain


def test_the_chain_names_the_first_broken_link() -> None:
    records = _chain("order:A", 4) + _chain("order:B", 2)
    assert verify_records(records) is None
    altered = list(records)
    altered[1] = attrs.evolve(records[1], after={"state": "cancelled"})
    broken = verify_records(altered)
    assert broken is not None and (broken.stream, broken.sequence) == ("order:A", 2)
    assert "altered" in broken.problem
    missing = records[:1] + records[2:]
    gap = verify_records(missing)
    assert gap is not None and (gap.sequence, "missing" in gap.problem) == (3, True)
    forged = list(records)
    forged[2] = chained_record(
        records[0], "order:A", T0, actor="mallory", channel="api", action="HoldOrder"
    )
    relinked = verify_records(forged)
    assert relinked is not None and relinked.sequence == 2


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"since": dt.datetime(2026, 1, 1)}, "since"),
        ({"until": "2026"}, "until"),
        ({"actor": ""}, "actor"),
    ],
)
def test_a_bad_query_is_refused_naming_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AuditQuery(**fields)
    assert caught.value.field == field
