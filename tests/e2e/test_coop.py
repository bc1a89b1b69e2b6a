"""A cooperative across three real instance processes, over signed HTTP on loopback:
the worked example of docs/cooperatives.md to the last digit on every ledger (SQLite and
PostgreSQL), each joining style (shares paid from another instance), a non-coordinator
refused, a join rejected with its reason."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from instance.coopdemo import EXPECTED_BALANCES, CoopStory, Hooks
from instance.demo import Agent, _poll
from tests.databases import PostgresFactory
from tests.e2e.conftest import sqlite_url
from tests.processes import Process, oce, serving

pytestmark = pytest.mark.e2e


@contextmanager
def three_instances(urls: tuple[str, str, str], tmp_path: Path) -> Iterator[tuple[Process, ...]]:
    with (
        serving("a", urls[0], tmp_path) as a,
        serving("b", urls[1], tmp_path) as b,
        serving("c", urls[2], tmp_path) as c,
    ):
        yield a, b, c


def token(server: Process, name: str, *create: str) -> str:
    server.cli("agent", "create", name, *create)
    return server.cli("token", "create", name).stdout.strip()


async def run_story(a: Process, b: Process, c: Process, http: httpx.AsyncClient) -> CoopStory:
    where = {"ann": a, "dan": a, "cus": a, "bob": b, "cat": c}
    tokens = {"coop": token(a, "coop", "--type", "organization", "--joining", "open")}
    tokens.update({name: token(server, name) for name, server in where.items()})
    where["coop"] = a

    async def make_coordinator(person: str) -> None:
        await asyncio.to_thread(a.cli, "member", "add", "coop", person, "--role", "coordinator")

    async def distribute(income: str, equation: str) -> str | None:
        done = await asyncio.to_thread(
            a.cli, "distribute", "coop", "--income", income, "--equation", equation, check=False
        )
        return None if done.returncode == 0 else done.stderr.strip()

    def agent(name: str) -> Agent:
        return Agent(http, f"{where[name].base_url}/agents/{name}", tokens[name])

    story = CoopStory(
        agent("coop"), agent("ann"), agent("dan"), agent("bob"), agent("cat"), agent("cus"),
        Hooks(make_coordinator, distribute), _poll, lambda _line: None,
    )  # fmt: skip
    assert await story.run() == EXPECTED_BALANCES
    return story


def test_a_cooperative_across_three_instances(tmp_path: Path) -> None:
    urls = (sqlite_url(tmp_path, "a"), sqlite_url(tmp_path, "b"), sqlite_url(tmp_path, "c"))
    with three_instances(urls, tmp_path) as (a, b, c):

        async def run() -> None:
            async with httpx.AsyncClient(timeout=30) as http:
                story = await run_story(a, b, c, http)
                dan = story.dan

                # dan is a member, not a coordinator: he cannot speak for the cooperative.
                refused = await http.post(
                    f"{story.org.id}/outbox",
                    json={"type": "Note", "content": "free credits for all"},
                    headers=dan.headers,
                )
                assert refused.status_code == 403
                assert "dan, who cannot act for coop" in refused.json()["detail"]

                # Moderated: eve (on B) is rejected by ann, acting for the cooperative.
                await asyncio.to_thread(a.cli, "org", "set", "coop", "--joining", "moderated")
                eve = Agent(http, f"{b.base_url}/agents/eve", token(b, "eve"))
                join = await eve.post({"type": "Join", "object": story.org.id})
                as_coop = Agent(http, story.org.id, story.ann.token)

                await _poll(lambda: _known_at(a, join["id"]))
                await as_coop.post(
                    {"type": "Reject", "object": join["id"], "content": "we are full this season"}
                )
                await _poll(lambda: _answered(eve, join["id"], "Reject", "we are full"))

                # Shares: eve's share, paid from B, makes her a member of the shop on A.
                shop = token(a, "shop", "--type", "organization", "--joining", "shares",
                             "--share-price", "50", "--share-in", story.spec)  # fmt: skip
                assert shop
                shop_id = f"{a.base_url}/agents/shop"
                join = await eve.post({"type": "Join", "object": shop_id})
                await _poll(lambda: _known_at(a, join["id"]))
                await eve.post(
                    {
                        "type": "EconomicEvent",
                        "action": "transfer",
                        "provider": eve.id,
                        "receiver": shop_id,
                        "resourceConformsTo": story.spec,
                        "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "50"},
                    }
                )
                await _poll(lambda: _answered(eve, join["id"], "Accept", ""))
                assert eve.id in a.cli("member", "list", "shop").stdout

        asyncio.run(run())


async def _known_at(server: Process, activity_id: str) -> bool:
    rows = await asyncio.to_thread(
        server.query, f"SELECT 1 FROM coop_memberships WHERE activity_uri = '{activity_id}'"
    )
    return bool(rows)


async def _answered(agent: Agent, about: str, kind: str, reason: str) -> bool:
    for item in await agent.items("inbox"):
        target = item.get("object")
        target_id = target.get("id") if isinstance(target, dict) else target
        if item.get("type") == kind and target_id == about:
            return reason in (item.get("content") or "")
    return False


@pytest.mark.postgres
def test_the_worked_example_on_postgresql(
    tmp_path: Path, postgres_factory: PostgresFactory
) -> None:
    urls = (postgres_factory.new(), postgres_factory.new(), postgres_factory.new())
    with three_instances(urls, tmp_path) as (a, b, c):

        async def run() -> None:
            async with httpx.AsyncClient(timeout=30) as http:
                await run_story(a, b, c, http)

        asyncio.run(run())


def test_oce_demo_coop_prints_each_members_balance(tmp_path: Path) -> None:
    result = oce("demo", "coop", env={"OCE_DATA_DIR": str(tmp_path)}, timeout=600)
    assert result.returncode == 0, result.stderr
    for line in (
        "ann rejects cat's other entry, saying why",
        "running it again is refused",
        "  ann: 225.00 credits",
        "  dan: 438.90 credits",
        "  bob: 138.88 credits",
        "  cat: 97.22 credits",
        "  coop: 0.00 credits",
        "  cus: -900.00 credits",
    ):
        assert line in result.stdout
