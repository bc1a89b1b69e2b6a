"""HttpSignatureAuth signs every request, and what it signs verifies."""

from __future__ import annotations

from datetime import datetime

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.auth import HttpSignatureAuth
from federation.digest import digest_header
from federation.headers import Headers
from federation.httpsig import parse_signature_header
from federation.keys import PublicKey
from federation.request import RequestParts
from federation.verify import verify_request

from .conftest import ACTOR, KEY_ID, NOW


def capture() -> tuple[list[httpx.Request], httpx.MockTransport]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    return seen, httpx.MockTransport(handler)


def as_parts(request: httpx.Request) -> RequestParts:
    return RequestParts(
        request.method,
        request.url.raw_path.decode(),
        request.headers["host"],
        Headers(request.headers.multi_items()),
        request.content,
    )


def clock() -> datetime:
    return NOW


async def test_post_is_signed_with_digest_and_content_type(rsa_key: rsa.RSAPrivateKey) -> None:
    seen, transport = capture()
    auth = HttpSignatureAuth(KEY_ID, rsa_key, clock=clock)
    body = b'{"type":"Follow"}'
    async with httpx.AsyncClient(transport=transport) as client:
        await client.post(
            "https://remote.example/inbox",
            content=body,
            headers={"Content-Type": "application/activity+json"},
            auth=auth,
        )
    request = seen[0]
    assert request.headers["digest"] == digest_header(body)
    assert request.headers["date"] == "Sat, 01 Mar 2025 12:00:00 GMT"
    params = parse_signature_header(request.headers.multi_items())
    assert params.algorithm == "rsa-sha256"
    assert params.headers == ("(request-target)", "host", "date", "digest", "content-type")
    key = PublicKey(KEY_ID, ACTOR, rsa_key.public_key())
    assert verify_request(as_parts(request), key, NOW, require_digest=True).actor_id == ACTOR


async def test_get_is_signed_too(rsa_key: rsa.RSAPrivateKey) -> None:
    seen, transport = capture()
    auth = HttpSignatureAuth(KEY_ID, rsa_key, clock=clock)
    async with httpx.AsyncClient(transport=transport, auth=auth) as client:
        await client.get(
            "https://remote.example:8443/users/alice?x=1",
            headers={"Accept": "application/activity+json"},
        )
    request = seen[0]
    assert "digest" not in request.headers
    assert request.headers["host"] == "remote.example:8443"
    params = parse_signature_header(request.headers.multi_items())
    assert params.headers == ("(request-target)", "host", "date", "accept")
    key = PublicKey(KEY_ID, ACTOR, rsa_key.public_key())
    assert verify_request(as_parts(request), key, NOW, require_digest=False).key_id == KEY_ID


def test_sync_client_works_as_well(rsa_key: rsa.RSAPrivateKey) -> None:
    seen, transport = capture()
    with httpx.Client(transport=transport, auth=HttpSignatureAuth(KEY_ID, rsa_key)) as client:
        client.post("https://remote.example/inbox", content=b"{}")
    assert "signature" in seen[0].headers
    assert repr(HttpSignatureAuth(KEY_ID, rsa_key)) == f"HttpSignatureAuth(key_id={KEY_ID!r})"
