"""Joining, leaving and inviting, over federation (ActivityStreams ``Join``, ``Leave``,
``Invite``, answered by ``Accept`` or ``Reject`` with a reason).

Both sides keep a :class:`~instance.store.models.CoopMembership` row: the organization's
instance decides; a member's instance records what it asked and what it was told. When
both are on one instance they share the row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.activities import id_of, object_of
from instance.coop.memberships import local_agent, membership_of, settings_of
from instance.inbox.processing import Context, Refused, handles
from instance.outbox.c2s import Posted, Submission, outbox_handler, prefetch_addressees
from instance.outbox.publish import now_iso, publish
from instance.problems import Problem
from instance.store.models import Agent, CoopMembership, utcnow
from instance.urls import Urls

__all__ = ["accept_membership", "reason_of"]

MAX_REASON = 2000


def reason_of(activity: dict[str, Any]) -> str:
    """The reason an answer gives (``content``, else ``summary``), bounded."""
    for key in ("content", "summary"):
        value = activity.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:MAX_REASON]
    return ""


def _join_reference(row: CoopMembership) -> dict[str, Any]:
    return {
        "id": row.activity_uri,
        "type": "Join",
        "actor": row.member,
        "object": row.organization,
    }


async def _answer(
    session: AsyncSession, urls: Urls, org: Agent, row: CoopMembership, verb: str, reason: str = ""
) -> None:
    activity: dict[str, Any] = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": urls.new_activity(),
        "type": verb,
        "actor": row.organization,
        "object": _join_reference(row),
        "to": [row.member],
        "published": now_iso(),
    }
    if reason:
        activity["content"] = reason
    await publish(session, urls, org, activity)


async def accept_membership(
    session: AsyncSession, urls: Urls, org: Agent, row: CoopMembership
) -> None:
    """Make a waiting applicant a member and tell them (``Accept`` of their ``Join``)."""
    row.state, row.reason, row.updated_at = "accepted", "", utcnow()
    if row.activity_uri is not None:
        await _answer(session, urls, org, row, "Accept")


# The organization's side ---------------------------------------------------------------


@handles("Join")
async def on_join(ctx: Context) -> None:
    urls = ctx.svc.urls
    org_uri = id_of(object_of(ctx.activity)) or ""
    async with ctx.apply() as session:
        org = await local_agent(session, urls, org_uri)
        if org is None or org.kind != "Organization":
            raise Refused(f"{org_uri} is not an organization of this instance")
        if ctx.actor == org_uri:
            raise Refused("an organization does not join itself")
        row = await membership_of(session, org_uri, ctx.actor)
        if row is None:
            person = await local_agent(session, urls, ctx.actor)
            row = CoopMembership(
                organization=org_uri,
                member=ctx.actor,
                member_agent_id=person.id if person else None,
            )
            session.add(row)
        row.organization_agent_id = org.id
        if row.state == "accepted" and row.organization_agent_id == org.id and row.id:
            # Asked again: answer again (the first answer may have been lost).
            if row.activity_uri != ctx.activity["id"]:
                row.activity_uri = ctx.activity["id"]
                await _answer(session, urls, org, row, "Accept")
            return
        invited = row.state == "invited"
        row.activity_uri, row.reason, row.updated_at = ctx.activity["id"], "", utcnow()
        style = (await settings_of(session, org)).joining
        await session.flush()
        if style == "open" or invited:
            await accept_membership(session, urls, org, row)
        elif style == "moderated":
            row.state = "pending"
        else:
            row.state = "awaiting-shares"


@handles("Leave")
async def on_leave(ctx: Context) -> None:
    org_uri = id_of(object_of(ctx.activity)) or ""
    async with ctx.apply() as session:
        row = await membership_of(session, org_uri, ctx.actor)
        if row is None:
            raise Refused(f"{ctx.actor} is not a member of {org_uri}")
        row.state, row.updated_at = "left", utcnow()


async def _waiting_join(sub: Submission) -> CoopMembership:
    join_id = id_of(object_of(sub.activity))
    async with sub.svc.db.read() as session:
        row = await session.scalar(
            select(CoopMembership).where(
                CoopMembership.activity_uri == join_id,
                CoopMembership.organization_agent_id == sub.agent.id,
            )
        )
    if row is None:
        raise Problem(
            404, f"{join_id} is not a request to join {sub.agent.username}", field="object"
        )
    if row.state not in ("pending", "awaiting-shares"):
        raise Problem(409, f"{join_id} is already {row.state}", field="object")
    return row


@outbox_handler("Accept", "Join")
@outbox_handler("Reject", "Join")
async def post_answer_join(sub: Submission) -> Posted:
    """The organization (a coordinator acting for it) answers a request to join."""
    row = await _waiting_join(sub)
    accept = sub.activity["type"] == "Accept"
    reason = reason_of(sub.activity)
    if not accept and not reason:
        raise Problem(400, "a Reject of a Join says why, in content", field="content")
    sub.activity["object"] = _join_reference(row)
    sub.activity["to"] = [row.member]
    if reason:
        sub.activity["content"] = reason
    await prefetch_addressees(sub, row.member)
    row_id = row.id

    async def decide(session: AsyncSession) -> None:
        found = await session.get(CoopMembership, row_id, with_for_update=True)
        if found is None or found.state not in ("pending", "awaiting-shares"):
            raise Problem(409, "that request was answered meanwhile", field="object")
        found.state = "accepted" if accept else "rejected"
        found.reason, found.updated_at = ("" if accept else reason), utcnow()

    return Posted(sub.activity, effects=decide)


@outbox_handler("Invite")
async def post_invite(sub: Submission) -> Posted:
    """The organization invites a person (``target``): their Join is accepted at once."""
    if sub.agent.kind != "Organization":
        raise Problem(422, "only an organization invites", field="actor")
    person = id_of(sub.activity.get("target"))
    if not person or person == sub.actor:
        raise Problem(400, "Invite needs the invited person as its target", field="target")
    sub.activity.update(object=sub.actor, target=person, to=[person])
    await prefetch_addressees(sub, person)
    org, urls = sub.agent, sub.svc.urls

    async def invite(session: AsyncSession) -> None:
        row = await membership_of(session, sub.actor, person)
        if row is not None and row.state == "accepted":
            raise Problem(409, f"{person} is already a member", field="target")
        if row is None:
            local = await local_agent(session, urls, person)
            row = CoopMembership(
                organization=sub.actor,
                organization_agent_id=org.id,
                member=person,
                member_agent_id=local.id if local else None,
            )
            session.add(row)
        row.state, row.updated_at = "invited", utcnow()

    return Posted(sub.activity, effects=invite)


# The member's side ---------------------------------------------------------------------


@outbox_handler("Join")
async def post_join(sub: Submission) -> Posted:
    org_uri = id_of(object_of(sub.activity))
    if not org_uri or org_uri == sub.actor:
        raise Problem(400, "Join needs the organization to join as its object", field="object")
    if sub.svc.urls.is_local(org_uri):
        async with sub.svc.db.read() as session:
            org = await local_agent(session, sub.svc.urls, org_uri)
        if org is None or org.kind != "Organization":
            raise Problem(404, f"{org_uri} is not an organization", field="object")
    else:
        await prefetch_addressees(sub, org_uri)
    sub.activity.update(object=org_uri, to=[org_uri])
    join_id, me, urls = sub.activity["id"], sub.agent, sub.svc.urls

    async def record(session: AsyncSession) -> None:
        row = await membership_of(session, org_uri, sub.actor)
        if row is not None and row.state == "accepted":
            raise Problem(409, f"already a member of {org_uri}", field="object")
        if row is None:
            org = await local_agent(session, urls, org_uri)
            row = CoopMembership(
                organization=org_uri,
                organization_agent_id=org.id if org else None,
                member=sub.actor,
                member_agent_id=me.id,
                state="pending",
            )
            session.add(row)
        elif row.state != "invited":
            row.state = "pending"
        row.activity_uri, row.updated_at = join_id, utcnow()

    return Posted(sub.activity, effects=record)


@outbox_handler("Leave")
async def post_leave(sub: Submission) -> Posted:
    org_uri = id_of(object_of(sub.activity)) or ""
    async with sub.svc.db.read() as session:
        row = await membership_of(session, org_uri, sub.actor)
    if row is None or row.state != "accepted":
        raise Problem(404, f"not a member of {org_uri}", field="object")
    sub.activity.update(object=org_uri, to=[org_uri])
    await prefetch_addressees(sub, org_uri)

    async def leave(session: AsyncSession) -> None:
        found = await membership_of(session, org_uri, sub.actor)
        if found is not None:
            found.state, found.updated_at = "left", utcnow()

    return Posted(sub.activity, effects=leave)


async def _my_join(session: AsyncSession, ctx: Context) -> CoopMembership:
    join = object_of(ctx.activity)
    row = await session.scalar(
        select(CoopMembership).where(
            CoopMembership.activity_uri == id_of(join),
            CoopMembership.organization == ctx.actor,
            CoopMembership.member_agent_id.is_not(None),
        )
    )
    if row is None:
        raise Refused("an answer to a Join never sent to that organization")
    return row


@handles("Accept", "Join")
async def on_accept_join(ctx: Context) -> None:
    async with ctx.apply() as session:
        row = await _my_join(session, ctx)
        row.state, row.reason, row.updated_at = "accepted", "", utcnow()


@handles("Reject", "Join")
async def on_reject_join(ctx: Context) -> None:
    async with ctx.apply() as session:
        row = await _my_join(session, ctx)
        row.state, row.reason, row.updated_at = "rejected", reason_of(ctx.activity), utcnow()


@handles("Invite")
async def on_invite(ctx: Context) -> None:
    person = id_of(ctx.activity.get("target")) or ""
    if id_of(object_of(ctx.activity)) != ctx.actor:
        raise Refused("an organization invites to itself only")
    async with ctx.apply() as session:
        local = await local_agent(session, ctx.svc.urls, person)
        if local is None:
            raise Refused(f"{person} is not an agent of this instance")
        row = await membership_of(session, ctx.actor, person)
        if row is None:
            session.add(
                CoopMembership(
                    organization=ctx.actor, member=person, member_agent_id=local.id, state="invited"
                )
            )
        elif row.state not in ("accepted",):
            row.state, row.updated_at = "invited", utcnow()
