"""NodeInfo (FEP-f1d5): what software a server runs and what it says it speaks.

A server lists its NodeInfo documents at ``/.well-known/nodeinfo`` (links by schema
``rel``); the document names the software and carries free-form ``metadata``. Parsing
is pure; :func:`fetch_nodeinfo` does the two signed GETs through the safe fetcher
(both are plain JSON, which the fetcher's JSON-document reader accepts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from federation.errors import FetchRefused
from federation.fetcher import SafeFetcher

__all__ = [
    "NODEINFO_SCHEMAS",
    "NodeInfo",
    "fetch_nodeinfo",
    "nodeinfo_href",
    "nodeinfo_well_known",
    "parse_nodeinfo",
]

#: The schema ``rel`` values we read, most preferred first (2.x all share the fields we use).
NODEINFO_SCHEMAS = tuple(
    f"http://nodeinfo.diaspora.software/ns/schema/{version}" for version in ("2.1", "2.0", "2.2")
)
_MAX_LINKS = 20
_MAX_NAME = 64


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """The parts of a NodeInfo document we use."""

    software: str
    version: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


def nodeinfo_well_known(origin: str) -> str:
    """Where ``origin`` (``https://host[:port]``) lists its NodeInfo documents."""
    return f"{origin.rstrip('/')}/.well-known/nodeinfo"


def nodeinfo_href(links_document: Mapping[str, Any], url: str) -> str:
    """The NodeInfo document URL a ``/.well-known/nodeinfo`` answer names.

    ``url`` is where the answer came from (for error messages). Raises FetchRefused
    when no link of a known schema is there.
    """
    links = links_document.get("links")
    if not isinstance(links, list):
        raise FetchRefused(url, "the NodeInfo answer has no links")
    found: dict[str, str] = {}
    for link in links[:_MAX_LINKS]:
        if isinstance(link, Mapping):
            rel, href = link.get("rel"), link.get("href")
            if isinstance(rel, str) and isinstance(href, str) and href.startswith("http"):
                found.setdefault(rel.rstrip("#"), href)
    for schema in NODEINFO_SCHEMAS:
        if schema in found:
            return found[schema]
    raise FetchRefused(url, "the NodeInfo answer links no 2.x schema document")


def parse_nodeinfo(document: Mapping[str, Any], url: str) -> NodeInfo:
    """The software and metadata of a NodeInfo document; FetchRefused if it has none."""
    software = document.get("software")
    if not isinstance(software, Mapping) or not isinstance(software.get("name"), str):
        raise FetchRefused(url, "the NodeInfo document names no software")
    version = software.get("version")
    metadata = document.get("metadata")
    return NodeInfo(
        software=software["name"][:_MAX_NAME],
        version=version[:_MAX_NAME] if isinstance(version, str) else "",
        metadata=metadata if isinstance(metadata, Mapping) else {},
    )


async def fetch_nodeinfo(fetcher: SafeFetcher, origin: str) -> NodeInfo:
    """Read the NodeInfo of the server at ``origin``. Raises FetchError subclasses."""
    well_known = nodeinfo_well_known(origin)
    href = nodeinfo_href(await fetcher.fetch_jrd(well_known), well_known)
    return parse_nodeinfo(await fetcher.fetch_jrd(href), href)
