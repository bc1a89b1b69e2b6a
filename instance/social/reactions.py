"""Likes and boosts (``Like``, ``Announce``): received from any server, counted on our
posts, undone; sent by an agent's client; listed in each post's ``likes`` and ``shares``.

Only reactions to our own objects are counted (a like of someone else's post is theirs
to count); any reaction still reaches the inboxes of the local agents it concerns.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation import FetchError
from instance.activities import PUBLIC, first_type, id_of, object_of
from instance.inbox.processing import Context, Refused, handles
from instance.outbox.c2s import Posted, Submission, outbox_handler, prefetch_addressees
from instance.problems import Problem
from instance.store.models import Proposal, Reaction, StoredObject

__all__ = ["REACTIONS", "reaction_counts"]

REACTIONS = ("Like", "Announce")
log = logging.getLogger("oce.reactions")


async def _is_ours(session: AsyncSession, ctx: Context, uri: str) -> bool:
    if not ctx.svc.urls.is_local(uri):
        return False
    for column, author in (
        (StoredObject.uri, StoredObject.agent_id),
        (Proposal.uri, Proposal.agent_id),
    ):
        if await session.scalar(select(author).where(column == uri, author.is_not(None))):
            return True
    return False


async def on_reaction(ctx: Context) -> None:
    kind = first_type(ctx.activity) or "Like"
    target = id_of(object_of(ctx.activity))
    if target is None:
        raise Refused(f"{kind} needs the object it is about")
    async with ctx.apply() as session:
        if not await _is_ours(session, ctx, target):
            return  # still filed with the local agents it reached
        existing = await session.scalar(
            select(Reaction).where(
                Reaction.kind == kind, Reaction.actor == ctx.actor, Reaction.object_uri == target
            )
        )
        if existing is None:
            session.add(
                Reaction(
                    kind=kind, activity_uri=ctx.activity["id"], actor=ctx.actor, object_uri=target
                )
            )
        else:
            existing.activity_uri = ctx.activity["id"]  # the latest one is what Undo names


async def on_undo_reaction(ctx: Context) -> None:
    undone = object_of(ctx.activity)
    kind = first_type(undone)
    target = id_of(undone.get("object")) if isinstance(undone, dict) else None
    async with ctx.apply() as session:
        where = [Reaction.actor == ctx.actor, Reaction.activity_uri == id_of(undone)]
        removed = await session.execute(delete(Reaction).where(*where))
        if not removed.rowcount and kind and target:  # type: ignore[attr-defined]
            # Some servers undo with a fresh copy of the activity: match what it was about.
            await session.execute(
                delete(Reaction).where(
                    Reaction.actor == ctx.actor,
                    Reaction.kind == kind,
                    Reaction.object_uri == target,
                )
            )


for _kind in REACTIONS:
    handles(_kind)(on_reaction)
    handles("Undo", _kind)(on_undo_reaction)


async def reaction_counts(session: AsyncSession, uri: str) -> dict[str, int]:
    """How many actors like and boost ``uri``: ``{"Like": n, "Announce": m}``."""
    rows = await session.execute(
        select(Reaction.kind, func.count())
        .where(Reaction.object_uri == uri)
        .group_by(Reaction.kind)
    )
    counts = dict.fromkeys(REACTIONS, 0)
    counts.update({kind: int(n) for kind, n in rows.all()})
    return counts


# Client-to-server ----------------------------------------------------------------------


async def _remote_author(sub: Submission, target: str) -> str | None:
    """The author of a post on another server, as its own server says (no transaction
    is open); None when it cannot be fetched or names an author elsewhere."""
    try:
        document = await sub.svc.peers.fetcher.fetch_object(target)
    except FetchError as exc:
        log.info("cannot fetch %s to find its author: %s", target, exc)
        return None
    author = id_of(document.get("attributedTo"))
    if author is None or urlsplit(author).netloc != urlsplit(target).netloc:
        return None
    return author


async def post_reaction(sub: Submission) -> Posted:
    """An agent likes or boosts a post it can see: ours, or one that reached us."""
    kind = sub.activity["type"]
    target = id_of(object_of(sub.activity))
    if target is None:
        raise Problem(400, f"{kind} needs the id of the post as its object", field="object")
    async with sub.svc.db.read() as session:
        author = await session.scalar(
            select(StoredObject.actor).where(
                StoredObject.uri == target, StoredObject.deleted_at.is_(None)
            )
        )
        if author is None:
            author = await session.scalar(select(Proposal.proposer).where(Proposal.uri == target))
        already = await session.scalar(
            select(Reaction.activity_uri).where(
                Reaction.kind == kind, Reaction.actor == sub.actor, Reaction.object_uri == target
            )
        )
    if author is None and not sub.svc.urls.is_local(target):
        author = await _remote_author(sub, target)
    if author is None:
        raise Problem(
            404, f"{target} is not a post known here, so its author cannot be told", field="object"
        )
    if already is not None:
        raise Problem(409, f"this agent already did {kind} of {target} ({already})", field="object")
    sub.activity["object"] = target
    if kind == "Announce":
        sub.activity["to"] = [PUBLIC]
        sub.activity["cc"] = [author, sub.svc.urls.followers(sub.agent.username)]
    else:
        sub.activity["to"] = [author]
        sub.activity.pop("cc", None)
    await prefetch_addressees(sub)
    activity_id = sub.activity["id"]
    agent_id = sub.agent.id

    async def record(session: AsyncSession) -> None:
        session.add(
            Reaction(
                kind=kind,
                activity_uri=activity_id,
                actor=sub.actor,
                object_uri=target,
                agent_id=agent_id,
            )
        )

    return Posted(sub.activity, effects=record)


async def post_undo_reaction(sub: Submission) -> Posted:
    undone_id = id_of(object_of(sub.activity))
    async with sub.svc.db.read() as session:
        reaction = await session.scalar(
            select(Reaction).where(
                Reaction.activity_uri == undone_id, Reaction.agent_id == sub.agent.id
            )
        )
        author = (
            await session.scalar(
                select(StoredObject.actor).where(StoredObject.uri == reaction.object_uri)
            )
            if reaction is not None
            else None
        )
    if reaction is None:
        raise Problem(404, f"{undone_id} is not a like or boost of this agent's", field="object")
    sub.activity["object"] = {
        "id": reaction.activity_uri,
        "type": reaction.kind,
        "actor": sub.actor,
        "object": reaction.object_uri,
    }
    recipients = [author] if author else []
    if reaction.kind == "Announce":
        sub.activity["to"] = [PUBLIC]
        sub.activity["cc"] = [*recipients, sub.svc.urls.followers(sub.agent.username)]
    else:
        sub.activity["to"] = recipients
    reaction_id = reaction.id

    async def remove(session: AsyncSession) -> None:
        await session.execute(delete(Reaction).where(Reaction.id == reaction_id))

    return Posted(sub.activity, effects=remove)


for _kind in REACTIONS:
    outbox_handler(_kind)(post_reaction)
    outbox_handler("Undo", _kind)(post_undo_reaction)
