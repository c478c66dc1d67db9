"""Follow-ups on every store: scheduled after delivery as the team's own work (a ticket of
category ``follow_up``), in the order's timeline and the assignee's queue, done with a
resolution; the customer is never told."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from salesorders.domain.ticket_sla import TicketQuery
from salesorders.domain.tickets import TicketCategory, TicketStatus
from salesorders.errors import ValidationError
from salesorders.service import (
    DeliverOrder,
    ManualClock,
    OpenTicket,
    ResolveTicket,
    SalesService,
    ScheduleFollowUp,
    ShipOrder,
)
from salesorders.testing.fakes import FakePaymentGateway
from support.returns import DAY, T0, delivered_order, returns_service, spec
from support.stores import STORE_KINDS, fresh_store


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as opened:
        yield opened


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def service(store: Any, clock: ManualClock) -> SalesService:
    return returns_service(store, clock, FakePaymentGateway())


def test_a_follow_up_is_scheduled_queued_shown_and_done_without_telling_the_customer(
    service: SalesService, store: Any, clock: ManualClock
) -> None:
    order_id = delivered_order(service, clock, (spec("SKU-A", 1, "10.00"),))
    due = clock.now() + 3 * DAY
    service.handle(
        ScheduleFollowUp(
            order_id=order_id, kind="call", due_at=due, assignee="mia",
            note="ask how the kettle works", actor="lead",
        )
    )  # fmt: skip
    (ticket,) = service.get_order(order_id).tickets
    assert (ticket.id, ticket.category, ticket.status, ticket.due_at) == (
        "T1", TicketCategory.FOLLOW_UP, TicketStatus.OPEN, due,
    )  # fmt: skip
    assert (ticket.department, ticket.assignee) == ("customer_service", "mia")
    assert ticket.description == "call: ask how the kettle works"

    queue = service.tickets_due(TicketQuery(clock.now(), within=7 * DAY, assignee="mia"))
    assert [(d.order_id, d.ticket_id, d.category, d.overdue) for d in queue] == [
        (order_id, "T1", TicketCategory.FOLLOW_UP, False)
    ]
    assert service.tickets_due(TicketQuery(clock.now(), within=7 * DAY, assignee="bo")) == ()
    clock.advance(4 * DAY)
    assert [d.overdue for d in service.tickets_due(TicketQuery(clock.now(), assignee="mia"))] == [
        True
    ]
    timeline = service.timeline(order_id)
    assert any(
        "ticket T1 opened (follow_up, normal): call: ask how the kettle works" in e.summary
        for e in timeline
    )

    service.handle(ResolveTicket(order_id=order_id, ticket_id="T1", resolution="all fine"))
    assert service.tickets_due(TicketQuery(clock.now(), assignee="mia")) == ()
    with store.read() as uow:
        types = [m.event_type for m in uow.outbox.messages(order_id)]
    assert "FollowUpScheduled" in types and "FollowUpDone" in types
    assert "TicketOpened" not in types and "TicketResolved" not in types


def test_bad_follow_ups_are_refused_naming_the_field(
    service: SalesService, clock: ManualClock
) -> None:
    order_id = delivered_order(service, clock, (spec("SKU-A", 1, "10.00"),))
    cases = [
        ({"due_at": clock.now() - DAY}, "due_at"),
        ({"assignee": " "}, "assignee"),
        ({"department": "kitchen"}, "department"),
        ({"kind": ""}, "kind"),
    ]
    for change, field in cases:
        fields: dict[str, Any] = {
            "order_id": order_id, "kind": "survey", "due_at": clock.now() + DAY, "assignee": "mia",
        }  # fmt: skip
        fields.update(change)
        with pytest.raises(ValidationError) as caught:
            service.handle(ScheduleFollowUp(**fields))
        assert caught.value.field == field
    with pytest.raises(ValidationError) as caught:
        service.handle(OpenTicket(order_id=order_id, category="follow_up", description="x"))
    assert caught.value.field == "category"
    assert service.get_order(order_id).tickets == ()


def test_a_follow_up_can_be_scheduled_before_delivery(
    service: SalesService, clock: ManualClock
) -> None:
    order_id = delivered_order(service, clock, (spec("SKU-B", 1, "5.00"),))
    assert service.handle(
        ScheduleFollowUp(order_id=order_id, kind="survey", due_at=clock.now() + DAY,
                         assignee="mia", ticket_id="F-1")
    ).order_id == order_id  # fmt: skip
    assert service.get_order(order_id).ticket("F-1").category is TicketCategory.FOLLOW_UP
    _ = (DeliverOrder, ShipOrder)
