"""Exporting an agent with a 100,000-event ledger: ``oce export`` as an operator runs it.

The database is filled directly: one agent with three resources, 100,000 economic events
between it and peers (each with a stored document of the usual size, proof included)
and 100 followers. Then ``oce export member0`` runs as its own process, writing to a
file; the figures are its wall time and its peak resident memory (the child's
``ru_maxrss``), against a target of under 60 s and under 200 MB. With ``--import`` the
document is then imported into a fresh database by ``oce import`` and timed too.

    PYTHONPATH=. python -m bench.export_ledger [--events 100000] [--import]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert, select

from bench.servers import scratch
from federation import generate_ed25519_keypair, generate_rsa_keypair
from instance.store.db import Database
from instance.store.migrate import upgrade
from instance.store.models import Agent, EconomicEvent, EconomicResource, Follow, RemoteActor

TARGET_SECONDS = 60.0
TARGET_MB = 200.0
BASE = "https://coop.example"
CHUNK = 5_000


async def seed(database_url: str, events: int) -> None:
    db = Database.from_url(database_url)
    try:
        await upgrade(db.engine)
        keys, proof = generate_rsa_keypair(), generate_ed25519_keypair()
        async with db.write() as session:
            await session.execute(
                insert(Agent),
                [
                    {
                        "username": "member0",
                        "kind": "Person",
                        "name": "Member",
                        "summary": "",
                        "private_key_pem": keys.private_pem,
                        "public_key_pem": keys.public_pem,
                        "proof_private_pem": proof.private_pem,
                        "proof_public_pem": proof.public_pem,
                    }
                ],
            )
            agent_id = await session.scalar(select(Agent.id))
            assert agent_id is not None
            for n, unit in enumerate(("kilogram", "one", "hour")):
                session.add(
                    EconomicResource(
                        uri=f"{BASE}/resources/{n}",
                        agent_id=agent_id,
                        unit=unit,
                        accounting_quantity=Decimal("1234.5"),
                        onhand_quantity=Decimal("1000"),
                    )
                )
            for n in range(100):
                actor = f"https://peer{n % 7}.example/users/u{n}"
                session.add(
                    RemoteActor(uri=actor, host=f"peer{n % 7}.example", inbox=f"{actor}/inbox")
                )
                session.add(
                    Follow(
                        activity_uri=f"{actor}#follow",
                        follower=actor,
                        followee=f"{BASE}/agents/member0",
                        followee_agent_id=agent_id,
                        state="accepted",
                    )
                )
        me = f"{BASE}/agents/member0"
        start = datetime.now(UTC) - timedelta(days=365)
        for first in range(0, events, CHUNK):
            rows = []
            for n in range(first, min(first + CHUNK, events)):
                peer = f"https://peer{n % 7}.example/users/u{n % 100}"
                provider, receiver = (me, peer) if n % 2 else (peer, me)
                uri = f"{BASE}/events/{uuid.uuid4()}"
                body = {
                    "@context": [
                        "https://www.w3.org/ns/activitystreams",
                        f"{BASE}/ns/oce-v1.jsonld",
                    ],
                    "id": uri,
                    "type": "EconomicEvent",
                    "action": "transfer",
                    "provider": provider,
                    "receiver": receiver,
                    "resourceQuantity": {
                        "hasUnit": "kilogram",
                        "hasNumericalValue": str(n % 20 + 1),
                    },
                    "hasPointInTime": (start + timedelta(minutes=5 * n)).isoformat(),
                    "proof": {
                        "type": "DataIntegrityProof",
                        "cryptosuite": "eddsa-jcs-2022",
                        "verificationMethod": f"{me}#ed25519-key",
                        "proofPurpose": "assertionMethod",
                        "proofValue": "z" + "5" * 86,
                    },
                }
                rows.append(
                    {
                        "uri": uri,
                        "action": "transfer",
                        "provider": provider,
                        "receiver": receiver,
                        "resource_unit": "kilogram",
                        "resource_quantity": Decimal(n % 20 + 1),
                        "has_point_in_time": start + timedelta(minutes=5 * n),
                        "state": "applied",
                        "signer": provider,
                        "verified_by": "local",
                        "body": json.dumps(body),
                    }
                )
            async with db.write() as session:
                await session.execute(insert(EconomicEvent), rows)
    finally:
        await db.dispose()


def run(args: list[str], env: dict[str, str], stdout: int | object) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and the child's peak resident memory (MB) of ``oce ARGS``.

    On a shared machine the CPU time says more than the wall time: it is what the
    export itself cost, whatever else ran meanwhile."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "instance.cli", *args],
        env=env,
        stdout=stdout,  # type: ignore[arg-type]
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    took = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"oce {' '.join(args)} failed: {result.stderr}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime - cpu_before
    # ru_maxrss is the largest child so far (kB on Linux): each step runs a fresh child
    # whose peak is at least the earlier ones' only if it grew beyond them.
    return took, cpu, max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--import", dest="also_import", action="store_true")
    args = parser.parse_args()
    folder = scratch()
    source = f"sqlite+aiosqlite:///{folder / 'export.sqlite3'}"
    seeded = time.perf_counter()
    asyncio.run(seed(source, args.events))
    print(f"seeded {args.events} events in {time.perf_counter() - seeded:.1f} s", flush=True)
    env = {**os.environ, "OCE_DATABASE_URL": source, "OCE_BASE_URL": BASE}
    target = Path(folder) / "member0.jsonld"
    with target.open("w") as out:
        took, cpu, peak = run(["export", "member0"], env, out)
    size = target.stat().st_size / 1e6
    lines = sum(1 for _ in target.open())
    verdict = "ok" if took < TARGET_SECONDS and peak < TARGET_MB else "MISSED"
    print(
        f"export: {lines - 2} records, {size:.1f} MB in {took:.1f} s ({cpu:.1f} s of CPU), "
        f"peak RSS {peak:.0f} MB (target < {TARGET_SECONDS:.0f} s, < {TARGET_MB:.0f} MB) {verdict}"
    )
    if args.also_import:
        other = f"sqlite+aiosqlite:///{folder / 'import.sqlite3'}"
        new_env = {**os.environ, "OCE_DATABASE_URL": other, "OCE_BASE_URL": "https://new.example"}
        took, cpu, peak = run(["import", str(target)], new_env, subprocess.DEVNULL)
        print(
            f"import: {took:.1f} s ({cpu:.1f} s of CPU), "
            f"peak RSS {peak:.0f} MB (of all children so far)"
        )


if __name__ == "__main__":
    main()
