"""``salesorders stock``: stock per SKU and warehouse, and the reconciliation check.

Exits 1 when the reconciliation finds a discrepancy between the stock figures, the open
reservations and the ledger (the stock is listed either way).
"""

from __future__ import annotations

import argparse

from salesorders.cli.output import Column, Output, counted
from salesorders.cli.store import open_service
from salesorders.serialization import Serializer

__all__ = ["show_stock"]


def show_stock(args: argparse.Namespace, out: Output) -> int:
    """Stock levels (filtered by ``--sku`` and ``--warehouse``) and the reconciliation."""
    with open_service(args.store, args.schema) as service:
        items = [
            item
            for item in service.stock_items()
            if (args.sku is None or item.sku == args.sku)
            and (args.warehouse is None or item.warehouse_id == args.warehouse)
        ]
        discrepancies = service.reconcile_stock()
    items.sort(key=lambda item: (item.sku, item.warehouse_id))
    found = 1 if discrepancies else 0
    if args.json:
        dump = Serializer().dump
        out.json(
            {
                "items": [{**dump(item), "available": dump(item.available)} for item in items],
                "discrepancies": [dump(d) for d in discrepancies],
            }
        )
        return found
    out.table(
        [
            Column("sku"),
            Column("warehouse"),
            Column("on hand", right=True),
            Column("reserved", right=True),
            Column("available", right=True),
            Column("reorder at", right=True),
            Column("low"),
        ],
        [
            [
                item.sku,
                item.warehouse_id,
                str(item.on_hand),
                str(item.reserved),
                str(item.available),
                "-" if item.reorder_point is None else str(item.reorder_point),
                "low" if item.low_stock else "",
            ]
            for item in items
        ],
    )
    for discrepancy in discrepancies:
        out.line(
            f"DISCREPANCY {discrepancy.sku} in {discrepancy.warehouse_id}, "
            f"{discrepancy.field}: recorded {discrepancy.recorded}, expected "
            f"{discrepancy.expected}; {discrepancy.explanation}"
        )
    out.line(
        f"{counted(len(discrepancies), 'discrepancy', 'discrepancies')} between the stock "
        "figures, reservations and ledger"
    )
    return found
