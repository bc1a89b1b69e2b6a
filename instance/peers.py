"""Other servers' actors and keys, as this instance knows them.

Keys live in three places: process memory (a :class:`~federation.KeyCache`), the
database (shared by every process of the instance) and the key owner's server. A
lookup tries them in that order. When a signature fails with a cached key, the
database's copy is read again first: another process may have learned the rotated key
already (from the actor's ``Update``, or by fetching it). Only when the database holds
the same key is it fetched again from its server (at most once a minute per key and
process, see the key cache), and the database row is replaced, which is how every
other process learns of a rotated key.

Who may say what a key is: only the key's own origin. An actor document gives us only
its own keys (``<actor>#…``, which a fetch of the key id would read from that very
document), and a stored key keeps its owner: its PEM changes only when the owner's own
document says so (fetched from it, or sent in an ``Update`` the owner signed), or when
a fetch of the key id from its origin confirms it (:func:`federation.fetch_remote_key`).
No other document can bind or rebind it.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urldefrag, urlsplit

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from federation import (
    FetchError,
    FetchRefused,
    KeyCache,
    KeyFormatError,
    OriginError,
    RemoteKey,
    SafeFetcher,
    fetch_remote_key,
    key_from_document,
    load_public_key,
    origin_of,
    same_url,
)
from instance.problems import Problem
from instance.store.db import Database
from instance.store.models import RemoteActor, utcnow
from instance.store.models import RemoteKey as RemoteKeyRow

__all__ = ["ActorUnavailable", "Peers"]

log = logging.getLogger("oce.peers")

#: A remote actor document older than this is fetched again when next needed.
ACTOR_TTL = timedelta(days=1)
#: Actors read from the database are kept in memory this long (seconds), at most
#: ``ACTOR_CACHE_SIZE`` of them: the inbox processor reads the sender of every item,
#: and a change another process stores (an ``Update`` of the actor) shows within it.
ACTOR_CACHE_SECONDS = 60.0
ACTOR_CACHE_SIZE = 4096


class ActorUnavailable(Problem):
    """A remote actor could not be fetched or is not usable."""

    def __init__(self, uri: str, why: str) -> None:
        super().__init__(502, f"cannot use the actor {uri}: {why}", title="Bad gateway")
        self.uri = uri


class Peers:
    """Remote actors and keys, backed by the database and fetched when missing."""

    def __init__(
        self, db: Database, fetcher: SafeFetcher, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.db = db
        self.fetcher = fetcher
        self._clock = clock
        #: uri → (when read, the row): see ``ACTOR_CACHE_SECONDS``.
        self._actors: OrderedDict[str, tuple[float, RemoteActor]] = OrderedDict()
        self.keys = KeyCache(
            self._load_key, refetch_key=self._fetch_key, reload_key=self._stored_key, clock=clock
        )

    # Keys ---------------------------------------------------------------------------

    async def known_key(self, key_id: str) -> bool:
        """Whether we hold ``key_id`` already, without fetching anything."""
        if key_id in self.keys:
            return True
        async with self.db.read() as session:
            found = await session.scalar(
                select(RemoteKeyRow.id).where(RemoteKeyRow.key_id == key_id)
            )
        return found is not None

    async def _stored_key(self, key_id: str) -> RemoteKey | None:
        """The database's copy of a key, if it has one (and it is on its owner's origin)."""
        async with self.db.read() as session:
            row = await session.scalar(select(RemoteKeyRow).where(RemoteKeyRow.key_id == key_id))
        if row is None:
            return None
        if origin_of(row.key_id) != origin_of(row.owner):
            # Never stored by this code; a row written before keys were checked for
            # origin is not believed, and the key is fetched from its origin instead.
            log.warning("ignoring the stored key %s of %s: another origin", key_id, row.owner)
            return None
        return RemoteKey(row.key_id, row.owner, load_public_key(row.public_key_pem), row.fetched_at)

    async def _load_key(self, key_id: str) -> RemoteKey:
        """The database's copy of a key, else its server's."""
        return await self._stored_key(key_id) or await self._fetch_key(key_id)

    async def _fetch_key(self, key_id: str) -> RemoteKey:
        """The key from its server; the database copy is replaced."""
        key = await fetch_remote_key(self.fetcher, key_id)
        await self._store_key(key)
        return key

    async def _store_key(self, key: RemoteKey) -> None:
        """Store a key fetched from its own origin: the one source that may rebind it."""
        for attempt in (1, 2):
            try:
                async with self.db.write() as session:
                    row = await session.scalar(
                        select(RemoteKeyRow).where(RemoteKeyRow.key_id == key.key_id)
                    )
                    if row is None:
                        session.add(
                            RemoteKeyRow(key_id=key.key_id, owner=key.owner, public_key_pem=key.pem)
                        )
                    else:
                        row.owner, row.public_key_pem = key.owner, key.pem
                        row.fetched_at = utcnow()
                return
            except IntegrityError:
                # Another process stored it at the same moment (both were sent a first
                # request by this actor): store over its row.
                if attempt == 2:
                    raise

    # Actors -------------------------------------------------------------------------

    async def actor(self, uri: str, *, refresh: bool = False) -> RemoteActor:
        """The remote actor ``uri``, fetched when unknown, stale, or ``refresh``.

        The document must be ``uri``'s own: served at ``uri`` (redirects stay on its
        origin) with ``uri`` as its id.
        """
        if not refresh:
            cached = self._actors.get(uri)
            row: RemoteActor | None = None
            if cached is not None and self._clock() - cached[0] < ACTOR_CACHE_SECONDS:
                row = cached[1]
            else:
                async with self.db.read() as session:
                    row = await session.scalar(select(RemoteActor).where(RemoteActor.uri == uri))
                if row is not None:
                    self._cache_actor(row)
            if row is not None and utcnow() - row.fetched_at < ACTOR_TTL:
                return row
        try:
            document = await self.fetcher.fetch_object(uri)
        except FetchError as exc:
            raise ActorUnavailable(uri, exc.reason if hasattr(exc, "reason") else str(exc)) from exc
        found = document.get("id")
        if not isinstance(found, str) or not same_url(found, uri):
            raise ActorUnavailable(uri, f"the document served for it is {found!r}")
        return await self.remember_actor(document)

    async def remember_actor(self, document: Mapping[str, Any]) -> RemoteActor:
        """Store (or refresh) an actor document we fetched or were sent by its owner.

        The caller vouches that the document is its id's own: fetched at its id, or
        sent in an ``Update`` its id signed. Its keys are taken as the rules above say.
        """
        fields = actor_fields(document)
        learned: list[RemoteKey] = []
        for attempt in (1, 2):
            try:
                async with self.db.write() as session:
                    row = await session.scalar(
                        select(RemoteActor).where(RemoteActor.uri == fields["uri"])
                    )
                    if row is None:
                        row = RemoteActor(**fields)
                        session.add(row)
                    else:
                        for name, value in fields.items():
                            setattr(row, name, value)
                        row.fetched_at = utcnow()
                    learned = await self._remember_keys(session, document, fields["uri"])
                break
            except IntegrityError:
                # Another process stored the same actor at the same moment: update it.
                if attempt == 2:
                    raise
        assert row is not None
        for key in learned:
            self.keys.put(key)
        self._cache_actor(row)
        return row

    def _cache_actor(self, row: RemoteActor) -> None:
        self._actors[row.uri] = (self._clock(), row)
        self._actors.move_to_end(row.uri)
        while len(self._actors) > ACTOR_CACHE_SIZE:
            self._actors.popitem(last=False)

    async def _remember_keys(
        self, session: Any, document: Mapping[str, Any], uri: str
    ) -> list[RemoteKey]:
        """Store the keys ``uri``'s document publishes that it may speak for."""
        learned: list[RemoteKey] = []
        entries = document.get("publicKey")
        for entry in entries if isinstance(entries, list) else [entries]:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
                continue
            key_id: str = entry["id"]
            if not same_url(urldefrag(key_id).url, uri):
                # Only `<uri>` or `<uri>#…` is the document's own key, as a fetch of the
                # key id would confirm; any other it lists (on another origin, or another
                # actor's on this one) is fetched from its own URL when it signs.
                log.warning("ignoring the key %s listed by %s: not its own", key_id, uri)
                continue
            try:
                key = key_from_document(document, key_id)
            except (KeyFormatError, OriginError) as exc:
                log.info("ignoring a key of %s: %s", uri, exc)
                continue
            row = await session.scalar(select(RemoteKeyRow).where(RemoteKeyRow.key_id == key_id))
            if row is None:
                session.add(RemoteKeyRow(key_id=key_id, owner=uri, public_key_pem=key.pem))
            elif row.owner != uri:
                # Only the key's owner (or a fetch of the key itself) may change it.
                log.warning("ignoring the key %s listed by %s: it is %s's", key_id, uri, row.owner)
                continue
            elif row.public_key_pem != key.pem:
                row.public_key_pem, row.fetched_at = key.pem, utcnow()
            learned.append(key)
        return learned

    async def forget_actor(self, uri: str) -> None:
        """Drop an actor and its keys (it was deleted)."""
        self._actors.pop(uri, None)
        async with self.db.write() as session:
            for key_id in (
                await session.scalars(select(RemoteKeyRow.key_id).where(RemoteKeyRow.owner == uri))
            ).all():
                self.keys.invalidate(key_id)
            await session.execute(delete(RemoteKeyRow).where(RemoteKeyRow.owner == uri))
            await session.execute(delete(RemoteActor).where(RemoteActor.uri == uri))


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs share scheme, host and port."""
    try:
        return origin_of(a) == origin_of(b)
    except ValueError:
        return False


def actor_fields(document: Mapping[str, Any]) -> dict[str, Any]:
    """The columns we keep of an actor document; refuses one that cannot receive."""
    uri = document.get("id")
    inbox = document.get("inbox")
    if not isinstance(uri, str) or not isinstance(inbox, str):
        raise FetchRefused(str(uri), "actor document lacks an id or an inbox")
    # An actor receives on its own server: an inbox elsewhere would aim our
    # deliveries (one per post, per follower) at a third party.
    if not same_origin(inbox, uri):
        raise FetchRefused(uri, f"its inbox {inbox} is on another server than the actor")
    endpoints = document.get("endpoints")
    shared = endpoints.get("sharedInbox") if isinstance(endpoints, Mapping) else None
    if isinstance(shared, str) and not same_origin(shared, uri):
        shared = None
    url = document.get("url")
    followers = document.get("followers")
    return {
        "uri": uri,
        "host": urlsplit(uri).netloc.lower(),
        "kind": str(document.get("type", "Person"))[:40],
        "username": str(document.get("preferredUsername", ""))[:255],
        "name": str(document.get("name") or "")[:500],
        "inbox": inbox,
        "shared_inbox": shared if isinstance(shared, str) else None,
        "url": url if isinstance(url, str) else None,
        "followers": followers if isinstance(followers, str) else None,
        "document": json.dumps(document, default=str)[:200_000],
    }
