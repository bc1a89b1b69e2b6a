"""The storage settings DESIGN.md asks for, checked on a real database file."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from instance.store.db import Database, NestedSession
from instance.store.migrate import current_revision, head_revision
from instance.store.models import Agent


async def test_sqlite_runs_wal_full_sync_with_foreign_keys(sqlite_url: str) -> None:
    db = Database.from_url(sqlite_url)
    try:
        async with db.read() as session:
            journal = await session.scalar(text("PRAGMA journal_mode"))
            synchronous = await session.scalar(text("PRAGMA synchronous"))
            foreign_keys = await session.scalar(text("PRAGMA foreign_keys"))
        assert (journal, synchronous, foreign_keys) == ("wal", 2, 1)
    finally:
        await db.dispose()


async def test_sqlite_write_transactions_take_the_write_lock_at_begin(sqlite_url: str) -> None:
    db = Database.from_url(sqlite_url)
    other = Database.from_url(sqlite_url)
    try:
        async with db.write() as session:
            await session.execute(text("SELECT 1"))
            # A write transaction holds the RESERVED lock from its first statement, so
            # another immediate transaction cannot start (busy) even before we write.
            async with other.engine.connect() as conn:
                await conn.exec_driver_sql("PRAGMA busy_timeout=0")
                raw = await conn.get_raw_connection()
                driver = raw.driver_connection
                assert driver is not None
                try:
                    await driver.execute("BEGIN IMMEDIATE")
                    locked = False
                except Exception as exc:  # sqlite3.OperationalError: database is locked
                    locked = "locked" in str(exc)
                assert locked
    finally:
        await db.dispose()
        await other.dispose()


async def test_migrations_reach_head_on_both_databases(database_url: str) -> None:
    db = Database.from_url(database_url)
    try:
        assert await current_revision(db.engine) == head_revision()
    finally:
        await db.dispose()


async def test_times_come_back_timezone_aware(database_url: str) -> None:
    db = Database.from_url(database_url)
    try:
        async with db.write() as session:
            session.add(Agent(username="x", kind="Person", private_key_pem="", public_key_pem=""))
        async with db.read() as session:
            stored = await session.scalar(select(Agent).where(Agent.username == "x"))
            assert stored is not None
            assert stored.created_at.utcoffset() == timedelta(0)
    finally:
        await db.dispose()


async def test_a_task_holding_a_session_is_refused_a_second(database_url: str) -> None:
    db = Database.from_url(database_url, pool_size=1)
    try:
        async with db.read() as session:
            await session.execute(text("SELECT 1"))
            with pytest.raises(NestedSession) as refused:
                async with db.write():
                    pass
        # Both places are named: where the second was asked for, and the one held.
        message = str(refused.value)
        assert message.count("test_database.py") == 2
        assert "a write session at" in message
        assert "holds a read session at" in message
        # One after the other is fine, and so is one per task at the same time.
        async with db.write() as session:
            await session.execute(text("SELECT 1"))

        async def one() -> None:
            async with db.read() as session:
                await session.execute(text("SELECT 1"))

        await asyncio.gather(one(), one(), one())
    finally:
        await db.dispose()


async def test_the_check_can_be_turned_off(sqlite_url: str) -> None:
    db = Database.from_url(sqlite_url, pool_size=2, strict=False)
    try:
        async with db.read(), db.read() as inner:
            assert await inner.scalar(text("SELECT 1")) == 1
    finally:
        await db.dispose()
