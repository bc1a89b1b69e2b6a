"""Finding a remote actor's public key: in its document, and over the network.

Keys are published in an actor's `publicKey` (one object or a list; Mastodon uses
`<actor>#main-key`), as a standalone Key document whose `owner` is the actor (the actor
must list it back), or as FEP-521a Multikeys in `assertionMethod`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from federation.clock import utc_now
from federation.errors import KeyFormatError, OriginError
from federation.fetcher import SafeFetcher
from federation.keys import PublicKeyType, RemoteKey, load_public_key
from federation.multikey import decode_ed25519_multikey
from federation.request import origin_of

__all__ = ["fetch_remote_key", "key_from_document"]


def key_from_document(
    document: Mapping[str, Any], key_id: str, *, fetched_at: datetime | None = None
) -> RemoteKey:
    """The key `key_id` as published in an actor or Key document.

    A key embedded in an actor must name that actor as owner. A standalone Key document
    yields its declared owner, which the caller must confirm lists the key back.
    Raises KeyFormatError when the key is absent, malformed or owned by someone else.
    """
    document_id = document.get("id")
    if not isinstance(document_id, str):
        raise KeyFormatError("document has no id")
    for entry, owner_field in _published_keys(document):
        if entry.get("id") != key_id:
            continue
        owner = entry.get(owner_field)
        if not isinstance(owner, str):
            raise KeyFormatError(f"key {key_id} has no {owner_field}")
        if entry is not document and owner != document_id:
            raise KeyFormatError(f"key {key_id} names owner {owner}, but {document_id} holds it")
        return RemoteKey(key_id, owner, _key_material(entry, key_id), fetched_at=fetched_at)
    raise KeyFormatError(f"{document_id} does not publish the key {key_id}")


async def fetch_remote_key(fetcher: SafeFetcher, key_id: str) -> RemoteKey:
    """Fetch and confirm the key `key_id`: the usual `fetch_key` for a KeyCache.

    The document at the key id (fragment removed) must be on the key id's origin. When it
    is a standalone Key document, its owner's actor document is fetched and must list the
    key. Raises FetchError, KeyFormatError or OriginError.
    """
    document = await fetcher.fetch_object(key_id, check_id=False)
    # Some servers answer a key URL with the actor document itself, so the id need not be
    # the URL: the key found inside it, on the key's own origin, is what we trust.
    document_id = document.get("id")
    if not isinstance(document_id, str) or origin_of(document_id) != origin_of(key_id):
        raise OriginError(f"document served for key {key_id} has id {document_id!r}")
    key = key_from_document(document, key_id, fetched_at=utc_now())
    if key.owner == document_id:
        return key
    if origin_of(key.owner) != origin_of(key_id):
        raise OriginError(f"key {key_id} claims an owner on another origin: {key.owner}")
    actor = await fetcher.fetch_object(key.owner)
    confirmed = key_from_document(actor, key_id, fetched_at=key.fetched_at)
    if confirmed.owner != key.owner or confirmed.key != key.key:
        raise KeyFormatError(f"actor {key.owner} publishes a different key {key_id}")
    return confirmed


def _published_keys(document: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], str]]:
    if "publicKeyPem" in document:
        yield document, "owner"
    for field, owner_field in (("publicKey", "owner"), ("assertionMethod", "controller")):
        entries = document.get(field)
        if isinstance(entries, Mapping):
            entries = [entries]
        if isinstance(entries, list):
            for entry in entries:
                if isinstance(entry, Mapping):
                    yield entry, owner_field


def _key_material(entry: Mapping[str, Any], key_id: str) -> PublicKeyType:
    pem = entry.get("publicKeyPem")
    if isinstance(pem, str):
        return load_public_key(pem)
    multibase = entry.get("publicKeyMultibase")
    if isinstance(multibase, str):
        return decode_ed25519_multikey(multibase)
    raise KeyFormatError(f"key {key_id} has neither publicKeyPem nor publicKeyMultibase")
