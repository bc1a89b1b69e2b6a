"""Plans and processes across two instances: committed, answered, worked, produced."""

from __future__ import annotations

from typing import Any

from tests.exchange.conftest import BREAD, Pair, ledger_state
from tests.exchange.steps import kg
from tests.planning.test_lifecycle import hours, seen

FLOUR = "https://www.wikidata.org/wiki/Q36465"
OVEN = "https://www.wikidata.org/wiki/Q202027"


async def raise_resource(pair: Pair, kind: str, amount: dict[str, str]) -> str:
    raised = await pair.alice.post(
        {
            "type": "EconomicEvent",
            "action": "raise",
            "receiver": pair.alice.id,
            "resourceConformsTo": kind,
            "resourceQuantity": amount,
        }
    )
    uri: str = raised["object"]["resourceInventoriedAs"]
    return uri


def bake_plan(pair: Pair) -> dict[str, Any]:
    return {
        "type": "Plan",
        "name": "Saturday bread",
        "planIncludes": [
            {
                "type": "Process",
                "name": "Bake",
                "hasBeginning": "2026-12-05T06:00:00Z",
                "hasEnd": "2026-12-05T10:00:00Z",
                "hasInput": [
                    {
                        "type": "Commitment",
                        "action": "work",
                        "provider": pair.bob.id,
                        "effortQuantity": hours("3"),
                        "due": "2026-12-05T10:00:00Z",
                    },
                    {
                        "type": "Commitment",
                        "action": "consume",
                        "resourceConformsTo": FLOUR,
                        "resourceQuantity": kg("2"),
                    },
                    {
                        "type": "Commitment",
                        "action": "use",
                        "resourceConformsTo": OVEN,
                        "effortQuantity": hours("4"),
                    },
                ],
                "hasOutput": [
                    {
                        "type": "Commitment",
                        "action": "produce",
                        "resourceConformsTo": BREAD,
                        "resourceQuantity": kg("3"),
                    }
                ],
            }
        ],
    }


async def test_a_plan_is_committed_worked_and_produced_across_instances(pair: Pair) -> None:
    alice, bob = pair.alice, pair.bob
    flour = await raise_resource(pair, FLOUR, kg("10"))
    oven = await raise_resource(pair, OVEN, {"hasUnit": "one", "hasNumericalValue": "1"})
    created = await alice.post(bake_plan(pair))
    await pair.settle()
    plan = created["object"]
    assert plan["id"].startswith("https://a.test/plans/")
    assert created["to"] == [bob.id]
    process_doc = plan["planIncludes"]
    process = process_doc["id"]
    work, consume, use = (flow["id"] for flow in process_doc["hasInput"])
    produce = process_doc["hasOutput"]["id"]
    # Bob's instance recorded the commitment asked of him, waiting for his answer.
    asked = await seen(bob, work)
    assert asked["inputOf"] == process
    assert work in [c["id"] for c in await bob.items("open-commitments")]
    progress = (await alice.get(plan["id"]))["oce:progress"]
    assert progress["counts"]["proposed"] == 1
    assert progress["counts"]["accepted"] == 3
    await bob.post({"type": "Accept", "object": work})
    await pair.settle()
    progress = (await alice.get(plan["id"]))["oce:progress"]
    assert [f["state"] for f in progress["processes"][0]["inputs"]] == ["accepted"] * 3
    assert "Accept" in await alice.inbox_types()

    # Bob works, in two parts; Alice consumes flour, uses the oven, produces bread.
    for amount in ("1", "2"):
        await bob.post(
            {
                "type": "EconomicEvent",
                "action": "work",
                "receiver": alice.id,
                "effortQuantity": hours(amount),
                "fulfills": work,
                "inputOf": process,
            }
        )
        await pair.settle()
    await alice.post(
        {
            "type": "EconomicEvent",
            "action": "consume",
            "receiver": alice.id,
            "resourceInventoriedAs": flour,
            "resourceQuantity": kg("2"),
            "fulfills": consume,
            "inputOf": process,
        }
    )
    await alice.post(
        {
            "type": "EconomicEvent",
            "action": "use",
            "receiver": alice.id,
            "resourceInventoriedAs": oven,
            "effortQuantity": hours("4"),
            "fulfills": use,
            "inputOf": process,
        }
    )
    before_output = await alice.get(plan["id"])
    assert before_output["oce:progress"]["finished"] is False
    produced = await alice.post(
        {
            "type": "EconomicEvent",
            "action": "produce",
            "receiver": alice.id,
            "resourceConformsTo": BREAD,
            "resourceQuantity": kg("3"),
            "fulfills": produce,
            "outputOf": process,
        }
    )
    await pair.settle()
    bread = produced["object"]["resourceInventoriedAs"]
    resources = {r["id"]: r for r in await alice.items("resources")}
    assert resources[flour]["accountingQuantity"] == kg("8")  # consume decrements
    assert resources[oven]["accountingQuantity"]["hasNumericalValue"] == "1"  # use: none
    assert resources[bread]["accountingQuantity"] == kg("3")  # produce creates
    progress = (await alice.get(plan["id"]))["oce:progress"]
    assert progress["finished"] is True
    assert progress["processes"][0]["finished"] is True
    assert len(progress["processes"][0]["events"]) == 5
    assert (await alice.get(process))["finished"] is True
    # Bob can read the plan he is part of.
    response = await pair.b.client.get(plan["id"], headers=bob.auth)
    assert response.status_code == 404  # (b.test serves only its own ids)
    state = await ledger_state(pair.b)
    assert state["commitments"][work][0] == "finished"

    # Trace: the bread back through its process to the flour, the oven and Bob's work.
    traced = await alice.get(f"{bread}/trace")
    ids = {node["id"] for node in traced["nodes"]}
    assert {bread, produced["object"]["id"], process, flour, oven} <= ids
    works = [n for n in traced["nodes"] if n.get("action") == "work"]
    assert [n["provider"] for n in works] == [bob.id, bob.id]
    assert traced["truncated"] is False
    # Track: the flour forward into the bread.
    tracked = await alice.get(f"{flour}/track")
    assert bread in {node["id"] for node in tracked["nodes"]}
    # Nobody else reads Alice's trace.
    hidden = await pair.a.client.get(f"{bread}/trace", headers=bob.auth)
    assert hidden.status_code in (401, 403, 404)


async def test_a_plan_commitment_rejected_and_process_finished_by_its_author(pair: Pair) -> None:
    created = await pair.alice.post(bake_plan(pair))
    await pair.settle()
    plan = created["object"]
    process = plan["planIncludes"]["id"]
    work = plan["planIncludes"]["hasInput"][0]["id"]
    await pair.bob.post({"type": "Reject", "object": work, "content": "busy"})
    await pair.settle()
    progress = (await pair.alice.get(plan["id"]))["oce:progress"]
    assert progress["counts"]["rejected"] == 1
    assert progress["counts"]["late"] == 0
    await pair.alice.post(
        {"type": "Update", "object": {"type": "Process", "id": process, "finished": True}}
    )
    await pair.settle()
    assert (await pair.alice.get(plan["id"]))["oce:progress"]["finished"] is True


async def test_a_plan_asking_strangers_to_commit_to_each_other_is_refused(pair: Pair) -> None:
    plan = bake_plan(pair)
    plan["planIncludes"][0]["hasInput"][0]["receiver"] = pair.bob.id
    before = await ledger_state(pair.a)
    refused = await pair.alice.post(plan, status=403)
    assert refused["field"] == "object.planIncludes"
    assert await ledger_state(pair.a) == before
    plan = bake_plan(pair)
    plan["planIncludes"][0]["hasOutput"][0]["action"] = "consume"
    refused = await pair.alice.post(plan, status=400)
    assert "cannot be a process output" in refused["detail"]
