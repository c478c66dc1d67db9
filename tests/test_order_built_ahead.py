"""A keyed ``PlaceOrder`` on PostgreSQL builds its order while the key's lookup travels, and
asks no host collaborator before the key's record is known; every store answers a retry from
its record even when the command would now be refused.

Tests that need a server are marked ``postgres`` and skip without SALESORDERS_TEST_POSTGRES_DSN.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money

from salesorders.adapters._postgres_pipe import Answer, Pipe
from salesorders.adapters.postgres import PostgresStore
from salesorders.domain.order import Order
from salesorders.domain.pricing import PriceBook, PriceBreak, PriceList, PriceListEntry
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import ValidationError
from salesorders.service import (
    LineSpec,
    ManualClock,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
    bootstrap,
)
from salesorders.testing.contracts import T0
from support.stores import STORE_KINDS, fresh_store


@pytest.fixture(params=STORE_KINDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as store:
        yield store


@pytest.fixture
def pg_store(postgres_dsn: str, postgres_schema: str) -> Iterator[PostgresStore]:
    with PostgresStore(postgres_dsn, schema=postgres_schema, max_size=2) as opened:
        yield opened


def _service(store: Any, **options: Any) -> SalesService:
    service = bootstrap(uow=store.unit_of_work, clock=ManualClock(T0), **options)
    service.handle(RegisterWarehouse(warehouse=Warehouse("W1")))
    service.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=10))
    return service


def _order(key: str = "K-1", quantity: int = 1, **fields: Any) -> PlaceOrder:
    price = fields.pop("unit_price", Money("9.99", "USD"))
    return PlaceOrder(
        customer_id="C-1",
        currency="USD",
        lines=(LineSpec("SKU-A", quantity, price),),
        confirm=True,
        idempotency_key=key,
        **fields,
    )


def _book() -> PriceBook:
    entry = PriceListEntry("SKU-A", (PriceBreak(Decimal(1), Decimal("10.00")),))
    return PriceBook([PriceList("LIST-USD", "USD", {"SKU-A": entry})])


# --------------------------------------------------------------------------- every store


def test_a_retry_is_answered_from_its_record_even_when_the_command_would_now_be_refused(
    any_store: Any,
) -> None:
    # priced by the first service's price book; the second has none, so it would refuse the
    # line for want of a price, but the key's record answers first
    first = _service(any_store, price_book=_book()).handle(_order(unit_price=None))
    again = bootstrap(uow=any_store.unit_of_work, clock=ManualClock(T0)).handle(
        _order(unit_price=None)
    )
    assert again == first
    with pytest.raises(ValidationError, match="unit_price"):
        bootstrap(uow=any_store.unit_of_work, clock=ManualClock(T0)).handle(
            _order("K-2", unit_price=None)
        )


def test_a_refused_order_stores_nothing_under_its_key(any_store: Any) -> None:
    service = _service(any_store)
    with pytest.raises(ValidationError, match="quantity"):
        service.handle(_order(quantity=0))
    placed = service.handle(_order(quantity=2))  # the key is still free
    assert placed.state == "confirmed"
    assert service.get_order(placed.order_id).lines[0].quantity == 2


# --------------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
def test_the_order_is_built_while_the_lookup_travels(
    pg_store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = _service(pg_store)
    service.handle(_order("K-0"))  # warm: the number series exists
    events: list[str] = []
    sent: dict[int, str] = {}
    execute, fetchall = Pipe.execute, Answer.fetchall
    from_draft = Order.from_draft.__func__  # type: ignore[attr-defined]

    def traced_execute(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        answer = execute(self, query, params, **kw)
        text = str(query)
        if "FROM" in text and "idempotency" in text and text.lstrip().startswith("SELECT key"):
            sent[id(answer)] = "lookup"
            events.append("lookup sent")
        return answer

    def traced_fetchall(self: Any) -> Any:
        if sent.pop(id(self), None):
            events.append("lookup read")
        return fetchall(self)

    def traced_from_draft(cls: Any, *args: Any, **kw: Any) -> Any:
        events.append("order built")
        return from_draft(cls, *args, **kw)

    monkeypatch.setattr(Pipe, "execute", traced_execute)
    monkeypatch.setattr(Answer, "fetchall", traced_fetchall)
    monkeypatch.setattr(Order, "from_draft", classmethod(traced_from_draft))
    result = service.handle(_order("K-1"))
    assert events == ["lookup sent", "order built", "lookup read"]
    assert result.state == "confirmed" and result.number is not None

    events.clear()
    assert service.handle(_order("K-1")) == result  # a retry: built, then answered by the record
    assert events == ["lookup sent", "order built", "lookup read"]
    (item,) = service.stock_items()
    assert item.reserved == 2  # K-0 and K-1: the retry reserved nothing


@pytest.mark.postgres
def test_no_host_collaborator_is_asked_before_the_record_is_known(
    pg_store: PostgresStore,
) -> None:
    made = itertools.count(1)
    ids: list[str] = []

    def next_id() -> str:
        ids.append(f"O-{next(made)}")
        return ids[-1]

    service = _service(pg_store)
    service.handlers.new_order_id = next_id  # a host's own id factory
    first = service.handle(_order("K-1"))
    assert service.handle(_order("K-1")) == first
    assert ids == [first.order_id]  # the retry took no id of the host's

    priced = _service(pg_store, price_book=_book())
    quoted = priced.handle(_order("K-2", unit_price=None))
    calls: list[str] = []

    class CountingBook(PriceBook):
        def quote(self, *args: Any, **kwargs: Any) -> Any:
            calls.append("quote")
            return super().quote(*args, **kwargs)

    counting = bootstrap(
        uow=pg_store.unit_of_work,
        clock=ManualClock(T0),
        price_book=CountingBook(_book().price_lists),
    )
    assert counting.handle(_order("K-2", unit_price=None)) == quoted
    assert calls == []  # the record answered before any quote was asked for
