"""The ``oce`` command line, run as a user runs it (a real process)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from instance.store.db import Database
from instance.store.models import Token
from tests.processes import free_port, oce, serving


def env_for(database_url: str) -> dict[str, str]:
    return {"OCE_DATABASE_URL": database_url, "OCE_BASE_URL": "https://coop.example"}


def test_agent_create_prints_the_actor_id_and_list_shows_it(database_url: str) -> None:
    env = env_for(database_url)
    created = oce("agent", "create", "alice", "--name", "Alice A.", env=env)
    assert created.stdout.strip() == "https://coop.example/agents/alice"
    oce("agent", "create", "bakery", "--type", "organization", "--summary", "Bread", env=env)
    listing = oce("agent", "list", env=env).stdout.splitlines()
    assert listing == [
        "alice\tPerson\tAlice A.\thttps://coop.example/agents/alice",
        "bakery\tOrganization\tbakery\thttps://coop.example/agents/bakery",
    ]
    deleted = oce("agent", "delete", "bakery", "--yes", env=env)
    assert deleted.stdout.startswith("https://coop.example/agents/bakery is deleted")
    assert oce("agent", "list", env=env).stdout.splitlines() == [
        "alice\tPerson\tAlice A.\thttps://coop.example/agents/alice"
    ]


def test_token_create_prints_a_token_that_is_stored_hashed(database_url: str) -> None:
    env = env_for(database_url)
    oce("agent", "create", "alice", env=env)
    token = oce("token", "create", "alice", env=env).stdout.strip()
    assert token.startswith("oce_")
    assert len(token) > 40
    second = oce("token", "create", "alice", env=env).stdout.strip()
    assert second != token

    # The clear token is nowhere in the database.
    async def digests() -> list[str]:
        db = Database.from_url(database_url)
        try:
            async with db.read() as session:
                return list(await session.scalars(select(Token.digest)))
        finally:
            await db.dispose()

    stored = asyncio.run(digests())
    assert len(stored) == 2
    assert token not in stored
    assert all(len(d) == 64 for d in stored)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("agent", "create", "Alice"), "username 'Alice' must be"),
        (("agent", "create", "admin"), "reserved"),
        (("token", "create", "nobody"), "no agent named 'nobody'"),
    ],
)
def test_errors_are_one_readable_line(
    database_url: str, args: tuple[str, ...], message: str
) -> None:
    result = oce(*args, env=env_for(database_url), check=False)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("oce: error: ")
    assert message in lines[0]


def test_verbose_adds_the_details(database_url: str) -> None:
    result = oce("--verbose", "token", "create", "nobody", env=env_for(database_url), check=False)
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert result.stderr.strip().endswith("oce: error: no agent named 'nobody' on this instance")


def test_duplicate_agent_is_refused(database_url: str) -> None:
    env = env_for(database_url)
    oce("agent", "create", "alice", env=env)
    result = oce("agent", "create", "alice", env=env, check=False)
    assert result.returncode == 1
    assert "already exists" in result.stderr


def test_bad_setting_stops_every_command_with_its_name(tmp_path: Path) -> None:
    result = oce("agent", "list", env={"OCE_BASE_URL": "not a url"}, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "oce: error: OCE_BASE_URL='not a url': expected an http(s) origin such as "
        "https://coop.example"
    )


def test_migrate_creates_and_updates_the_database(tmp_path: Path) -> None:
    env = {"OCE_DATA_DIR": str(tmp_path / "data")}
    result = oce("migrate", env=env)
    assert "database is up to date" in result.stdout
    assert (tmp_path / "data" / "oce.sqlite3").exists()
    assert oce("migrate", env=env).returncode == 0


def test_serve_starts_on_a_fresh_data_folder_and_says_how_to_begin(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'oce.sqlite3'}"
    with serving("fresh", database, tmp_path) as server:
        banner = server.output()
        assert f"serving {server.base_url}" in banner
        assert "oce agent create" in banner
        assert "oce agent password alice" in banner
        # Another terminal lacks this port: the hint carries the base URL.
        assert f"OCE_BASE_URL={server.base_url} " in banner
        assert f"{server.base_url}/login" in banner
        server.cli("agent", "create", "alice")
        actor = httpx.get(f"{server.base_url}/agents/alice", timeout=5).json()
        assert actor["id"] == f"{server.base_url}/agents/alice"
        # Once there is an agent, the first-run hint is gone.
        server.stop()
        server.log.unlink()
        server.start()
        assert f"serving {server.base_url}" in server.output()
        assert "agent create" not in server.output()


def test_serve_on_a_busy_port_says_so_and_how_to_choose_another(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"OCE_DATA_DIR": str(tmp_path / "data")}
        result = oce("serve", "--port", str(port), env=env, check=False)
    assert result.returncode == 1
    message = result.stderr.strip()
    assert message.startswith(f"oce: error: port {port} on 127.0.0.1 is busy")
    assert "make serve PORT=8010" in message
    assert len(message.splitlines()) == 1
    # Refused before touching anything: no database was made.
    assert not (tmp_path / "data" / "oce.sqlite3").exists()


def test_serve_refuses_a_database_published_under_another_base_url(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'moved' / 'oce.sqlite3'}"
    with serving("first", database, tmp_path) as server:
        server.cli("agent", "create", "alice")
        first_url = server.base_url
    env = {"OCE_DATABASE_URL": database}
    port = free_port()
    refused = oce("serve", "--port", str(port), env=env, check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        f"oce: error: this database's ids are under {first_url}, not http://127.0.0.1:{port}"
    )
    assert "--accept-new-base-url" in refused.stderr
    # The worker agrees with the web process.
    worker = oce("worker", env={**env, "OCE_BASE_URL": f"http://127.0.0.1:{port}"}, check=False)
    assert worker.returncode == 1
    assert "this database's ids are under" in worker.stderr


def test_domain_block_unblock_and_list(database_url: str) -> None:
    env = env_for(database_url)
    assert "blocked spam.example" in oce("domain", "block", "Spam.Example.", env=env).stdout
    oce("domain", "block", "https://other.example/path", env=env)
    assert oce("domain", "list", env=env).stdout.split() == ["other.example", "spam.example"]
    assert oce("domain", "unblock", "spam.example", env=env).returncode == 0
    assert oce("domain", "list", env=env).stdout.split() == ["other.example"]
    missing = oce("domain", "unblock", "spam.example", env=env, check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "oce: error: spam.example was not blocked"
    bad = oce("domain", "block", "not a domain", env=env, check=False)
    assert bad.returncode == 1
    assert "is not a domain name" in bad.stderr
