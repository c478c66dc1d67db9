"""Tracking numbers checked against the couriers' formats (``pip install salesorders[tracking]``).

:class:`CourierTrackingNumbers` is a :class:`~salesorders.ports.TrackingNumbers` over the
`tracking-numbers <https://pypi.org/project/tracking-numbers/>`_ library, which knows the formats
and check digits of UPS, FedEx, USPS, DHL Express, OnTrac, Amazon Logistics, CDL and S10
(international postal) numbers. No check digit is computed here: the library does it.

>>> service = bootstrap(store=store, tracking_numbers=CourierTrackingNumbers())  # doctest: +SKIP

* A shipment's carrier name maps to the library's courier codes through ``couriers``
  (:data:`DEFAULT_COURIERS` unless the host passes its own). Names are compared ignoring case and
  every character but letters and digits: ``"UPS"``, ``"ups"`` and ``"U.P.S."`` are one name.
* For a carrier that maps to couriers, the number — spaces removed, upper-cased — must be a valid
  number of one of them: in one of their formats, with the check digit (and the service or
  container type, where the format has one) right. It is stored that way. A number in their
  format that fails is refused naming what failed ("is not a valid UPS tracking number (check
  digit does not match)"); a number in none of their formats is refused too, and when it is a valid
  number of another courier the error says which.
* A carrier the mapping does not name (your own vans, a local courier) or maps to no courier
  (``()``) keeps any number that passed the text checks, unchanged.

The library is imported when the first checker is built, so importing this module needs nothing;
without the library, building one raises :class:`ImportError` saying what to install.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import Any, Final

from salesorders.errors import ValidationError

__all__ = ["DEFAULT_COURIERS", "CourierTrackingNumbers"]

#: Common carrier names and the library's courier codes their numbers must belong to. ``usps``
#: also takes S10 numbers (``RB123456785US``), which USPS gives international parcels. ``dhl`` means
#: DHL Express (the only DHL numbers the library knows): a host shipping with DHL Parcel or DHL
#: eCommerce maps its name to no courier (``{**DEFAULT_COURIERS, "dhl": ()}``).
DEFAULT_COURIERS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "amazon": ("amazon",),
        "amazon-logistics": ("amazon",),
        "cdl": ("cdl",),
        "dhl": ("dhl",),
        "dhl-express": ("dhl",),
        "fedex": ("fedex",),
        "ontrac": ("ontrac",),
        "s10": ("s10",),
        "ups": ("ups",),
        "usps": ("usps", "s10"),
    }
)

_INSTALL: Final = (
    "salesorders.adapters.tracking needs the tracking-numbers package; install it with "
    "pip install 'salesorders[tracking]'"
)

#: How the library's validation names read in an error.
_REASONS: Final = {"checksum": "check digit does not match", "Courier": "unknown country code"}

#: A format's name and what the number failed in it (nothing: the number is valid).
Outcome = tuple[str, tuple[str, ...]]


class CourierTrackingNumbers:
    """Checks tracking numbers of known couriers with the ``tracking-numbers`` library.

    ``couriers`` maps carrier names to one courier code or a collection of them (empty: not
    checked); it replaces :data:`DEFAULT_COURIERS` (extend it with
    ``{**DEFAULT_COURIERS, "my-ups-account": "ups"}``). A code the library does not know is
    refused when the checker is built (:class:`~salesorders.errors.ValidationError`, field
    ``couriers[<name>]``).
    """

    def __init__(self, couriers: Mapping[str, str | Collection[str]] = DEFAULT_COURIERS) -> None:
        formats: dict[str, list[Any]] = {}
        self._names: dict[str, str] = {}
        for definition in _definitions():
            code = str(definition.courier.code)
            formats.setdefault(code, []).append(definition)
            self._names.setdefault(code, str(definition.courier.name))
        self._formats = {code: tuple(found) for code, found in formats.items()}
        self._couriers = self._mapped(couriers)

    def __repr__(self) -> str:
        return f"CourierTrackingNumbers({len(self._couriers)} carrier names)"

    @property
    def couriers(self) -> Mapping[str, tuple[str, ...]]:
        """The mapping in use, by carrier name compared as described (``"dhlexpress"``)."""
        return MappingProxyType(self._couriers)

    def check(self, carrier: str, number: str) -> str:
        """``number`` as it is stored, or :class:`~salesorders.errors.ValidationError`."""
        codes = self._couriers.get(_key(carrier), ())
        if not codes:
            return number
        compact = "".join(number.split())
        forms = tuple(dict.fromkeys((compact.upper(), compact)))  # a few formats are lower-case
        failed: dict[str, tuple[str, ...]] = {}
        for form in forms:
            for code in codes:
                for definition in self._formats[code]:
                    outcome = _test(definition, form)
                    if outcome is None:
                        continue
                    product, reasons = outcome
                    if not reasons:
                        return form
                    failed.setdefault(product, reasons)
        courier = self._names[codes[0]]
        if failed:
            detail = "; ".join(
                ", ".join(reasons) if product == courier else f"{product}: {', '.join(reasons)}"
                for product, reasons in failed.items()
            )
            problem = f"is not a valid {courier} tracking number ({detail})"
            hint = "check the number for a typing error"
        else:
            problem = f"is not in any {courier} tracking number format"
            hint = (
                f"check the number and the carrier; for {courier} numbers in a format not known "
                f"here, map {carrier!r} to no courier"
            )
        other = self._recognised(forms, codes)
        if other is not None:
            hint += f"; it is a valid {other}: was it shipped with another carrier?"
        raise ValidationError("tracking_number", number, problem, hint)

    def _recognised(self, forms: tuple[str, ...], skipped: tuple[str, ...]) -> str | None:
        """The courier (and format) of another courier that ``forms`` are a valid number of."""
        for form in forms:
            for code, definitions in self._formats.items():
                if code in skipped:
                    continue
                for definition in definitions:
                    outcome = _test(definition, form)
                    if outcome is not None and not outcome[1]:
                        name, product = self._names[code], outcome[0]
                        number = f"{name} tracking number"
                        return number if product == name else f"{number} ({product})"
        return None

    def _mapped(self, couriers: Mapping[str, str | Collection[str]]) -> dict[str, tuple[str, ...]]:
        if not isinstance(couriers, Mapping):
            raise ValidationError(
                "couriers", couriers, "must be a mapping", "pass e.g. {'ups': 'ups', 'own-van': ()}"
            )
        known = ", ".join(sorted(self._formats))
        mapped: dict[str, tuple[str, ...]] = {}
        for name, value in couriers.items():
            field = f"couriers[{name!r}]"
            key = _key(name) if isinstance(name, str) else ""
            if not key:
                raise ValidationError(field, name, "must be a carrier name with a letter or digit")
            codes = (value,) if isinstance(value, str) else value
            if not isinstance(codes, Collection) or not all(isinstance(c, str) for c in codes):
                raise ValidationError(
                    field, value, "must be a courier code or a collection of them", "e.g. 'ups'"
                )
            for code in codes:
                if code not in self._formats:
                    raise ValidationError(
                        field,
                        value,
                        f"names the courier {code!r}, which the tracking-numbers library does "
                        "not know",
                        f"use one of {known}, or () for a carrier whose numbers are not checked",
                    )
            chosen = tuple(dict.fromkeys(codes))
            if mapped.get(key, chosen) != chosen:
                raise ValidationError(
                    field,
                    value,
                    "names a carrier another name already maps to other couriers",
                    "map each carrier once (names are compared ignoring case and punctuation)",
                )
            mapped[key] = chosen
        return mapped


def _definitions() -> tuple[Any, ...]:
    """The library's tracking number formats, imported now rather than with this module."""
    try:
        import tracking_numbers
    except ImportError as missing:
        raise ImportError(_INSTALL) from missing
    return tuple(tracking_numbers.DEFINITIONS)


def _test(definition: Any, number: str) -> Outcome | None:
    """The outcome of ``number`` in one format, or ``None`` when it is not in that format."""
    product = str(definition.product.name)
    try:
        found = definition.test(number)
    except ValueError:  # a letter where the format's check digit is (the library reads an int)
        return product, ("check digit is not a digit",)
    if found is None:
        return None
    reasons = tuple(
        _REASONS.get(str(name), f"unknown {str(name).lower()}")
        for name, _message in found.validation_errors
    )
    return product, reasons


def _key(name: str) -> str:
    """A carrier name as the mapping compares it: lower case, letters and digits only."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())
