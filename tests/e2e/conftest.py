"""End-to-end tests: real ``oce serve`` processes federating over loopback HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from instance.agents import create_agent
from instance.store.db import Database
from instance.tokens import create_token
from tests.processes import Process

pytestmark = pytest.mark.e2e


def sqlite_url(tmp_path: Path, name: str) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / name / 'oce.sqlite3'}"


def agent_with_token(server: Process, username: str, name: str = "") -> dict[str, str]:
    """Create an agent and return the Authorization header of a token for it.

    The rows ``oce agent create`` and ``oce token create`` write, written straight to the
    running instance's database: two ``oce`` processes to start cost seconds each on a
    loaded machine, and those commands have their own tests (tests/instance/test_cli.py).
    """

    async def create() -> str:
        database = Database.from_url(server.env["OCE_DATABASE_URL"])
        try:
            async with database.write() as session:
                agent = await create_agent(session, username, name=name)
                return await create_token(session, agent)
        finally:
            await database.dispose()

    # In a thread of its own: a browser test's Playwright may hold this thread's loop.
    with ThreadPoolExecutor(1) as thread:
        token = thread.submit(asyncio.run, create()).result(timeout=60)
    return {"Authorization": f"Bearer {token}"}


def post_outbox(
    server: Process, username: str, auth: dict[str, str], document: dict[str, Any]
) -> httpx.Response:
    response = httpx.post(
        f"{server.base_url}/agents/{username}/outbox", json=document, headers=auth, timeout=30
    )
    assert response.status_code == 201, response.text
    return response


def wait_for(what: str, check: Callable[[], bool], timeout: float = 30, *servers: Process) -> None:
    """Poll ``check`` until it holds; fail with the servers' logs if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    logs = "\n".join(f"--- {s.name} ---\n{s.output()[-4000:]}" for s in servers)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{logs}")


def get_json(url: str, auth: dict[str, str] | None = None) -> dict[str, Any]:
    response = httpx.get(
        url, headers={"Accept": "application/activity+json", **(auth or {})}, timeout=10
    )
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def collection_items(url: str, auth: dict[str, str] | None = None) -> list[Any]:
    items: list[Any] = []
    page: str | None = get_json(url, auth)["first"]
    while page:
        document = get_json(page, auth)
        items.extend(document.get("orderedItems", []))
        page = document.get("next")
    return items
