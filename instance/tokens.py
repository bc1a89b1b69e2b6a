"""Bearer tokens for agents' clients. Only a digest is stored; the token is shown once."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.store.models import Agent, Token

__all__ = ["authenticate", "create_token"]

_PREFIX = "oce_"


def _digest(token: str) -> str:
    # Tokens carry 256 random bits, so a plain SHA-256 is enough: there is nothing to
    # brute-force that a slow hash would protect.
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(session: AsyncSession, agent: Agent, label: str = "") -> str:
    """A new token for ``agent``; the caller shows it once, we keep only its digest."""
    token = _PREFIX + secrets.token_urlsafe(32)
    session.add(Token(agent_id=agent.id, digest=_digest(token), label=label[:100]))
    await session.flush()
    return token


async def authenticate(session: AsyncSession, token: str) -> Agent | None:
    """The agent a token belongs to, or None."""
    if not token.startswith(_PREFIX) or len(token) > 100:
        return None
    return await session.scalar(
        select(Agent).join(Token, Token.agent_id == Agent.id).where(Token.digest == _digest(token))
    )
