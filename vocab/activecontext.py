"""JSON-LD context processing for the fast path, with oce's guard against poisoning.

:func:`process_context` folds a document's ``@context`` into an :class:`ActiveContext`
(term -> IRI, type coercion, container). Results are cached, so a context seen before
costs one dictionary lookup. Definitions outside the subset the fast expander handles
(scoped contexts, language maps, ``@reverse``…) are marked, and a document that uses
them is expanded by pyld instead; the guard below runs on every definition either way.

**The guard.** JSON-LD lets a document redefine any term, which would let a peer send
``{"provider": "vf:receiver", "receiver": "vf:provider"}`` and swap who gives and who
receives. oce refuses, with a :class:`~vocab.errors.ContextError` naming the term:

* an inline context that defines an ActivityStreams or oce term name (``provider``,
  ``Intent``, ``transfer``, ``actor``, ``id``, the ``vf`` prefix…) or one of the key
  and proof terms signatures rely on (``publicKey``, ``owner``, ``controller``,
  ``proof``…) as anything but the IRI our contexts give it (or an accepted alias:
  legacy VF namespaces, ``om2:`` for ``hasUnit``), as ``null``, or as a reverse
  property. A peer's document that reads one way to a plain-JSON reader and another
  way to a JSON-LD reader is refused, rather than read either way;
* a second name for a JSON-LD keyword (``{"pid": "@id"}``) or for the IRI of an
  ActivityStreams or security term (``{"obj": "as:object"}``): a plain-JSON reader sees no
  ``id`` or ``object`` where a JSON-LD reader sees one. Refused with
  :class:`~vocab.errors.AliasError`, which no reader falls back from;
* a prefix that points inside a guarded namespace (ValueFlows, ActivityStreams, OM2,
  oce, security) instead of at the namespace itself, because ``x:r`` with
  ``x = vf#provide`` could otherwise be re-pointed by a nested context;
* a remote context or ``@import``: only bundled contexts are known.

Scoped contexts inside term definitions are checked when they are defined, against the
context they are defined in.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vocab.contexts import bundled_context, context_key
from vocab.errors import AliasError, ContextError
from vocab.terms import GUARDED_NAMESPACES, protected_iris, protected_terms

__all__ = ["ActiveContext", "Term", "expand_iri", "initial_context", "process_context"]

_ABSOLUTE_IRI = re.compile(r"^([A-Za-z][A-Za-z0-9+\-.]*|_):[^\s]*$")
_KEYWORD_FORM = re.compile(r"^@[a-zA-Z]+$")
_GEN_DELIMS = (":", "/", "?", "#", "[", "]", "@")
_KEYWORDS = frozenset({
    "@base", "@container", "@context", "@direction", "@graph", "@id", "@import", "@included",
    "@index", "@json", "@language", "@list", "@nest", "@none", "@prefix", "@propagate",
    "@protected", "@reverse", "@set", "@type", "@value", "@version", "@vocab",
})  # fmt: skip
_SERIAL = itertools.count(1)
_CACHE: dict[tuple[int, str], ActiveContext] = {}
_CACHE_SIZE = 1024


def is_absolute_iri(value: str) -> bool:
    """The test pyld uses: a scheme (or ``_`` for blank nodes) and a colon."""
    return _ABSOLUTE_IRI.match(value) is not None


@dataclass(frozen=True, slots=True)
class Term:
    """One term definition."""

    iri: str  # absolute IRI, blank node IRI, or the keyword it aliases
    coerce: str | None = None  # "@id", "@vocab", "@none", a datatype IRI, or None
    container: str | None = None  # "@list", "@set" or None
    prefix: bool = False  # may be used as the prefix of a compact IRI
    simple: bool = True  # within the fast expander's subset


@dataclass(frozen=True, slots=True)
class ActiveContext:
    """The result of processing contexts: immutable, shared through the cache."""

    terms: Mapping[str, Term | None]
    vocab: str | None
    fast: bool  # no setting outside the fast expander's subset
    serial: int
    # Per-context memo of key expansions, filled by the expander (compare=False: a cache).
    memo: dict[str, tuple[str | None, Term | None]] = field(default_factory=dict, compare=False)


def initial_context() -> ActiveContext:
    """The empty context a document without ``@context`` is read with."""
    return _INITIAL


_INITIAL = ActiveContext({}, None, True, 0)


def context_cache_key(local: Any) -> str:
    """A stable text key for a ``@context`` value."""
    if isinstance(local, str):
        return "url:" + (context_key(local) or local)
    # Peers repeat their context verbatim, so key order need not be normalized.
    return json.dumps(local, separators=(",", ":"), default=repr)


def process_context(active: ActiveContext, local: Any, key: str | None = None) -> ActiveContext:
    """Fold a ``@context`` value (URL, object, null or list of them) into ``active``."""
    if key is None:
        key = context_cache_key(local)
    cached = _CACHE.get((active.serial, key))
    if cached is not None:
        return cached
    result = _process(active, local)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.clear()
    _CACHE[(active.serial, key)] = result
    return result


def _process(active: ActiveContext, local: Any) -> ActiveContext:
    for entry in local if isinstance(local, list) else [local]:
        if entry is None:
            active = _INITIAL
        elif isinstance(entry, str):
            active = _bundled(active, entry)
        elif isinstance(entry, dict):
            active = _Definer(active, entry, trusted=False).run()
        else:
            raise ContextError("@context", f"a context must be a URL or an object, not {entry!r}")
    return active


def _bundled(active: ActiveContext, url: str) -> ActiveContext:
    key = context_key(url)
    cache_key = "bundled:" + str(key)
    cached = _CACHE.get((active.serial, cache_key))
    if cached is not None:
        return cached
    document = bundled_context(url)  # raises ContextError for anything not bundled
    result = active
    contexts = document["@context"]
    for entry in contexts if isinstance(contexts, list) else [contexts]:
        if isinstance(entry, dict):
            result = _Definer(result, entry, trusted=True).run()
        else:
            result = _bundled(result, entry)
    _CACHE[(active.serial, cache_key)] = result
    return result


def expand_iri(context: ActiveContext, value: str, *, vocab: bool) -> str | None:
    """Expand a term, compact IRI or IRI as JSON-LD does (no base: relative stays)."""
    if value in _KEYWORDS:
        return value
    if _KEYWORD_FORM.match(value):
        return None
    if vocab and value in context.terms:
        term = context.terms[value]
        return None if term is None else term.iri
    prefix, colon, suffix = value.partition(":")
    if colon and prefix:
        if prefix == "_" or suffix.startswith("//"):
            return value
        term = context.terms.get(prefix)
        if term is not None and term.prefix:
            return term.iri + suffix
        if is_absolute_iri(value):
            return value
    if vocab and context.vocab is not None:
        return context.vocab + value
    return value


class _Definer:
    """Creates the term definitions of one local context (JSON-LD 1.1, 4.2)."""

    def __init__(self, active: ActiveContext, local: dict[str, Any], *, trusted: bool) -> None:
        self.local = local
        self.trusted = trusted
        self.terms: dict[str, Term | None] = dict(active.terms)
        self.vocab = active.vocab
        self.fast = active.fast
        self.defined: dict[str, bool] = {}

    def run(self) -> ActiveContext:
        for keyword, value in self.local.items():
            if keyword.startswith("@"):
                self._setting(keyword, value)
        for term in self.local:
            if not term.startswith("@"):
                self._define(term)
        return ActiveContext(self.terms, self.vocab, self.fast, next(_SERIAL))

    def _setting(self, keyword: str, value: Any) -> None:
        if keyword == "@version":
            return
        if keyword == "@vocab":
            if value is None:
                self.vocab = None
            elif isinstance(value, str) and (value == "_:" or is_absolute_iri(value)):
                self.vocab = value
            else:
                self.fast = False
            return
        if keyword == "@import" and (not isinstance(value, str) or context_key(value) is None):
            raise ContextError(
                "@context/@import", f"remote context {value!r} is not one oce bundles"
            )
        # @base, @language, @direction, @propagate, @protected, @import: pyld's job.
        self.fast = False

    def _expand(self, value: str, *, vocab: bool) -> str | None:
        """expand_iri during definition: terms of this local context may be used first."""
        if value in self.local and not value.startswith("@") and not self.defined.get(value):
            self._define(value)
        prefix, colon, _suffix = value.partition(":")
        if colon and prefix in self.local and not self.defined.get(prefix):
            self._define(prefix)
        return expand_iri(self._snapshot(), value, vocab=vocab)

    def _snapshot(self) -> ActiveContext:
        return ActiveContext(self.terms, self.vocab, self.fast, -1)

    def _define(self, term: str) -> None:
        state = self.defined.get(term)
        if state is True:
            return
        if state is False:
            raise ContextError(f"@context/{term}", "the definition is cyclic")
        self.defined[term] = False
        definition = self.local[term]
        if definition is None or (
            isinstance(definition, dict) and definition.get("@id", 1) is None
        ):
            self._guard(term, None, reverse=False)
            self.terms[term] = None
        else:
            self.terms[term] = self._make(term, definition)
        self.defined[term] = True

    def _make(self, term: str, definition: Any) -> Term:
        where = f"@context/{term}"
        if isinstance(definition, str):
            mapping: dict[str, Any] = {"@id": definition}
        elif isinstance(definition, dict):
            mapping = definition
        else:
            raise ContextError(where, "a term definition must be a string, an object or null")
        simple = set(mapping) <= {"@id", "@type", "@container"}
        reverse = "@reverse" in mapping
        target = mapping["@reverse"] if reverse else mapping.get("@id")
        if isinstance(target, str):
            iri = self._expand(target, vocab=True)
        elif target is None and ":" in term:
            # A compact-IRI term names its own IRI; only its prefix may need defining.
            head = term.partition(":")[0]
            if head in self.local and not self.defined.get(head):
                self._define(head)
            iri = expand_iri(self._snapshot(), term, vocab=False)
        elif target is None and self.vocab is not None:
            iri = self.vocab + term
        else:
            raise ContextError(where, "the term has no IRI")
        if iri is None or not (iri in _KEYWORDS or is_absolute_iri(iri)):
            raise ContextError(where, f"{target!r} does not expand to an IRI")
        if iri.startswith("@") and iri not in ("@id", "@type"):
            simple = False
        if ":" in term or "/" in term or not term:
            simple = False  # JSON-LD's compact-IRI-term consistency rules: pyld's job
        coerce = mapping.get("@type")
        if coerce is not None:
            if not isinstance(coerce, str):
                raise ContextError(where, "@type must be a string")
            if coerce not in ("@id", "@vocab", "@none"):
                if coerce == "@json":
                    simple = False
                else:
                    expanded = self._expand(coerce, vocab=True)
                    if expanded is None or not is_absolute_iri(expanded):
                        raise ContextError(where, f"@type {coerce!r} is not an IRI")
                    coerce = expanded
        container = mapping.get("@container")
        if isinstance(container, list) and len(container) == 1:
            container = container[0]
        if container not in (None, "@list", "@set"):
            simple = False
            container = None
        if "@prefix" in mapping:
            prefix = mapping["@prefix"] is True
        else:
            prefix = (
                isinstance(self.local[term], str)
                and ":" not in term
                and (iri.startswith("_:") or iri.endswith(_GEN_DELIMS))
            )
        self._guard(term, iri, reverse=reverse, prefix=prefix)
        scoped = mapping.get("@context")
        if scoped is not None and not self.trusted:
            _check_scoped(self._snapshot(), scoped, where)
        simple = simple and not reverse
        if not simple and not self.trusted:
            # pyld validates such definitions even when the document never uses them;
            # let it see the whole document so both paths accept and refuse alike.
            self.fast = False
        return Term(iri, coerce, container, prefix, simple)

    def _guard(self, term: str, iri: str | None, *, reverse: bool, prefix: bool = False) -> None:
        if self.trusted:
            return
        accepted = protected_terms().get(term)
        if iri is not None and iri in _KEYWORDS and (accepted is None or iri not in accepted):
            raise AliasError(
                f"@context/{term}",
                f"the document's context makes {term!r} a second name for the keyword {iri}",
            )
        if accepted is None and iri is not None and (names := protected_iris().get(iri)):
            raise AliasError(
                f"@context/{term}",
                f"the document's context makes {term!r} a second name for {iri}, which oce "
                f"reads only as {names[0]!r}",
            )
        if accepted is not None and (reverse or iri not in accepted):
            meaning = "a reverse property" if reverse else ("nothing" if iri is None else iri)
            expected = accepted[0]
            raise ContextError(
                f"@context/{term}",
                f"the document's context redefines {term!r} as {meaning}; oce reads "
                f"{term!r} only as {expected}",
            )
        if prefix and iri is not None and iri not in GUARDED_NAMESPACES:
            for namespace in GUARDED_NAMESPACES:
                if iri.startswith(namespace) and iri != namespace:
                    raise ContextError(
                        f"@context/{term}",
                        f"prefix {term!r} points inside the namespace {namespace}",
                    )


def _check_scoped(active: ActiveContext, scoped: Any, where: str) -> None:
    """Run the guard over a scoped context; its result is pyld's to use, not ours."""
    try:
        _process(active, scoped)
    except ContextError as error:
        raise type(error)(where + "/@context/" + error.field.split("/")[-1], error.reason) from None
