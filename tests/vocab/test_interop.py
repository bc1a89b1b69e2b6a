"""Documents from ordinary Fediverse servers normalize; key terms stay guarded."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from vocab import (
    PUBLIC,
    ContextError,
    InvalidObject,
    Person,
    jsontext,
    normalize,
    parse_object,
    read,
    write,
)

from .conftest import FIXTURES

AS = "https://www.w3.org/ns/activitystreams"
SEC = "https://w3id.org/security/v1"

# The shape of Mastodon 4's actor context (inline part abridged to its common terms).
MASTODON_ACTOR_CONTEXT: list[Any] = [
    AS,
    SEC,
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "toot": "http://joinmastodon.org/ns#",
        "featured": {"@id": "toot:featured", "@type": "@id"},
        "featuredTags": {"@id": "toot:featuredTags", "@type": "@id"},
        "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
        "movedTo": {"@id": "as:movedTo", "@type": "@id"},
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        "discoverable": "toot:discoverable",
        "suspended": "toot:suspended",
        "memorial": "toot:memorial",
        "indexable": "toot:indexable",
        "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    },
]


def mastodon_actor() -> dict[str, Any]:
    return {
        "@context": copy.deepcopy(MASTODON_ACTOR_CONTEXT),
        "id": "https://mastodon.example/users/carol",
        "type": "Person",
        "following": "https://mastodon.example/users/carol/following",
        "followers": "https://mastodon.example/users/carol/followers",
        "inbox": "https://mastodon.example/users/carol/inbox",
        "outbox": "https://mastodon.example/users/carol/outbox",
        "featured": "https://mastodon.example/users/carol/collections/featured",
        "preferredUsername": "carol",
        "name": "Carol",
        "summary": "<p>Baker</p>",
        "url": "https://mastodon.example/@carol",
        "manuallyApprovesFollowers": False,
        "discoverable": True,
        "published": "2022-11-05T00:00:00Z",
        "publicKey": {
            "id": "https://mastodon.example/users/carol#main-key",
            "owner": "https://mastodon.example/users/carol",
            "publicKeyPem": "-----BEGIN PUBLIC KEY-----\nMIIB...\n-----END PUBLIC KEY-----\n",
        },
        "attachment": [{"type": "PropertyValue", "name": "Bakery", "value": "Rye & co"}],
        "endpoints": {"sharedInbox": "https://mastodon.example/inbox"},
    }


def test_mastodon_actor_normalizes_and_reads_as_an_agent() -> None:
    normalized = normalize(mastodon_actor())
    assert normalized["publicKey"] == {
        "id": "https://mastodon.example/users/carol#main-key",
        "owner": "https://mastodon.example/users/carol",
        "publicKeyPem": "-----BEGIN PUBLIC KEY-----\nMIIB...\n-----END PUBLIC KEY-----\n",
    }
    assert normalized["as:manuallyApprovesFollowers"] is False
    assert normalized["http://joinmastodon.org/ns#featured"].endswith("/featured")
    assert normalized["endpoints"] == {"sharedInbox": "https://mastodon.example/inbox"}
    carol = read(mastodon_actor())
    assert isinstance(carol, Person)
    assert carol.preferred_username == "carol"
    assert carol.inbox == "https://mastodon.example/users/carol/inbox"


def test_mastodon_note() -> None:
    document = {
        "@context": [
            AS,
            {
                "ostatus": "http://ostatus.org#",
                "atomUri": "ostatus:atomUri",
                "conversation": "ostatus:conversation",
                "sensitive": "as:sensitive",
                "toot": "http://joinmastodon.org/ns#",
                "Hashtag": "as:Hashtag",
                "Emoji": "toot:Emoji",
            },
        ],
        "id": "https://mastodon.example/users/carol/statuses/1/activity",
        "type": "Create",
        "actor": "https://mastodon.example/users/carol",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": ["https://mastodon.example/users/carol/followers"],
        "object": {
            "id": "https://mastodon.example/users/carol/statuses/1",
            "type": "Note",
            "content": "<p>Is the rye still on offer?</p>",
            "inReplyTo": "https://oce.example/proposals/1",
            "sensitive": False,
            "tag": [
                {"type": "Hashtag", "name": "#bread", "href": "https://mastodon.example/tags/bread"}
            ],
        },
    }
    normalized = normalize(document)
    assert normalized["to"] == PUBLIC
    assert normalized["object"]["inReplyTo"] == "https://oce.example/proposals/1"
    assert normalized["object"]["tag"]["type"] == "as:Hashtag"


@pytest.mark.parametrize("term", ["owner", "publicKey", "publicKeyPem"])
def test_key_terms_cannot_be_redefined(term: str) -> None:
    document = mastodon_actor()
    document["@context"][2][term] = "https://evil.example/" + term
    with pytest.raises(ContextError) as info:
        normalize(document)
    assert info.value.field == f"@context/{term}"


def test_fep_d767_commitment_reads_its_legacy_terms_and_hr() -> None:
    """FEP-d767's example, made JSON: legacy ``vf:`` namespace, ``om:Measure`` and
    ``hr`` read as oce's own terms; its time offset ``-5:00`` is what is refused."""
    text = (FIXTURES / "interop" / "fepd767-create-commitment.json").read_bytes()
    normalized = normalize(jsontext.loads(text))
    commitment = normalized["object"]
    assert commitment["type"] == "Commitment"
    assert commitment["action"] == "work"
    assert commitment["effortQuantity"] == {"hasUnit": "hour", "hasNumericalValue": "10"}
    assert commitment["provider"]["id"] == "https://project.example/actors/lynn"
    with pytest.raises(InvalidObject, match="/due"):
        parse_object(commitment)


def test_bonfire_shapes_normalize_like_ours() -> None:
    text = (FIXTURES / "interop" / "bonfire-spellings-proposal.json").read_bytes()
    proposal = normalize(jsontext.loads(text))["object"]
    assert proposal["context"] == []
    assert proposal["publishes"]["action"] == "deliverService"
    assert proposal["publishes"]["resourceQuantity"] == {
        "hasUnit": "hour",
        "hasNumericalValue": "1.5",
    }
    read_back = parse_object(proposal)
    assert read_back.context is None
    assert normalize(write(read_back, "https://a.test"))["publishes"] == proposal["publishes"]
