"""Activities shaped exactly as Mastodon sends them, and signed as Mastodon signs.

The payload shapes follow Mastodon's serializers and its documentation (spec/activitypub,
spec/security): ids like ``https://host/<uuid>`` for a Follow, ``<actor>#follows/<n>/undo``
for its Undo, ``<actor>#delete`` for an account deletion, ``<actor>#updates/<time>`` for a
profile update, statuses at ``<actor>/statuses/<n>`` with their Create at ``…/activity``.

:func:`sign_like_mastodon` builds the draft-cavage ``Signature`` header by hand, the way
Mastodon's ``Request`` does (every header it sets is signed, content type included;
``rsa-sha256``, or ``hs2019`` as some servers write), independently of oce's own signer,
so the tests check our verifier against the sender it must understand.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fakepeer import AS, PeerActor

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
SECURITY = "https://w3id.org/security/v1"
_numbers = itertools.count(109_876_543_210_000)

#: The inline context of Mastodon's actor documents.
ACTOR_CONTEXT: list[Any] = [
    AS,
    SECURITY,
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
#: The inline context of Mastodon's statuses.
STATUS_CONTEXT: list[Any] = [
    AS,
    {
        "ostatus": "http://ostatus.org#",
        "atomUri": "ostatus:atomUri",
        "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
        "conversation": "ostatus:conversation",
        "sensitive": "as:sensitive",
        "toot": "http://joinmastodon.org/ns#",
        "votersCount": "toot:votersCount",
        "Hashtag": "as:Hashtag",
    },
]

#: What a Mastodon server's NodeInfo says (no ValueFlows in its metadata).
NODEINFO: dict[str, Any] = {
    "version": "2.0",
    "software": {"name": "mastodon", "version": "4.3.2"},
    "protocols": ["activitypub"],
    "services": {"outbound": [], "inbound": []},
    "usage": {"users": {"total": 3, "activeMonth": 3, "activeHalfyear": 3}, "localPosts": 7},
    "openRegistrations": False,
    "metadata": {"nodeName": "Mastodon example", "nodeDescription": ""},
}


def actor_document(actor: PeerActor) -> dict[str, Any]:
    """A Mastodon account as its server serves it (``/users/<name>``)."""
    return {
        "@context": ACTOR_CONTEXT,
        "id": actor.id,
        "type": "Person",
        "following": f"{actor.id}/following",
        "followers": f"{actor.id}/followers",
        "inbox": actor.inbox,
        "outbox": f"{actor.id}/outbox",
        "featured": f"{actor.id}/collections/featured",
        "featuredTags": f"{actor.id}/collections/tags",
        "preferredUsername": actor.name,
        "name": actor.name.title(),
        "summary": "<p>Reads the coop&#39;s offers.</p>",
        "url": f"{actor.origin}/@{actor.name}",
        "manuallyApprovesFollowers": False,
        "discoverable": True,
        "indexable": False,
        "published": "2023-04-01T00:00:00Z",
        "memorial": False,
        "devices": f"{actor.id}/collections/devices",
        "publicKey": {"id": actor.key_id, "owner": actor.id, "publicKeyPem": actor.public_pem},
        "tag": [],
        "attachment": [
            {"type": "PropertyValue", "name": "Pronouns", "value": "they/them"},
        ],
        "endpoints": {"sharedInbox": f"{actor.origin}/inbox"},
    }


def follow(actor: PeerActor, target: str) -> dict[str, Any]:
    return {
        "@context": AS,
        "id": f"{actor.origin}/{uuid.uuid4()}",
        "type": "Follow",
        "actor": actor.id,
        "object": target,
    }


def undo_follow(actor: PeerActor, followed: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": AS,
        "id": f"{actor.id}#follows/{next(_numbers)}/undo",
        "type": "Undo",
        "actor": actor.id,
        "object": {
            "id": followed["id"],
            "type": "Follow",
            "actor": actor.id,
            "object": followed["object"],
        },
    }


def accept_follow(actor: PeerActor, follow_id: str, follower: str) -> dict[str, Any]:
    """What Mastodon answers to a Follow of one of its accounts."""
    return {
        "@context": AS,
        "id": f"{actor.id}#accepts/follows/{next(_numbers)}",
        "type": "Accept",
        "actor": actor.id,
        "object": {"id": follow_id, "type": "Follow", "actor": follower, "object": actor.id},
    }


def _mention_html(href: str, username: str) -> str:
    return (
        f'<span class="h-card" translate="no"><a href="{href}" class="u-url mention">'
        f"@<span>{username}</span></a></span>"
    )


def create_note(
    actor: PeerActor,
    text: str,
    *,
    mentions: tuple[str, ...] = (),
    in_reply_to: str | None = None,
    public: bool = True,
) -> dict[str, Any]:
    """A status as Mastodon federates it: ``Create`` of a ``Note``, mentions in ``tag``
    and in ``cc`` (or ``to``, for a direct message)."""
    number = next(_numbers)
    status = f"{actor.id}/statuses/{number}"
    published = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    mentioned = " ".join(_mention_html(m, m.rsplit("/", 1)[-1]) for m in mentions)
    content = f"<p>{mentioned} {text}</p>" if mentions else f"<p>{text}</p>"
    if public:
        to, cc = [PUBLIC], [f"{actor.id}/followers", *mentions]
    else:
        to, cc = list(mentions), []
    host = urlsplit(actor.origin).netloc
    note = {
        "id": status,
        "type": "Note",
        "summary": None,
        "inReplyTo": in_reply_to,
        "published": published,
        "url": f"{actor.origin}/@{actor.name}/{number}",
        "attributedTo": actor.id,
        "to": to,
        "cc": cc,
        "sensitive": False,
        "atomUri": status,
        "inReplyToAtomUri": in_reply_to,
        "conversation": f"tag:{host},2024-01-01:objectId={number}:objectType=Conversation",
        "content": content,
        "contentMap": {"en": content},
        "attachment": [],
        "tag": [
            {"type": "Mention", "href": m, "name": f"@{m.rsplit('/', 1)[-1]}@coop"}
            for m in mentions
        ],
        "replies": {
            "id": f"{status}/replies",
            "type": "Collection",
            "first": {
                "type": "CollectionPage",
                "next": f"{status}/replies?only_other_accounts=true&page=true",
                "partOf": f"{status}/replies",
                "items": [],
            },
        },
    }
    return {
        "@context": STATUS_CONTEXT,
        "id": f"{status}/activity",
        "type": "Create",
        "actor": actor.id,
        "published": published,
        "to": to,
        "cc": cc,
        "object": note,
    }


def delete_status(actor: PeerActor, status: str) -> dict[str, Any]:
    return {
        "@context": STATUS_CONTEXT,
        "id": f"{status}#delete",
        "type": "Delete",
        "actor": actor.id,
        "to": [PUBLIC],
        "object": {"id": status, "type": "Tombstone", "atomUri": status},
    }


def like(actor: PeerActor, target: str) -> dict[str, Any]:
    return {
        "@context": AS,
        "id": f"{actor.id}#likes/{next(_numbers)}",
        "type": "Like",
        "actor": actor.id,
        "object": target,
    }


def announce(actor: PeerActor, target: str, author: str) -> dict[str, Any]:
    """A boost: a status of its own whose ``object`` is the boosted post's id."""
    status = f"{actor.id}/statuses/{next(_numbers)}"
    return {
        "@context": AS,
        "id": f"{status}/activity",
        "type": "Announce",
        "actor": actor.id,
        "published": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "to": [PUBLIC],
        "cc": [author, f"{actor.id}/followers"],
        "object": target,
    }


def undo(actor: PeerActor, activity: dict[str, Any]) -> dict[str, Any]:
    """Mastodon's Undo of a Like or an Announce: the activity embedded whole."""
    return {
        "@context": AS,
        "id": f"{activity['id']}/undo",
        "type": "Undo",
        "actor": actor.id,
        "to": activity.get("to", [PUBLIC]),
        "object": {key: value for key, value in activity.items() if key != "@context"},
    }


def move(actor: PeerActor, target: str) -> dict[str, Any]:
    """An account migration, as Mastodon sends it to the old account's followers."""
    return {
        "@context": AS,
        "id": f"{actor.id}#moves/{next(_numbers)}",
        "type": "Move",
        "actor": actor.id,
        "object": actor.id,
        "target": target,
    }


def delete_actor(actor: PeerActor) -> dict[str, Any]:
    """An account deletion, with the LD signature Mastodon attaches to it."""
    return {
        "@context": [AS, SECURITY],
        "id": f"{actor.id}#delete",
        "type": "Delete",
        "actor": actor.id,
        "to": [PUBLIC],
        "object": actor.id,
        "signature": {
            "type": "RsaSignature2017",
            "creator": actor.key_id,
            "created": "2024-05-01T10:00:00Z",
            "signatureValue": base64.b64encode(b"not checked by oce").decode(),
        },
    }


def update_actor(actor: PeerActor, document: dict[str, Any]) -> dict[str, Any]:
    """A profile update (a new name, a new key…): the whole actor document."""
    return {
        "@context": ACTOR_CONTEXT,
        "id": f"{actor.id}#updates/{int(datetime.now(UTC).timestamp())}",
        "type": "Update",
        "actor": actor.id,
        "to": [PUBLIC],
        "object": {key: value for key, value in document.items() if key != "@context"},
    }


def sign_like_mastodon(
    actor: PeerActor,
    url: str,
    activity: dict[str, Any],
    *,
    algorithm: str = "rsa-sha256",
    private_key: rsa.RSAPrivateKey | None = None,
    now: datetime | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of Mastodon's inbox POST: ``(request-target) host date digest
    content-type`` signed with RSASSA-PKCS1-v1_5 / SHA-256, keyId ``<actor>#main-key``."""
    body = json.dumps(activity).encode()
    parts = urlsplit(url)
    headers = {
        "Host": parts.netloc,
        "Date": format_datetime(now or datetime.now(UTC), usegmt=True),
        "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode(),
        "Content-Type": "application/activity+json",
    }
    lines = [f"(request-target): post {parts.path}"]
    lines += [f"{name.lower()}: {value}" for name, value in headers.items()]
    key = private_key or actor.private_key
    assert isinstance(key, rsa.RSAPrivateKey)
    signature = key.sign("\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
    headers["Signature"] = (
        f'keyId="{actor.key_id}",algorithm="{algorithm}",'
        f'headers="(request-target) host date digest content-type",'
        f'signature="{base64.b64encode(signature).decode()}"'
    )
    headers["User-Agent"] = "http.rb/5.2.0 (Mastodon/4.3.2; +https://mastodon.example/)"
    return body, headers
