"""A scriptable remote server for in-process federation tests.

It publishes actors with keys we hold (so tests can sign as them, or sign wrongly on
purpose), records every POST to its inboxes, and answers with whatever status a test
sets. It is mounted on a :class:`tests.harness.Network` at its origin.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import (
    generate_rsa_keypair,
    load_private_key,
    sign_request,
)
from federation.keys import PrivateKeyType

AS = "https://www.w3.org/ns/activitystreams"


@dataclass
class PeerActor:
    origin: str
    name: str
    private_key: PrivateKeyType
    public_pem: str

    @property
    def id(self) -> str:
        return f"{self.origin}/users/{self.name}"

    @property
    def key_id(self) -> str:
        return f"{self.id}#main-key"

    @property
    def inbox(self) -> str:
        return f"{self.id}/inbox"

    def document(self) -> dict[str, Any]:
        return {
            "@context": [AS, "https://w3id.org/security/v1"],
            "id": self.id,
            "type": "Person",
            "preferredUsername": self.name,
            "name": self.name.title(),
            "inbox": self.inbox,
            "outbox": f"{self.id}/outbox",
            "followers": f"{self.id}/followers",
            "endpoints": {"sharedInbox": f"{self.origin}/inbox"},
            "publicKey": {"id": self.key_id, "owner": self.id, "publicKeyPem": self.public_pem},
        }


@dataclass
class Received:
    path: str
    headers: httpx.Headers
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class FakePeer:
    origin: str = "https://peer.test"
    actors: dict[str, PeerActor] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    #: Status the inboxes answer with (and optional headers), e.g. 500 or 429.
    inbox_status: int = 202
    inbox_headers: dict[str, str] = field(default_factory=dict)
    #: The NodeInfo 2.0 document it serves (None: it has no NodeInfo, 404).
    nodeinfo: dict[str, Any] | None = None
    #: Writes its actors' documents (default: :meth:`PeerActor.document`).
    actor_document: Callable[[PeerActor], dict[str, Any]] | None = None
    #: Every GET it answered, by path (what a test may check was or was not fetched).
    fetched: list[str] = field(default_factory=list)

    def actor(self, name: str) -> PeerActor:
        if name not in self.actors:
            pair = generate_rsa_keypair()
            self.actors[name] = PeerActor(
                self.origin, name, load_private_key(pair.private_pem), pair.public_pem
            )
        return self.actors[name]

    def rotate_key(self, name: str) -> None:
        pair = generate_rsa_keypair()
        actor = self.actors[name]
        actor.private_key = load_private_key(pair.private_pem)
        actor.public_pem = pair.public_pem

    def app(self) -> Starlette:
        async def actor_document(request: Request) -> Response:
            self.fetched.append(request.url.path)
            actor = self.actors.get(request.path_params["name"])
            if actor is None:
                return JSONResponse({"error": "gone"}, status_code=410)
            document = self.actor_document(actor) if self.actor_document else actor.document()
            return JSONResponse(document, media_type="application/activity+json")

        async def nodeinfo_links(request: Request) -> Response:
            self.fetched.append(request.url.path)
            if self.nodeinfo is None:
                return JSONResponse({"error": "not found"}, status_code=404)
            schema = "http://nodeinfo.diaspora.software/ns/schema/2.0"
            href = f"{self.origin}/nodeinfo/2.0"
            return JSONResponse({"links": [{"rel": schema, "href": href}]})

        async def nodeinfo(request: Request) -> Response:
            self.fetched.append(request.url.path)
            if self.nodeinfo is None:
                return JSONResponse({"error": "not found"}, status_code=404)
            profile = 'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.0#"'
            return JSONResponse(self.nodeinfo, media_type=profile)

        async def inbox(request: Request) -> Response:
            self.received.append(
                Received(request.url.path, httpx.Headers(request.headers.raw), await request.body())
            )
            return Response(status_code=self.inbox_status, headers=self.inbox_headers)

        return Starlette(
            routes=[
                Route("/users/{name}", actor_document),
                Route("/users/{name}/inbox", inbox, methods=["POST"]),
                Route("/inbox", inbox, methods=["POST"]),
                Route("/.well-known/nodeinfo", nodeinfo_links),
                Route("/nodeinfo/2.0", nodeinfo),
            ]
        )

    def activities(self, kind: str | None = None) -> list[dict[str, Any]]:
        found = [r.json for r in self.received]
        return [a for a in found if kind is None or a.get("type") == kind]


def signed_post(
    actor: PeerActor,
    url: str,
    document: dict[str, Any] | bytes,
    *,
    now: datetime | None = None,
    key_id: str | None = None,
    private_key: PrivateKeyType | None = None,
    content_type: str = "application/activity+json",
) -> tuple[bytes, dict[str, str]]:
    """A body and the headers that sign it as ``actor`` (or with another key)."""
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    headers = {"Content-Type": content_type}
    headers.update(
        sign_request(
            "POST",
            url,
            headers,
            body,
            key_id or actor.key_id,
            private_key or actor.private_key,
            now or datetime.now(UTC),
        )
    )
    return body, headers
