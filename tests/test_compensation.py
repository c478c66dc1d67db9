"""What a command did outside the database is undone when its attempt does not commit: a carrier
booking is cancelled when a later step refuses or the commit conflicts, and a retry books anew."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from salesorders.adapters.memory import MemoryStore
from salesorders.errors import ConcurrencyConflictError
from salesorders.service import ShipOrder
from salesorders.service.compensation import attempt, on_failure
from salesorders.testing.fakes import FakeCarrier
from test_service_support import WrappedUnitOfWork, line, make_service, new_order


def test_undo_steps_run_newest_first_only_when_the_attempt_fails() -> None:
    ran: list[str] = []
    with attempt():
        on_failure(lambda: ran.append("kept"))
    assert ran == []

    def refused() -> None:
        with attempt():
            on_failure(lambda: ran.append("first"))
            on_failure(lambda: ran.append("second"))
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        refused()
    assert ran == ["second", "first"]


def test_a_failing_undo_step_does_not_hide_the_error_and_the_others_still_run() -> None:
    ran: list[str] = []

    def broken() -> None:
        raise OSError("carrier unreachable")

    def refused() -> None:
        with attempt():
            on_failure(lambda: ran.append("other"))
            on_failure(broken)
            raise ValueError("the command's own error")

    with pytest.raises(ValueError) as caught:
        refused()
    assert ran == ["other"]
    assert any("carrier unreachable" in note for note in caught.value.__notes__)


def test_outside_an_attempt_nothing_is_kept_and_attempts_do_not_share_steps() -> None:
    on_failure(lambda: pytest.fail("no attempt is running: nothing to undo into"))
    seen: dict[str, list[str]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)

    def run(name: str) -> None:
        try:
            with attempt():
                on_failure(lambda: seen[name].append(name))
                barrier.wait()
                if name == "a":
                    raise RuntimeError("a fails")
        except RuntimeError:
            pass

    threads = [threading.Thread(target=run, args=(n,)) for n in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"a": ["a"], "b": []}


class _CommitConflictsOnce(WrappedUnitOfWork):
    """The memory unit of work whose commit conflicts the first time."""

    conflicts = 1

    def commit(self) -> None:
        if _CommitConflictsOnce.conflicts:
            _CommitConflictsOnce.conflicts -= 1
            raise ConcurrencyConflictError("O-1", 1, 2)
        self._inner.commit()


def test_a_booking_whose_commit_conflicted_is_cancelled_and_the_retry_books_again() -> None:
    store = MemoryStore()
    carrier = FakeCarrier("swift", prefix="SW")
    setup, _, _ = make_service(store, stock={("SKU-A", "W1"): 5})
    order_id = setup.handle(new_order(line("SKU-A", 2), confirm=True)).order_id
    _CommitConflictsOnce.conflicts = 1
    service, _, _ = make_service(
        store, uow=lambda: _CommitConflictsOnce(store.unit_of_work()), carriers=[carrier]
    )
    result: Any = service.handle(ShipOrder(order_id=order_id, carrier="swift"))
    assert result.state == "shipped"
    assert [b.booking.tracking_number for b in carrier.cancelled] == ["SW0000000001"]
    assert carrier.tracking_numbers() == ("SW0000000002",)
    (shipment,) = setup.get_order(order_id).shipments
    assert shipment.tracking_number == "SW0000000002"


def test_a_carrier_refuses_to_cancel_what_it_did_not_book() -> None:
    carrier = FakeCarrier("swift")
    store = MemoryStore()
    setup, _, _ = make_service(store, stock={("SKU-A", "W1"): 5}, carriers=[carrier])
    order_id = setup.handle(new_order(line("SKU-A", 1), confirm=True)).order_id
    setup.handle(ShipOrder(order_id=order_id, carrier="swift"))
    (made,) = carrier.booked
    carrier.cancel(made.shipment, made.booking)
    with pytest.raises(Exception, match="not a live booking"):
        carrier.cancel(made.shipment, made.booking)
