"""Customers and retention: customer records on every store, membership tiers evaluated by
command, loyalty points in a ledger per customer (see ``docs/customers.md``).

:class:`RegisterCustomer`, :class:`UpdateCustomer` and :class:`AddCustomerNote` keep the records
(``service.get_customer(id)`` reads one; :class:`StoreCustomerDirectory` serves them to the
notifications relay). :class:`EvaluateTiers` moves customers through the service's
:class:`MembershipTiers`; a customer's tier prices their new orders through the price book.
:class:`AccruePoints` settles the points ledgers under the service's :class:`LoyaltyProgram`
and :class:`RedeemPoints` pays an order with points.
"""

from salesorders._public import publish
from salesorders.domain.customers import (
    DEFAULT_TIER,
    Customer,
    CustomerNote,
    MembershipTiers,
    Tier,
    TierStanding,
    standing_of,
)
from salesorders.domain.loyalty import (
    ENTRY_KINDS,
    LoyaltyEntry,
    LoyaltyProgram,
    balance,
    settlement,
)
from salesorders.service.customers import (
    TIER_CHANGED_EVENT,
    AddCustomerNote,
    CustomerFields,
    EvaluateTiers,
    RegisterCustomer,
    StoreCustomerDirectory,
    TierChange,
    TierReview,
    UpdateCustomer,
)
from salesorders.service.loyalty import (
    POINTS_EVENTS,
    AccruePoints,
    PointsPosted,
    PointsReview,
    RedeemPoints,
)

__all__ = [
    "DEFAULT_TIER",
    "ENTRY_KINDS",
    "POINTS_EVENTS",
    "TIER_CHANGED_EVENT",
    "AccruePoints",
    "AddCustomerNote",
    "Customer",
    "CustomerFields",
    "CustomerNote",
    "EvaluateTiers",
    "LoyaltyEntry",
    "LoyaltyProgram",
    "MembershipTiers",
    "PointsPosted",
    "PointsReview",
    "RedeemPoints",
    "RegisterCustomer",
    "StoreCustomerDirectory",
    "Tier",
    "TierChange",
    "TierReview",
    "TierStanding",
    "UpdateCustomer",
    "balance",
    "settlement",
    "standing_of",
]

publish(globals(), __name__, __all__)
