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

from federation.errors import FetchRefused, KeyFormatError, OriginError
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
        with pytest.raises(OriginError, match="has the id"):
            await fetch_remote_key(fetcher, f"{base}/users/alice#main-key")


def _person(me: str, key_id: str, pem: str) -> dict[str, Any]:
    return {
        "id": me,
        "type": "Person",
        "publicKey": {"id": key_id, "owner": me, "publicKeyPem": pem},
    }


async def test_a_document_served_under_another_id_cannot_vouch_for_a_fragment_key(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    """Defect 7: `/users/mallory` answers with a document whose id is `/users/alice`
    and lists `/users/mallory#main-key` as alice's; the key is not alice's."""
    pem = public_key_pem(rsa_key.public_key())

    async def run(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        alice = f"{base}/users/alice"
        return json_response(_person(alice, f"{base}/users/mallory#main-key", pem))

    app = Starlette(routes=[Route("/users/mallory", run)])
    async with serve(app) as base, httpx.AsyncClient(transport=guarded_transport(True)) as client:
        fetcher = SafeFetcher(client, None, allow_private_network=True)
        with pytest.raises(OriginError, match="not its URL"):
            await fetch_remote_key(fetcher, f"{base}/users/mallory#main-key")


async def test_a_key_url_answered_with_a_stub_is_confirmed_by_its_owner(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    """A key id without a fragment (GoToSocial's `/users/a/main-key`) may be served as
    a stub of the actor whose id is not the key URL: its owner decides."""
    pem = public_key_pem(rsa_key.public_key())
    owner_lists: list[str] = [pem]

    async def run(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        me, key_id = f"{base}/users/alice", f"{base}/users/alice/main-key"
        if request.url.path.endswith("/main-key"):
            return json_response(_person(me, key_id, pem))
        return json_response(_person(me, key_id, owner_lists[0]))

    app = Starlette(routes=[Route("/users/alice", run), Route("/users/alice/main-key", run)])
    async with serve(app) as base, httpx.AsyncClient(transport=guarded_transport(True)) as client:
        fetcher = SafeFetcher(client, None, allow_private_network=True)
        key = await fetch_remote_key(fetcher, f"{base}/users/alice/main-key")
        assert key.owner == f"{base}/users/alice"
        # The owner's own document now lists another key under that id: the stub loses.
        other = ed25519.Ed25519PrivateKey.generate()
        owner_lists[0] = public_key_pem(other.public_key())
        with pytest.raises(KeyFormatError, match="publishes a different key"):
            await fetch_remote_key(fetcher, f"{base}/users/alice/main-key")


async def test_a_key_document_naming_an_owner_elsewhere_is_refused(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    pem = public_key_pem(rsa_key.public_key())

    async def run(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return json_response(
            {
                "id": f"{base}/keys/1",
                "type": "Key",
                "owner": "https://victim.example/users/alice",
                "publicKeyPem": pem,
            }
        )

    app = Starlette(routes=[Route("/keys/1", run)])
    async with serve(app) as base, httpx.AsyncClient(transport=guarded_transport(True)) as client:
        fetcher = SafeFetcher(client, None, allow_private_network=True)
        with pytest.raises(OriginError, match="owner on another origin"):
            await fetch_remote_key(fetcher, f"{base}/keys/1")


async def test_a_key_fetch_never_follows_a_redirect_to_another_origin(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    """The key's origin sends us to another server, whose document is self-consistent
    (and would pass if judged by its own URL): refused, the key's origin vouches alone."""
    pem = public_key_pem(rsa_key.public_key())

    async def elsewhere(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return json_response(_person(f"{base}/users/alice", f"{base}/users/alice#main-key", pem))

    other_app = Starlette(routes=[Route("/users/alice", elsewhere)])
    async with serve(other_app) as other:
        other = other.replace("127.0.0.1", "localhost")

        async def redirect(request: Request) -> Response:
            return Response(status_code=302, headers={"Location": f"{other}/users/alice"})

        app = Starlette(routes=[Route("/users/alice", redirect)])
        async with (
            serve(app) as base,
            httpx.AsyncClient(transport=guarded_transport(True)) as client,
        ):
            fetcher = SafeFetcher(client, None, allow_private_network=True)
            for key_id in (f"{base}/users/alice#main-key", f"{base}/users/alice"):
                with pytest.raises(FetchRefused, match="redirect to another origin"):
                    await fetch_remote_key(fetcher, key_id)
