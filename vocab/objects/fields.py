"""How one property travels: a codec per kind of value, declared on dataclass fields.

Each typed class declares its properties once, with :func:`prop`: the JSON name as
ValueFlows or ActivityStreams spells it and the codec that reads and writes it. The
generic :func:`read_fields` and :func:`write_fields` in :mod:`vocab.objects.base` then
parse and write every class the same way, which is what keeps ``read(write(x)) == x``.

Reading expects the canonical compact form (:func:`vocab.reader.normalize`), but the
codecs accept the usual variations within it: one value or an array of one, an
embedded object where a reference will do (its ``id`` is kept).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from vocab.actions import get_action
from vocab.errors import InvalidObject
from vocab.quantity import Measure
from vocab.units import normalize_unit

__all__ = [
    "BOOL",
    "DATETIME",
    "IRI",
    "IRIS",
    "MEASURE",
    "TEXT",
    "TEXTS",
    "UNIT",
    "URLS",
    "Codec",
    "Prop",
    "prop",
]


@dataclass(frozen=True, slots=True)
class Codec:
    """Reads a canonical JSON value into Python and writes it back."""

    name: str
    read: Callable[[Any, str], Any]
    write: Callable[[Any], Any]
    many: bool = False  # the attribute is a tuple; several JSON values are allowed


@dataclass(frozen=True, slots=True)
class Prop:
    """Field metadata: the JSON name, the codec, and whether the property must appear."""

    wire: str
    codec: Codec
    required: bool = False
    always: bool = False  # written even when it has its default value


def prop(
    wire: str,
    codec: Codec,
    *,
    required: bool = False,
    always: bool = False,
    default: Any = None,
) -> Any:
    """Declare a dataclass field that travels as the JSON property ``wire``."""
    metadata = {"prop": Prop(wire, codec, required, always)}
    if required:
        return field(metadata=metadata)
    if codec.many:
        return field(default=(), metadata=metadata)
    return field(default=default, metadata=metadata)


def one(value: Any, path: str) -> Any:
    """The single value of a functional property (an array of one is that value)."""
    if isinstance(value, list):
        if len(value) != 1:
            raise InvalidObject(path, f"has {len(value)} values; it takes exactly one")
        return value[0]
    return value


def many(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def write_many(values: tuple[Any, ...], write: Callable[[Any], Any]) -> Any:
    """Arrays of one are written as the value, as JSON-LD compaction does."""
    if len(values) == 1:
        return write(values[0])
    return [write(v) for v in values]


def _text(value: Any, path: str) -> str:
    value = one(value, path)
    if not isinstance(value, str):
        raise InvalidObject(path, f"must be a string, not {type(value).__name__}")
    return value


def _iri(value: Any, path: str) -> str:
    value = one(value, path)
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])  # an embedded object stands for its id here
    if not isinstance(value, str) or not value:
        raise InvalidObject(path, "must be an IRI (a string)")
    return value


def _datetime(value: Any, path: str) -> datetime:
    text = _text(value, path)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidObject(path, f"{text!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        # VF's range is xsd:dateTimeStamp: the timezone is required.
        raise InvalidObject(path, f"{text!r} has no timezone")
    return moment


def write_datetime(moment: datetime) -> str:
    """Write a moment as UTC ISO 8601 with a Z, the one form oce sends."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def _bool(value: Any, path: str) -> bool:
    value = one(value, path)
    if not isinstance(value, bool):
        raise InvalidObject(path, f"must be true or false, not {value!r}")
    return value


def _measure(value: Any, path: str) -> Measure:
    return Measure.parse(one(value, path), path)


def _unit(value: Any, path: str) -> str:
    return normalize_unit(_text(value, path), path)


def _action(value: Any, path: str) -> str:
    return get_action(_text(value, path), path).name


def _url(value: Any, path: str) -> str | Mapping[str, Any]:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping):
        return dict(value)  # a Link object, kept as it came
    raise InvalidObject(path, "must be a URL or a Link object")


def _identity(value: Any) -> Any:
    return value


def _tuple_of(read: Callable[[Any, str], Any]) -> Callable[[Any, str], tuple[Any, ...]]:
    def read_many(value: Any, path: str) -> tuple[Any, ...]:
        values = many(value)
        if len(values) == 1:
            return (read(values[0], path),)
        return tuple(read(v, f"{path}/{i}") for i, v in enumerate(values))

    return read_many


def _many_writer(write: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda values: write_many(values, write)


TEXT = Codec("text", _text, _identity)
TEXTS = Codec("texts", _tuple_of(_text), _many_writer(_identity), many=True)
IRI = Codec("iri", _iri, _identity)
IRIS = Codec("iris", _tuple_of(_iri), _many_writer(_identity), many=True)
DATETIME = Codec("datetime", _datetime, write_datetime)
BOOL = Codec("bool", _bool, _identity)
MEASURE = Codec("measure", _measure, lambda m: m.to_json())
UNIT = Codec("unit", _unit, _identity)
ACTION = Codec("action", _action, _identity)
URLS = Codec("urls", _tuple_of(_url), _many_writer(_identity), many=True)
