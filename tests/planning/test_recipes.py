"""Recipes: published, planned from (exactly scaled), by their author and by a peer."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from instance.planning.recipes import plan_from_recipe
from instance.problems import Problem
from instance.store.models import StoredObject
from tests.exchange.conftest import BREAD, Client, Pair, activity, deliver
from tests.exchange.steps import kg
from tests.fakepeer import FakePeer
from tests.planning.test_lifecycle import hours
from tests.planning.test_plans import FLOUR
from vocab import Measure

WATER = "https://www.wikidata.org/wiki/Q283"


def bread_recipe() -> dict[str, Any]:
    return {
        "type": "Recipe",
        "name": "Rye bread",
        "primaryOutput": BREAD,
        "recipeIncludes": [
            {
                "type": "RecipeExchange",
                "name": "Buy flour",
                "recipeStipulates": [
                    {
                        "type": "RecipeFlow",
                        "action": "transfer",
                        "resourceConformsTo": FLOUR,
                        "resourceQuantity": kg("0.625"),
                    }
                ],
            },
            {
                "type": "RecipeProcess",
                "name": "Bake",
                "hasRecipeInput": [
                    {
                        "type": "RecipeFlow",
                        "action": "consume",
                        "resourceConformsTo": FLOUR,
                        "resourceQuantity": kg("0.625"),
                    },
                    {
                        "type": "RecipeFlow",
                        "action": "consume",
                        "resourceConformsTo": WATER,
                        "resourceQuantity": kg("0.4"),
                    },
                    {"type": "RecipeFlow", "action": "work", "effortQuantity": hours("0.75")},
                ],
                "hasRecipeOutput": [
                    {
                        "type": "RecipeFlow",
                        "action": "produce",
                        "resourceConformsTo": BREAD,
                        "resourceQuantity": kg("1"),
                    }
                ],
            },
        ],
    }


def test_planning_from_a_recipe_scales_every_flow_exactly() -> None:
    recipe = {**bread_recipe(), "id": "https://a.test/recipes/1"}
    plan = plan_from_recipe(recipe, Measure.of("12.5", "kilogram"), "https://a.test/agents/alice")
    bought = plan["planIncludes"][0]
    assert bought["resourceQuantity"] == kg("7.8125")
    process = plan["planIncludes"][1]
    assert [f.get("resourceQuantity") or f.get("effortQuantity") for f in process["hasInput"]] == [
        kg("7.8125"),
        kg("5"),
        hours("9.375"),
    ]
    assert process["hasOutput"][0]["resourceQuantity"] == kg("12.5")
    # From a recipe for 3 kg, 1 kg needs a third of its flour: no decimal says that.
    recipe["recipeIncludes"][1]["hasRecipeOutput"][0]["resourceQuantity"] = kg("3")
    with pytest.raises(Problem) as refused:
        plan_from_recipe(recipe, Measure.of("1", "kilogram"), "https://a.test/agents/alice")
    assert refused.value.status == 422
    assert "0.625" in refused.value.detail
    with pytest.raises(Problem) as wrong_unit:
        plan_from_recipe(recipe, Measure.of("3", "litre"), "https://a.test/agents/alice")
    assert wrong_unit.value.field == "quantity"


async def publish_recipe(alice: Client) -> dict[str, Any]:
    created = await alice.post(bread_recipe())
    recipe: dict[str, Any] = created["object"]
    return recipe


async def test_a_recipe_is_published_and_a_peer_plans_from_it(pair: Pair) -> None:
    await pair.bob.post({"type": "Follow", "object": pair.alice.id})
    await pair.settle()
    recipe = await publish_recipe(pair.alice)
    assert recipe["id"].startswith("https://a.test/recipes/")
    served = await pair.a.client.get(recipe["id"], headers={"Accept": "application/activity+json"})
    assert served.status_code == 200
    assert served.json()["primaryOutput"] == BREAD
    # An exchange's flows name it back (VF recipeClauseOf).
    exchange = recipe["recipeIncludes"][0]
    assert [f["recipeClauseOf"] for f in exchange["recipeStipulates"]] == [exchange["id"]]
    await pair.settle()
    # Bob follows Alice: his instance kept her recipe as it arrived, and plans from that
    # copy even while a.test cannot be reached.
    async with pair.b.services.db.read() as session:
        kept = await session.scalar(select(StoredObject).where(StoredObject.uri == recipe["id"]))
    assert kept is not None
    assert (kept.type, kept.actor) == ("Recipe", pair.alice.id)
    a_test = pair.network.apps.pop("https://a.test")
    try:
        offline = await pair.b.client.post(
            f"{pair.bob.id}/plans/from-recipe",
            json={"recipe": recipe["id"], "quantity": kg("1")},
            headers=pair.bob.auth,
        )
        assert offline.status_code == 201, offline.text
    finally:
        pair.network.apps["https://a.test"] = a_test
    # Bob, on the other instance, plans 3 kg from Alice's recipe, asking Alice to sell
    # him the flour.
    flour_flow = recipe["recipeIncludes"][0]["recipeStipulates"][0]["id"]
    response = await pair.b.client.post(
        f"{pair.bob.id}/plans/from-recipe",
        json={
            "recipe": recipe["id"],
            "quantity": kg("3"),
            "assign": {flour_flow: pair.alice.id},
        },
        headers=pair.bob.auth,
    )
    assert response.status_code == 201, response.text
    plan = response.json()["object"]
    assert plan["basedOn"] == recipe["id"]
    includes = plan["planIncludes"]
    assert includes[0]["provider"] == pair.alice.id
    assert includes[0]["resourceQuantity"] == kg("1.875")
    assert includes[1]["hasOutput"]["resourceQuantity"] == kg("3")
    assert includes[1]["basedOn"] == f"{recipe['id']}#process-1"
    await pair.settle()
    # The flour commitment reached Alice, waiting for her answer.
    asked = [c for c in await pair.alice.items("open-commitments") if c["id"] == includes[0]["id"]]
    assert asked
    assert asked[0]["resourceQuantity"] == kg("1.875")


async def test_a_bad_recipe_is_refused(pair: Pair) -> None:
    recipe = bread_recipe()
    recipe["recipeIncludes"][1]["hasRecipeOutput"][0]["action"] = "consume"
    refused = await pair.alice.post(recipe, status=400)
    assert refused["field"].startswith("object.recipeIncludes[1].hasRecipeOutput")
    response = await pair.a.client.post(
        f"{pair.alice.id}/plans/from-recipe",
        json={"recipe": "https://a.test/recipes/nothing", "quantity": kg("1")},
        headers=pair.alice.auth,
    )
    assert response.status_code == 404


async def test_a_peers_recipe_that_does_not_read_is_refused_and_not_kept(
    pair: Pair, peer: FakePeer
) -> None:
    mallory = peer.actor("mallory")
    recipe = {**bread_recipe(), "id": f"{peer.origin}/recipes/1", "attributedTo": mallory.id}
    recipe["recipeIncludes"][1]["hasRecipeOutput"][0]["action"] = "consume"
    await deliver(pair, mallory, activity(mallory, "Create", recipe, to=[pair.alice.id]))
    async with pair.a.services.db.read() as session:
        kept = await session.scalar(select(StoredObject).where(StoredObject.uri == recipe["id"]))
    assert kept is None
    (refusal,) = peer.activities("Reject")
    assert "cannot be planned from" in refusal["content"]
    assert "hasRecipeOutput" in refusal["content"]
