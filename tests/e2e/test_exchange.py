"""The exchange between real instance processes, over signed HTTP on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from instance.demo import EXPECTED, Agent, Scenario, _poll
from tests.databases import PostgresFactory
from tests.e2e.conftest import agent_with_token, sqlite_url
from tests.processes import Process, oce, serving

pytestmark = pytest.mark.e2e


def test_oce_demo_runs_a_whole_exchange(tmp_path: Path) -> None:
    result = oce("demo", env={"OCE_DATA_DIR": str(tmp_path)}, timeout=240)
    transcript = result.stdout
    assert result.returncode == 0
    for line in (
        "Alice offers bread",
        "Bob offers to take 10 kg",
        "Alice accepts",
        "Bob pays 20 credits",
        "confirms the agreement",
        "Bob logs 1 hour of work",
        "alice: credit 20 one, bread 40 kilogram, agreement finished, hours of work logged 3",
        "bob: credit -20 one, bread 10 kilogram, agreement finished, hours of work logged 3",
    ):
        assert line in transcript


@contextmanager
def two_instances(tmp_path: Path, a_db: str, b_db: str) -> Iterator[tuple[Process, Process]]:
    with serving("a", a_db, tmp_path) as a, serving("b", b_db, tmp_path) as b:
        yield a, b


def agent(http: httpx.AsyncClient, server: Process, username: str) -> Agent:
    token = agent_with_token(server, username)["Authorization"].removeprefix("Bearer ")
    return Agent(http, f"{server.base_url}/agents/{username}", token)


@pytest.mark.postgres
def test_the_exchange_on_postgresql(tmp_path: Path, postgres_factory: PostgresFactory) -> None:
    a_db, b_db = postgres_factory.new(), postgres_factory.new()
    with two_instances(tmp_path, a_db, b_db) as (a, b):

        async def run() -> dict[str, dict[str, str]]:
            async with httpx.AsyncClient(timeout=30) as http:
                alice, bob = agent(http, a, "alice"), agent(http, b, "bob")
                return await Scenario(alice, bob, _poll, lambda _line: None).run()

        assert asyncio.run(run()) == EXPECTED


def test_an_offer_beyond_what_is_left_is_rejected_over_http(tmp_path: Path) -> None:
    """B's copy of the proposal lags behind A's: A still refuses, and says why."""
    with two_instances(tmp_path, sqlite_url(tmp_path, "a"), sqlite_url(tmp_path, "b")) as (a, b):

        async def run() -> None:
            async with httpx.AsyncClient(timeout=30) as http:
                alice, bob, carol = (
                    agent(http, a, "alice"),
                    agent(http, b, "bob"),
                    agent(http, b, "carol"),
                )
                created = await alice.post(
                    {
                        "type": "Proposal",
                        "purpose": "offer",
                        "name": "Last loaves",
                        "unitBased": True,
                        "publishes": {
                            "type": "Intent",
                            "action": "transfer",
                            "resourceConformsTo": "https://www.wikidata.org/wiki/Q7802",
                            "resourceQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "1"},
                            "availableQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "3"},
                        },
                    }
                )
                proposal = created["object"]["id"]

                def wants(amount: str) -> dict[str, object]:
                    return {
                        "type": "Offer",
                        "object": {
                            "type": "Agreement",
                            "stipulates": {
                                "type": "Commitment",
                                "satisfies": f"{proposal}#primary",
                                "resourceQuantity": {
                                    "hasUnit": "kilogram",
                                    "hasNumericalValue": amount,
                                },
                            },
                        },
                    }

                first = await bob.post(wants("2"))
                second = await carol.post(wants("2"))  # B's copy still says 3 kg are left

                async def both_arrived() -> bool:
                    ids = {item.get("id") for item in await alice.items("inbox")}
                    return {first["id"], second["id"]} <= ids

                await _poll(both_arrived)
                accepted = await alice.post({"type": "Accept", "object": first["id"]})
                amount = accepted["result"]["stipulates"]["resourceQuantity"]
                assert amount["hasNumericalValue"] == "2"
                # 1 kg is left now: the second offer can no longer be accepted.
                response = await alice.client.post(
                    f"{alice.id}/outbox",
                    json={"type": "Accept", "object": second["id"]},
                    headers=alice.headers,
                )
                assert response.status_code == 422
                assert "only 1 kilogram" in response.json()["detail"]
                await alice.post({"type": "Reject", "object": second["id"], "content": "Sold out"})

                async def carol_told() -> bool:
                    return any(
                        item["type"] == "Reject" and item.get("object") == second["id"]
                        for item in await carol.items("inbox")
                    )

                await _poll(carol_told)

        asyncio.run(run())


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_parallel_transfers_over_http_never_overspend(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        database = sqlite_url(tmp_path, "a")
    else:
        database = request.getfixturevalue("postgres_factory").new()
    with serving("a", database, tmp_path) as a:

        async def run() -> None:
            async with httpx.AsyncClient(
                timeout=60, limits=httpx.Limits(max_connections=64)
            ) as http:
                alice, carol = agent(http, a, "alice"), agent(http, a, "carol")
                raised = await alice.post(
                    {
                        "type": "EconomicEvent",
                        "action": "raise",
                        "receiver": alice.id,
                        "resourceConformsTo": "https://www.wikidata.org/wiki/Q7802",
                        "resourceQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "50"},
                    }
                )
                bread = raised["object"]["resourceInventoriedAs"]

                async def take() -> int:
                    response = await http.post(
                        f"{alice.id}/outbox",
                        json={
                            "type": "EconomicEvent",
                            "action": "transfer",
                            "resourceInventoriedAs": bread,
                            "receiver": carol.id,
                            "resourceQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "0.7"},
                        },
                        headers=alice.headers,
                    )
                    return response.status_code

                statuses = await asyncio.gather(*(take() for _ in range(90)))
                assert set(statuses) == {201, 409}
                assert statuses.count(201) == 71  # 71 x 0.7 = 49.7 kg fit in 50 kg
                left = (await alice.get(bread))["accountingQuantity"]["hasNumericalValue"]
                assert left == "0.3"
                carols = await carol.items("resources")
                assert [r["accountingQuantity"]["hasNumericalValue"] for r in carols] == ["49.7"]

        asyncio.run(run())
