"""Tracking numbers checked with the ``tracking-numbers`` library (``salesorders[tracking]``).

The checker (:class:`~salesorders.adapters.tracking.CourierTrackingNumbers`) on its own: valid
numbers of several couriers accepted and normalised, wrong check digits and foreign formats
refused naming ``tracking_number``, carriers the mapping does not name accepted, the mapping a host
gives, and the error when the library is missing. Then ``ShipOrder`` wired to it: a refused number
(given, or booked by a carrier) changes nothing, on the memory store and through SQLite and
PostgreSQL. The sample numbers are the test numbers of the data the library is generated from.
"""

from __future__ import annotations

import datetime as dt
import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tracking_numbers

from salesorders.adapters.memory import MemoryStore
from salesorders.adapters.tracking import DEFAULT_COURIERS, CourierTrackingNumbers
from salesorders.domain.fulfilment import Shipment, ShipmentStatus
from salesorders.domain.warehouse import Warehouse
from salesorders.errors import ValidationError
from salesorders.ports import CarrierBooking
from salesorders.service import (
    ManualClock,
    ReceiveStock,
    RegisterWarehouse,
    SalesService,
    ShipOrder,
    bootstrap,
)
from salesorders.testing.fakes import FakeCarrier
from support.stores import STORE_KINDS, fresh_store
from test_service_support import line, new_order

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

UPS = "1Z5R89390357567127"
UPS_WRONG_CHECK_DIGIT = "1Z5R89390357567128"  # UPS with its last digit changed
FEDEX_EXPRESS = "986578788855"
FEDEX_WRONG_CHECK_DIGIT = "996578788855"

#: (carrier name, number as given, number stored, courier code the library gives the number).
VALID = [
    ("ups", UPS, UPS, "ups"),
    ("UPS", "1z5r 8939 0357 5671 27", UPS, "ups"),
    ("ups", "1Z879E930346834440", "1Z879E930346834440", "ups"),
    ("fedex", FEDEX_EXPRESS, FEDEX_EXPRESS, "fedex"),
    ("FedEx", "0414 4176 0228 964", "041441760228964", "fedex"),  # FedEx Ground
    ("usps", "9400 1112 0108 0805 4830 16", "9400111201080805483016", "usps"),
    ("usps", "RB123456785US", "RB123456785US", "s10"),  # an international parcel
    ("dhl", "3318810025", "3318810025", "dhl"),
    ("DHL Express", "3318810025", "3318810025", "dhl"),
]


@pytest.fixture(scope="module")
def checker() -> CourierTrackingNumbers:
    return CourierTrackingNumbers()


def _refusal(checker: CourierTrackingNumbers, carrier: str, number: str) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        checker.check(carrier, number)
    assert caught.value.field == "tracking_number"
    assert caught.value.value == number
    assert caught.value.hint
    return caught.value


# --------------------------------------------------------------------------- the checker


@pytest.mark.parametrize(("carrier", "given", "stored", "courier"), VALID)
def test_valid_numbers_are_accepted_and_normalised(
    checker: CourierTrackingNumbers, carrier: str, given: str, stored: str, courier: str
) -> None:
    found = tracking_numbers.get_tracking_number(stored)  # the library agrees on its own
    assert found is not None and found.valid and found.courier.code == courier
    assert checker.check(carrier, given) == stored


@pytest.mark.parametrize(
    ("carrier", "number", "problem"),
    [
        (
            "ups",
            UPS_WRONG_CHECK_DIGIT,
            "is not a valid UPS tracking number (check digit does not match)",
        ),
        (
            "fedex",
            FEDEX_WRONG_CHECK_DIGIT,
            "is not a valid FedEx tracking number (FedEx Express (12): check digit does not match)",
        ),
        (
            "dhl",
            "3318810010",
            "is not a valid DHL tracking number (DHL Express: check digit does not match)",
        ),
        (
            "usps",
            "RB123456786US",
            "is not a valid United States Postal Service tracking number (S10: check digit does not match)",
        ),
        (
            "ups",
            "1Z1111111111111111",
            "is not a valid UPS tracking number (check digit does not match, unknown service type)",
        ),
        # a letter where the check digit is: the library cannot read it, the checker refuses it
        (
            "ups",
            "1Z5R8939035756712A",
            "is not a valid UPS tracking number (check digit is not a digit)",
        ),
    ],
)
def test_a_wrong_check_digit_is_refused(
    checker: CourierTrackingNumbers, carrier: str, number: str, problem: str
) -> None:
    if number[-1].isdigit():  # the library finds no valid number in it either
        assert tracking_numbers.get_tracking_number(number) is None
    error = _refusal(checker, carrier, number)
    assert error.problem == problem
    assert "typing error" in error.hint


def test_a_number_in_no_format_of_the_carrier_is_refused(checker: CourierTrackingNumbers) -> None:
    error = _refusal(checker, "ups", "12345")
    assert error.problem == "is not in any UPS tracking number format"
    assert "map 'ups' to no courier" in error.hint

    another = _refusal(checker, "ups", FEDEX_EXPRESS)  # a valid FedEx number, given as UPS
    assert another.problem == "is not in any UPS tracking number format"
    assert "it is a valid FedEx tracking number (FedEx Express (12))" in another.hint


@pytest.mark.parametrize(
    ("carrier", "number"),
    [
        ("own-van", "van 7 / run 3"),
        ("Local Courier", "LC-0042"),
        ("", UPS_WRONG_CHECK_DIGIT),
        ("own-van", UPS_WRONG_CHECK_DIGIT),
    ],
)
def test_a_carrier_the_mapping_does_not_name_keeps_any_number(
    checker: CourierTrackingNumbers, carrier: str, number: str
) -> None:
    assert checker.check(carrier, number) == number


def test_a_host_maps_its_own_carrier_names() -> None:
    checker = CourierTrackingNumbers({**DEFAULT_COURIERS, "acme-express": "ups", "dhl": ()})
    assert checker.check("ACME Express", "1z5r89390357567127") == UPS
    assert checker.check("dhl", "JJD0099999999") == "JJD0099999999"  # DHL Parcel: not checked
    assert checker.couriers["acmeexpress"] == ("ups",)
    assert checker.couriers["dhl"] == ()

    only_mine = CourierTrackingNumbers({"acme-express": ["ups", "fedex"]})
    assert only_mine.check("acme-express", FEDEX_EXPRESS) == FEDEX_EXPRESS
    assert only_mine.check("ups", "anything") == "anything"  # no longer a name it knows


@pytest.mark.parametrize(
    ("couriers", "field", "problem"),
    [
        ({"ups": "upz"}, "couriers['ups']", "names the courier 'upz'"),
        ({"ups": 7}, "couriers['ups']", "must be a courier code or a collection of them"),
        ({"-": "ups"}, "couriers['-']", "must be a carrier name with a letter or digit"),
        ({"UPS": "ups", "u.p.s": "fedex"}, "couriers['u.p.s']", "names a carrier another name"),
        (["ups"], "couriers", "must be a mapping"),
    ],
)
def test_a_bad_mapping_is_refused(couriers: Any, field: str, problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CourierTrackingNumbers(couriers)
    assert caught.value.field == field
    assert problem in caught.value.problem


def test_without_the_library_the_checker_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "salesorders.adapters.tracking")
    monkeypatch.setitem(sys.modules, "tracking_numbers", None)  # as if it were not installed
    module = importlib.import_module("salesorders.adapters.tracking")  # importing needs nothing
    with pytest.raises(ImportError, match=r"pip install 'salesorders\[tracking\]'") as caught:
        module.CourierTrackingNumbers()
    assert isinstance(caught.value.__cause__, ImportError)
    # the service does not need it either
    service = bootstrap(store=MemoryStore())
    assert service is not None


def test_the_service_loads_the_library_only_when_a_checker_is_built() -> None:
    code = (
        "import sys, salesorders.service, salesorders.adapters.tracking as t\n"
        "assert 'tracking_numbers' not in sys.modules\n"
        "t.CourierTrackingNumbers()\n"
        "assert 'tracking_numbers' in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr


# --------------------------------------------------------------------------- ShipOrder


class ListedCarrier:
    """A carrier that books shipments with the numbers it is given, in turn."""

    def __init__(self, name: str, *numbers: str) -> None:
        self._name = name
        self._numbers = list(numbers)
        self.booked: list[str] = []
        self.cancelled: list[str] = []

    @property
    def name(self) -> str:
        return self._name

    def book(self, shipment: Shipment) -> CarrierBooking:
        number = self._numbers[len(self.booked)]
        self.booked.append(number)
        return CarrierBooking(number, label_ref=f"label:{number}")

    def cancel(self, shipment: Shipment, booking: CarrierBooking) -> None:
        self.cancelled.append(booking.tracking_number)

    def status_of(self, code: str) -> ShipmentStatus:
        raise ValidationError("carrier_code", code, "is not known")


def _service(store: Any, *carriers: Any, checked: bool = True) -> SalesService:
    """Warehouses W1 and W2: SKU-A 3 in W1 and 10 in W2, SKU-B 5 in W1."""
    service = bootstrap(
        store=store,
        clock=ManualClock(T0),
        carriers=carriers,
        tracking_numbers=CourierTrackingNumbers() if checked else None,
        sleep=lambda _seconds: None,
    )
    service.handle(RegisterWarehouse(warehouse=Warehouse("W1", priority=1)))
    service.handle(RegisterWarehouse(warehouse=Warehouse("W2", priority=2)))
    service.handle(ReceiveStock(sku="SKU-A", warehouse_id="W1", quantity=3, reason="PO-1"))
    service.handle(ReceiveStock(sku="SKU-A", warehouse_id="W2", quantity=10, reason="PO-2"))
    service.handle(ReceiveStock(sku="SKU-B", warehouse_id="W1", quantity=5, reason="PO-1"))
    return service


def _confirmed(service: SalesService, *lines: Any) -> str:
    """A confirmed order: 2 SKU-B from W1 unless told (5 SKU-A ships from W1 and W2)."""
    chosen = lines or (line("SKU-B", 2, "4.00"),)
    return service.handle(new_order(*chosen, confirm=True)).order_id


def _state(store: Any, order_id: str) -> tuple[object, ...]:
    """Everything shipping may change."""
    with store.unit_of_work() as uow:
        return (
            uow.orders.get(order_id),
            {(i.sku, i.warehouse_id): (i.on_hand, i.reserved) for i in uow.stock.items()},
            uow.stock.ledger(),
            uow.stock.reservations(),
            [(m.event_id, m.event_type, m.payload) for m in uow.outbox.messages()],
        )


def _assert_unshipped(store: Any, order_id: str, before: tuple[object, ...]) -> None:
    assert _state(store, order_id) == before
    with store.unit_of_work() as uow:
        order = uow.orders.get(order_id)
        assert (order.state, order.shipments) == ("confirmed", ())
        assert all(r.open > 0 for r in uow.stock.reservations(order_id))
        kinds = [m.event_type for m in uow.outbox.messages(order_id)]
    assert "ShipmentDispatched" not in kinds


@pytest.fixture
def memory_store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture(params=STORE_KINDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


def test_ship_order_keeps_the_normalised_number_and_refuses_a_bad_one(any_store: Any) -> None:
    service = _service(any_store)
    refused = _confirmed(service)
    before = _state(any_store, refused)
    with pytest.raises(ValidationError) as caught:
        service.handle(
            ShipOrder(order_id=refused, carrier="ups", tracking_number=UPS_WRONG_CHECK_DIGIT)
        )
    assert caught.value.field == "tracking_number"
    assert "check digit does not match" in str(caught.value)
    _assert_unshipped(any_store, refused, before)

    shipped = service.handle(
        ShipOrder(order_id=refused, carrier="UPS", tracking_number="1z5r 8939 0357 5671 27")
    )
    assert shipped.state == "shipped"
    assert service.get_order(refused).shipments[0].tracking_number == UPS


def test_each_courier_number_is_stored_as_the_courier_writes_it(
    memory_store: MemoryStore,
) -> None:
    service = _service(memory_store)
    for carrier, given, stored, _courier in VALID[:6]:
        order_id = _confirmed(service, line("SKU-A", 1))
        service.handle(ShipOrder(order_id=order_id, carrier=carrier, tracking_number=given))
        assert service.get_order(order_id).shipments[0].tracking_number == stored


def test_an_unknown_carrier_keeps_the_number_as_given(memory_store: MemoryStore) -> None:
    service = _service(memory_store)
    order_id = _confirmed(service)
    service.handle(ShipOrder(order_id=order_id, carrier="own-van", tracking_number="van 7 / run 3"))
    assert service.get_order(order_id).shipments[0].tracking_number == "van 7 / run 3"


def test_without_a_checker_any_number_is_kept(memory_store: MemoryStore) -> None:
    service = _service(memory_store, checked=False)
    order_id = _confirmed(service)
    service.handle(
        ShipOrder(order_id=order_id, carrier="ups", tracking_number=UPS_WRONG_CHECK_DIGIT)
    )
    assert service.get_order(order_id).shipments[0].tracking_number == UPS_WRONG_CHECK_DIGIT


def test_a_number_the_carrier_books_is_checked_and_normalised(memory_store: MemoryStore) -> None:
    ups = ListedCarrier("ups", "1z5r 8939 0357 5671 27")
    service = _service(memory_store, ups)
    order_id = _confirmed(service)
    service.handle(ShipOrder(order_id=order_id, carrier="ups"))
    (shipment,) = service.get_order(order_id).shipments
    assert (shipment.tracking_number, shipment.label_ref) == (UPS, "label:1z5r 8939 0357 5671 27")


def test_a_bad_number_a_carrier_books_is_refused_and_nothing_is_saved(
    memory_store: MemoryStore,
) -> None:
    fake = FakeCarrier("ups", prefix="1Z")  # books 1Z0000000001: no UPS number
    service = _service(memory_store, fake)
    order_id = _confirmed(service)
    before = _state(memory_store, order_id)
    with pytest.raises(ValidationError) as caught:
        service.handle(ShipOrder(order_id=order_id, carrier="ups"))
    assert caught.value.field == "tracking_number"
    assert caught.value.value == "1Z0000000001"
    assert caught.value.problem == (
        "is not in any UPS tracking number format, booked by carrier 'ups'"
    )
    assert "bookings this command made are cancelled" in caught.value.hint
    assert isinstance(caught.value.__cause__, ValidationError)
    assert fake.attempts == 1  # the carrier was asked once: a refusal is not retried
    assert (fake.booked, len(fake.cancelled)) == ([], 1)  # and its booking was cancelled
    _assert_unshipped(memory_store, order_id, before)


def test_a_second_bad_booking_refuses_both_shipments(memory_store: MemoryStore) -> None:
    ups = ListedCarrier("ups", UPS, UPS_WRONG_CHECK_DIGIT)
    service = _service(memory_store, ups)
    order_id = _confirmed(service, line("SKU-A", 5))  # 3 from W1, 2 from W2: two shipments
    before = _state(memory_store, order_id)
    with pytest.raises(
        ValidationError, match=r"check digit does not match\), booked by carrier 'ups'"
    ):
        service.handle(ShipOrder(order_id=order_id, carrier="ups"))
    assert ups.booked == [UPS, UPS_WRONG_CHECK_DIGIT]
    assert ups.cancelled == [UPS_WRONG_CHECK_DIGIT, UPS]  # both voided, newest first
    _assert_unshipped(memory_store, order_id, before)


def test_the_number_is_checked_before_the_order_is_read(memory_store: MemoryStore) -> None:
    service = _service(memory_store)
    with pytest.raises(ValidationError) as caught:
        service.handle(ShipOrder(order_id="nope", carrier="fedex", tracking_number="   "))
    assert caught.value.field == "tracking_number"


def test_bootstrap_refuses_a_checker_without_check() -> None:
    with pytest.raises(ValidationError) as caught:
        bootstrap(store=MemoryStore(), tracking_numbers=object())  # type: ignore[arg-type]
    assert caught.value.field == "tracking_numbers"
