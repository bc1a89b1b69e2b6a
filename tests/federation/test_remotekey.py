"""Finding a key in actor and key documents, and fetching it over loopback."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation.errors import KeyFormatError, OriginError
from federation.fetcher import SafeFetcher
from federation.keycache import KeyCache
from federation.keys import public_key_pem
from federation.multikey import encode_ed25519_multikey
from federation.remotekey import fetch_remote_key, key_from_document
from federation.transport import guarded_transport

from .servers import serve

ACTOR = "https://remote.example/users/alice"


def actor_doc(key: rsa.RSAPrivateKey, **extra: Any) -> dict[str, Any]:
    return {
        "id": ACTOR,
        "type": "Person",
        "publicKey": {
            "id": f"{ACTOR}#main-key",
            "owner": ACTOR,
            "publicKeyPem": public_key_pem(key.public_key()),
        },
        **extra,
    }


def test_key_embedded_in_actor(rsa_key: rsa.RSAPrivateKey) -> None:
    key = key_from_document(actor_doc(rsa_key), f"{ACTOR}#main-key")
    assert (key.key_id, key.owner, key.kind) == (f"{ACTOR}#main-key", ACTOR, "rsa")


def test_key_in_a_list_and_multikey(
    rsa_key: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey
) -> None:
    doc = actor_doc(rsa_key)
    doc["publicKey"] = [doc["publicKey"]]
    doc["assertionMethod"] = [
        {
            "id": f"{ACTOR}#ed",
            "type": "Multikey",
            "controller": ACTOR,
            "publicKeyMultibase": encode_ed25519_multikey(ed_key.public_key()),
        }
    ]
    assert key_from_document(doc, f"{ACTOR}#main-key").kind == "rsa"
    assert key_from_document(doc, f"{ACTOR}#ed").kind == "ed25519"


def test_standalone_key_document_yields_its_owner(rsa_key: rsa.RSAPrivateKey) -> None:
    doc = {
        "id": f"{ACTOR}/key",
        "type": "Key",
        "owner": ACTOR,
        "publicKeyPem": public_key_pem(rsa_key.public_key()),
    }
    assert key_from_document(doc, f"{ACTOR}/key").owner == ACTOR


@pytest.mark.parametrize(
    ("mutate", "why"),
    [
        (
            lambda d: d["publicKey"].update(owner="https://remote.example/users/mallory"),
            "names owner",
        ),
        (lambda d: d["publicKey"].pop("owner"), "has no owner"),
        (lambda d: d["publicKey"].pop("publicKeyPem"), "neither publicKeyPem"),
        (lambda d: d["publicKey"].update(id=f"{ACTOR}#other"), "does not publish"),
        (lambda d: d.pop("id"), "no id"),
    ],
)
def test_key_document_refusals(rsa_key: rsa.RSAPrivateKey, mutate: Any, why: str) -> None:
    doc = json.loads(json.dumps(actor_doc(rsa_key)))
    mutate(doc)
    with pytest.raises(KeyFormatError, match=why):
        key_from_document(doc, f"{ACTOR}#main-key")


def json_response(doc: dict[str, Any]) -> Response:
    return Response(json.dumps(doc), media_type="application/activity+json")


async def test_fetch_remote_key_through_the_cache(rsa_key: rsa.RSAPrivateKey) -> None:
    pem = public_key_pem(rsa_key.public_key())

    def actor(base: str) -> dict[str, Any]:
        me = f"{base}/users/alice"
        keys = [{"id": f"{me}#main-key", "owner": me, "publicKeyPem": pem}]
        keys.append({"id": f"{base}/keys/1", "owner": me, "publicKeyPem": pem})
        return {"id": me, "type": "Person", "publicKey": keys}

    def key_document(base: str, number: str) -> dict[str, Any]:
        return {
            "id": f"{base}/keys/{number}",
            "type": "Key",
            "owner": f"{base}/users/alice",
            "publicKeyPem": pem,
        }

    async def run(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        if request.url.path == "/users/alice":
            return json_response(actor(base))
        return json_response(key_document(base, request.path_params["number"]))

    app = Starlette(routes=[Route("/users/alice", run), Route("/keys/{number}", run)])
    async with serve(app) as base, httpx.AsyncClient(transport=guarded_transport(True)) as client:
        fetcher = SafeFetcher(client, None, allow_private_network=True)
        cache = KeyCache(lambda key_id: fetch_remote_key(fetcher, key_id))
        key = await cache.get(f"{base}/users/alice#main-key")
        assert key.owner == f"{base}/users/alice"
        assert key.fetched_at is not None
        # A standalone key document counts only when its owner lists it back.
        assert (await fetch_remote_key(fetcher, f"{base}/keys/1")).owner == f"{base}/users/alice"
        with pytest.raises(KeyFormatError, match="does not publish the key"):
            await fetch_remote_key(fetcher, f"{base}/keys/2")


async def test_fetch_remote_key_refuses_a_document_from_another_origin(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    app = Starlette(routes=[Route("/users/alice", lambda r: json_response(actor_doc(rsa_key)))])
    async with serve(app) as base, httpx.AsyncClient(transport=guarded_transport(True)) as client:
        fetcher = SafeFetcher(client, None, allow_private_network=True)
        with pytest.raises(OriginError, match="has id"):
            await fetch_remote_key(fetcher, f"{base}/users/alice#main-key")
