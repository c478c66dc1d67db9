"""A property-based test kit for return policies, built-in or your own.

Run every rule at once::

    from salesorders.testing.return_policies import check_return_policy

    def test_my_return_policy() -> None:
        check_return_policy(MyReturnPolicy(), skus=["SKU-1", "SKU-2"])

or subclass the contract suite in pytest, one test per rule::

    from salesorders.testing.return_policies import ReturnPolicyContract

    class TestMyReturnPolicy(ReturnPolicyContract):
        skus = ("SKU-1", "SKU-2")

        def make_policy(self) -> MyReturnPolicy:
            return MyReturnPolicy()

For every SKU given and every :class:`~salesorders.domain.return_policy.ReturnReason`, the kit
checks that the policy's answers have the port's shape (``answers``: a window of whole days from
0 to :data:`~salesorders.domain.return_policy.MAX_WINDOW_DAYS`, a fee from 0 to 100 percent, a
bool for shipping), that the same question gets the same answer (``determinism``), and — on
random lines, shipping charges and sequences of partial returns in currencies with 0, 2, 3 and 4
minor digits — that the refunds it leads to never exceed what was paid for the units, never go
negative, and that a full return at no fee refunds exactly the goods (``refunds``). A broken rule
raises :class:`AssertionError` carrying the smallest failing example hypothesis found.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import ClassVar, Final

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from salesorders.domain.money import currency_exponent
from salesorders.domain.order_values import OrderLine
from salesorders.domain.return_policy import MAX_WINDOW_DAYS, ReturnPolicy, ReturnReason
from salesorders.domain.returns import ReturnLine, credit_note_lines
from salesorders.errors import ValidationError

__all__ = [
    "RETURN_POLICY_RULES",
    "ReturnPolicyContract",
    "check_return_policy",
    "return_sequences",
]

RETURN_POLICY_RULES: Final = frozenset({"answers", "determinism", "refunds"})
"""Every rule the kit checks."""

CURRENCIES: Final = ("JPY", "EUR", "KWD", "CLF")
_ZERO: Final = Decimal(0)


def return_sequences(
    skus: Sequence[str],
) -> st.SearchStrategy[tuple[str, str, int, Decimal, Decimal, list[tuple[int, ReturnReason]]]]:
    """``(currency, sku, quantity, line gross, shipping share, [(units, reason), ...])``: a line
    and the partial returns of it, in order (their units never exceed the quantity)."""

    @st.composite
    def build(
        draw: st.DrawFn,
    ) -> tuple[str, str, int, Decimal, Decimal, list[tuple[int, ReturnReason]]]:
        currency = draw(st.sampled_from(CURRENCIES))
        exponent = currency_exponent(currency)
        sku = draw(st.sampled_from(list(skus)))
        quantity = draw(st.integers(1, 40))
        gross = Decimal(draw(st.integers(0, 10**9))).scaleb(-exponent)
        shipping = Decimal(draw(st.integers(0, 10**6))).scaleb(-exponent)
        left = quantity
        steps = []
        while left and draw(st.booleans()):
            units = draw(st.integers(1, left))
            steps.append((units, draw(st.sampled_from(list(ReturnReason)))))
            left -= units
        return currency, sku, quantity, gross, shipping, steps

    return build()


def _answers(policy: ReturnPolicy, sku: str, reason: ReturnReason) -> list[str]:
    problems = []
    days = policy.window_days(sku, reason)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_WINDOW_DAYS:
        problems.append(f"answers: window_days({sku!r}, {reason.value}) gave {days!r}")
    fee = policy.restocking_fee(sku, reason)
    if not isinstance(fee, Decimal) or not _ZERO <= fee <= 100:
        problems.append(f"answers: restocking_fee({sku!r}, {reason.value}) gave {fee!r}")
    shipping = policy.refunds_shipping(sku, reason)
    if not isinstance(shipping, bool):
        problems.append(f"answers: refunds_shipping({sku!r}, {reason.value}) gave {shipping!r}")
    return problems


def _determinism(policy: ReturnPolicy, sku: str, reason: ReturnReason) -> list[str]:
    first = (
        policy.window_days(sku, reason),
        policy.restocking_fee(sku, reason),
        policy.refunds_shipping(sku, reason),
    )
    second = (
        policy.window_days(sku, reason),
        policy.restocking_fee(sku, reason),
        policy.refunds_shipping(sku, reason),
    )
    return [] if first == second else [f"determinism: {sku!r}, {reason.value}: {first} {second}"]


def _refunds(
    policy: ReturnPolicy,
    case: tuple[str, str, int, Decimal, Decimal, list[tuple[int, ReturnReason]]],
) -> list[str]:
    currency, sku, quantity, gross, shipping, steps = case
    line = OrderLine("L1", sku, Decimal(quantity), _ZERO, gross=gross)
    credited = _ZERO
    goods = ship = fees = _ZERO
    for units, reason in steps:
        (credit,) = credit_note_lines(
            currency,
            {"L1": line},
            {"L1": shipping},
            {"L1": credited},
            [ReturnLine("L1", Decimal(units), reason, sku)],
            policy,
        )
        if min(credit.goods, credit.shipping, credit.fee, credit.amount) < 0:
            return [f"refunds: a negative figure in {credit}"]
        credited += units
        goods += credit.goods
        ship += credit.shipping
        fees += credit.fee
        if goods > gross or ship > shipping:
            return [f"refunds: {credited} of {quantity} units refunded {goods} + {ship}"]
    if credited == quantity and goods != gross:
        return [f"refunds: a full return refunded {goods} of goods worth {gross}"]
    return []


def check_return_policy(
    policy: ReturnPolicy,
    *,
    skus: Collection[str] = ("SKU-1",),
    max_examples: int = 200,
    rules: Collection[str] | None = None,
) -> None:
    """Run the kit's rules against ``policy`` for ``skus``; raise AssertionError on the first
    broken rule. ``rules`` limits the check to some of :data:`RETURN_POLICY_RULES`."""
    selected = RETURN_POLICY_RULES if rules is None else frozenset(rules)
    unknown = selected - RETURN_POLICY_RULES
    if unknown:
        raise ValidationError(
            "rules",
            sorted(unknown),
            "names unknown rules",
            f"choose from {sorted(RETURN_POLICY_RULES)}",
        )
    names = sorted(skus)
    if not names:
        raise ValidationError("skus", skus, "must name at least one SKU")
    problems: list[str] = []
    for sku in names:
        for reason in ReturnReason:
            if "answers" in selected:
                problems += _answers(policy, sku, reason)
            if "determinism" in selected:
                problems += _determinism(policy, sku, reason)
    if problems:
        raise AssertionError("return policy broke the kit's rules:\n" + "\n".join(problems))
    if "refunds" not in selected:
        return

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(case=return_sequences(names))
    def policy_keeps_the_refund_rules(
        case: tuple[str, str, int, Decimal, Decimal, list[tuple[int, ReturnReason]]],
    ) -> None:
        found = _refunds(policy, case)
        assert not found, "\n".join(found)

    policy_keeps_the_refund_rules()


class ReturnPolicyContract:
    """The kit as a pytest suite: subclass it, implement :meth:`make_policy`, list ``skus``.

    The base class has no ``Test`` prefix, so pytest collects only your subclass.
    """

    max_examples: ClassVar[int] = 100
    skus: ClassVar[tuple[str, ...]] = ("SKU-1",)

    def make_policy(self) -> ReturnPolicy:
        """Return the policy under test (a fresh one per test)."""
        raise NotImplementedError("implement make_policy() to return the policy under test")

    def check(self, *rules: str) -> None:
        check_return_policy(
            self.make_policy(), skus=self.skus, max_examples=self.max_examples, rules=rules
        )

    def test_answers_have_the_ports_shape(self) -> None:
        self.check("answers")

    def test_same_question_same_answer(self) -> None:
        self.check("determinism")

    def test_refunds_never_exceed_what_was_paid(self) -> None:
        self.check("refunds")
