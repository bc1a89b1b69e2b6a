"""What an organization's page shows, and to whom.

Its members see its members and roles, its balances, its value equations and
distributions, and where contributions stand; coordinators also see the requests to
join they answer, validators the contributions they may approve (never their own). Anyone
else signed in sees only the organization's name and how to ask to join.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.coop.acting import acts_of
from instance.coop.contributions import contributions_of
from instance.coop.defining import equations_of
from instance.coop.memberships import members, membership_of, roles_of, settings_of
from instance.store.models import (
    Agent,
    CoopContribution,
    CoopDistribution,
    CoopMembership,
    CoopSettings,
)
from instance.urls import Urls
from instance.web.app.overview import Balance, balances

__all__ = ["LIST_LIMIT", "Act", "OrgView", "org_view", "organizations_for"]

#: Most rows of each list on the page.
LIST_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Act:
    """One activity a coordinator published for the organization."""

    activity: str
    person: str
    at: Any


@dataclass
class OrgView:
    org: Agent
    uri: str
    viewer: str
    settings: CoopSettings
    #: The viewer's own membership row (any state), if any.
    mine: CoopMembership | None
    roles: frozenset[str]
    members: Sequence[CoopMembership] = ()
    balances: list[Balance] = field(default_factory=list)
    waiting_joins: Sequence[CoopMembership] = ()
    invited: Sequence[CoopMembership] = ()
    pending: Sequence[CoopContribution] = ()
    decided: Sequence[CoopContribution] = ()
    equations: list[dict[str, Any]] = field(default_factory=list)
    distributions: Sequence[CoopDistribution] = ()
    acts: list[Act] = field(default_factory=list)

    @property
    def is_member(self) -> bool:
        """Members read the page; so does a session acting as the organization."""
        return self.viewer == self.uri or bool(self.roles)

    @property
    def coordinates(self) -> bool:
        return self.viewer == self.uri or "coordinator" in self.roles

    @property
    def validates(self) -> bool:
        return bool({"coordinator", "validator"} & self.roles)


async def org_view(
    session: AsyncSession, urls: Urls, org: Agent, viewer: str, person: str
) -> OrgView:
    """The organization's page as ``viewer`` (an actor id: the person, or the
    organization a session acts for) may see it; ``person``'s roles decide what they
    may answer and validate (a coordinator acting for the organization still validates
    as themselves)."""
    uri = urls.actor(org.username)
    view = OrgView(
        org,
        uri,
        viewer,
        await settings_of(session, org),
        await membership_of(session, uri, person),
        await roles_of(session, uri, person),
    )
    if not view.is_member:
        return view
    view.members = (await members(session, uri))[:LIST_LIMIT]
    view.balances = await balances(session, org)
    view.equations = [
        json.loads(row.body) | {"name": row.name} for row in await equations_of(session, org)
    ]
    view.distributions = (
        await session.scalars(
            select(CoopDistribution)
            .where(CoopDistribution.organization_agent_id == org.id)
            .order_by(CoopDistribution.id.desc())
            .limit(LIST_LIMIT)
        )
    ).all()
    view.pending = (await contributions_of(session, uri, "pending"))[:LIST_LIMIT]
    view.decided = (
        await session.scalars(
            select(CoopContribution)
            .where(CoopContribution.organization == uri, CoopContribution.state != "pending")
            .order_by(CoopContribution.id.desc())
            .limit(LIST_LIMIT)
        )
    ).all()
    if view.coordinates:
        rows = (
            await session.scalars(
                select(CoopMembership)
                .where(
                    CoopMembership.organization == uri,
                    CoopMembership.state.in_(("pending", "awaiting-shares", "invited")),
                )
                .order_by(CoopMembership.id)
                .limit(LIST_LIMIT)
            )
        ).all()
        view.waiting_joins = [r for r in rows if r.state != "invited"]
        view.invited = [r for r in rows if r.state == "invited"]
        for act in list(await acts_of(session, org))[:20]:
            by = await session.get(Agent, act.person_agent_id)
            view.acts.append(
                Act(act.activity_uri, urls.actor(by.username) if by else "", act.created_at)
            )
    return view


async def organizations_for(
    session: AsyncSession, person: str
) -> tuple[Sequence[CoopMembership], Sequence[Agent]]:
    """``person``'s memberships (any state, any instance) and this instance's organizations."""
    mine = (
        await session.scalars(
            select(CoopMembership)
            .where(CoopMembership.member == person)
            .order_by(CoopMembership.id)
            .limit(LIST_LIMIT)
        )
    ).all()
    local = (
        await session.scalars(
            select(Agent)
            .where(Agent.kind == "Organization")
            .order_by(Agent.username)
            .limit(LIST_LIMIT)
        )
    ).all()
    return mine, local
