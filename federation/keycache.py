"""Remote public keys, cached in memory (LRU with a time to live), and key rotation.

The inbox verifies with `await cache.get(key_id)`; when that fails it calls
`await cache.refresh(key_id)` and, if that gave a key, verifies once more. A refresh
first asks `reload_key` (when given: a store shared with other processes, which may
have learned the new key already) and uses its key if it differs from the cached one;
otherwise it fetches at most once per key per `refresh_interval`, whether the fetch
succeeds or not, so a stream of badly signed requests cannot make us hammer the key's
server.

A miss (a key neither in memory nor yet being looked up) is a wait on the key's server,
which a hostile peer may make last as long as the fetch allows. At most
`max_pending_per_host` different keys of one host are looked up at once; a further miss
on that host fails at once with `FetchBusy` (try later) instead of adding a wait, so keys
on servers that never answer cannot take every connection and task of ours.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from federation.errors import FetchBusy, SignatureInvalid
from federation.keys import RemoteKey
from federation.request import RequestParts
from federation.verify import Verified, signature_key_id, verify_request

__all__ = ["KeyCache", "verify_signed_request"]

FetchKey = Callable[[str], Awaitable[RemoteKey]]
ReloadKey = Callable[[str], Awaitable[RemoteKey | None]]


@dataclass
class _Entry:
    key: RemoteKey
    stored_at: float


class KeyCache:
    """An in-memory cache of remote keys in front of an injected `fetch_key(key_id)`.

    `fetch_key` errors (FetchError, KeyFormatError) pass through to the caller. Concurrent
    requests for the same missing key share one fetch. `refetch_key`, when given, is what
    `refresh` calls instead: a `fetch_key` that may answer from a store shared with other
    processes must not be asked again when that stored key just failed. `reload_key`,
    when given, reads that shared store only (None when it holds no such key): `refresh`
    tries it first, without rate limit, since another process may have stored the
    rotated key there.
    """

    def __init__(
        self,
        fetch_key: FetchKey,
        *,
        refetch_key: FetchKey | None = None,
        reload_key: ReloadKey | None = None,
        max_entries: int = 4096,
        ttl: float = 24 * 3600.0,
        refresh_interval: float = 60.0,
        max_pending_per_host: int = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch_key = fetch_key
        self._refetch_key = refetch_key or fetch_key
        self._reload_key = reload_key
        self._max_entries = max_entries
        self._ttl = ttl
        self._refresh_interval = refresh_interval
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._last_fetch: dict[str, float] = {}
        self._in_flight: dict[str, asyncio.Future[RemoteKey]] = {}
        self._max_pending_per_host = max_pending_per_host
        self._pending_by_host: dict[str, int] = {}

    async def get(self, key_id: str) -> RemoteKey:
        """The cached key, or a freshly fetched one when absent or older than the TTL."""
        entry = self._entries.get(key_id)
        if entry is not None and self._clock() - entry.stored_at < self._ttl:
            self._entries.move_to_end(key_id)
            return entry.key
        return await self._fetch(key_id)

    async def refresh(self, key_id: str) -> RemoteKey | None:
        """Re-fetch the key after a failed verification; None when rate-limited.

        Rate-limited means this key was fetched less than `refresh_interval` ago (by
        `get` or `refresh`): the cached key is as fresh as a new fetch would be. A key
        in the shared store (`reload_key`) that differs from the cached one is taken
        first, without fetching.
        """
        if self._reload_key is not None:
            stored = await self._reload_key(key_id)
            cached = self._entries.get(key_id)
            if stored is not None and (cached is None or stored.pem != cached.key.pem):
                self._store(key_id, stored)
                return stored
        last = self._last_fetch.get(key_id)
        if last is not None and self._clock() - last < self._refresh_interval:
            return None
        return await self._fetch(key_id, self._refetch_key)

    def put(self, key: RemoteKey) -> None:
        """Store a key learned another way (e.g. from an actor document just fetched)."""
        self._store(key.key_id, key)

    def invalidate(self, key_id: str) -> None:
        """Forget a key, e.g. when its actor was deleted."""
        self._entries.pop(key_id, None)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    async def _fetch(self, key_id: str, fetch: FetchKey | None = None) -> RemoteKey:
        pending = self._in_flight.get(key_id)
        if pending is not None:
            return await asyncio.shield(pending)
        host = urlsplit(key_id).netloc.lower()
        waiting = self._pending_by_host.get(host, 0)
        if waiting >= self._max_pending_per_host:
            raise FetchBusy(
                key_id,
                f"{waiting} other keys of {host} are being looked up already; try again later",
                retry_after=30,
            )
        self._pending_by_host[host] = waiting + 1
        future: asyncio.Future[RemoteKey] = asyncio.get_running_loop().create_future()
        self._in_flight[key_id] = future
        self._last_fetch[key_id] = self._clock()
        self._trim_last_fetch()
        try:
            key = await (fetch or self._fetch_key)(key_id)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            # Mark it retrieved so a future nobody else awaited does not warn when dropped.
            future.exception()
            raise
        else:
            self._store(key_id, key)
            future.set_result(key)
            return key
        finally:
            del self._in_flight[key_id]
            if (left := self._pending_by_host.pop(host) - 1) > 0:
                self._pending_by_host[host] = left

    def _store(self, key_id: str, key: RemoteKey) -> None:
        self._entries[key_id] = _Entry(key, self._clock())
        self._entries.move_to_end(key_id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def _trim_last_fetch(self) -> None:
        # Keep the rate-limit ledger bounded: entries past the interval carry no meaning.
        if len(self._last_fetch) <= 2 * self._max_entries:
            return
        cutoff = self._clock() - self._refresh_interval
        for stale in [k for k, at in self._last_fetch.items() if at < cutoff]:
            del self._last_fetch[stale]


async def verify_signed_request(
    request: RequestParts, keys: KeyCache, now: datetime, *, require_digest: bool
) -> Verified:
    """Look up the signing key through `keys` and verify, re-fetching the key once.

    Only a signature that does not verify (SignatureInvalid) triggers the re-fetch, since
    that is what a rotated key looks like; time, coverage and digest failures do not.
    Raises SignatureError, or the key fetch's FetchError / KeyFormatError.
    """
    key_id = signature_key_id(request.headers)
    key = await keys.get(key_id)
    try:
        return verify_request(request, key, now, require_digest=require_digest)
    except SignatureInvalid:
        fresh = await keys.refresh(key_id)
        if fresh is None:
            raise
        return verify_request(request, fresh, now, require_digest=require_digest)
