"""Inbox ingest: how many signed activities a second one ``oce serve`` durably accepts.

Many remote actors (default 200, drawing their RSA keys from ``bench.peers.key_pool``)
are served by a loopback HTTP server this benchmark runs itself; the instance fetches
each actor's key on first use and caches it. Every activity is a distinct
``Create{Note}`` addressed to a local agent, signed the way Mastodon signs
(draft-cavage rsa-sha256 over ``(request-target) host date digest content-type``, with
``federation.httpsig.sign_request``), and POSTed to the shared inbox ``/inbox``.

* All requests are signed before any clock starts (on both cores), as raw HTTP/1.1
  bytes; the load generator is a separate process sending them over keep-alive
  connections (default 64 in flight) with plain asyncio streams.
* A warm-up (every actor a few times) comes first, so the key fetches are outside the
  measured window.
* Only 202 counts; afterwards the rows in ``inbox_items`` are counted to check that
  every accepted activity was stored.
* Baseline, in the same run: the bare Starlette ``POST /inbox`` (202, no checks), sent
  exactly the same request bytes by the same load generator. Target: oce ≥ 0.35 of its
  requests a second.

The machine has few cores: the server, its inbox processor (part of ``oce serve``, it
works through the stored activities meanwhile) and the load generator share them, so
the figures are lower bounds for a server with a core of its own.

    PYTHONPATH=. python -m bench.inbox_ingest [--activities 10000] [--concurrency 64]
                                              [--actors 200] [--no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import uvicorn
from sqlalchemy import func, insert, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.load import percentile
from bench.peers import KeyPair, key_pool
from bench.servers import (
    Server,
    bare_server,
    free_port,
    oce_server,
    postgres_database,
    postgres_reachable,
    sqlite_url,
)
from federation.httpsig import sign_request
from instance.store.db import Database
from instance.store.migrate import upgrade
from instance.store.models import Agent, InboxItem

TARGET_RATIO = 0.35
CONTENT_TYPE = "application/activity+json"
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"


# Remote actors -------------------------------------------------------------------------


def _actor_document(base: str, n: int) -> dict[str, object]:
    keys = key_pool()
    uri = f"{base}/actors/a{n}"
    return {
        "@context": [AS_CONTEXT, "https://w3id.org/security/v1"],
        "id": uri,
        "type": "Person",
        "preferredUsername": f"a{n}",
        "inbox": f"{uri}/inbox",
        "outbox": f"{uri}/outbox",
        "publicKey": {
            "id": f"{uri}#main-key",
            "owner": uri,
            "publicKeyPem": keys[n % len(keys)].public_pem,
        },
    }


@asynccontextmanager
async def remote_actors() -> AsyncIterator[tuple[str, Counter[str]]]:
    """A loopback server for the remote actors' documents; yields its base URL and a
    count of the documents it served."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    served: Counter[str] = Counter()

    async def actor(request: Request) -> Response:
        name = request.path_params["name"]
        served[name] += 1
        document = _actor_document(base, int(name.removeprefix("a")))
        return JSONResponse(document, media_type=CONTENT_TYPE)

    async def accept(_request: Request) -> Response:
        return Response(status_code=202)

    app = Starlette(
        routes=[
            Route("/actors/{name}", actor),
            Route("/actors/{name}/inbox", accept, methods=["POST"]),
        ]
    )
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event for it)
        await asyncio.sleep(0.01)
    try:
        yield base, served
    finally:
        server.should_exit = True
        await task


# Local agents -------------------------------------------------------------------------


async def seed_agents(database_url: str, count: int) -> list[str]:
    """Migrate the database and insert ``count`` agents directly; their usernames."""
    keys = key_pool()
    db = Database.from_url(database_url)
    names = [f"member{n}" for n in range(count)]
    try:
        await upgrade(db.engine)
        for start in range(0, count, 5000):
            async with db.write() as session:
                await session.execute(
                    insert(Agent),
                    [
                        {
                            "username": name,
                            "kind": "Person",
                            "name": name.title(),
                            "summary": "",
                            "private_key_pem": keys[n % len(keys)].private_pem,
                            "public_key_pem": keys[n % len(keys)].public_pem,
                        }
                        for n, name in enumerate(names[start : start + 5000], start)
                    ],
                )
    finally:
        await db.dispose()
    return names


async def inbox_rows(database_url: str, *, pending: bool = False) -> int:
    db = Database.from_url(database_url)
    try:
        async with db.read() as session:
            query = select(func.count()).select_from(InboxItem)
            if pending:
                query = query.where(InboxItem.state == "pending")
            return int(await session.scalar(query) or 0)
    finally:
        await db.dispose()


# Requests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What to sign: ``count`` activities from ``actors`` actors at ``actors_base`` to
    the agents ``recipients`` of the instance at ``instance_base``."""

    instance_base: str
    actors_base: str
    actors: int
    recipients: tuple[str, ...]
    tag: str
    #: The actors' private keys, PEM (the pool is generated per process, so it travels).
    private_pems: tuple[str, ...] = ()


def _sign_chunk(plan: Plan, indices: range) -> list[bytes]:
    keys = [KeyPair(pem, "").private_key for pem in plan.private_pems]
    target = f"{plan.instance_base}/inbox"
    host = urlsplit(plan.instance_base).netloc
    now = datetime.now(UTC)
    rng = random.Random(indices.start)
    out = []
    for i in indices:
        n = i % plan.actors
        actor = f"{plan.actors_base}/actors/a{n}"
        recipient = f"{plan.instance_base}/agents/{plan.recipients[i % len(plan.recipients)]}"
        note = f"{actor}/notes/{plan.tag}-{i}"
        activity = {
            "@context": AS_CONTEXT,
            "id": f"{note}/activity",
            "type": "Create",
            "actor": actor,
            "published": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "to": [recipient],
            "object": {
                "id": note,
                "type": "Note",
                "attributedTo": actor,
                "to": [recipient],
                "published": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "content": f"<p>note {i} of run {plan.tag}: {rng.getrandbits(64):x}</p>",
            },
        }
        body = json.dumps(activity).encode()
        signed = sign_request(
            "POST",
            target,
            {"Content-Type": CONTENT_TYPE},
            body,
            f"{actor}#main-key",
            keys[n % len(keys)],
            now,
        )
        head = [
            "POST /inbox HTTP/1.1",
            f"Host: {host}",
            f"Date: {signed['Date']}",
            f"Digest: {signed['Digest']}",
            f"Content-Type: {CONTENT_TYPE}",
            f"Signature: {signed['Signature']}",
            f"Content-Length: {len(body)}",
            "",
            "",
        ]
        out.append("\r\n".join(head).encode("latin-1") + body)
    return out


def _pool() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))


async def sign_all(plan: Plan, count: int, first: int = 0) -> list[bytes]:
    """``count`` raw signed requests, numbered from ``first``, signed on two processes."""
    loop = asyncio.get_running_loop()
    step = 2000
    with _pool() as pool:
        parts = await asyncio.gather(
            *(
                loop.run_in_executor(
                    pool, _sign_chunk, plan, range(s, min(s + step, first + count))
                )
                for s in range(first, first + count, step)
            )
        )
    return [request for part in parts for request in part]


# The load generator (runs in its own process) -------------------------------------------


@dataclass
class Result:
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]
    errors: list[str]

    @property
    def accepted(self) -> int:
        return self.statuses.get(202, 0)

    @property
    def rps(self) -> float:
        return self.accepted / self.seconds


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _blast(host: str, port: int, requests: Sequence[bytes], concurrency: int) -> Result:
    queue = iter(range(len(requests)))
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: list[str] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for i in queue:
                began = time.perf_counter()
                status, body = await _exchange(reader, writer, requests[i])
                latencies.append(time.perf_counter() - began)
                statuses[status] += 1
                if status != 202 and len(errors) < 5:
                    errors.append(f"{status} {body[:300]!r}")
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return Result(time.perf_counter() - began, latencies, dict(statuses), errors)


def _blast_process(host: str, port: int, requests: Sequence[bytes], concurrency: int) -> Result:
    return asyncio.run(_blast(host, port, requests, concurrency))


async def send(
    base_url: str, requests: Sequence[bytes], concurrency: int, *, separate: bool = True
) -> Result:
    """Send ``requests`` to ``base_url``'s host, ``concurrency`` at a time, from a
    separate process (or this one)."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if not separate:
        return await _blast(host, port, requests, concurrency)
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        # Start the process (and its imports) before the requests are timed.
        await loop.run_in_executor(pool, os.getpid)
        return await loop.run_in_executor(pool, _blast_process, host, port, requests, concurrency)


def cpu_seconds(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def report(label: str, result: Result, baseline: Result | None = None) -> str:
    p50 = percentile(result.latencies, 0.5) * 1000
    p99 = percentile(result.latencies, 0.99) * 1000
    line = (
        f"  {label:28} {result.rps:7.0f} activities/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
        f"  ({result.accepted:,} answered 202 in {result.seconds:.1f} s)"
    )
    if baseline is not None:
        ratio = result.rps / baseline.rps
        verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
        line += f"\n  {'':28} {ratio:.2f} of the baseline (target ≥ {TARGET_RATIO}: {verdict})"
    others = {s: c for s, c in result.statuses.items() if s != 202}
    if others:
        line += f"\n  not accepted: {others}; e.g. {result.errors[:2]}"
    return line


# A whole run ---------------------------------------------------------------------------


@dataclass
class Ingest:
    """An ``oce serve`` on a fresh database with agents, plus the remote actors."""

    server: Server
    database: str
    plan: Plan


async def warm_up(ingest: Ingest, concurrency: int, rounds: int = 3) -> Result:
    """Every actor sends ``rounds`` activities (numbered past the measured ones), so its
    key is fetched and cached before the clock starts."""
    plan = ingest.plan
    requests = await sign_all(plan, plan.actors * rounds, first=10_000_000)
    result = await send(ingest.server.base_url, requests, concurrency)
    if result.accepted != len(requests):
        raise RuntimeError(f"warm-up: {result.statuses} {result.errors}")
    return result


async def ingest(
    label: str,
    database: str,
    plan: Plan,
    requests: Sequence[bytes],
    concurrency: int,
    baseline: Result,
) -> Result:
    """Seed one agent, start ``oce serve`` on ``database``, warm up, send ``requests``,
    check that every accepted activity was stored."""
    names = await seed_agents(database, len(plan.recipients))
    assert tuple(names) == plan.recipients
    port = urlsplit(plan.instance_base).port
    assert port is not None
    async with oce_server(database, port) as server:
        ingest = Ingest(server, database, plan)
        began = time.perf_counter()
        warm = await warm_up(ingest, concurrency)
        print(f"\n{label}")
        print(
            f"  warm-up: {warm.accepted} activities, every actor's key fetched and "
            f"cached, in {time.perf_counter() - began:.1f} s (not measured)"
        )
        cpu = cpu_seconds(server.pid)
        result = await send(server.base_url, requests, concurrency)
        cpu = cpu_seconds(server.pid) - cpu
        print(report("oce serve POST /inbox", result, baseline))
        print(
            f"  server CPU: {cpu / len(requests) * 1000:.2f} ms an activity "
            f"({cpu / result.seconds:.0%} of a core over the window)"
        )
        stored = await inbox_rows(database)
        expected = warm.accepted + result.accepted
        verdict = "all stored" if stored == expected else "MISSING ROWS"
        print(f"  rows in inbox_items: {stored:,} of {expected:,} accepted ({verdict})")
    return result


async def run(args: argparse.Namespace) -> None:
    print(
        f"{args.activities:,} signed Create{{Note}} activities from {args.actors} actors, "
        f"{args.concurrency} in flight; load generator in its own process, "
        f"{os.cpu_count()} cores shared with the server"
    )
    async with remote_actors() as (actors_base, _served):
        # The same request bytes go to the baseline and to each oce server: each server
        # has a fresh database, so the activity ids are new to it.
        port = free_port()
        plan = Plan(
            f"http://127.0.0.1:{port}",
            actors_base,
            args.actors,
            ("member0",),
            "run",
            tuple(pair.private_pem for pair in key_pool()),
        )
        began = time.perf_counter()
        requests = await sign_all(plan, args.activities)
        print(
            f"signed {len(requests):,} requests in {time.perf_counter() - began:.1f} s (unmeasured)"
        )

        async with bare_server() as bare:
            await send(bare.base_url, requests[:1000], args.concurrency)  # warm-up
            # It takes well under a second: the median of three runs steadies it.
            runs = [await send(bare.base_url, requests, args.concurrency) for _ in range(3)]
            baseline = sorted(runs, key=lambda run: run.rps)[1]
        print("\nbaseline: bare Starlette POST /inbox → 202 (no checks, no storage; median of 3)")
        print(report("bare Starlette", baseline))

        await ingest("SQLite", sqlite_url(), plan, requests, args.concurrency, baseline)
        if args.postgres and await postgres_reachable():
            async with postgres_database() as url:
                await ingest("PostgreSQL", url, plan, requests, args.concurrency, baseline)
        elif args.postgres:
            print("\nPostgreSQL is not reachable: skipped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--activities", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--actors", type=int, default=200)
    parser.add_argument("--no-postgres", dest="postgres", action="store_false")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
