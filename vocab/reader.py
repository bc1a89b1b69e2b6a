"""Reading inbound documents: validate contexts, normalize, build typed objects.

:func:`normalize` turns any inbound ActivityStreams/ValueFlows JSON (a whole activity
with embedded objects, or a bare object) into oce's canonical compact form:

* ActivityStreams terms by their AS names (``id``, ``type``, ``actor``, ``object``,
  ``to``…); ``Public``, ``as:Public`` and the full IRI all become
  ``https://www.w3.org/ns/activitystreams#Public``;
* ValueFlows terms by their unprefixed VF 1.0 names (``provider``, ``resourceQuantity``,
  ``hasUnit``…), whatever namespace or prefix the sender used; types likewise
  (``Proposal``, never ``vf:Proposal`` or ``ValueFlows:Proposal``);
* actions as camelCase names, units as OM2 ids, ``hasNumericalValue`` as a canonical
  decimal string;
* other properties under their AS name, or their full IRI; no ``@context``.

It accepts compact documents with the bundled contexts and plain inline contexts
(the FEP examples), legacy namespaces, kebab-case actions and fully expanded JSON-LD.
It refuses, naming the problem: documents that would take more JSON-LD work than the
bounds of :mod:`vocab.ldwork` allow (LimitError), poisoned or remote contexts
(ContextError, AliasError for a second name given to a keyword or a term), unknown
actions (ActionError) and units (UnitError), numbers that are not bounded exact
decimals (QuantityError). Duplicate keys, NaN and size limits are refused earlier, by
:func:`vocab.jsontext.loads`. :func:`read` then checks the rules of the typed class.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vocab.compaction import compact
from vocab.errors import InvalidObject
from vocab.expansion import expand, guard_contexts
from vocab.ldwork import check_ld_work
from vocab.objects import VFObject, parse_typed

__all__ = ["normalize", "parse_object", "read", "screen"]


def normalize(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``doc`` in oce's canonical compact form (see the module docstring)."""
    if not isinstance(doc, Mapping):
        raise InvalidObject("", "a document must be a JSON object")
    check_ld_work(doc)
    return compact(expand(doc))


def screen(doc: Any) -> None:
    """The cheap part of :func:`normalize`, for a receiver that reads ``doc`` later: the
    JSON-LD work bounds (LimitError) and every context through the guard (ContextError,
    AliasError), with no expansion. Cached contexts make it a walk of the document."""
    check_ld_work(doc)
    guard_contexts(doc)


def read(doc: Mapping[str, Any]) -> VFObject:
    """Normalize ``doc`` and build the typed object its ``type`` names."""
    return parse_typed(normalize(doc))


def parse_object(normalized: Mapping[str, Any]) -> VFObject:
    """Build the typed object for an already normalized dict (e.g. an activity's object)."""
    return parse_typed(normalized)
