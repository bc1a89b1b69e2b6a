"""Bearer tokens for agents' clients. Only a digest is stored; the token is shown once.

A token grants scopes (``read``, ``write``, written OAuth-style as one space-separated
string), may expire, and can be revoked. Every request looks its token up in the
database: nothing about a token is cached in a process, so a revocation or an expiry
takes effect at once in every process of the instance.

A token issued to a client application through OAuth 2.0 (:mod:`instance.oauth`) is a
row of the same table carrying that client's id (``client_id``): the API checks it like
any other, and a person lists and revokes it on ``/app/tokens``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from instance.problems import Problem
from instance.store.models import Agent, Token, utcnow

__all__ = [
    "READ",
    "SCOPES",
    "WRITE",
    "Grant",
    "TokenRefused",
    "authenticate",
    "create_token",
    "list_tokens",
    "parse_lifetime",
    "revoke_token",
    "token_digest",
    "token_state",
    "touch_token",
]

_PREFIX = "oce_"
READ = "read"
WRITE = "write"
#: Every scope a token can hold, in the order they are written.
SCOPES = (READ, WRITE)
#: ``last_used_at`` is written again only when it is older than this: one small write
#: a minute per token in use, not one per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
#: The longest lifetime ``--expires`` accepts.
MAX_LIFETIME = timedelta(days=3660)
#: The units of a lifetime: minutes, hours, days, weeks.
_UNITS = {
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_LIFETIME = re.compile(r"([1-9][0-9]{0,6})([mhdw])")


def _digest(token: str) -> str:
    # Tokens carry 256 random bits, so a plain SHA-256 is enough: there is nothing to
    # brute-force that a slow hash would protect.
    return hashlib.sha256(token.encode()).hexdigest()


#: The digest the table keeps of a token (for OAuth, which issues and rotates tokens).
token_digest = _digest


def _scope_text(scopes: Iterable[str]) -> str:
    wanted = set(scopes)
    unknown = wanted - set(SCOPES)
    if unknown or not wanted:
        raise Problem(
            400,
            f"scopes are {' and '.join(SCOPES)}, not {sorted(unknown) or 'none'}",
            field="scope",
        )
    return " ".join(scope for scope in SCOPES if scope in wanted)


def parse_lifetime(text: str) -> timedelta:
    """``30d``, ``12h``, ``2w``, ``90m``: how long a new token lives."""
    found = _LIFETIME.fullmatch(text.strip())
    lifetime = int(found[1]) * _UNITS[found[2]] if found else None
    if lifetime is None or lifetime > MAX_LIFETIME:
        raise Problem(
            400,
            f"expires {text!r}: expected a duration such as 90m, 12h, 30d or 2w "
            f"(at most {MAX_LIFETIME.days} days)",
            field="expires",
        )
    return lifetime


async def create_token(
    session: AsyncSession,
    agent: Agent,
    label: str = "",
    *,
    scopes: Iterable[str] = SCOPES,
    expires_at: datetime | None = None,
    client_id: str | None = None,
    refresh_digest: str | None = None,
) -> str:
    """A new token for ``agent``; the caller shows it once, we keep only its digest."""
    token = _PREFIX + secrets.token_urlsafe(32)
    session.add(
        Token(
            agent_id=agent.id,
            digest=_digest(token),
            label=label[:100],
            scope=_scope_text(scopes),
            expires_at=expires_at,
            client_id=client_id,
            refresh_digest=refresh_digest,
        )
    )
    await session.flush()
    return token


@dataclass(frozen=True, slots=True)
class Grant:
    """What a valid token gives: whose it is and what it may do."""

    agent: Agent
    token_id: int
    scopes: frozenset[str]
    last_used_at: datetime | None

    @property
    def needs_touch(self) -> bool:
        """Whether its last use is too old to show, so it should be written now."""
        last = self.last_used_at
        return last is None or utcnow() - last >= LAST_USED_RESOLUTION


class TokenRefused(Problem):
    """A token that is unknown, revoked or expired (401, ``invalid_token``)."""

    def __init__(self, why: str) -> None:
        super().__init__(
            401,
            why,
            field="authorization",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )


def token_state(row: Token, now: datetime | None = None) -> str:
    """``active``, ``revoked`` or ``expired``."""
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= (now or utcnow()):
        return "expired"
    return "active"


async def authenticate(session: AsyncSession, token: str) -> Grant:
    """The grant of a live token; :class:`TokenRefused` saying why for any other."""
    if not token.startswith(_PREFIX) or len(token) > 100:
        raise TokenRefused("the token is not valid")
    found = (
        await session.execute(
            select(Token, Agent)
            .join(Agent, Token.agent_id == Agent.id)
            .where(Token.digest == _digest(token))
        )
    ).first()
    if found is None:
        raise TokenRefused("the token is not valid")
    row, agent = found
    state = token_state(row)
    if state == "revoked":
        raise TokenRefused("the token was revoked")
    if state == "expired":
        assert row.expires_at is not None
        raise TokenRefused(f"the token expired at {row.expires_at:%Y-%m-%dT%H:%M:%SZ}")
    return Grant(agent, row.id, frozenset(row.scope.split()), row.last_used_at)


async def touch_token(session: AsyncSession, token_id: int) -> None:
    """Record that the token was used now (unless another request just did)."""
    now = utcnow()
    await session.execute(
        update(Token)
        .where(
            Token.id == token_id,
            or_(Token.last_used_at.is_(None), Token.last_used_at < now - LAST_USED_RESOLUTION),
        )
        .values(last_used_at=now)
    )


async def list_tokens(session: AsyncSession, agent: Agent) -> Sequence[Token]:
    """The agent's tokens, revoked and expired ones too, oldest first."""
    return (
        await session.scalars(select(Token).where(Token.agent_id == agent.id).order_by(Token.id))
    ).all()


async def revoke_token(
    session: AsyncSession, token_id: int, *, agent: Agent | None = None
) -> Token:
    """Revoke token ``token_id`` (of ``agent``, when given: a person revoking their own);
    404 when there is no such token. Revoking twice changes nothing."""
    row = await session.get(Token, token_id, with_for_update=True)
    if row is None or (agent is not None and row.agent_id != agent.id):
        raise Problem(404, f"there is no token {token_id}", field="id")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row
