"""Input no store can hold is refused alike on every store, naming the field, before any SQL runs.

Ids, SKUs, names and free texts have a maximum length, and no text may hold a NUL character or a
lone surrogate (see ``salesorders.domain.checks``); an order query is checked once, when it is
built. Every case runs on the memory store, on an SQLite file and on PostgreSQL: each must raise
the same ``ValidationError``, retry nothing and store nothing. Texts exactly at the limits, in
four-byte characters, are stored and read back.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from moneyed import Money

from race_support import close_store, drop_schema, new_schema, open_store, service_over
from salesorders.domain.checks import (
    ID_MAX_LENGTH,
    KEY_MAX_LENGTH,
    NAME_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    require_id,
)
from salesorders.domain.order import Address
from salesorders.domain.pricing import Discount, TaxComponent
from salesorders.domain.snapshot import IncomingStock
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import ValidationError
from salesorders.ports import OrderQuery
from salesorders.service import (
    CancelOrder,
    ConfirmOrder,
    CreateDraft,
    ExpectStock,
    HoldOrder,
    LineSpec,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
    SetStockLevels,
)
from test_service_support import Recorder

KINDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
PRICE = Money("9.99", "USD")
# 10,000 characters that do not repeat (PostgreSQL compresses repetitive index entries)
LONG = "".join(chr(0x4E00 + (n * 7919) % 20_000) for n in range(10_000))
CLEF = "\U0001d11e"  # four bytes in UTF-8


def _line(sku: str = "SKU-A", **fields: Any) -> LineSpec:
    return LineSpec(sku, 1, PRICE, **fields)


def _new(**fields: Any) -> PlaceOrder:
    fields.setdefault("customer_id", "C-1")
    fields.setdefault("currency", "USD")
    fields.setdefault("lines", (_line(),))
    return PlaceOrder(**fields)


@pytest.fixture(scope="module", params=KINDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    kind = request.param
    if kind == "memory":
        opened = open_store(kind)
        yield opened
        return
    if kind == "sqlite":
        opened = open_store(kind, str(tmp_path_factory.mktemp("limits") / "orders.db"))
        yield opened
        close_store(opened)
        return
    dsn = os.environ.get("SALESORDERS_TEST_POSTGRES_DSN", "")
    if not dsn:
        pytest.skip("SALESORDERS_TEST_POSTGRES_DSN is not set; PostgreSQL tests need a server")
    schema = new_schema()
    opened = open_store(kind, dsn, schema)
    try:
        yield opened
    finally:
        close_store(opened)
        drop_schema(dsn, schema)


@pytest.fixture
def sleeps() -> Recorder:
    return Recorder()


@pytest.fixture
def service(store: Any, sleeps: Recorder) -> SalesService:
    """A service over the module's store, with warehouse W1 holding 10 SKU-A."""
    service = service_over(store.unit_of_work, sleep=sleeps)
    with store.unit_of_work() as uow:
        known = uow.stock.warehouses()
    if "W1" not in known:
        service.handle(RegisterWarehouse(warehouse=Warehouse("W1")))
        service.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=10))
    return service


def _everything(store: Any) -> tuple[Any, ...]:
    """What the store holds: orders, stock, reservations, ledger, outbox and warehouses."""
    with store.unit_of_work() as uow:
        return (
            sorted(o.id for o in uow.orders.list(OrderQuery(limit=1000)).orders),
            sorted((i.sku, i.warehouse_id, i.on_hand, i.reserved) for i in uow.stock.items()),
            len(uow.stock.reservations()),
            len(uow.stock.ledger()),
            len(uow.outbox.messages()),
            sorted(uow.stock.warehouses()),
        )


def _refused(
    store: Any, sleeps: Recorder, call: Callable[[], object], field: str
) -> ValidationError:
    """``call`` raises a ValidationError naming ``field``, retried nothing and stored nothing."""
    before = _everything(store)
    with pytest.raises(ValidationError) as caught:
        call()
    assert caught.value.field == field
    assert sleeps.delays == []  # not mistaken for a busy database and retried
    assert _everything(store) == before
    return caught.value


# --------------------------------------------------------------------------- commands


COMMANDS: dict[str, tuple[Callable[[], object], str]] = {
    "long customer id": (lambda: _new(customer_id=LONG), "customer_id"),
    "long sku": (lambda: _new(lines=(_line(), _line(LONG))), "lines[1].sku"),
    "long order id": (lambda: _new(order_id=LONG), "order_id"),
    "long customer group": (lambda: _new(customer_group="G" * 101), "customer_group"),
    "long actor": (lambda: _new(actor="a" * (NAME_MAX_LENGTH + 1)), "actor"),
    "long description": (
        lambda: _new(lines=(_line(description="d" * (TEXT_MAX_LENGTH + 1)),)),
        "lines[0].description",
    ),
    "lone surrogate in customer id": (lambda: _new(customer_id="C-\ud800"), "customer_id"),
    "lone surrogate in sku": (lambda: _new(lines=(_line("SKU-\udfff"),)), "lines[0].sku"),
    "NUL in customer id": (lambda: _new(customer_id="C-\x00"), "customer_id"),
    "NUL in description": (
        lambda: _new(lines=(_line(description="tea\x00"),)),
        "lines[0].description",
    ),
    "NUL in draft order id": (
        lambda: CreateDraft(customer_id="C-1", currency="USD", order_id="O-\x00"),
        "order_id",
    ),
    "customer id not a string": (lambda: _new(customer_id=42), "customer_id"),
    "long idempotency key": (
        lambda: _new(idempotency_key="k" * (KEY_MAX_LENGTH + 1)),
        "idempotency_key",
    ),
    "NUL in order id to confirm": (lambda: ConfirmOrder(order_id="O-\x00"), "order_id"),
    "long order id to hold": (lambda: HoldOrder(order_id=LONG, reason="check"), "order_id"),
    "long sku received": (
        lambda: ReceiveStock(sku=LONG, warehouse_id="W1", quantity=1),
        "sku",
    ),
    "NUL in warehouse id received into": (
        lambda: ReceiveStock(sku="SKU-A", warehouse_id="W1\x00", quantity=1),
        "warehouse_id",
    ),
    "long receipt reason": (
        lambda: ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=1, reason=LONG),
        "reason",
    ),
    "lone surrogate in sku levels": (
        lambda: SetStockLevels(sku="\ud800", warehouse_id="W1", reorder_point=1),
        "sku",
    ),
}


@pytest.mark.parametrize("case", COMMANDS, ids=list(COMMANDS))
def test_a_command_with_text_no_store_can_hold_is_refused_naming_the_field(
    store: Any, service: SalesService, sleeps: Recorder, case: str
) -> None:
    build, field = COMMANDS[case]
    _refused(store, sleeps, lambda: service.handle(build()), field)  # type: ignore[call-overload]


def test_a_cancellation_reason_no_store_can_hold_leaves_the_order_as_it_was(
    store: Any, service: SalesService, sleeps: Recorder
) -> None:
    placed = service.handle(_new(confirm=True))
    _refused(
        store,
        sleeps,
        lambda: service.handle(CancelOrder(order_id=placed.order_id, reason="oops\x00")),
        "reason",
    )
    assert service.get_order(placed.order_id).state == "confirmed"


def test_a_too_long_error_message_shows_the_start_and_the_length() -> None:
    with pytest.raises(ValidationError) as caught:
        require_id(LONG, "customer_id")
    message = str(caught.value)
    assert message.startswith("customer_id: must be at most 100 characters")
    assert "(10000 characters)" in message
    assert len(message) < 300


# --------------------------------------------------------------------------- values and queries


VALUES: dict[str, tuple[Callable[[], object], str]] = {
    "long warehouse id": (lambda: Warehouse(LONG), "warehouse.id"),
    "NUL in warehouse name": (lambda: Warehouse("W9", name="North\x00"), "warehouse.name"),
    "long incoming sku": (
        lambda: IncomingStock("IN-1", LONG, "W1", Decimal(1), dt.date(2026, 4, 1)),
        "incoming.sku",
    ),
    "NUL in address name": (
        lambda: Address("Erika\x00", "Hauptstr. 1", "Berlin", "DE"),
        "address.name",
    ),
    "long address line": (
        lambda: Address("Erika", "Hauptstr. 1", "Berlin", "DE", line2="x" * 201),
        "address.line2",
    ),
    "country not a string": (
        lambda: Address("Erika", "Hauptstr. 1", "Berlin", 49),  # type: ignore[arg-type]
        "address.country",
    ),
    "lone surrogate in discount reason": (
        lambda: Discount.percentage(10, "welcome \ud83d"),
        "reason",
    ),
    "long tax name": (lambda: TaxComponent("T" * 201, Decimal("0.1")), "name"),
}


@pytest.mark.parametrize("case", VALUES, ids=list(VALUES))
def test_values_that_commands_carry_refuse_text_no_store_can_hold(case: str) -> None:
    build, field = VALUES[case]
    with pytest.raises(ValidationError) as caught:
        build()
    assert caught.value.field == field


def test_registering_a_warehouse_or_expecting_stock_with_such_text_never_reaches_a_store(
    store: Any, service: SalesService, sleeps: Recorder
) -> None:
    def register() -> None:
        service.handle(RegisterWarehouse(warehouse=Warehouse("W-" + LONG)))

    def expect() -> None:
        service.handle(
            ExpectStock(
                incoming=IncomingStock("IN-\x00", "SKU-A", "W1", Decimal(1), dt.date(2026, 4, 1))
            )
        )

    _refused(store, sleeps, register, "warehouse.id")
    _refused(store, sleeps, expect, "incoming.id")


QUERIES: dict[str, tuple[Callable[[SalesService], object], str]] = {
    "long order id": (lambda s: s.get_order(LONG), "order_id"),
    "NUL in order number": (lambda s: s.get_order_by_number("SO-\x00"), "number"),
    "lone surrogate in reservations' order id": (lambda s: s.reservations("O-\ud800"), "order_id"),
}


@pytest.mark.parametrize("case", QUERIES, ids=list(QUERIES))
def test_a_query_with_text_no_store_can_hold_is_refused_naming_the_field(
    store: Any, service: SalesService, sleeps: Recorder, case: str
) -> None:
    read, field = QUERIES[case]
    _refused(store, sleeps, lambda: read(service), field)


BAD_ORDER_QUERIES: dict[str, tuple[Callable[[], object], str]] = {
    "naive created_from": (
        lambda: OrderQuery(created_from=dt.datetime(2026, 1, 1)),
        "created_from",
    ),
    "naive created_to": (lambda: OrderQuery(created_to=dt.datetime(2026, 1, 1)), "created_to"),
    "created_from not a datetime": (lambda: OrderQuery(created_from="2026-01-01"), "created_from"),
    "customer id not a string": (lambda: OrderQuery(customer_id=42), "customer_id"),
    "long customer id": (lambda: OrderQuery(customer_id=LONG), "customer_id"),
    "NUL in state": (lambda: OrderQuery(state="placed\x00"), "state"),
    "limit zero": (lambda: OrderQuery(limit=0), "limit"),
    "limit beyond any page": (lambda: OrderQuery(limit=10**20), "limit"),
    "limit a boolean": (lambda: OrderQuery(limit=True), "limit"),
    "cursor not a string": (lambda: OrderQuery(after=7), "after"),
    "not a query": (lambda: "customer_id=42", "query"),
}


@pytest.mark.parametrize("case", BAD_ORDER_QUERIES, ids=list(BAD_ORDER_QUERIES))
def test_a_bad_order_query_is_refused_alike_on_every_store(
    store: Any, service: SalesService, sleeps: Recorder, case: str
) -> None:
    build, field = BAD_ORDER_QUERIES[case]
    _refused(store, sleeps, lambda: service.list_orders(build()), field)  # type: ignore[arg-type]


def test_an_order_query_is_checked_when_it_is_built() -> None:
    with pytest.raises(ValidationError) as caught:
        OrderQuery(created_from=dt.datetime(2026, 1, 1))
    assert caught.value.field == "created_from"
    query = OrderQuery(customer_id="C-1", limit=10_000)
    with pytest.raises(ValidationError):
        attrs.evolve(query, customer_id=42)


# --------------------------------------------------------------------------- at the limits


def test_texts_at_the_limits_in_four_byte_characters_are_stored_and_read_back(
    store: Any, service: SalesService
) -> None:
    sku = CLEF * ID_MAX_LENGTH
    service.handle(ReceiveStock(sku=sku, warehouse_id="W1", quantity=3, reason=CLEF * 2000))
    address = Address(CLEF * NAME_MAX_LENGTH, "l" * NAME_MAX_LENGTH, "Berlin", "DE")
    placed = service.handle(
        _new(
            order_id=CLEF * (ID_MAX_LENGTH - 1) + "1",
            customer_id=CLEF * ID_MAX_LENGTH,
            customer_group="g" * ID_MAX_LENGTH,
            lines=(_line(sku, description=CLEF * TEXT_MAX_LENGTH),),
            shipping_address=address,
            actor=CLEF * NAME_MAX_LENGTH,
            idempotency_key=CLEF * KEY_MAX_LENGTH,
            confirm=True,
        )
    )
    order = service.get_order(placed.order_id)
    assert order.customer_id == CLEF * ID_MAX_LENGTH
    assert order.lines[0].sku == sku
    assert order.lines[0].description == CLEF * TEXT_MAX_LENGTH
    assert order.shipping_address == address
    assert order.audit[-1].actor == CLEF * NAME_MAX_LENGTH
    assert order.allocation_status == "allocated"
    listed = service.list_orders(OrderQuery(customer_id=CLEF * ID_MAX_LENGTH)).orders
    assert [o.id for o in listed] == [placed.order_id]


def test_the_limits_are_the_documented_ones() -> None:
    assert (ID_MAX_LENGTH, NAME_MAX_LENGTH, TEXT_MAX_LENGTH, KEY_MAX_LENGTH) == (
        100,
        200,
        2000,
        255,
    )
    text = (Path(__file__).resolve().parent.parent / "docs" / "service.md").read_text("utf-8")
    for limit in ("100", "200", "2,000", "255"):
        assert limit in text


class _LooseCommand:
    """A class whose instances may gain any attribute."""


@attrs.frozen(slots=True)
class _SlottedCommand:
    note: str = ""
    extra: str = ""

    @property
    def reason(self) -> str:
        return self.extra


def test_every_text_a_command_can_have_is_checked_whatever_its_class() -> None:
    from salesorders.service.commands import check_texts

    loose = _LooseCommand()
    check_texts(loose)  # nothing to check yet
    loose.actor = "clerk\x00"  # type: ignore[attr-defined]
    with pytest.raises(ValidationError) as caught:
        check_texts(loose)  # the class was seen before, without an actor
    assert caught.value.field == "actor"
    check_texts(_SlottedCommand())
    with pytest.raises(ValidationError) as caught:
        check_texts(_SlottedCommand(note="oops\x00"))
    assert caught.value.field == "note"
    with pytest.raises(ValidationError) as caught:
        check_texts(_SlottedCommand(extra="oops\x00"))
    assert caught.value.field == "reason"  # a property is an attribute of the class too
