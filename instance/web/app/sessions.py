"""Server-side browser sessions.

The cookie carries 256 random bits; the table keeps their SHA-256 digest, the agent,
the CSRF token of the session's forms, and when it ends. Every request looks the
session up, so signing out (or revoking from another browser) ends it at once in every
process. Signing in always opens a new session (a new secret) and revokes the one the
browser had, so a secret planted before sign-in is worthless after it.

The cookie is ``HttpOnly`` (no script reads it), ``SameSite=Lax`` (other sites' forms
do not carry it) and ``Secure`` whenever the instance's base URL is https.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from instance.notices.reading import unread_count
from instance.services import Services
from instance.store.models import Agent, WebSession, utcnow
from instance.web.app.acting import acting_for

__all__ = [
    "COOKIE",
    "LIFETIME",
    "SignedIn",
    "clear_cookie",
    "open_session",
    "revoke_session",
    "set_cookie",
    "signed_in",
]

COOKIE = "oce_session"
#: How long a sign-in lasts.
LIFETIME = timedelta(days=14)
#: ``last_seen_at`` is written at most this often per session.
SEEN_RESOLUTION = timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The person behind a request's session cookie."""

    agent: Agent
    session_id: int
    csrf: str
    #: The organization this session acts for (switched to in the header), if any.
    acting: Agent | None = None
    #: Local organizations this person coordinates (usernames): what they may switch to.
    coordinates: tuple[str, ...] = ()

    @property
    def actor(self) -> Agent:
        """Who the session's forms post as: the organization while switched to it."""
        return self.acting or self.agent

    @property
    def acted_by(self) -> Agent | None:
        """The person behind a post made as an organization (for its records)."""
        return self.agent if self.acting is not None else None

    #: Notifications not read yet (the header shows the count on every page).
    unread: int = 0


async def open_session(
    session: AsyncSession, agent: Agent, *, address: str, user_agent: str
) -> tuple[str, WebSession]:
    """A new session for ``agent``: the cookie's secret (shown once) and its row."""
    secret = secrets.token_urlsafe(32)
    row = WebSession(
        agent_id=agent.id,
        digest=_digest(secret),
        csrf=secrets.token_urlsafe(32),
        expires_at=utcnow() + LIFETIME,
        address=address[:64],
        user_agent=user_agent[:200],
    )
    session.add(row)
    await session.flush()
    return secret, row


async def revoke_session(session: AsyncSession, secret: str) -> None:
    """End the session whose cookie carries ``secret`` (nothing if there is none)."""
    await session.execute(
        update(WebSession)
        .where(WebSession.digest == _digest(secret), WebSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def _live(row: WebSession, now: datetime) -> bool:
    return row.revoked_at is None and row.expires_at > now


async def signed_in(svc: Services, request: Request) -> SignedIn | None:
    """The live session the request's cookie names; None without one.

    Uses sessions of its own: call it before opening the one that serves the request.
    """
    secret = request.cookies.get(COOKIE, "")
    if not secret or len(secret) > 100:
        return None
    now = utcnow()
    async with svc.db.read() as session:
        found = (
            await session.execute(
                select(WebSession, Agent)
                .join(Agent, Agent.id == WebSession.agent_id)
                .where(WebSession.digest == _digest(secret))
            )
        ).first()
        if found is None or not _live(found[0], now):
            return None
        unread = await unread_count(session, found[1].id)
    row, agent = found
    if now - row.last_seen_at >= SEEN_RESOLUTION:
        async with svc.db.write() as session:
            await session.execute(
                update(WebSession).where(WebSession.id == row.id).values(last_seen_at=now)
            )
    acting, coordinates = await acting_for(svc, request, agent, row.id)
    return SignedIn(agent, row.id, row.csrf, acting, coordinates, unread)


def set_cookie(svc: Services, response: Response, secret: str) -> None:
    response.set_cookie(
        COOKIE,
        secret,
        max_age=int(LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=svc.urls.base.startswith("https://"),
    )


def clear_cookie(svc: Services, response: Response) -> None:
    response.delete_cookie(
        COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=svc.urls.base.startswith("https://"),
    )
