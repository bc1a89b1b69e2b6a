"""Outbox builders for an agent's own actor: ``Update`` and ``Delete``.

A client may update or delete only the actor its token (or session) belongs to: the
object's id, when given, must be that actor, and its type the agent's kind.

``Update`` changes ``name`` and ``summary`` (plain text; the actor shows it as
paragraphs), and ``icon``, which may only be the picture this instance serves for the
agent (uploaded through the app, see ``/app/profile``) or null to remove it: pages load
nothing from another origin, so an outside image URL is refused. The activity carries
the whole new actor document and goes to the public and the agent's followers, whose
servers refresh their copy.

``Delete`` leaves a :class:`~instance.store.models.AgentTombstone`: the actor answers
410 with a ``Tombstone``, its tokens, sessions and password stop working, and the
``Delete`` goes to its followers and, as blind copies, to every actor it has
commitments with (best effort: one out of reach does not stop it). The agent's
row stays, so the agreements, commitments and events that name it stay readable by the
other parties, on this instance and theirs.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from instance.activities import PUBLIC, first_type, id_of, object_of
from instance.links import aliases as linked_actors
from instance.outbox.c2s import Posted, Submission, outbox_handler
from instance.problems import Problem
from instance.store.models import (
    Agent,
    AgentAvatar,
    AgentMove,
    AgentTombstone,
    Commitment,
    Password,
    Token,
    WebSession,
    utcnow,
)
from instance.web.documents import agent_document, avatar_url

__all__ = ["MAX_COUNTERPARTIES", "MAX_NAME", "MAX_SUMMARY", "tombstone_document"]

MAX_NAME = 200
MAX_SUMMARY = 5000
#: Actors a deleted agent's ``Delete`` goes to besides its followers.
MAX_COUNTERPARTIES = 1000


def _text(document: dict[str, Any], name: str, limit: int) -> str:
    value = document.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Problem(400, f"{name} is text", field=f"object.{name}")
    value = value.strip()
    if len(value) > limit:
        raise Problem(400, f"{name} has at most {limit} characters", field=f"object.{name}")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in value):
        raise Problem(400, f"{name} has control characters", field=f"object.{name}")
    return value


def _own(sub: Submission, document: Any) -> dict[str, Any]:
    """The posted actor, checked to be the poster's own."""
    target = id_of(document)
    if target not in (None, sub.actor):
        raise Problem(403, f"{sub.actor} may only change itself, not {target}", field="object")
    kind = first_type(document)
    if kind not in (None, "Tombstone") and kind != sub.agent.kind:
        raise Problem(422, f"{sub.actor} is a {sub.agent.kind}, not a {kind}", field="object.type")
    return document if isinstance(document, dict) else {}


async def _tombstoned(session: AsyncSession, agent_id: int) -> bool:
    found = await session.scalar(
        select(AgentTombstone.id).where(AgentTombstone.agent_id == agent_id)
    )
    return found is not None


async def post_update_actor(sub: Submission) -> Posted:
    document = _own(sub, object_of(sub.activity))
    changes: dict[str, str] = {}
    for name, limit in (("name", MAX_NAME), ("summary", MAX_SUMMARY)):
        if name in document:
            changes[name] = _text(document, name, limit)
    icon_given = "icon" in document
    icon = id_of(document.get("icon")) or (
        id_of(document["icon"].get("url")) if isinstance(document.get("icon"), dict) else None
    )
    async with sub.svc.db.read() as session:
        avatar = await session.get(AgentAvatar, sub.agent.id)
    ours = avatar_url(sub.svc.urls, sub.agent, avatar) if avatar is not None else None
    if icon_given and icon is not None and icon != ours:
        raise Problem(
            422,
            "icon can only be the picture this instance serves for you (upload one "
            "in the app) or null",
            field="object.icon",
        )
    if not changes and not icon_given:
        raise Problem(400, "give name, summary or icon to change", field="object")
    sub.activity["to"] = [PUBLIC]
    sub.activity["cc"] = [sub.svc.urls.followers(sub.agent.username)]
    agent_id, urls = sub.agent.id, sub.svc.urls

    async def change(session: AsyncSession) -> None:
        agent = await session.get(Agent, agent_id)
        assert agent is not None
        for name, value in changes.items():
            setattr(agent, name, value)
        if icon_given and icon is None:
            await session.execute(delete(AgentAvatar).where(AgentAvatar.agent_id == agent_id))
            picture = None
        else:
            picture = await session.get(AgentAvatar, agent_id)
        move = await session.get(AgentMove, agent_id)
        # The whole document, as GET answers it: the links' aliases too.
        actor = agent_document(urls, agent, move, await linked_actors(session, agent), picture)
        actor.pop("@context", None)
        sub.activity["object"] = actor
        sub.agent.name, sub.agent.summary = agent.name, agent.summary

    return Posted(sub.activity, effects=change)


def tombstone_document(actor: str, former_type: str, deleted: str) -> dict[str, Any]:
    return {"id": actor, "type": "Tombstone", "formerType": former_type, "deleted": deleted}


async def post_delete_actor(sub: Submission) -> Posted:
    _own(sub, object_of(sub.activity))
    if id_of(object_of(sub.activity)) != sub.actor:
        raise Problem(400, "Delete of an actor names the actor as its object", field="object")
    actor, agent_id = sub.actor, sub.agent.id
    async with sub.svc.db.read() as session:
        if await _tombstoned(session, agent_id):
            raise Problem(410, f"{actor} is already deleted", field="object")
        rows = await session.execute(
            select(Commitment.provider, Commitment.receiver)
            .where(or_(Commitment.provider == actor, Commitment.receiver == actor))
            .limit(MAX_COUNTERPARTIES * 2)
        )
        others = {party for pair in rows.all() for party in pair if party and party != actor}
    parties = sorted(o for o in others if not sub.svc.urls.is_local(o))[:MAX_COUNTERPARTIES]
    deleted = sub.activity["published"]
    sub.activity["object"] = tombstone_document(actor, sub.agent.kind, deleted)
    sub.activity["to"] = [PUBLIC]
    sub.activity["cc"] = [sub.svc.urls.followers(sub.agent.username)]
    # The other parties, blind: whom one trades with is nobody else's business, and one
    # that cannot be reached now does not stop the deletion (best effort, like any cc).
    sub.activity["bcc"] = parties
    kind = sub.agent.kind

    async def tombstone(session: AsyncSession) -> None:
        if await _tombstoned(session, agent_id):
            raise Problem(410, f"{actor} is already deleted", field="object")
        session.add(AgentTombstone(agent_id=agent_id, former_type=kind))
        now = utcnow()
        await session.execute(
            update(Token)
            .where(Token.agent_id == agent_id, Token.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        await session.execute(
            update(WebSession)
            .where(WebSession.agent_id == agent_id, WebSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        await session.execute(delete(Password).where(Password.agent_id == agent_id))
        await session.execute(delete(AgentAvatar).where(AgentAvatar.agent_id == agent_id))

    return Posted(sub.activity, effects=tombstone)


for _kind in ("Person", "Organization"):
    outbox_handler("Update", _kind)(post_update_actor)
    outbox_handler("Delete", _kind)(post_delete_actor)
