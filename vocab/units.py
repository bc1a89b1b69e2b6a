"""OM2 units of measure, as ValueFlows recommends them.

The unit list ships inside the package (``vocab/data/om2-units-en.csv``, the shared
reference file unchanged) and is read on first use, not at import. A unit travels as
its OM2 id (``"kilogram"``); reading also accepts the ``om2:`` compact form and the
full OM2 IRI, in either http or https, and turns them into the id.

One alias exists because a specification example needs it: FEP-3264 writes
``"pound"``, which is not an OM2 id; it is read as ``poundAvoirdupois`` (the mass
pound of trade). Nothing else is guessed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

from vocab.errors import UnitError
from vocab.namespaces import OM2

__all__ = [
    "OM2",
    "UnitInfo",
    "all_units",
    "is_unit",
    "normalize_unit",
    "unit_info",
    "unit_iri",
    "unit_label",
]

_OM2_PREFIXES = (OM2, "https://www.ontology-of-units-of-measure.org/resource/om-2/", "om2:", "om:")
_ALIASES = {"pound": "poundAvoirdupois"}


@dataclass(frozen=True, slots=True)
class UnitInfo:
    """One row of the OM2 unit list."""

    id: str
    label: str
    symbol: str
    om_class: str
    classification: str


@cache
def _table() -> dict[str, UnitInfo]:
    text = resources.files("vocab").joinpath("data/om2-units-en.csv").read_text("utf-8")
    table: dict[str, UnitInfo] = {}
    for row in csv.reader(io.StringIO(text)):
        om_class, unit_id, label, symbol, _description, classification = row
        # The list has one id twice (two symbols for the knot); the first row wins.
        table.setdefault(unit_id, UnitInfo(unit_id, label, symbol, om_class, classification))
    return table


def _strip(value: str) -> str:
    for prefix in _OM2_PREFIXES:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


def normalize_unit(value: str, field: str = "hasUnit") -> str:
    """Return the OM2 id for a unit given as id, ``om2:`` name or full OM2 IRI.

    Raises :class:`~vocab.errors.UnitError` naming the unit when it is not known.
    """
    if not isinstance(value, str):
        raise UnitError(field, f"a unit must be a string, not {type(value).__name__}")
    table = _table()
    if value in table:
        return value
    unit_id = _strip(value.strip())
    unit_id = _ALIASES.get(unit_id, unit_id)
    if unit_id in table:
        return unit_id
    raise UnitError(field, f"unknown unit {value!r}: not an OM2 unit id")


def is_unit(value: object) -> bool:
    """Tell whether ``value`` names a known OM2 unit (in any accepted spelling)."""
    if not isinstance(value, str):
        return False
    try:
        normalize_unit(value)
    except UnitError:
        return False
    return True


def unit_info(unit_id: str) -> UnitInfo:
    """Return the row of the OM2 list for a unit (any accepted spelling)."""
    return _table()[normalize_unit(unit_id)]


def unit_label(unit_id: str) -> str:
    """Return the English label of a unit, for human-readable posts (``"kilogram"``)."""
    return unit_info(unit_id).label


def unit_iri(unit_id: str) -> str:
    """Return the full OM2 IRI of a unit."""
    return OM2 + normalize_unit(unit_id)


def all_units() -> tuple[UnitInfo, ...]:
    """Every unit of the OM2 list, in the list's order (for choosing one by name)."""
    return tuple(_table().values())
