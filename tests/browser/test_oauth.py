"""OAuth with PKCE in a real Chromium against a real ``oce serve`` on loopback.

An application registers itself (RFC 7591), sends the person's browser to the
authorization endpoint; the person signs in, reads the consent page and allows; the
browser lands on the application's loopback redirect URI (a real HTTP server) with a
code, which the application exchanges with its verifier (a wrong verifier is refused)
for a token that posts to the outbox. The person then revokes the application on
/app/tokens, and the token is refused.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import pytest_asyncio

from tests.browser.axe import axe_source, axe_violations
from tests.browser.browsing import BROWSER_TESTS, TIMEOUT_MS
from tests.databases import SqliteFactory
from tests.e2e.conftest import agent_with_token, post_outbox
from tests.processes import ROOT, Process, free_port, instance_env, serving

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext

pytestmark = BROWSER_TESTS

PASSWORD = "correct horse battery"
NOTE = {
    "type": "Note",
    "content": "posted by an app",
    "to": ["https://www.w3.org/ns/activitystreams#Public"],
}


class _Callback(BaseHTTPRequestHandler):
    """The application's redirect URI: records what arrives, answers a small page."""

    arrived: list[str] = []

    def do_GET(self) -> None:
        self.arrived.append(self.path)
        body = b"<!doctype html><title>Tusk</title><p>Signed in.</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def callback() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server standing for the application's redirect URI."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Callback)
    arrived: list[str] = []
    server.RequestHandlerClass = type("Callback", (_Callback,), {"arrived": arrived})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/callback", arrived
    finally:
        server.shutdown()
        server.server_close()


def _password(server: Process, username: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "instance.cli", "agent", "password", username, "--stdin"],
        env={**os.environ, "PYTHONPATH": str(ROOT), **server.env},
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def sites(
    sqlite_factory: SqliteFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Process, Process]]:
    """Alice on two instances: a at 127.0.0.1, b at localhost (another host name, so
    that the two sign-in cookies do not overwrite each other: cookies ignore ports),
    where she holds 50 kg of bread."""
    axe_source()
    logs: Path = tmp_path_factory.mktemp("oauth")
    other = f"http://localhost:{free_port()}"
    env = instance_env(other, sqlite_factory.new())
    b = Process("b", other, env, logs / "b.log")
    with serving("a", sqlite_factory.new(), logs) as a:
        b.start()
        try:
            a.cli("agent", "create", "alice", "--name", "Alice")
            auth = agent_with_token(b, "alice", name="Alice")
            post_outbox(b, "alice", auth, {
                "type": "EconomicEvent",
                "action": "raise",
                "receiver": f"{other}/agents/alice",
                "resourceConformsTo": "https://www.wikidata.org/wiki/Q7802",
                "resourceQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "50"},
            })  # fmt: skip
            _password(a, "alice")
            _password(b, "alice")
            yield a, b
        finally:
            b.stop()


@pytest.fixture(scope="module")
def site(sites: tuple[Process, Process]) -> Process:
    return sites[0]


@pytest_asyncio.fixture(loop_scope="session")
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    opened = await browser.new_context(
        viewport={"width": 375, "height": 800}, service_workers="block"
    )
    opened.set_default_timeout(TIMEOUT_MS)
    yield opened
    await opened.close()


@pytest.mark.asyncio(loop_scope="session")
async def test_an_application_gets_a_token_by_pkce_and_loses_it_when_revoked(
    site: Process, callback: tuple[str, list[str]], context: BrowserContext
) -> None:
    redirect_uri, arrived = callback
    base = site.base_url
    http = httpx.AsyncClient(timeout=30)
    meta = (await http.get(f"{base}/.well-known/oauth-authorization-server")).json()
    registered = await http.post(
        meta["registration_endpoint"],
        json={
            "client_name": "Tusk",
            "redirect_uris": [redirect_uri],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "read write",
        },
    )
    assert registered.status_code == 201, registered.text
    client_id = registered.json()["client_id"]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    state = secrets.token_urlsafe(8)
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": "read write",
        "state": state,
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    page = await context.new_page()
    # Not signed in: the sign-in page, then straight back to the consent page.
    await page.goto(f"{meta['authorization_endpoint']}?{urlencode(query)}")
    assert urlsplit(page.url).path == "/login"
    await page.get_by_label("Name").fill("alice")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{base}/oauth/authorize?**")
    assert await page.get_by_role("heading", level=1).inner_text() == "Allow Tusk to act for you?"
    words = " ".join((await page.inner_text("main")).split())
    assert redirect_uri in words
    assert "read: read your inbox" in words
    assert "write: post to your outbox" in words
    assert await axe_violations(page) == [], page.url
    await page.get_by_role("button", name="Allow").click()
    await page.wait_for_url(f"{redirect_uri}?**")
    back = parse_qs(urlsplit(page.url).query)
    assert back["state"] == [state]
    assert back["iss"] == [base]
    assert [path for path in arrived if path.startswith("/callback?")] == [
        "/callback?" + urlsplit(page.url).query
    ]
    code = back["code"][0]

    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
    }
    token_url = meta["token_endpoint"]
    wrong = await http.post(
        token_url, data={**exchange, "code_verifier": secrets.token_urlsafe(48)}
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    granted = await http.post(token_url, data={**exchange, "code_verifier": verifier})
    assert granted.status_code == 200, granted.text
    token = granted.json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    outbox = f"{base}/agents/alice/outbox"
    assert (await http.post(outbox, json=NOTE, headers=auth)).status_code == 201

    # The person sees the application and revokes it.
    await page.goto(f"{base}/app/tokens")
    assert "Tusk" in await page.inner_text("main")
    assert await axe_violations(page) == [], page.url
    await page.get_by_role("button", name="Revoke application Tusk").click()
    await page.wait_for_url(f"{base}/app/tokens")
    refused = await http.post(outbox, json=NOTE, headers=auth)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    await page.close()
    await http.aclose()


async def _aliases(http: httpx.AsyncClient, actor: str) -> list[str]:
    answer = await http.get(actor, headers={"Accept": "application/activity+json"})
    found: list[str] = answer.json().get("alsoKnownAs", [])
    return found


@pytest.mark.asyncio(loop_scope="session")
async def test_a_person_links_their_account_on_another_instance(
    sites: tuple[Process, Process], context: BrowserContext
) -> None:
    a, b = sites
    me_a, me_b = f"{a.base_url}/agents/alice", f"{b.base_url}/agents/alice"
    b_host = urlsplit(b.base_url).netloc
    page = await context.new_page()
    await page.goto(f"{a.base_url}/login")
    await page.get_by_label("Name").fill("alice")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{a.base_url}/dashboard")
    await page.goto(f"{a.base_url}/app/links")
    assert await axe_violations(page) == [], page.url
    await page.get_by_label("The other instance's address").fill(b.base_url)
    await page.get_by_role("button", name="Link").click()
    await page.get_by_role("link", name=f"Continue to {b.base_url}").click()
    # On b: sign in (the browser has no session there), then consent.
    await page.wait_for_url(f"{b.base_url}/login?**")
    await page.get_by_label("Name").fill("alice")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{b.base_url}/oauth/authorize?**")
    heading = await page.get_by_role("heading", level=1).inner_text()
    assert heading == f"Allow oce at {urlsplit(a.base_url).netloc} to act for you?"
    assert "read: read your inbox" in await page.inner_text("main")
    assert "write:" not in await page.inner_text("main")
    await page.get_by_role("button", name="Allow").click()
    await page.wait_for_url(f"{a.base_url}/app/links")
    assert me_b in await page.inner_text("main")
    async with httpx.AsyncClient(timeout=30) as http:
        assert await _aliases(http, me_a) == [me_b]
        assert await _aliases(http, me_b) == [me_a]
        # The dashboard on a shows what alice holds on b, labelled by instance.
        await page.goto(f"{a.base_url}/dashboard")
        words = " ".join((await page.inner_text("main")).split())
        assert f"On {b_host}" in words
        assert f"Balances on {b_host}" in words
        assert "50 kg" in words
        assert await axe_violations(page) == [], page.url
        # Unlinking on a revokes the grant on b: neither actor names the other.
        await page.goto(f"{a.base_url}/app/links")
        await page.get_by_role("button", name=f"Unlink {me_b}").click()
        await page.wait_for_url(f"{a.base_url}/app/links")
        assert "No linked instances." in await page.inner_text("main")
        assert await _aliases(http, me_a) == []
        assert await _aliases(http, me_b) == []
    await page.close()
