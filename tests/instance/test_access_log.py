"""The access log: one line per request, off with a setting."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from instance.settings import Settings
from tests.harness import make_settings, running


@pytest.fixture
def access_records() -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("oce.access")
    handler = Keep()
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


async def _get(settings: Settings, path: str) -> int:
    async with running(settings) as instance:
        return (await instance.client.get(path)).status_code


async def test_one_line_per_request_with_status_and_no_query(
    sqlite_url: str, access_records: list[logging.LogRecord]
) -> None:
    status = await _get(make_settings(sqlite_url), "/users/nobody?code=secret")
    assert status == 404
    lines = [r.getMessage() for r in access_records]
    assert len(lines) == 1
    assert lines[0].startswith("GET /users/nobody 404 ")
    assert "secret" not in lines[0]


async def test_off_with_the_setting(
    sqlite_url: str, access_records: list[logging.LogRecord]
) -> None:
    status = await _get(make_settings(sqlite_url, access_log=False), "/users/nobody")
    assert status == 404
    assert access_records == []
