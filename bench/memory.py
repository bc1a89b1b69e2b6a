"""Memory: the resident size of one ``oce serve`` on SQLite, idle and after a flood.

1. The database gets 1,000 agents (inserted directly), then ``oce serve`` starts; a few
   of the agents' actor documents are read (so the code that answers is loaded) and
   the resident memory (RSS, ``bench.load.rss_mib``) is taken: **idle**.
2. 100,000 signed ``Create{Note}`` activities (``bench.inbox_ingest``'s requests, from
   200 loopback actors, to random agents) are posted to ``/inbox``, 64 in flight, in
   rounds of 10,000 signed while the server keeps processing: RSS **right after**.
3. The inbox processor (part of ``oce serve``) works through every stored activity;
   RSS **after processing**, and the peak seen while sampling.

Targets: idle < 100 MiB, after < 200 MiB. Baseline: the bare Starlette server idle.

    PYTHONPATH=. python -m bench.memory [--agents 1000] [--activities 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from bench.inbox_ingest import (
    Ingest,
    Plan,
    cpu_seconds,
    inbox_rows,
    remote_actors,
    seed_agents,
    send,
    sign_all,
    warm_up,
)
from bench.load import rss_mib
from bench.peers import key_pool
from bench.servers import bare_server, free_port, oce_server, sqlite_url

TARGET_IDLE_MIB = 60.0
TARGET_AFTER_MIB = 150.0
ROUND = 10_000


def _verdict(value: float, target: float) -> str:
    return f"target < {target:.0f} MiB: {'met' if value < target else 'MISSED'}"


async def _sampled(pid: int, peak: list[float], until: asyncio.Event) -> None:
    while not until.is_set():
        peak[0] = max(peak[0], rss_mib(pid))
        await asyncio.sleep(0.5)


async def run(args: argparse.Namespace) -> None:
    async with bare_server() as bare, httpx.AsyncClient() as client:
        await client.get(f"{bare.base_url}/nodeinfo/2.1")
        await asyncio.sleep(1)
        baseline = rss_mib(bare.pid)
    print(f"baseline: bare Starlette under uvicorn, idle: {baseline:.1f} MiB")

    database = sqlite_url()
    port = free_port()
    began = time.perf_counter()
    names = await seed_agents(database, args.agents)
    print(f"\nSQLite, {args.agents:,} agents (inserted in {time.perf_counter() - began:.1f} s)")
    async with remote_actors() as (actors_base, _served), oce_server(database, port) as server:
        async with httpx.AsyncClient() as client:
            for name in names[:20]:
                response = await client.get(
                    f"{server.base_url}/agents/{name}",
                    headers={"Accept": "application/activity+json"},
                )
                response.raise_for_status()
        await asyncio.sleep(2)
        idle = rss_mib(server.pid)
        print(
            f"  idle:                      {idle:6.1f} MiB  ({idle / baseline:.1f}x the baseline; "
            f"{_verdict(idle, TARGET_IDLE_MIB)})"
        )

        plan = Plan(
            server.base_url,
            actors_base,
            args.actors,
            tuple(names),
            "mem",
            tuple(pair.private_pem for pair in key_pool()),
        )
        peak = [idle]
        stop = asyncio.Event()
        sampler = asyncio.create_task(_sampled(server.pid, peak, stop))
        warm = await warm_up(Ingest(server, database, plan), args.concurrency)
        accepted = warm.accepted
        began = time.perf_counter()
        sending = 0.0
        for first in range(0, args.activities, ROUND):
            requests = await sign_all(plan, min(ROUND, args.activities - first), first)
            result = await send(server.base_url, requests, args.concurrency)
            sending += result.seconds
            accepted += result.accepted
            if result.accepted != len(requests):
                print(f"  not accepted: {result.statuses} {result.errors[:1]}")
        after = rss_mib(server.pid)
        print(
            f"  after {accepted:,} activities: {after:6.1f} MiB  ({after / baseline:.1f}x; "
            f"{_verdict(after, TARGET_AFTER_MIB)}); sent in {sending:.0f} s "
            f"({time.perf_counter() - began:.0f} s with signing)"
        )

        began = time.perf_counter()
        cpu = cpu_seconds(server.pid)
        pending = await inbox_rows(database, pending=True)
        print(f"  waiting for the processor: {pending:,} of them still pending")
        waiting = pending
        while pending and time.perf_counter() - began < args.drain_limit:
            await asyncio.sleep(5)
            pending = await inbox_rows(database, pending=True)
        stop.set()
        await sampler
        seconds = time.perf_counter() - began
        cpu = cpu_seconds(server.pid) - cpu
        print(
            f"  processor: {(waiting - pending) / seconds:.0f} activities/s, "
            f"{cpu / seconds:.0%} of a core"
        )
        processed = rss_mib(server.pid)
        state = "all processed" if not pending else f"{pending:,} STILL PENDING"
        print(
            f"  after processing:          {processed:6.1f} MiB  ({processed / baseline:.1f}x; "
            f"{_verdict(processed, TARGET_AFTER_MIB)}); {state} "
            f"{time.perf_counter() - began:.0f} s later"
        )
        print(f"  peak while sampling:       {max(peak[0], processed):6.1f} MiB")
        stored = await inbox_rows(database)
        print(f"  rows in inbox_items: {stored:,} of {accepted:,} accepted")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--actors", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--drain-limit", type=float, default=900, help="seconds to wait for processing"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
