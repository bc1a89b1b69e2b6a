"""The JSON documents that describe our actors."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from instance.ledger.integrity import assertion_methods
from instance.store.models import Agent, AgentAvatar, AgentMove, InstanceKey
from instance.urls import Urls
from vocab import MULTIKEY_V1, oce_context_url

__all__ = [
    "actor_context",
    "agent_document",
    "avatar_url",
    "instance_actor_document",
    "summary_html",
]

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"


def actor_context(urls: Urls) -> list[Any]:
    """ActivityStreams, the security vocabulary (publicKey), Multikey (assertionMethod)
    and oce's own terms."""
    return [
        AS_CONTEXT,
        SECURITY_CONTEXT,
        MULTIKEY_V1,
        oce_context_url(urls.base),
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "movedTo": {"@id": "as:movedTo", "@type": "@id"},
            "toot": "http://joinmastodon.org/ns#",
            "featured": {"@id": "toot:featured", "@type": "@id"},
        },
    ]


def summary_html(text: str) -> str:
    """Plain text as the small HTML Mastodon shows: paragraphs and line breaks."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.strip().split("\n")) + "</p>"
        for p in paragraphs
    )


def avatar_url(urls: Urls, agent: Agent, avatar: AgentAvatar) -> str:
    """Where the instance serves an agent's picture; a new picture is a new URL."""
    return f"{urls.actor(agent.username)}/avatar/{avatar.digest[:16]}"


def agent_document(
    urls: Urls,
    agent: Agent,
    move: AgentMove | None = None,
    linked: Sequence[str] = (),
    avatar: AgentAvatar | None = None,
) -> dict[str, Any]:
    """The actor document of a local agent (a Person or an Organization); ``move``
    gives its other actors (``alsoKnownAs``) and where it moved (``movedTo``);
    ``linked``, its accounts on other oce instances linked by OAuth (also
    ``alsoKnownAs``, see :mod:`instance.links`); ``avatar`` its picture (``icon``)."""
    actor = urls.actor(agent.username)
    document: dict[str, Any] = {
        "@context": actor_context(urls),
        "id": actor,
        "type": agent.kind,
        "preferredUsername": agent.username,
        "name": agent.name,
        "summary": summary_html(agent.summary),
        "url": actor,
        "inbox": urls.inbox(agent.username),
        "outbox": urls.outbox(agent.username),
        "followers": urls.followers(agent.username),
        "following": urls.following(agent.username),
        "endpoints": {"sharedInbox": urls.shared_inbox},
        "agreements": urls.agent_collection(agent.username, "agreements"),
        "commitments": urls.agent_collection(agent.username, "commitments"),
        "resources": urls.agent_collection(agent.username, "resources"),
        "manuallyApprovesFollowers": agent.manually_approves_followers,
        "discoverable": True,
        "published": agent.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "publicKey": {
            "id": urls.key(agent.username),
            "owner": actor,
            "publicKeyPem": agent.public_key_pem,
        },
        "assertionMethod": assertion_methods(urls, agent),
        "featured": f"{actor}/featured",
        "liked": f"{actor}/liked",
    }
    if agent.kind == "Organization":
        # docs/cooperatives.md: who the organization's members are.
        document["members"] = f"{actor}/members"
    if avatar is not None:
        document["icon"] = {
            "type": "Image",
            "mediaType": avatar.media_type,
            "url": avatar_url(urls, agent, avatar),
        }
    aliases: list[str] = json.loads(move.also_known_as) if move is not None else []
    aliases += [actor for actor in linked if actor not in aliases]
    if aliases:
        document["alsoKnownAs"] = aliases
    if move is not None and move.moved_to:
        document["movedTo"] = move.moved_to
    return document


def instance_actor_document(urls: Urls, key: InstanceKey, name: str) -> dict[str, Any]:
    """The instance actor: an Application that signs the instance's own fetches."""
    actor = urls.instance_actor
    return {
        "@context": actor_context(urls),
        "id": actor,
        "type": "Application",
        "preferredUsername": urlsplit(urls.base).hostname,
        "name": name,
        "url": urls.base,
        "inbox": f"{actor}/inbox",
        "outbox": f"{actor}/outbox",
        "endpoints": {"sharedInbox": urls.shared_inbox},
        "manuallyApprovesFollowers": True,
        "publicKey": {
            "id": urls.instance_key,
            "owner": actor,
            "publicKeyPem": key.public_key_pem,
        },
    }
