"""Ledger reads: what an agent's client reads most, on a ledger of 100,000 events.

The database is filled directly (it is the reads that are measured): 1,000 agents with
three resources each, 100,000 economic events between them, and 20,000 commitments of
which half are still open. Then one ``oce serve`` answers, one request at a time, for
a sample of agents with their tokens:

* the agent's inventory (``/agents/{name}/resources``, first page),
* its open commitments (``/agents/{name}/open-commitments``, first page),
* its recent events (``/agents/{name}/events``, first page).

Target: p95 under 50 ms, on SQLite and on PostgreSQL. The baseline, in the same run, is
a GET of the bare Starlette endpoint under the same server settings; the ratio says how
many of its round trips one ledger read costs.

    PYTHONPATH=. python -m bench.ledger_reads [--agents 1000] [--events 100000] [--no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
from sqlalchemy import insert, select

from bench.load import percentile
from bench.peers import key_pool
from bench.servers import (
    bare_server,
    free_port,
    oce_server,
    postgres_database,
    postgres_reachable,
    sqlite_url,
)
from instance.store.db import Database
from instance.store.migrate import upgrade
from instance.store.models import Agent, Commitment, EconomicEvent, EconomicResource, Token

TARGET_P95_MS = 50.0
KINDS = (
    ("https://www.wikidata.org/wiki/Q7802", "kilogram"),
    ("https://coop.example/specs/credit", "one"),
    ("https://www.wikidata.org/wiki/Q1149504", "hour"),
)
READS = ("resources", "open-commitments", "events")
CHUNK = 5_000


async def _chunks(db: Database, model: type, rows: list[dict[str, object]]) -> None:
    for start in range(0, len(rows), CHUNK):
        async with db.write() as session:
            await session.execute(insert(model), rows[start : start + CHUNK])


async def seed(database_url: str, agents: int, events: int, base: str) -> dict[str, str]:
    """Fill the ledger; return a bearer token for each of the first 100 agents."""
    rng = random.Random(7)
    keys = key_pool()
    db = Database.from_url(database_url)
    tokens: dict[str, str] = {}
    try:
        await upgrade(db.engine)
        await _chunks(
            db,
            Agent,
            [
                {
                    "username": f"member{n}",
                    "kind": "Person",
                    "name": f"Member {n}",
                    "summary": "",
                    "private_key_pem": keys[n % len(keys)].private_pem,
                    "public_key_pem": keys[n % len(keys)].public_pem,
                }
                for n in range(agents)
            ],
        )
        async with db.read() as session:
            ids = dict((await session.execute(select(Agent.username, Agent.id))).all())
        actor = {n: f"{base}/agents/member{n}" for n in range(agents)}
        await _chunks(
            db,
            EconomicResource,
            [
                {
                    "uri": f"{base}/resources/{uuid.uuid4()}",
                    "agent_id": ids[f"member{n}"],
                    "conforms_to": kind,
                    "unit": unit,
                    "accounting_quantity": Decimal(rng.randint(0, 500)),
                    "onhand_quantity": Decimal(rng.randint(0, 500)),
                }
                for n in range(agents)
                for kind, unit in KINDS
            ],
        )
        start = datetime.now(UTC) - timedelta(days=365)
        event_rows = []
        for n in range(events):
            provider, receiver = rng.sample(range(agents), 2)
            kind, unit = KINDS[n % len(KINDS)]
            uri = f"{base}/events/{uuid.uuid4()}"
            body = {"id": uri, "type": "EconomicEvent", "action": "transfer"}
            event_rows.append(
                {
                    "uri": uri,
                    "action": "transfer",
                    "provider": actor[provider],
                    "receiver": actor[receiver],
                    "resource_conforms_to": kind,
                    "resource_unit": unit,
                    "resource_quantity": Decimal(rng.randint(1, 20)),
                    "has_point_in_time": start + timedelta(minutes=5 * n),
                    "state": "applied",
                    "signer": actor[provider],
                    "verified_by": "local",
                    "body": json.dumps(body),
                }
            )
        await _chunks(db, EconomicEvent, event_rows)
        await _chunks(
            db,
            Commitment,
            [
                {
                    "uri": f"{base}/commitments/{uuid.uuid4()}",
                    "creator": actor[n % agents],
                    "action": "work",
                    "provider": actor[n % agents],
                    "receiver": actor[(n * 7 + 1) % agents],
                    "effort": True,
                    "unit": "hour",
                    "quantity": Decimal(8),
                    "fulfilled": Decimal(n % 8),
                    "state": "accepted" if n % 2 else "finished",
                }
                for n in range(events // 5)
            ],
        )
        token_rows = []
        for n in range(min(agents, 100)):
            token = "oce_" + secrets.token_urlsafe(32)
            tokens[f"member{n}"] = token
            token_rows.append(
                {
                    "agent_id": ids[f"member{n}"],
                    "digest": hashlib.sha256(token.encode()).hexdigest(),
                    "label": "bench",
                }
            )
        await _chunks(db, Token, token_rows)
    finally:
        await db.dispose()
    return tokens


async def _time(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], rounds: int
) -> list[float]:
    seconds = []
    for _ in range(rounds):
        began = time.perf_counter()
        response = await client.get(url, headers=headers)
        seconds.append(time.perf_counter() - began)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url}: {response.status_code} {response.text[:200]}")
    return seconds


@asynccontextmanager
async def _ledger(
    database: str, agents: int, events: int
) -> AsyncIterator[tuple[str, dict[str, str]]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    began = time.perf_counter()
    tokens = await seed(database, agents, events, base)
    print(f"  seeded {agents:,} agents, {events:,} events in {time.perf_counter() - began:.0f} s")
    async with oce_server(database, port) as server:
        yield server.base_url, tokens


async def measure(
    label: str, database: Callable[[], object], agents: int, events: int, baseline_p95: float
) -> bool:
    print(f"\n{label}")
    url = database()
    met = True
    async with (
        _ledger(str(url), agents, events) as (base, tokens),
        httpx.AsyncClient(timeout=30) as client,
    ):
        sample = list(tokens.items())
        for read in READS:
            seconds: list[float] = []
            for username, token in sample:
                headers = {
                    "Authorization": f"Bearer {token}",
                    "Accept": "application/activity+json",
                }
                page = f"{base}/agents/{username}/{read}?page=1"
                seconds += await _time(client, page, headers, 3)
            p50, p95 = percentile(seconds, 0.5) * 1000, percentile(seconds, 0.95) * 1000
            ok = p95 < TARGET_P95_MS
            met = met and ok
            print(
                f"  {read:18} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
                f"({p95 / baseline_p95:5.1f}x the bare GET)  "
                f"target p95 < {TARGET_P95_MS:.0f} ms: {'met' if ok else 'MISSED'}"
            )
    return met


async def _baseline() -> float:
    async with bare_server() as bare, httpx.AsyncClient(timeout=30) as client:
        seconds = await _time(client, f"{bare.base_url}/nodeinfo/2.1", {}, 300)
    p95 = percentile(seconds, 0.95) * 1000
    p50 = percentile(seconds, 0.5) * 1000
    print(f"baseline: bare Starlette GET  p50 {p50:.1f} ms  p95 {p95:.1f} ms")
    return p95


async def run(agents: int, events: int, postgres: bool) -> None:
    baseline = await _baseline()
    label = f"{events:,} events over {agents:,} agents"
    await measure(f"SQLite, {label}", sqlite_url, agents, events, baseline)
    if postgres and await postgres_reachable():
        async with postgres_database() as url:
            await measure(
                f"PostgreSQL, {events:,} events over {agents:,} agents",
                lambda: url,
                agents,
                events,
                baseline,
            )
    elif postgres:
        print("\nPostgreSQL is not reachable: skipped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    asyncio.run(run(args.agents, args.events, not args.no_postgres))


if __name__ == "__main__":
    main()
