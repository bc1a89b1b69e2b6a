"""Reading an inbound activity: JSON-LD normalized, or plain JSON when it must be.

Every activity is first read with :func:`vocab.normalize`, which interprets it through
its JSON-LD context. Some Fediverse software names contexts oce does not bundle (and
never fetches), or redefines a ValueFlows term in an inline context; their documents
are compact ActivityStreams JSON in practice, and social activities from them (a
Follow, a reply) must work. So such a document is read as plain JSON instead, unless it
carries a ValueFlows type anywhere; and :data:`PLAIN_READABLE` lists the only
``(activity, object type)`` pairs processed from plain JSON.
"""

from __future__ import annotations

from typing import Any

from vocab import jsontext
from vocab.errors import ContextError
from vocab.namespaces import vf_local_name
from vocab.reader import normalize

__all__ = ["PLAIN_READABLE", "VALUEFLOWS_TYPES", "read_activity"]

#: The ValueFlows classes (their names as a document's ``type``).
VALUEFLOWS_TYPES = frozenset(
    {
        "Agreement", "AgreementBundle", "Appreciation", "Claim", "Commitment",
        "EconomicEvent", "EconomicResource", "Fulfillment", "Intent", "Plan", "Process",
        "ProcessSpecification", "Proposal", "ProposalList", "RecipeExchange", "RecipeFlow",
        "RecipeProcess", "RecipeResource", "ResourceSpecification", "Satisfaction",
        "Scenario", "ScenarioDefinition", "SpatialThing",
    }
)  # fmt: skip
_SOCIAL_OBJECTS = (
    None, "Follow", "Like", "Announce", "Note", "Article", "Question", "Page", "Image",
    "Video", "Audio", "Event", "Tombstone", "Person", "Organization", "Service",
    "Application", "Group",
)  # fmt: skip
#: ``(activity, object type)`` pairs read from documents whose context we cannot read:
#: the social activities, never ValueFlows ones (see :func:`read_activity`).
PLAIN_READABLE = frozenset(
    (activity, kind)
    for activity in ("Follow", "Undo", "Accept", "Reject", "Create", "Update", "Delete",
                     "Like", "Announce")
    for kind in _SOCIAL_OBJECTS
)  # fmt: skip
_MAX_PLAIN_DEPTH = 12


def read_activity(body: bytes) -> tuple[dict[str, Any], bool]:
    """The activity in canonical form, and whether it was read as plain JSON instead.

    A document whose JSON-LD context we cannot read (a context we do not bundle, as
    GoToSocial and Pleroma/Akkoma name, or an inline one redefining a ValueFlows term,
    as PeerTube sends) is read as the plain ActivityStreams JSON it is in practice, as
    long as it carries no ValueFlows type: its social activities must work, while its
    ValueFlows objects stay refused. Raises VocabError for what cannot be read at all.
    """
    raw = jsontext.loads(body)  # numbers exact, as the inbox checked them
    try:
        return normalize(raw), False
    except ContextError:
        if not isinstance(raw, dict) or _names_valueflows_types(raw):
            raise
    plain = {key: value for key, value in raw.items() if key != "@context"}
    return plain, True


def _names_valueflows_types(document: Any, depth: int = 0) -> bool:
    """Whether a document (or an object within it) has a ValueFlows type (bounded walk)."""
    if depth > _MAX_PLAIN_DEPTH:
        return True  # too deep to tell: treat it as ValueFlows, which is refused
    if isinstance(document, list):
        return any(_names_valueflows_types(item, depth + 1) for item in document)
    if not isinstance(document, dict):
        return False
    kinds = document.get("type")
    for kind in kinds if isinstance(kinds, list) else [kinds]:
        if isinstance(kind, str) and (kind in VALUEFLOWS_TYPES or vf_local_name(kind)):
            return True
    return any(
        _names_valueflows_types(value, depth + 1)
        for value in document.values()
        if isinstance(value, dict | list)
    )
