"""Moving an agent to another instance, as Mastodon accounts move.

The new actor names the old one in ``alsoKnownAs`` (``oce import`` records it); the old
one's client posts ``Move{object: old, target: new}``: the old actor keeps ``movedTo``
and the ``Move`` goes to its followers. A server receiving a ``Move`` believes it only
when the old actor signed it and the new actor's own document, fetched from its origin,
names the old one in ``alsoKnownAs``. Then the local agents that followed the old actor
follow the new one, and open agreements and commitments with the old actor name the new
one from then on (the signed documents they were made of stay as they were), so the
exchange continues with the actor that now speaks for that party.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from instance.activities import id_of, object_of
from instance.agents import get_agent
from instance.inbox.processing import Context, Refused, handles
from instance.outbox.c2s import Posted, Submission, outbox_handler
from instance.outbox.publish import now_iso, publish
from instance.peers import ActorUnavailable
from instance.problems import Problem
from instance.services import Services
from instance.store.models import Agent, AgentMove, Agreement, Commitment, Follow, utcnow

__all__ = ["aliases_of", "follow_moved", "rename_party"]

log = logging.getLogger("oce.moves")


async def aliases_of(svc: Services, actor: str) -> list[str]:
    """The ``alsoKnownAs`` of ``actor``: ours from the database, another server's from
    its document fetched afresh (never from what the mover says)."""
    if svc.urls.is_local(actor):
        async with svc.db.read() as session:
            agent = await get_agent(session, svc.urls.username_of(actor) or "")
            move = await session.get(AgentMove, agent.id) if agent else None
        return json.loads(move.also_known_as) if move else []
    remote = await svc.peers.actor(actor, refresh=True)
    document = json.loads(remote.document)
    found = document.get("alsoKnownAs")
    return [a for a in (found if isinstance(found, list) else [found]) if isinstance(a, str)]


@outbox_handler("Move")
async def post_move(sub: Submission) -> Posted:
    """The agent's client moves it: only to an actor that names it in ``alsoKnownAs``."""
    moved = id_of(object_of(sub.activity))
    target = id_of(sub.activity.get("target"))
    if moved != sub.actor:
        raise Problem(
            422, f"an agent can only move itself ({sub.actor}), not {moved}", field="object"
        )
    if target is None or not target.startswith(("https://", "http://")) or target == sub.actor:
        raise Problem(400, "Move needs the new actor's id as its target", field="target")
    try:
        aliases = await aliases_of(sub.svc, target)
    except ActorUnavailable as exc:
        raise Problem(
            502, f"cannot read the new actor {target}: {exc.detail}", field="target"
        ) from exc
    if sub.actor not in aliases:
        raise Problem(
            422,
            f"{target} does not list {sub.actor} in its alsoKnownAs: import the agent there "
            "first (oce import), then move",
            field="target",
        )
    sub.activity["object"] = sub.actor
    sub.activity["target"] = target
    sub.activity["to"] = [sub.svc.urls.followers(sub.agent.username)]
    sub.activity.pop("cc", None)
    agent_id = sub.agent.id

    async def record(session: AsyncSession) -> None:
        move = await session.get(AgentMove, agent_id)
        if move is None:
            session.add(AgentMove(agent_id=agent_id, moved_to=target))
        else:
            move.moved_to, move.updated_at = target, utcnow()

    return Posted(sub.activity, effects=record)


async def follow_moved(
    session: AsyncSession, svc: Services, old: str, new: str
) -> list[tuple[Agent, dict[str, Any]]]:
    """Turn the local agents' follows of ``old`` into follow requests of ``new``; the
    Follow activities to send are returned (they are published by the caller)."""
    rows = (
        await session.scalars(
            select(Follow).where(Follow.followee == old, Follow.follower_agent_id.is_not(None))
        )
    ).all()
    sent: list[tuple[Agent, dict[str, Any]]] = []
    for row in rows:
        agent = await session.get(Agent, row.follower_agent_id)
        if agent is None:
            continue
        actor = svc.urls.actor(agent.username)
        already = await session.scalar(
            select(Follow.id).where(Follow.follower == actor, Follow.followee == new)
        )
        await session.delete(row)
        if already is not None or new == actor:
            continue
        follow = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": svc.urls.new_activity(),
            "type": "Follow",
            "actor": actor,
            "object": new,
            "to": [new],
            "published": now_iso(),
        }
        followee = await get_agent(session, svc.urls.username_of(new) or "")
        session.add(
            Follow(
                activity_uri=follow["id"],
                follower=actor,
                followee=new,
                follower_agent_id=agent.id,
                followee_agent_id=followee.id if followee else None,
            )
        )
        sent.append((agent, follow))
    return sent


@handles("Move")
async def on_move(ctx: Context) -> None:
    old = id_of(object_of(ctx.activity))
    new = id_of(ctx.activity.get("target"))
    if old != ctx.actor:
        raise Refused("an actor can only move itself")
    if new is None or new == old:
        raise Refused("Move needs the new actor as its target")
    try:
        aliases = await aliases_of(ctx.svc, new)
    except ActorUnavailable as exc:
        raise Refused(f"cannot read the new actor {new}: {exc.detail}") from exc
    if old not in aliases:
        raise Refused(f"{new} does not list {old} in its alsoKnownAs")
    if not ctx.svc.urls.is_local(new):
        await ctx.svc.peers.actor(new)  # known before the transaction: we send it Follows
    async with ctx.apply() as session:
        for agent, follow in await follow_moved(session, ctx.svc, old, new):
            await publish(session, ctx.svc.urls, agent, follow)
        await rename_party(session, old, new)
    log.info("%s moved to %s", old, new)


async def rename_party(session: AsyncSession, old: str, new: str) -> None:
    """Open agreements and commitments with ``old`` as a party name ``new`` instead:
    the exchange continues with the actor that now speaks for that party. Finished ones,
    the signed documents and every economic event stay as they were."""
    for model, columns, still_open in (
        (Agreement, ("proposer", "counterparty"), Agreement.finished_at.is_(None)),
        (Commitment, ("provider", "receiver", "creator"), Commitment.finished_at.is_(None)),
    ):
        for column in columns:
            attribute: Any = getattr(model, column)
            await session.execute(
                update(model).where(attribute == old, still_open).values({column: new})
            )
