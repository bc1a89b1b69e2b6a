"""The delivery worker: claims due deliveries, sends them signed, records what happened.

Each delivery is a row (see :class:`~instance.store.models.Delivery`). Sends run
concurrently, bounded overall and per host; each outcome is recorded as soon as it
is known, several per transaction. The answer's classification, the retry schedule
and host pausing are the pure policies of :mod:`federation.delivery` and
:mod:`federation.hosthealth`; this module applies them to the rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from federation import (
    HostHealth,
    HttpSignatureAuth,
    Outcome,
    host_state,
    load_private_key,
    next_attempt_at,
    post_activity,
    record_contact,
    record_failure,
    record_success,
    start_probe,
)
from instance.services import Services
from instance.store.models import Agent, Delivery, InstanceKey, PeerHost, StoredObject, utcnow
from instance.store.queue import Renewing, claim

__all__ = ["CONCURRENCY", "PER_HOST", "DeliveryWorker", "resume_host"]

log = logging.getLogger("oce.delivery")

#: Short, so a crashed worker's deliveries are taken up again within half a minute;
#: :class:`~instance.store.queue.Renewing` keeps it alive while the worker is busy.
LEASE = timedelta(seconds=30)
REQUEST_TIMEOUT = 20.0
#: Sends in flight at once, overall and to any one host.
CONCURRENCY = 64
PER_HOST = 8


#: Batches one worker has in flight at most (each up to ``batch`` deliveries).
BATCHES = 4


class _HostSlots:
    """A semaphore of ``per_host`` slots for each host with sends waiting or going."""

    def __init__(self, per_host: int) -> None:
        self.per_host = per_host
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._users: Counter[str] = Counter()

    @contextlib.asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        semaphore = self._semaphores.setdefault(host, asyncio.Semaphore(self.per_host))
        self._users[host] += 1
        try:
            async with semaphore:
                yield
        finally:
            self._users[host] -= 1
            if not self._users[host]:
                del self._users[host], self._semaphores[host]

    def __len__(self) -> int:
        return len(self._semaphores)


def _batch_done(batches: set[asyncio.Task[None]], batch: asyncio.Task[None]) -> None:
    batches.discard(batch)
    if not batch.cancelled() and (error := batch.exception()) is not None:
        # Its rows keep their lease until it lapses; then they are due again.
        log.error("a batch of deliveries failed", exc_info=error)


@dataclass(frozen=True)
class _Result:
    delivery_id: int
    host: str
    attempts: int
    outcome: Outcome


def _health(row: PeerHost | None) -> HostHealth:
    if row is None:
        return HostHealth()
    interval = timedelta(seconds=row.probe_interval_seconds) if row.probe_interval_seconds else None
    return HostHealth(row.consecutive_failures, row.first_failure_at, row.paused_until, interval)


def _store_health(row: PeerHost, health: HostHealth) -> None:
    row.consecutive_failures = health.consecutive_failures
    row.first_failure_at = health.failing_since
    row.paused_until = health.paused_until
    row.probe_interval_seconds = (
        int(health.probe_interval.total_seconds()) if health.probe_interval else None
    )


async def resume_host(session: AsyncSession, host: str) -> None:
    """The host sent us a signed request: it is up, so what waits for it goes now.

    Only hosts we had trouble with have a row, so for every other sender this is one
    primary-key lookup.
    """
    row = await session.get(PeerHost, host)
    if row is None or (row.consecutive_failures == 0 and row.paused_until is None):
        return
    _store_health(row, record_contact(_health(row)))
    now = utcnow()
    await session.execute(
        update(Delivery)
        .where(Delivery.host == host, Delivery.state == "pending", Delivery.next_attempt_at > now)
        .values(next_attempt_at=now)
    )


class DeliveryWorker:
    """Sends due deliveries with bounded concurrency; ``run_once`` is the test step."""

    def __init__(
        self,
        svc: Services,
        *,
        concurrency: int = CONCURRENCY,
        per_host: int = PER_HOST,
        batch: int = 500,
    ) -> None:
        self.svc = svc
        self.concurrency = concurrency
        self.per_host = per_host
        self.batch = batch
        self._auth: dict[int | None, HttpSignatureAuth] = {}
        self._rng = random.Random()
        # Shared by every batch in flight, so the limits hold however many there are.
        self._overall = asyncio.Semaphore(concurrency)
        self._hosts = _HostSlots(per_host)

    async def _auth_for(self, session: AsyncSession, agent_id: int | None) -> HttpSignatureAuth:
        auth = self._auth.get(agent_id)
        if auth is None:
            urls = self.svc.urls
            if agent_id is None:
                key = await session.scalar(select(InstanceKey).limit(1))
                assert key is not None
                auth = HttpSignatureAuth(urls.instance_key, load_private_key(key.private_key_pem))
            else:
                agent = await session.get(Agent, agent_id)
                assert agent is not None
                auth = HttpSignatureAuth(
                    urls.key(agent.username), load_private_key(agent.private_key_pem)
                )
            self._auth[agent_id] = auth
        return auth

    async def _claim(self) -> list[Delivery]:
        now = utcnow()
        paused = select(PeerHost.host).where(PeerHost.paused_until > now)
        claimed = await claim(
            self.svc.db,
            Delivery,
            limit=self.batch,
            lease=LEASE,
            where=[Delivery.host.not_in(paused)],
        )
        return await self._hold_probes(claimed, now)

    async def _hold_probes(self, claimed: list[Delivery], now: datetime) -> list[Delivery]:
        """A host whose pause has run out gets one delivery as a probe; the rest wait."""
        hosts = {d.host for d in claimed}
        if not hosts:
            return claimed
        async with self.svc.db.write() as session:
            rows = (await session.scalars(select(PeerHost).where(PeerHost.host.in_(hosts)))).all()
            probing = {r.host: r for r in rows if host_state(_health(r), now) == "probe-due"}
            if not probing:
                return claimed
            keep: list[Delivery] = []
            held: list[int] = []
            for delivery in claimed:
                if delivery.host in probing:
                    if delivery.host in {d.host for d in keep}:
                        held.append(delivery.id)
                        continue
                    _store_health(
                        probing[delivery.host], start_probe(_health(probing[delivery.host]), now)
                    )
                keep.append(delivery)
            if held:
                await session.execute(
                    update(Delivery)
                    .where(Delivery.id.in_(held))
                    .values(lease_until=None, attempts=Delivery.attempts - 1)
                )
        return keep

    async def run_once(self) -> int:
        """Claim one batch of due deliveries, send them all, record the outcomes."""
        deliveries = await self._claim()
        if deliveries:
            await self._send_batch(deliveries)
        return len(deliveries)

    async def run(self, wake: asyncio.Event, poll: float | Callable[[], float]) -> None:
        """The worker's loop: claim batches while fewer than ``BATCHES`` are in flight.

        A batch ends when its slowest send does (up to ``REQUEST_TIMEOUT``): claiming the
        next one meanwhile keeps one dead server from holding up every later activity.
        The overall and per-host limits are shared by all batches in flight.
        """
        batches: set[asyncio.Task[None]] = set()
        try:
            while True:
                wake.clear()
                claimed: list[Delivery] = []
                if len(batches) < BATCHES:
                    try:
                        claimed = await self._claim()
                    except Exception:
                        log.exception("claiming deliveries failed; retrying in a second")
                        await asyncio.sleep(1)
                        continue
                if claimed:
                    batch = asyncio.create_task(self._send_batch(claimed), name="oce-deliveries")
                    batches.add(batch)
                    batch.add_done_callback(functools.partial(_batch_done, batches))
                    continue
                # Nothing due, or enough in flight: wait for new work or a batch to end.
                woken = asyncio.create_task(wake.wait())
                try:
                    await asyncio.wait(
                        {woken, *batches},
                        timeout=poll() if callable(poll) else poll,
                        return_when="FIRST_COMPLETED",
                    )
                finally:
                    woken.cancel()
        finally:
            for batch in batches:
                batch.cancel()
            await asyncio.gather(*batches, return_exceptions=True)

    async def _send_batch(self, deliveries: list[Delivery]) -> None:
        async with self.svc.db.read() as session:
            found = await session.execute(
                select(StoredObject.id, StoredObject.body).where(
                    StoredObject.id.in_({d.object_id for d in deliveries})
                )
            )
            bodies = {row_id: body.encode() for row_id, body in found}
            auths = {
                d.sender_agent_id: await self._auth_for(session, d.sender_agent_id)
                for d in deliveries
            }
        results: list[_Result] = []
        flush_lock = asyncio.Lock()

        async def send(delivery: Delivery) -> None:
            # The host's slot first: a send waiting for a busy host must not hold one of
            # the overall slots that sends to other hosts could use meanwhile.
            async with self._hosts.slot(delivery.host), self._overall:
                if await self.svc.blocklist.is_blocked(delivery.inbox):
                    outcome = Outcome("permanent", "the domain is blocked")
                else:
                    outcome = await post_activity(
                        self.svc.http,
                        delivery.inbox,
                        bodies[delivery.object_id],
                        auths[delivery.sender_agent_id],
                        request_timeout=REQUEST_TIMEOUT,
                    )
            results.append(_Result(delivery.id, delivery.host, delivery.attempts, outcome))
            if len(results) >= 50:
                async with flush_lock:
                    await self._record(results, leases)

        async with Renewing(self.svc.db, Delivery, {d.id for d in deliveries}, LEASE) as leases:
            try:
                await asyncio.gather(*(send(d) for d in deliveries))
            except asyncio.CancelledError:
                # Stopping: keep what was sent (so it is not sent again); the rest is
                # handed back as the lease block ends.
                async with flush_lock:
                    await self._record(results, leases)
                raise
            async with flush_lock:
                await self._record(results, leases)

    async def _record(self, results: list[_Result], leases: Renewing) -> None:
        """Write the outcomes gathered so far (and empty the list).

        Successes, the common case, are marked done with one UPDATE per answer status;
        each retry or failure has its own schedule and error, so gets its own.
        """
        if not results:
            return
        batch = results[:]
        results.clear()
        now = utcnow()
        done: dict[int | None, list[int]] = defaultdict(list)
        async with self.svc.db.write() as session:
            for result in batch:
                outcome = result.outcome
                if outcome.kind == "done":
                    done[outcome.status].append(result.delivery_id)
                    continue
                values: dict[str, object] = {
                    "lease_until": None,
                    "last_status": outcome.status,
                    "last_error": outcome.reason[:2000],
                }
                retry = next_attempt_at(outcome, result.attempts, now, self._rng)
                if retry is None:
                    values.update(state="failed", done_at=now)
                    log.info("giving up delivery %d: %s", result.delivery_id, outcome.reason)
                else:
                    values.update(next_attempt_at=retry)
                # Only while pending: should this worker's lease have lapsed and another
                # worker have sent it too, the first outcome recorded stands.
                await session.execute(
                    update(Delivery)
                    .where(Delivery.id == result.delivery_id, Delivery.state == "pending")
                    .values(**values)
                )
            for status, ids in done.items():  # the usual case, in one statement each
                await session.execute(
                    update(Delivery)
                    .where(Delivery.id.in_(sorted(ids)), Delivery.state == "pending")
                    .values(
                        state="done",
                        done_at=now,
                        lease_until=None,
                        last_status=status,
                        last_error=None,
                    )
                )
            await self._record_hosts(session, batch, now)
        for result in batch:
            leases.finished(result.delivery_id)

    async def _record_hosts(
        self, session: AsyncSession, batch: list[_Result], now: datetime
    ) -> None:
        by_host: dict[str, list[Outcome]] = defaultdict(list)
        for result in batch:
            by_host[result.host].append(result.outcome)
        rows = {
            r.host: r
            for r in (
                await session.scalars(select(PeerHost).where(PeerHost.host.in_(by_host)))
            ).all()
        }
        for host, outcomes in by_host.items():
            failed = [o for o in outcomes if o.host_failed]
            alive = len(failed) < len(outcomes)
            row = rows.get(host)
            if row is None:
                if alive:
                    continue  # a healthy host we never had trouble with: nothing to keep
                row = PeerHost(host=host, consecutive_failures=0)
                session.add(row)
            health = _health(row)
            if alive:
                health = record_success(health)
                row.last_success_at = now
            else:
                for _ in failed:
                    health = record_failure(health, now)
                row.last_error = failed[-1].reason[:2000]
            _store_health(row, health)
