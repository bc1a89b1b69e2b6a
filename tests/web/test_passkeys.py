"""Signing in with a passkey, in process: a software authenticator (an EC P-256 key
made here, signing exactly as an authenticator does) answers the server's challenges,
and every way a sign-in can be wrong is refused and counted."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import timedelta
from typing import Any

import cbor2
import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select, update

from instance.store.models import LoginThrottle, Passkey, PasskeyChallenge, utcnow
from instance.web.app.sessions import COOKIE
from tests.harness import Running
from tests.web.signing import form_token

HTML = {"Accept": "text/html"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Authenticator:
    """One discoverable credential for alice at a.test."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.id = os.urandom(16)
        self.count = 0

    def cose(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({
            1: 2, 3: -7, -1: 1,
            -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big"),
        })  # fmt: skip

    def assertion(self, challenge: str, origin: str = "https://a.test") -> dict[str, Any]:
        self.count += 1
        client = json.dumps(
            {"type": "webauthn.get", "challenge": challenge, "origin": origin}
        ).encode()
        data = hashlib.sha256(b"a.test").digest() + bytes([0x05]) + self.count.to_bytes(4, "big")
        signature = self.key.sign(data + hashlib.sha256(client).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64(self.id),
            "rawId": b64(self.id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client),
                "authenticatorData": b64(data),
                "signature": b64(signature),
            },
            "clientExtensionResults": {},
        }


async def _enrol(site: Running, device: Authenticator) -> None:
    async with site.services.db.write() as session:
        from instance.agents import get_agent

        alice = await get_agent(session, "alice")
        assert alice is not None
        session.add(
            Passkey(
                agent_id=alice.id,
                credential_id=b64(device.id),
                public_key=b64(device.cose()),
                name="laptop",
            )
        )


async def _options(client: httpx.AsyncClient) -> tuple[str, str]:
    token = form_token((await client.get("/login", headers=HTML)).text)
    answer = await client.post("/login/passkey/options", headers={"X-CSRF-Token": token})
    assert answer.status_code == 200, answer.text
    options = answer.json()
    assert options["rpId"] == "a.test"
    assert options["userVerification"] == "preferred"
    return token, options["challenge"]


async def _finish(client: httpx.AsyncClient, token: str, credential: Any) -> httpx.Response:
    return await client.post(
        "/login/passkey",
        json={"credential": credential, "next": "/app/passkeys"},
        headers={"X-CSRF-Token": token},
    )


async def _failures(site: Running) -> dict[str, int]:
    async with site.services.db.read() as session:
        rows = await session.scalars(select(LoginThrottle))
        return {row.key: row.failures for row in rows}


async def test_a_registered_passkey_signs_in_once_per_challenge(site: Running) -> None:
    device = Authenticator()
    await _enrol(site, device)
    token, challenge = await _options(site.client)
    answer = await _finish(site.client, token, device.assertion(challenge))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"next": "/app/passkeys"}
    assert "HttpOnly" in answer.headers["set-cookie"]
    assert COOKIE in site.client.cookies
    page = await site.client.get("/app/passkeys", headers=HTML)
    assert page.status_code == 200
    assert "laptop" in page.text
    # The same challenge answered again (a replay, with a fresh form token) is refused.
    token = form_token((await site.client.get("/login", headers=HTML)).text)
    again = await _finish(site.client, token, device.assertion(challenge))
    assert again.status_code == 400
    assert again.json()["field"] == "challenge"


async def test_refusals_are_counted_and_sign_nobody_in(site: Running) -> None:
    device = Authenticator()
    await _enrol(site, device)
    client = site.client
    # An unknown credential.
    token, challenge = await _options(client)
    stranger = Authenticator().assertion(challenge)
    answer = await _finish(client, token, stranger)
    assert answer.status_code == 401
    assert answer.json()["detail"] == "this passkey is not registered here"
    # A wrong origin (a phishing page relaying the challenge).
    token, challenge = await _options(client)
    answer = await _finish(client, token, device.assertion(challenge, "https://evil.test"))
    assert answer.status_code == 401
    assert "origin" in answer.json()["detail"].lower()
    # A challenge the server never gave.
    answer = await _finish(client, token, device.assertion(b64(os.urandom(32))))
    assert answer.status_code == 400
    assert answer.json()["field"] == "challenge"
    # An expired challenge.
    token, challenge = await _options(client)
    async with site.services.db.write() as session:
        await session.execute(
            update(PasskeyChallenge).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    answer = await _finish(client, token, device.assertion(challenge))
    assert answer.status_code == 400
    assert answer.json()["field"] == "challenge"
    # A body that is not a credential, and one that is not JSON.
    answer = await _finish(client, token, "nonsense")
    assert answer.status_code == 400
    assert answer.json()["field"] == "credential"
    answer = await client.post(
        "/login/passkey",
        content=b"{not json",
        headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json()["field"] == "body"
    # Without the sign-in form's token.
    token, challenge = await _options(client)
    answer = await _finish(client, "forged", device.assertion(challenge))
    assert answer.status_code == 403
    assert COOKIE not in client.cookies
    counted = await _failures(site)
    # Five refusals reached the checks (unknown, origin, never issued, expired, not a
    # credential); the unreadable body and the forged token were turned away before.
    (address,) = [key for key in counted if key.startswith("address:")]
    assert counted[address] == 5
    assert counted.get("account:alice", 0) == 1  # the wrong origin named her passkey


async def test_registering_needs_the_session_and_its_token(site: Running) -> None:
    client = site.client
    refused = await client.post("/app/passkeys/options", headers={"X-CSRF-Token": "x"})
    assert refused.status_code == 403
    from tests.web.signing import page_token, sign_in

    await sign_in(client, "alice")
    token = await page_token(client, "/app/passkeys")
    answer = await client.post("/app/passkeys/options", headers={"X-CSRF-Token": token})
    assert answer.status_code == 200
    options = answer.json()
    assert options["rp"]["id"] == "a.test"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    # A sign-in challenge cannot be used to register, nor a bad body.
    bad = await client.post(
        "/app/passkeys/register",
        json={"name": "x", "credential": {"id": "a", "response": {"clientDataJSON": "%%"}}},
        headers={"X-CSRF-Token": token},
    )
    assert bad.status_code == 400
    async with site.services.db.read() as session:
        assert list(await session.scalars(select(Passkey))) == []


async def test_the_passkeys_page_speaks_french(site: Running) -> None:
    from tests.web.signing import sign_in

    await sign_in(site.client, "alice")
    page = await site.client.get(
        "/app/passkeys", headers={"Accept": "text/html", "Accept-Language": "fr"}
    )
    assert page.status_code == 200
    assert "<h1>Clés d&#39;accès</h1>" in page.text or "<h1>Clés d'accès</h1>" in page.text
    assert (
        "Pas encore de clé d&#39;accès." in page.text or "Pas encore de clé d'accès." in page.text
    )
