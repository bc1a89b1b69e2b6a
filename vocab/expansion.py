"""JSON-LD expansion: a fast path for the documents we meet, pyld for the rest.

Most inbound documents use only ActivityStreams, the oce context and small inline
contexts of plain term definitions (the FEP examples), or are already fully expanded.
For those, :func:`expand` walks the document once with cached contexts and produces
exactly what ``pyld.jsonld.expand`` would (``tests/vocab/test_expansion.py`` checks
that on every fixture). Anything beyond that subset (scoped contexts, language maps,
``@reverse``, ``@graph``, ``@base``…) makes the fast path step aside: every context in
the document is then run through the guard of :mod:`vocab.activecontext` and pyld
expands it with :func:`vocab.contexts.document_loader`, so nothing is ever fetched.
pyld's errors become :class:`~vocab.errors.ContextError` here and never leak.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from vocab.activecontext import (
    ActiveContext,
    Term,
    expand_iri,
    initial_context,
    is_absolute_iri,
    process_context,
)
from vocab.contexts import document_loader
from vocab.errors import ContextError, VocabError

__all__ = ["expand", "guard_contexts"]


_MEMO_SIZE = 4096


class _Unsupported(Exception):
    """The document needs JSON-LD features the fast path leaves to pyld."""


def expand(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Expand a JSON-LD document (never fetching anything), as pyld's ``expand`` does."""
    try:
        node = _element(initial_context(), document)
    except _Unsupported:
        return _expand_with_pyld(document)
    if not node or (len(node) == 1 and "@id" in node):
        return []  # JSON-LD drops a top-level object that says nothing
    return [node]


def _key(context: ActiveContext, key: str) -> tuple[str | None, Term | None]:
    memo = context.memo.get(key)
    if memo is None:
        iri = expand_iri(context, key, vocab=True)
        if iri is not None and not iri.startswith("@") and not is_absolute_iri(iri):
            iri = None  # a key that is neither keyword nor IRI is dropped
        memo = (iri, context.terms.get(key))
        if len(context.memo) < _MEMO_SIZE:  # keys are the sender's choice: stay bounded
            context.memo[key] = memo
    return memo


def _element(
    context: ActiveContext, element: Mapping[str, Any], owner: Term | None = None
) -> dict[str, Any]:
    """Expand a node, value or list object; ``owner`` is the term whose value it is."""
    if "@context" in element:  # null is a context too: it resets to the initial one
        context = process_context(context, element["@context"])
    if not context.fast:
        raise _Unsupported
    keys = [(key, *_key(context, key)) for key in sorted(element) if key != "@context"]
    if any(iri in ("@value", "@list", "@set") for _key_, iri, _term in keys):
        return _value_or_list(context, element, keys, owner)
    result: dict[str, Any] = {}
    for key, iri, term in keys:
        if iri is None:
            continue
        value = element[key]
        if iri == "@id":
            if not isinstance(value, str) or "@id" in result:
                raise _Unsupported  # pyld reports colliding or invalid ids
            result["@id"] = expand_iri(context, value, vocab=False)
        elif iri == "@type":
            types = _types(context, value)
            if types:  # pyld drops an empty @type
                result.setdefault("@type", []).extend(types)
        elif iri.startswith("@"):
            raise _Unsupported
        else:
            if term is not None and not term.simple:
                raise _Unsupported
            values = _property(context, term, value)
            if values is not None:
                result.setdefault(iri, []).extend(values)
    return result


def _types(context: ActiveContext, value: Any) -> list[str]:
    names = value if isinstance(value, list) else [value]
    types: list[str] = []
    for name in names:
        if not isinstance(name, str):
            raise _Unsupported
        term = context.terms.get(name)
        if term is not None and not term.simple:
            raise _Unsupported  # a type-scoped context
        iri = expand_iri(context, name, vocab=True)
        if iri is None:
            raise _Unsupported
        types.append(iri)
    return types


def _value_or_list(
    context: ActiveContext,
    element: Mapping[str, Any],
    keys: list[tuple[str, str | None, Term | None]],
    owner: Term | None,
) -> dict[str, Any]:
    kinds = {iri: key for key, iri, _term in keys}
    if len(kinds) != len(keys):
        raise _Unsupported  # two keys for one keyword
    if "@list" in kinds and len(kinds) == 1:
        items = element[kinds["@list"]]
        if owner is not None and owner.container == "@list":
            raise _Unsupported  # a list inside a list container
        values = items if isinstance(items, list) else [items]
        return {"@list": _items(context, owner, values)}
    if "@value" not in kinds or not set(kinds) <= {"@value", "@type", "@language"}:
        raise _Unsupported
    value = element[kinds["@value"]]
    if isinstance(value, (dict, list)) or ("@type" in kinds and "@language" in kinds):
        raise _Unsupported
    result: dict[str, Any] = {"@value": value}
    if "@type" in kinds:
        datatype = element[kinds["@type"]]
        if not isinstance(datatype, str):
            raise _Unsupported
        result["@type"] = expand_iri(context, datatype, vocab=True)
    if "@language" in kinds:
        language = element[kinds["@language"]]
        if not isinstance(language, str) or not isinstance(value, str):
            raise _Unsupported
        result["@language"] = language.lower()
    return result


def _property(context: ActiveContext, term: Term | None, value: Any) -> list[Any] | None:
    if value is None:
        return None
    container = term.container if term is not None else None
    if isinstance(value, list):
        items = _items(context, term, value)
        return [{"@list": items}] if container == "@list" else items
    item = _item(context, term, value)
    if item is None:
        return None  # pyld drops the property, even for a list container
    return [{"@list": [item]}] if container == "@list" else [item]


def _items(context: ActiveContext, term: Term | None, values: list[Any]) -> list[Any]:
    items = []
    for value in values:
        if isinstance(value, list):
            raise _Unsupported  # nested arrays: JSON-LD 1.1 list-of-lists rules
        item = _item(context, term, value)
        if item is not None:
            items.append(item)
    return items


def _item(context: ActiveContext, term: Term | None, value: Any) -> dict[str, Any] | None:
    if isinstance(value, (dict, Mapping)):  # dict first: exact, no ABC check
        element = _element(context, value, term)
        if "@value" in element and element["@value"] is None:
            return None
        return element
    coerce = term.coerce if term is not None else None
    if isinstance(value, str):
        if coerce == "@id":
            return {"@id": expand_iri(context, value, vocab=False)}
        if coerce == "@vocab":
            return {"@id": expand_iri(context, value, vocab=True)}
    elif not isinstance(value, (bool, int, Decimal, float)):
        raise _Unsupported
    if coerce is None or coerce in ("@id", "@vocab", "@none"):
        return {"@value": value}
    return {"@value": value, "@type": coerce}


def guard_contexts(document: Any) -> None:
    """Run the context guard over every ``@context`` of the document, nested ones too."""
    stack: list[tuple[ActiveContext, Any]] = [(initial_context(), document)]
    containers = (dict, list, Mapping)  # dict first: exact, no ABC check
    while stack:
        context, value = stack.pop()
        if isinstance(value, list):
            stack.extend((context, v) for v in value if isinstance(v, containers))
        elif isinstance(value, (dict, Mapping)):
            if "@context" in value:
                context = process_context(context, value["@context"])
            stack.extend(
                (context, v)
                for k, v in value.items()
                if k != "@context" and isinstance(v, containers)
            )


def _expand_with_pyld(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    guard_contexts(document)
    # pyld takes a fifth of a second to import: only documents that need it pay.
    from pyld import jsonld

    try:
        expanded: list[dict[str, Any]] = jsonld.expand(
            dict(document), {"documentLoader": document_loader, "base": None}
        )
    except Exception as error:  # pyld raises JsonLdError, and more on odd input
        cause: BaseException | None = error
        while cause is not None:
            if isinstance(cause, VocabError):
                raise cause from None
            cause = cause.__cause__ or cause.__context__
        message = getattr(error, "message", None) or str(error) or type(error).__name__
        raise ContextError("@context", f"JSON-LD processing failed: {message}") from None
    return expanded
