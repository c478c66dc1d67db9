"""XLSX files: values read (formulas never run), any workbook that is not one refused, and a
zip bomb refused before anything is expanded."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from decimal import Decimal
from typing import Any

import pytest

from salesorders import ManualClock, bootstrap
from salesorders.adapters.memory import MemoryStore
from salesorders.errors import FileRefusedError, MissingExtraError, SpreadsheetError
from salesorders.spreadsheets import Limits, check_orders, import_orders, sources

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def _service() -> Any:
    return bootstrap(store=MemoryStore(), clock=ManualClock(T0))


openpyxl = pytest.importorskip("openpyxl")


def _xlsx(*rows: list[Any]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def _with_cached_values(data: bytes, values: dict[str, str], texts: tuple[str, ...] = ()) -> bytes:
    """``data`` with the given formula cells carrying a computed value, as a spreadsheet
    program saves them (openpyxl itself writes formulas without one)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = content.decode()
                for ref, value in values.items():
                    kind = ' t="str"' if ref in texts else ""
                    text = re.sub(
                        rf'<c r="{ref}"><f>(.*?)</f><v\s*/>',
                        rf'<c r="{ref}"{kind}><f>\1</f><v>{value}</v>',
                        text,
                    )
                content = text.encode()
            target.writestr(item, content)
    return out.getvalue()


HEAD = ["订单号", "客户", "币种", "SKU", "数量", "单价", "描述"]


def test_an_xlsx_imports_like_a_csv() -> None:
    data = _xlsx(
        HEAD,
        ["X-1", "C-1", "USD", "TEA-100", 2, 12.3, "tea"],
        ["X-1", "C-1", "USD", "CUP-6", 3, "4.50", None],
    )
    service = _service()
    assert import_orders(service, data).created == ("X-1",)  # told apart by its bytes
    lines = service.get_order("import:X-1").lines
    assert [(x.quantity, x.unit_price) for x in lines] == [
        (Decimal(2), Decimal("12.3")),
        (Decimal(3), Decimal("4.50")),
    ]


def test_a_formula_is_read_as_its_computed_value_and_never_run() -> None:
    data = _xlsx(HEAD, ["X-1", "C-1", "USD", "TEA-100", "=1+1", "=2*3", '=HYPERLINK("x")'])
    cells = check_orders(data)
    assert [(c.column, c.value) for c in cells] == [
        ("数量", "=1+1"),
        ("单价", "=2*3"),
        ("描述", '=HYPERLINK("x")'),
    ]
    assert "formula with no computed value" in cells[0].problem
    with pytest.raises(SpreadsheetError):
        import_orders(_service(), data)
    computed = _with_cached_values(data, {"E2": "2", "F2": "6", "G2": "x"}, ("G2",))
    service = _service()
    assert import_orders(service, computed).created == ("X-1",)
    line = service.get_order("import:X-1").lines[0]
    assert (line.quantity, line.unit_price, line.description) == (Decimal(2), Decimal(6), "x")
    broken = _with_cached_values(data, {"E2": "x"})  # a number cell holding text
    with pytest.raises(FileRefusedError, match="not a readable XLSX workbook"):
        check_orders(broken)


def test_a_file_that_is_not_a_workbook_is_refused() -> None:
    with pytest.raises(FileRefusedError, match="not an XLSX workbook"):
        check_orders(b"PK\x03\x04 not really a zip", format="xlsx")
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.writestr("hello.txt", "a zip, not a workbook")
    with pytest.raises(FileRefusedError, match="not a readable XLSX workbook"):
        check_orders(stream.getvalue())


def _bomb(size: int) -> bytes:
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(size >> 20):
                member.write(chunk)
    return stream.getvalue()


def test_a_zip_bomb_is_refused_before_anything_is_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    def never() -> Any:
        raise AssertionError("openpyxl must not see a refused file")

    monkeypatch.setattr(sources, "load_openpyxl", never)
    data = _bomb(64 << 20)  # 64 MiB of zeros in about 64 KiB
    assert len(data) < 200_000
    with pytest.raises(FileRefusedError) as caught:
        check_orders(data)
    assert caught.value.value == "xl/worksheets/sheet1.xml"
    assert "a zip bomb" in str(caught.value)
    with pytest.raises(FileRefusedError, match="expands to more than 1048576 bytes"):
        check_orders(
            _bomb(2 << 20), limits=Limits(max_compression_ratio=10**6, max_xlsx_bytes=1 << 20)
        )


def test_too_many_zip_members_are_refused() -> None:
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        for n in range(6):
            archive.writestr(f"m{n}.xml", "<x/>")
    with pytest.raises(FileRefusedError, match="more than 5 zip members"):
        check_orders(stream.getvalue(), limits=Limits(max_zip_members=5))


def test_an_xlsx_without_openpyxl_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    workbook = _xlsx_plain()  # written with openpyxl before it goes away
    real = builtins.__import__

    def no_openpyxl(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "openpyxl":
            raise ImportError("no openpyxl here")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_openpyxl)
    monkeypatch.setattr(sources.importlib, "import_module", lambda name: no_openpyxl(name))
    with pytest.raises(MissingExtraError) as caught:
        check_orders(workbook)
    assert 'pip install "salesorders[xlsx]"' in str(caught.value)
    assert caught.value.extra == "xlsx"


def _xlsx_plain() -> bytes:
    return _xlsx(HEAD, ["X-1", "C-1", "USD", "TEA-100", 1, 1, ""])
