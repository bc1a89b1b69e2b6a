"""What every ``oce`` subcommand shares: printing, one database transaction, JSON files."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from instance.problems import Problem
from instance.settings import Settings
from instance.store.db import Database
from instance.store.migrate import upgrade
from vocab import JsonError, jsontext

__all__ = ["command_session", "out", "read_json_object"]


def out(text: str) -> None:
    """One line of a command's output, flushed (long commands show progress as they go)."""
    print(text, flush=True)


@asynccontextmanager
async def command_session(settings: Settings, *, write: bool) -> AsyncIterator[AsyncSession]:
    """One transaction on the (migrated) database, for a command that needs no server."""
    db = Database.from_url(settings.database_url, pool_size=2)
    try:
        await upgrade(db.engine)
        async with db.write() if write else db.read() as session:
            yield session
    finally:
        await db.dispose()


async def read_json_object(path: str) -> dict[str, Any]:
    """A JSON object from a file, read with the strict reader (exact numbers, bounded)."""
    try:
        document = jsontext.loads(await asyncio.to_thread(Path(path).read_bytes))
    except JsonError as exc:
        raise Problem(400, f"{path} is not JSON oce reads: {exc}") from None
    if not isinstance(document, dict):
        raise Problem(400, f"{path} is not a JSON object")
    return document
