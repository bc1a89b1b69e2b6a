"""Client tokens: scopes, expiry, revocation and last use, over real HTTP.

Tokens used to live forever with every right (issue 11, defect 11). Now a token has
read and/or write scope, may expire, can be revoked, and a revoked or expired one is
refused at once by every process: each request looks its token up in the database.
The multi-process case runs real ``oce serve`` processes and the real command line.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from instance.agents import create_agent, get_agent
from instance.store.models import StoredObject, Token, utcnow
from instance.tokens import SCOPES, create_token, revoke_token
from tests.harness import Running, make_settings, running
from tests.processes import oce, serving

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
NOTE = {"type": "Note", "content": "fresh bread", "to": [PUBLIC]}


@pytest.fixture
async def instance(database_url: str) -> AsyncIterator[Running]:
    async with running(make_settings(database_url)) as started:
        async with started.services.db.write() as session:
            await create_agent(session, "alice")
        yield started


async def _token(
    instance: Running, *, scopes: Sequence[str] = SCOPES, expires_at: datetime | None = None
) -> str:
    async with instance.services.db.write() as session:
        agent = await get_agent(session, "alice")
        assert agent is not None
        return await create_token(session, agent, scopes=scopes, expires_at=expires_at)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/activity+json"}


async def _stored(instance: Running) -> int:
    async with instance.services.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(StoredObject)) or 0)


async def test_a_read_token_reads_and_may_not_post(instance: Running) -> None:
    token = await _token(instance, scopes=["read"])
    assert (await instance.client.get("/agents/alice/inbox", headers=_auth(token))).status_code == (
        200
    )
    before = await _stored(instance)
    refused = await instance.client.post("/agents/alice/outbox", json=NOTE, headers=_auth(token))
    assert refused.status_code == 403
    problem = refused.json()
    assert problem["field"] == "authorization"
    assert "needs the write scope" in problem["detail"]
    assert refused.headers["www-authenticate"] == 'Bearer error="insufficient_scope", scope="write"'
    assert await _stored(instance) == before  # nothing was published


async def test_a_write_token_posts_and_may_not_read(instance: Running) -> None:
    token = await _token(instance, scopes=["write"])
    posted = await instance.client.post("/agents/alice/outbox", json=NOTE, headers=_auth(token))
    assert posted.status_code == 201
    refused = await instance.client.get("/agents/alice/inbox", headers=_auth(token))
    assert refused.status_code == 403
    assert "needs the read scope" in refused.json()["detail"]
    outbox = await instance.client.get("/agents/alice/outbox", headers=_auth(token))
    assert outbox.status_code == 403


async def test_an_expired_token_is_refused(instance: Running) -> None:
    token = await _token(instance, expires_at=utcnow() + timedelta(seconds=1.5))
    assert (await instance.client.get("/agents/alice/inbox", headers=_auth(token))).status_code == (
        200
    )
    await asyncio.sleep(1.6)
    refused = await instance.client.get("/agents/alice/inbox", headers=_auth(token))
    assert refused.status_code == 401
    assert refused.json()["detail"].startswith("the token expired at ")
    assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    posted = await instance.client.post("/agents/alice/outbox", json=NOTE, headers=_auth(token))
    assert posted.status_code == 401


async def test_a_revoked_token_is_refused_at_once(instance: Running) -> None:
    token = await _token(instance)
    assert (await instance.client.get("/agents/alice/inbox", headers=_auth(token))).status_code == (
        200
    )
    async with instance.services.db.write() as session:
        row_id = await session.scalar(select(Token.id))
        assert row_id is not None
        await revoke_token(session, row_id)
    refused = await instance.client.get("/agents/alice/inbox", headers=_auth(token))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "the token was revoked"
    before = await _stored(instance)
    posted = await instance.client.post("/agents/alice/outbox", json=NOTE, headers=_auth(token))
    assert posted.status_code == 401
    assert await _stored(instance) == before


async def test_last_use_is_recorded_about_once_a_minute(instance: Running) -> None:
    token = await _token(instance)

    async def last_used() -> object:
        async with instance.services.db.read() as session:
            return await session.scalar(select(Token.last_used_at))

    assert await last_used() is None
    before = utcnow()
    await instance.client.get("/agents/alice/inbox", headers=_auth(token))
    first = await last_used()
    assert isinstance(first, datetime)
    assert first >= before
    await instance.client.get("/agents/alice/inbox", headers=_auth(token))
    assert await last_used() == first  # not written again within the minute


async def test_another_agents_token_and_unknown_scopes_are_refused(instance: Running) -> None:
    async with instance.services.db.write() as session:
        bob = await create_agent(session, "bob")
        bob_token = await create_token(session, bob)
    refused = await instance.client.post(
        "/agents/alice/outbox", json=NOTE, headers=_auth(bob_token)
    )
    assert refused.status_code == 403
    with pytest.raises(Exception, match="scopes are read and write"):
        await _token(instance, scopes=["admin"])


# Real processes: two web processes on one database, and the command line -------------


def _env(database_url: str) -> dict[str, str]:
    return {"OCE_DATABASE_URL": database_url, "OCE_BASE_URL": "https://coop.example"}


def test_revoking_a_token_refuses_it_at_once_in_every_process(
    database_url: str, tmp_path: Path
) -> None:
    with (
        serving("one", database_url, tmp_path) as one,
        serving("two", database_url, tmp_path) as two,
    ):
        one.cli("agent", "create", "alice")
        token = one.cli("token", "create", "alice", "--label", "phone").stdout.strip()
        for server in (one, two):
            answer = httpx.get(
                f"{server.base_url}/agents/alice/inbox", headers=_auth(token), timeout=10
            )
            assert answer.status_code == 200, server.name
        (token_id,) = [
            line.split("\t")[0]
            for line in one.cli("token", "list", "alice").stdout.splitlines()[1:]
        ]
        revoked = two.cli("token", "revoke", token_id)
        assert revoked.stdout.startswith(f"revoked token {token_id} of alice")
        for server in (one, two):
            answer = httpx.get(
                f"{server.base_url}/agents/alice/inbox", headers=_auth(token), timeout=10
            )
            assert answer.status_code == 401, server.name
            assert answer.json()["detail"] == "the token was revoked"
            posted = httpx.post(
                f"{server.base_url}/agents/alice/outbox", json=NOTE, headers=_auth(token)
            )
            assert posted.status_code == 401, server.name
        listing = one.cli("token", "list", "alice").stdout.splitlines()
        assert listing[1].split("\t")[1] == "revoked"


def test_token_commands_create_list_and_revoke(database_url: str) -> None:
    env = _env(database_url)
    oce("agent", "create", "alice", env=env)
    created = oce(
        "token",
        "create",
        "alice",
        "--scope",
        "read",
        "--expires",
        "30d",
        "--label",
        "phone",
        env=env,
    )
    assert created.stdout.strip().startswith("oce_")
    assert "scope read, valid until 20" in created.stderr
    oce("token", "create", "alice", env=env)
    header, first, second = oce("token", "list", "alice", env=env).stdout.splitlines()
    assert header.split("\t") == [
        "id",
        "state",
        "scope",
        "created",
        "last used",
        "expires",
        "label",
    ]
    fields = first.split("\t")
    assert fields[1:3] == ["active", "read"]
    assert fields[4] == "never"
    created_at = fields[3]
    expires = fields[5]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", expires)
    assert expires > created_at  # thirty days on
    assert fields[6] == "phone"
    assert second.split("\t")[1:3] == ["active", "read write"]
    assert second.split("\t")[5] == "never"
    assert oce("token", "revoke", fields[0], env=env).returncode == 0
    assert oce("token", "list", "alice", env=env).stdout.splitlines()[1].split("\t")[1] == (
        "revoked"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("token", "create", "alice", "--expires", "30x"), "expected a duration such as"),
        (("token", "create", "alice", "--expires", "0d"), "expected a duration such as"),
        (("token", "create", "alice", "--expires", "99999w"), "at most 3660 days"),
        (("token", "revoke", "999"), "there is no token 999"),
        (("token", "list", "nobody"), "no agent named 'nobody'"),
    ],
)
def test_token_command_errors_are_one_line(
    database_url: str, args: tuple[str, ...], message: str
) -> None:
    env = _env(database_url)
    oce("agent", "create", "alice", env=env)
    result = oce(*args, env=env, check=False)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("oce: error: ")
    assert message in line
