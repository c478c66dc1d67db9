"""The stored order document is compact: fields left at an empty default are not written, and
loading restores them. Documents written in full (every order stored before) still load, on
both SQL stores, and the idempotency fingerprint of a command is what it always was."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moneyed import Money

from salesorders.domain.order import Order
from salesorders.serialization import Serializer, compile_dumper
from salesorders.serialization_defaults import compact_defaults, drop_defaults
from salesorders.service.commands import LineSpec, PlaceOrder
from salesorders.service.idempotency import command_fingerprint
from salesorders.testing import strategies as sst
from salesorders.testing.contracts import T0, sample_order
from support.stores import fresh_store

S = Serializer()
SQL_STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _round_trip(order: Order) -> Order:
    return S.load(json.loads(json.dumps(S.document(Order)(order))), Order)


@settings(max_examples=60, deadline=None)
@given(st.one_of(sst.orders(), sst.draft_orders(), sst.shipped_orders()))
def test_a_compact_document_loads_back_as_the_order_written(order: Order) -> None:
    loaded = _round_trip(order)
    assert S.dump(loaded) == S.dump(order)
    full = S.dump(order)
    compact = S.document(Order)(order)
    assert set(compact) <= set(full)
    assert len(json.dumps(compact)) <= len(json.dumps(full))


@settings(max_examples=60, deadline=None)
@given(st.one_of(sst.orders(), sst.shipped_orders()))
def test_a_full_document_written_before_still_loads(order: Order) -> None:
    full = json.loads(json.dumps(S.dump(order)))
    assert S.dump(S.load(full, Order)) == S.dump(order)


def test_empty_defaults_are_left_out_and_policies_are_kept() -> None:
    order = sample_order("O-1", lines=(("SKU-A", 2, "10.00"), ("RICE", 3, "3.20")))
    order.place("SO-2026-000001", T0)
    full, compact = S.dump(order), S.document(Order)(order)
    assert full["customer_group"] is None and "customer_group" not in compact
    assert full["shipments"] == [] and "shipments" not in compact
    assert full["lines"][0]["description"] == "" and "description" not in compact["lines"][0]
    assert full["lines"][0]["backordered"] == "0" and "backordered" not in compact["lines"][0]
    # defaults that say something (a workflow, a rounding rule, payment terms) stay written
    for key in ("workflow", "pricing", "next_line_number"):
        assert compact[key] == full[key]
    assert compact["payment_terms"] == {"kind": full["payment_terms"]["kind"]}
    assert compact["lines"][0]["sku"] == "SKU-A"
    assert len(json.dumps(compact)) < 0.8 * len(json.dumps(full))


def test_a_value_equal_to_the_default_but_of_another_type_is_kept() -> None:
    drop = drop_defaults({"a": 0, "b": "0", "c": None, "d": False, "e": [], "f": {}, "g": ""})
    kept = {"a": False, "b": "0.00", "c": 0, "d": 0, "e": (), "f": [], "g": "x"}
    assert drop(dict(kept)) == kept
    assert drop({"a": 0, "b": "0", "c": None, "d": False, "e": [], "f": {}, "g": ""}) == {}
    assert drop({"a": 1, "b": "0", "c": None, "d": True, "e": [0], "f": {}, "g": ""}) == {
        "a": 1,
        "d": True,
        "e": [0],
    }


def test_only_empty_defaults_are_left_out() -> None:
    @attrs.frozen
    class Sample:
        name: str
        note: str = ""
        count: int = 0
        kind: str = "standard"  # a default with a meaning: always written
        tags: tuple[str, ...] = attrs.field(factory=tuple)
        limit: Decimal = Decimal(10)

    defaults = compact_defaults(Sample, S.converter)
    assert defaults == {"note": "", "count": 0, "tags": []}
    dump = compile_dumper(Sample, S.converter, compact=True)
    assert dump(Sample("a")) == {"name": "a", "kind": "standard", "limit": "10"}
    assert dump(Sample("a", "n", 2, tags=("x",))) == {
        "name": "a",
        "note": "n",
        "count": 2,
        "kind": "standard",
        "tags": ["x"],
        "limit": "10",
    }


def test_the_idempotency_fingerprint_does_not_change() -> None:
    """The fingerprint of a fixed command is pinned: a record stored by one release must match
    a retry sent to the next. (It last changed when ``PlaceOrder`` took its fields from
    ``NewOrder`` and lines became the one ``LineSpec``; the changelog says so.)"""
    command = PlaceOrder(
        customer_id="C-1",
        currency="USD",
        lines=(LineSpec("SKU-A", 2, Money("9.99", "USD")),),
        confirm=True,
        idempotency_key="K-1",
    )
    assert command_fingerprint(command, S) == (
        "b4e86e094d2c0e15371b824af95632939719acc3337482aad58b90bd3f6ec706"
    )


# --------------------------------------------------------------------------- the SQL stores


@pytest.fixture(params=SQL_STORES)
def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as store:
        yield store


def test_the_stores_write_the_compact_document_and_read_a_full_one(sql_store: Any) -> None:
    order = sample_order("O-1", lines=(("SKU-A", 2, "10.00"),))
    order.place("SO-2026-000001", T0)
    order.pull_events()
    with sql_store.unit_of_work() as uow:
        uow.orders.add(order)
        uow.commit()
    dialect = sql_store._config.dialect
    with sql_store.unit_of_work() as uow:
        doc = uow._session.rows(dialect.render("SELECT CAST(doc AS TEXT) FROM {p}orders"))[0][0]
        stored = json.loads(doc)
        assert "customer_group" not in stored and "shipments" not in stored
        # an order stored in full, as before the compact document
        full = S.dump(order)
        full["version"] = 1
        uow._session.run(
            dialect.render("UPDATE {p}orders SET doc = CAST(? AS {json}) WHERE id = ?"),
            (json.dumps(full), "O-1"),
        )
        uow.commit()
    with sql_store.unit_of_work() as uow:
        loaded = uow.orders.get("O-1")
        assert S.dump(loaded) == S.dump(order)
        loaded.hold(T0 + dt.timedelta(hours=1), reason="check")
        uow.orders.save(loaded)
        uow.commit()
    with sql_store.unit_of_work() as uow:
        again = uow.orders.get("O-1")
        assert again.state == "on_hold" and again.version == 2
        assert again.lines[0].quantity == Decimal(2)
