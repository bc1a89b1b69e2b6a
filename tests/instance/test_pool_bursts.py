"""No burst of requests can take the database pool: every route, more requests than it holds.

Ten requests once stopped a whole instance: each opened a session, then authenticated
its reader inside it, which needed a second session; with all ten pooled connections
held by requests waiting for an eleventh, every request, the inbox processor and the
delivery worker waited for the pool until it timed out (issue 11, defect 1).

Here every route of the app (read from ``app.routes``, so a new route is covered
without touching this file) gets, at once, more requests than the pool holds, for each
way of asking: a valid bearer token, an invalid ``oce_`` token, a request signed by a
peer's actor, and no credentials. Paths are filled with real records of the instance,
so the requests reach the code that reads them. The workers run during each burst. All
must answer within a bound, none with a server error, and afterwards the instance still
answers an ordinary read at once. The pool is kept small so this stays quick.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from sqlalchemy import select
from starlette.routing import BaseRoute, Mount, Route

from federation import sign_request
from instance.agents import create_agent
from instance.store.models import (
    Agreement,
    Commitment,
    EconomicEvent,
    EconomicResource,
    Proposal,
    ResourceSpecification,
    StoredObject,
)
from instance.tokens import create_token
from tests.fakepeer import AS, FakePeer, PeerActor, signed_post
from tests.harness import Network, Running, make_settings, running

POOL_SIZE = 2
#: How long one burst may take, all its requests together. A request stuck waiting
#: for the pool waits its timeout (30 s): far beyond this.
BURST_SECONDS = 20.0
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
BREAD = "https://www.wikidata.org/wiki/Q7802"
#: Tables whose rows have ids on this instance, served by the routes.
RECORDS = (
    Proposal,
    Agreement,
    Commitment,
    EconomicEvent,
    EconomicResource,
    ResourceSpecification,
    StoredObject,
)


@dataclass
class Seeded:
    instance: Running
    peer: FakePeer
    token: str
    #: Paths (with a query where a route reads one) of real things on the instance.
    paths: list[str]


def _kg(value: str) -> dict[str, str]:
    return {"hasUnit": "kilogram", "hasNumericalValue": value}


async def _post(instance: Running, token: str, username: str, document: Any) -> dict[str, Any]:
    response = await instance.client.post(
        f"/agents/{username}/outbox",
        json=document,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _seed(instance: Running) -> tuple[str, str]:
    """Alice and Bob, and one of each kind of record between them; their tokens."""
    async with instance.services.db.write() as session:
        alice = await create_agent(session, "alice")
        bob = await create_agent(session, "bob")
        alice_token = await create_token(session, alice)
        bob_token = await create_token(session, bob)
    alice_id, bob_id = instance.services.urls.actor("alice"), instance.services.urls.actor("bob")
    await _post(
        instance,
        alice_token,
        "alice",
        {
            "type": "EconomicEvent",
            "action": "raise",
            "provider": alice_id,
            "receiver": alice_id,
            "resourceConformsTo": BREAD,
            "resourceQuantity": _kg("50"),
        },
    )
    spec = await _post(
        instance, alice_token, "alice", {"type": "ResourceSpecification", "name": "Rye"}
    )
    proposal = {
        "type": "Proposal",
        "purpose": "offer",
        "name": "Rye bread",
        "publishes": {
            "type": "Intent",
            "action": "transfer",
            "resourceConformsTo": BREAD,
            "resourceQuantity": _kg("5"),
            "availableQuantity": _kg("30"),
        },
    }
    public = await _post(instance, alice_token, "alice", proposal)
    # Addressed to Bob only: not public, so reading it needs Alice's token.
    await _post(instance, alice_token, "alice", {**proposal, "to": [bob_id]})
    offer = await _post(
        instance,
        bob_token,
        "bob",
        {
            "type": "Offer",
            "object": {
                "type": "Agreement",
                "stipulates": {
                    "type": "Commitment",
                    "satisfies": f"{public['object']['id']}#primary",
                    "resourceQuantity": _kg("5"),
                },
            },
        },
    )
    await instance.settle()
    await _post(instance, alice_token, "alice", {"type": "Accept", "object": offer["id"]})
    await _post(
        instance,
        alice_token,
        "alice",
        {
            "type": "Commitment",
            "action": "work",
            "provider": alice_id,
            "receiver": bob_id,
            "resourceConformsTo": spec["object"]["id"],
            "effortQuantity": {"hasUnit": "hour", "hasNumericalValue": "2"},
        },
    )
    await _post(instance, alice_token, "alice", {"type": "Note", "content": "hi", "to": [PUBLIC]})
    await _post(instance, alice_token, "alice", {"type": "Note", "content": "psst", "to": [bob_id]})
    await instance.settle()
    return alice_token, bob_token


async def _known_paths(instance: Running) -> list[str]:
    """The paths of every record the instance holds, of its agents' documents and of
    everything those documents link to on this instance."""
    urls = instance.services.urls
    found: list[str] = []
    async with instance.services.db.read() as session:
        for model in RECORDS:
            found.extend(uri for uri in (await session.scalars(select(model.uri))).all() if uri)
        agreements = (await session.scalars(select(Agreement.uri))).all()
    found.extend(f"{urls.base}/records?id={quote(uri, safe='')}" for uri in agreements if uri)
    for name in ("alice", "bob"):
        response = await instance.client.get(
            urls.actor(name), headers={"Accept": "application/activity+json"}
        )
        found.append(urls.actor(name))
        found.append(f"{urls.base}/.well-known/webfinger?resource=acct:{name}@{urls.host}")
        found.extend(_links(response.json(), urls.base))
    local = [uri.split("#", 1)[0] for uri in found if uri.startswith(urls.base + "/")]
    return [uri.removeprefix(urls.base) for uri in dict.fromkeys(local)]


def _links(value: Any, base: str) -> list[str]:
    if isinstance(value, str):
        return [value.split("#", 1)[0]] if value.startswith(base + "/") else []
    if isinstance(value, dict):
        return [link for item in value.values() for link in _links(item, base)]
    if isinstance(value, list):
        return [link for item in value for link in _links(item, base)]
    return []


@pytest.fixture
async def seeded(database_url: str) -> AsyncIterator[Seeded]:
    peer = FakePeer()
    network = Network()
    network.add(peer.origin, peer.app())
    settings = make_settings(database_url, database_pool_size=POOL_SIZE)
    async with running(settings, network=network) as instance:
        token, _ = await _seed(instance)
        yield Seeded(instance, peer, token, await _known_paths(instance))


def _app_routes(instance: Running) -> list[Route | Mount]:
    app: Any = instance.app
    while not hasattr(app, "routes"):
        app = app.app  # through the wrappers (lifespan state, security headers)
    routes: list[BaseRoute] = app.routes
    assert all(isinstance(route, Route | Mount) for route in routes), routes
    return [route for route in routes if isinstance(route, Route | Mount)]


def _paths_by_route(routes: list[Route | Mount], known: list[str]) -> list[list[str]]:
    """For each route, up to three real paths it serves (a path goes to the first route
    that matches it, as the router dispatches), else one with placeholder values."""
    served: list[list[str]] = [[] for _ in routes]
    for path in known:
        for n, route in enumerate(routes):
            if route.path_regex.fullmatch(urlsplit(path).path) is not None:
                served[n].append(path)
                break
    for n, route in enumerate(routes):
        if isinstance(route, Mount):
            served[n] = served[n] or [route.path + "/oce.css"]
        else:
            served[n] = served[n][:3] or [re.sub(r"\{[^}]*\}", "nothing-here", route.path)]
    return served


def _signed_get(actor: PeerActor, url: str) -> dict[str, str]:
    headers = {"Accept": "application/activity+json"}
    headers.update(
        sign_request("GET", url, headers, None, actor.key_id, actor.private_key, datetime.now(UTC))
    )
    return headers


def _requests(
    seeded: Seeded, method: str, path: str, count: int
) -> list[tuple[str, dict[str, str], bytes | None]]:
    """``count`` requests of each kind of asker: (credential, headers, body)."""
    base = seeded.instance.services.urls.base
    actor = seeded.peer.actor("mallory")
    made: list[tuple[str, dict[str, str], bytes | None]] = []
    for n in range(count):
        json_accept = {"Accept": "application/activity+json"}
        if method == "POST":
            note = {"type": "Note", "content": f"burst {n}", "to": [PUBLIC]}
            activity = {
                "@context": AS,
                "id": f"{actor.origin}/activities/{uuid.uuid4()}",
                "type": "Create",
                "actor": actor.id,
                "object": {**note, "id": f"{actor.origin}/notes/{uuid.uuid4()}"},
            }
            signed_body, signed_headers = signed_post(actor, base + path, activity)
            body = httpx.Request("POST", "/", json=note).content
            typed = {"Content-Type": "application/activity+json"}
            made += [
                ("valid token", {**typed, "Authorization": f"Bearer {seeded.token}"}, body),
                ("invalid token", {**typed, "Authorization": "Bearer oce_not-a-token"}, body),
                ("signature", signed_headers, signed_body),
                ("nobody", typed, body),
            ]
        else:
            made += [
                ("valid token", {**json_accept, "Authorization": f"Bearer {seeded.token}"}, None),
                ("invalid token", {**json_accept, "Authorization": "Bearer oce_nope"}, None),
                ("signature", _signed_get(actor, base + path), None),
                ("nobody", {"Accept": "text/html"}, None),
            ]
    return made


async def _burst(
    seeded: Seeded, method: str, path: str, count: int, answers: set[tuple[str, str, int]]
) -> list[str]:
    """Send the burst (and run the workers meanwhile); what went wrong, if anything.
    Each answer's ``(path, credential, status)`` is added to ``answers``."""
    client = seeded.instance.client
    problems: list[str] = []

    async def one(credential: str, headers: dict[str, str], body: bytes | None) -> None:
        response = await client.request(method, path, headers=headers, content=body)
        answers.add((path, credential, response.status_code))
        if response.status_code >= 500:
            problems.append(f"{credential}: {response.status_code} {response.text[:300]}")

    requests = _requests(seeded, method, path, count)
    started = time.monotonic()
    try:
        async with asyncio.timeout(BURST_SECONDS):
            await asyncio.gather(
                *(one(*request) for request in requests),
                seeded.instance.workers.run_once(),
            )
    except TimeoutError:
        problems.append(f"not all {len(requests)} requests answered in {BURST_SECONDS} s")
    took = time.monotonic() - started
    return [f"{method} {path} ({took:.1f} s): {problem}" for problem in problems]


async def test_every_route_answers_bursts_larger_than_the_pool(seeded: Seeded) -> None:
    db = seeded.instance.services.db
    pool: Any = db.engine.pool
    capacity = pool.size() + max(pool._max_overflow, 0)
    assert capacity in (POOL_SIZE, 2 * POOL_SIZE)  # SQLite; PostgreSQL with its overflow
    count = capacity + 10
    routes = _app_routes(seeded.instance)
    assert len(routes) > 15
    problems: list[str] = []
    answers: set[tuple[str, str, int]] = set()
    paths = _paths_by_route(routes, seeded.paths)
    for route, served in zip(routes, paths, strict=True):
        methods = ["GET"]
        if isinstance(route, Route) and route.methods:
            methods = sorted(route.methods - {"HEAD"})
        for method in methods:
            for path in served:
                problems += await _burst(seeded, method, path, count, answers)
    assert problems == [], "\n".join(problems)
    # The bursts reached the records themselves: Alice's token read each kind of them.
    for prefix in (
        "/proposals/",
        "/agreements/",
        "/commitments/",
        "/events/",
        "/resources/",
        "/records?id=",
        "/agents/alice/agreements",
    ):
        assert any(
            path.startswith(prefix) and credential == "valid token" and status == 200
            for path, credential, status in answers
        ), prefix
    # The pool is whole again: an ordinary read answers at once.
    started = time.monotonic()
    response = await seeded.instance.client.get(
        "/agents/alice", headers={"Accept": "application/activity+json"}
    )
    assert response.status_code == 200
    assert time.monotonic() - started < 1.0
    assert {path for path, _, _ in answers} >= {served[0] for served in paths}


async def test_records_are_found_for_the_routes_that_read_them(seeded: Seeded) -> None:
    """The burst test reaches real records: each record route has a real path to use."""
    for prefix in ("/proposals/", "/agreements/", "/commitments/", "/events/", "/resources/"):
        assert any(path.startswith(prefix) for path in seeded.paths), prefix
    assert any(path.startswith("/records?id=") for path in seeded.paths)
