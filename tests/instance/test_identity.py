"""The base URL a database's ids belong to (instance.identity)."""

from __future__ import annotations

import pytest

from instance.agents import create_agent
from instance.identity import BaseUrlChanged, settle_base_url
from instance.store.db import Database


async def test_a_database_that_published_nothing_follows_the_url(database_url: str) -> None:
    db = Database.from_url(database_url)
    try:
        assert await settle_base_url(db, "http://127.0.0.1:8000") is False
        # Nothing published yet: a new port is simply taken.
        assert await settle_base_url(db, "http://127.0.0.1:8010") is True
        assert await settle_base_url(db, "http://127.0.0.1:8010") is False
    finally:
        await db.dispose()


async def test_published_ids_hold_the_url_until_the_operator_confirms(database_url: str) -> None:
    db = Database.from_url(database_url)
    try:
        await settle_base_url(db, "https://coop.example")
        async with db.write() as session:
            await create_agent(session, "alice")
        with pytest.raises(BaseUrlChanged) as refused:
            await settle_base_url(db, "https://other.example")
        assert refused.value.recorded == "https://coop.example"
        # Refused: still the old URL, so the old one is still accepted as is.
        assert await settle_base_url(db, "https://coop.example") is False
        assert await settle_base_url(db, "https://other.example", accept_change=True) is True
        assert await settle_base_url(db, "https://other.example") is False
    finally:
        await db.dispose()
