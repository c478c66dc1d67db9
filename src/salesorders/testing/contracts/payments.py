"""Contract: a payment gateway moves money once per idempotency key, and never more than it holds.

Not one of the storage suites (:class:`AllContracts` leaves it out): subclass it for your own
:class:`~salesorders.ports.PaymentGateway` adapter, against its sandbox::

    from salesorders.testing.contracts.payments import PaymentGatewayContract

    class TestMyGateway(PaymentGatewayContract):
        currency = "EUR"

        def make_gateway(self):
            return MyGateway(api_key=..., sandbox=True)

Every test uses fresh order ids and idempotency keys, so a shared sandbox is fine.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

import pytest
from moneyed import Money

from salesorders.errors import PaymentGatewayError
from salesorders.ports import GatewayTransaction, PaymentGateway

__all__ = ["PaymentGatewayContract"]


class PaymentGatewayContract:
    """The behaviour the payment commands rely on. Implement :meth:`make_gateway`."""

    currency: ClassVar[str] = "USD"

    def make_gateway(self) -> PaymentGateway:
        raise NotImplementedError("return a PaymentGateway for the contract to test")

    # ------------------------------------------------------------------ helpers

    @pytest.fixture(autouse=True)
    def _gateway(self) -> None:
        self.gateway = self.make_gateway()
        self.order_id = f"contract-{uuid.uuid4().hex[:12]}"

    def money(self, amount: str) -> Money:
        return Money(amount, self.currency)

    def key(self) -> str:
        return uuid.uuid4().hex

    def authorized(self, amount: str = "30.00") -> GatewayTransaction:
        return self.gateway.authorize(
            self.order_id, self.money(amount), reference="contract", idempotency_key=self.key()
        )

    # ------------------------------------------------------------------ the contract

    def test_an_authorisation_answers_its_order_amount_and_key(self) -> None:
        key = self.key()
        answer = self.gateway.authorize(
            self.order_id, self.money("30.00"), reference="contract", idempotency_key=key
        )
        assert (answer.kind, answer.order_id, answer.amount, answer.idempotency_key) == (
            "authorize",
            self.order_id,
            self.money("30.00"),
            key,
        )
        assert answer.gateway_id == answer.transaction_id

    def test_a_repeated_key_is_answered_again_and_moves_nothing(self) -> None:
        auth = self.authorized()
        key = self.key()
        first = self.gateway.capture(auth.gateway_id, self.money("10.00"), idempotency_key=key)
        again = self.gateway.capture(auth.gateway_id, self.money("10.00"), idempotency_key=key)
        assert first == again
        captures = [t for t in self.gateway.transactions(self.order_id) if t.kind == "capture"]
        assert captures == [first]

    def test_partial_captures_follow_each_other_up_to_what_is_held(self) -> None:
        auth = self.authorized()
        for amount in ("10.00", "15.00", "5.00"):
            answer = self.gateway.capture(
                auth.gateway_id, self.money(amount), idempotency_key=self.key()
            )
            assert (answer.kind, answer.amount) == ("capture", self.money(amount))
        with pytest.raises(PaymentGatewayError):
            self.gateway.capture(auth.gateway_id, self.money("0.01"), idempotency_key=self.key())

    def test_a_capture_over_what_is_held_is_refused(self) -> None:
        auth = self.authorized()
        with pytest.raises(PaymentGatewayError):
            self.gateway.capture(auth.gateway_id, self.money("30.01"), idempotency_key=self.key())
        assert [t.kind for t in self.gateway.transactions(self.order_id)] == ["authorize"]

    def test_refunds_never_exceed_what_was_captured(self) -> None:
        auth = self.authorized()
        self.gateway.capture(auth.gateway_id, self.money("20.00"), idempotency_key=self.key())
        answer = self.gateway.refund(
            auth.gateway_id, self.money("12.00"), idempotency_key=self.key()
        )
        assert (answer.kind, answer.amount) == ("refund", self.money("12.00"))
        with pytest.raises(PaymentGatewayError):
            self.gateway.refund(auth.gateway_id, self.money("8.01"), idempotency_key=self.key())

    def test_a_void_releases_what_is_held(self) -> None:
        auth = self.authorized()
        self.gateway.capture(auth.gateway_id, self.money("10.00"), idempotency_key=self.key())
        answer = self.gateway.void(auth.gateway_id, idempotency_key=self.key())
        assert (answer.kind, answer.amount) == ("void", self.money("20.00"))
        with pytest.raises(PaymentGatewayError):
            self.gateway.capture(auth.gateway_id, self.money("1.00"), idempotency_key=self.key())

    def test_transactions_list_what_was_done_for_the_order_oldest_first(self) -> None:
        auth = self.authorized()
        capture = self.gateway.capture(
            auth.gateway_id, self.money("30.00"), idempotency_key=self.key()
        )
        refund = self.gateway.refund(
            auth.gateway_id, self.money("1.00"), idempotency_key=self.key()
        )
        assert list(self.gateway.transactions(self.order_id)) == [auth, capture, refund]
        assert list(self.gateway.transactions(f"{self.order_id}-other")) == []
