"""The inbox's token buckets: refill, what they say to wait, and bounded memory."""

from __future__ import annotations

import pytest

from instance.inbox.ratelimit import Buckets, InboxLimits
from instance.problems import Problem


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_refills_at_its_rate_and_says_how_long_to_wait() -> None:
    clock = Clock()
    buckets = Buckets(60, 2, max_keys=10, clock=clock)
    assert [buckets.take("a"), buckets.take("a")] == [0.0, 0.0]
    assert buckets.take("a") == pytest.approx(1.0)
    assert buckets.wait("a") == pytest.approx(1.0)
    clock.now += 0.5
    assert buckets.wait("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("b") == 0.0  # another key has its own bucket


def test_zero_a_minute_is_no_limit() -> None:
    buckets = Buckets(0, 1, max_keys=10)
    assert all(buckets.take("a") == 0.0 for _ in range(1000))
    assert len(buckets) == 0


def test_memory_is_bounded_by_forgetting_the_least_recent() -> None:
    buckets = Buckets(60, 1, max_keys=100, clock=Clock())
    buckets.take("busy")
    for n in range(10_000):
        buckets.take(f"sender{n}")
        if n % 50 == 0:
            buckets.wait("busy")  # recently seen: kept
    assert len(buckets) == 100
    assert buckets.wait("busy") > 0


def test_checking_spends_nothing_and_only_a_charge_does() -> None:
    clock = Clock()
    limits = InboxLimits(
        actor_per_minute=60,
        actor_burst=1,
        host_per_minute=600,
        host_burst=10,
        max_keys=100,
        clock=clock,
    )
    key = "https://peer.test/users/m#main-key"
    for _ in range(5):
        limits.check(key)
    limits.charge(key, "https://peer.test/users/m")
    with pytest.raises(Problem) as refused:
        limits.check(key)  # the key's actor is known now: refused before verification
    assert refused.value.status == 429
    assert refused.value.headers == {"Retry-After": "1"}
    with pytest.raises(Problem):
        limits.charge(key, "https://peer.test/users/m")
    limits.charge("https://peer.test/users/n#main-key", "https://peer.test/users/n")
