from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.errors import FetchBusy, FetchFailed, SignatureInvalid, SignatureTimeError
from federation.headers import Headers
from federation.httpsig import sign_request
from federation.keycache import KeyCache, verify_signed_request
from federation.keys import RemoteKey
from federation.request import RequestParts

from .conftest import NOW


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


# --- the verify-then-refresh rule that makes key rotation work ----------------------------


def _signed_request(key: rsa.RSAPrivateKey, key_id: str = "https://a.example/u#k") -> RequestParts:
    body = b"{}"
    added = sign_request("POST", "https://local.example/inbox", {}, body, key_id, key, NOW)
    return RequestParts("POST", "/inbox", "local.example", Headers(added), body)


async def test_rotated_key_is_refetched_once(
    fetcher: Fetcher, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    clock = Clock()
    cache = KeyCache(fetcher, clock=clock)
    await cache.get("https://a.example/u#k")  # cached: the old key
    fetcher.key = other_rsa_key  # the actor rotated its key
    clock.now += 61
    verified = await verify_signed_request(
        _signed_request(other_rsa_key), cache, NOW, require_digest=True
    )
    assert verified.actor_id == "https://a.example/u"
    assert len(fetcher.calls) == 2


async def test_refetch_is_rate_limited_and_the_failure_stands(
    fetcher: Fetcher, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    cache = KeyCache(fetcher, clock=Clock())
    request = _signed_request(other_rsa_key)  # signed with a key the actor never published
    with pytest.raises(SignatureInvalid):
        await verify_signed_request(request, cache, NOW, require_digest=True)
    assert len(fetcher.calls) == 1  # fetched just now by get(): refresh declined


async def test_time_errors_do_not_trigger_a_refetch(
    fetcher: Fetcher, rsa_key: rsa.RSAPrivateKey
) -> None:
    clock = Clock()
    cache = KeyCache(fetcher, clock=clock)
    clock.now += 61
    with pytest.raises(SignatureTimeError):
        await verify_signed_request(
            _signed_request(rsa_key), cache, NOW + timedelta(hours=13), require_digest=True
        )
    assert len(fetcher.calls) == 1


async def test_refresh_uses_the_refetch_function_when_given(rsa_key: rsa.RSAPrivateKey) -> None:
    # A shared store answers `get`; a failed verification must bypass it and ask the
    # key's server, or every process would keep re-reading the same stale key.
    store, server = Fetcher(rsa_key), Fetcher(rsa_key)
    clock = Clock()
    cache = KeyCache(store, refetch_key=server, clock=clock)
    await cache.get("k")
    clock.now += 61
    assert await cache.refresh("k") is not None
    assert store.calls == ["k"]
    assert server.calls == ["k"]


async def test_refresh_takes_a_newer_stored_key_before_the_network(
    rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    # Another process stored the rotated key: no fetch, and no rate limit on reading it.
    server = Fetcher(rsa_key)
    stored: dict[str, RemoteKey] = {}

    async def reload(key_id: str) -> RemoteKey | None:
        return stored.get(key_id)

    cache = KeyCache(server, reload_key=reload, clock=Clock())
    await cache.get("k")
    assert await cache.refresh("k") is None  # the store has nothing newer; rate-limited
    stored["k"] = RemoteKey("k", "u", other_rsa_key.public_key())
    fresh = await cache.refresh("k")
    assert fresh is not None
    assert fresh.pem == stored["k"].pem
    assert (await cache.get("k")).pem == stored["k"].pem
    assert server.calls == ["k"]


async def test_misses_on_one_host_are_capped_and_the_rest_refused_at_once(
    fetcher: Fetcher,
) -> None:
    """A host whose keys hang holds at most a few lookups; further keys of it are
    refused at once (FetchBusy), and other hosts' keys are looked up as usual."""
    fetcher.delay = 0.5
    cache = KeyCache(fetcher, max_pending_per_host=2)
    hanging = [asyncio.create_task(cache.get(f"https://slow.example/u{n}#k")) for n in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(FetchBusy) as caught:
        await cache.get("https://slow.example/u3#k")
    assert caught.value.retry_after > 0
    assert "2 other keys of slow.example" in str(caught.value)
    other = await cache.get("https://fine.example/u#k")
    assert other.key_id == "https://fine.example/u#k"
    await asyncio.gather(*hanging)
    # Once they are done, the host may be asked again.
    assert (await cache.get("https://slow.example/u3#k")).key_id.endswith("u3#k")
    assert "https://slow.example/u3#k" in fetcher.calls
