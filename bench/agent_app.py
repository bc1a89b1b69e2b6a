"""The Agent app: what signing in costs (Argon2id) and how long a dashboard takes.

* Sign-in: one Argon2id hash (setting a password) and one check (a sign-in), with the
  library's RFC 9106 parameters, each in the worker thread the app uses.
* Dashboard: the data and the page of a person holding 5 resources with 400 events
  each (the charts read up to 200 per resource), 200 open commitments and 2,000 events
  in all, read and rendered in-process on SQLite (no HTTP: the page's own cost).

    PYTHONPATH=. python -m bench.agent_app [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bench.servers import sqlite_url
from instance.agents import create_agent
from instance.services import templates_environment
from instance.store.db import Database
from instance.store.migrate import upgrade
from instance.store.models import Commitment, EconomicEvent, EconomicResource
from instance.urls import Urls
from instance.web.app.formatting import Format
from instance.web.app.overview import agreement_terms, overview
from instance.web.app.passwords import hash_password, verify_password
from instance.web.app.sessions import SignedIn

BASE = "https://bench.example"


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"median {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


async def sign_in_cost(rounds: int) -> None:
    hashes, checks = [], []
    hashed = ""
    for _ in range(rounds):
        start = time.perf_counter()
        hashed = await hash_password("correct horse battery")
        hashes.append(time.perf_counter() - start)
        start = time.perf_counter()
        assert await verify_password(hashed, "correct horse battery")
        checks.append(time.perf_counter() - start)
    print(f"argon2id hash (set a password): {_ms(hashes)}")
    print(f"argon2id check (one sign-in):   {_ms(checks)}")


async def dashboard_cost(rounds: int) -> None:
    db = Database.from_url(sqlite_url(), pool_size=2)
    await upgrade(db.engine)
    urls = Urls(BASE)
    me, other = urls.actor("alice"), "https://peer.example/agents/bob"
    start_at = datetime.now(UTC) - timedelta(days=30)
    async with db.write() as session:
        agent = await create_agent(session, "alice")
        for r in range(5):
            resource = EconomicResource(
                uri=f"{BASE}/resources/{uuid.uuid4()}",
                agent_id=agent.id,
                unit="kilogram",
                accounting_quantity=Decimal(4000),
                onhand_quantity=Decimal(4000),
            )
            session.add(resource)
            for n in range(400):
                session.add(
                    EconomicEvent(
                        uri=f"{BASE}/events/{uuid.uuid4()}",
                        action="raise",
                        provider=me,
                        receiver=me,
                        resource_inventoried_as=resource.uri,
                        resource_unit="kilogram",
                        resource_quantity=Decimal("10.5"),
                        has_point_in_time=start_at + timedelta(minutes=r * 1000 + n),
                        signer=me,
                        verified_by="client",
                        body="{}",
                    )
                )
        for n in range(200):
            session.add(
                Commitment(
                    uri=f"{BASE}/commitments/{uuid.uuid4()}",
                    creator=me,
                    action="transfer",
                    provider=me if n % 2 else other,
                    receiver=other if n % 2 else me,
                    unit="kilogram",
                    quantity=Decimal(n + 1),
                    state="accepted",
                )
            )
    templates = templates_environment()
    me_signed = SignedIn(agent, 1, "token")
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        async with db.read() as session:
            view = await overview(session, urls, agent)
        templates.get_template("dashboard.html").render(
            instance_name="bench",
            host=urls.host,
            urls=urls,
            me=me_signed,
            view=view,
            fmt=Format(urls),
            terms=agreement_terms,
            notice="",
        )
        samples.append(time.perf_counter() - start)
    await db.dispose()
    print(f"dashboard (5 charts, 200 commitments, 2,000 events): {_ms(samples)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(sign_in_cost(max(3, args.rounds // 4)))
    asyncio.run(dashboard_cost(args.rounds))


if __name__ == "__main__":
    main()
