"""The SMS channel: who is texted, what, when, and how long a text may be."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesorders import ManualClock
from salesorders.adapters.sms import SmsChannel
from salesorders.errors import DeliveryError, PermanentDeliveryError, ValidationError
from salesorders.notifications import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    CustomerContact,
    Deferred,
    Notice,
    QuietHours,
    Rendered,
    Sent,
    Skipped,
    SmsAlphabet,
    shorten_sms,
    sms_segments,
)
from salesorders.ports import OutboxMessage
from salesorders.testing import FakeSmsGateway, RecordingChannel

NOON_UTC = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


class TinyRenderer:
    """Renders ``OrderShipped`` only, as ``text``; records the channels it was asked for."""

    def __init__(self, text: str = "Your order has shipped.") -> None:
        self.text = text
        self.asked: list[str] = []

    def render(self, notice: Notice, channel: str) -> Rendered | None:
        self.asked.append(channel)
        if notice.event_type != "OrderShipped":
            return None
        return Rendered("", self.text)


def notice(
    contact: CustomerContact | None, event_type: str = "OrderShipped", event_id: str = "O-1:1"
) -> Notice:
    sequence = int(event_id.rpartition(":")[2])
    message = OutboxMessage(event_id, "O-1", sequence, event_type, {"order_id": "O-1"}, NOON_UTC)
    return Notice(message, None, contact)


def contact(**changes: object) -> CustomerContact:
    fields: dict[str, object] = {
        "customer_id": "C-1",
        "phone": "+4930123456",
        "channels": ("sms", "email"),
        "time_zone": "Europe/Berlin",
    }
    fields.update(changes)
    return CustomerContact(**fields)  # type: ignore[arg-type]


def channel(gateway: FakeSmsGateway, **options: object) -> SmsChannel:
    return SmsChannel(gateway, TinyRenderer(), clock=ManualClock(NOON_UTC), **options)  # type: ignore[arg-type]


# -- length rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "alphabet", "characters", "segments"),
    [
        ("", SmsAlphabet.GSM7, 0, 1),
        ("a" * 160, SmsAlphabet.GSM7, 160, 1),
        ("a" * 161, SmsAlphabet.GSM7, 161, 2),
        ("a" * 306, SmsAlphabet.GSM7, 306, 2),
        ("a" * 307, SmsAlphabet.GSM7, 307, 3),
        ("€" * 80, SmsAlphabet.GSM7, 160, 1),  # extension characters count two
        ("€" * 81, SmsAlphabet.GSM7, 162, 2),
        ("a" * 158 + "€", SmsAlphabet.GSM7, 160, 1),
        ("ж" * 70, SmsAlphabet.UCS2, 70, 1),
        ("ж" * 71, SmsAlphabet.UCS2, 71, 2),
        ("ж" * 134, SmsAlphabet.UCS2, 134, 2),
        ("ж" * 135, SmsAlphabet.UCS2, 135, 3),
        ("🚚" * 35, SmsAlphabet.UCS2, 70, 1),  # outside the BMP: two code units
        ("a" * 160 + "…", SmsAlphabet.UCS2, 161, 3),  # one character turns all to UCS-2
    ],
)
def test_sms_segments_counts_by_alphabet(
    text: str, alphabet: SmsAlphabet, characters: int, segments: int
) -> None:
    assert sms_segments(text) == (sms_segments(text).__class__(alphabet, characters, segments))


def test_an_escape_sequence_is_never_split_across_segments() -> None:
    # 152 septets, then an extension char (2): 154 septets would fit 2 segments of 153 only if
    # the escape pair could be split; it cannot, so the pair moves to the second segment
    assert sms_segments("a" * 152 + "€" + "a" * 152).segments == 3
    assert sms_segments("a" * 151 + "€" + "a" * 153).segments == 2


def test_a_surrogate_pair_is_never_split_across_segments() -> None:
    assert sms_segments("ж" * 66 + "🚚" + "ж" * 66).segments == 3
    assert sms_segments("ж" * 65 + "🚚" + "ж" * 67).segments == 2


def test_the_gsm_tables_are_the_standard_ones() -> None:
    assert len(GSM7_BASIC) == 127  # 128 codes, the escape is not a character
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION


def test_shorten_keeps_a_text_that_fits() -> None:
    assert shorten_sms("a" * 160) == "a" * 160
    assert shorten_sms("a" * 300, max_segments=2) == "a" * 300


def test_shorten_cuts_at_a_word_with_an_ellipsis_in_the_text_alphabet() -> None:
    gsm = shorten_sms("Your parcel is on its way. " * 10)
    assert gsm.endswith(" on its...")
    assert sms_segments(gsm).alphabet is SmsAlphabet.GSM7 and sms_segments(gsm).segments == 1
    assert ("Your parcel is on its way. " * 10).startswith(gsm.removesuffix("..."))
    assert gsm.removesuffix("...")[-1] != " "
    ucs = shorten_sms("Ваш заказ отправлен " * 10)
    assert ucs.endswith("…") and sms_segments(ucs).segments == 1
    assert ucs.removesuffix("…").split()[-1] in {"Ваш", "заказ", "отправлен"}


def test_shorten_cuts_inside_a_word_only_when_one_word_is_too_long() -> None:
    assert shorten_sms("x" * 400) == "x" * 157 + "..."


def test_shorten_refuses_a_segment_count_below_one() -> None:
    with pytest.raises(ValidationError) as info:
        shorten_sms("hi", max_segments=0)
    assert info.value.field == "max_segments"


@given(st.text(max_size=600), st.integers(min_value=1, max_value=4))
def test_shortened_texts_fit_and_are_a_prefix(text: str, max_segments: int) -> None:
    short = shorten_sms(text, max_segments)
    assert sms_segments(short).segments <= max_segments
    if short != text:
        head = short.removesuffix("…").removesuffix("...")
        assert text.startswith(head) and len(head) < len(text)


# -- the channel ----------------------------------------------------------------------------


def test_sends_to_the_phone_with_the_event_id_as_reference() -> None:
    gateway = FakeSmsGateway()
    outcome = channel(gateway).send(notice(contact()))
    assert outcome == Sent("+4930123456", provider_id="SM000001")
    assert [(s.to, s.text, s.reference) for s in gateway.sent] == [
        ("+4930123456", "Your order has shipped.", "O-1:1")
    ]


def test_a_redelivered_notice_is_sent_once_by_a_deduplicating_provider() -> None:
    gateway = FakeSmsGateway()
    sms = channel(gateway)
    assert sms.send(notice(contact())) == sms.send(notice(contact()))
    assert len(gateway.sent) == 1 and gateway.attempts == 2


@pytest.mark.parametrize(
    ("the_contact", "event_type", "reason"),
    [
        (None, "OrderShipped", "the customer is not in the directory"),
        (contact(phone=None), "OrderShipped", "the customer has no phone number"),
        (contact(channels=("email",)), "OrderShipped", "the customer does not want SMS"),
        (contact(opted_out={"sms"}), "OrderShipped", "the customer does not want SMS"),
        (contact(), "OrderPlaced", "no SMS template for OrderPlaced"),
    ],
)
def test_skips_what_it_cannot_or_must_not_send(
    the_contact: CustomerContact | None, event_type: str, reason: str
) -> None:
    gateway = FakeSmsGateway()
    outcome = channel(gateway).send(notice(the_contact, event_type))
    assert isinstance(outcome, Skipped) and outcome.reason == reason
    assert gateway.attempts == 0


def test_the_preference_and_template_are_looked_up_as_sms_whatever_the_name() -> None:
    renderer = TinyRenderer()
    gateway = FakeSmsGateway()
    sms = SmsChannel(gateway, renderer, name="sms-eu", clock=ManualClock(NOON_UTC))
    assert sms.name == "sms-eu"
    assert isinstance(sms.send(notice(contact())), Sent)
    assert renderer.asked == ["sms"]


def test_a_long_text_is_shortened_to_max_segments() -> None:
    gateway = FakeSmsGateway()
    long = "Your order O-1 has shipped with Swift, tracking SW123. " * 8
    sms = SmsChannel(gateway, TinyRenderer(long), max_segments=2, clock=ManualClock(NOON_UTC))
    sms.send(notice(contact()))
    (sent,) = gateway.sent
    assert sent.text.endswith("...") and sms_segments(sent.text).segments == 2
    assert sms_segments(long).segments > 2


def test_transient_and_permanent_gateway_failures_pass_through() -> None:
    gateway = FakeSmsGateway()
    sms = channel(gateway)
    gateway.fail_next(2)
    for _ in range(2):
        with pytest.raises(DeliveryError) as transient:
            sms.send(notice(contact()))
        assert not isinstance(transient.value, PermanentDeliveryError)
    assert isinstance(sms.send(notice(contact())), Sent)
    gateway.refuse("+4930999999")
    with pytest.raises(PermanentDeliveryError):
        sms.send(notice(contact(phone="+4930999999"), event_id="O-1:2"))
    gateway.accept("+4930999999")
    assert isinstance(sms.send(notice(contact(phone="+4930999999"), event_id="O-1:2")), Sent)
    assert gateway.to("+4930999999") == ["Your order has shipped."]


def test_defers_until_the_end_of_the_customers_quiet_hours() -> None:
    gateway = FakeSmsGateway()
    clock = ManualClock(dt.datetime(2026, 6, 1, 21, 30, tzinfo=dt.UTC))  # 23:30 in Berlin
    sms = SmsChannel(gateway, TinyRenderer(), quiet_hours=QuietHours(), clock=clock)
    outcome = sms.send(notice(contact()))
    assert isinstance(outcome, Deferred)
    assert outcome.reason == "quiet hours" and outcome.recipient == "+4930123456"
    assert outcome.until == dt.datetime(2026, 6, 2, 6, 0, tzinfo=dt.UTC)  # 08:00 in Berlin
    assert gateway.attempts == 0
    # the same instant is 17:30 in New York: not quiet there
    assert isinstance(
        sms.send(notice(contact(time_zone="America/New_York"), event_id="O-1:3")), Sent
    )
    clock.set(outcome.until)
    assert isinstance(sms.send(notice(contact())), Sent)


def test_refuses_bad_options() -> None:
    with pytest.raises(ValidationError) as info:
        SmsChannel(FakeSmsGateway(), TinyRenderer(), max_segments=0)
    assert info.value.field == "max_segments"
    with pytest.raises(ValidationError) as info:
        SmsChannel(FakeSmsGateway(), TinyRenderer(), name="SMS!")
    assert info.value.field == "name"


# -- the recording channel ------------------------------------------------------------------


def test_recording_channel_records_and_fails_as_told() -> None:
    recorder = RecordingChannel("audit")
    first, second = notice(contact()), notice(contact(), event_id="O-1:2")
    recorder.fail_next()
    with pytest.raises(DeliveryError):
        recorder.send(first)
    assert recorder.send(first) == Sent("", provider_id="O-1:1")
    recorder.fail_next(error=PermanentDeliveryError("audit", "no"))
    with pytest.raises(PermanentDeliveryError):
        recorder.send(second)
    recorder.fail_always()
    with pytest.raises(DeliveryError):
        recorder.send(second)
    recorder.recover()
    assert recorder.send(second) == Sent("", provider_id="O-1:2")
    assert [n.event_id for n in recorder.notices] == ["O-1:1", "O-1:2"]
    assert len(recorder.attempts) == 5 and recorder.name == "audit"


def test_recording_channel_answers_as_told() -> None:
    recorder = RecordingChannel(answer=lambda n: Skipped(f"not {n.event_type}"))
    assert recorder.send(notice(None)) == Skipped("not OrderShipped")
