"""Who a peer is, against real ``oce serve`` processes: keys only from their own origin,
signatures only for this instance, and addresses that are never peers.

The peers are real HTTP servers on loopback (``tests.fakepeer`` under uvicorn, in this
test's event loop); the instance is a real process (one, or ``--workers 2``) on the
test's database, restarted where the attack needs a cold cache.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from federation import load_public_key
from instance.store.db import create_engine
from tests.fakepeer import AS, FakePeer, PeerActor, signed_post
from tests.federation.servers import serve
from tests.processes import Process, free_port, instance_env

pytestmark = pytest.mark.e2e

#: How long a starting ``oce serve`` may take to answer (two web processes on a busy
#: machine have taken more than 30 s).
READY_SECONDS = 90.0


async def until(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 60) -> None:
    """Poll until ``check`` holds (the instance is another process: nothing to await)."""
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def query(database_url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Read the instance's database as stored (SQLite or PostgreSQL)."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in await connection.execute(text(sql), params)]
    finally:
        await engine.dispose()


async def start(process: Process) -> None:
    """Start ``process`` and wait until it answers (generously: the machine is shared)."""
    await asyncio.to_thread(process.start, False)
    await asyncio.to_thread(process.wait_ready, READY_SECONDS)


@asynccontextmanager
async def instance(
    database_url: str, tmp_path: Path, *args: str, **extra: str
) -> AsyncIterator[Process]:
    """``oce serve`` with ``args``, stopped when the block ends; the agent bob exists."""
    base_url = f"http://127.0.0.1:{free_port()}"
    env = instance_env(base_url, database_url, **extra)
    process = Process("oce", base_url, env, tmp_path / "oce.log", args=("serve", *args))
    # Blocking calls go to a thread: the peers answer from this test's event loop.
    await start(process)
    try:
        await asyncio.to_thread(process.cli, "agent", "create", "bob")
        yield process
    finally:
        await asyncio.to_thread(process.stop)


def follow(actor: PeerActor, target: str) -> dict[str, Any]:
    return {
        "@context": AS,
        "id": f"{actor.origin}/activities/{uuid.uuid4()}",
        "type": "Follow",
        "actor": actor.id,
        "object": target,
    }


async def post(
    inbox: str, body: bytes, headers: dict[str, str], **extra_headers: str
) -> httpx.Response:
    # A new connection each time, so that every web process gets its share.
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(inbox, content=body, headers={**headers, **extra_headers})


async def stored_key(database_url: str, key_id: str) -> tuple[str, str] | None:
    rows = await query(
        database_url, "SELECT owner, public_key_pem FROM remote_keys WHERE key_id = :k", k=key_id
    )
    return (rows[0][0], rows[0][1]) if rows else None


async def processed(database_url: str, activity_id: str) -> bool:
    rows = await query(
        database_url, "SELECT state FROM inbox_items WHERE activity_uri = :a", a=activity_id
    )
    return bool(rows) and rows[0][0] != "pending"


async def inbox_ids(database_url: str) -> set[str]:
    return {row[0] for row in await query(database_url, "SELECT activity_uri FROM inbox_items")}


# Defect 2 -------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "workers-2"])
async def test_a_server_cannot_take_over_another_servers_key(
    database_url: str, tmp_path: Path, workers: int
) -> None:
    """mallory's server lists alice's key id (alice is on another server) with its own
    PEM, in mallory's actor document and in an ``Update`` mallory signs, then signs as
    alice with that key id. Refused: at once, by every web process, and after a restart.
    """
    victim, attacker = FakePeer(origin="http://placeholder"), FakePeer(origin="http://placeholder")
    async with serve(victim.app()) as victim.origin, serve(attacker.app()) as attacker.origin:
        alice, mallory = victim.actor("alice"), attacker.actor("mallory")

        def claiming_alices_key(actor: PeerActor) -> dict[str, Any]:
            document = actor.document()
            stolen = {"id": alice.key_id, "owner": actor.id, "publicKeyPem": actor.public_pem}
            document["publicKey"] = [document["publicKey"], stolen]
            return document

        attacker.actor_document = claiming_alices_key
        async with instance(database_url, tmp_path, "--workers", str(workers)) as oce:
            inbox, bob = f"{oce.base_url}/inbox", f"{oce.base_url}/agents/bob"

            async def answered(peer: FakePeer, count: int) -> bool:
                return len(peer.activities("Accept")) >= count

            # alice follows bob: the instance holds her key from now on.
            response = await post(inbox, *signed_post(alice, inbox, follow(alice, bob)))
            assert response.status_code == 202, response.text
            await until(lambda: answered(victim, 1), "bob's Accept to alice")
            # mallory follows bob (his actor document is fetched), then sends an Update of
            # himself, signed with his own key: both list alice's key id with his PEM.
            assert (
                await post(inbox, *signed_post(mallory, inbox, follow(mallory, bob)))
            ).status_code == 202
            await until(lambda: answered(attacker, 1), "bob's Accept to mallory")
            update_id = f"{attacker.origin}/activities/{uuid.uuid4()}"
            update = {
                "@context": [AS, "https://w3id.org/security/v1"],
                "id": update_id,
                "type": "Update",
                "actor": mallory.id,
                "object": claiming_alices_key(mallory),
            }
            assert (await post(inbox, *signed_post(mallory, inbox, update))).status_code == 202
            await until(lambda: processed(database_url, update_id), "the Update processed")

            async def forgeries_refused() -> list[str]:
                forged = []
                for _ in range(3 * workers):
                    activity = follow(alice, bob)
                    body, headers = signed_post(
                        alice, inbox, activity, private_key=mallory.private_key
                    )
                    response = await post(inbox, body, headers)
                    assert response.status_code == 401, (response.status_code, response.text)
                    assert "signature" in response.json()["detail"]
                    forged.append(activity["id"])
                return forged

            forged = await forgeries_refused()
            # alice's key is hers, as her server publishes it.
            owner, pem = await stored_key(database_url, alice.key_id) or ("", "")
            assert owner == alice.id
            assert load_public_key(pem) == load_public_key(alice.public_pem)

            # After a restart nothing is cached: the database alone must still say no.
            await asyncio.to_thread(oce.stop)
            await start(oce)
            forged += await forgeries_refused()
            assert not set(forged) & await inbox_ids(database_url)
            # alice herself is still believed.
            response = await post(inbox, *signed_post(alice, inbox, follow(alice, bob)))
            assert response.status_code == 202, response.text


# Defect 7 -------------------------------------------------------------------------------


async def test_a_key_document_must_be_served_at_its_own_id(
    database_url: str, tmp_path: Path
) -> None:
    """alice's server has an open redirect and serves user uploads as ActivityStreams.
    mallory signs as alice with key ids that lead there: a redirect to his own server,
    whose document claims to be alice and lists the key; and an upload on alice's
    server whose id is alice's actor. Neither document is at its own id: refused, and
    nothing is stored or answered."""
    victim, attacker = FakePeer(origin="http://placeholder"), FakePeer(origin="http://placeholder")
    mallory = attacker.actor("mallory")  # only his key pair is used
    uploads: dict[str, dict[str, Any]] = {}
    key_ids: list[str] = []

    def pretending_to_be_alice(key_id: str) -> dict[str, Any]:
        document = victim.actor("alice").document()
        document["publicKey"] = {
            "id": key_id,
            "owner": document["id"],
            "publicKeyPem": mallory.public_pem,
        }
        return document

    async def open_redirect(request: Request) -> Response:
        return RedirectResponse(request.query_params["to"], status_code=302)

    async def upload(request: Request) -> Response:
        found = uploads.get(request.path_params["name"])
        if found is None:
            return Response(status_code=404)
        return JSONResponse(found, media_type="application/activity+json")

    async def attackers_document(_request: Request) -> Response:
        return JSONResponse(
            pretending_to_be_alice(key_ids[0]), media_type="application/activity+json"
        )

    victim_app = victim.app()
    victim_app.router.routes += [Route("/go", open_redirect), Route("/uploads/{name}", upload)]
    attacker_app = Starlette(routes=[Route("/doc", attackers_document)])
    async with (
        serve(victim_app) as victim.origin,
        serve(attacker_app) as attacker.origin,
        instance(database_url, tmp_path) as oce,
    ):
        alice = victim.actor("alice")
        inbox, bob = f"{oce.base_url}/inbox", f"{oce.base_url}/agents/bob"
        redirect = httpx.URL(f"{victim.origin}/go", params={"to": f"{attacker.origin}/doc"})
        key_ids += [f"{redirect}#main-key", f"{victim.origin}/uploads/card#main-key"]
        uploads["card"] = pretending_to_be_alice(key_ids[1])
        sent = []
        for key_id in key_ids:
            activity = follow(alice, bob)
            body, headers = signed_post(
                alice, inbox, activity, key_id=key_id, private_key=mallory.private_key
            )
            response = await post(inbox, body, headers)
            assert response.status_code == 401, (key_id, response.text)
            assert "cannot get the signing key" in response.json()["detail"]
            sent.append(activity["id"])
        assert not set(sent) & await inbox_ids(database_url)
        assert await query(database_url, "SELECT key_id FROM remote_keys") == []
        assert victim.activities("Accept") == []


# Defect 6 -------------------------------------------------------------------------------


async def test_a_request_signed_for_another_server_is_refused(
    database_url: str, tmp_path: Path
) -> None:
    """A Follow mallory signed for another server (which kept it and replays it here
    with that server's Host) is refused 401, saying so; signed for us, it is accepted."""
    peer = FakePeer(origin="http://placeholder")
    async with serve(peer.app()) as peer.origin, instance(database_url, tmp_path) as oce:
        mallory = peer.actor("mallory")
        inbox, bob = f"{oce.base_url}/inbox", f"{oce.base_url}/agents/bob"
        elsewhere = f"127.0.0.1:{free_port()}"
        activity = follow(mallory, bob)
        body, headers = signed_post(mallory, f"http://{elsewhere}/inbox", activity)
        assert headers["Host"] == elsewhere
        response = await post(inbox, body, headers)
        assert response.status_code == 401, response.text
        assert f"signed for the host {elsewhere}" in response.json()["detail"]
        # Its own Host header, or none that differs, does not make it ours either.
        response = await post(inbox, body, {k: v for k, v in headers.items() if k != "Host"})
        assert response.status_code == 401, response.text
        assert activity["id"] not in await inbox_ids(database_url)

        response = await post(inbox, *signed_post(mallory, inbox, activity))
        assert response.status_code == 202, response.text


# Defect 13 ------------------------------------------------------------------------------


async def test_the_unspecified_address_is_never_a_peer(database_url: str, tmp_path: Path) -> None:
    """Under the development switch (as every loopback test runs), a peer at 0.0.0.0
    (which the kernel connects to this host) is still refused: its key is never fetched.
    The same peer at 127.0.0.1 is fine."""
    peer = FakePeer(origin="http://placeholder")
    async with serve(peer.app()) as loopback, instance(database_url, tmp_path) as oce:
        assert oce.env["OCE_ALLOW_PRIVATE_NETWORK"] == "1"
        inbox, bob = f"{oce.base_url}/inbox", f"{oce.base_url}/agents/bob"
        peer.origin = loopback.replace("127.0.0.1", "0.0.0.0")
        mallory = peer.actor("mallory")
        response = await post(inbox, *signed_post(mallory, inbox, follow(mallory, bob)))
        assert response.status_code == 401, response.text
        assert "0.0.0.0" in response.json()["detail"]
        assert "unspecified" in response.json()["detail"]
        assert peer.fetched == []

        peer.origin = loopback
        carol = peer.actor("carol")
        response = await post(inbox, *signed_post(carol, inbox, follow(carol, bob)))
        assert response.status_code == 202, response.text
