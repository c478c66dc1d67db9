"""Stock counts from a spreadsheet: each row sets the on-hand figure of a SKU in a warehouse (or
of one batch of it) through the service, as a count (``AdjustStock``) or, for stock not yet
recorded, a receipt (``ReceiveStock``). A count is idempotent by nature: importing the file
again finds every figure already counted and writes nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs

from salesorders.domain.checks import check_text
from salesorders.domain.stock import StockItem
from salesorders.errors import BadCell, ValidationError
from salesorders.service.commands import AdjustStock, ReceiveStock
from salesorders.service.sales import SalesService
from salesorders.spreadsheets.cells import RowCells, is_blank
from salesorders.spreadsheets.layouts import STOCK_COLUMNS, read_header_row
from salesorders.spreadsheets.report import (
    ImportMode,
    ImportOutcome,
    ImportReport,
    Progress,
    Unit,
    run_import,
    written,
)
from salesorders.spreadsheets.sources import Limits, Source, open_rows, source_name

__all__ = ["import_stock_counts"]


@attrs.frozen(slots=True)
class _Count:
    sku: str
    warehouse_id: str
    batch_id: str | None
    counted: Decimal


def _counts(rows: Iterator[tuple[int, list[Any]]]) -> Iterator[Unit]:
    columns, headers = read_header_row(rows, STOCK_COLUMNS)
    seen: dict[tuple[str, str, str | None], int] = {}
    for number, cells in rows:
        if is_blank(cells):
            continue
        bad: list[BadCell] = []
        row = RowCells(number, cells, columns, headers, bad)
        sku = row.identifier("sku")
        warehouse = row.identifier("warehouse")
        batch = row.identifier("batch", required=False)
        counted = row.count("counted")
        reference = f"{sku or '?'}@{warehouse or '?'}" + (f"/{batch}" if batch else "")
        if sku is not None and warehouse is not None:
            earlier = seen.setdefault((sku, warehouse, batch), number)
            if earlier != number:
                bad.append(
                    BadCell(
                        number,
                        headers["sku"],
                        sku,
                        f"is counted twice in {warehouse} (row {earlier} too)",
                        "keep one count per SKU, warehouse and batch",
                    )
                )
        if bad or sku is None or warehouse is None or counted is None:
            yield Unit(reference, number, number, tuple(bad), None)
        else:
            yield Unit(reference, number, number, (), _Count(sku, warehouse, batch, counted))


def _on_hand(item: StockItem | None, batch_id: str | None) -> Decimal | None:
    """What the store holds of the counted stock (``None``: nothing recorded yet)."""
    if item is None:
        return None
    if batch_id is None:
        return item.on_hand
    batch = item.batches.get(batch_id)
    return None if batch is None else batch.on_hand


def import_stock_counts(
    service: SalesService,
    source: Source,
    *,
    format: str | None = None,
    mode: ImportMode | str = ImportMode.ALL_OR_NOTHING,
    reason: str = "stock count import",
    release_excess: bool = False,
    encoding: str = "utf-8",
    actor: str = "",
    limits: Limits | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the stock counts of ``source`` (columns ``sku``, ``warehouse``, ``counted``,
    optionally ``batch``; see docs/import.md).

    Every cell is checked first. Then each count whose figure differs from the store's is
    written: stock already recorded is counted (``AdjustStock``: a count below what is reserved
    is refused unless ``release_excess``), stock not yet recorded is received
    (``ReceiveStock``); a count equal to the stored figure is skipped. Each count is its own
    unit of work; ``mode`` is as for :func:`~salesorders.spreadsheets.import_orders`.
    """
    if not isinstance(service, SalesService):
        raise ValidationError("service", service, "must be a SalesService", "use bootstrap(...)")
    check_text(reason, "reason")
    stored: dict[tuple[str, str], StockItem] | None = None

    @contextlib.contextmanager
    def units() -> Iterator[Iterator[Unit]]:
        with open_rows(source, format, encoding, limits) as rows:
            yield _counts(rows)

    def write(unit: Unit) -> ImportOutcome:
        nonlocal stored
        if stored is None:  # the store's figures, read once the file is known to be good
            stored = {item.key: item for item in service.stock_items()}
        count: _Count = unit.payload
        before = _on_hand(stored.get((count.sku, count.warehouse_id)), count.batch_id)
        if before == count.counted or (before is None and count.counted == 0):
            return written(unit, False, unit.reference)
        if before is None:
            service.handle(
                ReceiveStock(
                    count.sku,
                    count.warehouse_id,
                    count.counted,
                    reason,
                    count.batch_id,
                    actor=actor,
                )
            )
        else:
            service.handle(
                AdjustStock(
                    count.sku,
                    count.warehouse_id,
                    count.counted,
                    reason,
                    count.batch_id,
                    release_excess,
                    actor=actor,
                )
            )
        return written(unit, True, unit.reference)

    return run_import("stock", units, write, mode, progress, source_name(source))
