"""The common ActivityStreams fields, and generic reading and writing of typed objects.

Every typed class derives from :class:`ASObject`: the fields any object travels with
(``id``, ``attributedTo``, ``name``, ``summary``, ``content``, ``published``,
``updated``, ``to``, ``cc``, ``context``, ``url``), extra ``type`` values besides the
ValueFlows one (FEP-0837 allows ``["Proposal", "Note"]``) and ``extra``: every other
property, kept verbatim in canonical form so nothing a peer sent is silently lost.

Rules are checked in ``_validate`` when an object is built, whether it was read or
made by oce, so nothing invalid is ever written either.
"""

# prop() returns dataclasses.field(...); ruff cannot see that.
# ruff: noqa: RUF009

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from vocab.errors import InvalidObject, VocabError
from vocab.objects.fields import (
    DATETIME,
    IRI,
    IRIS,
    TEXT,
    URLS,
    Codec,
    Prop,
    many,
    one,
    prop,
    write_many,
)

__all__ = ["ASObject", "embedded", "read_fields", "register", "write_object"]

T = TypeVar("T", bound="ASObject")

# Type name -> class, filled by @register as the class modules load.
REGISTRY: dict[str, type[ASObject]] = {}
_RESERVED = frozenset({"type", "@context"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ASObject:
    """Fields shared by every object oce reads and writes."""

    TYPE: ClassVar[str] = ""
    # Properties a FEP marks REQUIRED for this class, checked by _validate.
    ID_REQUIRED: ClassVar[bool] = True

    id: str | None = prop("id", IRI)
    attributed_to: str | None = prop("attributedTo", IRI)
    name: str | None = prop("name", TEXT)
    summary: str | None = prop("summary", TEXT)
    content: str | None = prop("content", TEXT)
    published: datetime | None = prop("published", DATETIME)
    updated: datetime | None = prop("updated", DATETIME)
    to: tuple[str, ...] = prop("to", IRIS)
    cc: tuple[str, ...] = prop("cc", IRIS)
    context: str | None = prop("context", IRI)
    url: tuple[str | Mapping[str, Any], ...] = prop("url", URLS)
    other_types: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        clash = set(self.extra) & (_wire_names(type(self)) | _RESERVED)
        if clash:
            name = sorted(clash)[0]
            raise InvalidObject(f"/{name}", "is a declared property; it cannot go in extra")
        if self.ID_REQUIRED and not self.id:
            raise InvalidObject("/id", f"missing: a {self.TYPE} needs an id")
        self._validate()

    def _validate(self) -> None:
        """Check the class's rules; raise InvalidObject with a pointer into the object."""


def register(cls: type[T]) -> type[T]:
    """Class decorator: make ``cls`` the class read for its ``TYPE``."""
    REGISTRY[cls.TYPE] = cls
    return cls


_PROPS: dict[type[ASObject], tuple[tuple[str, Prop], ...]] = {}
_WIRE: dict[type[ASObject], frozenset[str]] = {}


def _props(cls: type[ASObject]) -> tuple[tuple[str, Prop], ...]:
    found = _PROPS.get(cls)
    if found is None:
        found = tuple((f.name, f.metadata["prop"]) for f in fields(cls) if "prop" in f.metadata)
        _PROPS[cls] = found
    return found


def _wire_names(cls: type[ASObject]) -> frozenset[str]:
    found = _WIRE.get(cls)
    if found is None:
        found = frozenset(p.wire for _name, p in _props(cls))
        _WIRE[cls] = found
    return found


def read_fields(
    cls: type[T], data: Mapping[str, Any], path: str, other_types: tuple[str, ...]
) -> T:
    """Build ``cls`` from canonical JSON; errors carry pointers under ``path``."""
    values: dict[str, Any] = {}
    for name, spec in _props(cls):
        # In JSON-LD an empty array is no value: Bonfire writes "context": [].
        if spec.wire in data and (spec.codec.many or data[spec.wire] != []):
            values[name] = spec.codec.read(data[spec.wire], f"{path}/{spec.wire}")
        elif spec.required:
            raise InvalidObject(f"{path}/{spec.wire}", f"missing: a {cls.TYPE} needs it")
    wire = _wire_names(cls)
    extra = {k: v for k, v in data.items() if k not in wire and k not in _RESERVED}
    try:
        return cls(**values, other_types=other_types, extra=extra)
    except VocabError as error:
        raise error.at(path) from None


def write_object(obj: ASObject) -> dict[str, Any]:
    """Write ``obj`` in canonical compact form (no ``@context``)."""
    kind = type(obj).TYPE
    result: dict[str, Any] = {"type": [kind, *obj.other_types] if obj.other_types else kind}
    for name, spec in _props(type(obj)):
        value = getattr(obj, name)
        if value is None or value == () or (value is False and not spec.always):
            continue
        result[spec.wire] = spec.codec.write(value)
    result.update(obj.extra)
    return result


def read_typed(data: Mapping[str, Any], path: str, allowed: tuple[str, ...] = ()) -> ASObject:
    """Dispatch on ``type`` to the registered class (optionally only ``allowed`` ones)."""
    if not isinstance(data, Mapping):
        raise InvalidObject(path, "must be an object")
    names = [str(n) for n in many(data.get("type", []))]
    known = [n for n in names if n in REGISTRY]
    if len(known) > 1:
        raise InvalidObject(f"{path}/type", f"names two ValueFlows classes: {known}")
    if not names and allowed:
        known = [allowed[0]]  # an embedded object without type: the expected class
    if not known or (allowed and known[0] not in allowed):
        expected = " or ".join(allowed) if allowed else "a ValueFlows type oce reads"
        shown = names[0] if len(names) == 1 else names
        raise InvalidObject(f"{path}/type", f"{shown!r} is not {expected}")
    kind = known[0]
    other = tuple(n for n in names if n != kind)
    return read_fields(REGISTRY[kind], data, path, other)


def embedded(*kinds: str, multiple: bool = True) -> Codec:
    """A property whose values are references (ids) or embedded objects of ``kinds``."""

    def read_value(value: Any, path: str) -> Any:
        if isinstance(value, str) and value:
            return value
        if isinstance(value, Mapping):
            return read_typed(value, path, kinds)
        raise InvalidObject(path, f"must be an id or an embedded {' or '.join(kinds)}")

    def write_value(value: Any) -> Any:
        return value if isinstance(value, str) else write_object(value)

    if not multiple:
        return Codec("embedded", lambda v, p: read_value(one(v, p), p), write_value, many=False)

    def read_many(value: Any, path: str) -> tuple[Any, ...]:
        values = many(value)
        if len(values) == 1:
            return (read_value(values[0], path),)
        return tuple(read_value(v, f"{path}/{i}") for i, v in enumerate(values))

    return Codec("embedded", read_many, lambda values: write_many(values, write_value), many=True)
