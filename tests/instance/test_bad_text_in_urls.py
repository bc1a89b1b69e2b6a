"""A NUL in a path or a query string is a 400, on every route, before any lookup."""

from __future__ import annotations

import pytest

from tests.harness import Running
from tests.instance.conftest import add_agent


@pytest.mark.parametrize(
    "url",
    [
        "/agents/al%00ice",
        "/agents/al%00ice/outbox",
        "/.well-known/webfinger?resource=acct:al%00ice@a.test",
        "/records?id=https://a.test/agreements/%00",
        "/proposals/%00",
        "/agents/alice/outbox?page=true&before=%00",
    ],
)
async def test_a_nul_in_the_url_is_400(instance: Running, url: str) -> None:
    await add_agent(instance, "alice")
    response = await instance.client.get(url, headers={"Accept": "application/activity+json"})
    assert response.status_code == 400, response.text
    assert "NUL" in response.json()["detail"]
