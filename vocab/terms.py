"""Canonical names: which compact name oce gives each IRI, and which names are guarded.

The canonical compact form names every property and type by the term our outgoing
context (ActivityStreams, then the oce context) gives its IRI, so a document means the
same thing to oce whatever names its own context used. The tables are computed from
the bundled contexts on first use.

Aliases (read, never written):

* ValueFlows IRIs in the legacy namespaces, or written ``vf:x`` / ``ValueFlows:x``
  with the prefix undefined, name the VF 1.0 term of the same local name;
* ``om2:hasUnit`` and ``om2:hasNumericalValue`` (the FEP documents' choice) are
  ``hasUnit`` and ``hasNumericalValue``;
* ``vf:stiplulates``, a misspelling in FEP-0837's own ``Accept`` example, is
  ``stipulates``;
* ``vf:Person`` and ``vf:Organization`` are the ActivityStreams actor types;
* ``http://www.w3.org/ns/activitystreams#x`` is the https IRI;
* a term the document never defined (ActivityStreams' ``"@vocab": "_:"`` makes it
  ``_:name``) is read by its name, so an undefined ``fulfills`` still means
  ``fulfills``. It cannot override a defined term: a document that defines a term
  cannot also leave it undefined, and two keys meaning one functional property
  are refused by the typed layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from vocab.contexts import (
    AS_CONTEXT,
    DATA_INTEGRITY_V1,
    MULTIKEY_V1,
    OCE_CONTEXT_KEY,
    SECURITY_V1,
    bundled_context,
)
from vocab.namespaces import AS, OCE, OM2, SEC, VF, VF_LEGACY, vf_local_name

__all__ = [
    "GUARDED_NAMESPACES",
    "LANGUAGE_MAPS",
    "VALUE_KINDS",
    "canonical_name",
    "canonical_type",
    "protected_iris",
    "protected_terms",
    "vocab_valued",
]

_OM2_HTTPS = OM2.replace("http:", "https:")
_AS_HTTP = AS.replace("https:", "http:")
_VF_ALIASES = {"stiplulates": "stipulates"}
_VF_AGENT_TYPES = {"Person": "Person", "Organization": "Organization"}

# Properties whose values the canonical form rewrites, and how.
VALUE_KINDS: Mapping[str, str] = {
    "action": "action",
    "purpose": "purpose",
    "hasUnit": "unit",
    "unitOfEffort": "unit",
    "defaultUnitOfResource": "unit",
    "defaultUnitOfEffort": "unit",
    "hasNumericalValue": "decimal",
}

# Language-tagged values of these properties compact into their "...Map" term.
LANGUAGE_MAPS: Mapping[str, str] = {
    "content": "contentMap",
    "name": "nameMap",
    "summary": "summaryMap",
}

# The key and proof terms signature checks read; redefining them could make a naive
# reader and a JSON-LD reader disagree on whose key it is. (Other security terms are
# left alone: Mastodon's context redefines some, such as EncryptedMessage.)
_GUARDED_SECURITY_TERMS = (
    "publicKey",
    "publicKeyPem",
    "owner",
    "controller",
    "publicKeyMultibase",
    "proof",
    "proofValue",
    "proofPurpose",
    "verificationMethod",
    "cryptosuite",
    "assertionMethod",
)

# A prefix may name one of these namespaces, never a point inside one (see activecontext).
GUARDED_NAMESPACES = (VF, *VF_LEGACY, AS, OM2, _OM2_HTTPS, OCE, SEC)


@dataclass(frozen=True, slots=True)
class _Tables:
    names: dict[str, str]  # IRI -> canonical name
    vocab_valued: frozenset[str]  # properties whose values are vocabulary terms
    protected: dict[str, tuple[str, ...]]  # term -> IRIs an inline context may give it


def _definitions(document: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten a bundled context document into its term definitions, scoped ones too."""
    found: dict[str, Any] = {}
    contexts = document["@context"]
    stack = list(contexts) if isinstance(contexts, list) else [contexts]
    while stack:
        context = stack.pop(0)
        if not isinstance(context, dict):
            continue
        for term, value in context.items():
            if term.startswith("@"):
                continue
            found.setdefault(term, value)
            if isinstance(value, dict) and isinstance(value.get("@context"), dict):
                stack.append(value["@context"])
    return found


def _resolve(value: str, prefixes: Mapping[str, str]) -> str:
    prefix, colon, suffix = value.partition(":")
    if colon and not suffix.startswith("//") and prefix in prefixes:
        return prefixes[prefix] + suffix
    return value


def _term_iris(document: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """Map each term of a bundled context to (IRI, definition)."""
    definitions = _definitions(document)
    prefixes = {
        t: v for t, v in definitions.items() if isinstance(v, str) and v.endswith(("#", "/"))
    }
    result: dict[str, tuple[str, Any]] = {}
    for term, value in definitions.items():
        iri = value if isinstance(value, str) else value.get("@id")
        if isinstance(iri, str):
            result[term] = (_resolve(iri, prefixes), value)
    return result


def _is_map_or_list(definition: Any) -> bool:
    return isinstance(definition, dict) and definition.get("@container") in ("@list", "@language")


@cache
def _tables() -> _Tables:
    oce = _term_iris(bundled_context(OCE_CONTEXT_KEY))
    activitystreams = _term_iris(bundled_context(AS_CONTEXT))
    security: dict[str, tuple[str, Any]] = {}
    for url in (SECURITY_V1, MULTIKEY_V1, DATA_INTEGRITY_V1):
        for term, entry in _term_iris(bundled_context(url)).items():
            security.setdefault(term, entry)

    names: dict[str, str] = {}
    # Earlier tables win: oce, then ActivityStreams, then the security vocabularies.
    for table in (oce, activitystreams, security):
        for term, (iri, definition) in table.items():
            if iri.startswith("@") or iri.endswith(("#", "/")) or _is_map_or_list(definition):
                continue
            names.setdefault(iri, term)

    # The IRI our contexts give comes first; the rest are accepted aliases.
    protected: dict[str, tuple[str, ...]] = {}
    for term, (iri, _definition) in activitystreams.items():
        protected[term] = (iri,)
    for term, (iri, _definition) in oce.items():
        accepted = [iri]
        local = vf_local_name(iri) if iri.startswith(VF) else None
        if local is not None:
            accepted += [namespace + local for namespace in VF_LEGACY]
        if term in ("hasUnit", "hasNumericalValue"):
            accepted += [OM2 + term, _OM2_HTTPS + term]
        protected[term] = tuple(accepted)
    protected["vf"] = (VF, *VF_LEGACY)
    protected["om2"] = (OM2, _OM2_HTTPS)
    for term in _GUARDED_SECURITY_TERMS:
        protected[term] = (security[term][0],)
    vocab_valued = frozenset(
        term
        for table in (oce, activitystreams, security)
        for term, (_iri, definition) in table.items()
        if isinstance(definition, dict) and definition.get("@type") == "@vocab"
    )
    return _Tables(names, vocab_valued, protected)


def vocab_valued() -> frozenset[str]:
    """Properties whose values are vocabulary terms (``@type: @vocab``): ``proofPurpose``…"""
    return _tables().vocab_valued


def protected_terms() -> Mapping[str, tuple[str, ...]]:
    """Term names an inline context may define only as oce does (see activecontext)."""
    return _tables().protected


@cache
def protected_iris() -> Mapping[str, tuple[str, ...]]:
    """The ActivityStreams and security IRIs protected terms stand for (namespaces
    aside), with the names that may stand for each: an inline context may give no other
    name to one of them, since the inbox's first checks read them by name (``object``,
    ``attributedTo``, ``publicKey``…). ValueFlows terms may have new names: nothing
    reads them before normalization."""
    found: dict[str, list[str]] = {}
    for term, accepted in _tables().protected.items():
        for iri in accepted:
            if (
                not iri.startswith("@")
                and not iri.endswith(("#", "/"))
                and vf_local_name(iri) is None
                and not iri.startswith((OM2, _OM2_HTTPS))
            ):
                found.setdefault(iri, []).append(term)
    return {iri: tuple(names) for iri, names in found.items()}


def _alias(iri: str) -> str | None:
    tables = _tables()
    local = vf_local_name(iri)
    if local is not None:
        local = _VF_ALIASES.get(local, local)
        name = tables.names.get(VF + local)
        return name if name is not None else VF + local
    for namespace in (OM2, _OM2_HTTPS):
        if iri.startswith(namespace) and iri[len(namespace) :] in ("hasUnit", "hasNumericalValue"):
            return iri[len(namespace) :]
    if iri.startswith(_AS_HTTP):
        iri = AS + iri[len(_AS_HTTP) :]
        return tables.names.get(iri, iri)
    return None


@lru_cache(maxsize=4096)
def canonical_name(iri: str) -> str:
    """Return the canonical compact key for an expanded property IRI."""
    tables = _tables()
    name = tables.names.get(iri)
    if name is not None:
        return name
    alias = _alias(iri)
    if alias is not None:
        return alias
    if iri.startswith("_:"):
        # ActivityStreams' "@vocab": "_:" turns a term the document left undefined into a
        # blank-node IRI. Read it by its name: the FEP examples use VF terms their own
        # contexts forget to define (FEP-3264's event uses "fulfills" that way).
        return iri[2:]
    if iri.startswith(AS):
        return "as:" + iri[len(AS) :]
    return iri


@lru_cache(maxsize=1024)
def canonical_type(iri: str) -> str:
    """Return the canonical compact name for an expanded type IRI."""
    local = vf_local_name(iri)
    if local in _VF_AGENT_TYPES:
        return _VF_AGENT_TYPES[local]
    return canonical_name(iri)
