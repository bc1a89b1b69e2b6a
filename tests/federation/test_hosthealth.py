from __future__ import annotations

from datetime import datetime, timedelta

from federation.hosthealth import (
    HostHealth,
    HostPolicy,
    host_state,
    record_contact,
    record_failure,
    record_success,
    start_probe,
)

from .conftest import NOW

POLICY = HostPolicy(
    pause_after_failures=3,
    pause_after_span=timedelta(minutes=10),
    first_probe_after=timedelta(minutes=15),
    max_probe_interval=timedelta(hours=1),
)


def fail(
    health: HostHealth, times: int, every: timedelta, start: datetime = NOW
) -> tuple[HostHealth, datetime]:
    moment = start
    for _ in range(times):
        health = record_failure(health, moment, POLICY)
        moment += every
    return health, moment - every


def test_a_few_failures_do_not_pause() -> None:
    health, _ = fail(HostHealth(), 2, timedelta(minutes=30))
    assert health.consecutive_failures == 2
    assert host_state(health, NOW) == "healthy"


def test_many_quick_failures_do_not_pause_before_the_span() -> None:
    health, _ = fail(HostHealth(), 20, timedelta(seconds=10))
    assert host_state(health, NOW) == "healthy"


def test_failures_over_the_span_pause_then_probe() -> None:
    health, last = fail(HostHealth(), 3, timedelta(minutes=5))
    assert health.paused
    assert health.paused_until == last + timedelta(minutes=15)
    assert host_state(health, last) == "paused"
    assert host_state(health, last + timedelta(minutes=15)) == "probe-due"


def test_each_failed_probe_doubles_the_wait_up_to_the_cap() -> None:
    health, last = fail(HostHealth(), 3, timedelta(minutes=5))
    moment = last + timedelta(minutes=15)
    waits = []
    for _ in range(4):
        health = start_probe(health, moment, POLICY)
        assert health.paused_until is not None
        waits.append(health.paused_until - moment)
        health = record_failure(health, moment, POLICY)
        assert host_state(health, moment) == "paused"
        assert health.paused_until is not None
        moment = health.paused_until
    assert waits == [
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=1),
        timedelta(hours=1),
    ]


def test_success_or_contact_resumes() -> None:
    health, _ = fail(HostHealth(), 3, timedelta(minutes=5))
    assert record_success(health) == HostHealth()
    assert record_contact(health) == HostHealth()
    assert host_state(record_contact(health), NOW) == "healthy"


def test_start_probe_on_a_healthy_host_changes_nothing() -> None:
    assert start_probe(HostHealth(), NOW) == HostHealth()
