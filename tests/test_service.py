"""The service's use cases end to end on the memory store."""

from __future__ import annotations

import datetime as dt
import pathlib
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from moneyed import Money

from salesorders.adapters.memory import MemoryCatalog, MemoryStore
from salesorders.adapters.sqlite import SQLiteStore
from salesorders.domain.catalog import Product
from salesorders.domain.events import EVENT_TYPES
from salesorders.domain.pricing import (
    ExchangeRate,
    PriceBook,
    PriceBreak,
    PriceList,
    PriceListEntry,
    StaticExchangeRates,
)
from salesorders.domain.stock import LowStock, Movement
from salesorders.domain.workflow import default_workflow
from salesorders.errors import (
    ConflictError,
    FloatNotAllowedError,
    InsufficientStockError,
    InvalidQuantityError,
    InvalidTransitionError,
    NoPriceError,
    NotFoundError,
    Shortage,
    ValidationError,
)
from salesorders.ports import OrderQuery
from salesorders.serialization import Serializer
from salesorders.service import (
    CancelOrder,
    ConfirmOrder,
    CreateDraft,
    HoldOrder,
    LineSpec,
    OrderResult,
    PlaceDraft,
    PlaceOrder,
    ReceiveStock,
    ResumeOrder,
    SetStockLevels,
)
from test_service_support import (
    T0,
    WrappedUnitOfWork,
    figures,
    line,
    make_service,
    new_order,
    outbox,
    usd,
)

STOCK = {("SKU-A", "W1"): 10, ("SKU-A", "W2"): 5, ("SKU-B", "W1"): 3}


# --------------------------------------------------------------------------- placing


def test_a_draft_is_created_then_placed_with_the_next_number() -> None:
    service, store, _ = make_service(stock=STOCK)
    draft = service.handle(
        CreateDraft(customer_id="C-1", currency="USD", lines=(line("SKU-A", 2, "12.50"),))
    )
    assert (draft.state, draft.number, draft.version) == ("draft", None, 1)
    assert draft.grand_total == usd("25.00")
    placed = service.handle(PlaceDraft(order_id=draft.order_id, actor="ann"))
    assert placed.order_id == draft.order_id
    assert (placed.state, placed.number, placed.version) == ("placed", "SO-2026-000001", 2)
    assert placed.allocation_status == "unallocated"
    order = service.get_order(draft.order_id)
    assert order.audit[-1].actor == "ann"
    assert outbox(store, draft.order_id) == [(f"{draft.order_id}:1", "OrderPlaced")]


def test_an_order_is_created_and_placed_in_one_command() -> None:
    service, store, _ = make_service(stock=STOCK)
    first = service.handle(new_order(line("SKU-A", 1), order_id="O-1"))
    second = service.handle(new_order(line("SKU-B", 1)))
    assert (first.order_id, first.number, first.version) == ("O-1", "SO-2026-000001", 1)
    assert second.number == "SO-2026-000002"
    assert uuid.UUID(second.order_id).hex == second.order_id  # a generated UUID's 32 hex digits
    assert service.get_order_by_number("SO-2026-000002").id == second.order_id
    assert figures(store)[("SKU-A", "W1")] == (Decimal(10), Decimal(0))  # placing reserves nothing


def test_generated_order_ids_are_version_7_uuids_that_sort_by_creation_time() -> None:
    service, _, _ = make_service(stock=STOCK)
    ids = []
    for _ in range(3):
        before = time.time_ns() // 1_000_000
        ids.append(service.handle(new_order(line("SKU-A", 1))).order_id)
        after = time.time_ns() // 1_000_000
        made = int(ids[-1][:12], 16)  # the first 48 bits: Unix time in milliseconds
        assert before <= made <= after
        time.sleep(0.002)
    assert [(uuid.UUID(i).version, uuid.UUID(i).variant) for i in ids] == [(7, uuid.RFC_4122)] * 3
    assert ids == sorted(ids) and len(set(ids)) == 3


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_the_outbox_hands_out_the_messages_of_older_orders_first(
    kind: str, tmp_path: pathlib.Path
) -> None:
    """Due messages come in stream order, and an order's stream is its id: ids that sort by
    creation time put a backlog's older orders first, where random ids put them anywhere."""
    store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "outbox.db")
    try:
        service, _, clock = make_service(store)
        made = []
        for _ in range(6):
            made.append(service.handle(new_order(line("SKU-A", 1))).order_id)
            time.sleep(0.002)
        with store.unit_of_work() as uow:
            due = uow.outbox.due(clock.now(), limit=10)
    finally:
        if isinstance(store, SQLiteStore):
            store.close()
    assert [(m.stream_id, m.event_type) for m in due] == [(i, "OrderPlaced") for i in made]


def test_numbers_follow_the_year_and_the_prefix() -> None:
    service, _, clock = make_service(stock=STOCK, number_prefix="WEB")
    assert service.handle(new_order()).number == "WEB-2026-000001"
    clock.set(dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    assert service.handle(new_order()).number == "WEB-2027-000001"
    assert service.handle(new_order()).number == "WEB-2027-000002"


def test_placing_and_confirming_in_one_unit_of_work_reserves_stock() -> None:
    service, store, _ = make_service(stock=STOCK)
    result = service.handle(new_order(line("SKU-A", 12), line("SKU-B", 2), confirm=True))
    assert (result.state, result.allocation_status, result.version) == (
        "confirmed",
        "allocated",
        1,
    )
    reservations = service.reservations(result.order_id)
    assert sorted((r.sku, r.warehouse_id, r.quantity) for r in reservations) == [
        ("SKU-A", "W1", Decimal(10)),
        ("SKU-A", "W2", Decimal(2)),
        ("SKU-B", "W1", Decimal(2)),
    ]
    assert figures(store)[("SKU-A", "W2")] == (Decimal(5), Decimal(2))
    assert [t for _, t in outbox(store, result.order_id)] == ["OrderPlaced", "OrderConfirmed"]


def test_outbox_payloads_are_the_serialized_events() -> None:
    service, store, _ = make_service(stock=STOCK)
    result = service.handle(new_order(line("SKU-A", 1), confirm=True, actor="web"))
    serializer = Serializer()
    with store.unit_of_work() as uow:
        messages = uow.outbox.messages(result.order_id)
    for message in messages:
        event = serializer.load(message.payload, EVENT_TYPES[message.event_type])
        assert event.event_id == message.event_id
        assert (event.order_id, event.sequence, event.actor) == (
            result.order_id,
            message.sequence,
            "web",
        )
        assert serializer.dump(event) == message.payload
        assert message.occurred_at == T0


# --------------------------------------------------------------------------- confirming


def test_confirm_backorders_what_is_missing() -> None:
    service, store, _ = make_service(stock=STOCK)
    placed = service.handle(new_order(line("SKU-A", 4), line("SKU-B", 5)))
    result = service.handle(ConfirmOrder(order_id=placed.order_id))
    assert (result.state, result.allocation_status, result.version) == (
        "confirmed",
        "partially_allocated",
        2,
    )
    order = service.get_order(placed.order_id)
    by_sku = {ln.sku: (ln.allocated, ln.backordered) for ln in order.lines}
    assert by_sku == {"SKU-A": (Decimal(4), Decimal(0)), "SKU-B": (Decimal(3), Decimal(2))}
    assert figures(store)[("SKU-B", "W1")] == (Decimal(3), Decimal(3))


def test_confirm_with_nothing_in_stock_backorders_everything() -> None:
    service, _, _ = make_service(stock=STOCK)
    placed = service.handle(new_order(line("SKU-Z", 2)))
    result = service.handle(ConfirmOrder(order_id=placed.order_id))
    assert (result.state, result.allocation_status) == ("confirmed", "backordered")
    assert service.reservations(placed.order_id) == ()


def test_all_or_nothing_shortage_names_every_sku_and_changes_nothing() -> None:
    service, store, _ = make_service(stock=STOCK)
    placed = service.handle(new_order(line("SKU-A", 16), line("SKU-B", 4), line("SKU-A", 1)))
    before = (figures(store), outbox(store))
    with pytest.raises(InsufficientStockError) as caught:
        service.handle(ConfirmOrder(order_id=placed.order_id, all_or_nothing=True))
    short = {s.sku: (s.requested, s.available) for s in caught.value.shortages}
    assert short == {"SKU-A": (Decimal(17), Decimal(15)), "SKU-B": (Decimal(4), Decimal(3))}
    assert caught.value.order_id == placed.order_id
    assert (figures(store), outbox(store)) == before
    order = service.get_order(placed.order_id)
    assert (order.state, order.version) == ("placed", 1)


def test_a_failed_create_place_confirm_leaves_no_order_and_no_number_used() -> None:
    service, store, _ = make_service(stock=STOCK)
    with pytest.raises(InsufficientStockError) as caught:
        service.handle(
            new_order(
                line("SKU-A", 1),
                line("SKU-B", 9),
                confirm=True,
                all_or_nothing=True,
                order_id="O-9",
            )
        )
    message = str(caught.value)
    assert message.startswith("the order was not created: insufficient stock: SKU-B short by 6")
    assert "O-9" not in message  # no order of that id exists
    assert caught.value.order_id is None
    assert not caught.value.order_created
    assert [s.sku for s in caught.value.shortages] == ["SKU-B"]
    with pytest.raises(NotFoundError):
        service.get_order("O-9")
    assert outbox(store) == []
    assert service.handle(new_order()).number == "SO-2026-000001"


def test_a_new_order_losing_a_reservation_race_is_reported_as_not_created() -> None:
    class StockTakenMeanwhile:
        """Stock taken by someone else between the snapshot and the reservation."""

        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

        def lock(self, keys: Any, **options: Any) -> Any:
            locked = self._inner.lock(keys, **options)
            for item in locked.items.values():
                item.reserved = item.on_hand - 1  # all but one unit went to another order
            return locked

    class RaceLost(WrappedUnitOfWork):
        @property
        def stock(self) -> Any:
            return StockTakenMeanwhile(self._inner.stock)

    store = MemoryStore()
    service, _, _ = make_service(store, stock=STOCK, uow=lambda: RaceLost(store.unit_of_work()))
    with pytest.raises(InsufficientStockError) as caught:
        service.handle(new_order(line("SKU-A", 2), confirm=True, order_id="O-7"))
    assert str(caught.value).startswith("the order was not created: insufficient stock: SKU-A")
    assert caught.value.shortages == (Shortage("SKU-A", Decimal(2), Decimal(1)),)
    assert "O-7" not in str(caught.value)
    assert caught.value.order_id is None
    with pytest.raises(NotFoundError):
        service.get_order("O-7")


def test_confirming_twice_is_refused_without_reserving_again() -> None:
    service, store, _ = make_service(stock=STOCK)
    result = service.handle(new_order(line("SKU-A", 2), confirm=True))
    with pytest.raises(InvalidTransitionError):
        service.handle(ConfirmOrder(order_id=result.order_id))
    assert figures(store)[("SKU-A", "W1")] == (Decimal(10), Decimal(2))


# --------------------------------------------------------------------------- cancel, hold, resume


def test_cancel_releases_every_reservation() -> None:
    service, store, _ = make_service(stock=STOCK)
    result = service.handle(new_order(line("SKU-A", 12), line("SKU-B", 1), confirm=True))
    cancelled = service.handle(CancelOrder(order_id=result.order_id, reason="customer asked"))
    assert (cancelled.state, cancelled.allocation_status) == ("cancelled", "unallocated")
    assert all(r.open == 0 for r in service.reservations(result.order_id))
    assert {key: reserved for key, (_, reserved) in figures(store).items()} == {
        ("SKU-A", "W1"): Decimal(0),
        ("SKU-A", "W2"): Decimal(0),
        ("SKU-B", "W1"): Decimal(0),
    }
    with store.unit_of_work() as uow:
        releases = [e for e in uow.stock.ledger() if e.movement is Movement.RELEASE]
    assert {e.reason for e in releases} == {"customer asked"}
    assert outbox(store, result.order_id)[-1][1] == "OrderCancelled"


def test_cancelling_an_unconfirmed_order_releases_nothing() -> None:
    service, store, _ = make_service(stock=STOCK)
    placed = service.handle(new_order(line("SKU-A", 2)))
    service.handle(CancelOrder(order_id=placed.order_id, reason="duplicate"))
    with store.unit_of_work() as uow:
        assert [e.movement for e in uow.stock.ledger()] == [Movement.RECEIPT] * 3


def test_hold_and_resume_return_to_the_state_held_from() -> None:
    service, store, _ = make_service(stock=STOCK)
    result = service.handle(new_order(line("SKU-A", 1), confirm=True))
    held = service.handle(HoldOrder(order_id=result.order_id, reason="fraud check", actor="risk"))
    assert held.state == "on_hold"
    resumed = service.handle(ResumeOrder(order_id=result.order_id, actor="risk"))
    assert (resumed.state, resumed.version) == ("confirmed", 3)
    assert [t for _, t in outbox(store, result.order_id)] == [
        "OrderPlaced",
        "OrderConfirmed",
        "OrderHeld",
        "OrderResumed",
    ]
    with pytest.raises(InvalidTransitionError):
        service.handle(ResumeOrder(order_id=result.order_id))


def test_commands_on_unknown_orders_raise_not_found() -> None:
    service, _, _ = make_service()
    for command in (
        ConfirmOrder(order_id="nope"),
        CancelOrder(order_id="nope", reason="x"),
        HoldOrder(order_id="nope", reason="x"),
        PlaceDraft(order_id="nope"),
    ):
        with pytest.raises(NotFoundError):
            service.handle(command)


# --------------------------------------------------------------------------- input errors


def test_bad_line_input_names_the_line_and_stores_nothing() -> None:
    service, _, _ = make_service(stock=STOCK)
    with pytest.raises(FloatNotAllowedError) as caught:
        service.handle(new_order(line("SKU-A", 1), LineSpec("SKU-B", 1.5, usd("1.00"))))  # type: ignore[arg-type]
    assert caught.value.field == "lines[1].quantity"
    assert service.list_orders().orders == ()
    assert service.handle(new_order()).number == "SO-2026-000001"


@pytest.mark.parametrize(
    ("second", "field"),
    [
        (LineSpec("SKU-B", 10**9, usd("1.00")), "lines[1].quantity"),
        (LineSpec("SKU-B", 1, usd("1000000000000000")), "lines[1].unit_price"),
    ],
)
def test_a_line_over_the_pricing_limits_names_its_line(second: LineSpec, field: str) -> None:
    service, store, _ = make_service(stock=STOCK)
    for command in (new_order, _draft):
        with pytest.raises(ValidationError) as caught:
            service.handle(command(line("SKU-A", 1), second))
        assert caught.value.field == field
    assert service.list_orders().orders == ()
    assert outbox(store) == []


def _draft(*lines: LineSpec) -> CreateDraft:
    return CreateDraft(customer_id="C-1", currency="USD", lines=lines)


def test_placing_a_draft_and_placing_a_new_order_are_two_commands() -> None:
    with pytest.raises(TypeError):
        PlaceDraft(order_id="O-1", lines=(line("SKU-A", 1),))  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        PlaceOrder(order_id="O-1")  # type: ignore[call-arg]  # a new order needs its fields
    service, _, _ = make_service()
    for command in (PlaceDraft(order_id="  "), PlaceDraft(order_id=None)):  # type: ignore[arg-type]
        with pytest.raises(ValidationError) as missing:
            service.handle(command)
        assert missing.value.field == "order_id"


def test_an_existing_order_id_conflicts() -> None:
    service, _, _ = make_service()
    service.handle(new_order(order_id="O-1"))
    with pytest.raises(ConflictError):
        service.handle(new_order(order_id="O-1"))


def test_unknown_commands_are_refused() -> None:
    service, _, _ = make_service()
    with pytest.raises(ValidationError) as caught:
        service.handle(object())
    assert "PlaceOrder" in str(caught.value)


# --------------------------------------------------------------------------- prices and rates


def _price_book() -> PriceBook:
    entry = PriceListEntry(
        "SKU-A",
        (PriceBreak(Decimal(1), Decimal("10.00")), PriceBreak(Decimal(10), Decimal("8.00"))),
    )
    eur = PriceListEntry("SKU-E", (PriceBreak(Decimal(1), Decimal("5.00")),))
    return PriceBook(
        [
            PriceList("LIST-USD", "USD", {"SKU-A": entry}),
            PriceList("LIST-EUR", "EUR", {"SKU-E": eur}),
        ]
    )


def test_lines_without_a_price_are_quoted_from_the_price_book() -> None:
    service, _, _ = make_service(stock=STOCK, price_book=_price_book())
    result = service.handle(new_order(LineSpec("SKU-A", 10), LineSpec("SKU-A", 2)))
    order = service.get_order(result.order_id)
    assert [ln.unit_price for ln in order.lines] == [Decimal("8.00"), Decimal("10.00")]
    assert "LIST-USD" in order.lines[0].price_source
    assert result.grand_total == usd("100.00")
    with pytest.raises(NoPriceError):
        service.handle(new_order(LineSpec("SKU-Q", 1)))


def test_without_a_price_book_a_unit_price_is_required() -> None:
    service, _, _ = make_service()
    with pytest.raises(ValidationError) as caught:
        service.handle(new_order(LineSpec("SKU-A", 1)))
    assert caught.value.field == "lines[0].unit_price"


def test_an_exchange_rate_is_frozen_on_the_order() -> None:
    rate = ExchangeRate("EUR", "USD", Decimal("1.10"), T0 - dt.timedelta(days=1), "ECB")
    service, _, _ = make_service(
        price_book=_price_book(), exchange_rates=StaticExchangeRates([rate])
    )
    result = service.handle(
        new_order(
            LineSpec("SKU-E", 2),
            LineSpec("SKU-A", 1, Money("20.00", "EUR")),
            exchange_rate_base="EUR",
        )
    )
    order = service.get_order(result.order_id)
    assert order.exchange_rate == rate
    assert [ln.unit_price for ln in order.lines] == [Decimal("5.50"), Decimal("22.00")]
    assert result.grand_total == usd("33.00")


def test_a_unit_price_finer_than_its_precision_is_refused_naming_the_line() -> None:
    service, _, _ = make_service(stock=STOCK)
    binary = Money(0.1 + 0.2, "USD")  # py-moneyed takes the float's digits: 0.30000000000000004
    with pytest.raises(ValidationError) as caught:
        service.handle(new_order(LineSpec("SKU-A", 1, binary)))
    assert caught.value.field == "lines[0].unit_price"
    assert "more than 6 decimal places" in str(caught.value)
    with pytest.raises(ValidationError) as jpy:
        service.handle(new_order(LineSpec("SKU-A", 1, Money("100.00001", "JPY")), currency="JPY"))
    assert jpy.value.field == "lines[0].unit_price"  # JPY: 0 + 4 places
    finest = service.handle(new_order(LineSpec("SKU-A", 3, usd("0.123456"))))
    assert finest.grand_total == usd("0.37")


def test_the_unit_price_precision_is_set_per_line() -> None:
    service, _, _ = make_service(stock=STOCK)
    exact = service.handle(new_order(LineSpec("SKU-A", 1, usd("0.12345678"), price_precision=8)))
    assert service.get_order(exact.order_id).lines[0].unit_price == Decimal("0.12345678")
    with pytest.raises(ValidationError) as coarse:
        service.handle(new_order(LineSpec("SKU-A", 1, usd("10.50"), price_precision=0)))
    assert coarse.value.field == "lines[0].unit_price"
    with pytest.raises(ValidationError) as bad:
        service.handle(
            new_order(line("SKU-A", 1), LineSpec("SKU-B", 1, usd("1"), price_precision=-1))
        )
    assert bad.value.field == "lines[1].price_precision"


def test_the_unit_price_precision_is_set_per_price_book() -> None:
    entry = PriceListEntry("SKU-A", (PriceBreak(Decimal(1), Decimal("0.00012345")),))
    prices = [PriceList("FINE", "USD", {"SKU-A": entry})]
    with pytest.raises(ValidationError) as caught:
        PriceBook(prices)
    assert caught.value.field == "price_lists[0].entries['SKU-A'].breaks[0].unit_price"
    service, _, _ = make_service(stock=STOCK, price_book=PriceBook(prices, price_precision=8))
    result = service.handle(new_order(LineSpec("SKU-A", 10000)))
    assert service.get_order(result.order_id).lines[0].unit_price == Decimal("0.00012345")
    assert result.grand_total == usd("1.23")


# --------------------------------------------------------------------------- catalogue


def _catalog() -> MemoryCatalog:
    return MemoryCatalog(
        [
            Product("SKU-A"),
            Product("SKU-B"),
            Product("CHEESE", "kg", quantity_precision=3, default_price=usd("20.00")),
        ]
    )


def test_with_a_catalogue_an_unknown_sku_is_refused_naming_its_line() -> None:
    service, store, _ = make_service(stock=STOCK, catalog=_catalog())
    lines = (line("SKU-A", 1), line("SKU-B", 1), line("SKU-Q", 1))
    for command in (new_order(*lines, confirm=True), _draft(*lines)):
        with pytest.raises(ValidationError) as caught:
            service.handle(command)
        assert caught.value.field == "lines[2].sku"
        assert "not in the catalogue" in str(caught.value)
    assert service.list_orders().orders == ()
    assert outbox(store) == []
    assert service.handle(new_order(*lines[:2])).state == "placed"


def test_without_a_catalogue_any_sku_is_accepted_and_backordered() -> None:
    service, _, _ = make_service(stock=STOCK)
    result = service.handle(new_order(line("SKU-Q", 1), confirm=True))
    assert (result.state, result.allocation_status) == ("confirmed", "backordered")


def test_placing_a_draft_checks_its_skus_against_the_catalogue() -> None:
    store = MemoryStore()
    lax, _, _ = make_service(store, stock=STOCK)
    draft = lax.handle(_draft(line("SKU-A", 1), line("SKU-Q", 1)))
    strict, _, _ = make_service(store, catalog=_catalog())
    with pytest.raises(ValidationError) as caught:
        strict.handle(PlaceDraft(order_id=draft.order_id))
    assert caught.value.field == "lines[1].sku"
    assert strict.get_order(draft.order_id).state == "draft"


def test_the_catalogue_gives_the_quantity_precision_and_a_default_price() -> None:
    service, _, _ = make_service(stock=STOCK, catalog=_catalog())
    result = service.handle(new_order(LineSpec("CHEESE", Decimal("0.750"))))
    cheese = service.get_order(result.order_id).lines[0]
    assert (cheese.quantity_precision, cheese.unit_price) == (3, Decimal("20.00"))
    assert cheese.price_source == "catalogue default price"
    assert result.grand_total == usd("15.00")
    with pytest.raises(InvalidQuantityError) as finer:
        service.handle(new_order(LineSpec("CHEESE", Decimal("0.7505"))))
    assert finer.value.field == "lines[0].quantity"
    with pytest.raises(ValidationError) as other:
        service.handle(new_order(LineSpec("CHEESE", 1, usd("1.00"), quantity_precision=2)))
    assert other.value.field == "lines[0].quantity_precision"
    with pytest.raises(ValidationError) as no_price:
        service.handle(new_order(LineSpec("SKU-A", 1)))  # no default price, no price book
    assert no_price.value.field == "lines[0].unit_price"


def test_a_price_list_wins_over_the_catalogues_default_price() -> None:
    cheese = PriceListEntry("CHEESE", (PriceBreak(Decimal(1), Decimal("18.00")),))
    book = PriceBook([PriceList("LIST-USD", "USD", {"CHEESE": cheese})])
    service, _, _ = make_service(stock=STOCK, catalog=_catalog(), price_book=book)
    listed = service.handle(new_order(LineSpec("CHEESE", 2)))
    assert listed.grand_total == usd("36.00")
    unlisted = service.handle(new_order(LineSpec("CHEESE", Decimal("0.5"))))  # below the break
    assert unlisted.grand_total == usd("10.00")


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Product(""), "sku"),
        (lambda: Product("S", unit=""), "unit"),
        (lambda: Product("S", quantity_precision=10), "quantity_precision"),
        (lambda: Product("S", default_price=usd("0.1234567")), "default_price"),
        (lambda: Product("S", default_price="1.00"), "default_price"),
        (lambda: MemoryCatalog([Product("S"), Product("S")]), "products[1].sku"),
        (lambda: MemoryCatalog(["S"]), "products[0]"),
        (lambda: make_service(catalog=object()), "catalog"),
    ],
)
def test_products_and_catalogues_are_checked(build: Any, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        build()
    assert caught.value.field == field


# --------------------------------------------------------------------------- stock and alerts


def test_receive_stock_returns_the_ledger_entry() -> None:
    service, store, _ = make_service()
    entry = service.handle(
        ReceiveStock(sku="SKU-N", warehouse_id="W2", quantity="7", reason="PO-9", actor="wh")
    )
    assert (entry.movement, entry.on_hand_delta, entry.reason, entry.actor) == (
        Movement.RECEIPT,
        Decimal(7),
        "PO-9",
        "wh",
    )
    assert figures(store)[("SKU-N", "W2")] == (Decimal(7), Decimal(0))
    with pytest.raises(FloatNotAllowedError):
        service.handle(ReceiveStock(sku="SKU-N", warehouse_id="W2", quantity=1.0))  # type: ignore[arg-type]


def test_a_low_stock_alert_goes_to_the_outbox_once_per_crossing() -> None:
    service, store, _ = make_service(stock=STOCK)
    service.handle(
        SetStockLevels(sku="SKU-A", warehouse_id="W1", reorder_point=3, reorder_quantity=20)
    )
    service.handle(new_order(line("SKU-A", 6), confirm=True))
    service.handle(new_order(line("SKU-A", 2), confirm=True))
    service.handle(new_order(line("SKU-A", 1), confirm=True))
    alerts = outbox(store, "stock:SKU-A:W1")
    assert alerts == [("stock:SKU-A:W1:1", "LowStock")]
    with store.unit_of_work() as uow:
        payload = uow.outbox.messages("stock:SKU-A:W1")[0].payload
    alert = Serializer().load(payload, LowStock)
    assert (alert.available, alert.reorder_point, alert.suggested_quantity) == (
        Decimal(2),
        Decimal(3),
        Decimal(20),
    )


# --------------------------------------------------------------------------- queries


def test_list_orders_filters_and_pages_with_a_cursor() -> None:
    service, _, clock = make_service(stock=STOCK)
    ids = []
    for index in range(5):
        clock.advance(dt.timedelta(minutes=1))
        ids.append(
            service.handle(new_order(customer_id=f"C-{index % 2}", order_id=f"O-{index}")).order_id
        )
    service.handle(CancelOrder(order_id="O-3", reason="x"))
    seen: list[str] = []
    cursor = None
    while True:
        page = service.list_orders(OrderQuery(limit=2, after=cursor))
        seen.extend(o.id for o in page.orders)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == ids
    assert [o.id for o in service.list_orders(OrderQuery(customer_id="C-0")).orders] == [
        "O-0",
        "O-2",
        "O-4",
    ]
    assert [o.id for o in service.list_orders(OrderQuery(state="cancelled")).orders] == ["O-3"]
    window = OrderQuery(
        created_from=T0 + dt.timedelta(minutes=2), created_to=T0 + dt.timedelta(minutes=4)
    )
    assert [o.id for o in service.list_orders(window).orders] == ["O-1", "O-2"]


def test_orders_of_a_named_workflow_follow_it() -> None:
    approval = (
        default_workflow()
        .extend("with-approval")
        .add_state("awaiting_approval")
        .remove_transition("confirm", "placed")
        .add_transition("request_approval", "placed", "awaiting_approval")
        .add_transition("confirm", "awaiting_approval", "confirmed")
        .add_transition("cancel", "awaiting_approval", "cancelled")
        .build()
    )
    service, _, _ = make_service(stock=STOCK, workflows=[approval])
    result = service.handle(new_order(workflow="with-approval"))
    assert service.get_order(result.order_id).workflow_ref == ("with-approval", 1)
    with pytest.raises(InvalidTransitionError):
        service.handle(ConfirmOrder(order_id=result.order_id))
    with pytest.raises(ValidationError) as caught:
        service.handle(new_order(workflow="unknown"))
    assert caught.value.field == "workflow"


def test_results_round_trip_through_json() -> None:
    service, _, _ = make_service(stock=STOCK)
    result = service.handle(new_order(line("SKU-A", 3), confirm=True))
    serializer = Serializer()
    assert serializer.load(serializer.dump(result), OrderResult) == result


def test_reconcile_stock_reports_drift_between_figures_and_ledger() -> None:
    service, store, _ = make_service(stock={("SKU-A", "W1"): 5})
    service.handle(new_order(line("SKU-A", 2), confirm=True))
    assert service.reconcile_stock() == ()
    store.book.item("SKU-A", "W1").reserved += 1  # a figure drifts away from its ledger
    found = service.reconcile_stock()
    assert {(d.sku, d.warehouse_id, d.field) for d in found} >= {("SKU-A", "W1", "reserved")}
