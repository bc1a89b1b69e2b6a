"""Memberships and roles of organizations, and each organization's settings.

Domain functions over one session; they never commit. Plain functions the web app and
the CLI call alike (:func:`members`, :func:`membership_of`, :func:`roles_of`, …).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.agents import get_agent
from instance.problems import Problem
from instance.store.models import Agent, CoopMembership, CoopSettings, utcnow
from instance.urls import Urls

__all__ = [
    "JOINING_STYLES",
    "ROLES",
    "add_member",
    "change_settings",
    "has_role",
    "local_agent",
    "members",
    "membership_of",
    "remove_member",
    "require_organization",
    "roles_of",
    "settings_of",
]

JOINING_STYLES = ("open", "moderated", "shares")
ROLES = ("member", "coordinator", "validator")
MAX_VALIDATORS = 20


async def local_agent(session: AsyncSession, urls: Urls, uri: str) -> Agent | None:
    """The local agent with id ``uri``, or None."""
    username = urls.username_of(uri)
    return await get_agent(session, username) if username else None


def require_organization(agent: Agent) -> Agent:
    if agent.kind != "Organization":
        raise Problem(422, f"{agent.username} is a {agent.kind}, not an organization")
    return agent


async def settings_of(session: AsyncSession, org: Agent) -> CoopSettings:
    """The organization's settings (the defaults until changed; not stored by reading)."""
    found = await session.get(CoopSettings, org.id)
    return found or CoopSettings(
        agent_id=org.id,
        joining="moderated",
        members_public=True,
        validators_required=1,
        precision=2,
    )


async def change_settings(
    session: AsyncSession,
    org: Agent,
    *,
    joining: str | None = None,
    members_public: bool | None = None,
    validators_required: int | None = None,
    precision: int | None = None,
    share_conforms_to: str | None = None,
    share_price: Decimal | None = None,
) -> CoopSettings:
    """Change some settings of an organization; a 400 problem names a wrong one."""
    require_organization(org)
    row = await session.get(CoopSettings, org.id)
    if row is None:
        row = await settings_of(session, org)
        session.add(row)
    if joining is not None:
        if joining not in JOINING_STYLES:
            raise Problem(
                400, f"joining must be one of {', '.join(JOINING_STYLES)}", field="joining"
            )
        row.joining = joining
    if members_public is not None:
        row.members_public = members_public
    if validators_required is not None:
        if not 1 <= validators_required <= MAX_VALIDATORS:
            raise Problem(
                400, f"validators must be 1 to {MAX_VALIDATORS}", field="validators_required"
            )
        row.validators_required = validators_required
    if precision is not None:
        if not 0 <= precision <= 8:
            raise Problem(400, "precision is 0 to 8 decimal places", field="precision")
        row.precision = precision
    if share_price is not None:
        if not share_price.is_finite() or share_price <= 0:
            raise Problem(400, "the share price must be more than zero", field="share_price")
        row.share_price = share_price
    if share_conforms_to is not None:
        row.share_conforms_to = share_conforms_to
    if row.joining == "shares" and (row.share_price is None or row.share_conforms_to is None):
        raise Problem(
            400,
            "joining by shares needs the share's price and currency (--share-price, --share-in)",
            field="joining",
        )
    await session.flush()
    return row


async def membership_of(
    session: AsyncSession, organization: str, member: str
) -> CoopMembership | None:
    return await session.scalar(
        select(CoopMembership).where(
            CoopMembership.organization == organization, CoopMembership.member == member
        )
    )


async def members(session: AsyncSession, org_uri: str) -> Sequence[CoopMembership]:
    """The accepted members of an organization, oldest first."""
    return (
        await session.scalars(
            select(CoopMembership)
            .where(CoopMembership.organization == org_uri, CoopMembership.state == "accepted")
            .order_by(CoopMembership.id)
        )
    ).all()


async def roles_of(session: AsyncSession, org_uri: str, person: str) -> frozenset[str]:
    """The roles ``person`` holds in the organization (none unless an accepted member)."""
    row = await membership_of(session, org_uri, person)
    if row is None or row.state != "accepted":
        return frozenset()
    return frozenset(row.roles.split())


async def has_role(session: AsyncSession, org_uri: str, person: str, role: str) -> bool:
    return role in await roles_of(session, org_uri, person)


def _roles(roles: Sequence[str]) -> str:
    for role in roles:
        if role not in ROLES:
            raise Problem(400, f"role {role!r} must be one of {', '.join(ROLES)}", field="role")
    return " ".join(r for r in ROLES if r in {"member", *roles})


async def add_member(
    session: AsyncSession, urls: Urls, org: Agent, member: str, roles: Sequence[str] = ()
) -> CoopMembership:
    """Make ``member`` (an actor id, local or remote) an accepted member with ``roles``
    (an existing membership gets these roles)."""
    require_organization(org)
    org_uri = urls.actor(org.username)
    if member == org_uri:
        raise Problem(400, "an organization is not its own member", field="member")
    person = await local_agent(session, urls, member)
    if urls.is_local(member) and person is None:
        raise Problem(404, f"no agent {member} on this instance", field="member")
    row = await membership_of(session, org_uri, member)
    if row is None:
        row = CoopMembership(
            organization=org_uri,
            organization_agent_id=org.id,
            member=member,
            member_agent_id=person.id if person else None,
        )
        session.add(row)
    row.state, row.roles, row.updated_at = "accepted", _roles(roles), utcnow()
    await session.flush()
    return row


async def remove_member(session: AsyncSession, urls: Urls, org: Agent, member: str) -> None:
    row = await membership_of(session, urls.actor(org.username), member)
    if row is None or row.state != "accepted":
        raise Problem(404, f"{member} is not a member of {org.username}", field="member")
    row.state, row.updated_at = "left", utcnow()
