"""Exact quantities: bounded decimals and measures with an OM2 unit.

``hasNumericalValue`` is an exact decimal. Reading accepts a JSON string or number
(int or ``Decimal``; :func:`vocab.jsontext.loads` never makes floats) and refuses
``bool`` and ``float`` outright: a float has already lost the digits it was sent with.

Bounds: finite, at most :data:`MAX_DIGITS` significant digits and :data:`MAX_PLACES`
decimal places, enough for any money or stock amount.

A :class:`Measure` never meets another unit: adding, subtracting or ordering
measures of different units raises :class:`~vocab.errors.UnitMismatch`. (``==`` stays
structural equality, so measures can live in sets and dataclasses; two measures of
different units are simply not equal.)

:data:`EXACT` is the one decimal context for quantities, everywhere (here, the ledger,
storage): 80 digits, so no sum, difference or ratio of bounded values is ever rounded
where the thread's default 28-digit context would round 30-digit amounts, and every
signal but ``Inexact``/``Rounded`` trapped. Never do quantity arithmetic with the
operators on bare ``Decimal`` values (they use the default context); use ``EXACT``'s
methods or :class:`Measure`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Clamped, Context, Decimal, DivisionByZero, InvalidOperation, Overflow, Underflow
from typing import Any

from vocab.errors import InvalidObject, QuantityError, UnitMismatch
from vocab.namespaces import OM2
from vocab.units import normalize_unit

__all__ = [
    "EXACT",
    "MAX_DIGITS",
    "MAX_PLACES",
    "Measure",
    "canonical_decimal",
    "parse_decimal",
]

MAX_DIGITS = 30
MAX_PLACES = 12

# Plain decimal text as JSON and xsd:decimal write it, with an optional exponent.
_DECIMAL_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,6})?")
#: Wide enough that no bounded value is ever rounded by arithmetic on two of them.
EXACT = Context(
    prec=80,
    Emax=999_999,
    Emin=-999_999,
    traps=[InvalidOperation, DivisionByZero, Overflow, Underflow, Clamped],
)
_EXACT = EXACT


#: How a quantity's type may be written (canonical, OM2 compact and full).
MEASURE_TYPES = frozenset({"Measure", "om2:Measure", "om:Measure", OM2 + "Measure"})


def bare_measure(node: dict[str, Any]) -> dict[str, Any]:
    """A quantity as oce writes it: Bonfire's ``id`` and ``type: om2:Measure`` on
    each measure say nothing more, and are left out of the canonical form."""
    if "hasNumericalValue" not in node or node.get("type", "Measure") not in MEASURE_TYPES:
        return node
    return {key: value for key, value in node.items() if key not in ("id", "type")}


def parse_decimal(value: str | int | Decimal, field: str) -> Decimal:
    """Read an exact decimal from a JSON string or number, enforcing the bounds."""
    if isinstance(value, (bool, float)):
        raise QuantityError(
            field, f"{type(value).__name__} is not an exact decimal; send a string or integer"
        )
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > 64 or not _DECIMAL_TEXT.fullmatch(text):
            raise QuantityError(field, f"{_short(value)} is not a decimal number")
        try:
            number = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern already guards
            raise QuantityError(field, f"{_short(value)} is not a decimal number") from None
    else:
        kind = type(value).__name__
        raise QuantityError(field, f"a number must be a string or number, not {kind}")
    return _bounded(number, field)


def _bounded(number: Decimal, field: str) -> Decimal:
    if not number.is_finite():
        raise QuantityError(field, f"{number} is not a finite number")
    if number.is_zero():
        return Decimal(0)
    # Judge the size before any arithmetic: normalizing 1E+99999999999 would overflow.
    if number.adjusted() >= MAX_DIGITS:
        raise QuantityError(field, f"{_short(str(number))} has more than {MAX_DIGITS} digits")
    if number.adjusted() < -MAX_PLACES:
        raise QuantityError(
            field, f"{_short(str(number))} has more than {MAX_PLACES} decimal places"
        )
    number = number.normalize(_EXACT)
    _sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    if exponent < -MAX_PLACES:
        raise QuantityError(
            field, f"{_short(canonical_decimal(number))} has more than {MAX_PLACES} decimal places"
        )
    # Significant digits of the plain form: trailing zeros of an integer count too.
    significant = len(digits) + max(exponent, 0)
    if significant > MAX_DIGITS:
        raise QuantityError(
            field, f"{_short(canonical_decimal(number))} has more than {MAX_DIGITS} digits"
        )
    # Keep one representation per value (1200, not 1.2E+3) so reprs and storage agree.
    return Decimal(canonical_decimal(number))


def canonical_decimal(d: Decimal) -> str:
    """Write a decimal in plain notation without exponent or trailing zeros ("1200", "0.5")."""
    if d.is_zero():
        return "0"
    text = format(d.normalize(_EXACT), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


@dataclass(frozen=True, slots=True)
class Measure:
    """An exact amount of one OM2 unit."""

    value: Decimal
    unit: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _bounded(self.value, "hasNumericalValue"))
        object.__setattr__(self, "unit", normalize_unit(self.unit))

    @classmethod
    def of(cls, value: str | int | Decimal, unit: str) -> Measure:
        """Build a measure from a decimal-ish value and a unit in any accepted spelling."""
        return cls(parse_decimal(value, "hasNumericalValue"), normalize_unit(unit))

    @classmethod
    def parse(cls, obj: Mapping[str, Any], field: str) -> Measure:
        """Read ``{"hasUnit": ..., "hasNumericalValue": ...}``; ``field`` locates errors."""
        if not isinstance(obj, Mapping):
            raise InvalidObject(
                field, "a quantity must be an object with hasUnit and hasNumericalValue"
            )
        for key in ("hasUnit", "hasNumericalValue"):
            if key not in obj:
                raise InvalidObject(f"{field}/{key}", "missing")
            if isinstance(obj[key], list):
                raise InvalidObject(f"{field}/{key}", "must have exactly one value")
        # Bonfire gives each measure an id of its own and the type om2:Measure.
        unknown = set(obj) - {"hasUnit", "hasNumericalValue", "type", "id"}
        if unknown:
            raise InvalidObject(f"{field}/{sorted(unknown)[0]}", "not a property of a quantity")
        if "type" in obj and obj["type"] not in MEASURE_TYPES:
            raise InvalidObject(f"{field}/type", "a quantity's type can only be Measure")
        unit = normalize_unit(obj["hasUnit"], f"{field}/hasUnit")
        return cls(parse_decimal(obj["hasNumericalValue"], f"{field}/hasNumericalValue"), unit)

    def to_json(self) -> dict[str, str]:
        """Write the canonical JSON form, the number as a canonical decimal string."""
        return {"hasUnit": self.unit, "hasNumericalValue": canonical_decimal(self.value)}

    @property
    def is_zero(self) -> bool:
        """True when the amount is zero."""
        return self.value.is_zero()

    def _same_unit(self, other: object, verb: str) -> Measure:
        if not isinstance(other, Measure):
            raise TypeError(f"cannot {verb} a Measure and {type(other).__name__}")
        if other.unit != self.unit:
            raise UnitMismatch(
                "hasUnit",
                f"cannot {verb} {self.unit} and {other.unit}: measures of different units "
                "are never added or compared",
            )
        return other

    def __add__(self, other: Measure) -> Measure:
        other = self._same_unit(other, "add")
        return Measure(_EXACT.add(self.value, other.value), self.unit)

    def __sub__(self, other: Measure) -> Measure:
        other = self._same_unit(other, "subtract")
        return Measure(_EXACT.subtract(self.value, other.value), self.unit)

    def __neg__(self) -> Measure:
        return Measure(-self.value, self.unit)

    def __lt__(self, other: Measure) -> bool:
        return self.value < self._same_unit(other, "compare").value

    def __le__(self, other: Measure) -> bool:
        return self.value <= self._same_unit(other, "compare").value

    def __gt__(self, other: Measure) -> bool:
        return self.value > self._same_unit(other, "compare").value

    def __ge__(self, other: Measure) -> bool:
        return self.value >= self._same_unit(other, "compare").value

    def __str__(self) -> str:
        return f"{canonical_decimal(self.value)} {self.unit}"
