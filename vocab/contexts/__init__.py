"""The JSON-LD contexts oce bundles, and the document loader that serves only them.

oce never fetches a context. These documents ship inside the package, in this
directory, and :func:`document_loader` (the loader given to pyld) serves them and
refuses every other URL with a :class:`~vocab.errors.ContextError` naming it:

* ``https://www.w3.org/ns/activitystreams``: ``activitystreams.jsonld``
* ``https://w3id.org/security/v1``: ``security-v1.jsonld`` (actors' ``publicKey``)
* ``https://w3id.org/security/multikey/v1``: ``multikey-v1.jsonld`` (FEP-521a keys)
* ``https://w3id.org/security/data-integrity/v1``: ``data-integrity-v1.jsonld``
  (FEP-8b32 proofs)
* ``{any origin}/ns/oce-v1.jsonld``: ``oce-v1.jsonld``

**The oce URL rule.** Every instance serves oce's context at
``{base_url}/ns/oce-v1.jsonld`` (:data:`OCE_CONTEXT_PATH`) and puts that URL in the
``@context`` of what it sends. A peer's documents name the peer's own URL. Any
``http(s)`` URL whose path is exactly :data:`OCE_CONTEXT_PATH` (no query, no fragment)
is therefore read as the bundled oce context, whatever its origin: we never fetch it,
and we always interpret those terms by our own definition, so a peer cannot change
what ``provider`` means by serving a different document at that path.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from vocab.errors import ContextError

__all__ = [
    "AS_CONTEXT",
    "BUNDLED_CONTEXTS",
    "DATA_INTEGRITY_V1",
    "MULTIKEY_V1",
    "OCE_CONTEXT_KEY",
    "OCE_CONTEXT_PATH",
    "SECURITY_V1",
    "bundled_context",
    "context_key",
    "document_loader",
    "is_oce_context_url",
    "oce_context_document",
    "oce_context_url",
    "outgoing_context",
]

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_V1 = "https://w3id.org/security/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
DATA_INTEGRITY_V1 = "https://w3id.org/security/data-integrity/v1"
OCE_CONTEXT_PATH = "/ns/oce-v1.jsonld"
# The name under which the oce context is known whatever origin a document gives it.
OCE_CONTEXT_KEY = "oce:" + OCE_CONTEXT_PATH

BUNDLED_CONTEXTS: Mapping[str, str] = MappingProxyType(
    {
        AS_CONTEXT: "activitystreams.jsonld",
        SECURITY_V1: "security-v1.jsonld",
        MULTIKEY_V1: "multikey-v1.jsonld",
        DATA_INTEGRITY_V1: "data-integrity-v1.jsonld",
        OCE_CONTEXT_KEY: "oce-v1.jsonld",
    }
)


def is_oce_context_url(url: str) -> bool:
    """Tell whether ``url`` names the oce context (see the URL rule above)."""
    if not url.endswith(OCE_CONTEXT_PATH):
        return False
    parts = urlsplit(url)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and parts.path == OCE_CONTEXT_PATH
        and not parts.query
        and not parts.fragment
    )


def context_key(url: str) -> str | None:
    """Return the bundled-context key for a context URL, or None when not bundled."""
    if url in BUNDLED_CONTEXTS:
        return url
    # w3id.org redirects http to https; documents written with http mean the same.
    if url.startswith("http://") and "https://" + url[7:] in BUNDLED_CONTEXTS:
        return "https://" + url[7:]
    if is_oce_context_url(url):
        return OCE_CONTEXT_KEY
    return None


@cache
def _load(filename: str) -> Mapping[str, Any]:
    text = resources.files("vocab.contexts").joinpath(filename).read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return MappingProxyType(document)


def bundled_context(url: str) -> Mapping[str, Any]:
    """Return the bundled document for a context URL (read-only); ContextError if none."""
    key = context_key(url)
    if key is None:
        raise ContextError(
            "@context",
            f"remote context {url!r} is not one oce bundles; oce never fetches contexts",
        )
    return _load(BUNDLED_CONTEXTS[key])


def oce_context_document() -> dict[str, Any]:
    """Return the oce context document, as the instance serves it at OCE_CONTEXT_PATH."""
    return copy.deepcopy(dict(_load(BUNDLED_CONTEXTS[OCE_CONTEXT_KEY])))


def oce_context_url(base_url: str) -> str:
    """Return the URL of the oce context on the instance at ``base_url``."""
    return base_url.rstrip("/") + OCE_CONTEXT_PATH


def outgoing_context(base_url: str, extra: Sequence[str] = ()) -> list[str | dict[str, Any]]:
    """Return the ``@context`` to put on every outgoing document.

    ActivityStreams first, then any ``extra`` bundled context (e.g. ``SECURITY_V1`` on
    actors with a ``publicKey``), then the instance's own oce context URL.
    """
    context: list[str | dict[str, Any]] = [AS_CONTEXT]
    for url in extra:
        key = context_key(url)
        if key is None or key in (AS_CONTEXT, OCE_CONTEXT_KEY):
            raise ContextError("@context", f"{url!r} is not an extra context oce bundles")
        context.append(key)
    context.append(oce_context_url(base_url))
    return context


def document_loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A pyld document loader that serves bundled contexts and refuses everything else."""
    document = bundled_context(url)
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        # pyld must not be able to change our copy.
        "document": copy.deepcopy(dict(document)),
    }
