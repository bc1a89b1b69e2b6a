"""OAuth 2.0 authorization server: client applications get tokens without the CLI.

What is served (the HTTP side is :mod:`instance.web.routes.oauth`):

- RFC 8414 metadata, RFC 7591 dynamic registration of clients (public ones, with
  ``token_endpoint_auth_method`` ``none``, and confidential ones with a secret);
- the authorization code grant (RFC 6749 §4.1) with PKCE (RFC 7636), ``S256`` only and
  always required; redirect URIs compared exactly, https or http on loopback only;
- codes: single use (a second use also revokes the token the first one gave), two
  minutes, bound to the client, the redirect URI, the person and the challenge;
- tokens: rows of the existing token store (:mod:`instance.tokens`) marked with the
  client's id, so the API's scope checks apply unchanged; an access token lives an
  hour, its refresh token renews it (rotating both) until revoked;
- revocation (RFC 7009) of either secret, by the client; the person revokes a whole
  application from ``/app/tokens``.

Authlib supplies the RFC pieces that are pure functions: the S256 transform and the
verifier's grammar (``authlib.oauth2.rfc7636``), the registered client metadata claims
(``authlib.oauth2.rfc7591``). Its server classes are synchronous and made for Flask and
Django, so the request handling here is our own, on the async store.

Every refusal is an :class:`OAuthError`: the RFC 6749 ``error`` code, a sentence, and
the field it concerns.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from authlib.oauth2.rfc7591 import ClientMetadataClaims
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oauth2.rfc7636.challenge import CODE_VERIFIER_PATTERN
from joserfc.errors import JoseError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from instance.store.models import Agent, OAuthClient, OAuthCode, Token, utcnow
from instance.tokens import SCOPES, create_token, token_digest, token_state
from instance.urls import Urls

__all__ = [
    "ACCESS_LIFETIME",
    "CODE_LIFETIME",
    "AuthorizationRequest",
    "CodeReused",
    "OAuthError",
    "Unredirectable",
    "applications",
    "authenticate_client",
    "authorization_request",
    "exchange_code",
    "issue_code",
    "metadata",
    "redirect_with",
    "refresh",
    "register_client",
    "revoke",
    "revoke_application",
    "revoke_reused",
]

CODE_LIFETIME = timedelta(minutes=2)
ACCESS_LIFETIME = timedelta(hours=1)
MAX_REDIRECT_URIS = 5
MAX_URI = 512
MAX_NAME = 100
MAX_STATE = 500
#: Every other parameter of a request (codes, verifiers, ids, secrets) fits in this.
MAX_PARAMETER = 200
AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post")
GRANT_TYPES = ("authorization_code", "refresh_token")
_REFRESH_PREFIX = "ocer_"
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
_LOOPBACK_NAMES = frozenset({"localhost"})


class OAuthError(Exception):
    """A refusal as RFC 6749 words it (``error``, ``error_description``), plus the
    field it concerns."""

    def __init__(
        self,
        error: str,
        description: str,
        *,
        field: str | None = None,
        status: int = 400,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.field = field
        self.status = status
        self.headers = dict(headers or {})
        #: Where an authorization request's refusal is sent back to, with its state.
        self.redirect_uri: str | None = None
        self.state = ""

    def body(self) -> dict[str, str]:
        found = {"error": self.error, "error_description": self.description}
        if self.field:
            found["field"] = self.field
        return found


class Unredirectable(OAuthError):
    """An authorization request whose client or redirect URI cannot be trusted: the
    person is told, and nothing is sent to the redirect URI (RFC 6749 §4.1.2.1)."""


class CodeReused(OAuthError):
    """A code presented a second time. Someone else may hold it: the token the first
    exchange gave is revoked (:func:`revoke_reused`, in a transaction of its own, since
    the refusal rolls back the request's)."""

    def __init__(self, token_id: int | None) -> None:
        super().__init__(
            "invalid_grant", "the code was already used; the token it gave is revoked", field="code"
        )
        self.token_id = token_id


async def revoke_reused(session: AsyncSession, reused: CodeReused) -> None:
    if reused.token_id is not None:
        await session.execute(
            update(Token)
            .where(Token.id == reused.token_id, Token.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def metadata(urls: Urls) -> dict[str, Any]:
    """The RFC 8414 authorization server metadata."""
    base = urls.base
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "registration_endpoint": f"{base}/oauth/register",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
    }


# Registration (RFC 7591) ------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_redirect_uri(uri: object) -> str:
    """An absolute https URI, or http on a loopback address; no fragment, no user."""
    if not isinstance(uri, str) or not uri or len(uri) > MAX_URI:
        raise OAuthError(
            "invalid_redirect_uri",
            f"each redirect URI is a string of at most {MAX_URI} characters",
            field="redirect_uris",
        )
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        raise OAuthError(
            "invalid_redirect_uri", f"{uri!r} is not a URI", field="redirect_uris"
        ) from None
    if not host or parts.fragment or "#" in uri or "@" in parts.netloc:
        raise OAuthError(
            "invalid_redirect_uri",
            f"{uri!r}: a redirect URI is absolute, with a host, no user and no fragment",
            field="redirect_uris",
        )
    if any(ch.isspace() or ord(ch) < 33 or ch in "'\"<>\\;," for ch in uri):
        raise OAuthError(
            "invalid_redirect_uri", f"{uri!r} has characters a URI cannot", field="redirect_uris"
        )
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(host)):
        return uri
    raise OAuthError(
        "invalid_redirect_uri",
        f"{uri!r}: redirect URIs are https, or http only on a loopback address "
        "(127.0.0.1, [::1], localhost)",
        field="redirect_uris",
    )


def _listed(document: Mapping[str, Any], name: str, allowed: Sequence[str]) -> list[str]:
    value = document.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 5 or not all(isinstance(v, str) for v in value):
        raise OAuthError("invalid_client_metadata", f"{name} is a list of strings", field=name)
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise OAuthError(
            "invalid_client_metadata",
            f"{name} may hold {', '.join(allowed)}, not {', '.join(unknown)}",
            field=name,
        )
    return list(value)


def _scope_of(text: object, allowed: str, field: str = "scope") -> str:
    """Scopes in the store's order, each known and within ``allowed``."""
    if not isinstance(text, str) or len(text) > MAX_PARAMETER:
        raise OAuthError("invalid_scope", "scope is a space-separated string", field=field)
    wanted = set(text.split())
    unknown = sorted(wanted - set(allowed.split()))
    if not wanted or unknown:
        raise OAuthError(
            "invalid_scope",
            f"scope may hold {' and '.join(allowed.split())}, not {' '.join(unknown) or 'nothing'}",
            field=field,
        )
    return " ".join(scope for scope in SCOPES if scope in wanted)


def _validated_by_authlib(document: Mapping[str, Any], urls: Urls) -> None:
    """Authlib's checks of the RFC 7591 claims (URIs, contacts, grant and response
    types against our metadata)."""
    options = ClientMetadataClaims.get_claims_options(metadata(urls))
    claims = ClientMetadataClaims(dict(document), {}, options)
    try:
        claims.validate()
    except JoseError as exc:
        name = getattr(exc, "claim", None) or "metadata"
        raise OAuthError(
            "invalid_client_metadata", f"{name} is not acceptable: {exc}", field=str(name)
        ) from None


async def register_client(
    session: AsyncSession, document: Mapping[str, Any], urls: Urls
) -> dict[str, Any]:
    """Register a client from its RFC 7591 metadata; the answer (201) carries its id
    and, for a confidential client, its secret (shown once; we keep a digest)."""
    uris = document.get("redirect_uris")
    if not isinstance(uris, list) or not uris or len(uris) > MAX_REDIRECT_URIS:
        raise OAuthError(
            "invalid_redirect_uri",
            f"redirect_uris is a list of 1 to {MAX_REDIRECT_URIS} URIs",
            field="redirect_uris",
        )
    redirect_uris = [check_redirect_uri(uri) for uri in uris]
    if len(set(redirect_uris)) != len(redirect_uris):
        raise OAuthError(
            "invalid_redirect_uri", "redirect_uris lists one URI twice", field="redirect_uris"
        )
    name = document.get("client_name", "")
    if not isinstance(name, str) or len(name.strip()) > MAX_NAME or not name.strip():
        raise OAuthError(
            "invalid_client_metadata",
            f"client_name is the application's name, 1 to {MAX_NAME} characters",
            field="client_name",
        )
    if any(ord(ch) < 32 for ch in name):
        raise OAuthError(
            "invalid_client_metadata", "client_name has control characters", field="client_name"
        )
    method = document.get("token_endpoint_auth_method", "client_secret_basic")
    if method not in AUTH_METHODS:
        raise OAuthError(
            "invalid_client_metadata",
            f"token_endpoint_auth_method is one of {', '.join(AUTH_METHODS)}",
            field="token_endpoint_auth_method",
        )
    grant_types = _listed(document, "grant_types", GRANT_TYPES) or ["authorization_code"]
    response_types = _listed(document, "response_types", ("code",)) or ["code"]
    scope = _scope_of(document.get("scope", " ".join(SCOPES)), " ".join(SCOPES))
    for key in ("client_uri", "logo_uri", "tos_uri", "policy_uri", "software_id"):
        value = document.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > MAX_URI):
            raise OAuthError(
                "invalid_client_metadata",
                f"{key} is a string of at most {MAX_URI} characters",
                field=key,
            )
    _validated_by_authlib(
        {k: v for k, v in document.items() if k in ClientMetadataClaims.REGISTERED_CLAIMS}, urls
    )
    client_id = secrets.token_urlsafe(24)
    secret = None if method == "none" else secrets.token_urlsafe(32)
    now = utcnow()
    answer: dict[str, Any] = {
        "client_id": client_id,
        "client_id_issued_at": int(now.timestamp()),
        "client_name": name.strip(),
        "redirect_uris": redirect_uris,
        "grant_types": grant_types,
        "response_types": response_types,
        "token_endpoint_auth_method": method,
        "scope": scope,
    }
    for key in ("client_uri", "logo_uri", "tos_uri", "policy_uri", "software_id"):
        if isinstance(document.get(key), str):
            answer[key] = document[key]
    session.add(
        OAuthClient(
            client_id=client_id,
            secret_digest=_digest(secret) if secret else None,
            name=name.strip(),
            redirect_uris="\n".join(redirect_uris),
            scope=scope,
            metadata_json=json.dumps(answer),
            created_at=now,
        )
    )
    await session.flush()
    if secret:
        answer |= {"client_secret": secret, "client_secret_expires_at": 0}
    return answer


# Authorization (RFC 6749 §4.1, RFC 7636) --------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A checked authorization request, ready to be shown for consent."""

    client: OAuthClient
    redirect_uri: str
    scope: str
    state: str
    challenge: str

    def hidden_fields(self) -> dict[str, str]:
        """What the consent form posts back (checked again when it arrives)."""
        return {
            "response_type": "code",
            "client_id": self.client.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": self.state,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
        }


def _parameter(params: Mapping[str, str], name: str, limit: int = MAX_PARAMETER) -> str:
    value = params.get(name, "")
    if len(value) > limit:
        raise OAuthError("invalid_request", f"{name} is longer than {limit} characters", field=name)
    return value


async def _client(session: AsyncSession, client_id: str) -> OAuthClient | None:
    if not client_id or len(client_id) > 64:
        return None
    return await session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))


async def authorization_request(
    session: AsyncSession, params: Mapping[str, str]
) -> AuthorizationRequest:
    """Check an authorization request. :class:`Unredirectable` when the client or the
    redirect URI is wrong (tell the person); :class:`OAuthError` otherwise, to be sent
    back to the redirect URI (:func:`redirect_with`)."""
    client_id = params.get("client_id", "")
    client = await _client(session, client_id)
    if client is None:
        raise Unredirectable(
            "invalid_request", "there is no application with this client_id", field="client_id"
        )
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uris.split("\n"):
        raise Unredirectable(
            "invalid_request",
            f"redirect_uri must be one that {client.name} registered, exactly",
            field="redirect_uri",
        )
    state = _parameter(params, "state", MAX_STATE)
    try:
        if params.get("response_type") != "code":
            raise OAuthError(
                "unsupported_response_type",
                "response_type must be code",
                field="response_type",
            )
        challenge = _parameter(params, "code_challenge")
        if not challenge:
            raise OAuthError(
                "invalid_request", "code_challenge is required (PKCE)", field="code_challenge"
            )
        if params.get("code_challenge_method") != "S256":
            raise OAuthError(
                "invalid_request",
                "code_challenge_method must be S256",
                field="code_challenge_method",
            )
        if not _CHALLENGE.fullmatch(challenge):
            raise OAuthError(
                "invalid_request",
                "code_challenge is BASE64URL(SHA-256(code_verifier)): 43 characters",
                field="code_challenge",
            )
        scope = _scope_of(params.get("scope") or client.scope, client.scope)
    except OAuthError as exc:
        exc.redirect_uri, exc.state = redirect_uri, state
        raise
    return AuthorizationRequest(client, redirect_uri, scope, state, challenge)


def redirect_with(redirect_uri: str, values: Mapping[str, str]) -> str:
    """``redirect_uri`` with ``values`` added to its query (kept in their order)."""
    kept = {name: value for name, value in values.items() if value}
    joiner = "&" if urlsplit(redirect_uri).query else "?"
    return redirect_uri + joiner + urlencode(kept)


async def issue_code(session: AsyncSession, request: AuthorizationRequest, agent: Agent) -> str:
    """A new code for what ``agent`` has just allowed."""
    code = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        OAuthCode(
            digest=_digest(code),
            client_id=request.client.client_id,
            agent_id=agent.id,
            redirect_uri=request.redirect_uri,
            scope=request.scope,
            challenge=request.challenge,
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    )
    await session.flush()
    return code


# The token endpoint -------------------------------------------------------------------


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or len(encoded) > 600:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except ValueError:
        return None
    name, colon, secret = decoded.partition(":")
    return (unquote(name), unquote(secret)) if colon else None


def _invalid_client(why: str, basic: bool) -> OAuthError:
    return OAuthError(
        "invalid_client",
        why,
        field="client_id",
        status=401,
        headers={"WWW-Authenticate": 'Basic realm="oauth"'} if basic else None,
    )


async def authenticate_client(
    session: AsyncSession, form: Mapping[str, str], authorization: str | None
) -> OAuthClient:
    """The client making a token or revocation request: by HTTP Basic or the form's
    ``client_id`` (and ``client_secret``); a public client by its id alone."""
    basic = _basic_credentials(authorization) if authorization else None
    if authorization and basic is None:
        raise _invalid_client("the Authorization header is not client credentials", True)
    client_id, secret = basic or (
        _parameter(form, "client_id"),
        _parameter(form, "client_secret"),
    )
    if not client_id:
        raise OAuthError("invalid_request", "client_id is required", field="client_id")
    client = await _client(session, client_id)
    if client is None:
        raise _invalid_client("there is no application with this client_id", basic is not None)
    if client.secret_digest is None:
        if secret:
            raise _invalid_client("this public client has no secret", basic is not None)
        return client
    if not secret or not hmac.compare_digest(client.secret_digest, _digest(secret)):
        raise _invalid_client("the client secret is not right", basic is not None)
    return client


def _token_answer(access: str, refresh_token: str, scope: str) -> dict[str, Any]:
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": int(ACCESS_LIFETIME.total_seconds()),
        "refresh_token": refresh_token,
        "scope": scope,
    }


def _new_refresh() -> str:
    return _REFRESH_PREFIX + secrets.token_urlsafe(32)


async def exchange_code(
    session: AsyncSession, client: OAuthClient, form: Mapping[str, str], urls: Urls
) -> dict[str, Any]:
    """The authorization code grant: the code, its redirect URI and the PKCE verifier
    in, a bearer token (and a refresh token) out, with the actor it acts for (an
    additional member, RFC 6749 §5.1)."""
    code = _parameter(form, "code")
    verifier = _parameter(form, "code_verifier")
    redirect_uri = _parameter(form, "redirect_uri", MAX_URI)
    if not code:
        raise OAuthError("invalid_request", "code is required", field="code")
    if not verifier:
        raise OAuthError(
            "invalid_request", "code_verifier is required (PKCE)", field="code_verifier"
        )
    if not CODE_VERIFIER_PATTERN.fullmatch(verifier):
        raise OAuthError(
            "invalid_request",
            "code_verifier is 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
            field="code_verifier",
        )
    row = await session.scalar(select(OAuthCode).where(OAuthCode.digest == _digest(code)))
    if row is None or row.client_id != client.client_id:
        raise OAuthError("invalid_grant", "the code is not valid", field="code")
    if row.used_at is not None:
        raise CodeReused(row.token_id)
    if row.expires_at <= utcnow():
        raise OAuthError("invalid_grant", "the code has expired", field="code")
    if redirect_uri != row.redirect_uri:
        raise OAuthError(
            "invalid_grant",
            "redirect_uri is not the one of the authorization request",
            field="redirect_uri",
        )
    if not hmac.compare_digest(create_s256_code_challenge(verifier), row.challenge):
        raise OAuthError(
            "invalid_grant",
            "code_verifier does not match the code_challenge",
            field="code_verifier",
        )
    claimed = await session.execute(
        update(OAuthCode)
        .where(OAuthCode.id == row.id, OAuthCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise OAuthError("invalid_grant", "the code was already used", field="code")
    agent = await session.get(Agent, row.agent_id)
    if agent is None:
        raise OAuthError("invalid_grant", "the person who allowed this is gone", field="code")
    refresh_token = _new_refresh()
    access = await create_token(
        session,
        agent,
        client.name,
        scopes=row.scope.split(),
        expires_at=utcnow() + ACCESS_LIFETIME,
        client_id=client.client_id,
        refresh_digest=_digest(refresh_token),
    )
    row.token_id = await session.scalar(
        select(Token.id).where(Token.digest == token_digest(access))
    )
    return _token_answer(access, refresh_token, row.scope) | {"actor": urls.actor(agent.username)}


async def refresh(
    session: AsyncSession, client: OAuthClient, form: Mapping[str, str]
) -> dict[str, Any]:
    """The refresh token grant: a new access token and a new refresh token, in the
    same row (the old ones stop working at once)."""
    presented = _parameter(form, "refresh_token")
    if not presented:
        raise OAuthError("invalid_request", "refresh_token is required", field="refresh_token")
    row = await session.scalar(select(Token).where(Token.refresh_digest == _digest(presented)))
    if row is None or row.client_id != client.client_id or row.revoked_at is not None:
        raise OAuthError("invalid_grant", "the refresh token is not valid", field="refresh_token")
    scope = row.scope
    if form.get("scope"):
        scope = _scope_of(form["scope"], row.scope)
    access = "oce_" + secrets.token_urlsafe(32)
    refresh_token = _new_refresh()
    row.digest = token_digest(access)
    row.refresh_digest = _digest(refresh_token)
    row.scope = scope
    row.expires_at = utcnow() + ACCESS_LIFETIME
    await session.flush()
    return _token_answer(access, refresh_token, scope)


async def revoke(session: AsyncSession, client: OAuthClient, form: Mapping[str, str]) -> None:
    """RFC 7009: revoke the grant an access or a refresh token belongs to. An unknown
    token is no error (there is nothing left to revoke)."""
    presented = _parameter(form, "token")
    if not presented:
        raise OAuthError("invalid_request", "token is required", field="token")
    digest = _digest(presented)
    row = await session.scalar(
        select(Token).where((Token.digest == digest) | (Token.refresh_digest == digest))
    )
    if row is None:
        return
    if row.client_id != client.client_id:
        raise OAuthError(
            "unauthorized_client", "this token was not issued to this client", field="token"
        )
    if row.revoked_at is None:
        row.revoked_at = utcnow()


# What a person sees and revokes -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Application:
    """A client application that holds (or held) tokens of a person."""

    client_id: str
    name: str
    redirect_uris: list[str]
    scope: str
    active: int
    last_used: Any


async def applications(session: AsyncSession, agent: Agent) -> list[Application]:
    """The applications ``agent`` has allowed, with how many live tokens each holds."""
    rows = (
        await session.execute(
            select(Token, OAuthClient)
            .join(OAuthClient, OAuthClient.client_id == Token.client_id)
            .where(Token.agent_id == agent.id)
            .order_by(Token.id)
        )
    ).all()
    found: dict[str, Application] = {}
    now = utcnow()
    for token, client in rows:
        live = token.revoked_at is None and (
            token_state(token, now) == "active" or token.refresh_digest is not None
        )
        before = found.get(client.client_id)
        scopes = set(before.scope.split()) if before else set()
        if live:
            scopes |= set(token.scope.split())
        last = max(
            (t for t in (before.last_used if before else None, token.last_used_at) if t),
            default=None,
        )
        found[client.client_id] = Application(
            client.client_id,
            client.name,
            client.redirect_uris.split("\n"),
            " ".join(s for s in SCOPES if s in scopes),
            (before.active if before else 0) + int(live),
            last,
        )
    return list(found.values())


async def revoke_application(session: AsyncSession, agent: Agent, client_id: str) -> int:
    """Revoke every token ``agent`` gave ``client_id``, and its unused codes; how many
    tokens were live."""
    now = utcnow()
    result = await session.execute(
        update(Token)
        .where(
            Token.agent_id == agent.id,
            Token.client_id == client_id,
            Token.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    await session.execute(
        update(OAuthCode)
        .where(
            OAuthCode.agent_id == agent.id,
            OAuthCode.client_id == client_id,
            OAuthCode.used_at.is_(None),
        )
        .values(used_at=now)
    )
    count: int = result.rowcount  # type: ignore[attr-defined]
    return count
