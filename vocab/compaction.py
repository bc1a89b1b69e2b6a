"""From expanded JSON-LD to oce's canonical compact form.

Unlike JSON-LD compaction, the result does not depend on how the sender typed its
values: the key is chosen from the property's IRI alone (:mod:`vocab.terms`), and
values become plain JSON: ``{"@id": x}`` and ``{"@value": x}`` become ``x``, datatypes
are dropped (the typed layer knows them), language-tagged ``content``/``name``/
``summary`` go to their ``...Map``. Arrays of one value become the value, except
ordered lists. ValueFlows values are canonicalized on the way: actions to camelCase
names, units to OM2 ids, ``hasNumericalValue`` to a canonical decimal string,
``purpose`` to ``offer``/``request``, and the public audience to its full IRI.
"""

from __future__ import annotations

from typing import Any

from vocab.actions import get_action
from vocab.errors import ContextError, InvalidObject, VocabError
from vocab.namespaces import PUBLIC, XSD, vf_local_name
from vocab.quantity import bare_measure, canonical_decimal, parse_decimal
from vocab.terms import LANGUAGE_MAPS, VALUE_KINDS, canonical_name, canonical_type, vocab_valued
from vocab.units import normalize_unit, unit_from_object

__all__ = ["compact"]

_PUBLIC_SPELLINGS = frozenset({PUBLIC, "as:Public", "Public"})
_MAP_KEYS = frozenset(LANGUAGE_MAPS.values())
_BOOLEAN = XSD + "boolean"


def compact(expanded: list[dict[str, Any]]) -> dict[str, Any]:
    """Compact the one node of an expanded document into canonical form."""
    if len(expanded) != 1:
        raise InvalidObject("", f"the document describes {len(expanded)} objects, not one")
    return _node(expanded[0])


# Errors are raised with a pointer relative to where they happen and prefixed while
# they travel up (VocabError.at), so the happy path builds no pointer strings.


def _node(node: dict[str, Any]) -> dict[str, Any]:
    collected: dict[str, list[Any]] = {}
    result: dict[str, Any] = {}
    vocab_props = vocab_valued()
    for prop, values in node.items():
        if prop == "@id":
            result["id"] = values
        elif prop == "@type":
            if not all(isinstance(t, str) for t in values):
                # pyld keeps a null type (``"@type": null`` beside ``type``) as None.
                raise ContextError("/type", "every type is a string")
            names = [canonical_type(t) for t in values]
            result["type"] = names[0] if len(names) == 1 else names
        elif prop == "@index":
            continue
        elif prop[0] == "@":
            raise ContextError(f"/{prop}", f"JSON-LD keyword {prop} is not supported here")
        else:
            name = canonical_name(prop)
            vocab = name in vocab_props
            i = 0
            try:
                for i, value in enumerate(values):  # noqa: B007 - i locates errors
                    key, compacted = _value(name, value, vocab)
                    if key in collected:
                        collected[key].append(compacted)
                    else:
                        collected[key] = [compacted]
            except VocabError as error:
                raise error.at(f"/{name}/{i}" if len(values) > 1 else f"/{name}") from None
            if not values:
                collected.setdefault(name, [])
    for key, items in collected.items():
        if key in _MAP_KEYS:
            merged: dict[str, Any] = {}
            for item in items:
                merged.update(item)
            result[key] = merged
        elif len(items) == 1:
            result[key] = items[0]
        else:
            result[key] = items
    return result


def _value(name: str, value: dict[str, Any], vocab: bool) -> tuple[str, Any]:
    if "@value" in value:
        literal = value["@value"]
        if len(value) > 1:
            language = value.get("@language")
            if language is not None:
                if name in LANGUAGE_MAPS:
                    return LANGUAGE_MAPS[name], {language: literal}
                return name, {"@value": literal, "@language": language}
            if value.get("@type") == _BOOLEAN and literal in ("true", "false"):
                literal = literal == "true"
        return name, _canonical(name, literal, reference=False, vocab=vocab)
    if "@id" in value and len(value) == 1:
        return name, _canonical(name, value["@id"], reference=True, vocab=vocab)
    if "@list" in value:
        items = []
        for i, item in enumerate(value["@list"]):
            try:
                items.append(_value(name, item, vocab)[1])
            except VocabError as error:
                raise error.at(f"/{i}") from None
        return ("orderedItems" if name == "items" else name), items
    if "@graph" in value:
        nodes = [_node(n) for n in value["@graph"]]
        return name, nodes[0] if len(nodes) == 1 else nodes
    if VALUE_KINDS.get(name) == "unit":
        # A unit written as an object (Bonfire's om2:Unit): its OM2 id.
        return name, unit_from_object(_node(value), "")
    return name, bare_measure(_node(value))


def _canonical(name: str, value: Any, *, reference: bool, vocab: bool) -> Any:
    kind = VALUE_KINDS.get(name)
    if kind is None:
        if reference:
            if value in _PUBLIC_SPELLINGS:
                return PUBLIC
            if vocab:
                return canonical_name(value)  # a vocabulary term, named like a key
        return value
    if kind == "decimal":
        return canonical_decimal(parse_decimal(value, ""))
    if not isinstance(value, str):
        raise InvalidObject("", f"must be a string, not {type(value).__name__}")
    # A bare word under ActivityStreams' "@vocab": "_:" arrives as a blank-node IRI.
    bare = value[2:] if value.startswith("_:") else value
    if kind == "action":
        return get_action(bare, "").name
    if kind == "unit":
        return normalize_unit(bare, "")
    # purpose: offer or request, in any ValueFlows spelling; the typed layer checks it.
    return vf_local_name(bare) or bare
