"""The notification templates: every built-in renders in every locale, money and dates are
formatted per locale, customer text is escaped in HTML only, overrides and locale fallback, SMS
length, and errors that name the template."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from moneyed import Money

from salesorders.domain import events as ev
from salesorders.domain.order import Order
from salesorders.errors import TemplateError
from salesorders.notifications import (
    BUILTIN_LOCALES,
    CONTEXT_VARIABLES,
    CustomerContact,
    Notice,
    Rendered,
    TemplateCatalog,
    notice_context,
)
from salesorders.ports import OutboxMessage
from salesorders.serialization import Serializer
from salesorders.service import LineSpec, PlaceOrder
from test_service_support import T0, make_service

CUSTOMER_EVENTS = (
    "OrderPlaced",
    "OrderConfirmed",
    "OrderHeld",
    "OrderResumed",
    "OrderCancelled",
    "OrderLinesCancelled",
    "ShipmentDispatched",
    "OrderShipped",
    "OrderDelivered",
    "PaymentCaptured",
    "PaymentRefunded",
    "ChangeApproved",
    "ChangeDeclined",
    "ReturnRequested",
    "ReturnApproved",
    "ReturnRejected",
    "ReturnReceived",
    "CreditNoteIssued",
    "TicketOpened",
    "TicketAnswered",
    "TicketResolved",
)
INTERNAL_EVENTS = (
    "TicketNoted",
    "TicketAssigned",
    "OrderNoteAdded",
    "OrderTransitioned",
    "FollowUpScheduled",
    "FollowUpDone",
)
TRACKING = "1Z999AA10123456784"

# The fields each event adds to the base ones, as the domain event classes take them.
_FIELDS: dict[str, dict[str, Any]] = {
    "OrderHeld": {"held_from": "confirmed", "reason": "address check"},
    "OrderResumed": {"resumed_to": "confirmed"},
    "OrderCancelled": {"cancelled_from": "confirmed", "reason": "customer request"},
    "OrderLinesCancelled": {
        "lines": (("L2", "1", "10.00"),),
        "grand_total_before": Decimal("1254.50"),
        "grand_total": Decimal("1244.50"),
    },
    "ShipmentDispatched": {
        "shipment_id": "S-1",
        "warehouse_id": "W1",
        "carrier": "DHL",
        "tracking_number": TRACKING,
        "lines": (("L1", "1"),),
    },
    "OrderShipped": {},
    "OrderDelivered": {},
    "PaymentCaptured": {
        "payment_id": "P-1",
        "method": "card",
        "amount": "1234.50",
        "currency": "EUR",
        "balance_due": "20.00",
    },
    "PaymentRefunded": {"payment_id": "P-1", "amount": "20.00", "currency": "EUR"},
    "ChangeApproved": {
        "change_id": "CH-1",
        "revision": 2,
        "currency": "EUR",
        "grand_total": "1264.50",
        "difference": "10.00",
        "balance_due": "10.00",
    },
    "ChangeDeclined": {"change_id": "CH-1", "currency": "EUR", "reason": "already packed"},
    "ReturnRequested": {
        "return_id": "R-1",
        "lines": (("L1", "1", "damaged"),),
        "estimate": "1234.50",
        "currency": "EUR",
    },
    "ReturnApproved": {"return_id": "R-1", "lines": (("L1", "1", "damaged"),)},
    "ReturnRejected": {"return_id": "R-1", "reason": "outside the return window"},
    "ReturnReceived": {"return_id": "R-1", "lines": (("L1", "1", "damaged"),)},
    "CreditNoteIssued": {
        "number": "CN-2026-000001",
        "return_id": "R-1",
        "amount": "1234.50",
        "refunded": "1234.50",
        "currency": "EUR",
    },
}
# Ticket events are plain payloads here: the same base fields and their own.
_TICKETS: dict[str, dict[str, Any]] = {
    "TicketOpened": {
        "ticket_id": "T-7",
        "category": "delivery",
        "priority": "normal",
        "description": "The parcel has not arrived.",
        "due_at": "2026-03-02T09:00:00+00:00",
    },
    "TicketAnswered": {
        "ticket_id": "T-7",
        "note_id": "N-1",
        "text": "Your parcel arrives tomorrow.",
        "author": "Mia",
    },
    "TicketResolved": {"ticket_id": "T-7", "resolution": "parcel delivered"},
    "TicketNoted": {"ticket_id": "T-7", "note_id": "N-2", "text": "internal", "author": "Mia"},
    "TicketAssigned": {"ticket_id": "T-7", "department": "logistics", "assignee": "Mia"},
    "OrderNoteAdded": {"note_id": "N-3", "text": "internal", "author": "Mia", "mentions": []},
}


def placed(currency: str = "EUR", price: str = "1234.50", stock: int = 1) -> tuple[Order, list]:
    """An order placed and confirmed through the service (line L2 partly backordered), and the
    outbox messages it wrote."""
    service, store, _ = make_service(stock={("SKU-A", "W1"): 10, ("SKU-B", "W1"): stock})
    lines = (
        LineSpec("SKU-A", 1, Money(price, currency), description="Espresso machine"),
        LineSpec("SKU-B", 2, Money("10.00", currency), description="Descaler"),
    )
    command = PlaceOrder(
        lines=lines, customer_id="C-1", currency=currency, order_id="O-1", confirm=True
    )
    service.handle(command)
    with store.unit_of_work() as uow:
        return uow.orders.get("O-1"), list(uow.outbox.messages())


@pytest.fixture(scope="module")
def order_and_messages() -> tuple[Order, list]:
    return placed()


def message(event_type: str, sequence: int = 9) -> OutboxMessage:
    """An outbox message for ``event_type`` on order O-1, its payload as the library writes it."""
    base = {"order_id": "O-1", "sequence": sequence, "at": T0}
    if event_type in _TICKETS:
        payload = {**Serializer().dump(ev.OrderEvent(**base)), **_TICKETS[event_type]}
    else:
        cls = getattr(ev, event_type)
        payload = Serializer().dump(cls(**base, **_FIELDS.get(event_type, {})))
    return OutboxMessage(f"O-1:{sequence}", "O-1", sequence, event_type, payload, T0)


def notice_of(event_type: str, order: Order, messages: list, **contact: Any) -> Notice:
    real = [m for m in messages if m.event_type == event_type]
    found = real[0] if real else message(event_type)
    contact.setdefault("name", "Anna Schmidt")
    contact.setdefault("time_zone", "Europe/Berlin")
    return Notice(found, order, CustomerContact("C-1", **contact))


CATALOG = TemplateCatalog()


@pytest.mark.parametrize("locale", BUILTIN_LOCALES)
@pytest.mark.parametrize("event_type", CUSTOMER_EVENTS)
def test_every_builtin_renders_in_every_locale(
    order_and_messages: tuple[Order, list], event_type: str, locale: str
) -> None:
    order, messages = order_and_messages
    notice = notice_of(event_type, order, messages, locale=locale)
    email = CATALOG.render(notice, "email")
    sms = CATALOG.render(notice, "sms")
    assert email is not None and sms is not None
    assert email.locale == sms.locale == locale
    assert order.number in email.subject and "\n" not in email.subject
    assert order.number in email.text and order.number in sms.text
    assert email.html is not None and order.number in email.html
    assert email.html.startswith("<!DOCTYPE html>")
    assert (sms.subject, sms.html) == ("", None)
    assert "Anna Schmidt" in email.text


@pytest.mark.parametrize("event_type", INTERNAL_EVENTS)
def test_internal_events_have_no_template(
    order_and_messages: tuple[Order, list], event_type: str
) -> None:
    order, _ = order_and_messages
    if event_type in _TICKETS:
        notice = Notice(message(event_type), order, CustomerContact("C-1"))
    else:
        fields = {"event": "ship", "source": "confirmed", "target": "shipped"}
        payload = Serializer().dump(ev.OrderTransitioned("O-1", 9, T0, **fields))
        notice = Notice(OutboxMessage("O-1:9", "O-1", 9, event_type, payload, T0), order)
    assert CATALOG.render(notice, "email") is None
    assert CATALOG.render(notice, "sms") is None
    assert CATALOG.render(notice, "webhook") is None


def test_built_in_names_cover_every_event_locale_and_part() -> None:
    names = set(CATALOG.names())
    for locale in BUILTIN_LOCALES:
        for event_type in CUSTOMER_EVENTS:
            for part in ("email.subject", "email.text", "sms.text"):
                assert f"{locale}/{event_type}.{part}" in names
    assert not any(name.split("/")[1].startswith(INTERNAL_EVENTS) for name in names)


def test_the_details_each_event_carries_reach_the_message(
    order_and_messages: tuple[Order, list],
) -> None:
    order, messages = order_and_messages
    shipped = CATALOG.render(notice_of("ShipmentDispatched", order, messages), "sms")
    assert shipped is not None and TRACKING in shipped.text and "DHL" in shipped.text
    confirmed = CATALOG.render(notice_of("OrderConfirmed", order, messages), "email")
    assert confirmed is not None and "backorder" in confirmed.text and "Descaler" in confirmed.text
    answered = CATALOG.render(notice_of("TicketAnswered", order, messages), "email")
    assert answered is not None and "Your parcel arrives tomorrow." in answered.text
    credit = CATALOG.render(notice_of("CreditNoteIssued", order, messages), "email")
    assert credit is not None and "CN-2026-000001" in credit.subject


def test_confirmed_without_backorders_does_not_mention_them() -> None:
    order, messages = placed(stock=10)
    rendered = CATALOG.render(notice_of("OrderConfirmed", order, messages), "email")
    assert rendered is not None and "backorder" not in rendered.text


@pytest.mark.parametrize(
    ("locale", "currency", "price", "expected"),
    [
        ("de_DE", "EUR", "1234.50", "1.234,50\xa0€"),
        ("en_US", "USD", "1234.50", "$1,234.50"),
        ("en_US", "EUR", "1234.50", "€1,234.50"),
        ("ja_JP", "JPY", "1234", "￥1,234"),
        ("zh_CN", "CNY", "1234.50", "¥1,234.50"),
        ("zh_CN", "USD", "1234.50", "US$1,234.50"),
    ],
)
def test_money_is_formatted_in_the_templates_locale(
    locale: str, currency: str, price: str, expected: str
) -> None:
    order, messages = placed(currency=currency, price=price)
    notice = notice_of("OrderPlaced", order, messages, locale=locale)
    rendered = CATALOG.render(notice, "email")
    assert rendered is not None
    assert expected in rendered.text


def test_dates_are_in_the_locale_and_the_customers_time_zone(
    order_and_messages: tuple[Order, list],
) -> None:
    order, _ = order_and_messages
    payload = {**message("OrderDelivered").payload, "at": "2026-03-01T23:30:00+00:00"}
    late = OutboxMessage("O-1:9", "O-1", 9, "OrderDelivered", payload, T0)
    german = Notice(late, order, CustomerContact("C-1", locale="de_DE", time_zone="Europe/Berlin"))
    rendered = CATALOG.render(german, "email")
    assert rendered is not None and "02.03.2026" in rendered.text  # already the 2nd in Berlin
    american = Notice(late, order, CustomerContact("C-1", locale="en_US", time_zone="UTC"))
    rendered = CATALOG.render(american, "email")
    assert rendered is not None and "Mar 1, 2026" in rendered.text


def test_customer_text_is_escaped_in_html_and_plain_in_text(
    order_and_messages: tuple[Order, list],
) -> None:
    order, messages = order_and_messages
    name = "<script>alert(1)</script>"
    notice = notice_of("TicketAnswered", order, messages, name=name)
    rendered = CATALOG.render(notice, "email")
    assert rendered is not None and rendered.html is not None
    assert name in rendered.text
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html


def test_a_host_template_overrides_one_part_and_keeps_the_rest(
    order_and_messages: tuple[Order, list],
) -> None:
    order, messages = order_and_messages
    catalog = TemplateCatalog(
        {
            "de_DE/OrderPlaced.email.subject": "Danke, {{ customer_name }}!",
            "de_DE/OrderPlaced.email.html": "<h1>{{ customer_name }}</h1>{{ order_total|money }}",
        }
    )
    notice = notice_of("OrderPlaced", order, messages, locale="de_DE", name="A&B")
    rendered = catalog.render(notice, "email")
    assert rendered is not None
    assert rendered.subject == "Danke, A&B!"
    assert rendered.html == "<h1>A&amp;B</h1>1.254,50\xa0€"
    assert rendered.text == CATALOG.render(notice, "email").text  # type: ignore[union-attr]


def test_a_host_can_add_a_channel_and_an_event() -> None:
    order, _ = placed()
    catalog = TemplateCatalog({"en_US/OrderCompleted.push.text": "{{ order_number }} done"})
    payload = Serializer().dump(ev.OrderCompleted("O-1", 9, T0))
    notice = Notice(OutboxMessage("O-1:9", "O-1", 9, "OrderCompleted", payload, T0), order)
    assert catalog.render(notice, "push") == Rendered("", f"{order.number} done", None, "en_US")
    assert catalog.render(notice, "email") is None


@pytest.mark.parametrize(
    ("wanted", "found"),
    [
        ("de_AT", "de_DE"),
        ("de", "de_DE"),
        ("ja_JP", "ja_JP"),
        ("fr_FR", "en_US"),
        ("zh_TW", "zh_CN"),
    ],
)
def test_locale_falls_back_to_the_language_then_the_default(
    order_and_messages: tuple[Order, list], wanted: str, found: str
) -> None:
    order, messages = order_and_messages
    rendered = CATALOG.render(notice_of("OrderShipped", order, messages, locale=wanted), "sms")
    assert rendered is not None and rendered.locale == found


def test_a_host_locale_comes_before_the_languages_built_in(
    order_and_messages: tuple[Order, list],
) -> None:
    order, messages = order_and_messages
    catalog = TemplateCatalog({"de_AT/OrderShipped.sms.text": "Servus, {{ order_total|money }}"})
    assert catalog.fallback("de_AT") == ("de_AT", "de", "de_DE", "en_US")
    austrian = catalog.render(notice_of("OrderShipped", order, messages, locale="de_AT"), "sms")
    assert austrian == Rendered("", "Servus, € 1.254,50", None, "de_AT")
    german = catalog.render(notice_of("OrderShipped", order, messages, locale="de_DE"), "sms")
    assert german is not None and german.locale == "de_DE" and "Servus" not in german.text


def test_without_a_contact_the_default_locale_is_used(
    order_and_messages: tuple[Order, list],
) -> None:
    order, messages = order_and_messages
    catalog = TemplateCatalog(default_locale="ja_JP")
    rendered = catalog.render(Notice(messages[0], order, None), "email")
    assert rendered is not None and rendered.locale == "ja_JP" and "お客様" in rendered.text


def test_templates_from_a_directory(tmp_path: Path, order_and_messages: tuple[Order, list]) -> None:
    order, messages = order_and_messages
    (tmp_path / "en_US").mkdir()
    (tmp_path / "en_US" / "OrderShipped.sms.text.j2").write_text("Shipped: {{ order_number }}")
    (tmp_path / "de_DE.toml").write_text(
        '[OrderShipped]\n"sms.text" = "Raus: {{ order_number }}"\n'
    )
    catalog = TemplateCatalog.from_directory(tmp_path)
    english = catalog.render(notice_of("OrderShipped", order, messages), "sms")
    german = catalog.render(notice_of("OrderShipped", order, messages, locale="de_DE"), "sms")
    assert english is not None and english.text == f"Shipped: {order.number}"
    assert german is not None and german.text == f"Raus: {order.number}"


def test_builtins_can_be_left_out(order_and_messages: tuple[Order, list]) -> None:
    order, messages = order_and_messages
    catalog = TemplateCatalog({"en_US/OrderShipped.sms.text": "x"}, builtins=False)
    assert catalog.names() == ("en_US/OrderShipped.sms.text",)
    assert catalog.render(notice_of("OrderPlaced", order, messages), "email") is None


def test_an_undefined_name_at_render_names_the_template(
    order_and_messages: tuple[Order, list],
) -> None:
    order, messages = order_and_messages
    catalog = TemplateCatalog({"en_US/OrderShipped.sms.text": "{{ lines[0].colour }}"})
    with pytest.raises(TemplateError) as caught:
        catalog.render(notice_of("OrderShipped", order, messages), "sms")
    assert caught.value.field == "en_US/OrderShipped.sms.text"
    assert "colour" in str(caught.value)


def test_a_filter_given_the_wrong_type_names_the_template(
    order_and_messages: tuple[Order, list],
) -> None:
    order, messages = order_and_messages
    catalog = TemplateCatalog({"en_US/OrderShipped.sms.text": "{{ order_number | money }}"})
    with pytest.raises(TemplateError, match="money filter needs a Money") as caught:
        catalog.render(notice_of("OrderShipped", order, messages), "sms")
    assert caught.value.field == "en_US/OrderShipped.sms.text"


def test_an_email_text_without_a_subject_is_refused(
    order_and_messages: tuple[Order, list],
) -> None:
    order, messages = order_and_messages
    catalog = TemplateCatalog({"en_US/OrderShipped.email.text": "x"}, builtins=False)
    with pytest.raises(TemplateError) as caught:
        catalog.render(notice_of("OrderShipped", order, messages), "email")
    assert caught.value.field == "en_US/OrderShipped.email.subject"


@pytest.mark.parametrize(
    ("name", "source", "field"),
    [
        ("OrderShipped.sms.text", "x", "OrderShipped.sms.text"),
        ("en_US/OrderShipped.sms.subject", "x", "en_US/OrderShipped.sms.subject"),
        ("en_US/OrderShipped.email.body", "x", "en_US/OrderShipped.email.body"),
        ("xx_YY/OrderShipped.sms.text", "x", "xx_YY/OrderShipped.sms.text"),
        ("en_US/OrderShipped.sms.text", "{{ order_number ", "en_US/OrderShipped.sms.text"),
        ("en_US/OrderShipped.sms.text", 42, "en_US/OrderShipped.sms.text"),
    ],
)
def test_bad_names_and_sources_are_refused_when_loaded(name: str, source: Any, field: str) -> None:
    with pytest.raises(TemplateError) as caught:
        TemplateCatalog({name: source})
    assert caught.value.field == field


def test_a_bad_default_locale_is_refused() -> None:
    with pytest.raises(TemplateError) as caught:
        TemplateCatalog(default_locale="xx_YY")
    assert caught.value.field == "default_locale"


def test_the_context_holds_every_documented_variable_and_no_other(
    order_and_messages: tuple[Order, list],
) -> None:
    order, messages = order_and_messages
    for event_type in CUSTOMER_EVENTS:
        context = notice_context(notice_of(event_type, order, messages), "en_US")
        assert set(context) == set(CONTEXT_VARIABLES)
    context = notice_context(notice_of("PaymentCaptured", order, messages), "en_US")
    assert context["amount"] == Money("1234.50", "EUR")
    assert context["balance_due"] == Money("20.00", "EUR")
    assert context["at"] == T0
    assert [line.sku for line in context["lines"]] == ["SKU-A", "SKU-B"]
    confirmed = notice_context(notice_of("OrderConfirmed", order, messages), "en_US")
    assert [(b.sku, b.quantity) for b in confirmed["backorders"]] == [("SKU-B", Decimal(1))]


def test_the_total_is_the_one_the_event_set_else_the_orders(
    order_and_messages: tuple[Order, list],
) -> None:
    order, messages = order_and_messages
    approved = notice_context(notice_of("ChangeApproved", order, messages), "en_US")
    assert approved["order_total"] == Money("1264.50", "EUR")
    declined = Notice(message("ChangeDeclined"), order)
    refused = {**declined.payload, "grand_total": "9999.00"}
    notice = Notice(OutboxMessage("O-1:9", "O-1", 9, "ChangeDeclined", refused, T0), order)
    assert notice_context(notice, "en_US")["order_total"] == order.grand_total


def test_a_notice_without_an_order_uses_its_payload() -> None:
    payload = Serializer().dump(
        ev.OrderPlaced("O-9", 1, T0, number="SO-9", currency="JPY", grand_total=Decimal(5000))
    )
    notice = Notice(OutboxMessage("O-9:1", "O-9", 1, "OrderPlaced", payload, T0))
    context = notice_context(notice, "ja_JP")
    assert (context["order_number"], context["order_total"]) == ("SO-9", Money(5000, "JPY"))
    assert context["lines"] == [] and context["customer_name"] == ""


# ----------------------------------------------------------------------------- SMS length

_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€")


def sms_units(text: str) -> tuple[str, int, int]:
    """(alphabet, length in its units, the limit of one segment)."""
    text = unicodedata.normalize("NFC", text)
    if all(char in _GSM_BASIC or char in _GSM_EXTENDED for char in text):
        return "GSM-7", sum(2 if char in _GSM_EXTENDED else 1 for char in text), 160
    return "UCS-2", len(text.encode("utf-16-le")) // 2, 70


def test_sms_units_tell_the_alphabets_apart() -> None:
    assert sms_units("Grüße, 12 €") == ("GSM-7", 12, 160)
    assert sms_units("您好") == ("UCS-2", 2, 70)
    assert sms_units("a" * 160)[1:] == (160, 160)
    assert sms_units("ç")[0] == "UCS-2"  # only the capital Ç is in the GSM alphabet


@pytest.mark.parametrize("locale", BUILTIN_LOCALES)
@pytest.mark.parametrize("event_type", CUSTOMER_EVENTS)
def test_every_builtin_sms_fits_one_segment(
    order_and_messages: tuple[Order, list], event_type: str, locale: str
) -> None:
    order, messages = order_and_messages
    rendered = CATALOG.render(notice_of(event_type, order, messages, locale=locale), "sms")
    assert rendered is not None
    alphabet, length, limit = sms_units(rendered.text)
    assert length <= limit, f"{alphabet} SMS of {length} units: {rendered.text!r}"


def test_an_order_number_and_time_are_real() -> None:
    # The fixture order is a real one: numbered by the service, placed at the clock's time.
    order, messages = placed()
    assert order.number and order.number.startswith("SO-")
    assert [m.event_type for m in messages] == ["OrderPlaced", "OrderConfirmed"]
    assert order.placed_at == T0 and isinstance(order.placed_at, dt.datetime)


def test_without_jinja2_the_namespace_imports_and_the_catalog_names_the_extra() -> None:
    code = (
        "import sys\nsys.modules['jinja2'] = None\n"
        "import salesorders.notifications as n\n"
        "try:\n    n.TemplateCatalog()\n"
        "except Exception as error:\n    print(type(error).__name__, error)\n"
    )
    src = str(Path(__file__).resolve().parent.parent / "src")
    env = {**os.environ, "PYTHONPATH": src}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("MissingExtraError")
    assert 'pip install "salesorders[email]"' in result.stdout
