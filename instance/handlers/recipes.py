"""Recipes on the wire: ``Create{Recipe}`` from an agent's client (published to
everyone), a peer's ``Create{Recipe}`` kept as received, and planning from a recipe of
ours or a peer's (the kept copy, else read from its id)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation import FetchError
from instance.activities import PUBLIC, id_of, is_public, object_of
from instance.inbox.processing import Context, Refused, handles
from instance.negotiation import dumps
from instance.normalizing import normalize_bounded
from instance.outbox.c2s import Posted, Submission, outbox_handler, post_to_outbox
from instance.outbox.vfdocs import client_document
from instance.planning.recipes import mint_recipe, plan_from_recipe, read_recipe
from instance.problems import Problem
from instance.services import Services
from instance.store.models import Agent, Recipe, StoredObject, utcnow
from vocab import Measure, VocabError

__all__ = ["plan_recipe", "recipe_document"]


@outbox_handler("Create", "Recipe")
async def post_recipe(sub: Submission) -> Posted:
    activity = await client_document(sub)
    document = read_recipe(object_of(activity))
    recipe = mint_recipe(document, sub.svc.urls.new_object("recipes"), sub.actor)
    # Public, and delivered to the author's followers: their instances keep it.
    followers = [sub.svc.urls.followers(sub.agent.username)]
    recipe["to"], recipe["cc"] = [PUBLIC], followers
    sub.activity.clear()
    sub.activity.update(activity, object=recipe, to=[PUBLIC], cc=followers)
    agent_id = sub.agent.id

    async def record(session: AsyncSession) -> None:
        session.add(
            Recipe(
                uri=recipe["id"],
                agent_id=agent_id,
                primary_output=recipe["primaryOutput"],
                name=recipe["name"][:500],
                body=json.dumps(recipe, ensure_ascii=False, separators=(",", ":")),
            )
        )

    return Posted(sub.activity, effects=record)


@handles("Create", "Recipe")
async def on_create_recipe(ctx: Context) -> None:
    """A peer's recipe (it reached us as a follower, or addressed): checked as our own
    are, and kept, so our agents plan from it without asking its instance again. A
    newer version of the same recipe from its author replaces the copy."""
    recipe = object_of(ctx.activity)
    if not isinstance(recipe, dict) or not isinstance(recipe.get("id"), str):
        raise Refused("Create needs the recipe itself, with an id")
    if id_of(recipe.get("attributedTo")) not in (None, ctx.actor):
        raise Refused("the recipe is attributed to someone other than its sender")
    try:
        read_recipe(recipe)
    except Problem as exc:
        raise Refused(f"the recipe cannot be planned from: {exc.field}: {exc.detail}") from None
    body = dumps(recipe)
    async with ctx.apply() as session:
        row = await session.scalar(select(StoredObject).where(StoredObject.uri == recipe["id"]))
        if row is None:
            session.add(
                StoredObject(
                    uri=recipe["id"],
                    type="Recipe",
                    actor=ctx.actor,
                    public=is_public(recipe) or is_public(ctx.activity),
                    body=body,
                )
            )
        elif row.agent_id is None and row.actor == ctx.actor and row.type == "Recipe":
            row.body, row.published = body, utcnow()


async def recipe_document(svc: Services, uri: str) -> dict[str, Any]:
    """A recipe of ours, or a peer's: the copy we kept, else read from its id (fetched
    before any session)."""
    if svc.urls.is_local(uri):
        async with svc.db.read() as session:
            body = await session.scalar(select(Recipe.body).where(Recipe.uri == uri))
        if body is None:
            raise Problem(404, f"{uri} is not a recipe of this instance", field="recipe")
        found: dict[str, Any] = json.loads(body)
        return found
    async with svc.db.read() as session:
        kept = await session.scalar(
            select(StoredObject.body).where(
                StoredObject.uri == uri,
                StoredObject.type == "Recipe",
                StoredObject.agent_id.is_(None),
                StoredObject.deleted_at.is_(None),
            )
        )
    if kept is not None:
        copy: dict[str, Any] = json.loads(kept)
        return copy
    try:
        fetched = await svc.peers.fetcher.fetch_object(uri)
        document: dict[str, Any] = await normalize_bounded(fetched)
    except FetchError as exc:
        raise Problem(502, f"cannot read the recipe {uri}: {exc}", field="recipe") from None
    except VocabError as exc:
        raise Problem(422, f"the recipe {uri} cannot be read: {exc}", field="recipe") from None
    return document


async def plan_recipe(svc: Services, agent: Agent, request: dict[str, Any]) -> StoredObject:
    """Plan from a recipe for ``request``: ``recipe`` (its id, ours or a peer's),
    ``quantity`` of its output, optional ``name`` and ``assign`` (recipe flow id ->
    agent). Posts the plan as the agent's ``Create{Plan}``; returns that activity."""
    uri = request.get("recipe")
    if not isinstance(uri, str) or len(uri) > 2048:
        raise Problem(400, "recipe is the recipe's id", field="recipe")
    quantity = request.get("quantity")
    if not isinstance(quantity, dict):
        raise Problem(400, "quantity is {hasUnit, hasNumericalValue}", field="quantity")
    try:
        wanted = Measure.parse(quantity, "quantity")
    except VocabError as exc:
        raise Problem(400, str(exc), field="quantity") from None
    assign = request.get("assign", {})
    if (
        not isinstance(assign, dict)
        or len(assign) > 200
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in assign.items())
    ):
        raise Problem(400, "assign maps recipe flow ids to agent ids", field="assign")
    name = request.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 500):
        raise Problem(400, "name is text of at most 500 characters", field="name")
    recipe = await recipe_document(svc, uri)
    actor = svc.urls.actor(agent.username)
    plan = plan_from_recipe(recipe, wanted, actor, name=name, assign=assign)
    plan["basedOn"] = uri
    return await post_to_outbox(svc, agent, {"type": "Create", "object": plan})
