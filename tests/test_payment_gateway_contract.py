"""The payment gateway contract, run against the fake the kit ships (in two currencies)."""

from __future__ import annotations

from salesorders.ports import PaymentGateway
from salesorders.testing.contracts.payments import PaymentGatewayContract
from salesorders.testing.fakes import FakePaymentGateway


class TestFakePaymentGateway(PaymentGatewayContract):
    def make_gateway(self) -> PaymentGateway:
        return FakePaymentGateway()


class TestFakePaymentGatewayInKuwaitiDinar(PaymentGatewayContract):
    currency = "KWD"

    def make_gateway(self) -> PaymentGateway:
        return FakePaymentGateway(prefix="KW")
