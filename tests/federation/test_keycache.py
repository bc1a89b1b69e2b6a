from __future__ import annotations

import asyncio

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.errors import FetchFailed
from federation.keycache import KeyCache
from federation.keys import RemoteKey


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Fetcher:
    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self.calls: list[str] = []
        self.key = key
        self.fail = False
        self.delay = 0.0

    async def __call__(self, key_id: str) -> RemoteKey:
        self.calls.append(key_id)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise FetchFailed(key_id, "HTTP 500", 500)
        return RemoteKey(key_id, key_id.partition("#")[0], self.key.public_key())


@pytest.fixture
def fetcher(rsa_key: rsa.RSAPrivateKey) -> Fetcher:
    return Fetcher(rsa_key)


async def test_get_fetches_once_then_serves_from_cache(fetcher: Fetcher) -> None:
    cache = KeyCache(fetcher, clock=Clock())
    first = await cache.get("https://a.example/u#k")
    second = await cache.get("https://a.example/u#k")
    assert first is second
    assert fetcher.calls == ["https://a.example/u#k"]
    assert "https://a.example/u#k" in cache


async def test_entries_expire_after_ttl(fetcher: Fetcher) -> None:
    clock = Clock()
    cache = KeyCache(fetcher, ttl=100, clock=clock)
    await cache.get("k")
    clock.now += 101
    await cache.get("k")
    assert fetcher.calls == ["k", "k"]


async def test_lru_evicts_the_least_recently_used(fetcher: Fetcher) -> None:
    cache = KeyCache(fetcher, max_entries=2, clock=Clock())
    await cache.get("a")
    await cache.get("b")
    await cache.get("a")
    await cache.get("c")
    assert "a" in cache
    assert "c" in cache
    assert "b" not in cache
    assert len(cache) == 2


async def test_refresh_is_rate_limited_per_key(fetcher: Fetcher) -> None:
    clock = Clock()
    cache = KeyCache(fetcher, refresh_interval=60, clock=clock)
    await cache.get("k")
    assert await cache.refresh("k") is None  # fetched a moment ago
    clock.now += 61
    assert await cache.refresh("k") is not None
    assert await cache.refresh("k") is None
    assert await cache.refresh("other") is not None  # the limit is per key
    assert fetcher.calls == ["k", "k", "other"]


async def test_failed_refresh_still_counts_against_the_limit(fetcher: Fetcher) -> None:
    clock = Clock()
    cache = KeyCache(fetcher, clock=clock)
    fetcher.fail = True
    with pytest.raises(FetchFailed):
        await cache.refresh("k")
    assert await cache.refresh("k") is None
    assert fetcher.calls == ["k"]


async def test_rotation_flow_replaces_the_cached_key(
    fetcher: Fetcher, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    clock = Clock()
    cache = KeyCache(fetcher, clock=clock)
    old = await cache.get("k")
    fetcher.key = other_rsa_key
    clock.now += 61
    new = await cache.refresh("k")
    assert new is not None
    assert new.key != old.key
    assert (await cache.get("k")) is new


async def test_concurrent_gets_share_one_fetch(fetcher: Fetcher) -> None:
    fetcher.delay = 0.05
    cache = KeyCache(fetcher, clock=Clock())
    keys = await asyncio.gather(*(cache.get("k") for _ in range(5)))
    assert fetcher.calls == ["k"]
    assert all(key is keys[0] for key in keys)


async def test_concurrent_failure_reaches_every_waiter(fetcher: Fetcher) -> None:
    fetcher.delay = 0.05
    fetcher.fail = True
    cache = KeyCache(fetcher, clock=Clock())
    results = await asyncio.gather(*(cache.get("k") for _ in range(3)), return_exceptions=True)
    assert all(isinstance(result, FetchFailed) for result in results)
    assert fetcher.calls == ["k"]


async def test_put_and_invalidate(fetcher: Fetcher, rsa_key: rsa.RSAPrivateKey) -> None:
    cache = KeyCache(fetcher, clock=Clock())
    cache.put(RemoteKey("k", "owner", rsa_key.public_key()))
    assert (await cache.get("k")).owner == "owner"
    cache.invalidate("k")
    assert "k" not in cache
    assert fetcher.calls == []
