"""The root of the error tree, and the errors of bad input (see :mod:`salesorders.errors`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

#: Where problem ``type`` URIs point: ``PROBLEM_TYPE_BASE + code``. A host that documents the
#: problems under its own domain passes ``type_base=`` to :meth:`SalesOrdersError.to_problem`.
PROBLEM_TYPE_BASE = "https://salesorders.dev/problems/"


class SalesOrdersError(Exception):
    """The root of every error this library raises.

    Every class has a stable snake_case ``code``, a suggested ``http_status`` and a short
    ``title``; :meth:`to_problem` turns an error into an RFC 9457 problem details object.
    """

    code: ClassVar[str] = "salesorders_error"
    http_status: ClassVar[int] = 500
    title: ClassVar[str] = "Sales orders error"

    def to_problem(
        self, *, instance: str | None = None, type_base: str = PROBLEM_TYPE_BASE
    ) -> dict[str, Any]:
        """This error as RFC 9457 problem details with JSON-safe members only: ``type``
        (``type_base`` + ``code``), ``title``, ``status``, ``detail`` (the message),
        ``instance`` when given, then ``code`` and the error's fields (a validation error lists
        them under ``errors``: ``field``, ``value``, ``problem``, ``hint``)."""
        from salesorders.problems import problem_details  # not at import time

        return problem_details(self, instance=instance, type_base=type_base)


# --------------------------------------------------------------------------- validation


class ValidationError(SalesOrdersError, ValueError):
    """Input that cannot be accepted. Nothing was changed.

    ``field`` names the offending input (``"lines[2].quantity"``), ``value`` is what was given.
    """

    code = "validation_failed"
    http_status = 422
    title = "Invalid input"

    def __init__(
        self, field: str, value: Any, problem: str, hint: str = "", *, message: str = ""
    ) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        self.hint = hint
        if not message:
            message = f"{problem} (got {value!r})"
            if field:
                message = f"{field}: {message}"
            if hint:
                message += f"; {hint}"
        super().__init__(message)

    def under(self, prefix: str) -> ValidationError:
        """The same error, same class, with its field under ``prefix`` (``lines[2].quantity``).
        An error with an empty field (the input as a whole) is named ``prefix`` itself."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        message = str(self)
        if not self.field:
            message = f"{prefix}: {message}"
        elif message.startswith(f"{self.field}:"):
            message = f"{prefix}.{message}"
        copy = type(self).__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.field = field
        Exception.__init__(copy, message)
        return copy


class FloatNotAllowedError(ValidationError, TypeError):
    """A float was given where exact values are required."""

    code = "float_not_allowed"
    http_status = 422
    title = "Float not accepted"

    def __init__(self, field: str, value: Any) -> None:
        super().__init__(
            field,
            value,
            "floats are not accepted for money, prices, rates or quantities",
            "pass a decimal.Decimal or a string such as '19.99'",
        )


class InvalidQuantityError(ValidationError):
    """A quantity that is not positive, or has more decimal places than its unit allows."""

    code = "invalid_quantity"
    http_status = 422
    title = "Invalid quantity"


class UnknownCurrencyError(ValidationError):
    """A currency code that is not in ISO 4217."""

    code = "unknown_currency"
    http_status = 422
    title = "Unknown currency"

    def __init__(self, field: str, value: Any) -> None:
        super().__init__(
            field,
            value,
            "not an ISO 4217 currency code",
            "use a code such as 'USD', 'EUR' or 'JPY'",
        )


class CurrencyMismatchError(ValidationError):
    """Two amounts in different currencies met in one calculation."""

    code = "currency_mismatch"
    http_status = 422
    title = "Currency mismatch"

    def __init__(self, field: str, value: Any, expected: str) -> None:
        self.expected = expected
        super().__init__(
            field,
            value,
            f"currency differs from the document currency {expected}",
            "convert the amount first with an exchange rate",
        )


class ReturnWindowError(ValidationError):
    """A line asked back outside its return window, or of a SKU the return policy does not take
    back for that reason. ``line_id`` names the line."""

    code = "return_not_accepted"
    http_status = 422
    title = "Return not accepted"

    def __init__(self, field: str, line_id: str, problem: str, hint: str = "") -> None:
        self.line_id = line_id
        super().__init__(field, line_id, problem, hint)


class FieldProblem:
    """One bad field in a :class:`DeserializationError`: its JSON path and what is wrong."""

    __slots__ = ("path", "problem")

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem

    def __repr__(self) -> str:
        return f"FieldProblem({self.path!r}, {self.problem!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldProblem) and (self.path, self.problem) == (
            other.path,
            other.problem,
        )

    def __hash__(self) -> int:
        return hash((self.path, self.problem))


class DeserializationError(ValidationError):
    """Data that does not fit the expected shape. ``problems`` lists every bad path at once."""

    code = "deserialization_failed"
    http_status = 400
    title = "Malformed data"

    def __init__(self, type_name: str, problems: Sequence[FieldProblem]) -> None:
        self.type_name = type_name
        self.problems = tuple(problems)
        listing = "; ".join(f"{p.path}: {p.problem}" for p in self.problems)
        first = self.problems[0].path if self.problems else "$"
        super().__init__(
            first,
            type_name,
            f"cannot build {type_name}",
            "fix the listed fields and load again",
            message=f"cannot build {type_name}: {listing}; fix the listed fields and load again",
        )
