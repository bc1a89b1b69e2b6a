"""Local agents: creating them with their keys, finding them, listing them."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from federation.keys import generate_ed25519_keypair, generate_rsa_keypair
from instance.problems import Problem
from instance.store.models import Agent, AgentTombstone, InstanceKey

__all__ = [
    "AGENT_KINDS",
    "count_agents",
    "create_agent",
    "get_agent",
    "instance_key",
    "list_agents",
    "require_agent",
    "validate_username",
]

AGENT_KINDS = {"person": "Person", "organization": "Organization"}
_USERNAME = re.compile(r"[a-z0-9_]{1,30}")
# Names that would read as the instance itself or an operator in a Fediverse search.
_RESERVED = frozenset({"actor", "admin", "inbox", "instance", "root", "www", "well_known"})


def validate_username(username: str) -> str:
    """The username if it is acceptable; a :class:`Problem` naming the rule otherwise."""
    if not _USERNAME.fullmatch(username):
        raise Problem(
            400,
            f"username {username!r} must be 1-30 characters of a-z, 0-9 and _",
            field="username",
        )
    if username in _RESERVED:
        raise Problem(400, f"username {username!r} is reserved", field="username")
    return username


async def create_agent(
    session: AsyncSession,
    username: str,
    *,
    kind: str = "person",
    name: str = "",
    summary: str = "",
    manually_approves_followers: bool = False,
) -> Agent:
    """Create a local agent with a fresh RSA-2048 key pair."""
    validate_username(username)
    if kind not in AGENT_KINDS:
        raise Problem(400, f"type {kind!r} must be person or organization", field="type")
    if len(name) > 200:
        raise Problem(400, "name is longer than 200 characters", field="name")
    if len(summary) > 5000:
        raise Problem(400, "summary is longer than 5000 characters", field="summary")
    if await get_agent(session, username) is not None:
        raise Problem(409, f"an agent named {username!r} already exists", field="username")
    keys = generate_rsa_keypair()
    proof_keys = generate_ed25519_keypair()
    agent = Agent(
        username=username,
        kind=AGENT_KINDS[kind],
        name=name or username,
        summary=summary,
        manually_approves_followers=manually_approves_followers,
        private_key_pem=keys.private_pem,
        proof_private_pem=proof_keys.private_pem,
        proof_public_pem=proof_keys.public_pem,
        public_key_pem=keys.public_pem,
    )
    session.add(agent)
    try:
        await session.flush()
    except IntegrityError:
        raise Problem(
            409, f"an agent named {username!r} already exists", field="username"
        ) from None
    return agent


async def get_agent(session: AsyncSession, username: str) -> Agent | None:
    return await session.scalar(select(Agent).where(Agent.username == username))


async def require_agent(session: AsyncSession, username: str) -> Agent:
    """The agent, or a 404 problem naming the username."""
    agent = await get_agent(session, username)
    if agent is None:
        raise Problem(404, f"no agent named {username!r} on this instance")
    return agent


async def list_agents(session: AsyncSession) -> Sequence[Agent]:
    """The agents that are not deleted, by username."""
    deleted = select(AgentTombstone.id).where(AgentTombstone.agent_id == Agent.id).exists()
    return (await session.scalars(select(Agent).where(~deleted).order_by(Agent.username))).all()


async def count_agents(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Agent)) or 0)


async def instance_key(session: AsyncSession) -> InstanceKey:
    """The instance actor's key pair, created on first use."""
    key = await session.scalar(select(InstanceKey).order_by(InstanceKey.id).limit(1))
    if key is None:
        pair = generate_rsa_keypair()
        key = InstanceKey(id=1, private_key_pem=pair.private_pem, public_key_pem=pair.public_pem)
        session.add(key)
        await session.flush()
    return key
