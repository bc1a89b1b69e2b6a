"""Fan-out: one activity from an agent with 10,000 followers on 500 servers.

The followers are seeded directly into the database as remote actors the instance
already knows (no fetches), 20 on each of 500 hosts; every host is a loopback sink on
its own port with one shared inbox (:mod:`bench.sinks`, in a process of its own, which
answers 202 and only counts). Then the agent's client posts one public Note to its
outbox of one ``oce serve``, and we measure the time from the POST until every sink got
the activity, and count the requests each sink got: followers on one server share its
shared inbox, so there must be exactly one per host, 500 in all.

Target: under 0.5 s on SQLite (issue 16; it was 10 s); PostgreSQL is measured and
reported too. The baseline, in the same run, is the same 500 POSTs sent straight to
the sinks by a plain httpx client with the delivery worker's concurrency, unsigned and
unqueued; the ratio says what oce's storing, queueing, signing and recording cost on
top of the network.

    PYTHONPATH=. python -m bench.fanout [--followers 10000] [--hosts 500] [--rounds 3]
        [--no-postgres] [--profile DIR]

Each round posts one more activity to the same server; every round must meet the
target. ``--profile DIR`` samples the server with py-spy (``pip install py-spy``).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import secrets
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvloop
from sqlalchemy import func, insert, select

from bench.peers import key_pool
from bench.servers import (
    Server,
    free_port,
    oce_server,
    postgres_database,
    postgres_reachable,
    sqlite_url,
)
from bench.sinks import HostCount, Sinks, sinks
from instance.outbox.delivery import CONCURRENCY
from instance.store.db import Database
from instance.store.migrate import upgrade
from instance.store.models import Agent, Delivery, Follow, RemoteActor, Token

TARGET_SECONDS = 0.5
CHUNK = 2_000
USERNAME = "author"
WAIT_SECONDS = 120.0
LIMITS = httpx.Limits(max_connections=512, max_keepalive_connections=128)  # as oce serve's


async def _chunks(db: Database, model: type, rows: Sequence[Mapping[str, object]]) -> None:
    for start in range(0, len(rows), CHUNK):
        async with db.write() as session:
            await session.execute(insert(model), list(rows[start : start + CHUNK]))


async def seed(database_url: str, base: str, sinks: Sinks, followers: int) -> str:
    """The author, its followers spread evenly over the sinks; returns its token."""
    key = key_pool(1)[0]
    db = Database.from_url(database_url)
    token = "oce_" + secrets.token_urlsafe(32)
    try:
        await upgrade(db.engine)
        async with db.write() as session:
            author = Agent(
                username=USERNAME,
                kind="Person",
                name="Author",
                private_key_pem=key.private_pem,
                public_key_pem=key.public_pem,
            )
            session.add(author)
            await session.flush()
            author_id = author.id
            session.add(
                Token(
                    agent_id=author_id,
                    digest=hashlib.sha256(token.encode()).hexdigest(),
                    label="bench",
                )
            )
        actors = []
        follows = []
        followee = f"{base}/agents/{USERNAME}"
        for n in range(followers):
            port = sinks.ports[n % len(sinks.ports)]
            uri = f"http://127.0.0.1:{port}/users/f{n}"
            actors.append(
                {
                    "uri": uri,
                    "host": f"127.0.0.1:{port}",
                    "username": f"f{n}",
                    "inbox": f"{uri}/inbox",
                    "shared_inbox": sinks.inbox(port),
                    "followers": f"{uri}/followers",
                }
            )
            follows.append(
                {
                    "activity_uri": f"http://127.0.0.1:{port}/follows/{uuid.uuid4()}",
                    "follower": uri,
                    "followee": followee,
                    "followee_agent_id": author_id,
                    "state": "accepted",
                }
            )
        await _chunks(db, RemoteActor, actors)
        await _chunks(db, Follow, follows)
    finally:
        await db.dispose()
    return token


def _note() -> dict[str, object]:
    return {
        "type": "Note",
        "content": "One note for every follower, on every server at once.",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [f"__BASE__/agents/{USERNAME}/followers"],
    }


async def _all_arrived(sinks: Sinks, began: float) -> dict[int, HostCount]:
    """Poll the sinks until each got at least one request."""
    while True:
        counts = await sinks.counts()
        if all(c.requests for c in counts.values()):
            return counts
        if time.time() - began > WAIT_SECONDS:
            missing = sum(1 for c in counts.values() if not c.requests)
            raise RuntimeError(f"{missing} sinks got nothing in {WAIT_SECONDS:.0f} s")
        await asyncio.sleep(0.02)


async def _all_recorded(database_url: str, began: float) -> float:
    """Poll the database until no delivery is pending; when that was seen."""
    db = Database.from_url(database_url, pool_size=1)
    try:
        while True:
            async with db.read() as session:
                pending = await session.scalar(
                    select(func.count()).select_from(Delivery).where(Delivery.state != "done")
                )
            if not pending:
                return time.time()
            if time.time() - began > WAIT_SECONDS:
                raise RuntimeError(f"{pending} deliveries not done in {WAIT_SECONDS:.0f} s")
            await asyncio.sleep(0.05)
    finally:
        await db.dispose()


def _profile(pid: int, folder: Path, label: str) -> subprocess.Popen[bytes]:
    """py-spy sampling the server (collapsed stacks, for flamegraph tools or grep).

    Only while holding the GIL (``--gil``): uvloop waits for I/O in C, which py-spy
    would otherwise count as busy.
    """
    folder.mkdir(parents=True, exist_ok=True)
    name = label.split(",")[0].lower()
    spy = Path(sys.executable).parent / "py-spy"
    output = str(folder / f"{name}.txt")
    return subprocess.Popen(
        [
            str(spy),
            "record",
            "--pid",
            str(pid),
            "--rate",
            "100",
            "--format",
            "raw",
            "--gil",
            "-o",
            output,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@dataclass
class Run:
    """One activity's fan-out, timed from the client's POST (wall clock, seconds)."""

    answered: float
    arrived: float
    recorded: float
    cpu: float
    counts: dict[int, HostCount]

    @property
    def requests(self) -> list[int]:
        return [c.requests for c in self.counts.values()]

    def exact(self, hosts: int) -> bool:
        return len(self.counts) == hosts and all(r == 1 for r in self.requests)


async def _post_plainly(client: httpx.AsyncClient, url: str, body: bytes) -> None:
    # As post_activity sends (streamed, the answer's body left unread), less the signature.
    request = client.build_request(
        "POST", url, content=body, headers={"Content-Type": "application/activity+json"}
    )
    response = await client.send(request, stream=True)
    await response.aclose()
    if response.status_code != 202:
        raise RuntimeError(f"{url}: {response.status_code}")


async def baseline(sinks: Sinks, body: bytes) -> float:
    """The same POSTs from a plain httpx client: median of three, in seconds."""
    seconds = []
    for _ in range(3):
        await sinks.reset()
        limit = asyncio.Semaphore(CONCURRENCY)
        async with httpx.AsyncClient(limits=LIMITS, timeout=20) as client:

            async def post(
                port: int,
                client: httpx.AsyncClient = client,
                limit: asyncio.Semaphore = limit,
            ) -> None:
                async with limit:
                    await _post_plainly(client, sinks.inbox(port), body)

            began = time.time()
            await asyncio.gather(*(post(port) for port in sinks.ports))
        counts = await _all_arrived(sinks, began)
        seconds.append(max(c.first for c in counts.values()) - began)
    await sinks.reset()
    return statistics.median(seconds)


def _report(runs: list[Run], hosts: int, followers: int, base_seconds: float) -> bool:
    for n, one in enumerate(runs, 1):
        requests = one.requests
        signed = sum(c.signed for c in one.counts.values())
        print(
            f"  activity {n}: POST answered {one.answered:.2f} s, every sink had it "
            f"{one.arrived:.2f} s, all recorded done {one.recorded:.2f} s; server CPU "
            f"{one.cpu:.2f} s; requests {sum(requests):,} ({signed:,} signed), per host "
            f"min {min(requests)} max {max(requests)}"
        )
    seconds = statistics.median(one.arrived for one in runs)
    worst = max(one.arrived for one in runs)
    exact = all(one.exact(hosts) for one in runs)
    met = worst < TARGET_SECONDS and exact
    print(
        f"  median {seconds:.2f} s (worst {worst:.2f} s) to reach {followers:,} followers: "
        f"{hosts / seconds:,.0f} deliveries/s ({followers / seconds:,.0f} followers/s), "
        f"{seconds / base_seconds:.1f}x the baseline's {base_seconds:.2f} s"
    )
    print(
        f"  requests per host: {'all exactly 1' if exact else 'NOT all exactly 1'} "
        f"({hosts:,} shared inboxes); target < {TARGET_SECONDS:g} s with one request per "
        f"host: {'met' if met else 'MISSED'}"
    )
    return met


async def _fan_out(
    server: Server, client: httpx.AsyncClient, token: str, sinks: Sinks, database_url: str
) -> Run:
    import psutil

    await sinks.reset()
    note = json.loads(json.dumps(_note()).replace("__BASE__", server.base_url))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/activity+json"}
    process = psutil.Process(server.pid)
    cpu = sum(process.cpu_times()[:2])
    began = time.time()
    response = await client.post(
        f"{server.base_url}/agents/{USERNAME}/outbox", json=note, headers=headers
    )
    answered = time.time()
    if response.status_code != 201:
        raise RuntimeError(f"outbox POST: {response.status_code} {response.text[:300]}")
    counts = await _all_arrived(sinks, began)
    arrived = max(c.first for c in counts.values())
    recorded = await _all_recorded(database_url, began)
    cpu = sum(process.cpu_times()[:2]) - cpu
    await asyncio.sleep(0.5)  # anything sent twice would be in by now
    counts = await sinks.counts()
    return Run(answered - began, arrived - began, recorded - began, cpu, counts)


async def measure(
    label: str,
    database: Callable[[], Awaitable[str] | str],
    sinks: Sinks,
    followers: int,
    rounds: int,
    base_seconds: float,
    profile: Path | None = None,
) -> bool:
    print(f"\n{label}")
    made = database()
    database_url = made if isinstance(made, str) else await made
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    began = time.perf_counter()
    token = await seed(database_url, base, sinks, followers)
    print(f"  seeded {followers:,} followers on {len(sinks.ports):,} hosts in ", end="")
    print(f"{time.perf_counter() - began:.1f} s")
    runs = []
    async with oce_server(database_url, port) as server, httpx.AsyncClient(timeout=60) as client:
        spy = _profile(server.pid, profile, label) if profile else None
        for _ in range(rounds):
            runs.append(await _fan_out(server, client, token, sinks, database_url))
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            await asyncio.to_thread(spy.wait, 30)
    return _report(runs, len(sinks.ports), followers, base_seconds)


async def run(
    followers: int, hosts: int, rounds: int, postgres: bool, profile: Path | None = None
) -> bool:
    async with sinks(hosts) as running:
        body = json.dumps({"@context": "https://www.w3.org/ns/activitystreams", **_note()})
        base_seconds = await baseline(running, body.encode())
        print(
            f"baseline: {hosts:,} unsigned POSTs from plain httpx, concurrency {CONCURRENCY}: "
            f"{base_seconds:.2f} s"
        )
        label = f"{followers:,} followers on {hosts:,} hosts"
        met = await measure(
            f"SQLite, {label}", sqlite_url, running, followers, rounds, base_seconds, profile
        )
        if postgres and await postgres_reachable():
            async with postgres_database() as url:
                await measure(
                    f"PostgreSQL, {label}", lambda: url, running, followers, rounds, base_seconds
                )
        elif postgres:
            print("\nPostgreSQL is not reachable: skipped")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3, help="activities, one after another")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--profile", type=Path, help="sample the server with py-spy into this folder"
    )
    args = parser.parse_args()
    # The event loop oce serve runs on (uvicorn picks uvloop), for a like-for-like baseline.
    uvloop.run(run(args.followers, args.hosts, args.rounds, not args.no_postgres, args.profile))


if __name__ == "__main__":
    main()
