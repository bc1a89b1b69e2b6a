"""Inbox flood: what one actor sending as fast as it can stores, and what a 429 costs.

One remote actor sends ``--activities`` distinct signed ``Create{Note}`` activities to
a real ``oce serve`` (SQLite), ``--concurrency`` in flight, twice on fresh databases:

* **unlimited**: the inbox rate limits off (``OCE_INBOX_ACTOR_PER_MINUTE=0``,
  ``OCE_INBOX_HOST_PER_MINUTE=0``), as before they existed;
* **limited**: the default limits (600 a minute, bursts of 120, per actor).

For each it prints the answers, the bytes of stored inbox bodies and headers (and the
database files), and the server's CPU per request while answering (the inbox
processor works meanwhile too). Then, once every stored activity is processed, it
runs the worker's pruning pass as if 31 days had gone by and prints the bytes left
(the notes back no ledger record, so none are left). A third run limits the actor to
1 a minute, so nearly every answer is a 429: its CPU per request is what a 429 costs,
printed beside an accepted activity's and a bare Starlette app's 202.

    PYTHONPATH=. python -m bench.inbox_flood [--activities 3000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from bench.inbox_ingest import (
    Plan,
    Result,
    cpu_seconds,
    remote_actors,
    seed_agents,
    send,
    sign_all,
)
from bench.load import percentile
from bench.peers import key_pool
from bench.servers import bare_server, free_port, oce_server, sqlite_url
from instance.settings import Settings
from instance.store.db import Database
from instance.store.models import InboxItem, utcnow
from instance.store.retention import prune

UNLIMITED = {"OCE_INBOX_ACTOR_PER_MINUTE": "0", "OCE_INBOX_HOST_PER_MINUTE": "0"}
TINY = {"OCE_INBOX_ACTOR_PER_MINUTE": "1", "OCE_INBOX_ACTOR_BURST": "1"}
#: The defaults (the bench servers turn the limits off unless told).
LIMITED = {
    "OCE_INBOX_ACTOR_PER_MINUTE": str(Settings().inbox_actor_per_minute),
    "OCE_INBOX_HOST_PER_MINUTE": str(Settings().inbox_host_per_minute),
}


async def stored_bytes(database: str) -> int:
    db = Database.from_url(database)
    try:
        async with db.read() as session:
            total = await session.scalar(
                select(
                    func.coalesce(
                        func.sum(func.length(InboxItem.body) + func.length(InboxItem.headers)), 0
                    )
                )
            )
            return int(total or 0)
    finally:
        await db.dispose()


def file_bytes(database: str) -> int:
    path = Path(database.removeprefix("sqlite+aiosqlite:///"))
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


async def prune_later(database: str) -> int:
    db = Database.from_url(database)
    try:
        defaults = Settings()
        pruned = await prune(
            db,
            inbox_days=defaults.inbox_retention_days,
            delivery_days=defaults.delivery_retention_days,
            now=utcnow() + timedelta(days=31),
        )
    finally:
        await db.dispose()
    return pruned.inbox_deleted


async def pending(database: str) -> int:
    db = Database.from_url(database)
    try:
        async with db.read() as session:
            count = await session.scalar(
                select(func.count()).select_from(InboxItem).where(InboxItem.state == "pending")
            )
            return int(count or 0)
    finally:
        await db.dispose()


@dataclass
class Run:
    result: Result
    cpu: float

    @property
    def cpu_per_request(self) -> float:
        return self.cpu / len(self.result.latencies)


async def flood(label: str, actors_base: str, args: argparse.Namespace, env: dict[str, str]) -> Run:
    """One run on a fresh database: the answers, the bytes kept, the server's CPU."""
    database = sqlite_url()
    port = free_port()
    plan = Plan(
        f"http://127.0.0.1:{port}",
        actors_base,
        1,
        ("member0",),
        label,
        tuple(pair.private_pem for pair in key_pool()),
    )
    await seed_agents(database, 1)
    requests = await sign_all(plan, args.activities + 1)
    async with oce_server(database, port, **env) as server:
        # The actor's key is fetched once, outside the measured window.
        warm = await send(server.base_url, requests[:1], 1, separate=False)
        assert warm.accepted == 1, warm.statuses
        cpu = cpu_seconds(server.pid)
        result = await send(server.base_url, requests[1:], args.concurrency)
        cpu = cpu_seconds(server.pid) - cpu
        # The inbox processor finishes before we measure what stays.
        deadline = time.monotonic() + 300
        while await pending(database) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.5)
    run = Run(result, cpu)
    p50 = percentile(result.latencies, 0.5) * 1000
    print(f"\n{label}")
    print(f"  answers: {dict(sorted(result.statuses.items()))} in {result.seconds:.1f} s")
    print(
        f"  server CPU while answering: {run.cpu_per_request * 1000:.3f} ms a request, "
        f"p50 {p50:.1f} ms"
    )
    stored = await stored_bytes(database)
    on_disk = file_bytes(database)
    print(f"  stored inbox bodies+headers: {stored:,} bytes; database files {on_disk:,}")
    deleted = await prune_later(database)
    print(
        f"  after the worker's pruning pass 31 days on: {await stored_bytes(database):,} bytes "
        f"({deleted} bodies removed)"
    )
    return run


async def bare_cost(actors_base: str, args: argparse.Namespace) -> float:
    """Server CPU a request costs the bare Starlette app (202, no work at all)."""
    async with bare_server() as bare:
        plan = Plan(
            bare.base_url,
            actors_base,
            1,
            ("member0",),
            "bare",
            tuple(pair.private_pem for pair in key_pool()),
        )
        requests = await sign_all(plan, args.activities)
        cpu = cpu_seconds(bare.pid)
        await send(bare.base_url, requests, args.concurrency)
        return (cpu_seconds(bare.pid) - cpu) / len(requests)


async def run(args: argparse.Namespace) -> None:
    print(
        f"{args.activities:,} signed Create{{Note}} from one actor, {args.concurrency} in "
        f"flight; {os.cpu_count()} cores shared with the server"
    )
    async with remote_actors() as (actors_base, _served):
        began = time.perf_counter()
        unlimited = await flood("unlimited", actors_base, args, UNLIMITED)
        await flood("limited (defaults)", actors_base, args, LIMITED)
        # Nearly every request over the limit: what a 429 alone costs.
        refusing = await flood("limited to 1 a minute (nearly all 429)", actors_base, args, TINY)
        bare = await bare_cost(actors_base, args)
        print(f"\n(all runs in {time.perf_counter() - began:.0f} s)")
    accepted = unlimited.cpu_per_request
    refused = refusing.cpu_per_request
    print(
        f"server CPU a request: accepted {accepted * 1000:.3f} ms, refused 429 "
        f"{refused * 1000:.3f} ms ({refused / accepted:.0%} of it), bare Starlette 202 "
        f"{bare * 1000:.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--activities", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
