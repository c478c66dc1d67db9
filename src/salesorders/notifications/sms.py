"""Text messages: the :class:`SmsGateway` port a provider is wrapped in, and the length rules of
an SMS (:func:`sms_segments`, :func:`shorten_sms`).

An SMS is sent in segments. A text written only in the GSM 03.38 alphabet (:data:`GSM7_BASIC`,
plus the extension characters of :data:`GSM7_EXTENSION` that take two places each) fits 160
characters in one segment, 153 per segment when it needs more. Any other character turns the whole
text into UCS-2: 70 UTF-16 code units in one segment, 67 per segment beyond (a character outside
the Basic Multilingual Plane, an emoji, takes two). A character is never split across segments.
"""

from __future__ import annotations

import enum
from typing import Final, Protocol

import attrs

from salesorders.errors import ValidationError

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "SmsAlphabet",
    "SmsGateway",
    "SmsLength",
    "shorten_sms",
    "sms_segments",
]

#: The GSM 03.38 basic character set (one septet each; the escape character is not a character).
GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: The GSM 03.38 extension table: each of these takes two septets (an escape and the character).
GSM7_EXTENSION: Final = frozenset("\f^{}\\[~]|€")

_SINGLE: Final = {"gsm7": 160, "ucs2": 70}
_MULTI: Final = {"gsm7": 153, "ucs2": 67}


class SmsAlphabet(enum.StrEnum):
    """How an SMS text is encoded."""

    GSM7 = "gsm7"
    UCS2 = "ucs2"


@attrs.frozen(slots=True)
class SmsLength:
    """How long a text is as an SMS: its ``alphabet``, its length in ``characters`` as the network
    counts them (septets for GSM-7, UTF-16 code units for UCS-2) and the ``segments`` it takes."""

    alphabet: SmsAlphabet
    characters: int
    segments: int


def _weights(text: str) -> tuple[SmsAlphabet, list[int]]:
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        return SmsAlphabet.GSM7, [2 if char in GSM7_EXTENSION else 1 for char in text]
    return SmsAlphabet.UCS2, [2 if ord(char) > 0xFFFF else 1 for char in text]


def sms_segments(text: str) -> SmsLength:
    """The alphabet, length and number of segments of ``text`` sent as one SMS.

    >>> sms_segments("Your order has shipped")
    SmsLength(alphabet=<SmsAlphabet.GSM7: 'gsm7'>, characters=22, segments=1)
    >>> sms_segments("x" * 161).segments
    2
    >>> sms_segments("Ihre Bestellung ist unterwegs 🚚").alphabet
    <SmsAlphabet.UCS2: 'ucs2'>
    """
    if not isinstance(text, str):
        raise ValidationError("text", text, "must be a string")
    alphabet, weights = _weights(text)
    characters = sum(weights)
    if characters <= _SINGLE[alphabet]:
        return SmsLength(alphabet, characters, 1)
    capacity, segments, used = _MULTI[alphabet], 1, 0
    for weight in weights:  # pack without splitting an escape sequence or a surrogate pair
        if used + weight > capacity:
            segments, used = segments + 1, 0
        used += weight
    return SmsLength(alphabet, characters, segments)


def _fits(text: str, max_segments: int) -> bool:
    return sms_segments(text).segments <= max_segments


def _with_mark(head: str) -> str:
    head = head.rstrip()
    ascii_mark = _weights(head)[0] is SmsAlphabet.GSM7  # "…" would turn the text into UCS-2
    return head + ("..." if ascii_mark else "…")


def shorten_sms(text: str, max_segments: int = 1) -> str:
    """``text`` unchanged if it fits ``max_segments`` segments, or else shortened at a word
    boundary and ended with an ellipsis so that it fits.

    The ellipsis is ``"…"`` in a UCS-2 text and ``"..."`` in a GSM-7 one (``"…"`` is not in the
    GSM alphabet: it would turn the text into UCS-2 and cost more than half its room). A single
    word longer than the room left is cut inside the word.

    >>> shorten_sms("Your parcel is on its way " * 10, max_segments=1)[-13:]
    'on its way...'
    """
    if not isinstance(max_segments, int) or isinstance(max_segments, bool) or max_segments < 1:
        raise ValidationError("max_segments", max_segments, "must be a whole number of at least 1")
    if _fits(text, max_segments):
        return text
    low, high = 0, len(text)  # the longest prefix that fits with the mark: in [low, high)
    while high - low > 1:
        middle = (low + high) // 2
        if _fits(_with_mark(text[:middle]), max_segments):
            low = middle
        else:
            high = middle
    if low < len(text) and not text[low].isspace():
        boundary = max((i for i in range(low) if text[i].isspace()), default=0)
        if text[:boundary].strip():
            low = boundary
    return _with_mark(text[:low])


class SmsGateway(Protocol):
    """An SMS provider, as :class:`~salesorders.adapters.sms.SmsChannel` sends through it.

    Contract: ``send`` hands ``text`` to the provider for the E.164 number ``to`` and returns the
    provider's message id. ``reference`` is the notice's event id: a provider that can deduplicate
    (a client reference, an idempotency key) should be given it, as the same notice may be sent
    again after a crash. Raises :class:`~salesorders.errors.DeliveryError` for a failure worth
    retrying (a timeout, the provider down, throttling) and
    :class:`~salesorders.errors.PermanentDeliveryError` when the provider refuses the number for
    good (invalid, not reachable by SMS, blocked).
    """

    def send(self, to: str, text: str, *, reference: str) -> str: ...
