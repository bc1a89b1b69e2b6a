"""Leaving OCP: a Django dumpdata export of OCP's accounting models (written from the
models FreedomCoop/valuenetwork publishes) becomes agents, resources and events."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from instance.store.db import Database
from instance.store.models import Agent, EconomicEvent, EconomicResource, ResourceSpecification
from tests.processes import oce

FIXTURE = Path(__file__).parent / "data" / "ocp_dumpdata.json"


async def _ledger(
    database_url: str,
) -> tuple[
    list[tuple[str, str]],
    list[tuple[str, Decimal]],
    list[tuple[str, str, str, Decimal | None]],
    list[str],
]:
    db = Database.from_url(database_url)
    try:
        async with db.read() as session:
            agents = [
                (a.username, a.kind)
                for a in await session.scalars(select(Agent).order_by(Agent.username))
            ]
            resources = [
                (r.name, r.accounting_quantity)
                for r in await session.scalars(select(EconomicResource))
            ]
            events = [
                (
                    e.action,
                    e.provider.rsplit("/", 1)[1],
                    e.receiver.rsplit("/", 1)[1],
                    e.effort_quantity or e.resource_quantity,
                )
                for e in await session.scalars(select(EconomicEvent).order_by(EconomicEvent.uri))
            ]
            specs = [
                s.name
                for s in await session.scalars(
                    select(ResourceSpecification).order_by(ResourceSpecification.name)
                )
            ]
        return agents, resources, events, specs
    finally:
        await db.dispose()


def test_an_ocp_export_becomes_agents_resources_and_events(database_url: str) -> None:
    env = {"OCE_DATABASE_URL": database_url, "OCE_BASE_URL": "https://coop.example"}
    run = oce("import-ocp", str(FIXTURE), env=env)
    assert run.stdout.split() == [
        "https://coop.example/agents/bakerycoop",
        "https://coop.example/agents/ana_b",
    ]
    assert "imported 2 agents, 2 resource specifications, 1 resources, 2 events" in run.stderr
    assert "not imported: 1 valueaccounting.agentassociation (memberships)" in run.stderr
    assert "not imported: 1 valueaccounting.process" in run.stderr
    agents, resources, events, specs = asyncio.run(_ledger(database_url))
    assert agents == [("ana_b", "Person"), ("bakerycoop", "Organization")]
    assert resources == [("Shelf 1", Decimal("12.50"))]
    assert specs == ["Baking work", "Rye bread"]
    assert events == [
        ("work", "ana_b", "bakerycoop", Decimal("3.5")),
        ("transfer", "bakerycoop", "ana_b", Decimal("2")),
    ]


def test_an_unknown_unit_is_named_and_nothing_is_imported(
    database_url: str, tmp_path: Path
) -> None:
    records = json.loads(FIXTURE.read_text())
    for record in records:
        if record["model"] == "valueaccounting.unit" and record["pk"] == 2:
            record["fields"].update(abbrev="lb", name="Pound", unit_type="weight")
    broken = tmp_path / "ocp.json"
    broken.write_text(json.dumps(records))
    env = {"OCE_DATABASE_URL": database_url, "OCE_BASE_URL": "https://coop.example"}
    refused = oce("import-ocp", str(broken), env=env, check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "oce: error: economicresourcetype 5: OCP unit 'Pound' ('lb') has no OM2 id here; "
        "name one with --unit ABBREV=om2id"
    )
    assert asyncio.run(_ledger(database_url)) == ([], [], [], [])
    mapped = oce("import-ocp", str(broken), "--unit", "lb=poundAvoirdupois", env=env)
    assert "imported 2 agents" in mapped.stderr
