"""The service's audit trail on every store: a record per command run and per denial, in the
command's unit of work, with the figures it changed; chains that name the first altered record
in the raw tables; streamed exports as JSON Lines and CSV with formulas neutralised; the
retention purge with its dry run."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from moneyed import Money

from salesorders.audit import AuditPurge, PurgeAuditRecords
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import InvalidTransitionError, PermissionDeniedError, ValidationError
from salesorders.permissions import Actor, RolePolicy
from salesorders.ports import AuditQuery
from salesorders.service import (
    CancelOrder,
    HoldOrder,
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    ResumeOrder,
    SalesService,
    bootstrap,
)
from support.stores import STORE_KINDS, fresh_store

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ROOT = Actor("root", {"admin"}, channel="job")
ANN = Actor("ann", {"sales"}, channel="phone")
WANDA = Actor("wanda", {"warehouse"})
ALICE = Actor.customer("C-1")


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def service(store: Any, clock: ManualClock) -> SalesService:
    built = bootstrap(store=store, clock=clock, permissions=RolePolicy.standard(), audit=True)
    built.handle(RegisterWarehouse(warehouse=Warehouse("W1")), actor=ROOT)
    built.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=10), actor=ROOT)
    return built


def _place(service: SalesService, **kw: Any) -> str:
    line = LineSpec("SKU-A", 2, Money("15.00", "USD"))
    command = PlaceOrder(customer_id="C-1", currency="USD", lines=(line,), confirm=True, **kw)
    return service.handle(command, actor=ALICE).order_id


def test_every_command_and_denial_is_recorded_with_what_it_changed(
    service: SalesService, clock: ManualClock
) -> None:
    order_id = _place(service)
    clock.advance(dt.timedelta(minutes=5))
    service.handle(HoldOrder(order_id=order_id, reason="address check"), actor=ANN)
    with pytest.raises(PermissionDeniedError):
        service.handle(CancelOrder(order_id=order_id, reason="no"), actor=WANDA)
    records = list(service.audit_records())
    assert [(r.stream, r.sequence, r.action, r.outcome) for r in records] == [
        ("warehouse:W1", 1, "RegisterWarehouse", "done"),
        ("stock:SKU-A", 1, "ReceiveStock", "done"),
        (f"order:{order_id}", 1, "PlaceOrder", "done"),
        (f"order:{order_id}", 2, "HoldOrder", "done"),
        ("denied:wanda", 1, "CancelOrder", "denied"),
    ]
    receipt, placed, held, denied = records[1:]
    assert receipt.after == {"movements": [["receipt", "SKU-A", "W1", "10", "0"]]}
    assert placed.actor == "customer:C-1" and placed.channel == "web"
    assert placed.before["state"] is None and placed.after["state"] == "confirmed"
    assert placed.after["grand_total"] == "30.00"
    assert (held.actor, held.channel, held.reason) == ("ann", "phone", "address check")
    assert held.before == {"state": "confirmed", "version": placed.after["version"]}
    assert held.after == {"state": "on_hold", "version": placed.after["version"] + 1}
    assert held.at == T0 + dt.timedelta(minutes=5)
    assert denied.subject == order_id and denied.after["permission"] == "orders.cancel"
    assert "no role of the actor grants it" in denied.reason
    report = service.verify_audit()
    assert report.intact and report.checked == 5


def test_a_refused_command_and_a_replay_write_no_record(service: SalesService) -> None:
    order_id = _place(service, idempotency_key="k-1")
    before = list(service.audit_records())
    with pytest.raises(InvalidTransitionError):
        service.handle(ResumeOrder(order_id=order_id, reason="not held"), actor=ANN)
    _place(service, idempotency_key="k-1")  # replayed
    assert list(service.audit_records()) == before


def test_without_audit_nothing_is_recorded(store: Any, clock: ManualClock) -> None:
    plain = bootstrap(store=store, clock=clock)
    plain.handle(RegisterWarehouse(warehouse=Warehouse("W1")))
    assert list(plain.audit_records()) == []
    assert plain.verify_audit().checked == 0


def _tamper(store: Any, stream: str, sequence: int) -> None:
    """Change one record's reason in the store's own table, behind the library's back."""
    if hasattr(store, "_audit_log"):
        data = store._audit_log._data
        for position, record in data.records.items():
            if (record.stream, record.sequence) == (stream, sequence):
                data.records[position] = attrs.evolve(record, reason="nothing to see")
        return
    sql = "UPDATE {t} SET reason = 'nothing to see' WHERE stream = %s AND sequence = %s"
    if hasattr(store, "schema"):
        import psycopg

        with psycopg.connect(os.environ["SALESORDERS_TEST_POSTGRES_DSN"]) as conn:
            conn.execute(sql.format(t=f'"{store.schema}".audit_log'), (stream, sequence))
        return
    with sqlite3.connect(store.path) as conn:
        conn.execute(sql.format(t="audit_log").replace("%s", "?"), (stream, sequence))


def test_an_altered_record_is_the_first_broken_link(service: SalesService, store: Any) -> None:
    order_id = _place(service)
    service.handle(HoldOrder(order_id=order_id, reason="check"), actor=ANN)
    service.handle(ResumeOrder(order_id=order_id, reason="ok"), actor=ANN)
    _tamper(store, f"order:{order_id}", 2)
    report = service.verify_audit()
    assert report.broken is not None
    assert (report.broken.stream, report.broken.sequence) == (f"order:{order_id}", 2)
    assert "altered" in report.broken.problem


def test_exports_stream_json_lines_and_csv_with_formulas_neutralised(
    service: SalesService,
) -> None:
    order_id = _place(service)
    service.handle(HoldOrder(order_id=order_id, reason='=HYPERLINK("http://x")'), actor=ANN)
    lines = io.StringIO()
    assert service.export_audit(lines, AuditQuery(stream=f"order:{order_id}")) == 2
    rows = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert [r["action"] for r in rows] == ["PlaceOrder", "HoldOrder"]
    assert rows[1]["reason"] == '=HYPERLINK("http://x")'
    sheet = io.StringIO()
    assert service.export_audit(sheet, AuditQuery(actor="ann"), format="csv") == 1
    header, row = list(csv.reader(io.StringIO(sheet.getvalue())))
    assert header[:3] == ["stream", "sequence", "at"]
    assert row[header.index("reason")] == '\'=HYPERLINK("http://x")'
    assert json.loads(row[header.index("after")])["state"] == "on_hold"
    with pytest.raises(ValidationError):
        service.export_audit(io.StringIO(), format="xml")


def test_records_past_the_retention_are_purged_after_a_dry_run(
    service: SalesService, clock: ManualClock
) -> None:
    _place(service)
    clock.advance(dt.timedelta(days=3653 + 1))
    _place(service)
    counted = service.handle(PurgeAuditRecords(), actor=ROOT)
    assert counted == AuditPurge(3, clock.now() - dt.timedelta(days=3653), dry_run=True)
    assert len(list(service.audit_records())) == 5  # the dry run is recorded too
    with pytest.raises(ValidationError) as inside:
        service.handle(PurgeAuditRecords(before=clock.now(), dry_run=False), actor=ROOT)
    assert inside.value.field == "before"
    with pytest.raises(PermissionDeniedError):
        service.handle(PurgeAuditRecords(dry_run=False), actor=ANN)
    done = service.handle(PurgeAuditRecords(dry_run=False), actor=ROOT)
    assert done.count == 3 and not done.dry_run
    left = list(service.audit_records())
    assert [(r.action, r.outcome) for r in left] == [
        ("PlaceOrder", "done"),
        ("PurgeAuditRecords", "done"),
        ("PurgeAuditRecords", "denied"),
        ("PurgeAuditRecords", "done"),
    ]
    assert left[-1].after == {"count": 3, "before": done.before.isoformat(), "dry_run": False}
    assert service.verify_audit().intact
