"""Host health: pause deliveries to a host that keeps failing, resume when it answers.

A pure state machine over a small frozen value the queue stores per host:

    healthy ──(≥ pause_after_failures host failures over ≥ pause_after_span)──▶ paused
    paused ──(paused_until passes)──▶ probe-due ──(start_probe: one delivery goes)──▶ paused
    any ──(a delivery succeeds, or the host sends us a signed request)──▶ healthy

While paused no delivery to the host is attempted and attempts are not counted; each
probe that fails doubles the wait before the next, up to `max_probe_interval`. Only
failures of the host itself count (no answer, or 5xx: `Outcome.host_failed`); a 4xx
means the host is up.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

__all__ = [
    "HostHealth",
    "HostPolicy",
    "HostState",
    "host_state",
    "record_contact",
    "record_failure",
    "record_success",
    "start_probe",
]

HostState = Literal["healthy", "paused", "probe-due"]


@dataclass(frozen=True)
class HostPolicy:
    """When to pause a host and how often to probe it while paused."""

    pause_after_failures: int = 10
    pause_after_span: timedelta = timedelta(minutes=30)
    first_probe_after: timedelta = timedelta(minutes=15)
    max_probe_interval: timedelta = timedelta(hours=12)


DEFAULT_POLICY = HostPolicy()


@dataclass(frozen=True)
class HostHealth:
    """What we know of one remote host's recent failures; store it with the host."""

    consecutive_failures: int = 0
    failing_since: datetime | None = None
    paused_until: datetime | None = None
    probe_interval: timedelta | None = None

    @property
    def paused(self) -> bool:
        """True while deliveries to this host are held back (including probe-due)."""
        return self.paused_until is not None


def host_state(health: HostHealth, now: datetime) -> HostState:
    """ "healthy" (deliver), "paused" (hold), or "probe-due" (let one delivery through)."""
    if health.paused_until is None:
        return "healthy"
    return "paused" if now < health.paused_until else "probe-due"


def record_failure(
    health: HostHealth, now: datetime, policy: HostPolicy = DEFAULT_POLICY
) -> HostHealth:
    """A delivery to the host failed because the host seems down; maybe pause it."""
    failures = health.consecutive_failures + 1
    since = health.failing_since or now
    updated = replace(health, consecutive_failures=failures, failing_since=since)
    if health.paused:
        return updated
    if failures >= policy.pause_after_failures and now - since >= policy.pause_after_span:
        return replace(
            updated,
            paused_until=now + policy.first_probe_after,
            probe_interval=policy.first_probe_after,
        )
    return updated


def start_probe(
    health: HostHealth, now: datetime, policy: HostPolicy = DEFAULT_POLICY
) -> HostHealth:
    """One delivery goes out as a probe: hold the others until the next probe time."""
    if health.paused_until is None:
        return health
    interval = min(
        (health.probe_interval or policy.first_probe_after) * 2, policy.max_probe_interval
    )
    return replace(health, paused_until=now + interval, probe_interval=interval)


def record_success(health: HostHealth) -> HostHealth:
    """A delivery got an answer that shows the host is up: back to healthy."""
    return HostHealth()


def record_contact(health: HostHealth) -> HostHealth:
    """The host sent us a validly signed request: it is up, resume deliveries."""
    return HostHealth()
