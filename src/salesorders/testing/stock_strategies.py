"""Hypothesis strategies for the stock model: warehouses, stock items and stock books.

Use them to test code built on :mod:`salesorders.domain.stock` (a storage adapter, a report, an
allocation policy fed from a real book)::

    from hypothesis import given
    from salesorders.testing.stock_strategies import stock_books

    @given(stock_books())
    def test_books_are_consistent(book):
        assert book.reconcile() == ()

Books are built through the book's own operations (receipts, batches, levels, reservations,
expected receipts), so their ledgers, figures and reservations always agree. Every strategy draws
from a small set of SKUs and warehouse ids so that examples collide on the same stock, which is
where bugs hide.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from hypothesis import strategies as st

from salesorders.domain.snapshot import IncomingStock
from salesorders.domain.stock import Batch, StockBook, StockItem
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import UnknownStockItemError

__all__ = [
    "MOMENT",
    "SKUS",
    "WAREHOUSE_IDS",
    "incoming_stock",
    "moments",
    "quantities",
    "stock_books",
    "stock_items",
    "warehouse_ids",
    "warehouse_sets",
    "warehouses",
]

SKUS: tuple[str, ...] = ("SKU-A", "SKU-B", "SKU-C")
"""The SKUs the strategies draw from by default."""

WAREHOUSE_IDS: tuple[str, ...] = ("W1", "W2", "W3")
"""The warehouse ids the strategies draw from by default."""

MOMENT = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
"""A fixed, timezone-aware time at which the strategies' books are built."""

_REGIONS = ("CN-East", "CN-North", "US-West", "EU-Central")
_BATCH_IDS = ("B1", "B2", "B3")
_FIRST_EXPIRY = dt.date(2026, 2, 1)


def moments() -> st.SearchStrategy[dt.datetime]:
    """Timezone-aware datetimes in 2026, in UTC or a fixed offset."""
    zones = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8))])
    return st.datetimes(
        min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 12, 31), timezones=zones
    )


def quantities(max_value: int = 20, places: int = 0) -> st.SearchStrategy[Decimal]:
    """Positive Decimal quantities up to ``max_value`` with at most ``places`` decimal places."""
    unit = Decimal(1).scaleb(-places)
    steps = max_value * 10**places
    return st.integers(min_value=1, max_value=steps).map(lambda n: Decimal(n) * unit)


def warehouse_ids(ids: Sequence[str] = WAREHOUSE_IDS) -> st.SearchStrategy[str]:
    """One of ``ids``."""
    return st.sampled_from(tuple(ids))


@st.composite
def warehouses(draw: st.DrawFn, ids: Sequence[str] = WAREHOUSE_IDS) -> Warehouse:
    """A warehouse with an id from ``ids``, a region, a priority and (mostly) active."""
    region = draw(st.sampled_from(_REGIONS))
    ships_to = draw(st.frozensets(st.sampled_from(_REGIONS), max_size=2))
    return Warehouse(
        id=draw(warehouse_ids(ids)),
        name=draw(st.sampled_from(["", "Main", "Overflow"])),
        region=region,
        priority=draw(st.integers(min_value=1, max_value=200)),
        active=draw(st.sampled_from([True, True, True, False])),
        ships_to=ships_to,
    )


@st.composite
def warehouse_sets(
    draw: st.DrawFn, ids: Sequence[str] = WAREHOUSE_IDS, min_size: int = 1
) -> tuple[Warehouse, ...]:
    """Warehouses with distinct ids (at least ``min_size``), drawn from ``ids``."""
    chosen = draw(
        st.lists(st.sampled_from(tuple(ids)), min_size=min_size, max_size=len(ids), unique=True)
    )
    return tuple(draw(warehouses(ids=(warehouse_id,))) for warehouse_id in chosen)


@st.composite
def incoming_stock(
    draw: st.DrawFn,
    skus: Sequence[str] = SKUS,
    ids: Sequence[str] = WAREHOUSE_IDS,
    number: int = 1,
) -> IncomingStock:
    """An expected receipt ``IN-<number>`` of a SKU at a warehouse, due in January or February."""
    return IncomingStock(
        id=f"IN-{number}",
        sku=draw(st.sampled_from(tuple(skus))),
        warehouse_id=draw(warehouse_ids(ids)),
        quantity=draw(quantities()),
        eta=_FIRST_EXPIRY - dt.timedelta(days=draw(st.integers(min_value=0, max_value=40))),
    )


@st.composite
def stock_items(
    draw: st.DrawFn, skus: Sequence[str] = SKUS, ids: Sequence[str] = WAREHOUSE_IDS
) -> StockItem:
    """A consistent stock item: ``0 <= reserved <= on_hand``, batches within the totals.

    The item stands alone (no ledger); to get items with a matching ledger and reservations, draw
    a book with :func:`stock_books` and take ``book.items()``.
    """
    item = StockItem(draw(st.sampled_from(tuple(skus))), draw(warehouse_ids(ids)))
    for batch_id in draw(st.lists(st.sampled_from(_BATCH_IDS), unique=True, max_size=3)):
        on_hand = Decimal(draw(st.integers(min_value=0, max_value=20)))
        reserved = Decimal(draw(st.integers(min_value=0, max_value=int(on_hand))))
        expiry = draw(st.none() | st.dates(_FIRST_EXPIRY, dt.date(2026, 12, 31)))
        item.batches[batch_id] = Batch(batch_id, expiry, on_hand, reserved)
    loose_on_hand = Decimal(draw(st.integers(min_value=0, max_value=20)))
    loose_reserved = Decimal(draw(st.integers(min_value=0, max_value=int(loose_on_hand))))
    item.on_hand = loose_on_hand + sum((b.on_hand for b in item.batches.values()), Decimal(0))
    item.reserved = loose_reserved + sum((b.reserved for b in item.batches.values()), Decimal(0))
    item.safety_stock = Decimal(draw(st.integers(min_value=0, max_value=3)))
    if draw(st.booleans()):
        item.reorder_point = Decimal(draw(st.integers(min_value=0, max_value=10)))
        item.reorder_quantity = draw(st.none() | quantities())
        item.low_stock = item.available <= item.reorder_point
    return item


@st.composite
def stock_books(
    draw: st.DrawFn,
    skus: Sequence[str] = SKUS,
    ids: Sequence[str] = WAREHOUSE_IDS,
    *,
    max_receipts: int = 8,
    batches: bool = True,
    levels: bool = True,
    reservations: bool = True,
    incoming: bool = True,
) -> StockBook:
    """A stock book with random stock, built at :data:`MOMENT` through the book's operations.

    Receipts (optionally into batches with expiry dates), safety stock and reorder levels, some
    reservations of what is available, and expected receipts. Low-stock alerts raised while
    building are drained, so ``collect_events()`` starts empty.
    """
    book = StockBook(draw(warehouse_sets(ids)))
    known = tuple(book.warehouses)
    sku_choice = st.sampled_from(tuple(skus))
    for _ in range(draw(st.integers(min_value=1, max_value=max_receipts))):
        sku = draw(sku_choice)
        warehouse_id = draw(st.sampled_from(known))
        batch_id = draw(st.none() | st.sampled_from(_BATCH_IDS)) if batches else None
        expiry = None
        if batch_id is not None:
            batch = _batch_of(book, sku, warehouse_id, batch_id)
            offset = _BATCH_IDS.index(batch_id) * 30
            expiry = _FIRST_EXPIRY + dt.timedelta(days=offset) if batch is None else batch.expiry
        book.receive(
            sku, warehouse_id, draw(quantities()), MOMENT, batch_id=batch_id, expiry=expiry
        )
    if levels:
        for item in book.items():
            if draw(st.booleans()):
                book.set_levels(
                    item.sku,
                    item.warehouse_id,
                    safety_stock=draw(st.integers(min_value=0, max_value=3)),
                    reorder_point=draw(st.integers(min_value=0, max_value=8)),
                    reorder_quantity=draw(st.none() | quantities()),
                    at=MOMENT,
                )
    if reservations:
        _draw_reservations(draw, book)
    if incoming:
        for number in range(1, draw(st.integers(min_value=0, max_value=3)) + 1):
            book.expect(draw(incoming_stock(skus, known, number)))
    book.collect_events()
    return book


def _batch_of(book: StockBook, sku: str, warehouse_id: str, batch_id: str) -> Batch | None:
    try:
        return book.item(sku, warehouse_id).batches.get(batch_id)
    except UnknownStockItemError:
        return None


def _draw_reservations(draw: st.DrawFn, book: StockBook) -> None:
    for number, item in enumerate(book.items(), start=1):
        buckets: list[str | None] = [None, *sorted(item.batches)]
        batch_id = draw(st.sampled_from(buckets))
        room = item.reservable_in(batch_id)
        if room >= 1 and draw(st.booleans()):
            amount = draw(st.integers(min_value=1, max_value=int(room)))
            book.reserve(
                f"SO-{number}", "L1", item.sku, item.warehouse_id, amount, MOMENT, batch_id=batch_id
            )
