"""Shared fixtures: databases (SQLite and PostgreSQL) and running in-process instances."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.databases import (
    REQUIRE_POSTGRES,
    PostgresFactory,
    SqliteFactory,
    postgres_unreachable_reason,
)

_SKIPPED_BECAUSE: dict[str, int] = {}


@pytest.fixture(scope="session")
def sqlite_factory(tmp_path_factory: pytest.TempPathFactory) -> SqliteFactory:
    return SqliteFactory(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="session")
def postgres_factory() -> Iterator[PostgresFactory]:
    reason = postgres_unreachable_reason()
    if reason is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(f"{reason}, and OCE_TEST_REQUIRE_POSTGRES=1 requires it")
        pytest.skip(reason)
    factory = PostgresFactory()
    yield factory
    factory.drop_all()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh, migrated database of each kind: every test using it runs twice."""
    if request.param == "sqlite":
        factory: SqliteFactory | PostgresFactory = request.getfixturevalue("sqlite_factory")
    else:
        factory = request.getfixturevalue("postgres_factory")
    return factory.new()


@pytest.fixture
def sqlite_url(sqlite_factory: SqliteFactory) -> str:
    """A fresh SQLite database, for tests about SQLite itself."""
    return sqlite_factory.new()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        _SKIPPED_BECAUSE[reason] = _SKIPPED_BECAUSE.get(reason, 0) + 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _SKIPPED_BECAUSE:
        return
    terminalreporter.section("SKIPPED TESTS, AND WHY", sep="!", yellow=True, bold=True)
    for reason, count in sorted(_SKIPPED_BECAUSE.items()):
        terminalreporter.write_line(f"{count} test(s) skipped: {reason}", yellow=True)
