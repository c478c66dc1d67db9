"""What is available where: the read-only input of an allocation policy.

A :class:`StockSnapshot` is taken from the stock book (or a repository) for the SKUs an order
asks for; a policy reads it and never changes it. Quantities are :class:`~decimal.Decimal`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

import attrs

from salesorders.domain.checks import require_id
from salesorders.domain.warehouse import Warehouse

__all__ = ["AvailableBatch", "IncomingStock", "StockSnapshot"]

_NOTHING = Decimal(0)


@attrs.frozen(slots=True)
class AvailableBatch:
    """A batch (lot) of a SKU in a warehouse with the quantity free to reserve."""

    batch_id: str
    available: Decimal
    expiry: dt.date | None = None


@attrs.frozen(slots=True)
class IncomingStock:
    """An expected receipt: ``quantity`` of ``sku`` arriving at ``warehouse_id`` on ``eta``.

    ``batch_id`` and ``expiry`` name the batch it arrives as, if known. ``transfer_from`` is set
    for stock in transit from another warehouse (a transfer); the id is then the transfer's id.
    ``id``, ``sku`` and ``warehouse_id`` are ids (see :mod:`salesorders.domain.checks`).
    """

    id: str
    sku: str
    warehouse_id: str
    quantity: Decimal
    eta: dt.date
    batch_id: str | None = None
    expiry: dt.date | None = None
    transfer_from: str | None = None

    def __attrs_post_init__(self) -> None:
        require_id(self.id, "incoming.id")
        require_id(self.sku, "incoming.sku")
        require_id(self.warehouse_id, "incoming.warehouse_id")


@attrs.frozen(slots=True)
class StockSnapshot:
    """Available stock per (SKU, warehouse), batches per (SKU, warehouse), incoming per SKU.

    ``available`` already has reservations and safety stock taken off. A (SKU, warehouse) pair
    that is missing has nothing available. ``on`` is the day the snapshot was taken for: batches
    that expired before it are not listed (and their stock is not available); policies judge
    shelf life against it.
    """

    warehouses: Mapping[str, Warehouse]
    available: Mapping[tuple[str, str], Decimal]
    batches: Mapping[tuple[str, str], tuple[AvailableBatch, ...]] = attrs.field(factory=dict)
    incoming: Mapping[str, tuple[IncomingStock, ...]] = attrs.field(factory=dict)
    on: dt.date | None = None

    def available_at(self, sku: str, warehouse_id: str) -> Decimal:
        return self.available.get((sku, warehouse_id), _NOTHING)

    def total_available(self, sku: str) -> Decimal:
        return sum((q for (s, _), q in self.available.items() if s == sku and q > 0), _NOTHING)
