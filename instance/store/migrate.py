"""Apply the Alembic migrations in ``instance/store/migrations`` to a database.

``oce migrate`` and ``oce serve`` both call :func:`upgrade`. On PostgreSQL an
advisory lock makes concurrent starts (several web processes and workers) take turns,
so only the first one migrates.

Alembic is imported only when there is something to migrate: a database already at
the newest revision (every start but the first after an upgrade) is recognized by
reading ``alembic_version`` and the revision names in the migration files, which
keeps Alembic's 10 MiB out of every web and worker process.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["alembic_config", "current_revision", "head_revision", "upgrade"]

_MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x0CE_0001  # arbitrary, constant: the advisory lock oce migrations take


def alembic_config() -> Config:
    """The Alembic configuration for oce (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


_REVISION = re.compile(r"""^(down_)?revision\b[^=\n]*=\s*(None|"[^"]*"|'[^']*')\s*$""", re.M)


@cache
def _declared_head() -> str | None:
    """The one head revision the migration files name, read as text; None when they
    cannot be read that simply (a merge, an unusual file): then Alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (_MIGRATIONS / "versions").glob("*.py"):
        found = {bool(down): value for down, value in _REVISION.findall(path.read_text())}
        if False not in found or True not in found:
            return None
        revisions.add(found[False].strip("\"'"))
        if found[True] != "None":
            parents.add(found[True].strip("\"'"))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


async def _at_head(engine: AsyncEngine) -> bool:
    head = _declared_head()
    if head is None:
        return False
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
    except DBAPIError:
        return False  # no such table yet: an empty database
    return [row[0] for row in rows] == [head]


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the newest)."""
    if revision == "head" and await _at_head(engine):
        return
    async with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
            await connection.commit()
        try:
            await connection.run_sync(_upgrade, revision)
            await connection.commit()
        finally:
            if postgres:
                await connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY}
                )
                await connection.commit()
