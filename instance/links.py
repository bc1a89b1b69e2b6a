"""Linking a person's accounts on two oce instances (issue 12, "Across instances").

A person who is an agent here (A) and on another oce instance (B) links them: A acts as
an OAuth client of B. A reads B's RFC 8414 metadata, registers itself there (RFC 7591,
a confidential client whose redirect URI is A's ``/app/links/callback``), and sends the
person's browser to B's consent page with a PKCE challenge and a state. Back at A with
the code, A exchanges it (with the verifier and its secret) for a ``read`` token, whose
answer names the person's actor on B. Both actors then publish the other in
``alsoKnownAs``: A from its link row, B from the token (A tells B its actor with
``POST /oauth/link``; B believes it only after reading A's actor document and finding
its own actor there).

A's dashboard shows B's balances, commitments and agreements (``GET /oauth/overview``
at B with the token), labelled by instance, cached for :data:`CACHE_SECONDS` and read
again on load within :data:`FETCH_TIMEOUT`. An expired access token is refreshed once;
a token B refuses (the person revoked A on B's ``/app/tokens``) removes the link here.
Unlinking at A revokes the grant at B (RFC 7009) and removes the row; either way both
``alsoKnownAs`` entries go, since each side publishes only live links.

Everything fetched from B is bounded in time (:data:`FETCH_TIMEOUT`) and in size
(:data:`MAX_ANSWER_BYTES`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.problems import Problem
from instance.services import Services
from instance.store.models import AccountLink, Agent, Token, utcnow

__all__ = [
    "CACHE_SECONDS",
    "FETCH_TIMEOUT",
    "Elsewhere",
    "aliases",
    "elsewhere",
    "finish_link",
    "names_back",
    "start_link",
    "unlink",
]

FETCH_TIMEOUT = 5.0
MAX_ANSWER_BYTES = 262_144
CACHE_SECONDS = 60
#: How many links one person may hold (pending ones included).
MAX_LINKS = 10
PENDING_LIFETIME = timedelta(minutes=15)


def _refused(detail: str, status: int = 502) -> Problem:
    return Problem(status, detail, field="instance")


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: bytes
    url: str


async def _call(
    svc: Services, method: str, url: str, *, expect: tuple[int, ...] = (200,), **options: Any
) -> _Answer:
    """One bounded request to the other instance (time and size)."""
    body = b""
    try:
        async with svc.http.stream(method, url, timeout=FETCH_TIMEOUT, **options) as answer:
            async for chunk in answer.aiter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise _refused(f"{url} answered more than {MAX_ANSWER_BYTES} bytes")
            status = answer.status_code
    except httpx.HTTPError as exc:
        raise _refused(f"cannot reach {url}: {exc.__class__.__name__}") from None
    if status not in expect:
        raise _refused(f"{url} answered {status}: {body[:200]!r}")
    return _Answer(status, body, url)


def _json(answer: _Answer) -> dict[str, Any]:
    try:
        found = json.loads(answer.body)
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise _refused(f"{answer.url} did not answer a JSON object")
    return found


def _expiry(granted: dict[str, Any]) -> datetime:
    """When a granted access token ends (its ``expires_in``, kept within a minute and a
    day; an hour when it says nothing usable)."""
    seconds = granted.get("expires_in")
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        seconds = 3600
    return utcnow() + timedelta(seconds=min(max(seconds, 60), 86_400))


def _base_of(text: str) -> str:
    parts = urlsplit(text.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.path not in ("", "/"):
        raise Problem(
            400,
            "the other instance is its address, such as https://other.example",
            field="instance",
        )
    return f"{parts.scheme}://{parts.netloc}"


async def start_link(svc: Services, agent: Agent, instance: str) -> str:
    """Register at the other instance and open a pending link; where to send the
    person's browser (the other instance's consent page)."""
    base = _base_of(instance)
    if base == svc.urls.base:
        raise Problem(400, "this is this instance: link another one", field="instance")
    async with svc.db.read() as session:
        held = await session.scalars(select(AccountLink).where(AccountLink.agent_id == agent.id))
        if len(held.all()) >= MAX_LINKS:
            raise Problem(409, f"at most {MAX_LINKS} linked instances", field="instance")
    meta = _json(await _call(svc, "GET", f"{base}/.well-known/oauth-authorization-server"))
    endpoints = {
        name: meta.get(name)
        for name in (
            "authorization_endpoint",
            "token_endpoint",
            "registration_endpoint",
            "revocation_endpoint",
        )
    }
    if meta.get("issuer") != base or not all(
        isinstance(url, str) and url.startswith(base + "/") for url in endpoints.values()
    ):
        raise _refused(f"{base} does not publish OAuth metadata of its own")
    if "S256" not in (meta.get("code_challenge_methods_supported") or []):
        raise _refused(f"{base} does not support PKCE with S256")
    callback = f"{svc.urls.base}/app/links/callback"
    registered = _json(
        await _call(
            svc,
            "POST",
            str(endpoints["registration_endpoint"]),
            expect=(201,),
            json={
                "client_name": f"oce at {svc.urls.host}",
                "client_uri": svc.urls.base,
                "redirect_uris": [callback],
                "token_endpoint_auth_method": "client_secret_post",
                "grant_types": ["authorization_code", "refresh_token"],
                "scope": "read",
            },
        )
    )
    client_id, secret = registered.get("client_id"), registered.get("client_secret")
    if not isinstance(client_id, str) or not isinstance(secret, str):
        raise _refused(f"{base} registered us without a client id and secret")
    state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    async with svc.db.write() as session:
        await session.execute(
            delete(AccountLink).where(
                AccountLink.status == "pending",
                AccountLink.created_at < utcnow() - PENDING_LIFETIME,
            )
        )
        session.add(
            AccountLink(
                agent_id=agent.id,
                issuer=base,
                endpoints_json=json.dumps(endpoints),
                client_id=client_id[:64],
                client_secret=secret[:100],
                state=state,
                verifier=verifier,
            )
        )
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": callback,
        "scope": "read",
        "state": state,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    return f"{endpoints['authorization_endpoint']}?{urlencode(query)}"


async def finish_link(svc: Services, agent: Agent, params: dict[str, str]) -> AccountLink:
    """The browser is back from the other instance: exchange the code, learn the
    person's actor there, and have the other side publish the link too."""
    state = params.get("state", "")[:64]
    async with svc.db.read() as session:
        link = await session.scalar(
            select(AccountLink).where(
                AccountLink.state == state,
                AccountLink.agent_id == agent.id,
                AccountLink.status == "pending",
            )
        )
    if link is None or not state:
        raise Problem(400, "this link was not started here by you, or is done", field="state")
    if params.get("error") or not params.get("code"):
        await _forget(svc, link.id)
        raise Problem(
            403, f"{link.issuer} did not grant the link ({params.get('error', 'no code')})"
        )
    if params.get("iss") not in (None, link.issuer):
        await _forget(svc, link.id)
        raise Problem(400, "the answer names another issuer than the one asked", field="iss")
    endpoints = json.loads(link.endpoints_json)
    granted = _json(
        await _call(
            svc,
            "POST",
            endpoints["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": params["code"][:200],
                "redirect_uri": f"{svc.urls.base}/app/links/callback",
                "client_id": link.client_id,
                "client_secret": link.client_secret,
                "code_verifier": link.verifier,
            },
        )
    )
    actor = granted.get("actor")
    if not isinstance(actor, str) or not actor.startswith(link.issuer + "/"):
        await _forget(svc, link.id)
        raise _refused(f"{link.issuer} did not say whose account it granted")
    async with svc.db.write() as session:
        row = await session.get(AccountLink, link.id)
        assert row is not None
        row.status = "active"
        row.remote_actor = actor[:2048]
        row.access_token = str(granted.get("access_token", ""))[:100]
        row.refresh_token = str(granted.get("refresh_token", ""))[:100]
        row.expires_at = _expiry(granted)
    # Our actor now names theirs; ask them to name ours (they read our actor to check).
    try:
        await _call(
            svc,
            "POST",
            f"{link.issuer}/oauth/link",
            headers={"Authorization": f"Bearer {row.access_token}"},
            json={"actor": svc.urls.actor(agent.username)},
        )
    except Problem:
        await unlink(svc, agent, link.id)
        raise
    return row


async def _forget(svc: Services, link_id: int) -> None:
    async with svc.db.write() as session:
        await session.execute(delete(AccountLink).where(AccountLink.id == link_id))


async def unlink(svc: Services, agent: Agent, link_id: int) -> None:
    """Revoke the grant at the other instance (best effort, bounded) and forget it."""
    async with svc.db.read() as session:
        link = await session.get(AccountLink, link_id)
    if link is None or link.agent_id != agent.id:
        raise Problem(404, f"there is no link {link_id}", field="id")
    revocation = json.loads(link.endpoints_json).get("revocation_endpoint")
    if link.refresh_token and isinstance(revocation, str):
        # The row goes anyway: the other side drops the link when it next fails.
        with contextlib.suppress(Problem):
            await _call(
                svc,
                "POST",
                revocation,
                data={
                    "token": link.refresh_token,
                    "client_id": link.client_id,
                    "client_secret": link.client_secret,
                },
            )
    await _forget(svc, link.id)


async def names_back(svc: Services, actor: str, mine: str) -> bool:
    """Whether the other instance's ``actor``, read afresh from its server, names
    ``mine`` in its ``alsoKnownAs``."""
    remote = await svc.peers.actor(actor, refresh=True)
    document = json.loads(remote.document)
    found = document.get("alsoKnownAs")
    return mine in (found if isinstance(found, list) else [found])


async def aliases(session: AsyncSession, agent: Agent) -> list[str]:
    """The agent's actors on other instances, linked both ways: those we hold a link
    to, and those that hold a live token of ours to link to us."""
    mine = await session.scalars(
        select(AccountLink.remote_actor).where(
            AccountLink.agent_id == agent.id, AccountLink.status == "active"
        )
    )
    now = utcnow()
    theirs = await session.scalars(
        select(Token.linked_actor).where(
            Token.agent_id == agent.id,
            Token.linked_actor.is_not(None),
            Token.revoked_at.is_(None),
            (Token.expires_at.is_(None))
            | (Token.expires_at > now)
            | (Token.refresh_digest.is_not(None)),
        )
    )
    found: list[str] = []
    for actor in [*mine, *theirs]:
        if actor and actor not in found:
            found.append(actor)
    return found


@dataclass(frozen=True, slots=True)
class Elsewhere:
    """What the dashboard shows of one linked instance."""

    link_id: int
    instance: str
    actor: str
    overview: dict[str, Any]
    as_of: datetime | None
    problem: str


async def _refresh(svc: Services, link: AccountLink) -> bool:
    """Renew the access token; False when the other side refuses (the grant is gone)."""
    answer = await _call(
        svc,
        "POST",
        json.loads(link.endpoints_json)["token_endpoint"],
        expect=(200, 400, 401),
        data={
            "grant_type": "refresh_token",
            "refresh_token": link.refresh_token or "",
            "client_id": link.client_id,
            "client_secret": link.client_secret,
        },
    )
    if answer.status != 200:
        return False
    granted = _json(answer)
    link.access_token = str(granted.get("access_token", ""))[:100]
    link.refresh_token = str(granted.get("refresh_token", ""))[:100]
    link.expires_at = _expiry(granted)
    return True


async def _read(svc: Services, link: AccountLink) -> dict[str, Any] | None:
    """The other instance's overview for the person; None when the grant is gone."""
    if (
        link.expires_at is not None
        and link.expires_at <= utcnow()
        and not await _refresh(svc, link)
    ):
        return None
    url = f"{link.issuer}/oauth/overview"
    for attempt in (1, 2):
        answer = await _call(
            svc,
            "GET",
            url,
            expect=(200, 401),
            headers={"Authorization": f"Bearer {link.access_token}"},
        )
        if answer.status == 200:
            return _json(answer)
        if attempt == 2 or not await _refresh(svc, link):
            return None
    return None


async def elsewhere(svc: Services, agent: Agent) -> list[Elsewhere]:
    """Each linked instance's overview: from the cache when fresh, read again
    otherwise; a link the other side no longer grants is removed."""
    async with svc.db.read() as session:
        links = list(
            await session.scalars(
                select(AccountLink)
                .where(AccountLink.agent_id == agent.id, AccountLink.status == "active")
                .order_by(AccountLink.id)
            )
        )
    now = utcnow()

    async def one(link: AccountLink) -> Elsewhere | None:
        problem = ""
        fresh = link.cached_at is not None and now - link.cached_at < timedelta(
            seconds=CACHE_SECONDS
        )
        if not fresh:
            try:
                read = await _read(svc, link)
            except Problem as exc:
                read, problem = {}, exc.detail
            if read is None:
                await _forget(svc, link.id)
                return None
            async with svc.db.write() as session:
                row = await session.get(AccountLink, link.id)
                if row is None:
                    return None
                row.access_token, row.refresh_token = link.access_token, link.refresh_token
                row.expires_at = link.expires_at
                if read:
                    row.cache_json, row.cached_at = json.dumps(read), now
                link = row
        cached = json.loads(link.cache_json) if link.cache_json else {}
        return Elsewhere(
            link.id,
            urlsplit(link.issuer).netloc,
            link.remote_actor or "",
            cached if isinstance(cached, dict) else {},
            link.cached_at,
            problem,
        )

    shown = await asyncio.gather(*(one(link) for link in links))
    return [item for item in shown if item is not None]
