"""Grouped transactions (instance/store/grouping.py): many tasks' write blocks share a
commit, and a block that fails undoes only its own effects."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from sqlalchemy import func, select

from instance.store.db import Database, NestedSession
from instance.store.grouping import WriteGroup
from instance.store.models import InboxItem


def _item(n: int) -> InboxItem:
    body = f'{{"id": "https://peer.test/a/{n}"}}'.encode()
    return InboxItem(
        activity_uri=f"https://peer.test/a/{n}",
        body=body,
        body_sha256=hashlib.sha256(body).hexdigest(),
        headers="{}",
        signer_key_id="https://peer.test/actor#main-key",
        signer="https://peer.test/actor",
        verified_by="cavage-rsa-sha256",
    )


async def _uris(db: Database) -> set[str]:
    async with db.read() as session:
        return set((await session.scalars(select(InboxItem.activity_uri))).all())


async def test_blocks_share_commits_and_a_failing_block_undoes_only_itself(
    database_url: str,
) -> None:
    db = Database.from_url(database_url)
    committed_when_returned: list[bool] = []
    try:
        async with WriteGroup(db) as group:

            async def member(n: int) -> None:
                async with group.joined():
                    for step in range(3):
                        k = n * 10 + step
                        try:
                            async with db.write() as session:
                                session.add(_item(k))
                                if k % 7 == 0:
                                    raise ValueError(k)
                        except ValueError:
                            continue
                        # Returned from the block: it is committed, visible to others.
                        seen = await _uris(db)
                        committed_when_returned.append(f"https://peer.test/a/{k}" in seen)

            async with asyncio.TaskGroup() as tasks:
                for n in range(20):
                    tasks.create_task(member(n))
        stored = await _uris(db)
        expected = {f"https://peer.test/a/{n * 10 + s}" for n in range(20) for s in range(3)}
        failed = {uri for uri in expected if int(uri.rsplit("/", 1)[1]) % 7 == 0}
        assert stored == expected - failed
        assert all(committed_when_returned)
        assert len(committed_when_returned) == len(stored)
        # 60 blocks, far fewer commits.
        assert group.blocks == len(expected)
        assert group.transactions < group.blocks / 4
    finally:
        await db.dispose()


async def test_a_block_that_breaks_a_constraint_leaves_the_others(database_url: str) -> None:
    db = Database.from_url(database_url)
    try:
        async with db.write() as session:
            session.add(_item(1))
        outcomes: dict[int, str] = {}
        async with WriteGroup(db) as group:

            async def member(n: int) -> None:
                async with group.joined():
                    try:
                        async with db.write() as session:
                            session.add(_item(n))  # 1 exists already: unique violation
                        outcomes[n] = "stored"
                    except Exception as exc:
                        outcomes[n] = type(exc).__name__

            async with asyncio.TaskGroup() as tasks:
                for n in (1, 2, 3):
                    tasks.create_task(member(n))
        assert outcomes[1] == "IntegrityError"
        assert outcomes[2] == outcomes[3] == "stored"
        async with db.read() as session:
            assert await session.scalar(select(func.count()).select_from(InboxItem)) == 3
    finally:
        await db.dispose()


async def test_a_member_still_may_not_nest_sessions(sqlite_url: str) -> None:
    db = Database.from_url(sqlite_url)
    try:
        async with WriteGroup(db) as group, group.joined(), db.write():
            with pytest.raises(NestedSession):
                async with db.read():
                    pass
    finally:
        await db.dispose()
