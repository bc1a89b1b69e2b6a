"""The social graph: follows, their answers, and actors updating or deleting themselves."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.activities import first_type, id_of, object_of
from instance.agents import get_agent
from instance.handlers.notes import delete_remote_object
from instance.inbox.processing import Context, Refused, handles
from instance.outbox.c2s import Posted, Submission, outbox_handler, prefetch_addressees
from instance.outbox.publish import now_iso, publish
from instance.outbox.servers import learn_servers
from instance.peers import ActorUnavailable
from instance.problems import Problem
from instance.store.models import Agent, Follow

log = logging.getLogger("oce.social")


async def _local_agent(session: AsyncSession, ctx: Context, uri: str | None) -> Agent | None:
    username = ctx.svc.urls.username_of(uri or "")
    return await get_agent(session, username) if username else None


def _follow_reference(activity: dict[str, Any]) -> dict[str, Any]:
    """The Follow as our answer embeds it (Mastodon matches on its id)."""
    return {
        "id": activity["id"],
        "type": "Follow",
        "actor": ctx_actor(activity),
        "object": id_of(object_of(activity)),
    }


def ctx_actor(activity: dict[str, Any]) -> str:
    return id_of(activity.get("actor")) or ""


async def answer_follow(
    session: AsyncSession, ctx: Context, agent: Agent, follow: dict[str, Any], verb: str
) -> None:
    """Send ``Accept`` or ``Reject`` of a follow request to its sender."""
    urls = ctx.svc.urls
    answer = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": urls.new_activity(),
        "type": verb,
        "actor": urls.actor(agent.username),
        "object": follow,
        "to": [follow["actor"]],
        "published": now_iso(),
    }
    await publish(session, urls, agent, answer)


async def _learn_follower_server(ctx: Context) -> None:
    """Find out whether a new follower's server speaks ValueFlows (before any
    transaction): it decides whether the server gets Proposals or their Notes."""
    if ctx.svc.urls.is_local(ctx.actor):
        return
    try:
        follower = await ctx.svc.peers.actor(ctx.actor)
    except ActorUnavailable:
        return
    await learn_servers(ctx.svc, [follower.shared_inbox or follower.inbox])


@handles("Follow")
async def on_follow(ctx: Context) -> None:
    target = id_of(object_of(ctx.activity))
    await _learn_follower_server(ctx)
    async with ctx.apply() as session:
        agent = await _local_agent(session, ctx, target)
        if agent is None:
            raise Refused(f"{target} is not an agent of this instance")
        follower_agent = await _local_agent(session, ctx, ctx.actor)
        follow = _follow_reference(ctx.activity)
        row = await session.scalar(
            select(Follow).where(Follow.follower == ctx.actor, Follow.followee == target)
        )
        if row is None:
            row = Follow(
                activity_uri=follow["id"],
                follower=ctx.actor,
                followee=target,
                follower_agent_id=follower_agent.id if follower_agent else None,
                followee_agent_id=agent.id,
            )
            session.add(row)
        else:
            row.activity_uri = follow["id"]  # a repeated Follow is answered again
        row.state = "pending" if agent.manually_approves_followers else "accepted"
        await session.flush()
        if row.state == "accepted":
            await answer_follow(session, ctx, agent, follow, "Accept")


@handles("Undo", "Follow")
@handles("Undo")
async def on_undo(ctx: Context) -> None:
    undone = object_of(ctx.activity)
    undone_id = id_of(undone)
    kind = first_type(undone)
    async with ctx.apply() as session:
        if kind not in (None, "Follow"):
            log.info("ignoring Undo of %s %s", kind, undone_id)
            return
        # Remove the follow the actor made, named by the Follow's id or, as some servers
        # send it, by the Follow's object.
        target = id_of(undone.get("object")) if isinstance(undone, dict) else None
        await session.execute(
            delete(Follow).where(
                Follow.follower == ctx.actor,
                or_(Follow.activity_uri == undone_id, Follow.followee == target),
            )
        )


async def _our_follow(session: AsyncSession, ctx: Context) -> Follow | None:
    """The Follow we sent that this Accept/Reject answers, if it was sent to the signer."""
    answered = object_of(ctx.activity)
    follow_id = id_of(answered)
    row = await session.scalar(select(Follow).where(Follow.activity_uri == follow_id))
    if row is None or row.follower_agent_id is None or row.followee != ctx.actor:
        return None
    return row


@handles("Accept", "Follow")
async def on_accept_follow(ctx: Context) -> None:
    async with ctx.apply() as session:
        row = await _our_follow(session, ctx)
        if row is None:
            raise Refused("Accept of a Follow we never sent to that actor")
        row.state = "accepted"


@handles("Reject", "Follow")
async def on_reject_follow(ctx: Context) -> None:
    async with ctx.apply() as session:
        row = await _our_follow(session, ctx)
        if row is None:
            raise Refused("Reject of a Follow we never sent to that actor")
        await session.delete(row)


_ACTOR_TYPES = ("Person", "Organization", "Service", "Application", "Group")


async def on_update_actor(ctx: Context) -> None:
    document = object_of(ctx.activity)
    if not isinstance(document, dict) or document.get("id") != ctx.actor:
        raise Refused("an actor may only update itself")
    if ctx.verified_by == "local":
        return  # one of ours, delivered to its local followers: its row is the truth
    await ctx.svc.peers.remember_actor(document)


@handles("Delete")
async def on_delete(ctx: Context) -> None:
    """``Delete`` of the actor itself, or of one of its objects."""
    target = id_of(object_of(ctx.activity))
    if target != ctx.actor:
        async with ctx.apply() as session:
            await delete_remote_object(session, ctx, target)
        return
    async with ctx.apply() as session:
        await session.execute(
            delete(Follow).where(or_(Follow.follower == ctx.actor, Follow.followee == ctx.actor))
        )
    await ctx.svc.peers.forget_actor(ctx.actor)


for _kind in _ACTOR_TYPES:
    handles("Update", _kind)(on_update_actor)


# Client-to-server ----------------------------------------------------------------------


@outbox_handler("Follow")
async def post_follow(sub: Submission) -> Posted:
    target = id_of(object_of(sub.activity))
    if target is None:
        raise Problem(400, "Follow needs the actor to follow as its object", field="object")
    if target == sub.actor:
        raise Problem(400, "an agent cannot follow itself", field="object")
    if sub.svc.urls.is_local(target) and sub.svc.urls.username_of(target) is None:
        raise Problem(400, f"{target} is not an actor", field="object")
    sub.activity["object"] = target
    sub.activity["to"] = [target]
    await prefetch_addressees(sub, target)
    agent = sub.agent

    follow_id = sub.activity["id"]

    async def record(session: AsyncSession) -> None:
        existing = await session.scalar(
            select(Follow).where(Follow.follower == sub.actor, Follow.followee == target)
        )
        if existing is not None:
            existing.activity_uri, existing.state = follow_id, "pending"
            return
        followee = await get_agent(session, sub.svc.urls.username_of(target) or "")
        session.add(
            Follow(
                activity_uri=follow_id,
                follower=sub.actor,
                followee=target,
                follower_agent_id=agent.id,
                followee_agent_id=followee.id if followee else None,
            )
        )

    return Posted(sub.activity, effects=record)


@outbox_handler("Undo", "Follow")
@outbox_handler("Undo")
async def post_undo(sub: Submission) -> Posted:
    undone_id = id_of(object_of(sub.activity))
    async with sub.svc.db.read() as session:
        follow = await session.scalar(
            select(Follow).where(
                Follow.activity_uri == undone_id, Follow.follower_agent_id == sub.agent.id
            )
        )
    if follow is None:
        raise Problem(404, f"{undone_id} is not a follow this agent made", field="object")
    sub.activity["object"] = {
        "id": follow.activity_uri,
        "type": "Follow",
        "actor": sub.actor,
        "object": follow.followee,
    }
    sub.activity["to"] = [follow.followee]
    follow_id = follow.id

    async def remove(session: AsyncSession) -> None:
        await session.execute(delete(Follow).where(Follow.id == follow_id))

    return Posted(sub.activity, effects=remove)


@outbox_handler("Accept", "Follow")
@outbox_handler("Reject", "Follow")
async def post_answer_follow(sub: Submission) -> Posted:
    """An agent that approves followers by hand answers a held follow request."""
    follow_id = id_of(object_of(sub.activity))
    async with sub.svc.db.read() as session:
        row = await session.scalar(
            select(Follow).where(
                Follow.activity_uri == follow_id, Follow.followee_agent_id == sub.agent.id
            )
        )
    if row is None:
        raise Problem(404, f"{follow_id} is not a follow request to this agent", field="object")
    if row.state != "pending":
        raise Problem(409, f"{follow_id} is already {row.state}", field="object")
    accept = sub.activity["type"] == "Accept"
    sub.activity["object"] = {
        "id": row.activity_uri,
        "type": "Follow",
        "actor": row.follower,
        "object": row.followee,
    }
    sub.activity["to"] = [row.follower]
    row_id = row.id

    async def decide(session: AsyncSession) -> None:
        found = await session.get(Follow, row_id)
        if found is None or found.state != "pending":
            raise Problem(409, f"{follow_id} was answered meanwhile", field="object")
        if accept:
            found.state = "accepted"
        else:
            await session.delete(found)

    return Posted(sub.activity, effects=decide)
