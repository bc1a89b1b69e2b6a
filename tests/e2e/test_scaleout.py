"""Scale-out: two web processes and separate workers on one PostgreSQL, under load.

The deployment of docs/scaling.md on one machine: ``oce serve --workers 2`` with
``OCE_RUN_WORKERS=0`` and two ``oce worker`` processes, all on one PostgreSQL database,
federating with a counting peer (``tests/sink.py``, its own process on three ports,
i.e. three hosts) that verifies the signature of every delivery. Over two thousand
signed activities come in (follows, notes, ledger events) and over two thousand
deliveries go out while one worker is killed with SIGKILL and another started. Then:

* every inbound activity was processed exactly once: all items done, each ledger
  event recorded once and the balances and fulfilled quantities exact;
* every delivery was made: the peer received exactly the expected set. Delivery is
  at-least-once: what the killed worker had sent without recording it is sent again
  after its lease runs out. Those duplicates are counted and reported; they are
  harmless because the receiver keeps each activity id once.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from federation import generate_rsa_keypair, load_private_key, sign_request
from federation.keys import PrivateKeyType
from tests.databases import PostgresFactory
from tests.processes import ROOT, Process, free_port, instance_env

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = f"{AS}#Public"
SINK_HOSTS = 3
FOLLOWERS = 200
PROVIDERS = 4
EVENTS_EACH = 100
NOTES = 8
#: Notes each follower sends carol.
NOTES_IN = 8
#: Within this, or the test fails (the whole test, processes included, stays < 90 s).
DEADLINE = 80.0


class Peer:
    """The sink process and the actors it hosts, whose requests this test signs."""

    def __init__(self, tmp_path: Path) -> None:
        pair = generate_rsa_keypair()
        self.key: PrivateKeyType = load_private_key(pair.private_pem)
        key_file = tmp_path / "sink.key"
        key_file.write_text(pair.private_pem)
        self.ports = [free_port() for _ in range(SINK_HOSTS)]
        self.log = tmp_path / "sink.log"
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(  # stopped in stop()
                [sys.executable, "-m", "tests.sink", str(key_file), *map(str, self.ports)],
                env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.origins = [f"http://127.0.0.1:{port}" for port in self.ports]

    def actor(self, name: str, n: int) -> str:
        return f"{self.origins[n % SINK_HOSTS]}/users/{name}"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if all(httpx.get(f"{o}/_received").status_code == 200 for o in self.origins):
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(f"the sink did not start:\n{self.log.read_text()}")

    def received(self) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(f"{self.origins[0]}/_received", timeout=30).json()
        return result

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            self.popen.wait(10)


class Sender:
    """Signs activities as the peer's actors and posts them to the instance's inbox."""

    def __init__(self, peer: Peer, inbox: str, http: httpx.AsyncClient) -> None:
        self.peer = peer
        self.inbox = inbox
        self.http = http
        self.limit = asyncio.Semaphore(12)

    async def send(self, activity: dict[str, Any]) -> None:
        body = httpx.Request("POST", self.inbox, json=activity).content
        headers = {"Content-Type": "application/activity+json"}
        key_id = f"{activity['actor']}#main-key"
        async with self.limit:
            headers.update(
                sign_request(
                    "POST", self.inbox, headers, body, key_id, self.peer.key, datetime.now(UTC)
                )
            )
            response = await self.http.post(self.inbox, content=body, headers=headers)
        assert response.status_code == 202, response.text


def activity(actor: str, kind: str, target: Any, to: str) -> dict[str, Any]:
    origin = actor.rsplit("/users/", 1)[0]
    return {
        "@context": [AS, f"{origin}/ns/oce-v1.jsonld"],
        "id": f"{origin}/activities/{uuid.uuid4()}",
        "type": kind,
        "actor": actor,
        "object": target,
        "to": [to],
    }


async def wait_until(
    what: str,
    check: Callable[[], Awaitable[bool]],
    deadline: float,
    db: asyncpg.Pool,
    *logs: Process,
) -> None:
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    queues = await db.fetch(
        "SELECT 'inbox_items', state, count(*) FROM inbox_items GROUP BY state UNION ALL "
        "SELECT 'deliveries', state, count(*) FROM deliveries GROUP BY state"
    )
    tails = "\n".join(f"--- {p.name} ---\n{p.output()[-3000:]}" for p in logs)
    raise AssertionError(f"timed out waiting for {what}; {[tuple(q) for q in queues]}\n{tails}")


def test_two_web_processes_and_workers_survive_a_killed_worker(
    postgres_factory: PostgresFactory, tmp_path: Path
) -> None:
    started = time.monotonic()
    database_url = postgres_factory.new()
    base_url = f"http://127.0.0.1:{free_port()}"
    env = instance_env(base_url, database_url, OCE_RUN_WORKERS="0", OCE_LOG_LEVEL="warning")
    web = Process("web", base_url, env, tmp_path / "web.log", args=("serve", "--workers", "2"))
    workers = [
        Process(f"worker{n}", base_url, env, tmp_path / f"worker{n}.log", args=("worker",))
        for n in (1, 2, 3)
    ]
    peer = Peer(tmp_path)
    processes = [web, *workers]
    try:
        web.start(wait=False)
        workers[0].start()
        workers[1].start()
        web.cli("agent", "create", "carol")
        carol_auth = {
            "Authorization": "Bearer " + web.cli("token", "create", "carol").stdout.strip()
        }
        peer.wait_ready()
        web.wait_ready()
        report = asyncio.run(
            _exchange(web, workers, peer, carol_auth, database_url, started + DEADLINE)
        )
        # SIGTERM: the workers stop cleanly; no process hit an error on the way (a
        # deadlock, a row two processes inserted at once).
        for worker in workers[1:]:
            worker.stop()
            assert worker.popen is not None
            assert worker.popen.returncode == 0, worker.output()
        for process in processes:
            assert "Traceback" not in process.output(), process.output()
    finally:
        for process in processes:
            process.stop()
        peer.stop()
    elapsed = time.monotonic() - started
    print(f"\nscale-out run: {elapsed:.1f} s; {report}")
    assert elapsed < 90


async def _exchange(
    web: Process,
    workers: list[Process],
    peer: Peer,
    carol_auth: dict[str, str],
    database_url: str,
    deadline: float,
) -> str:
    carol = f"{web.base_url}/agents/carol"
    logs = (web, *workers)
    async with (
        asyncpg.create_pool(
            database_url.replace("postgresql+asyncpg://", "postgresql://"), min_size=1, max_size=2
        ) as db,
        httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=16)) as http,
    ):
        sender = Sender(peer, f"{web.base_url}/inbox", http)

        async def outbox(document: dict[str, Any]) -> dict[str, Any]:
            response = await http.post(f"{carol}/outbox", json=document, headers=carol_auth)
            assert response.status_code == 201, response.text
            created: dict[str, Any] = response.json()
            return created

        async def count(sql: str) -> int:
            return int(await db.fetchval(sql))

        # Carol asks each provider to commit to giving her bread or flour (two providers
        # each, so that two credit each of her accounts at once); they accept.
        kinds = [
            (
                await outbox(
                    {
                        "type": "ResourceSpecification",
                        "name": name,
                        "defaultUnitOfResource": "kilogram",
                    }
                )
            )["object"]["id"]
            for name in ("Bread", "Flour")
        ]
        providers = [peer.actor(f"provider{n}", n) for n in range(PROVIDERS)]
        kind_of = {provider: kinds[n % 2] for n, provider in enumerate(providers)}
        commitments = [
            (
                await outbox(
                    {
                        "type": "Commitment",
                        "action": "transfer",
                        "provider": provider,
                        "receiver": carol,
                        "resourceConformsTo": kind_of[provider],
                        "resourceQuantity": {
                            "hasUnit": "kilogram",
                            "hasNumericalValue": str(EVENTS_EACH),
                        },
                    }
                )
            )["object"]["id"]
            for provider in providers
        ]
        followers = [peer.actor(f"follower{n}", n) for n in range(FOLLOWERS)]
        follows = [activity(f, "Follow", carol, carol) for f in followers]
        accepts = [
            activity(p, "Accept", c, carol) for p, c in zip(providers, commitments, strict=True)
        ]
        await asyncio.gather(*(sender.send(a) for a in [*accepts, *follows]))
        inbound = len(accepts) + len(follows)

        async def settled() -> bool:
            return await count("SELECT count(*) FROM inbox_items WHERE state = 'done'") == inbound

        await wait_until("follows and accepts processed", settled, deadline, db, *logs)

        # The load: notes to the followers, and the providers' events, while one worker
        # is killed and another started.
        events: list[tuple[str, str, dict[str, Any]]] = []
        for n in range(PROVIDERS * EVENTS_EACH):
            provider, commitment = providers[n % PROVIDERS], commitments[n % PROVIDERS]
            origin = provider.rsplit("/users/", 1)[0]
            event = {
                "id": f"{origin}/events/{uuid.uuid4()}",
                "type": "EconomicEvent",
                "action": "transfer",
                "provider": provider,
                "receiver": carol,
                "resourceConformsTo": kind_of[provider],
                "resourceQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "1"},
                "fulfills": commitment,
            }
            events.append((provider, event["id"], activity(provider, "Create", event, carol)))
        posts = [
            activity(
                f,
                "Create",
                {
                    "id": f"{f}/notes/{uuid.uuid4()}",
                    "type": "Note",
                    "attributedTo": f,
                    "content": f"<p>note {n} from {f}</p>",
                    "to": [carol],
                },
                carol,
            )
            for n in range(NOTES_IN)
            for f in followers
        ]
        load = [*posts, *(a for _, _, a in events)]
        random.Random(7).shuffle(load)
        inbound += len(load)
        sending = asyncio.gather(*(sender.send(a) for a in load))
        notes = []
        for n in range(NOTES):
            created = await outbox(
                {
                    "type": "Note",
                    "content": f"Bread news {n}",
                    "to": [PUBLIC],
                    "cc": [f"{carol}/followers"],
                }
            )
            notes.append(created["id"])

        async def under_way() -> bool:
            return (
                await count(
                    "SELECT count(*) FROM deliveries WHERE state = 'done' AND created_at >"
                    " (SELECT max(created_at) FROM follows)"
                )
                > 0
                and await count(
                    "SELECT count(*) FROM inbox_items WHERE state = 'done' AND id >"
                    f" {len(follows) + len(accepts) + 20}"
                )
                > 0
            )

        await wait_until("the load under way", under_way, deadline, db, *logs)
        in_flight = await count(
            "SELECT (SELECT count(*) FROM deliveries WHERE state = 'pending' AND lease_until"
            " > now()) + (SELECT count(*) FROM inbox_items WHERE state = 'pending' AND"
            " lease_until > now())"
        )
        workers[0].kill()
        workers[2].start()
        await sending

        expected: set[tuple[str, str, str | None]] = set()
        for follow in follows:
            expected.add((f"{follow['actor']}/inbox", "Accept", follow["id"]))
        for provider, commitment in zip(providers, commitments, strict=True):
            expected.add((f"{provider}/inbox", "Create", commitment))
        for provider, event_id, _ in events:
            expected.add((f"{provider}/inbox", "Accept", event_id))
        outbox_items = await db.fetch(
            "SELECT uri, object_uri FROM objects WHERE is_activity AND uri = ANY($1::text[])", notes
        )
        note_objects = [row["object_uri"] for row in outbox_items]
        assert len(note_objects) == NOTES
        # The followers' hosts name no shared inbox: each note is posted once to each
        # host (issue 11), to the first of its followers' inboxes.
        first_inboxes: dict[str, str] = {}
        for inbox in sorted(f"{follower}/inbox" for follower in followers):
            first_inboxes.setdefault(urlsplit(inbox).netloc, inbox)
        for note in note_objects:
            for inbox in first_inboxes.values():
                expected.add((inbox, "Create", note))

        async def delivered() -> bool:
            if await count("SELECT count(*) FROM inbox_items WHERE state = 'done'") < inbound:
                return False
            if await count("SELECT count(*) FROM deliveries WHERE state = 'pending'"):
                return False  # the killed worker's are sent again once its lease ran out
            got = {(r[0], r[2], r[3]) for r in peer.received()["received"]}
            return expected <= got

        await wait_until("every delivery made", delivered, deadline, db, *logs)

        # Nothing more is on its way: every delivery row is done.
        states = dict(await db.fetch("SELECT state, count(*) FROM deliveries GROUP BY state"))
        got = {(r[0], r[2], r[3]) for r in peer.received()["received"]}
        assert states == {"done": len(expected)}, (states, sorted(got - expected)[:3])
        pairs = await count("SELECT count(DISTINCT (object_id, inbox)) FROM deliveries")
        assert pairs == len(expected)  # no delivery queued twice

        # Every inbound activity processed exactly once.
        items = dict(await db.fetch("SELECT state, count(*) FROM inbox_items GROUP BY state"))
        assert items == {"done": inbound}, items
        assert await count("SELECT count(*) FROM follows WHERE state = 'accepted'") == FOLLOWERS
        assert await count("SELECT count(*) FROM economic_events") == len(events)
        assert await count("SELECT count(DISTINCT uri) FROM economic_events") == len(events)
        assert await count("SELECT count(*) FROM objects WHERE type = 'Note'") == len(posts) + NOTES
        entries = await count("SELECT count(*) FROM inbox_entries")
        assert entries == await count(
            "SELECT count(DISTINCT (agent_id, object_id)) FROM inbox_entries"
        )
        fulfilled = await db.fetch("SELECT fulfilled, state FROM commitments ORDER BY id")
        assert [(r["fulfilled"], r["state"]) for r in fulfilled] == [
            (Decimal(EVENTS_EACH), "finished")
        ] * PROVIDERS
        # One account of each kind, each credited exactly once per event.
        balance = await db.fetch(
            "SELECT conforms_to, accounting_quantity, onhand_quantity, unit"
            " FROM economic_resources ORDER BY conforms_to"
        )
        each = Decimal(PROVIDERS // 2 * EVENTS_EACH)
        assert [tuple(r) for r in balance] == sorted(
            (kind, each, each, "kilogram") for kind in kinds
        ), balance

        # What the peer got: the expected set, each signature valid, duplicates counted.
        received = peer.received()
        assert received["refused"] == []
        arrivals = Counter((r[0], r[1]) for r in received["received"])
        got = {(r[0], r[2], r[3]) for r in received["received"]}
        assert got == expected
        duplicates = sum(n - 1 for n in arrivals.values())
        assert duplicates <= in_flight
    return (
        f"{inbound} inbound activities processed once, {len(expected)} deliveries made "
        f"({duplicates} sent twice after the kill; {in_flight} rows were leased at the kill)"
    )
