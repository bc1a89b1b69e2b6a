"""OM2 units of measure, as ValueFlows recommends them.

The unit list ships inside the package (``vocab/data/om2-units-en.csv``, the shared
reference file unchanged) and is read on first use, not at import. A unit travels as
its OM2 id (``"kilogram"``); reading also accepts the ``om2:`` compact form and the
full OM2 IRI, in either http or https, and turns them into the id.

Other ValueFlows software writes units in other ways, and reading accepts those that
name one unit without doubt (writing always uses the id):

* an OM2 symbol (``kg``, ``km``, ``h``); where the list gives a symbol to several
  units, the one whose id has no qualifier wins (``h`` is ``hour``, not
  ``hour-HourAngle``; ``m`` is ``metre``); a symbol still ambiguous is refused;
* a unit's English label, where only one unit has it (``"fathom (US survey)"``);
* a few common abbreviations that are not OM2 symbols: ``hr``/``hrs`` (FEP-d767's
  example), ``s``/``sec``, ``lb``/``lbs``, and ``pound`` (FEP-3264's example), the
  pounds meaning the mass pound of trade, ``poundAvoirdupois``;
* a unit object (Bonfire sends ``{"id", "label", "symbol", "type": "om2:Unit"}``):
  its OM2 id if its id is one, else its symbol, else its label
  (:func:`unit_from_object`).

Nothing else is guessed: an unknown spelling is refused with the unit named.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from vocab.errors import UnitError
from vocab.namespaces import OM2

__all__ = [
    "OM2",
    "UnitInfo",
    "all_units",
    "is_unit",
    "normalize_unit",
    "unit_from_object",
    "unit_info",
    "unit_iri",
    "unit_label",
]

_OM2_PREFIXES = (OM2, "https://www.ontology-of-units-of-measure.org/resource/om-2/", "om2:", "om:")
_ALIASES = {
    "pound": "poundAvoirdupois",
    "lb": "poundAvoirdupois",
    "lbs": "poundAvoirdupois",
    "hr": "hour",
    "hrs": "hour",
    "s": "second-Time",
    "sec": "second-Time",
}
#: Keys of a unit object, in the order they are tried.
_UNIT_OBJECT_KEYS = ("id", "symbol", "hasSymbol", "label", "prefLabel", "name")


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


@cache
def _other_spellings() -> dict[str, str]:
    """Unambiguous symbols and labels, each to its unit id."""
    by_symbol: dict[str, set[str]] = {}
    by_label: dict[str, set[str]] = {}
    for info in _table().values():
        if info.symbol:
            by_symbol.setdefault(info.symbol, set()).add(info.id)
        by_label.setdefault(info.label, set()).add(info.id)
    found: dict[str, str] = {}
    for label, ids in by_label.items():
        if len(ids) == 1:
            found[label] = next(iter(ids))
    for symbol, ids in by_symbol.items():
        plain = {unit_id for unit_id in ids if "-" not in unit_id}
        chosen = ids if len(ids) == 1 else plain
        if len(chosen) == 1:
            found[symbol] = next(iter(chosen))  # a symbol wins over a label
    return found


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
    spelled = _other_spellings().get(unit_id)
    if spelled is not None:
        return spelled
    raise UnitError(field, f"unknown unit {value!r}: not an OM2 unit id, symbol or label")


def unit_from_object(unit: Mapping[str, Any], field: str = "hasUnit") -> str:
    """The OM2 id of a unit written as an object (an ``om2:Unit`` with ``id``,
    ``symbol``, ``label``): its id when that is an OM2 unit, else its symbol, else its
    label. Raises :class:`~vocab.errors.UnitError` when none of them names a unit."""
    tried: list[str] = []
    for key in _UNIT_OBJECT_KEYS:
        value = unit.get(key)
        if isinstance(value, dict):  # a language map of labels
            value = next(iter(value.values()), None)
        if isinstance(value, str):
            if is_unit(value):
                return normalize_unit(value, field)
            tried.append(f"{key} {value!r}")
    named = ", ".join(tried) if tried else "no id, symbol or label"
    raise UnitError(field, f"the unit object names no OM2 unit ({named})")


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
