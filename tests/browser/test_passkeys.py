"""Passkeys in a real Chromium against a real ``oce serve`` at ``localhost`` (WebAuthn
needs a secure context and a domain as relying party id; http://localhost is both).
Chromium's virtual authenticator (DevTools protocol) stands for the device: alice signs
in with her password, adds a passkey, signs out, and signs in with the passkey alone."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from tests.browser.axe import axe_source, axe_violations
from tests.browser.browsing import BROWSER_TESTS, TIMEOUT_MS
from tests.databases import SqliteFactory
from tests.processes import ROOT, Process, free_port, instance_env

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext

pytestmark = BROWSER_TESTS

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def site(
    sqlite_factory: SqliteFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Process]:
    axe_source()
    base = f"http://localhost:{free_port()}"
    server = Process(
        "a", base, instance_env(base, sqlite_factory.new()), tmp_path_factory.mktemp("pk") / "a.log"
    )
    server.start()
    try:
        server.cli("agent", "create", "alice", "--name", "Alice")
        done = subprocess.run(
            [sys.executable, "-m", "instance.cli", "agent", "password", "alice", "--stdin"],
            env={**os.environ, "PYTHONPATH": str(ROOT), **server.env},
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    opened = await browser.new_context(service_workers="block")
    opened.set_default_timeout(TIMEOUT_MS)
    yield opened
    await opened.close()


@pytest.mark.asyncio(loop_scope="session")
async def test_a_person_adds_a_passkey_and_signs_in_with_it(
    site: Process, context: BrowserContext
) -> None:
    base = site.base_url
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    added = await cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    authenticator = added["authenticatorId"]

    await page.goto(f"{base}/login?next=/app/passkeys")
    await page.get_by_label("Name").fill("alice")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.wait_for_url(f"{base}/app/passkeys")
    assert "No passkeys yet." in await page.inner_text("main")
    assert await axe_violations(page) == [], page.url
    await page.get_by_label("A name for it").fill("This laptop")
    await page.get_by_role("button", name="Add a passkey").click()
    await page.get_by_role("button", name="Remove This laptop").wait_for()
    stored = await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(stored["credentials"]) == 1
    assert stored["credentials"][0]["isResidentCredential"] is True
    assert stored["credentials"][0]["rpId"] == "localhost"

    await page.goto(f"{base}/dashboard")
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(f"{base}/login")
    assert not [c for c in await context.cookies() if c["name"] == "oce_session"]

    assert "Or sign in with a passkey" in await page.inner_text("main")
    assert await axe_violations(page) == [], page.url
    await page.get_by_role("button", name="Use a passkey").click()
    await page.wait_for_url(f"{base}/dashboard")
    assert "@alice@localhost" in await page.inner_text("body")
    cookie = [c for c in await context.cookies() if c["name"] == "oce_session"]
    assert cookie
    assert cookie[0]["httpOnly"]
    assert cookie[0]["sameSite"] == "Lax"
    after = await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert after["credentials"][0]["signCount"] >= 1
    await page.close()
