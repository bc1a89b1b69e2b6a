import pytest

from tests.coop.conftest import three, two_more
from tests.exchange.conftest import pair, postgres_or_sqlite_second

__all__ = ["pair", "postgres_or_sqlite_second", "third_database", "three", "two_more"]


@pytest.fixture
def third_database(request: pytest.FixtureRequest, database_url: str) -> str:
    """One more database of the same kind as ``database_url``: where an agent moves."""
    name = "sqlite_factory" if database_url.startswith("sqlite") else "postgres_factory"
    url: str = request.getfixturevalue(name).new()
    return url
