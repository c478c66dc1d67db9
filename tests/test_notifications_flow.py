"""Customer notifications end to end, on every store: commands write events to the outbox, the
relay renders them with the built-in templates in the customer's language and the email channel
sends them to a real SMTP server (aiosmtpd, started here), ticket answers included, internal notes
never."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("jinja2", reason="needs the email extra")
pytest.importorskip("aiosmtpd", reason="needs the demo extra (aiosmtpd)")

from salesorders import ManualClock
from salesorders.adapters.smtp import EmailChannel, SmtpSettings
from salesorders.cli.demo_mail import DemoMailbox
from salesorders.notifications import CustomerContact, InMemoryCustomerDirectory, TemplateCatalog
from salesorders.service import AddOrderNote, AddTicketNote, OpenTicket, ResolveTicket
from salesorders.testing.fakes import FakePaymentGateway
from support.returns import T0, delivered_order, returns_service, spec
from support.stores import STORE_KINDS, fresh_store


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with fresh_store(request, tmp_path) as built:
        yield built


@pytest.fixture
def mailbox() -> Iterator[DemoMailbox]:
    with DemoMailbox() as box:
        yield box


def _relay_all(service: Any) -> None:
    while service.relay.run_once().delivered:
        pass


@pytest.mark.parametrize(
    ("locale", "opened", "answered", "resolved"),
    [
        ("de_DE", "eingegangen", "Antwort", "erledigt"),
        ("ja_JP", "お問い合わせ", "回答", "解決"),
    ],
)
def test_ticket_opened_answered_and_resolved_reach_the_customer_in_their_language(
    store: Any,
    mailbox: DemoMailbox,
    locale: str,
    opened: str,
    answered: str,
    resolved: str,
) -> None:
    clock = ManualClock(T0)
    contact = CustomerContact("C-1", name="Kim", email="kim@example.com", locale=locale)
    settings = SmtpSettings(host=mailbox.host, port=mailbox.port, sender="shop@example.com")
    service = returns_service(
        store,
        clock,
        FakePaymentGateway(),
        channels=[EmailChannel(settings, TemplateCatalog(), clock=clock)],
        directory=InMemoryCustomerDirectory([contact]),
    )
    order_id = delivered_order(service, clock, (spec("SKU-A", 2, "80.00"),))
    _relay_all(service)
    before = len(mailbox.received)
    assert before >= 3  # placed, confirmed, shipped, delivered ... in the customer's language
    assert {mail.locale for mail in mailbox.received} == {locale.replace("_", "-")}

    service.handle(OpenTicket(order_id, "damaged", "the box arrived crushed"))
    service.handle(AddTicketNote(order_id, "T1", "checked the photos", "internal", actor="ann"))
    service.handle(AddOrderNote(order_id, "@warehouse check the packing", actor="ann"))
    service.handle(AddTicketNote(order_id, "T1", "a new one is on its way", "customer"))
    service.handle(ResolveTicket(order_id, "T1", "replacement sent"))
    _relay_all(service)

    ticket_mail = mailbox.received[before:]
    events = [mail.event_id.rsplit(":", 1)[0] for mail in ticket_mail]
    assert events == [order_id] * 3  # the three customer-facing ticket events, no internal note
    texts = [mail.text() for mail in ticket_mail]
    assert "a new one is on its way" in texts[1]
    assert "replacement sent" in texts[2]
    assert all("checked the photos" not in t and "check the packing" not in t for t in texts)
    # each message says what happened, in the customer's language
    for mail, text, word in zip(ticket_mail, texts, (opened, answered, resolved), strict=True):
        assert word in mail.subject + text, (mail.subject, text)
    # and the order's delivery log says so, per channel and event
    log = service.deliveries(order_id)
    assert [r.status for r in log if r.event_type.startswith("Ticket")] == [
        "sent",
        "skipped",
        "sent",
        "sent",
    ]
