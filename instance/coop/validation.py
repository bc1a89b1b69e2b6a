"""Validators' verdicts on contributions, as activities (``Accept`` / ``Reject`` of the
contribution's event, with the reason in ``content``).

A validator on the organization's own instance posts the verdict to its outbox and it
applies there; one on another instance names the organization in ``context`` and the
verdict is delivered to it, where it is checked like any other.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.activities import id_of, object_of
from instance.coop.contributions import record_verdict
from instance.coop.joining import reason_of
from instance.coop.memberships import membership_of
from instance.inbox.processing import Context, Refused
from instance.outbox.c2s import Posted, Submission, outbox_handler, prefetch_addressees
from instance.problems import Problem
from instance.services import Services
from instance.store.models import CoopContribution

__all__ = ["is_verdict", "on_verdict", "post_verdict"]


async def is_verdict(svc: Services, event_uri: str | None, actor: str) -> bool:
    """Whether an Accept/Reject of ``event_uri`` by ``actor`` is a validator's verdict:
    the event is a contribution to a local organization, and ``actor`` is not that
    organization (whose own Accept of an event it received is the ledger's business)."""
    if not event_uri:
        return False
    async with svc.db.read() as session:
        org = await session.scalar(
            select(CoopContribution.organization).where(CoopContribution.event_uri == event_uri)
        )
    return org is not None and svc.urls.is_local(org) and org != actor


@outbox_handler("Accept", None)
@outbox_handler("Reject", None)
async def post_verdict(sub: Submission) -> Posted:
    """A validator's Accept or Reject of a contribution."""
    event_uri = id_of(object_of(sub.activity))
    if not event_uri:
        raise Problem(
            400, "the verdict names the contribution's event as its object", field="object"
        )
    accept = sub.activity["type"] == "Accept"
    reason = reason_of(sub.activity)
    if not accept and not reason:
        raise Problem(400, "a rejection says why, in content", field="content")
    sub.activity["object"] = event_uri
    if await is_verdict(sub.svc, event_uri, sub.actor):
        svc, activity_id = sub.svc, sub.activity["id"]
        sub.activity.pop("to", None)

        async def validate(session: AsyncSession) -> None:
            await record_verdict(
                session,
                svc.urls,
                event_uri=event_uri,
                validator=sub.actor,
                accept=accept,
                reason=reason,
                activity_uri=activity_id,
            )

        return Posted(sub.activity, effects=validate)
    org = id_of(sub.activity.get("context"))
    if not org or sub.svc.urls.is_local(org):
        raise Problem(
            404,
            f"{event_uri} is not a contribution known here; name its organization in context",
            field="object",
        )
    async with sub.svc.db.read() as session:
        member = await membership_of(session, org, sub.actor)
    if member is None or member.state != "accepted":
        raise Problem(403, f"{sub.actor} is not a member of {org}", field="context")
    sub.activity.update(context=org, to=[org])
    await prefetch_addressees(sub, org)
    return Posted(sub.activity)


async def on_verdict(ctx: Context) -> None:
    """A remote validator's verdict, arriving at the organization's instance."""
    event_uri = id_of(object_of(ctx.activity)) or ""
    try:
        async with ctx.apply() as session:
            await record_verdict(
                session,
                ctx.svc.urls,
                event_uri=event_uri,
                validator=ctx.actor,
                accept=ctx.activity.get("type") == "Accept",
                reason=reason_of(ctx.activity),
                activity_uri=ctx.activity["id"],
            )
    except Problem as exc:
        raise Refused(exc.detail) from None
