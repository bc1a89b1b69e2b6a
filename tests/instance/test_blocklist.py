"""The in-memory blocklist: what it answers, and how often it reads the database."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from instance import moderation
from instance.moderation import Blocklist, block_domain
from instance.store.db import Database


async def test_concurrent_lookups_share_one_read(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database.from_url(database_url)
    try:
        async with db.write() as session:
            await block_domain(session, "bad.example")
        reads = 0
        real = moderation.blocked_domains

        async def counting(session: AsyncSession) -> Sequence[str]:
            nonlocal reads
            reads += 1
            await asyncio.sleep(0.01)  # a read takes a while; others ask meanwhile
            return await real(session)

        monkeypatch.setattr(moderation, "blocked_domains", counting)
        blocklist = Blocklist(db)
        hosts = ["bad.example", "ok.example", "sub.bad.example"] * 20
        answers = await asyncio.gather(*(blocklist.is_blocked(f"https://{h}/inbox") for h in hosts))
        assert answers == [True, False, True] * 20
        assert reads == 1
        # Stale again after REFRESH_SECONDS: one more read.
        monkeypatch.setattr(moderation, "REFRESH_SECONDS", 0.2)
        await asyncio.sleep(0.25)
        await asyncio.gather(*(blocklist.is_blocked(h) for h in hosts))
        assert reads == 2
    finally:
        await db.dispose()
