"""Finding a remote actor's public key: in its document, and over the network.

Keys are published in an actor's `publicKey` (one object or a list; Mastodon uses
`<actor>#main-key`), as a standalone Key document whose `owner` is the actor (the actor
must list it back), or as FEP-521a Multikeys in `assertionMethod`. A key is only ever
learned from its own origin (see `fetch_remote_key`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urldefrag

from federation.clock import utc_now
from federation.errors import KeyFormatError, OriginError
from federation.fetcher import SafeFetcher, same_url
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

    Only the key's own origin speaks for it, and only a document served at its own id
    is trusted as itself (the fetcher follows redirects on the key's origin only):

    * a key id with a fragment (`<actor>#main-key`) names a key inside the document at
      its URL: that document, served at its own id, must publish the key as its own;
    * a key id without one may be a standalone key document (or a stub served at the key
      URL); it only points at an owner on the key's origin, whose own document, served
      at its own id, must publish the same key.

    Raises FetchError, KeyFormatError or OriginError.
    """
    served = await fetcher.fetch_served(key_id)
    fetched_at = utc_now()
    document_id = served.document.get("id")
    itself = isinstance(document_id, str) and same_url(document_id, served.url)
    if urldefrag(key_id).fragment:
        if not itself:
            raise OriginError(
                f"the document at {served.url} has the id {document_id!r}, not its URL: "
                f"it cannot vouch for the key {key_id}"
            )
        key = key_from_document(served.document, key_id, fetched_at=fetched_at)
        if key.owner != document_id:
            raise KeyFormatError(f"{document_id} publishes {key_id} as {key.owner}'s key")
        return key
    claimed = key_from_document(served.document, key_id, fetched_at=fetched_at)
    if itself and claimed.owner == document_id:
        return claimed  # the key id is the actor's own id
    if origin_of(claimed.owner) != origin_of(key_id):
        raise OriginError(f"key {key_id} claims an owner on another origin: {claimed.owner}")
    actor = await fetcher.fetch_object(claimed.owner)
    confirmed = key_from_document(actor, key_id, fetched_at=fetched_at)
    if confirmed.owner != claimed.owner or confirmed.key != claimed.key:
        raise KeyFormatError(f"actor {claimed.owner} publishes a different key {key_id}")
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
