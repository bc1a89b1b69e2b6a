"""OAuth 2.0 for client applications: metadata, registration, consent, PKCE, tokens,
refresh, revocation, and every refusal (in-process, SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select, update

from instance.agents import create_agent
from instance.store.models import Agent, OAuthClient, OAuthCode, Token, utcnow
from instance.web.app.sessions import COOKIE, open_session
from instance.web.routes.account import safe_next
from tests.harness import Running, make_settings, running
from tests.web.signing import PASSWORD, add_person, form_token, page_token


@pytest.fixture
async def site(database_url: str) -> AsyncIterator[Running]:
    """An instance at https://a.test with alice, and no password (Argon2 takes about
    a second here; signing in with one is tested where it matters)."""
    async with running(make_settings(database_url)) as started:
        async with started.services.db.write() as session:
            await create_agent(session, "alice", name="Alice")
        yield started


async def sign_in(site: Running, username: str) -> None:
    """A session as signing in opens it (the sign-in form is tested in test_signin.py)."""
    async with site.services.db.write() as session:
        agent = await session.scalar(select(Agent).where(Agent.username == username))
        assert agent is not None
        secret, _ = await open_session(session, agent, address="127.0.0.1", user_agent="test")
    site.client.cookies.set(COOKIE, secret, domain="a.test")


HTML = {"Accept": "text/html"}
APP = "https://app.example/callback"
ALICE = "https://a.test/agents/alice"
NOTE = {"type": "Note", "content": "hello", "to": ["https://www.w3.org/ns/activitystreams#Public"]}


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def register(site: Running, **metadata: Any) -> httpx.Response:
    document = {"client_name": "Tusk", "redirect_uris": [APP], **metadata}
    return await site.client.post("/oauth/register", json=document)


async def public_client(site: Running, **metadata: Any) -> str:
    answer = await register(site, token_endpoint_auth_method="none", **metadata)
    assert answer.status_code == 201, answer.text
    client_id: str = answer.json()["client_id"]
    return client_id


def authorize_query(client_id: str, challenge: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": APP,
        "scope": "read write",
        "state": "xyz",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }


async def consent(site: Running, query: dict[str, str], decision: str = "allow") -> dict[str, str]:
    """Open the consent page as the signed-in person and answer it; the redirect's
    query parameters."""
    page = await site.client.get("/oauth/authorize", params=query, headers=HTML)
    assert page.status_code == 200, page.text
    fields = {**query, "csrf": form_token(page.text), "decision": decision}
    answer = await site.client.post("/oauth/authorize", data=fields)
    assert answer.status_code == 303, answer.text
    target = answer.headers["location"]
    assert target.startswith(APP + "?")
    return {name: values[0] for name, values in parse_qs(urlsplit(target).query).items()}


async def code_for(site: Running, client_id: str, scope: str = "read write") -> tuple[str, str]:
    """A fresh code (alice signed in and allowed) and its verifier."""
    verifier, challenge = pkce()
    back = await consent(site, authorize_query(client_id, challenge, scope=scope))
    assert back["state"] == "xyz"
    assert back["iss"] == "https://a.test"
    return back["code"], verifier


async def exchange(
    site: Running, client: str, code: str, verifier: str, extra: dict[str, str] | None = None
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": APP,
        "client_id": client,
        "code_verifier": verifier,
        **(extra or {}),
    }
    return await site.client.post("/oauth/token", data=data)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/activity+json"}


async def count(site: Running, model: type[Any]) -> int:
    async with site.services.db.read() as session:
        found: int = await session.scalar(select(func.count()).select_from(model)) or 0
        return found


async def test_the_metadata_names_every_endpoint(site: Running) -> None:
    answer = await site.client.get("/.well-known/oauth-authorization-server")
    assert answer.status_code == 200
    meta = answer.json()
    assert meta["issuer"] == "https://a.test"
    assert meta["registration_endpoint"] == "https://a.test/oauth/register"
    assert meta["authorization_endpoint"] == "https://a.test/oauth/authorize"
    assert meta["token_endpoint"] == "https://a.test/oauth/token"
    assert meta["revocation_endpoint"] == "https://a.test/oauth/revoke"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["scopes_supported"] == ["read", "write"]
    assert meta["grant_types_supported"] == ["authorization_code", "refresh_token"]


REGISTRATION_REFUSALS: list[tuple[dict[str, Any], str, str]] = [
    ({"redirect_uris": ["http://app.example/cb"]}, "invalid_redirect_uri", "redirect_uris"),
    ({"redirect_uris": ["https://app.example/cb#x"]}, "invalid_redirect_uri", "redirect_uris"),
    ({"redirect_uris": ["https://u@app.example/cb"]}, "invalid_redirect_uri", "redirect_uris"),
    ({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri", "redirect_uris"),
    ({"redirect_uris": []}, "invalid_redirect_uri", "redirect_uris"),
    (
        {"redirect_uris": [APP + str(n) for n in range(6)]},
        "invalid_redirect_uri",
        "redirect_uris",
    ),
    ({"redirect_uris": ["https://x/" + "a" * 600]}, "invalid_redirect_uri", "redirect_uris"),
    ({"redirect_uris": [APP, APP]}, "invalid_redirect_uri", "redirect_uris"),
    ({"client_name": ""}, "invalid_client_metadata", "client_name"),
    ({"client_name": "x" * 101}, "invalid_client_metadata", "client_name"),
    ({"scope": "read admin"}, "invalid_scope", "scope"),
    (
        {"token_endpoint_auth_method": "private_key_jwt"},
        "invalid_client_metadata",
        "token_endpoint_auth_method",
    ),
    ({"grant_types": ["implicit"]}, "invalid_client_metadata", "grant_types"),
    ({"response_types": ["token"]}, "invalid_client_metadata", "response_types"),
    ({"client_uri": "not a uri"}, "invalid_client_metadata", "client_uri"),
]


async def test_registration_refuses_bad_metadata_and_stores_nothing(site: Running) -> None:
    for metadata, error, field in REGISTRATION_REFUSALS:
        answer = await register(site, **metadata)
        assert answer.status_code == 400, answer.text
        body = answer.json()
        assert (body["error"], body["field"]) == (error, field), metadata
        assert body["error_description"]
    assert await count(site, OAuthClient) == 0


async def test_registration_refuses_what_is_not_bounded_json(site: Running) -> None:
    wrong_media = await site.client.post("/oauth/register", data={"client_name": "x"})
    assert wrong_media.status_code == 415
    assert wrong_media.json()["error"] == "invalid_request"
    not_json = await site.client.post(
        "/oauth/register", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert not_json.json()["error"] == "invalid_client_metadata"
    huge = await register(site, client_uri="https://x.example/", padding="a" * 20_000)
    assert huge.status_code == 413
    assert huge.json()["error"] == "invalid_request"
    assert await count(site, OAuthClient) == 0


async def test_registration_answers_ids_and_a_secret_only_for_confidential_clients(
    site: Running,
) -> None:
    public = await register(
        site, token_endpoint_auth_method="none", redirect_uris=["http://127.0.0.1:9/cb"]
    )
    assert public.status_code == 201
    assert public.headers["cache-control"] == "no-store"
    assert "client_secret" not in public.json()
    assert public.json()["redirect_uris"] == ["http://127.0.0.1:9/cb"]
    confidential = await register(site)
    body = confidential.json()
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["client_secret"]
    async with site.services.db.read() as session:
        stored = await session.scalar(
            select(OAuthClient).where(OAuthClient.client_id == body["client_id"])
        )
    assert stored is not None
    assert stored.secret_digest != body["client_secret"]


async def test_an_unknown_client_or_redirect_uri_is_told_to_the_person_not_redirected(
    site: Running,
) -> None:
    client_id = await public_client(site)
    await sign_in(site, "alice")
    _, challenge = pkce()
    unknown = await site.client.get(
        "/oauth/authorize", params=authorize_query("nobody", challenge), headers=HTML
    )
    assert unknown.status_code == 400
    assert "no application with this client_id" in unknown.text
    for other in (
        APP + "/other",
        "https://app.example/callback?x=1",
        "https://evil.example/callback",
    ):
        wrong = await site.client.get(
            "/oauth/authorize",
            params=authorize_query(client_id, challenge, redirect_uri=other),
            headers=HTML,
        )
        assert wrong.status_code == 400
        assert "location" not in wrong.headers
        assert "exactly" in wrong.text


AUTHORIZATION_REFUSALS: list[tuple[dict[str, str], str]] = [
    ({"code_challenge": ""}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge_method": ""}, "invalid_request"),
    ({"code_challenge": "short"}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"scope": "read admin"}, "invalid_scope"),
]


async def test_a_bad_authorization_request_goes_back_to_the_client_with_its_error(
    site: Running,
) -> None:
    client_id = await public_client(site)
    await sign_in(site, "alice")
    _, challenge = pkce()
    for change, error in AUTHORIZATION_REFUSALS:
        answer = await site.client.get(
            "/oauth/authorize", params=authorize_query(client_id, challenge, **change), headers=HTML
        )
        assert answer.status_code == 303, change
        back = parse_qs(urlsplit(answer.headers["location"]).query)
        assert back["error"] == [error], change
        assert back["state"] == ["xyz"]
    assert await count(site, OAuthCode) == 0


async def test_a_client_registered_for_read_cannot_ask_for_write(site: Running) -> None:
    client_id = await public_client(site, scope="read")
    await sign_in(site, "alice")
    _, challenge = pkce()
    answer = await site.client.get(
        "/oauth/authorize", params=authorize_query(client_id, challenge), headers=HTML
    )
    assert parse_qs(urlsplit(answer.headers["location"]).query)["error"] == ["invalid_scope"]


async def test_signing_in_leads_back_to_the_consent_page(site: Running) -> None:
    await add_person(site, "carol")
    client_id = await public_client(site)
    _, challenge = pkce()
    query = authorize_query(client_id, challenge)
    first = await site.client.get("/oauth/authorize", params=query, headers=HTML)
    assert first.status_code == 303
    assert first.headers["location"].startswith("/login?next=%2Foauth%2Fauthorize%3F")
    login = await site.client.get(first.headers["location"], headers=HTML)
    assert 'name="next" value="/oauth/authorize?' in login.text
    nxt = parse_qs(urlsplit(first.headers["location"]).query)["next"][0]
    signed = await site.client.post(
        "/login",
        data={
            "csrf": form_token(login.text),
            "username": "carol",
            "password": PASSWORD,
            "next": nxt,
        },
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == nxt
    page = await site.client.get(nxt, headers=HTML)
    assert page.status_code == 200
    assert "Allow Tusk to act for you?" in page.text
    assert APP in page.text
    assert "<strong>read</strong>" in page.text
    assert "<strong>write</strong>" in page.text
    # The page's forms may lead to the application's origin, and nowhere else.
    policy = page.headers["content-security-policy"]
    assert policy.endswith("form-action 'self' https://app.example")


def test_sign_in_never_sends_a_person_to_another_site() -> None:
    for elsewhere in ("https://evil.example/", "//evil.example/", "/\\evil.example", "/a\nb", ""):
        assert safe_next(elsewhere) == "/dashboard"
    assert safe_next("/oauth/authorize?client_id=x") == "/oauth/authorize?client_id=x"


async def test_consent_without_the_form_token_gives_no_code(site: Running) -> None:
    client_id = await public_client(site)
    await sign_in(site, "alice")
    _, challenge = pkce()
    query = authorize_query(client_id, challenge)
    refused = await site.client.post("/oauth/authorize", data={**query, "decision": "allow"})
    assert refused.status_code == 403
    assert "location" not in refused.headers
    assert await count(site, OAuthCode) == 0


async def test_deny_sends_access_denied(site: Running) -> None:
    client_id = await public_client(site)
    await sign_in(site, "alice")
    _, challenge = pkce()
    back = await consent(site, authorize_query(client_id, challenge), decision="deny")
    assert back["error"] == "access_denied"
    assert back["state"] == "xyz"
    assert "code" not in back
    assert await count(site, OAuthCode) == 0


async def test_a_code_and_its_verifier_give_a_token_the_api_accepts(site: Running) -> None:
    client_id = await public_client(site)
    await sign_in(site, "alice")
    code, verifier = await code_for(site, client_id)
    wrong = await exchange(site, client_id, code, pkce()[0])
    assert wrong.status_code == 400
    assert wrong.json() | {"error_description": ""} == {
        "error": "invalid_grant",
        "error_description": "",
        "field": "code_verifier",
    }
    answer = await exchange(site, client_id, code, verifier)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    grant = answer.json()
    assert grant["token_type"] == "Bearer"
    assert grant["scope"] == "read write"
    assert grant["expires_in"] == 3600
    posted = await site.client.post(
        f"{ALICE}/outbox", json=NOTE, headers=bearer(grant["access_token"])
    )
    assert posted.status_code == 201, posted.text
    # The code is single-use: a second exchange is refused and revokes the token it gave.
    again = await exchange(site, client_id, code, verifier)
    assert again.json()["error"] == "invalid_grant"
    refused = await site.client.post(
        f"{ALICE}/outbox", json=NOTE, headers=bearer(grant["access_token"])
    )
    assert refused.status_code == 401
    # The person sees the application on the tokens page.
    page = await site.client.get("/app/tokens", headers=HTML)
    assert "Tusk" in page.text
    assert APP in page.text


async def test_a_read_token_cannot_post_to_the_outbox(site: Running) -> None:
    client_id = await public_client(site)
    await sign_in(site, "alice")
    code, verifier = await code_for(site, client_id, scope="read")
    grant = (await exchange(site, client_id, code, verifier)).json()
    assert grant["scope"] == "read"
    read = await site.client.get(f"{ALICE}/outbox", headers=bearer(grant["access_token"]))
    assert read.status_code == 200
    posted = await site.client.post(
        f"{ALICE}/outbox", json=NOTE, headers=bearer(grant["access_token"])
    )
    assert posted.status_code == 403
    assert "write" in posted.json()["detail"]


async def test_the_token_endpoint_refuses_each_wrong_part(site: Running) -> None:
    client_id = await public_client(site)
    other = await public_client(site)
    await sign_in(site, "alice")
    code, verifier = await code_for(site, client_id)
    cases: list[tuple[dict[str, str], int, str, str]] = [
        ({"grant_type": "password"}, 400, "unsupported_grant_type", "grant_type"),
        ({"grant_type": ""}, 400, "invalid_request", "grant_type"),
        ({"client_id": other}, 400, "invalid_grant", "code"),
        ({"client_id": "nobody"}, 401, "invalid_client", "client_id"),
        ({"client_id": ""}, 400, "invalid_request", "client_id"),
        ({"client_secret": "guess"}, 401, "invalid_client", "client_id"),
        ({"code": "not-a-code"}, 400, "invalid_grant", "code"),
        ({"code": ""}, 400, "invalid_request", "code"),
        ({"code_verifier": ""}, 400, "invalid_request", "code_verifier"),
        ({"code_verifier": "short"}, 400, "invalid_request", "code_verifier"),
        ({"code_verifier": "a" * 300}, 400, "invalid_request", "code_verifier"),
        ({"redirect_uri": APP + "/x"}, 400, "invalid_grant", "redirect_uri"),
        ({"redirect_uri": ""}, 400, "invalid_grant", "redirect_uri"),
    ]
    for change, status, error, field in cases:
        answer = await exchange(site, client_id, code, verifier, change)
        assert (answer.status_code, answer.json()["error"], answer.json()["field"]) == (
            status,
            error,
            field,
        ), change
    assert await count(site, Token) == 0
    as_json = await site.client.post("/oauth/token", json={"grant_type": "authorization_code"})
    assert as_json.status_code == 415
    # None of the refusals used the code up.
    assert (await exchange(site, client_id, code, verifier)).status_code == 200


async def test_an_expired_code_is_refused(site: Running) -> None:
    client_id = await public_client(site)
    await sign_in(site, "alice")
    code, verifier = await code_for(site, client_id)
    async with site.services.db.write() as session:
        await session.execute(update(OAuthCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    answer = await exchange(site, client_id, code, verifier)
    assert answer.json()["error_description"] == "the code has expired"


async def test_a_confidential_client_proves_itself_with_its_secret(site: Running) -> None:
    registered = (await register(site)).json()
    client_id, secret = registered["client_id"], registered["client_secret"]
    await sign_in(site, "alice")
    code, verifier = await code_for(site, client_id)
    no_secret = await exchange(site, client_id, code, verifier)
    assert no_secret.status_code == 401
    wrong = httpx.BasicAuth(client_id, "wrong")
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": APP,
        "code_verifier": verifier,
    }
    refused = await site.client.post("/oauth/token", data=data, auth=wrong)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Basic")
    answer = await site.client.post(
        "/oauth/token", data=data, auth=httpx.BasicAuth(client_id, secret)
    )
    assert answer.status_code == 200, answer.text


async def test_refreshing_rotates_both_secrets(site: Running) -> None:
    client_id = await public_client(site)
    await sign_in(site, "alice")
    code, verifier = await code_for(site, client_id)
    first = (await exchange(site, client_id, code, verifier)).json()

    async def refresh(token: str, **extra: str) -> httpx.Response:
        data = {"grant_type": "refresh_token", "refresh_token": token, "client_id": client_id}
        return await site.client.post("/oauth/token", data=data | extra)

    wider = await refresh(first["refresh_token"], scope="read write admin")
    assert wider.json()["error"] == "invalid_scope"
    second = (await refresh(first["refresh_token"], scope="read")).json()
    assert second["scope"] == "read"
    assert (
        await site.client.get(f"{ALICE}/outbox", headers=bearer(first["access_token"]))
    ).status_code == 401
    assert (
        await site.client.get(f"{ALICE}/outbox", headers=bearer(second["access_token"]))
    ).status_code == 200
    stale = await refresh(first["refresh_token"])
    assert stale.json()["error"] == "invalid_grant"
    # A refresh token never works as an access token.
    assert (
        await site.client.get(f"{ALICE}/outbox", headers=bearer(second["refresh_token"]))
    ).status_code == 401
    assert await count(site, Token) == 1


async def test_revocation_by_the_client_and_by_the_person(site: Running) -> None:
    client_id = await public_client(site)
    other = await public_client(site)
    await sign_in(site, "alice")
    code, verifier = await code_for(site, client_id)
    grant = (await exchange(site, client_id, code, verifier)).json()
    # Another client may not revoke it.
    foreign = await site.client.post(
        "/oauth/revoke", data={"token": grant["access_token"], "client_id": other}
    )
    assert foreign.status_code == 400
    assert foreign.json()["error"] == "unauthorized_client"
    missing = await site.client.post("/oauth/revoke", data={"client_id": client_id})
    assert missing.json()["error"] == "invalid_request"
    unknown = await site.client.post(
        "/oauth/revoke", data={"token": "nothing", "client_id": client_id}
    )
    assert unknown.status_code == 200
    revoked = await site.client.post(
        "/oauth/revoke", data={"token": grant["refresh_token"], "client_id": client_id}
    )
    assert revoked.status_code == 200
    assert (
        await site.client.get(f"{ALICE}/outbox", headers=bearer(grant["access_token"]))
    ).status_code == 401
    # The person revokes the whole application from the tokens page.
    code, verifier = await code_for(site, client_id)
    grant = (await exchange(site, client_id, code, verifier)).json()
    token = await page_token(site.client, "/app/tokens")
    done = await site.client.post("/app/tokens", data={"csrf": token, "client_id": client_id})
    assert done.status_code == 303
    assert (
        await site.client.get(f"{ALICE}/outbox", headers=bearer(grant["access_token"]))
    ).status_code == 401
    data = {
        "grant_type": "refresh_token",
        "refresh_token": grant["refresh_token"],
        "client_id": client_id,
    }
    assert (await site.client.post("/oauth/token", data=data)).json()["error"] == "invalid_grant"
    page = await site.client.get("/app/tokens", headers=HTML)
    assert "Tusk" in page.text
    assert "revoked" in page.text
