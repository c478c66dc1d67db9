"""In-memory fakes of the ports a host implements, for tests that need no real service.

:class:`FakeCarrier` is a :class:`~salesorders.ports.Carrier` that books every shipment at once,
with deterministic tracking numbers and label references, translates its own status codes, keeps a
record of what it booked, and can be told to fail::

    carrier = FakeCarrier("swift", prefix="SW")
    service = bootstrap(store=MemoryStore(), carriers=[carrier])
    service.handle(ShipOrder(order_id=..., carrier="swift"))
    assert [b.booking.tracking_number for b in carrier.booked] == ["SW0000000001"]

    carrier.fail_next()          # the next booking raises OperationalError (a transient failure)
    carrier.fail_next(after=1)   # the booking after the next one fails
    carrier.fail_always(error)   # every booking raises ``error`` until ...
    carrier.recover()            # ... bookings succeed again

:class:`FakePaymentGateway` is a :class:`~salesorders.ports.PaymentGateway` that authorises,
captures, voids and refunds in memory, answers a repeated idempotency key from its record, and can
decline, fail, time out and answer twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Final

import attrs
from moneyed import Money

from salesorders.domain.checks import require_id
from salesorders.domain.fulfilment import Shipment, ShipmentStatus
from salesorders.errors import (
    OperationalError,
    PaymentDeclinedError,
    PaymentGatewayError,
    ValidationError,
)
from salesorders.ports import CarrierBooking, GatewayTransaction

__all__ = ["DEFAULT_STATUS_CODES", "BookedShipment", "FakeCarrier", "FakePaymentGateway"]

#: A carrier's own status codes and what they mean, as many carriers spell them.
DEFAULT_STATUS_CODES: Final[Mapping[str, ShipmentStatus]] = {
    "IT": ShipmentStatus.IN_TRANSIT,
    "OD": ShipmentStatus.OUT_FOR_DELIVERY,
    "DL": ShipmentStatus.DELIVERED,
    "EX": ShipmentStatus.EXCEPTION,
    "RS": ShipmentStatus.RETURNED_TO_SENDER,
    "FA": ShipmentStatus.FAILED_ATTEMPT,
}


@attrs.frozen(slots=True)
class BookedShipment:
    """A shipment the carrier booked, and what it answered."""

    shipment: Shipment
    booking: CarrierBooking


class FakeCarrier:
    """A :class:`~salesorders.ports.Carrier` held in memory.

    ``book`` answers the ``n``-th successful booking with tracking number
    ``f"{prefix}{n:010d}"`` and label reference ``f"{label_prefix}{tracking_number}"``, and
    appends a :class:`BookedShipment` to :attr:`booked`. A failed booking records nothing and uses
    up no number, so what a test sees after a failure is exactly what it saw before. ``cancel``
    moves a booking from :attr:`booked` to :attr:`cancelled` (its number is not given again).

    ``status_codes`` maps the carrier's own codes to shipment statuses (given as
    :class:`~salesorders.domain.fulfilment.ShipmentStatus` or their values, by default
    :data:`DEFAULT_STATUS_CODES`); ``status_of`` raises
    :class:`~salesorders.errors.ValidationError` with field ``carrier_code`` for any other code.

    Failures: :meth:`fail_next` makes the next ``times`` bookings raise (optionally ``after`` some
    more succeeded), :meth:`fail_always` every
    booking until :meth:`recover`. The default error is an
    :class:`~salesorders.errors.OperationalError`, a transient failure the service retries (see
    ``bootstrap(max_retries=...)``); pass another error, a
    :class:`~salesorders.errors.ValidationError` say, for a refusal that is not retried.
    :attr:`attempts` counts every call of ``book``, failed or not.
    """

    def __init__(
        self,
        name: str = "fake-carrier",
        *,
        prefix: str = "FC",
        label_prefix: str = "label:",
        status_codes: Mapping[str, ShipmentStatus | str] | None = None,
    ) -> None:
        self._name = require_id(name, "name")
        if not isinstance(prefix, str):
            raise ValidationError("prefix", prefix, "must be a str")
        if not isinstance(label_prefix, str):
            raise ValidationError("label_prefix", label_prefix, "must be a str")
        self.prefix = prefix
        self.label_prefix = label_prefix
        self.status_codes: Mapping[str, ShipmentStatus] = _status_codes(
            DEFAULT_STATUS_CODES if status_codes is None else status_codes
        )
        self.booked: list[BookedShipment] = []
        self.cancelled: list[BookedShipment] = []
        self.attempts = 0
        self._failures_left = 0
        self._failing_always = False
        self._error: Exception | None = None

    def __repr__(self) -> str:
        return f"FakeCarrier({self._name!r}, booked={len(self.booked)})"

    # ------------------------------------------------------------------ the Carrier port

    @property
    def name(self) -> str:
        return self._name

    def book(self, shipment: Shipment) -> CarrierBooking:
        """Book ``shipment``: the next tracking number and its label, or the failure asked for."""
        self.attempts += 1
        if self._failing_always:
            raise self._failure(shipment)
        if self._failures_left > 0:
            if self._successes_first > 0:
                self._successes_first -= 1
            else:
                self._failures_left -= 1
                raise self._failure(shipment)
        tracking_number = f"{self.prefix}{len(self.booked) + len(self.cancelled) + 1:010d}"
        booking = CarrierBooking(tracking_number, f"{self.label_prefix}{tracking_number}")
        self.booked.append(BookedShipment(shipment, booking))
        return booking

    def cancel(self, shipment: Shipment, booking: CarrierBooking) -> None:
        """Void a booking this carrier made; refused (a ValidationError) for any other."""
        made = BookedShipment(shipment, booking)
        if made not in self.booked:
            raise ValidationError(
                "booking",
                booking.tracking_number,
                f"is not a live booking of carrier {self._name}",
                "cancel only what this carrier booked, once",
            )
        self.booked.remove(made)
        self.cancelled.append(made)

    def status_of(self, code: str) -> ShipmentStatus:
        """The shipment status the carrier's ``code`` stands for."""
        status = self.status_codes.get(code) if isinstance(code, str) else None
        if status is None:
            raise ValidationError(
                "carrier_code",
                code,
                f"is not a status code of carrier {self._name}",
                "use one of " + ", ".join(sorted(self.status_codes)),
            )
        return status

    # ------------------------------------------------------------------ switches and records

    def fail_next(self, times: int = 1, *, after: int = 0, error: Exception | None = None) -> None:
        """Make ``times`` bookings raise ``error`` (by default an OperationalError), once
        ``after`` more bookings have succeeded (``after=1``: the second shipment of a command
        fails after the first was booked)."""
        for field, value, least in (("times", times, 1), ("after", after, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValidationError(field, value, f"must be an int >= {least}")
        self._failures_left = times
        self._successes_first = after
        self._error = _checked_error(error)

    def fail_always(self, error: Exception | None = None) -> None:
        """Make every booking raise ``error`` (by default an OperationalError) until
        :meth:`recover`."""
        self._failing_always = True
        self._error = _checked_error(error)

    def recover(self) -> None:
        """Let bookings succeed again."""
        self._failing_always = False
        self._failures_left = 0
        self._successes_first = 0
        self._error = None

    def tracking_numbers(self) -> tuple[str, ...]:
        """The tracking numbers given so far, in booking order."""
        return tuple(b.booking.tracking_number for b in self.booked)

    def _failure(self, shipment: Shipment) -> Exception:
        if self._error is not None:
            return self._error
        return OperationalError(f"carrier {self._name} could not book shipment {shipment.id}")


def _status_codes(codes: Mapping[str, ShipmentStatus | str]) -> dict[str, ShipmentStatus]:
    if not isinstance(codes, Mapping):
        raise ValidationError("status_codes", codes, "must be a mapping of code to status")
    table: dict[str, ShipmentStatus] = {}
    for code, status in codes.items():
        field = f"status_codes[{code!r}]"
        require_id(code, field)
        try:
            table[code] = status if isinstance(status, ShipmentStatus) else ShipmentStatus(status)
        except ValueError:
            raise ValidationError(
                field,
                status,
                "is not a shipment status",
                "use one of " + ", ".join(s.value for s in ShipmentStatus),
            ) from None
    return table


def _checked_error(error: Exception | None) -> Exception | None:
    if error is not None and not isinstance(error, Exception):
        raise ValidationError("error", error, "must be an exception instance")
    return error


class FakePaymentGateway:
    """A :class:`~salesorders.ports.PaymentGateway` held in memory, honest about money.

    It keeps every authorisation (what it holds, what was captured and refunded) and refuses, with
    :class:`~salesorders.errors.PaymentGatewayError`, a capture over what an authorisation still
    holds or a refund over what was captured. A call whose ``idempotency_key`` was answered before
    gets the same answer and moves nothing (a key reused for another request is refused).
    Transaction ids are ``f"{prefix}{n:08d}"``. :attr:`transactions_made` lists every answer
    given, :attr:`calls` counts every call (replays and failures included), and
    :meth:`captured` / :meth:`refunded` say what moved for an order.

    Failures::

        gateway.decline_next()     # the next call is declined: PaymentDeclinedError, nothing moves
        gateway.fail_next()        # the next call fails before doing anything (OperationalError)
        gateway.time_out_next()    # the next call moves the money, then its answer is lost
                                   # (OperationalError): the service's retry gets it by its key
        gateway.answer_twice_next()  # the next call is delivered twice (a network duplicate):
                                   # the second is answered from its key, nothing moves twice
    """

    def __init__(self, *, prefix: str = "GW") -> None:
        self.prefix = prefix
        self.calls = 0
        self.transactions_made: list[GatewayTransaction] = []
        self._by_key: dict[str, tuple[tuple[object, ...], GatewayTransaction]] = {}
        self._held: dict[str, Decimal] = {}
        self._captured: dict[str, Decimal] = {}
        self._refunded: dict[str, Decimal] = {}
        self._order_of: dict[str, str] = {}
        self._faults: list[str] = []
        self._lock = threading.RLock()  # commands in several threads share one gateway

    # ------------------------------------------------------------------ failures

    def decline_next(self, times: int = 1) -> None:
        self._faults.extend(["decline"] * times)

    def fail_next(self, times: int = 1) -> None:
        self._faults.extend(["fail"] * times)

    def time_out_next(self, times: int = 1) -> None:
        self._faults.extend(["timeout"] * times)

    def answer_twice_next(self) -> None:
        self._faults.append("twice")

    # ------------------------------------------------------------------ what moved

    def captured(self, order_id: str) -> Decimal:
        return sum(
            (v for g, v in self._captured.items() if self._order_of[g] == order_id), Decimal(0)
        )

    def refunded(self, order_id: str) -> Decimal:
        return sum(
            (v for g, v in self._refunded.items() if self._order_of[g] == order_id), Decimal(0)
        )

    def transactions(self, order_id: str) -> tuple[GatewayTransaction, ...]:
        return tuple(t for t in self.transactions_made if t.order_id == order_id)

    # ------------------------------------------------------------------ the port

    def authorize(
        self, order_id: str, amount: Money, *, reference: str, idempotency_key: str
    ) -> GatewayTransaction:
        def act(transaction_id: str) -> GatewayTransaction:
            self._held[transaction_id] = amount.amount
            self._captured[transaction_id] = Decimal(0)
            self._refunded[transaction_id] = Decimal(0)
            self._order_of[transaction_id] = order_id
            return GatewayTransaction(
                "authorize", order_id, transaction_id, transaction_id, amount, idempotency_key
            )

        return self._call("authorize", (order_id, amount, reference), idempotency_key, act)

    def capture(
        self, gateway_id: str, amount: Money, *, idempotency_key: str
    ) -> GatewayTransaction:
        def act(transaction_id: str) -> GatewayTransaction:
            held = self._authorisation(gateway_id, "capture")
            if amount.amount > held:
                raise PaymentGatewayError("capture", f"{amount} is more than {gateway_id} holds")
            self._held[gateway_id] = held - amount.amount
            self._captured[gateway_id] += amount.amount
            return self._answer("capture", gateway_id, transaction_id, amount, idempotency_key)

        return self._call("capture", (gateway_id, amount), idempotency_key, act)

    def void(self, gateway_id: str, *, idempotency_key: str) -> GatewayTransaction:
        def act(transaction_id: str) -> GatewayTransaction:
            held = self._authorisation(gateway_id, "void")
            self._held[gateway_id] = Decimal(0)
            currency = self._currency(gateway_id)
            return self._answer(
                "void", gateway_id, transaction_id, Money(held, currency), idempotency_key
            )

        return self._call("void", (gateway_id,), idempotency_key, act)

    def refund(self, gateway_id: str, amount: Money, *, idempotency_key: str) -> GatewayTransaction:
        def act(transaction_id: str) -> GatewayTransaction:
            self._authorisation(gateway_id, "refund")
            left = self._captured[gateway_id] - self._refunded[gateway_id]
            if amount.amount > left:
                raise PaymentGatewayError(
                    "refund", f"{amount} is more than was captured on {gateway_id}"
                )
            self._refunded[gateway_id] += amount.amount
            return self._answer("refund", gateway_id, transaction_id, amount, idempotency_key)

        return self._call("refund", (gateway_id, amount), idempotency_key, act)

    # ------------------------------------------------------------------ internals

    def _call(
        self,
        kind: str,
        request: tuple[object, ...],
        key: str,
        act: Callable[[str], GatewayTransaction],
    ) -> GatewayTransaction:
        with self._lock:
            return self._locked_call(kind, request, key, act)

    def _locked_call(
        self,
        kind: str,
        request: tuple[object, ...],
        key: str,
        act: Callable[[str], GatewayTransaction],
    ) -> GatewayTransaction:
        self.calls += 1
        fault = self._faults.pop(0) if self._faults else None
        if fault == "decline":
            raise PaymentDeclinedError(kind, "declined by the card issuer")
        if fault == "fail":
            raise OperationalError(f"payment gateway {kind}: unavailable")
        answer = self._once(kind, request, key, act)
        if fault == "twice":
            self.calls += 1
            answer = self._once(kind, request, key, act)
        if fault == "timeout":
            raise OperationalError(f"payment gateway {kind}: timed out")
        return answer

    def _once(
        self,
        kind: str,
        request: tuple[object, ...],
        key: str,
        act: Callable[[str], GatewayTransaction],
    ) -> GatewayTransaction:
        require_id(key, "idempotency_key")
        seen = self._by_key.get(key)
        if seen is not None:
            if seen[0] != (kind, *request):
                raise PaymentGatewayError(
                    kind, f"idempotency key {key!r} was used for another request"
                )
            return seen[1]
        answer = act(f"{self.prefix}{len(self.transactions_made) + 1:08d}")
        self._by_key[key] = ((kind, *request), answer)
        self.transactions_made.append(answer)
        return answer

    def _authorisation(self, gateway_id: str, kind: str) -> Decimal:
        held = self._held.get(gateway_id)
        if held is None:
            raise PaymentGatewayError(kind, f"no authorisation {gateway_id!r}")
        return held

    def _currency(self, gateway_id: str) -> str:
        for t in self.transactions_made:
            if t.transaction_id == gateway_id:
                return t.amount.currency.code
        raise PaymentGatewayError("void", f"no authorisation {gateway_id!r}")

    def _answer(
        self, kind: str, gateway_id: str, transaction_id: str, amount: Money, key: str
    ) -> GatewayTransaction:
        return GatewayTransaction(
            kind, self._order_of[gateway_id], gateway_id, transaction_id, amount, key
        )
