"""An agent exported from one instance and imported into another comes back whole:
every record, every balance, every stored document with its integrity proof."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from instance.agents import create_agent
from instance.coop.memberships import change_settings
from instance.portability import export_agent, import_agent, read_export
from instance.portability.tables import AGENT_REFERENCES, REFERENCES
from instance.problems import Problem
from instance.store.models import (
    Agent,
    AgentMove,
    CoopDistribution,
    CoopPayment,
    EconomicResource,
)
from tests.coop.conftest import Three
from tests.coop.test_story import make_agents, story_for
from tests.exchange.conftest import Pair
from tests.exchange.steps import agreed, kg
from tests.harness import Running, make_settings, running
from tests.planning.test_lifecycle import hours
from tests.planning.test_plans import bake_plan
from tests.planning.test_recipes import publish_recipe
from tests.processes import oce

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
SURROGATE = {"id", *AGENT_REFERENCES, *REFERENCES}


async def exported(instance: Running, username: str, *, with_keys: bool = False) -> str:
    out = io.StringIO()
    async with instance.services.db.read() as session:
        await export_agent(session, instance.services.urls, username, out, with_keys=with_keys)
    return out.getvalue()


def records(document: str) -> dict[str, list[dict[str, Any]]]:
    """The records by table, without the row keys that differ between instances."""
    _head, rows = read_export(io.StringIO(document))
    found: dict[str, list[dict[str, Any]]] = {}
    for _, record in rows:
        row = {k: v for k, v in record["row"].items() if k not in SURROGATE}
        found.setdefault(record["table"], []).append(row)
    return found


NEW_ALICE = "https://c.test/agents/alice"


def moved(found: dict[str, list[dict[str, Any]]], old: str, new: str) -> dict[str, Any]:
    """The records as they should read after the import: the agent's own side of its
    follows, open agreements and open commitments is its new actor."""
    for table, sides in (
        ("follows", ("follower", "followee")),
        ("agreements", ("proposer", "counterparty")),
        ("commitments", ("provider", "receiver", "creator")),
    ):
        for row in found.get(table, []):
            for side in sides:
                if row[side] == old and not (table != "follows" and row["finished_at"]):
                    row[side] = new
    return found


async def balances(instance: Running) -> dict[str, tuple[str, str]]:
    async with instance.services.db.read() as session:
        return {
            r.uri: (str(r.accounting_quantity), str(r.onhand_quantity))
            for r in await session.scalars(select(EconomicResource))
        }


async def rich_ledger(pair: Pair) -> None:
    """Alice: a currency, stock, an offer, an agreement with Bob, a delivery, a post
    Bob likes, Bob as a follower, a plan Bob works in, a recipe, and her membership of
    a guild on Bob's instance."""
    alice, bob = pair.alice, pair.bob
    _, bread, agreement, _ = await agreed(pair)
    await alice.post(
        {
            "type": "EconomicEvent",
            "action": "transfer",
            "resourceInventoriedAs": bread,
            "receiver": bob.id,
            "resourceQuantity": kg("4"),
            "fulfills": agreement["stipulates"]["id"],
            "realizationOf": agreement["id"],
        }
    )
    await bob.post({"type": "Follow", "object": alice.id})
    await pair.settle()
    note = await alice.post({"type": "Note", "content": "<p>fresh</p>", "to": [PUBLIC]})
    await pair.settle()
    await bob.post({"type": "Like", "object": note["object"]["id"]})
    await pair.settle()
    plan = (await alice.post(bake_plan(pair)))["object"]
    await pair.settle()
    work = plan["planIncludes"]["hasInput"][0]["id"]
    await bob.post({"type": "Accept", "object": work})
    await pair.settle()
    await bob.post(
        {
            "type": "EconomicEvent",
            "action": "work",
            "receiver": alice.id,
            "effortQuantity": hours("1"),
            "fulfills": work,
            "inputOf": plan["planIncludes"]["id"],
        }
    )
    await publish_recipe(alice)
    async with pair.b.services.db.write() as session:
        guild = await create_agent(session, "guild", kind="organization")
        await change_settings(session, guild, joining="open")
    await alice.post({"type": "Join", "object": pair.b.services.urls.actor("guild")})
    await pair.settle()


async def test_export_then_import_elsewhere_is_exact(pair: Pair, third_database: str) -> None:
    await rich_ledger(pair)
    document = await exported(pair.a, "alice", with_keys=True)
    head = json.loads(document.splitlines()[0].removesuffix(',"records":[') + "}")
    assert head["type"] == "AgentExport"
    assert "private_key_pem" in head["agent"]
    original = records(document)
    for table in ("proposals", "intents", "agreements", "commitments", "economic_events",
                  "economic_resources", "resource_specifications", "follows", "objects",
                  "reactions", "plans", "processes", "recipes",
                  "coop_memberships"):  # fmt: skip
        assert original.get(table), f"nothing exported from {table}"
    # The plan's commitments keep their process; the membership is accepted.
    process = original["processes"][0]["uri"]
    assert sum(c["input_of"] == process for c in original["commitments"]) == 3
    assert [(m["member"], m["state"]) for m in original["coop_memberships"]] == [
        ("https://a.test/agents/alice", "accepted")
    ]
    # Bob's export holds the plan he was asked to work in (as his instance recorded it).
    bobs = records(await exported(pair.b, "bob"))
    assert [p["uri"] for p in bobs["plans"]] == [p["uri"] for p in original["plans"]]
    # Proofs travel inside the stored documents.
    signed = [
        json.loads(o["body"])["object"]
        for o in original["objects"]
        if o["type"] == "Create" and '"EconomicEvent"' in o["body"]
    ]
    assert signed
    assert all(event["proof"]["cryptosuite"] == "eddsa-jcs-2022" for event in signed)

    # A third instance, on a fresh database of the same kind.
    async with running(make_settings(third_database, "https://c.test")) as c:
        head, rows = read_export(io.StringIO(document))
        async with c.services.db.write() as session:
            done = await import_agent(session, c.services.urls, head, rows)
        assert done.actor == "https://c.test/agents/alice"
        again = await exported(c, "alice", with_keys=True)
        async with c.services.db.read() as session:
            agent = await session.scalar(select(Agent).where(Agent.username == "alice"))
            assert agent is not None
            move = await session.get(AgentMove, agent.id)
        assert move is not None
        assert json.loads(move.also_known_as) == ["https://a.test/agents/alice"]
        copied = records(again)
        copied.pop("agent_moves")
        assert copied == moved(original, "https://a.test/agents/alice", NEW_ALICE)
        assert await balances(c) == {uri: value for uri, value in (await balances(pair.a)).items()}
        # The keys came along: the same actor key, the same proof key.
        head_again = json.loads(again.splitlines()[0].removesuffix(',"records":[') + "}")
        for key in ("private_key_pem", "public_key_pem", "proof_private_pem", "proof_public_pem"):
            assert (
                head_again["agent"][key]
                == json.loads(document.splitlines()[0].removesuffix(',"records":[') + "}")["agent"][
                    key
                ]
            )
        # Followers moved with it.
        followers = (await c.client.get("https://c.test/agents/alice/followers")).json()
        assert followers["totalItems"] == 1


async def test_an_organization_moves_with_its_members_equation_and_distributions(
    three: Three, third_database: str
) -> None:
    """The cooperative of docs/cooperatives.md, after its two distributions, exported
    and imported elsewhere: memberships, validations, the equation, distributions,
    payments and claims come back exactly."""
    tokens = await make_agents(three)
    async with httpx.AsyncClient(transport=three.network, timeout=30) as http:
        await story_for(three, http, tokens).run()
    document = await exported(three.a, "coop")
    original = records(document)
    for table in ("coop_settings", "coop_memberships", "coop_contributions",
                  "coop_validations", "coop_equations", "coop_distributions",
                  "coop_payments", "coop_claims"):  # fmt: skip
        assert original.get(table), f"nothing exported from {table}"
    assert len(original["coop_distributions"]) == 2
    assert {m["member"].rsplit("/", 1)[-1] for m in original["coop_memberships"]} >= {
        "ann", "dan", "bob", "cat"
    }  # fmt: skip
    async with running(make_settings(third_database, "https://d.test")) as d:
        head, rows = read_export(io.StringIO(document))
        async with d.services.db.write() as session:
            await import_agent(session, d.services.urls, head, rows)
        copied = records(await exported(d, "coop"))
        copied.pop("agent_moves")
        assert copied == moved(original, "https://a.test/agents/coop", "https://d.test/agents/coop")
        # Each payment still names the distribution it belongs to.
        async with d.services.db.read() as session:
            payments = (
                await session.execute(
                    select(CoopPayment, CoopDistribution).join(
                        CoopDistribution, CoopPayment.distribution_id == CoopDistribution.id
                    )
                )
            ).all()
        assert len(payments) == len(original["coop_payments"])


async def test_a_refused_import_changes_nothing(pair: Pair, postgres_or_sqlite_second: str) -> None:
    await rich_ledger(pair)
    document = await exported(pair.a, "alice")
    assert "private_key_pem" not in document.splitlines()[0]
    lines = document.splitlines(keepends=True)
    table = json.loads(lines[1])["table"]
    lines[1] = lines[1].replace(f'"table":"{table}"', '"table":"nonsense"')
    before = await balances(pair.b)
    # b.test holds copies of Alice's proposal: importing her there clashes with them.
    for text, message in (
        ("".join(lines), "line 2: not a record of a table oce exports"),
        (document, "a record clashes with one already here"),
    ):
        head, rows = read_export(io.StringIO(text))
        with pytest.raises(Problem, match=message):
            async with pair.b.services.db.write() as session:
                await import_agent(session, pair.b.services.urls, head, rows, username="alice2")
        async with pair.b.services.db.read() as session:
            assert await session.scalar(select(Agent).where(Agent.username == "alice2")) is None
        assert await balances(pair.b) == before


def test_the_command_line_exports_and_imports(
    tmp_path: Path, database_url: str, third_database: str
) -> None:
    other = third_database
    env = {"OCE_DATABASE_URL": database_url, "OCE_BASE_URL": "https://old.example"}
    oce("agent", "create", "alice", "--name", "Alice", env=env)
    exported_run = oce("export", "alice", env=env)
    assert exported_run.stdout.startswith('{"@context"')
    assert "exported" in exported_run.stderr
    path = tmp_path / "alice.jsonld"
    path.write_text(exported_run.stdout)
    new_env = {"OCE_DATABASE_URL": other, "OCE_BASE_URL": "https://new.example"}
    imported = oce("import", str(path), env=new_env)
    assert imported.stdout.strip() == "https://new.example/agents/alice"
    assert "also known as https://old.example/agents/alice" in imported.stderr
    again = oce("import", str(path), env=new_env, check=False)
    assert again.returncode == 1
    assert again.stderr.strip() == "oce: error: an agent named 'alice' already exists"
    missing = oce("export", "nobody", env=env, check=False)
    assert missing.stderr.strip() == "oce: error: no agent named 'nobody' on this instance"
