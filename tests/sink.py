"""A counting federation peer, run as its own process for end-to-end load tests.

``python -m tests.sink KEYFILE PORT [PORT ...]`` serves, on each 127.0.0.1 port (one
"host" each), any number of actors ``/users/{name}`` that all publish the public half
of the RSA key in ``KEYFILE`` (the test signs their requests with it). Their inboxes
verify every POST's HTTP signature and digest with the sender's key, fetched from the
sender's server as any peer would, and record what arrived; ``GET /_received`` lists
it: ``{"received": [[inbox, activity id, type, object id], ...], "refused": [...]}``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import (
    Headers,
    PublicKey,
    RequestParts,
    SignatureError,
    key_from_document,
    load_private_key,
    public_key_pem,
    signature_key_id,
)
from federation.verify import verify_request

AS = "https://www.w3.org/ns/activitystreams"


def _object_id(activity: dict[str, Any]) -> str | None:
    target = activity.get("object")
    if isinstance(target, dict):
        target = target.get("id")
    return target if isinstance(target, str) else None


def app(public_pem: str) -> Starlette:
    received: list[list[str | None]] = []
    refused: list[str] = []
    keys: dict[str, PublicKey] = {}
    client = httpx.AsyncClient(timeout=10)

    async def key_for(key_id: str) -> PublicKey:
        if key_id not in keys:
            response = await client.get(
                key_id.partition("#")[0], headers={"Accept": "application/activity+json"}
            )
            response.raise_for_status()
            keys[key_id] = key_from_document(response.json(), key_id)
        return keys[key_id]

    async def actor(request: Request) -> Response:
        origin = f"http://{request.headers['host']}"
        uri = f"{origin}/users/{request.path_params['name']}"
        document = {
            "@context": [AS, "https://w3id.org/security/v1"],
            "id": uri,
            "type": "Person",
            "preferredUsername": request.path_params["name"],
            "inbox": f"{uri}/inbox",
            "outbox": f"{uri}/outbox",
            "followers": f"{uri}/followers",
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": public_pem},
        }
        return JSONResponse(document, media_type="application/activity+json")

    async def inbox(request: Request) -> Response:
        body = await request.body()
        headers = Headers(
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        )
        parts = RequestParts(
            method="POST",
            target=request.url.path,
            host=request.headers["host"],
            headers=headers,
            body=body,
            scheme="http",
        )
        url = f"http://{request.headers['host']}{request.url.path}"
        try:
            verify_request(
                parts,
                await key_for(signature_key_id(headers)),
                datetime.now(UTC),
                require_digest=True,
            )
        except (SignatureError, httpx.HTTPError) as exc:
            refused.append(f"{url}: {exc}")
            return Response(status_code=401)
        activity = json.loads(body)
        received.append([url, activity.get("id"), activity.get("type"), _object_id(activity)])
        return Response(status_code=202)

    async def report(_request: Request) -> Response:
        return JSONResponse({"received": received, "refused": refused})

    async def nothing(_request: Request) -> Response:
        return Response(status_code=404)

    return Starlette(
        routes=[
            Route("/users/{name}", actor),
            Route("/users/{name}/inbox", inbox, methods=["POST"]),
            Route("/_received", report),
            Route("/.well-known/nodeinfo", nothing),
        ]
    )


def main(argv: list[str]) -> None:
    key_file, *ports = argv
    private = load_private_key(Path(key_file).read_text())
    sockets = []
    for port in ports:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", int(port)))
        sockets.append(sock)
    config = uvicorn.Config(app(public_key_pem(private.public_key())), log_level="warning")
    asyncio.run(uvicorn.Server(config).serve(sockets=sockets))


if __name__ == "__main__":
    main(sys.argv[1:])
