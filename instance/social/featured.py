"""An agent's featured (pinned) posts: ``Add`` and ``Remove`` with its ``featured``
collection as the ``target``, as Mastodon pins, and the collection itself."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.activities import PUBLIC, id_of, object_of
from instance.outbox.c2s import Posted, Submission, outbox_handler
from instance.problems import Problem
from instance.social.posts import own_post
from instance.store.models import FeaturedItem

__all__ = ["MAX_FEATURED", "featured_of"]

#: How many posts an agent may feature (Mastodon allows 5; a collective needs more).
MAX_FEATURED = 20


def featured_of(actor: str) -> str:
    return f"{actor}/featured"


async def _check(sub: Submission, verb: str) -> str:
    target = id_of(sub.activity.get("target"))
    collection = featured_of(sub.actor)
    if target != collection:
        raise Problem(
            422,
            f"{verb} works on this agent's featured collection ({collection}), not {target}",
            field="target",
        )
    uri = id_of(object_of(sub.activity))
    await own_post(sub, uri, "feature" if verb == "Add" else "unfeature")
    assert uri is not None
    sub.activity["object"] = uri
    sub.activity["target"] = collection
    sub.activity["to"] = [PUBLIC]
    sub.activity["cc"] = [sub.svc.urls.followers(sub.agent.username)]
    return uri


@outbox_handler("Add")
async def post_add(sub: Submission) -> Posted:
    uri = await _check(sub, "Add")
    agent_id = sub.agent.id

    async def record(session: AsyncSession) -> None:
        items = list(
            (
                await session.scalars(
                    select(FeaturedItem.object_uri).where(FeaturedItem.agent_id == agent_id)
                )
            ).all()
        )
        if uri in items:
            raise Problem(409, f"{uri} is already featured", field="object")
        if len(items) >= MAX_FEATURED:
            raise Problem(422, f"at most {MAX_FEATURED} posts can be featured", field="object")
        session.add(FeaturedItem(agent_id=agent_id, object_uri=uri))

    return Posted(sub.activity, effects=record)


@outbox_handler("Remove")
async def post_remove(sub: Submission) -> Posted:
    uri = await _check(sub, "Remove")
    agent_id = sub.agent.id

    async def remove(session: AsyncSession) -> None:
        gone = await session.execute(
            delete(FeaturedItem).where(
                FeaturedItem.agent_id == agent_id, FeaturedItem.object_uri == uri
            )
        )
        if not gone.rowcount:  # type: ignore[attr-defined]
            raise Problem(404, f"{uri} is not featured", field="object")

    return Posted(sub.activity, effects=remove)
