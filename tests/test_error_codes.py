"""Every error class has a stable code and status, pinned by the table in docs/errors.md, and
turns into JSON-safe RFC 9457 problem details."""

from __future__ import annotations

import datetime as dt
import enum
import importlib
import json
import pkgutil
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from moneyed import Money

import salesorders
from salesorders import errors
from salesorders.errors import (
    PROBLEM_TYPE_BASE,
    CurrencyMismatchError,
    DeserializationError,
    FieldProblem,
    InsufficientStockError,
    InvalidQuantityError,
    InvalidTransitionError,
    SalesOrdersError,
    Shortage,
    ValidationError,
)
from salesorders.problems import field_path, json_safe

DOC = Path(__file__).resolve().parent.parent / "docs" / "errors.md"
ROW = re.compile(r"^\| `([^`]+)` \| `([^`]+)` \| (\d{3}) \| (.+) \|$", re.M)
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def _import_every_module() -> None:
    """Import every module of the package, so error classes defined anywhere are walked."""
    for module in pkgutil.walk_packages(salesorders.__path__, "salesorders."):
        if module.name == "salesorders.__main__":  # runs the command line
            continue
        try:
            importlib.import_module(module.name)
        except ImportError:  # an optional extra that is not installed
            continue


def _walk(cls: type[SalesOrdersError]) -> list[type[SalesOrdersError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found.extend(_walk(sub))
    return found


_import_every_module()
CLASSES = sorted(
    {c for c in _walk(SalesOrdersError) if c.__module__.startswith("salesorders.")},
    key=lambda c: c.__name__,
)


def _table() -> dict[str, tuple[str, int]]:
    """The docs' table: class name -> (code, HTTP status)."""
    rows = ROW.findall(DOC.read_text(encoding="utf-8"))
    table = {name: (code, int(status)) for code, name, status, _ in rows}
    assert len(table) == len(rows), "a class is listed twice"
    return table


def test_the_walk_finds_errors_of_the_whole_tree() -> None:
    names = {c.__name__ for c in CLASSES}
    assert {"SalesOrdersError", "ValidationError", "NotSupportedError"} <= names
    assert len(CLASSES) >= 38


def test_docs_table_lists_every_class_with_its_code_and_status() -> None:
    assert _table() == {c.__name__: (c.code, c.http_status) for c in CLASSES}


def test_codes_are_unique_snake_case_and_statuses_are_http() -> None:
    codes = [c.code for c in CLASSES]
    assert len(set(codes)) == len(codes), [c for c in codes if codes.count(c) > 1]
    assert [c for c in codes if not SNAKE.match(c)] == []
    assert all(400 <= c.http_status <= 599 for c in CLASSES)
    assert all(c.title and c.title == c.title.strip() for c in CLASSES)


def test_every_class_defines_its_own_code() -> None:
    assert [c.__name__ for c in CLASSES if "code" not in vars(c)] == []
    assert [c.__name__ for c in CLASSES if "http_status" not in vars(c)] == []
    assert [c.__name__ for c in CLASSES if "title" not in vars(c)] == []


def test_suggested_statuses_follow_the_documented_rules() -> None:
    status = {c.__name__: c.http_status for c in CLASSES}
    assert status["SalesOrdersError"] == 500
    assert status["ValidationError"] == 422
    assert status["NotFoundError"] == 404
    assert status["InsufficientStockError"] == 409
    assert status["InvalidTransitionError"] == 409
    assert status["IdempotencyConflictError"] == 409
    assert status["OperationalError"] == 503
    assert status["PaymentDeclinedError"] == 402
    assert errors.IdempotencyConflictError.code == "idempotency_conflict"
    assert errors.ValidationError.code == "validation_failed"


# --------------------------------------------------------------------------- every class


_SHORT = Shortage("TEA-100", Decimal("5"), Decimal("1.5"))
# Arguments by the __init__ a class inherits; classes with their own __init__ are built below.
_BY_INIT: dict[Callable[..., None], tuple[Any, ...]] = {
    Exception.__init__: ("something failed; try again",),
    ValidationError.__init__: ("lines[1].quantity", Decimal("0.50"), "must be whole", "round it"),
    errors.OrderError.__init__: ("O-1", "order O-1: refused"),
    errors.PaymentGatewayError.__init__: ("capture", "card expired"),
    errors.DeliveryError.__init__: ("webhook", "HTTP 503 from the receiver"),
    errors.WebhookVerificationError.__init__: ("the signature does not match",),
}
_BUILT: dict[type[SalesOrdersError], Callable[[], SalesOrdersError]] = {
    errors.FloatNotAllowedError: lambda: errors.FloatNotAllowedError("lines[0].quantity", 1.5),
    errors.UnknownCurrencyError: lambda: errors.UnknownCurrencyError("currency", "EUX"),
    CurrencyMismatchError: lambda: CurrencyMismatchError("shipping", Money("5", "USD"), "EUR"),
    errors.ReturnWindowError: lambda: errors.ReturnWindowError(
        "lines[0].line_id", "L1", "is outside its 30-day return window"
    ),
    DeserializationError: lambda: DeserializationError(
        "Order", [FieldProblem("$.lines[3].quantity", "expected a decimal"), FieldProblem("$", "x")]
    ),
    InvalidTransitionError: lambda: InvalidTransitionError("O-1", "draft", "ship", ("place",)),
    errors.PermissionDeniedError: lambda: errors.PermissionDeniedError(
        "ann", "CancelOrder", "orders.cancel", "no role of the actor grants it"
    ),
    errors.AnonymizationRefusedError: lambda: errors.AnonymizationRefusedError(
        "C-1", ("order O-1 is confirmed: finish or cancel it first",)
    ),
    errors.GuardRejectedError: lambda: errors.GuardRejectedError("O-1", "placed", "ship", "paid"),
    errors.OrderNotEditableError: lambda: errors.OrderNotEditableError("O-1", "placed", "edit"),
    errors.LineNotFoundError: lambda: errors.LineNotFoundError("O-1", "L9"),
    errors.WorkflowDefinitionError: lambda: errors.WorkflowDefinitionError("w", ["dead end"]),
    errors.NoPriceError: lambda: errors.NoPriceError("TEA-100", "EUR", None),
    errors.ExchangeRateUnavailableError: lambda: errors.ExchangeRateUnavailableError("USD", "EUR"),
    InsufficientStockError: lambda: InsufficientStockError([_SHORT], "O-1"),
    errors.UnknownWarehouseError: lambda: errors.UnknownWarehouseError("NORTH"),
    errors.UnknownStockItemError: lambda: errors.UnknownStockItemError("TEA-100", "NORTH"),
    errors.ReservationError: lambda: errors.ReservationError("R-1", "no reservation R-1"),
    errors.NotFoundError: lambda: errors.NotFoundError("order", "O-404"),
    errors.ConcurrencyConflictError: lambda: errors.ConcurrencyConflictError("O-1", 3, 4),
    errors.IdempotencyConflictError: lambda: errors.IdempotencyConflictError("k-1", "PlaceOrder"),
}


def _instance(cls: type[SalesOrdersError]) -> SalesOrdersError:
    if cls in _BUILT:
        return _BUILT[cls]()
    init = cls.__init__
    assert init in _BY_INIT, f"{cls.__name__} has its own __init__: add it to _BUILT"
    return cls(*_BY_INIT[init])


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_error_is_json_safe_problem_details(cls: type[SalesOrdersError]) -> None:
    error = _instance(cls)
    assert type(error) is cls
    problem = error.to_problem(instance="/orders/O-1")
    assert json.loads(json.dumps(problem, allow_nan=False)) == problem
    assert problem["type"] == f"{PROBLEM_TYPE_BASE}{cls.code}"
    assert problem["title"] == cls.title
    assert problem["status"] == cls.http_status
    assert problem["detail"] == str(error)
    assert problem["instance"] == "/orders/O-1"
    assert problem["code"] == cls.code
    if isinstance(error, ValidationError):
        assert problem["errors"][0]["problem"]
        assert {"field", "value", "problem", "hint"} == set(problem["errors"][0])
    else:
        assert "errors" not in problem


def test_type_base_and_instance_are_optional() -> None:
    problem = errors.NotFoundError("order", "O-404").to_problem(type_base="urn:shop:")
    assert problem["type"] == "urn:shop:not_found"
    assert "instance" not in problem
    assert (problem["kind"], problem["key"]) == ("order", "O-404")


def test_money_decimal_and_tuples_round_trip_through_json() -> None:
    mismatch = CurrencyMismatchError("lines[1].unit_price", Money("12.30", "USD"), "EUR")
    problem = json.loads(json.dumps(mismatch.to_problem()))
    assert problem["errors"] == [
        {
            "field": "lines[1].unit_price",
            "value": {"amount": "12.30", "currency": "USD"},
            "problem": "currency differs from the document currency EUR",
            "hint": "convert the amount first with an exchange rate",
        }
    ]
    value = problem["errors"][0]["value"]
    assert Money(Decimal(value["amount"]), value["currency"]) == Money("12.30", "USD")

    quantity = InvalidQuantityError("quantity", Decimal("1.50"), "must be whole").under("lines[1]")
    problem = json.loads(json.dumps(quantity.to_problem()))
    assert problem["errors"][0]["field"] == "lines[1].quantity"
    assert Decimal(problem["errors"][0]["value"]) == Decimal("1.50")
    assert problem["errors"][0]["value"] == "1.50"

    transition = InvalidTransitionError("O-1", "draft", "ship", ("place", "cancel"))
    problem = json.loads(json.dumps(transition.to_problem()))
    assert problem["allowed"] == ["place", "cancel"]
    assert (problem["state"], problem["event"], problem["order_id"]) == ("draft", "ship", "O-1")


def test_a_shortage_becomes_a_dict_with_what_is_missing() -> None:
    problem = InsufficientStockError([_SHORT], None, order_created=False).to_problem()
    assert problem["shortages"] == [
        {"sku": "TEA-100", "requested": "5", "available": "1.5", "missing": "3.5"}
    ]
    assert problem["order_id"] is None and problem["order_created"] is False


def test_a_deserialization_error_lists_every_field_without_the_root_marker() -> None:
    problem = _BUILT[DeserializationError]().to_problem()
    assert [e["field"] for e in problem["errors"]] == ["lines[3].quantity", "$"]
    assert problem["errors"][0]["problem"] == "expected a decimal"
    assert problem["type_name"] == "Order"
    assert "problems" not in problem and "field" not in problem


class _Colour(enum.Enum):
    RED = "red"


@attrs.frozen
class _Item:
    sku: str
    quantity: Decimal
    when: dt.date


def test_json_safe_converts_every_kind_of_value() -> None:
    assert json_safe(Decimal("12.30")) == "12.30"
    assert json_safe(Money("12.30", "EUR")) == {"amount": "12.30", "currency": "EUR"}
    assert json_safe((1, (2, "x"))) == [1, [2, "x"]]
    assert json_safe(frozenset({"b", "a"})) == ["a", "b"]
    assert json_safe(_Colour.RED) == "red"
    assert json_safe(dt.date(2026, 3, 1)) == "2026-03-01"
    assert json_safe(dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)) == "2026-03-01T09:30:00+00:00"
    assert json_safe(dt.timedelta(minutes=1, seconds=30)) == "PT90S"
    assert json_safe(dt.timedelta(seconds=-0.5)) == "-PT0.5S"
    assert json_safe(float("nan")) == "nan"
    assert json_safe({1: Decimal("2")}) == {"1": "2"}
    assert json_safe(_Item("TEA", Decimal("2"), dt.date(2026, 1, 2))) == {
        "sku": "TEA",
        "quantity": "2",
        "when": "2026-01-02",
    }
    assert json_safe(object()).startswith("<object object")
    assert json_safe(FieldProblem("$.lines[0].sku", "bad")) == {
        "field": "lines[0].sku",
        "problem": "bad",
    }


def test_json_safe_stops_at_a_cycle() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    json.dumps(json_safe(cycle))  # does not recurse forever


def test_field_paths_lose_the_document_root() -> None:
    assert field_path("$.lines[3].quantity") == "lines[3].quantity"
    assert field_path("$[0]") == "[0]"
    assert field_path("$") == "$"
    assert field_path("lines[1].quantity") == "lines[1].quantity"


def test_an_error_naming_the_input_itself_is_named_by_its_prefix() -> None:
    error = ValidationError("", "x", "must be a LineSpec").under("lines[1]")
    assert error.field == "lines[1]"
    assert str(error) == "lines[1]: must be a LineSpec (got 'x')"
