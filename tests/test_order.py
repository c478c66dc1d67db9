from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from moneyed import Money

from salesorders.domain.events import (
    OrderCancelled,
    OrderConfirmed,
    OrderHeld,
    OrderPlaced,
    OrderResumed,
    OrderTransitioned,
)
from salesorders.domain.order import LineSpec, Order
from salesorders.domain.plan import Allocation, AllocationPlan, Backorder
from salesorders.domain.pricing import (
    Discount,
    ExchangeRate,
    PriceBook,
    PriceBreak,
    PriceList,
    PriceListEntry,
    TaxComponent,
)
from salesorders.domain.workflow import default_workflow
from salesorders.errors import (
    CurrencyMismatchError,
    FloatNotAllowedError,
    GuardRejectedError,
    InvalidQuantityError,
    InvalidTransitionError,
    LineNotFoundError,
    OrderNotEditableError,
    SalesOrdersError,
    UnknownCurrencyError,
    ValidationError,
)
from salesorders.serialization import Serializer
from salesorders.testing import strategies as sst

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
VAT = TaxComponent("VAT", Decimal("0.19"))


def draft(currency: str = "EUR") -> Order:
    return Order.create("O-1", "C-1", currency, T0)


def test_new_order_is_an_empty_draft() -> None:
    order = draft()
    assert order.state == "draft"
    assert order.is_draft
    assert order.workflow_ref == ("sales-order", 1)
    assert order.totals.grand_total == 0
    assert order.events == []


def test_add_line_prices_it_and_updates_totals() -> None:
    order = draft()
    line = order.add_line("SKU-1", 3, Decimal("9.99"), T0, taxes=[VAT])
    assert line.line_id == "L1"
    assert line.amount == Decimal("29.97")
    assert line.tax == Decimal("5.69")
    assert line.gross == Decimal("35.66")
    assert order.totals.grand_total == Decimal("35.66")
    assert order.grand_total == Money("35.66", "EUR")


def test_order_discount_is_spread_and_totals_identity_holds() -> None:
    order = draft("USD")
    order.add_line("A", 1, "1.00", T0)
    order.add_line("B", 1, "1.00", T0)
    order.add_line("C", 1, "1.00", T0)
    order.apply_discount(Discount.fixed(Decimal("1.00")), T0)
    shares = [line.order_discount for line in order.lines]
    assert sum(shares) == Decimal("1.00")
    assert sorted(shares) == [Decimal("0.33"), Decimal("0.33"), Decimal("0.34")]
    assert order.totals.net_total + order.totals.tax_total == order.totals.grand_total


@pytest.mark.parametrize(
    ("quantity", "error"),
    [
        (0, InvalidQuantityError),
        (-1, InvalidQuantityError),
        (1.5, FloatNotAllowedError),
        (Decimal("1.5"), InvalidQuantityError),
        ("abc", ValidationError),
    ],
)
def test_bad_quantities_are_refused_and_name_the_field(quantity: object, error: type) -> None:
    order = draft()
    with pytest.raises(error) as info:
        order.add_line("SKU", quantity, "1.00", T0)
    assert info.value.field == "quantity"
    assert order.lines == ()


def test_quantity_by_measure_respects_precision() -> None:
    order = draft()
    line = order.add_line("CHEESE", Decimal("1.250"), "20.00", T0, quantity_precision=3)
    assert line.amount == Decimal("25.00")
    with pytest.raises(InvalidQuantityError):
        order.add_line("CHEESE", Decimal("1.2505"), "20.00", T0, quantity_precision=3)


def test_float_price_is_refused() -> None:
    with pytest.raises(FloatNotAllowedError) as info:
        draft().add_line("SKU", 1, 9.99, T0)  # type: ignore[arg-type]
    assert info.value.field == "unit_price"


@pytest.mark.parametrize(
    ("second", "field"),
    [
        (LineSpec("SKU-2", 10**9, "1.00"), "lines[1].quantity"),
        (LineSpec("SKU-2", 1, "1000000000000000"), "lines[1].unit_price"),
        (LineSpec("SKU-2", 1, Money("1000000000000000", "EUR")), "lines[1].unit_price"),
        (LineSpec("SKU-2", 1, "1.00", taxes=(VAT, VAT)), "lines[1].taxes[1].name"),
    ],
)
def test_a_line_over_the_pricing_limits_is_named_by_its_position(
    second: LineSpec, field: str
) -> None:
    order = draft()
    order.add_line("SKU-0", 1, "1.00", T0)
    before = Serializer().dump(order)
    with pytest.raises(ValidationError) as info:
        order.add_lines([LineSpec("SKU-1", 1, "2.00"), second], T0)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    assert Serializer().dump(order) == before


def test_a_converted_price_over_the_limit_is_named_by_its_position() -> None:
    order = draft("EUR")
    order.use_exchange_rate(ExchangeRate("JPY", "EUR", Decimal("1000"), T0), T0)
    with pytest.raises(ValidationError) as info:
        order.add_lines(
            [LineSpec("SKU-1", 1, "2.00"), LineSpec("SKU-2", 1, Money("10" + "0" * 12, "JPY"))], T0
        )
    assert info.value.field == "lines[1].unit_price"
    assert order.lines == ()


def test_a_new_line_keeps_discounts_and_taxes_given_as_any_iterable() -> None:
    ten_off = Discount.percentage(10)
    by_add_lines = draft()
    by_add_lines.add_lines(
        [
            LineSpec(
                "SKU-1",
                1,
                "10.00",
                discounts=(d for d in [ten_off]),  # type: ignore[arg-type]
                taxes=[VAT],  # type: ignore[arg-type]
            )
        ],
        T0,
    )
    by_add_line = draft()
    by_add_line.add_line("SKU-1", 1, "10.00", T0, discounts=iter([ten_off]), taxes=[VAT])
    line = by_add_lines.lines[0]
    assert line.discounts == (ten_off,)
    assert line.taxes == (VAT,)
    assert line.line_discount == Decimal("1.00")
    assert by_add_lines == by_add_line


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(UnknownCurrencyError):
        Order.create("O-1", "C-1", "XXX1", T0)


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        Order.create("O-1", "C-1", "USD", dt.datetime(2026, 1, 1))
    assert info.value.field == "at"


def test_price_in_foreign_currency_needs_the_frozen_rate() -> None:
    order = draft("EUR")
    with pytest.raises(CurrencyMismatchError):
        order.add_line("SKU", 1, Money("10.00", "USD"), T0)
    rate = ExchangeRate("USD", "EUR", Decimal("0.9215"), T0, "ECB")
    order.use_exchange_rate(rate, T0)
    line = order.add_line("SKU", 1, Money("10.00", "USD"), T0)
    assert line.unit_price == Decimal("9.22")
    assert "converted from USD" in line.price_source
    assert order.exchange_rate == rate


def test_quoted_line_records_why_that_price() -> None:
    book = PriceBook(
        [
            PriceList(
                "RETAIL-USD",
                "USD",
                {
                    "SKU": PriceListEntry(
                        "SKU",
                        (
                            PriceBreak(Decimal(1), Decimal("10.00")),
                            PriceBreak(Decimal(10), Decimal("9.00")),
                        ),
                    )
                },
            )
        ]
    )
    order = draft("USD")
    line = order.add_quoted_line(book.quote("SKU", "USD", Decimal(12)), 12, T0)
    assert line.unit_price == Decimal("9.00")
    assert "RETAIL-USD" in line.price_source


def test_lines_can_be_changed_and_removed_while_draft() -> None:
    order = draft()
    order.add_line("A", 1, "5.00", T0)
    order.change_quantity("L1", 4, T0)
    assert order.totals.grand_total == Decimal("20.00")
    order.remove_line("L1", T0)
    assert order.lines == ()
    with pytest.raises(LineNotFoundError):
        order.remove_line("L1", T0)


def test_placed_orders_are_not_editable() -> None:
    order = draft()
    order.add_line("A", 1, "5.00", T0)
    order.place("SO-2026-000001", T0)
    with pytest.raises(OrderNotEditableError) as info:
        order.add_line("B", 1, "5.00", T0)
    assert info.value.state == "placed"
    assert len(order.lines) == 1


def test_cannot_place_an_empty_order() -> None:
    with pytest.raises(ValidationError) as info:
        draft().place("SO-1", T0)
    assert info.value.field == "lines"


def test_full_lifecycle_records_events_and_audit() -> None:
    order = draft()
    order.add_line("A", 2, "5.00", T0)
    order.place("SO-2026-000001", T0, actor="web")
    order.hold(T0, actor="cs", reason="address check")
    order.resume(T0, actor="cs")
    order.confirm(T0, actor="ops")
    order.ship(T0)
    order.deliver(T0)
    order.complete(T0)
    assert order.state == "completed"
    assert order.number == "SO-2026-000001"
    events = order.pull_events()
    assert [type(e) for e in events][:4] == [OrderPlaced, OrderHeld, OrderResumed, OrderConfirmed]
    assert [e.sequence for e in events] == list(range(1, 8))
    assert events[0].event_id == "O-1:1"
    assert isinstance(events[0], OrderPlaced) and events[0].grand_total == Decimal("10.00")
    assert [(a.event, a.from_state, a.to_state) for a in order.audit] == [
        ("place", "draft", "placed"),
        ("hold", "placed", "on_hold"),
        ("resume", "on_hold", "placed"),
        ("confirm", "placed", "confirmed"),
        ("ship", "confirmed", "shipped"),
        ("deliver", "shipped", "delivered"),
        ("complete", "delivered", "completed"),
    ]
    assert order.audit[1].actor == "cs" and order.audit[1].reason == "address check"
    assert order.pull_events() == []


def test_hold_resumes_to_where_it_was() -> None:
    order = draft()
    order.add_line("A", 1, "5.00", T0)
    order.place("SO-1", T0)
    order.confirm(T0)
    order.hold(T0)
    assert order.held_from == "confirmed"
    order.resume(T0)
    assert order.state == "confirmed"
    assert order.held_from is None


def test_disallowed_event_names_order_state_event_and_allowed() -> None:
    order = draft()
    order.add_line("A", 1, "5.00", T0)
    with pytest.raises(InvalidTransitionError) as info:
        order.ship(T0)
    error = info.value
    assert (error.order_id, error.state, error.event) == ("O-1", "draft", "ship")
    assert "place" in error.allowed and "cancel" in error.allowed
    assert "O-1" in str(error) and "draft" in str(error) and "ship" in str(error)


def test_cancel_after_shipment_is_refused() -> None:
    order = draft()
    order.add_line("A", 1, "5.00", T0)
    order.place("SO-1", T0)
    order.confirm(T0)
    order.ship(T0)
    with pytest.raises(InvalidTransitionError):
        order.cancel(T0)
    assert order.state == "shipped"


def test_confirm_records_allocation_and_cancel_clears_it() -> None:
    order = draft()
    order.add_line("A", 5, "5.00", T0)
    order.add_line("B", 2, "5.00", T0)
    order.place("SO-1", T0)
    plan = AllocationPlan(
        "O-1",
        allocations=(
            Allocation("L1", "A", "W1", Decimal(3)),
            Allocation("L2", "B", "W1", Decimal(2)),
        ),
        backorders=(Backorder("L1", "A", Decimal(2)),),
    )
    order.confirm(T0, plan=plan)
    assert order.line("L1").allocated == 3 and order.line("L1").backordered == 2
    assert order.allocation_status == "partially_allocated"
    order.cancel(T0, reason="customer asked")
    assert order.allocation_status == "unallocated"
    cancelled = order.pull_events()[-1]
    assert isinstance(cancelled, OrderCancelled)
    assert cancelled.cancelled_from == "confirmed"


def test_host_workflow_with_guarded_approval_step() -> None:
    approved: set[str] = set()
    workflow = (
        default_workflow()
        .extend("sales-order-credit", 1)
        .add_state("awaiting_credit_approval")
        .remove_transition("confirm", "placed")
        .add_transition("request_credit_approval", "placed", "awaiting_credit_approval")
        .add_transition(
            "approve_credit", "awaiting_credit_approval", "confirmed", guards=["credit_ok"]
        )
        .add_transition("cancel", "awaiting_credit_approval", "cancelled")
        .guard("credit_ok", lambda order: order.customer_id in approved)
        .build()
    )
    order = Order.create("O-9", "C-7", "USD", T0, workflow=workflow)
    order.add_line("A", 1, "5.00", T0)
    order.place("SO-9", T0)
    order.transition("request_credit_approval", T0, actor="sales")
    with pytest.raises(GuardRejectedError) as info:
        order.transition("approve_credit", T0)
    assert info.value.guard == "credit_ok"
    assert order.state == "awaiting_credit_approval"
    approved.add("C-7")
    order.transition("approve_credit", T0, actor="finance")
    assert order.state == "confirmed"
    kinds = [type(e) for e in order.pull_events()]
    assert kinds == [OrderPlaced, OrderTransitioned, OrderTransitioned]


# --------------------------------------------------------------------------- properties

SERIALIZER = Serializer()


@given(sst.draft_orders())
def test_totals_identity_for_random_orders(order: Order) -> None:
    totals = order.totals
    assert totals.net_total + totals.tax_total == totals.grand_total
    assert (
        sum((line.gross for line in order.lines), Decimal(0))
        + totals.shipping_net
        + totals.shipping_tax
        == totals.grand_total
    )
    for line in order.lines:
        assert line.net + line.tax == line.gross
        assert line.net >= 0 and line.tax >= 0


@given(sst.orders())
def test_orders_round_trip_through_json_data(order: Order) -> None:
    data = SERIALIZER.dump(order)
    loaded = SERIALIZER.load(data, Order)
    assert loaded == order
    assert loaded.workflow is order.workflow
    assert SERIALIZER.dump(loaded) == data


def _command(draw: st.DrawFn, order: Order):  # type: ignore[no-untyped-def]
    at = T0 + dt.timedelta(minutes=draw(st.integers(0, 1000)))
    line_ids = [line.line_id for line in order.lines] + ["L999"]
    choice = draw(st.integers(0, 14))
    bad_qty = draw(st.sampled_from([0, -3, 1.5, "x", Decimal("0.5"), 2]))
    if choice == 0:
        return lambda: order.add_line(
            "SKU-X", bad_qty, draw(st.sampled_from(["1.00", 2.5, "-1", "0.001"])), at
        )
    if choice == 1:
        return lambda: order.change_quantity(draw(st.sampled_from(line_ids)), bad_qty, at)
    if choice == 2:
        return lambda: order.remove_line(draw(st.sampled_from(line_ids)), at)
    if choice == 3:
        return lambda: order.place(draw(st.sampled_from(["SO-1", "", 5])), at)  # type: ignore[arg-type]
    if choice == 4:
        return lambda: order.apply_discount(
            Discount.percentage(draw(st.sampled_from([Decimal(10), Decimal(150), 5.0]))), at
        )
    if choice == 5:
        return lambda: order.set_shipping(draw(st.sampled_from(["5.00", "-1", 1.0, "0.001"])), at)
    if choice == 6:
        return lambda: order.add_line("SKU-Y", 1, Money("1.00", "GBP"), at)
    if choice == 7:
        return lambda: order.transition(draw(st.sampled_from(["fly", "place", "confirm"])), at)
    if choice == 8:
        return lambda: order.confirm(at, plan=AllocationPlan("OTHER"))
    if choice == 9:
        return lambda: order.set_addresses(at, shipping="not an address")  # type: ignore[arg-type]
    event = draw(
        st.sampled_from(["confirm", "hold", "resume", "cancel", "ship", "deliver", "complete"])
    )
    naive = draw(st.booleans())
    when = at.replace(tzinfo=None) if naive else at
    return lambda: order.transition(event, when)


@given(sst.orders(), st.data())
def test_failed_commands_change_nothing(order: Order, data: st.DataObject) -> None:
    for _ in range(12):
        command = _command(data.draw, order)
        before = SERIALIZER.dump(order)
        events_before = list(order.events)
        try:
            command()
        except SalesOrdersError:
            assert SERIALIZER.dump(order) == before
            assert order.events == events_before
        else:
            assert order.totals.net_total + order.totals.tax_total == order.totals.grand_total


def test_an_order_with_shipments_cannot_be_cancelled_and_tracks_its_fulfilment() -> None:
    from salesorders.domain.fulfilment import FulfilmentStatus, Shipment, ShippedLine

    order = Order.create("O-SHIP", "C-1", "EUR", T0)
    order.add_line("SKU-A", 2, Decimal("1.00"), T0)
    order.place("N-1", T0)
    order.confirm(T0)
    half = Shipment("S1", "W1", (ShippedLine("L1", "SKU-A", Decimal(1)),), T0)
    order.add_shipment(half)
    assert order.fulfilment_status is FulfilmentStatus.PARTIALLY_SHIPPED
    assert order.state == "confirmed"
    before = (order.state, order.shipments, order.audit)
    with pytest.raises(GuardRejectedError, match="CancelLines") as refused:
        order.cancel(T0, reason="too late")
    assert refused.value.guard == "nothing_shipped"
    assert (order.state, order.shipments, order.audit) == before
    too_much = Shipment("S2", "W1", (ShippedLine("L1", "SKU-A", Decimal(2)),), T0)
    with pytest.raises(ValidationError) as caught:
        order.add_shipment(too_much)
    assert caught.value.field == "lines[0].quantity"
    order.add_shipment(Shipment("S2", "W1", (ShippedLine("L1", "SKU-A", Decimal(1)),), T0))
    assert order.state == "shipped"
    assert order.fulfilment_status is FulfilmentStatus.SHIPPED
