"""Every response carries the security headers: pages, documents, errors, static files."""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from instance.web.headers import SECURITY_HEADERS, SecurityHeaders
from tests.harness import Running
from tests.instance.conftest import add_agent


def _paths(instance: Running) -> list[tuple[str, str]]:
    """(method, path) of every route of the app, parameters filled in."""
    app: Any = instance.app
    while not hasattr(app, "routes"):
        app = app.app
    found: list[tuple[str, str]] = []
    for route in app.routes:
        if isinstance(route, Mount):
            found.append(("GET", route.path + "/oce.css"))
            continue
        assert isinstance(route, Route)
        path = re.sub(r"\{[^}]*\}", "alice", route.path)
        found.extend((method, path) for method in sorted((route.methods or set()) - {"HEAD"}))
    return found


@pytest.mark.parametrize("accept", ["text/html", "application/activity+json"])
async def test_every_answer_of_every_route_says_what_browsers_may_do(
    instance: Running, accept: str
) -> None:
    await add_agent(instance, "alice")
    paths = [*_paths(instance), ("GET", "/no/such/page"), ("DELETE", "/agents/alice")]
    statuses: set[int] = set()
    for method, path in paths:
        response = await instance.client.request(method, path, headers={"Accept": accept})
        statuses.add(response.status_code)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, f"{method} {path}: {name}"
    assert {200, 401, 404, 405} <= statuses


async def test_a_response_that_sets_its_own_header_keeps_it() -> None:
    sent: list[MutableMapping[str, Any]] = []

    async def app(_scope: Any, _receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"Content-Security-Policy", b"default-src 'none'")],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    async def collect(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    async def nothing() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    await SecurityHeaders(app)({"type": "http"}, nothing, collect)
    headers = [(k.decode().lower(), v.decode()) for k, v in sent[0]["headers"]]
    assert [v for k, v in headers if k == "content-security-policy"] == ["default-src 'none'"]
    assert ("x-frame-options", "DENY") in headers


async def test_a_server_error_page_carries_them_too(instance: Running) -> None:
    """A 500 is answered by Starlette's outermost middleware: the headers wrap even it."""

    async def boom(_request: Request) -> Response:
        raise RuntimeError("a bug")

    app: Any = instance.app
    while not hasattr(app, "routes"):
        app = app.app
    app.router.routes.append(Route("/boom", boom))
    transport = httpx.ASGITransport(app=instance.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://a.test") as client:
        response = await client.get("/boom", headers={"Accept": "text/html"})
    assert response.status_code == 500
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
