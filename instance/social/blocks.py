"""An agent blocks an actor: the actor's activities to the agent are refused (see
:func:`instance.inbox.processing` which drops blocked senders' activities), nothing the
agent sends is delivered to it (:func:`instance.outbox.publish.publish`), and the follows
between them end. The ``Block`` itself is never delivered to the blocked actor
(ActivityPub 6.9: SHOULD NOT)."""

from __future__ import annotations

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.activities import id_of, object_of
from instance.outbox.c2s import Posted, Submission, outbox_handler
from instance.problems import Problem
from instance.store.models import ActorBlock, Follow

__all__: list[str] = []


@outbox_handler("Block")
async def post_block(sub: Submission) -> Posted:
    target = id_of(object_of(sub.activity))
    if target is None or not target.startswith(("https://", "http://")):
        raise Problem(400, "Block needs the id of the actor to block as its object", field="object")
    if target == sub.actor:
        raise Problem(400, "an agent cannot block itself", field="object")
    async with sub.svc.db.read() as session:
        already = await session.scalar(
            select(ActorBlock.activity_uri).where(
                ActorBlock.agent_id == sub.agent.id, ActorBlock.blocked == target
            )
        )
    if already is not None:
        raise Problem(409, f"{target} is already blocked ({already})", field="object")
    sub.activity["object"] = target
    for name in ("to", "cc", "bto", "bcc", "audience"):
        sub.activity.pop(name, None)  # a Block is private: it goes to nobody
    agent_id, block_id = sub.agent.id, sub.activity["id"]

    async def record(session: AsyncSession) -> None:
        session.add(ActorBlock(agent_id=agent_id, blocked=target, activity_uri=block_id))
        await session.execute(
            delete(Follow).where(
                or_(
                    (Follow.followee_agent_id == agent_id) & (Follow.follower == target),
                    (Follow.follower_agent_id == agent_id) & (Follow.followee == target),
                )
            )
        )

    return Posted(sub.activity, effects=record)


@outbox_handler("Undo", "Block")
async def post_unblock(sub: Submission) -> Posted:
    undone_id = id_of(object_of(sub.activity))
    async with sub.svc.db.read() as session:
        block = await session.scalar(
            select(ActorBlock).where(
                ActorBlock.activity_uri == undone_id, ActorBlock.agent_id == sub.agent.id
            )
        )
    if block is None:
        raise Problem(404, f"{undone_id} is not a block this agent made", field="object")
    sub.activity["object"] = {
        "id": block.activity_uri,
        "type": "Block",
        "actor": sub.actor,
        "object": block.blocked,
    }
    for name in ("to", "cc", "bto", "bcc", "audience"):
        sub.activity.pop(name, None)
    block_row = block.id

    async def remove(session: AsyncSession) -> None:
        await session.execute(delete(ActorBlock).where(ActorBlock.id == block_row))

    return Posted(sub.activity, effects=remove)
