"""Planning between three real instances over signed HTTP on loopback.

Alice (A) plans a bake whose inputs are committed by Bob (B, work) and Carol (C, her
flour, consumed); both accept, do their part, Alice produces the bread and the plan
finishes; the bread's trace reaches Carol's input on C. Then: a plan from Alice's
recipe made on B with exact quantities, a commitment changed and one cancelled, a
credit declined, and a payment beyond a credit limit refused. With ``OCE_WRITE_DOCS=1``
the sqlite run writes the JSON of each step to docs/planning.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from instance.agents import create_agent
from instance.tokens import create_token
from tests.databases import PostgresFactory
from tests.e2e.conftest import sqlite_url
from tests.harness import make_settings, running
from tests.processes import Process, serving_together

pytestmark = pytest.mark.e2e

BREAD = "https://www.wikidata.org/wiki/Q7802"
FLOUR = "https://www.wikidata.org/wiki/Q36465"
MUTUAL_CREDIT = "https://w3id.org/oce/ns#MutualCredit"
NAMES = ("alice", "bob", "carol")
DOC = Path(__file__).resolve().parents[2] / "docs" / "planning.md"


def kg(value: str) -> dict[str, str]:
    return {"hasUnit": "kilogram", "hasNumericalValue": value}


def hours(value: str) -> dict[str, str]:
    return {"hasUnit": "hour", "hasNumericalValue": value}


def one(value: str) -> dict[str, str]:
    return {"hasUnit": "one", "hasNumericalValue": value}


class Client:
    """An agent's client on a real instance: its outbox, and what its token reads."""

    def __init__(self, server: Process, username: str, token: str, log: list[Any]) -> None:
        self.server = server
        self.id = f"{server.base_url}/agents/{username}"
        self.auth = {"Authorization": f"Bearer {token}"}
        self.log = log

    def post(self, title: str, document: dict[str, Any], status: int = 201) -> dict[str, Any]:
        response = httpx.post(f"{self.id}/outbox", json=document, headers=self.auth, timeout=60)
        assert response.status_code == status, response.text
        body: dict[str, Any] = response.json()
        self.log.append((title, body))
        return body

    def get(self, url: str, status: int = 200) -> dict[str, Any]:
        headers = {**self.auth, "Accept": "application/activity+json"}
        response = httpx.get(url, headers=headers, timeout=60)
        assert response.status_code == status, response.text
        body: dict[str, Any] = response.json()
        return body

    def items(self, collection: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        page: str | None = self.get(f"{self.id}/{collection}")["first"]
        while page:
            document = self.get(page)
            found.extend(document.get("orderedItems", []))
            page = document.get("next")
        return found

    def commitment(self, uri: str) -> dict[str, Any] | None:
        return next((c for c in self.items("commitments") if c["id"] == uri), None)


def until(what: str, check: Callable[[], bool], *servers: Process, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    logs = "\n".join(f"--- {s.name} ---\n{s.output()[-3000:]}" for s in servers)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


async def _agent(database_url: str, username: str) -> str:
    """An agent and a token for it, written to its instance's database before the
    instance starts: the rows ``oce agent create`` and ``oce token create`` write, without
    six more ``oce`` processes to start (the most of this test's time)."""
    if database_url.startswith("sqlite"):
        Path(database_url.removeprefix("sqlite+aiosqlite:///")).parent.mkdir(exist_ok=True)
    async with (
        running(make_settings(database_url, "http://127.0.0.1")) as instance,
        instance.services.db.write() as session,
    ):
        return await create_token(session, await create_agent(session, username))


def scenario(a: Process, b: Process, c: Process, log: list[Any], tokens: list[str]) -> None:
    alice = Client(a, "alice", tokens[0], log)
    bob = Client(b, "bob", tokens[1], log)
    carol = Client(c, "carol", tokens[2], log)
    servers = (a, b, c)

    # Carol has flour on C.
    raised = carol.post(
        "Carol records her flour",
        {
            "type": "EconomicEvent",
            "action": "raise",
            "receiver": carol.id,
            "resourceConformsTo": FLOUR,
            "resourceQuantity": kg("10"),
        },
    )
    flour = raised["object"]["resourceInventoriedAs"]

    # 1. Alice plans the bake with inputs committed on B and C.
    created = alice.post(
        "Alice creates a plan: Bob's work and Carol's flour in, bread out",
        {
            "type": "Plan",
            "name": "Saturday bread",
            "planIncludes": {
                "type": "Process",
                "name": "Bake",
                "hasInput": [
                    {
                        "type": "Commitment",
                        "action": "work",
                        "provider": bob.id,
                        "effortQuantity": hours("2"),
                    },
                    {
                        "type": "Commitment",
                        "action": "consume",
                        "provider": carol.id,
                        "resourceConformsTo": FLOUR,
                        "resourceQuantity": kg("2"),
                    },
                ],
                "hasOutput": {
                    "type": "Commitment",
                    "action": "produce",
                    "resourceConformsTo": BREAD,
                    "resourceQuantity": kg("3"),
                },
            },
        },
    )
    plan = created["object"]
    process = plan["planIncludes"]["id"]
    work, consume = (flow["id"] for flow in plan["planIncludes"]["hasInput"])
    produce = plan["planIncludes"]["hasOutput"]["id"]
    until(
        "the plan's commitments to arrive",
        lambda: bool(bob.commitment(work) and carol.commitment(consume)),
        *servers,
    )
    bob.post("Bob accepts his commitment", {"type": "Accept", "object": work})
    carol.post("Carol accepts hers", {"type": "Accept", "object": consume})

    def counts() -> dict[str, int]:
        progress: dict[str, int] = alice.get(plan["id"])["oce:progress"]["counts"]
        return progress

    until("Alice to see both answers", lambda: counts()["accepted"] == 3, *servers)

    # 2. Work and consumption recorded against the process, on B and C.
    worked = bob.post(
        "Bob logs his work",
        {
            "type": "EconomicEvent",
            "action": "work",
            "receiver": alice.id,
            "effortQuantity": hours("2"),
            "fulfills": work,
            "inputOf": process,
        },
    )
    consumed = carol.post(
        "Carol consumes her flour in Alice's process",
        {
            "type": "EconomicEvent",
            "action": "consume",
            "receiver": alice.id,
            "resourceInventoriedAs": flour,
            "resourceQuantity": kg("2"),
            "fulfills": consume,
            "inputOf": process,
        },
    )
    assert {r["id"]: r for r in carol.items("resources")}[flour]["accountingQuantity"] == kg("8")
    until("both inputs fulfilled at A", lambda: counts()["finished"] == 2, *servers)

    # 3. The output produced: the process and the plan are finished.
    produced = alice.post(
        "Alice produces the bread",
        {
            "type": "EconomicEvent",
            "action": "produce",
            "receiver": alice.id,
            "resourceConformsTo": BREAD,
            "resourceQuantity": kg("3"),
            "fulfills": produce,
            "outputOf": process,
        },
    )
    bread = produced["object"]["resourceInventoriedAs"]
    finished = alice.get(plan["id"])
    log.append(("The plan as Alice reads it, finished", finished))
    assert finished["oce:progress"]["finished"] is True
    assert bob.commitment(work)["finished"] is True  # type: ignore[index]

    # 4. Trace of the bread reaches Carol's input on C.
    traced = alice.get(f"{bread}/trace")
    log.append(("The bread's trace", traced))
    by_id = {node["id"]: node for node in traced["nodes"]}
    assert by_id[consumed["object"]["id"]]["provider"] == carol.id
    assert by_id[flour]["readable"] is False  # Carol's flour is hers to read
    assert flour.startswith(c.base_url)
    # Bob tracks his work from B: into Alice's process on A (he is a party to its plan,
    # so A shows it to him), and up to her bread's production, which is hers to read.
    tracked = bob.get(f"{worked['object']['id']}/track")
    log.append(("Bob tracks his work, from B onto A", tracked))
    reached = {node["id"]: node for node in tracked["nodes"]}
    assert reached[process]["instance"] == a.base_url
    assert reached[process]["finished"] is True
    assert reached[produced["object"]["id"]] == {
        "id": produced["object"]["id"],
        "readable": False,
        "reason": "its instance does not show it to you",
        "depth": 2,
    }

    # 5. A plan from Alice's recipe, made on B, with exact quantities.
    recipe = alice.post(
        "Alice publishes her bread recipe",
        {
            "type": "Recipe",
            "name": "Rye bread",
            "primaryOutput": BREAD,
            "recipeIncludes": {
                "type": "RecipeProcess",
                "name": "Bake",
                "hasRecipeInput": [
                    {
                        "type": "RecipeFlow",
                        "action": "consume",
                        "resourceConformsTo": FLOUR,
                        "resourceQuantity": kg("0.625"),
                    },
                    {"type": "RecipeFlow", "action": "work", "effortQuantity": hours("0.75")},
                ],
                "hasRecipeOutput": {
                    "type": "RecipeFlow",
                    "action": "produce",
                    "resourceConformsTo": BREAD,
                    "resourceQuantity": kg("1"),
                },
            },
        },
    )["object"]
    response = httpx.post(
        f"{bob.id}/plans/from-recipe",
        json={"recipe": recipe["id"], "quantity": kg("12.5")},
        headers=bob.auth,
        timeout=60,
    )
    assert response.status_code == 201, response.text
    planned = response.json()["object"]
    log.append(("Bob's plan from Alice's recipe, for 12.5 kg", planned))
    inputs = planned["planIncludes"]["hasInput"]
    assert inputs[0]["resourceQuantity"] == kg("7.8125")
    assert inputs[1]["effortQuantity"] == hours("9.375")

    # 6. A commitment changed, and one cancelled.
    asked = [
        alice.post(
            "Alice asks Bob for work",
            {
                "type": "Commitment",
                "action": "work",
                "provider": bob.id,
                "receiver": alice.id,
                "effortQuantity": hours(amount),
            },
        )["object"]["id"]
        for amount in ("3", "1")
    ]
    until("Bob to hold both", lambda: all(bob.commitment(uri) for uri in asked), *servers)
    alice.post(
        "Alice changes the first to 4 hours",
        {
            "type": "Update",
            "object": {"type": "Commitment", "id": asked[0], "effortQuantity": hours("4")},
        },
    )
    alice.post("Alice cancels the second", {"type": "Delete", "object": asked[1]})
    until(
        "Bob to see the change",
        lambda: (bob.commitment(asked[0]) or {}).get("effortQuantity") == hours("4"),
        *servers,
    )
    until(
        "Bob to see the cancellation",
        lambda: asked[1] not in [x["id"] for x in bob.items("open-commitments")],
        *servers,
    )

    # 7. A credit declined; 8. a payment beyond the credit limit refused.
    currency = alice.post(
        "Alice's coop credit, with a credit limit",
        {
            "type": "ResourceSpecification",
            "name": "Coop credit",
            "defaultUnitOfResource": "one",
            "resourceClassifiedAs": [MUTUAL_CREDIT],
            "creditLimit": one("10"),
        },
    )["object"]["id"]
    paid = bob.post(
        "Bob sends Alice 4 credits, for nothing she asked",
        {
            "type": "EconomicEvent",
            "action": "transfer",
            "receiver": alice.id,
            "resourceConformsTo": currency,
            "resourceQuantity": one("4"),
        },
    )["object"]["id"]

    def alice_holds() -> bool:
        return any(e["id"] == paid for e in alice.items("events"))

    until("the credit to reach Alice", alice_holds, *servers)
    alice.post("Alice declines it", {"type": "Reject", "object": paid})
    until(
        "Bob's side reverted",
        lambda: [r["accountingQuantity"] for r in bob.items("resources")] == [one("0")],
        *servers,
    )
    assert alice.items("resources") == [] or all(
        r.get("conformsTo") != currency for r in alice.items("resources")
    )
    refused = bob.post(
        "Bob tries to pay 11 credits: beyond the limit",
        {
            "type": "EconomicEvent",
            "action": "transfer",
            "receiver": alice.id,
            "resourceConformsTo": currency,
            "resourceQuantity": one("11"),
        },
        status=409,
    )
    assert "credit limit" in refused["detail"]


def three(tmp_path: Path, urls: tuple[str, str, str]) -> None:
    log: list[tuple[str, Any]] = []
    tokens = [asyncio.run(_agent(url, name)) for url, name in zip(urls, NAMES, strict=True)]
    # The three start at once: the time of the slowest, not of all three.
    with serving_together(tmp_path, ("a", urls[0]), ("b", urls[1]), ("c", urls[2])) as (a, b, c):
        scenario(a, b, c, log, tokens)
        if os.environ.get("OCE_WRITE_DOCS") == "1" and urls[0].startswith("sqlite"):
            write_doc(
                log,
                {
                    a.base_url: "https://a.example",
                    b.base_url: "https://b.example",
                    c.base_url: "https://c.example",
                },
            )


def test_planning_across_three_instances_on_sqlite(tmp_path: Path) -> None:
    three(
        tmp_path, (sqlite_url(tmp_path, "a"), sqlite_url(tmp_path, "b"), sqlite_url(tmp_path, "c"))
    )


@pytest.mark.postgres
def test_planning_across_three_instances_on_postgresql(
    tmp_path: Path, postgres_factory: PostgresFactory
) -> None:
    three(tmp_path, (postgres_factory.new(), postgres_factory.new(), postgres_factory.new()))


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PROOF = re.compile(r'"proofValue": "z[1-9A-HJ-NP-Za-km-z]+"')


def write_doc(log: list[tuple[str, Any]], hosts: dict[str, str]) -> None:
    text = "\n\n".join(
        f"### {title}\n\n```json\n{json.dumps(body, indent=2, ensure_ascii=False)}\n```"
        for title, body in log
    )
    for real, shown in hosts.items():
        text = text.replace(real, shown)
    numbers: dict[str, str] = {}
    text = UUID.sub(lambda m: numbers.setdefault(m.group(0), f"id-{len(numbers) + 1}"), text)
    text = PROOF.sub('"proofValue": "z…"', text)
    head = DOC.read_text(encoding="utf-8").split("<!-- generated -->")[0]
    DOC.write_text(f"{head}<!-- generated -->\n\n{text}\n", encoding="utf-8")
