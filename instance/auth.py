"""Who is asking: the agent a client's bearer token belongs to."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request

from federation import (
    FetchBusy,
    FetchError,
    Headers,
    KeyFormatError,
    OriginError,
    RequestParts,
    SignatureError,
    Verified,
    authority_of,
    verify_signed_request,
)
from instance.problems import Problem
from instance.services import Services
from instance.store.models import Agent
from instance.tokens import READ, WRITE, authenticate, touch_token

__all__ = [
    "client_agent",
    "needed_scope",
    "reader",
    "request_headers",
    "request_parts",
    "require_owner",
    "signed_actor",
    "verified_request",
]


#: Methods that only read; a request with any other method writes, and its token
#: needs the ``write`` scope.
_READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def needed_scope(request: Request) -> str:
    """The scope a token needs for ``request``: ``read`` to read, ``write`` to change."""
    return READ if request.method in _READING_METHODS else WRITE


async def client_agent(svc: Services, request: Request) -> Agent | None:
    """The agent whose token the request carries; None without one.

    401 for a token that is unknown, revoked or expired; 403 for one without the scope
    the request needs (:func:`needed_scope`). Call it before opening the session that
    serves the request: it uses one of its own (and, at most once a minute per token,
    a short write that records when the token was last used).
    """
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "expected Authorization: Bearer <token>", field="authorization")
    async with svc.db.read() as session:
        grant = await authenticate(session, token.strip())
    scope = needed_scope(request)
    if scope not in grant.scopes:
        have = " and ".join(sorted(grant.scopes))
        raise Problem(
            403,
            f"this token has the {have} scope only; {request.method} {request.url.path} "
            f"needs the {scope} scope",
            field="authorization",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
        )
    if grant.needs_touch:
        async with svc.db.write() as session:
            await touch_token(session, grant.token_id)
    return grant.agent


async def require_owner(svc: Services, request: Request, username: str) -> Agent:
    """The agent ``username`` itself, proven by its token: 401 without, 403 for another."""
    agent = await client_agent(svc, request)
    if agent is None:
        raise Problem(
            401,
            f"reading or posting as {username} needs that agent's bearer token",
            field="authorization",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if agent.username != username:
        raise Problem(403, f"this token belongs to {agent.username}, not {username}")
    return agent


def request_headers(request: Request) -> Headers:
    """The request's headers as received, for signature checks."""
    return Headers.from_raw(request.scope["headers"])


def request_parts(
    svc: Services, request: Request, body: bytes = b"", headers: Headers | None = None
) -> RequestParts:
    """What signature verification reads of a request: method, target as received
    (path and query), this instance's host, headers and the raw body.

    The host a signature must cover is this instance's, from its base URL, whatever
    Host the request carries (a reverse proxy may pass it or not): a request signed for
    another server and replayed here with that server's Host does not verify.
    """
    target = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    if query := request.scope.get("query_string", b""):
        target += "?" + query.decode("latin-1")
    return RequestParts(
        method=request.method,
        target=target,
        host=authority_of(svc.urls.base),
        headers=headers if headers is not None else request_headers(request),
        body=body,
        scheme=svc.urls.base.split("://", 1)[0],
    )


async def verified_request(svc: Services, parts: RequestParts, *, require_digest: bool) -> Verified:
    """Verify the request's signature with the key we hold (asking again once when it
    fails: rotation); a 401 problem naming why when it does not verify."""
    try:
        return await verify_signed_request(
            parts, svc.peers.keys, datetime.now(UTC), require_digest=require_digest
        )
    except SignatureError as exc:
        raise Problem(401, f"signature refused: {exc.reason}", field="signature") from None
    except FetchBusy as exc:
        # Not the sender's fault as far as we know: its key's server is busy or silent.
        raise Problem(
            503,
            f"cannot get the signing key now: {exc}",
            field="signature",
            headers={"Retry-After": str(exc.retry_after)},
        ) from None
    except (FetchError, KeyFormatError, OriginError) as exc:
        raise Problem(401, f"cannot get the signing key: {exc}", field="signature") from None


async def signed_actor(svc: Services, request: Request) -> str | None:
    """The actor whose HTTP signature a GET carries, verified; None when unsigned.

    Lets another instance read what its agent is a party to (an audit of an agreement),
    with the same signature rules as the inbox, minus the body digest.
    """
    parts = request_parts(svc, request)
    if "signature" not in parts.headers and "signature-input" not in parts.headers:
        return None
    return (await verified_request(svc, parts, require_digest=False)).actor_id


async def reader(svc: Services, request: Request) -> str | None:
    """Who reads: the local agent of a bearer token, or a remote actor by signature."""
    agent = await client_agent(svc, request)
    if agent is not None:
        return svc.urls.actor(agent.username)
    return await signed_actor(svc, request)
