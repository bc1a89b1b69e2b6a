"""Processing: how many stored inbound activities one process works through a second.

The inbox answers 202 once an activity is stored; what a peer sees is what the inbox
processor has done with it. This benchmark measures that processor alone, in this
process, on SQLite (and PostgreSQL when reachable):

* remote actors are served by a loopback server (``bench.inbox_ingest``); each is
  fetched once before the clock starts, as a warmed-up instance has them;
* ``--notes`` ``Create{Note}`` from ``--actors`` actors to local agents, and
  ``--events`` ledger events from the same remote agents to local ones: half plain
  transfers (held for the receiver's acceptance), half fulfilments of commitments the
  local agents made with them (applied at once and answered with an ``Accept``), are
  stored in ``inbox_items`` exactly as the inbox stores them;
* the processor (``process_due``, as the workers call it) runs until none is pending.

Baseline, same run: the same activities in a second, fresh database, processed the
way they were before batching (one transaction an item, ``batch=1``). The effects of
both runs (posts, inbox entries, events and their states, commitments fulfilled,
answers queued) are compared and must be equal. Each run also counts the SQL
statements it sent, per item. ``--profile FILE`` first processes the same items in a
third database under cProfile, prints the profile and writes it to FILE.

    PYTHONPATH=. python -m bench.processing [--notes 5000] [--events 1500]
                                            [--actors 200] [--no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import json
import os
import pstats
import time
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import event, func, insert, select

from bench.inbox_ingest import AS_CONTEXT, remote_actors, seed_agents
from bench.servers import free_port, postgres_database, postgres_reachable, sqlite_url
from instance.app import start_services, stop_services
from instance.inbox.processing import process_due
from instance.services import Services
from instance.settings import Settings
from instance.store.models import (
    Commitment,
    Delivery,
    EconomicEvent,
    InboxEntry,
    InboxItem,
    StoredObject,
)
from vocab.contexts import oce_context_url

TARGET_NOTES = 1000.0
TARGET_EVENTS = 300.0
TARGET_FACTOR = 10.0
SHOW_SQL = bool(os.environ.get("OCE_BENCH_SHOW_SQL"))


def loadavg() -> str:
    """The machine's load averages (1, 5, 15 minutes): the benchmarks share it."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


@dataclass(frozen=True)
class Workload:
    base_url: str
    actors_base: str
    actors: int
    agents: tuple[str, ...]
    notes: int
    events: int

    def actor(self, n: int) -> str:
        return f"{self.actors_base}/actors/a{n % self.actors}"

    def agent(self, n: int) -> str:
        return f"{self.base_url}/agents/{self.agents[n % len(self.agents)]}"

    def commitment(self, n: int) -> str:
        return f"{self.actor(n)}/commitments/{n}"


def _note(work: Workload, i: int) -> dict[str, Any]:
    actor, recipient = work.actor(i), work.agent(i)
    note = f"{actor}/notes/{i}"
    return {
        "@context": AS_CONTEXT,
        "id": f"{note}/activity",
        "type": "Create",
        "actor": actor,
        "to": [recipient],
        "object": {
            "id": note,
            "type": "Note",
            "attributedTo": actor,
            "to": [recipient],
            "content": f"<p>note {i}</p>",
        },
    }


def _event(work: Workload, i: int) -> dict[str, Any]:
    actor, receiver = work.actor(i), work.agent(i)
    event: dict[str, Any] = {
        "id": f"{actor}/events/{i}",
        "type": "EconomicEvent",
        "action": "transfer",
        "provider": actor,
        "receiver": receiver,
        "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "1"},
        "hasPointInTime": "2026-12-01T00:00:00Z",
    }
    if i % 2:
        event["fulfills"] = work.commitment(i)  # a fulfilment; else a plain transfer
    return {
        "@context": [AS_CONTEXT, oce_context_url(work.actors_base)],
        "id": f"{actor}/events/{i}/activity",
        "type": "Create",
        "actor": actor,
        "to": [receiver],
        "object": event,
    }


def _items(work: Workload) -> list[dict[str, Any]]:
    """The inbox rows: notes and events interleaved, as a busy inbox receives them."""
    documents = [_note(work, i) for i in range(work.notes)]
    events = [_event(work, i) for i in range(work.events)]
    step = max(1, len(documents) // max(1, len(events)))
    for k, document in enumerate(events):
        documents.insert(min(len(documents), k * (step + 1)), document)
    rows = []
    for document in documents:
        body = json.dumps(document).encode()
        rows.append(
            {
                "activity_uri": document["id"],
                "body": body,
                "body_sha256": hashlib.sha256(body).hexdigest(),
                "headers": "{}",
                "signer_key_id": f"{document['actor']}#main-key",
                "signer": document["actor"],
                "verified_by": "cavage-rsa-sha256",
            }
        )
    return rows


async def _prepare(svc: Services, work: Workload) -> None:
    """Every remote actor known (as after a warm-up), the commitments made, the items stored."""
    for n in range(work.actors):
        await svc.peers.actor(work.actor(n))
    if work.events < 2:
        return await _store(svc, work)
    async with svc.db.write() as session:
        await session.execute(
            insert(Commitment),
            [
                {
                    "uri": work.commitment(i),
                    "creator": work.agent(i),
                    "action": "transfer",
                    "provider": work.actor(i),
                    "receiver": work.agent(i),
                    "unit": "one",
                    "quantity": Decimal(5),
                }
                for i in range(1, work.events, 2)
            ],
        )
    await _store(svc, work)


async def _store(svc: Services, work: Workload) -> None:
    rows = _items(work)
    for start in range(0, len(rows), 2000):
        async with svc.db.write() as session:
            await session.execute(insert(InboxItem), rows[start : start + 2000])


async def _effects(svc: Services) -> tuple[dict[str, Any], str]:
    """What processing did, as counts and a digest that ignores row ids and times."""
    async with svc.db.read() as session:
        posts = (
            await session.execute(
                select(StoredObject.uri, StoredObject.is_activity, StoredObject.public).order_by(
                    StoredObject.uri
                )
            )
        ).all()
        entries = (
            await session.execute(
                select(StoredObject.uri, InboxEntry.agent_id)
                .join(StoredObject, StoredObject.id == InboxEntry.object_id)
                .order_by(StoredObject.uri, InboxEntry.agent_id)
            )
        ).all()
        events = (
            await session.execute(
                select(EconomicEvent.uri, EconomicEvent.state, EconomicEvent.fulfills).order_by(
                    EconomicEvent.uri
                )
            )
        ).all()
        commitments = (
            await session.execute(
                select(Commitment.uri, Commitment.fulfilled, Commitment.state).order_by(
                    Commitment.uri
                )
            )
        ).all()
        items = (
            await session.execute(select(InboxItem.state, func.count()).group_by(InboxItem.state))
        ).all()
        deliveries = int(await session.scalar(select(func.count()).select_from(Delivery)) or 0)
    base = svc.settings.base_url

    def plain(rows: Any) -> list[str]:
        # Our own ids carry this run's port, and answers get random ids: name them
        # "local" and compare how many there are.
        return sorted(
            repr(
                tuple(
                    "local" if str(v).startswith(base) and i == 0 else v for i, v in enumerate(row)
                )
            ).replace(base, "~")
            for row in rows
        )

    digest = hashlib.sha256(
        repr([plain(posts), plain(entries), plain(events), plain(commitments)]).encode()
    ).hexdigest()[:16]
    counts = {
        "items": dict(sorted(items)),
        "stored objects": len(posts),
        "inbox entries": len(entries),
        "events": dict(sorted(Counter(state for _u, state, _f in events).items())),
        "answers queued": deliveries,
    }
    return counts, digest


@dataclass
class Run:
    label: str
    items: int
    seconds: float
    cpu: float
    statements: int
    counts: dict[str, Any]
    digest: str

    @property
    def rate(self) -> float:
        return self.items / self.seconds


async def _run(
    label: str,
    database_url: str,
    work_args: tuple[str, int, int, int],
    *,
    batch: int,
    profile: str | None = None,
) -> Run:
    actors_base, actors, notes, events = work_args
    agents = tuple(await seed_agents(database_url, 50))
    port = free_port()
    settings = Settings(
        base_url=f"http://127.0.0.1:{port}",
        database_url=database_url,
        allow_private_network=True,
        run_workers=False,
    )
    work = Workload(settings.base_url, actors_base, actors, agents, notes, events)
    svc = await start_services(settings)
    try:
        await _prepare(svc, work)
        statements = [0]

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements[0] += 1
            if SHOW_SQL:
                print("   SQL", statement.replace("\n", " ")[:150])

        event.listen(svc.db.engine.sync_engine, "before_cursor_execute", count)
        profiler = cProfile.Profile() if profile else None
        began, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        total = 0
        while done := await process_due(svc, limit=batch * 4, lanes=4, batch=batch):
            total += done
        if profiler:
            profiler.disable()
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
        event.remove(svc.db.engine.sync_engine, "before_cursor_execute", count)
        if profiler and profile:
            profiler.dump_stats(profile)
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(30)
            stats.sort_stats("tottime").print_stats(25)
        counts, digest = await _effects(svc)
    finally:
        await stop_services(svc)
    return Run(label, total, seconds, cpu, statements[0], counts, digest)


def _report(run: Run, work: Workload | None = None) -> None:
    print(
        f"  {run.label:34} {run.rate:7.0f} items/s  ({run.items:,} in {run.seconds:.1f} s; "
        f"CPU {run.cpu / run.items * 1000:.2f} ms an item; "
        f"{run.statements / run.items:.1f} SQL statements an item)"
    )
    print(f"  {'':34} effects {run.digest}: {run.counts}")


async def _compare(
    label: str, url_of: Any, args: argparse.Namespace, actors_base: str, profile: str | None
) -> None:
    work_args = (actors_base, args.actors, args.notes, args.events)
    total = args.notes + args.events
    print(f"\n{label}: {args.notes:,} Create{{Note}} + {args.events:,} ledger events ({total:,})")
    if profile:
        # Profiled on its own: the profiler's cost would skew the comparison.
        async with url_of() as url:
            _report(
                await _run("batched, profiled", url, work_args, batch=args.batch, profile=profile)
            )
    async with url_of() as url:
        batched = await _run("batched", url, work_args, batch=args.batch)
    _report(batched)
    async with url_of() as url:
        single = await _run("baseline: one transaction an item", url, work_args, batch=1)
    _report(single)
    same = batched.digest == single.digest and batched.counts == single.counts
    print(f"  effects of both runs: {'the same' if same else 'DIFFERENT'}")
    ratio = batched.rate / single.rate
    verdict = "met" if ratio >= TARGET_FACTOR else "MISSED"
    print(f"  {ratio:.1f}x the baseline (target ≥ {TARGET_FACTOR:.0f}x: {verdict})")
    if not same:
        raise SystemExit("the batched run's effects differ from the baseline's")


async def _notes_and_events(args: argparse.Namespace, actors_base: str) -> None:
    """Notes alone and events alone, batched: the two rates the targets name."""
    print("\nSQLite, each kind alone (batched)")
    for kind, notes, events, target in (
        ("Create{Note}", args.notes, 0, TARGET_NOTES),
        ("ledger events", 0, args.events, TARGET_EVENTS),
    ):
        if notes + events == 0:
            continue
        run = await _run(
            kind, sqlite_url(), (actors_base, args.actors, notes, events), batch=args.batch
        )
        _report(run)
        verdict = "met" if run.rate >= target else "MISSED"
        print(f"  {'':34} target ≥ {target:.0f}/s: {verdict}")


class _Sqlite:
    async def __aenter__(self) -> str:
        return sqlite_url()

    async def __aexit__(self, *_exc: object) -> None:
        return None


async def run(args: argparse.Namespace) -> None:
    print(
        f"processing, in this process; {os.cpu_count()} cores shared; "
        f"load average before: {loadavg()}"
    )
    async with AsyncExitStack() as stack:
        actors_base, _served = await stack.enter_async_context(remote_actors())
        await _compare("SQLite", _Sqlite, args, actors_base, args.profile)
        await _notes_and_events(args, actors_base)
        if args.postgres and await postgres_reachable():
            await _compare("PostgreSQL", postgres_database, args, actors_base, None)
        elif args.postgres:
            print("\nPostgreSQL is not reachable: skipped")
    print(f"load average after: {loadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, default=5000)
    parser.add_argument("--events", type=int, default=1500)
    parser.add_argument("--actors", type=int, default=200)
    parser.add_argument("--batch", type=int, default=50, help="items a transaction")
    parser.add_argument("--profile", help="write a cProfile of the batched SQLite run here")
    parser.add_argument("--no-postgres", dest="postgres", action="store_false")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
