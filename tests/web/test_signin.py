"""Signing in and out: password, cookie, rotation, revocation, CSRF and the lockout."""

from __future__ import annotations

import subprocess
import sys

import httpx
from sqlalchemy import func, select

from instance.store.models import LoginThrottle, WebSession
from instance.web.app import throttle
from instance.web.app.sessions import COOKIE
from tests.harness import Running
from tests.processes import ROOT
from tests.web.signing import PASSWORD, form_token, page_token, sign_in

HTML = {"Accept": "text/html"}


async def _sessions(site: Running) -> list[WebSession]:
    async with site.services.db.read() as session:
        return list(await session.scalars(select(WebSession).order_by(WebSession.id)))


async def test_signing_in_sets_a_strict_cookie_and_opens_the_dashboard(site: Running) -> None:
    answer = await sign_in(site.client, "alice")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" in cookie  # the base URL is https
    dashboard = await site.client.get("/dashboard", headers=HTML)
    assert dashboard.status_code == 200
    assert "@alice@a.test" in dashboard.text
    # Only a digest of the cookie is stored.
    secret = site.client.cookies[COOKIE]
    assert all(secret not in row.digest for row in await _sessions(site))


async def test_a_wrong_name_and_a_wrong_password_read_the_same(site: Running) -> None:
    wrong_password = await sign_in(site.client, "alice", "not the password")
    wrong_name = await sign_in(site.client, "nobody", PASSWORD)
    assert wrong_password.status_code == wrong_name.status_code == 401
    for page in (wrong_password.text, wrong_name.text):
        assert "The name or the password is not right." in page
    assert COOKIE not in site.client.cookies
    assert (await site.client.get("/dashboard", headers=HTML)).status_code == 303


async def test_signing_in_again_rotates_the_session(site: Running) -> None:
    await sign_in(site.client, "alice")
    first = site.client.cookies[COOKIE]
    await sign_in(site.client, "alice")
    second = site.client.cookies[COOKIE]
    assert first != second
    rows = await _sessions(site)
    assert [row.revoked_at is not None for row in rows] == [True, False]
    async with httpx.AsyncClient(transport=site.client._transport, base_url="https://a.test") as c:
        c.cookies.set(COOKIE, first, domain="a.test")
        assert (await c.get("/dashboard", headers=HTML)).status_code == 303


async def test_signing_out_ends_the_session_on_the_server(site: Running) -> None:
    await sign_in(site.client, "alice")
    secret = site.client.cookies[COOKIE]
    token = await page_token(site.client)
    answer = await site.client.post("/logout", data={"csrf": token})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login"
    # Even a browser that kept the cookie is signed out.
    site.client.cookies.set(COOKIE, secret, domain="a.test")
    assert (await site.client.get("/dashboard", headers=HTML)).status_code == 303
    assert (await _sessions(site))[0].revoked_at is not None


async def test_a_post_without_the_form_token_is_refused_and_changes_nothing(
    site: Running,
) -> None:
    page = await site.client.get("/login", headers=HTML)
    refused = await site.client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert refused.status_code == 403
    assert "did not come from this site" in refused.text
    forged = await site.client.post(
        "/login", data={"csrf": "x" * 43, "username": "alice", "password": PASSWORD}
    )
    assert forged.status_code == 403
    assert await _sessions(site) == []
    assert form_token(page.text)  # the genuine form does carry one
    await sign_in(site.client, "alice")
    refused_logout = await site.client.post("/logout", data={})
    assert refused_logout.status_code == 403
    assert (await site.client.get("/dashboard", headers=HTML)).status_code == 200


async def test_failed_sign_ins_lock_the_account_for_a_bounded_time(site: Running) -> None:
    for _ in range(throttle.ACCOUNT.free):
        assert (await sign_in(site.client, "alice", "guess")).status_code == 401
    assert (await sign_in(site.client, "alice", "guess")).status_code == 401  # now locked
    locked = await sign_in(site.client, "alice", PASSWORD)  # even the right password waits
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.text
    assert 1 <= int(locked.headers["retry-after"]) <= throttle.MAX_LOCK.total_seconds()
    assert COOKIE not in site.client.cookies
    # Another account from the same address is not locked by alice's failures.
    assert (await sign_in(site.client, "bob")).status_code == 303
    async with site.services.db.read() as session:
        row = await session.get(LoginThrottle, "account:alice")
        assert row is not None
        assert row.locked_until is not None
        assert row.locked_until - row.window_start <= throttle.MAX_LOCK


async def test_an_address_is_slowed_across_accounts(site: Running) -> None:
    for n in range(throttle.ADDRESS.free + 1):
        await sign_in(site.client, f"name{n}", "guess")
    assert (await sign_in(site.client, "bob")).status_code == 429
    async with site.services.db.read() as session:
        count = await session.scalar(select(func.count()).select_from(LoginThrottle))
    assert count == throttle.ADDRESS.free + 2


def test_the_password_command_reads_stdin_and_refuses_short_ones(sqlite_url: str) -> None:
    env = {"OCE_DATABASE_URL": sqlite_url, "OCE_BASE_URL": "https://coop.example"}

    def run(*args: str, given: str) -> subprocess.CompletedProcess[str]:
        import os

        return subprocess.run(
            [sys.executable, "-m", "instance.cli", *args],
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            input=given,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert run("agent", "create", "alice", given="").returncode == 0
    short = run("agent", "password", "alice", "--stdin", given="short\n")
    assert short.returncode == 1
    assert "at least 10 characters" in short.stderr
    done = run("agent", "password", "alice", "--stdin", given=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert "https://coop.example/login" in done.stderr
    missing = run("agent", "password", "nobody", "--stdin", given=PASSWORD + "\n")
    assert "no agent named 'nobody'" in missing.stderr
