"""Spreadsheets in and out: orders, stock counts and price lists imported from CSV and XLSX;
orders, their lines and any table exported to them.

An import reads its file one row at a time, checks every cell before anything is written
(:func:`check_orders` only checks), then writes all or only the good units
(:class:`ImportMode`); orders are idempotent by their external reference. Exports neutralise
cells a spreadsheet program would run as formulas. XLSX needs ``pip install
"salesorders[xlsx]"``, the progress bar ``salesorders[cli]``. See docs/import.md.
"""

from salesorders._public import publish
from salesorders.spreadsheets.export import (
    LINE_EXPORT_COLUMNS,
    ORDER_EXPORT_COLUMNS,
    Target,
    export_lines,
    export_orders,
    iter_orders,
    neutralise,
    order_line_rows,
    order_rows,
    write_records,
    write_table,
)
from salesorders.spreadsheets.layouts import (
    LINE_COLUMNS,
    PRICE_COLUMNS,
    STOCK_COLUMNS,
    Column,
    Layout,
)
from salesorders.spreadsheets.orders import (
    DEFAULT_ORDER_ID_PREFIX,
    check_orders,
    import_orders,
    order_id_for,
)
from salesorders.spreadsheets.prices import read_price_lists
from salesorders.spreadsheets.progress import rich_progress
from salesorders.spreadsheets.report import (
    ImportMode,
    ImportOutcome,
    ImportReport,
    ImportStatus,
    Progress,
)
from salesorders.spreadsheets.sources import Limits, Source, UncomputedFormula
from salesorders.spreadsheets.stock import import_stock_counts

__all__ = [
    "DEFAULT_ORDER_ID_PREFIX",
    "LINE_COLUMNS",
    "LINE_EXPORT_COLUMNS",
    "ORDER_EXPORT_COLUMNS",
    "PRICE_COLUMNS",
    "STOCK_COLUMNS",
    "Column",
    "ImportMode",
    "ImportOutcome",
    "ImportReport",
    "ImportStatus",
    "Layout",
    "Limits",
    "Progress",
    "Source",
    "Target",
    "UncomputedFormula",
    "check_orders",
    "export_lines",
    "export_orders",
    "import_orders",
    "import_stock_counts",
    "iter_orders",
    "neutralise",
    "order_id_for",
    "order_line_rows",
    "order_rows",
    "read_price_lists",
    "rich_progress",
    "write_records",
    "write_table",
]

publish(globals(), __name__, __all__)
