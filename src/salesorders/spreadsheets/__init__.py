"""Spreadsheets in and out: orders, stock counts and price lists imported from CSV and XLSX,
orders, lines and any table exported to them.

Imports read the file one row at a time, check every cell before anything is written
(:func:`check_orders` only checks), and are idempotent by the orders' external references. XLSX
needs ``pip install "salesorders[xlsx]"``. See docs/import.md.
"""

from salesorders._public import publish
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
from salesorders.spreadsheets.report import (
    ImportMode,
    ImportOutcome,
    ImportReport,
    ImportStatus,
    Progress,
)
from salesorders.spreadsheets.sources import FORMULA_WITHOUT_VALUE, Limits, Source

__all__ = [
    "DEFAULT_ORDER_ID_PREFIX",
    "FORMULA_WITHOUT_VALUE",
    "LINE_COLUMNS",
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
    "check_orders",
    "import_orders",
    "order_id_for",
]

publish(globals(), __name__, __all__)
