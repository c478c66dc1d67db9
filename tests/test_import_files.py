"""CSV files as they come: encodings, hostile files refused before they cost anything, and
rows streamed in constant memory (XLSX: test_import_xlsx.py)."""

from __future__ import annotations

import datetime as dt
import io
import tracemalloc
from typing import Any

import pytest

from salesorders import ManualClock, bootstrap
from salesorders.adapters.memory import MemoryStore
from salesorders.errors import FileRefusedError, ValidationError
from salesorders.spreadsheets import Limits, check_orders, import_orders

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
HEADER = "reference,customer,currency,sku,quantity,unit_price\n"


def _service() -> Any:
    return bootstrap(store=MemoryStore(), clock=ManualClock(T0))


class LazyRows(io.RawIOBase):
    """A binary file made on demand: ``head`` then ``line(n)`` for n = 0, 1, ... up to
    ``count`` lines (or, with ``endless``, one line that never ends). Nothing is held."""

    def __init__(self, head: bytes, count: int = 0, *, endless: bytes = b"") -> None:
        self.head = head
        self.count = count
        self.endless = endless
        self.served = 0
        self._pending = b""
        self._next = 0
        self._started = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        assert (offset, whence) == (0, 0), "only a rewind to the start"
        self._pending, self._next, self._started, self.served = b"", 0, False, 0
        return 0

    def readinto(self, buffer: Any) -> int:
        if not self._pending:
            if not self._started:
                self._pending, self._started = self.head, True
            elif self.endless:
                self._pending = self.endless * 4096
            elif self._next < self.count:
                lines = range(self._next, min(self._next + 256, self.count))
                self._pending = b"".join(
                    f"PO-{n // 100},C-1,USD,SKU-{n % 7},{1 + n % 5},12.50\n".encode() for n in lines
                )
                self._next = lines.stop
            else:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self.served += size
        return size


# --------------------------------------------------------------------------- CSV limits


def test_a_gigabyte_line_is_refused_after_reading_only_the_limit() -> None:
    raw = LazyRows(HEADER.encode(), endless=b"x" * 256)  # 1 GB and more, never a newline
    with pytest.raises(FileRefusedError) as caught:
        check_orders(io.BufferedReader(raw))
    error = caught.value
    assert (error.field, error.value) == ("file", "line 2")
    assert "longer than 65536 characters" in str(error)
    assert raw.served < 2_000_000  # read to the limit, not to the end


def test_the_line_limit_can_be_set() -> None:
    text = HEADER + "PO-1,C-1,USD,TEA-100,1,1\n" + "PO-2,C-1,USD," + "T" * 100 + ",1,1\n"
    with pytest.raises(FileRefusedError, match="line 3 of the file is longer than 80 characters"):
        check_orders(text.encode(), limits=Limits(max_line_chars=80))
    assert check_orders(text.encode(), limits=Limits(max_line_chars=200)) == ()


def test_too_many_rows_are_refused() -> None:
    text = HEADER + "".join(f"PO-{n},C-1,USD,TEA-100,1,1\n" for n in range(5))
    with pytest.raises(FileRefusedError, match="more than 4 rows"):
        check_orders(text.encode(), limits=Limits(max_rows=4))
    assert check_orders(text.encode(), limits=Limits(max_rows=6)) == ()


def test_a_broken_quote_is_refused_naming_its_line() -> None:
    with pytest.raises(FileRefusedError, match="not valid CSV"):
        check_orders((HEADER + 'PO-1,"C-1"x,USD,T,1,1\n').encode())


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        Limits(max_rows=0)
    assert caught.value.field == "limits.max_rows"


# --------------------------------------------------------------------------- encodings

CHINESE = "订单号,客户,币种,SKU,数量,单价,品名\n采购-1,客户-1,CNY,TEA-100,2,88.00,绿茶\n"


def test_utf8_with_or_without_a_byte_order_mark() -> None:
    for data in (CHINESE.encode("utf-8"), CHINESE.encode("utf-8-sig")):
        service = _service()
        assert import_orders(service, data).created == ("采购-1",)
        assert service.get_order("import:采购-1").lines[0].description == "绿茶"


def test_a_gb18030_file_read_as_utf8_asks_for_gb18030() -> None:
    data = CHINESE.encode("gb18030")
    with pytest.raises(FileRefusedError) as caught:
        import_orders(_service(), data)
    assert caught.value.field == "encoding"
    assert 'encoding="gb18030"' in str(caught.value)
    service = _service()
    assert import_orders(service, data, encoding="gb18030").created == ("采购-1",)
    assert service.get_order("import:采购-1").customer_id == "客户-1"


def test_a_utf8_file_read_as_gb18030_is_refused_or_reads_other_text() -> None:
    with pytest.raises(ValidationError) as caught:
        check_orders(CHINESE.encode(), encoding="latin-1")
    assert caught.value.field == "encoding"


# --------------------------------------------------------------------------- streaming


def _peak(rows: int) -> int:
    raw = LazyRows(HEADER.encode(), rows)
    tracemalloc.start()
    try:
        assert check_orders(io.BufferedReader(raw)) == ()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_rows_are_streamed_in_constant_memory() -> None:
    small, large = _peak(10_000), _peak(50_000)  # 0.4 MB, then 1.8 MB of CSV read lazily
    # Five times the rows hold about the same memory, far below the file's size: an order's
    # lines are let go when the order ends; only its reference is kept (100 bytes or so).
    assert large < small * 1.2 + 60_000
    assert large < 600_000
