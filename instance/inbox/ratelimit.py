"""Inbox rate limits: token buckets per sending actor and per sending host.

Each bucket holds up to ``burst`` tokens and refills at ``per_minute``; an activity
takes one token from its actor's bucket and one from its host's. An empty bucket
answers 429 with ``Retry-After`` (the seconds until a token is back).

Only a verified request spends tokens (:meth:`InboxLimits.charge`), so nobody can use
up a peer's allowance by sending requests under its key id that do not verify. Before
anything costly (reading the body, checking the signature), :meth:`InboxLimits.check`
looks at the buckets the claimed key id would charge and refuses at once when they
are empty: a sender over its limit costs a header parse and two dictionary look-ups.

Memory is bounded: each table keeps at most ``max_keys`` buckets, forgetting the least
recently used (a forgotten sender starts again with a full bucket, which is what an
idle one would have by then anyway).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from instance.problems import Problem
from instance.settings import Settings

__all__ = ["Buckets", "InboxLimits"]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class Buckets:
    """Token buckets by key, at most ``max_keys`` of them (least recently used go)."""

    def __init__(
        self,
        per_minute: int,
        burst: int,
        *,
        max_keys: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(max(burst, 1))
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def __len__(self) -> int:
        return len(self._buckets)

    def _refilled(self, key: str, now: float) -> _Bucket | None:
        bucket = self._buckets.get(key)
        if bucket is None:
            return None
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        self._buckets.move_to_end(key)
        return bucket

    def wait(self, key: str) -> float:
        """Seconds until ``key`` has a token (0: it has one now). Spends nothing."""
        if not self.enabled:
            return 0.0
        bucket = self._refilled(key, self.clock())
        if bucket is None or bucket.tokens >= 1:
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def take(self, key: str) -> float:
        """Spend a token of ``key``; return 0, or the seconds to wait when there is none."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        bucket = self._refilled(key, now)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        if bucket.tokens < 1:
            return (1 - bucket.tokens) / self.rate
        bucket.tokens -= 1
        return 0.0


def _host(uri: str) -> str:
    try:
        return urlsplit(uri).netloc.lower()
    except ValueError:
        return uri


def _too_many(who: str, wait: float) -> Problem:
    seconds = max(1, math.ceil(wait))
    return Problem(
        429,
        f"too many activities from {who}; try again in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


class InboxLimits:
    """The inbox's two tables of buckets: by sending actor and by sending host."""

    def __init__(
        self,
        *,
        actor_per_minute: int,
        actor_burst: int,
        host_per_minute: int,
        host_burst: int,
        max_keys: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.actors = Buckets(actor_per_minute, actor_burst, max_keys=max_keys, clock=clock)
        self.hosts = Buckets(host_per_minute, host_burst, max_keys=max_keys, clock=clock)
        #: Key id -> the actor it verified as, so :meth:`check` can find the actor's
        #: bucket before verifying (bounded like the buckets).
        self._owners: OrderedDict[str, str] = OrderedDict()
        self._max_keys = max_keys

    @classmethod
    def from_settings(cls, settings: Settings) -> InboxLimits:
        return cls(
            actor_per_minute=settings.inbox_actor_per_minute,
            actor_burst=settings.inbox_actor_burst,
            host_per_minute=settings.inbox_host_per_minute,
            host_burst=settings.inbox_host_burst,
            max_keys=settings.rate_limit_senders,
        )

    def check(self, key_id: str) -> None:
        """Refuse (429) at once when the claimed key's host or actor is out of tokens."""
        host = _host(key_id)
        if wait := self.hosts.wait(host):
            raise _too_many(host, wait)
        actor = self._owners.get(key_id)
        if actor is not None and (wait := self.actors.wait(actor)):
            raise _too_many(actor, wait)

    def charge(self, key_id: str, actor: str) -> None:
        """Spend one token of the verified actor and one of its host, or refuse (429)."""
        self._owners[key_id] = actor
        self._owners.move_to_end(key_id)
        while len(self._owners) > self._max_keys:
            self._owners.popitem(last=False)
        host = _host(actor)
        for buckets, key in ((self.actors, actor), (self.hosts, host)):
            if wait := buckets.wait(key):
                raise _too_many(key, wait)
        self.actors.take(actor)
        self.hosts.take(host)
