from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.harness import Running, make_settings, running
from tests.web.signing import add_person


@pytest.fixture
async def site(database_url: str) -> AsyncIterator[Running]:
    """An instance at https://a.test where alice and bob have passwords."""
    async with running(make_settings(database_url)) as started:
        await add_person(started, "alice")
        await add_person(started, "bob")
        yield started
