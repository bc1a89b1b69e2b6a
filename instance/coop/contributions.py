"""Contributions: economic events members log for an organization, and their validation.

An event counts for distributions when it says ``requestDistribution: true``, is
``inScopeOf`` a local organization (or received by it), and its provider is a member.
Validators (members with the validator or coordinator role, never the contributor)
approve it (``Accept``) or reject it with a reason (``Reject``); it is approved once the
organization's required number of validators accepted it. The organization then tells
the contributor's instance (``Accept`` / ``Reject`` of the event, as the organization).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.activities import id_of
from instance.coop.memberships import local_agent, membership_of, roles_of, settings_of
from instance.coop.shares import share_paid
from instance.ledger.fulfilment import EventPlan
from instance.outbox.publish import now_iso, publish
from instance.problems import Problem
from instance.store.models import (
    Agent,
    CoopContribution,
    CoopValidation,
    utcnow,
)
from instance.store.models import EconomicEvent as EventRow
from instance.urls import Urls

__all__ = [
    "contributions_of",
    "contributor_view",
    "observe_event",
    "record_outcome",
    "record_verdict",
    "trusted_credit",
]

VALIDATING_ROLES = frozenset({"validator", "coordinator"})


def organization_of(document: dict[str, Any]) -> str | None:
    """The organization an event is for: its ``inScopeOf``, else its receiver."""
    scope = document.get("inScopeOf")
    if isinstance(scope, list):
        scope = scope[0] if scope else None
    return id_of(scope) or id_of(document.get("receiver"))


def _moment(row: EventRow) -> datetime:
    return row.has_point_in_time or utcnow()


async def observe_event(
    session: AsyncSession, urls: Urls, row: EventRow, document: dict[str, Any]
) -> None:
    """After an event is recorded (by a client or from a peer): note a contribution it
    asks to be counted, or the payment of a share agreement that makes its provider a
    member (:mod:`instance.coop.shares`)."""
    org_uri = organization_of(document)
    if org_uri is None:
        return
    await share_paid(session, urls, row)
    org = await local_agent(session, urls, org_uri)
    if document.get("requestDistribution") is not True:
        return
    contributor_here = urls.is_local(row.provider)
    if org is None and not contributor_here:
        return
    if org is not None and "member" not in await roles_of(session, org_uri, row.provider):
        raise Problem(
            403,
            f"{row.provider} is not a member of {org_uri}: only members' work is counted",
            field="requestDistribution",
        )
    if await session.scalar(
        select(CoopContribution.id).where(CoopContribution.event_uri == row.uri)
    ):
        return
    session.add(
        CoopContribution(
            event_uri=row.uri,
            organization=org_uri,
            contributor=row.provider,
            action=row.action,
            hours=row.effort_quantity,
            quantity=row.resource_quantity,
            conforms_to=row.resource_conforms_to,
            process=id_of(document.get("inputOf")) or id_of(document.get("outputOf")),
            plan=id_of(document.get("plannedWithin")),
            happened_at=_moment(row),
        )
    )


async def trusted_credit(session: AsyncSession, urls: Urls, plan: EventPlan) -> bool:
    """Whether a peer's credit to a local agent counts at once without a commitment:
    a distribution paid by an organization the agent is a member of. (A share is paid
    by fulfilling the commitment of a share agreement, which counts like any other.)"""
    flow = plan.flow
    if flow.action.name != "transfer":
        return False
    membership = await membership_of(session, flow.provider, flow.receiver)
    if membership is not None and membership.state == "accepted":
        # A distribution's payment says it is in the scope of the paying organization.
        return organization_of(plan.document) == flow.provider
    return False


async def record_verdict(
    session: AsyncSession,
    urls: Urls,
    *,
    event_uri: str,
    validator: str,
    accept: bool,
    reason: str,
    activity_uri: str,
) -> CoopContribution:
    """A validator's verdict on a contribution to a local organization; when it settles
    the contribution, the organization tells the contributor."""
    contribution = await session.scalar(
        select(CoopContribution).where(CoopContribution.event_uri == event_uri).with_for_update()
    )
    if contribution is None:
        raise Problem(404, f"{event_uri} is not a contribution logged here", field="object")
    org = await local_agent(session, urls, contribution.organization)
    if org is None:
        raise Problem(404, f"{contribution.organization} is not an organization here")
    if validator == contribution.contributor:
        raise Problem(403, "a member never validates their own contribution", field="actor")
    if not VALIDATING_ROLES & await roles_of(session, contribution.organization, validator):
        raise Problem(
            403,
            f"{validator} is not a validator of {contribution.organization}",
            field="actor",
        )
    if contribution.state != "pending":
        raise Problem(409, f"{event_uri} is already {contribution.state}", field="object")
    if not accept and not reason:
        raise Problem(400, "a rejection says why, in content", field="content")
    if await session.scalar(
        select(CoopValidation.id).where(
            CoopValidation.contribution_id == contribution.id,
            CoopValidation.validator == validator,
        )
    ):
        raise Problem(409, f"{validator} already validated {event_uri}", field="object")
    session.add(
        CoopValidation(
            contribution_id=contribution.id,
            validator=validator,
            verdict="accept" if accept else "reject",
            reason=reason,
            activity_uri=activity_uri,
        )
    )
    await session.flush()
    if not accept:
        contribution.state, contribution.reason = "rejected", reason
    else:
        approvals = await session.scalar(
            select(func.count())
            .select_from(CoopValidation)
            .where(
                CoopValidation.contribution_id == contribution.id,
                CoopValidation.verdict == "accept",
            )
        )
        if int(approvals or 0) >= (await settings_of(session, org)).validators_required:
            contribution.state = "approved"
    if contribution.state != "pending":
        await _tell_contributor(session, urls, org, contribution)
    return contribution


async def _tell_contributor(
    session: AsyncSession, urls: Urls, org: Agent, contribution: CoopContribution
) -> None:
    activity: dict[str, Any] = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": urls.new_activity(),
        "type": "Accept" if contribution.state == "approved" else "Reject",
        "actor": contribution.organization,
        "object": contribution.event_uri,
        "to": [contribution.contributor],
        "published": now_iso(),
    }
    if contribution.reason:
        activity["content"] = contribution.reason
    await publish(session, urls, org, activity)


async def record_outcome(
    session: AsyncSession, event_uri: str, organization: str, accepted: bool, reason: str
) -> None:
    """The contributor's instance learns the organization's decision on its event."""
    row = await session.scalar(
        select(CoopContribution).where(
            CoopContribution.event_uri == event_uri, CoopContribution.organization == organization
        )
    )
    if row is not None and row.state == "pending":
        row.state, row.reason = ("approved", "") if accepted else ("rejected", reason)


async def contributions_of(
    session: AsyncSession, organization: str, state: str | None = None
) -> Sequence[CoopContribution]:
    """An organization's contributions (oldest first, equally old ones in the order they
    were recorded), optionally in one state."""
    query = select(CoopContribution).where(CoopContribution.organization == organization)
    if state is not None:
        query = query.where(CoopContribution.state == state)
    return (
        await session.scalars(query.order_by(CoopContribution.happened_at, CoopContribution.id))
    ).all()


async def contributor_view(session: AsyncSession, contributor: str) -> Sequence[CoopContribution]:
    """A contributor's contributions and where each stands, newest first."""
    return (
        await session.scalars(
            select(CoopContribution)
            .where(CoopContribution.contributor == contributor)
            .order_by(CoopContribution.id.desc())
        )
    ).all()
