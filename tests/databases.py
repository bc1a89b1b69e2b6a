"""Test databases: a migrated SQLite file or a fresh PostgreSQL database per test.

PostgreSQL is the server at ``OCE_TEST_POSTGRES_URL`` (default: the local one CI uses).
When it cannot be reached, its tests are skipped and the run says so at the end; with
``OCE_TEST_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) they fail instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import asyncpg

from instance.store.db import create_engine
from instance.store.migrate import upgrade

POSTGRES_URL = os.environ.get(
    "OCE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("OCE_TEST_REQUIRE_POSTGRES") == "1"
#: Connections used at once to drop a run's databases (max_connections is 100 by default).
DROPS_AT_ONCE = 16


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


async def _migrate(url: str) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


class SqliteFactory:
    """Copies of one migrated SQLite file (migrating once per run is the slow part)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.template = root / "template.sqlite3"
        asyncio.run(_migrate(f"sqlite+aiosqlite:///{self.template}"))

    def new(self) -> str:
        path = self.root / f"{uuid.uuid4().hex}.sqlite3"
        shutil.copyfile(self.template, path)
        return f"sqlite+aiosqlite:///{path}"


class PostgresFactory:
    """Fresh databases cloned from one migrated template database."""

    def __init__(self) -> None:
        self.prefix = f"oce_test_{os.getpid()}"
        self.template = f"{self.prefix}_template"
        self.created: list[str] = []
        asyncio.run(self._create_template())

    async def _admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL), timeout=3)

    async def _create_template(self) -> None:
        admin = await self._admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{self.template}"')
        finally:
            await admin.close()
        await _migrate(_with_database(POSTGRES_URL, self.template))

    def new(self) -> str:
        name = f"{self.prefix}_{uuid.uuid4().hex[:12]}"
        asyncio.run(self._clone(name))
        self.created.append(name)
        return _with_database(POSTGRES_URL, name)

    async def _clone(self, name: str) -> None:
        admin = await self._admin()
        try:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        finally:
            await admin.close()

    def drop_all(self) -> None:
        asyncio.run(self._drop())

    async def _drop(self) -> None:
        # Each DROP DATABASE waits for a checkpoint. One after the other, a run's few
        # hundred databases took minutes at the end of the session; dropped together,
        # the drops share their checkpoints and take seconds.
        turns = asyncio.Semaphore(DROPS_AT_ONCE)

        async def drop(name: str) -> None:
            async with turns:
                admin = await self._admin()
                try:
                    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                finally:
                    await admin.close()

        await asyncio.gather(*(drop(name) for name in self.created))
        await drop(self.template)


def postgres_unreachable_reason() -> str | None:
    """None when the test PostgreSQL answers; otherwise why not, in one line."""

    async def probe() -> None:
        connection = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL), timeout=3)
        await connection.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL at {POSTGRES_URL} is not reachable ({type(exc).__name__}: {exc})"
    return None
