"""Whose key is whose: only a key's own origin, and its owner, may say.

Two in-process processes of https://a.test share one database, as two ``oce serve``
processes would (the second one has an empty key cache: a restart or another web
process). The peers are fake servers on the in-process network. Each test lets an
attacker publish a victim's key id with the attacker's PEM one way, then signs as the
victim with that key id: every process refuses it, and the stored key stays the
victim's. The end-to-end version with real processes is
``tests/e2e/test_peer_identity.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, select, text

from federation import load_public_key
from instance.store.db import create_engine
from instance.store.migrate import alembic_config, upgrade
from instance.store.models import InboxItem, RemoteKey
from tests.fakepeer import AS, FakePeer, PeerActor, signed_post
from tests.harness import Network, Running, make_settings, running
from tests.instance.conftest import add_agent

INBOX = "https://a.test/inbox"
ALICE = "https://a.test/agents/alice"


@pytest.fixture
def victim() -> FakePeer:
    return FakePeer(origin="https://victim.test")


@pytest.fixture
def attacker() -> FakePeer:
    return FakePeer(origin="https://evil.test")


@pytest.fixture
async def two(
    database_url: str, victim: FakePeer, attacker: FakePeer
) -> AsyncIterator[tuple[Running, Running]]:
    network = Network()
    network.add(victim.origin, victim.app())
    network.add(attacker.origin, attacker.app())
    settings = make_settings(database_url)
    async with running(settings, network=network) as one, running(settings, network=network) as two:
        await add_agent(one, "alice")
        yield one, two


def follow(actor: PeerActor) -> dict[str, Any]:
    return {
        "@context": AS,
        "id": f"{actor.origin}/activities/{uuid.uuid4()}",
        "type": "Follow",
        "actor": actor.id,
        "object": ALICE,
    }


def update_of(actor: PeerActor, document: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": [AS, "https://w3id.org/security/v1"],
        "id": f"{actor.origin}/activities/{uuid.uuid4()}",
        "type": "Update",
        "actor": actor.id,
        "object": document,
    }


def listing(key_id: str) -> Callable[[PeerActor], dict[str, Any]]:
    """An actor document that also lists ``key_id`` as the actor's, with its own PEM."""

    def document(actor: PeerActor) -> dict[str, Any]:
        found = actor.document()
        claimed = {"id": key_id, "owner": actor.id, "publicKeyPem": actor.public_pem}
        found["publicKey"] = [found["publicKey"], claimed]
        return found

    return document


async def post(process: Running, body: bytes, headers: dict[str, str]) -> int:
    return (await process.client.post(INBOX, content=body, headers=headers)).status_code


async def stored(process: Running, key_id: str) -> tuple[str, str] | None:
    async with process.services.db.read() as session:
        row = await session.scalar(select(RemoteKey).where(RemoteKey.key_id == key_id))
    return None if row is None else (row.owner, row.public_key_pem)


async def forgery_refused(
    processes: tuple[Running, ...], victim: PeerActor, signer: PeerActor
) -> None:
    """``signer`` signs as ``victim`` with the victim's key id: 401 in every process."""
    for process in processes:
        activity = follow(victim)
        body, headers = signed_post(victim, INBOX, activity, private_key=signer.private_key)
        response = await process.client.post(INBOX, content=body, headers=headers)
        assert response.status_code == 401, response.text
        assert "signature refused" in response.json()["detail"]
        async with process.services.db.read() as session:
            found = await session.scalar(
                select(InboxItem.id).where(InboxItem.activity_uri == activity["id"])
            )
        assert found is None


async def assert_keeps(process: Running, actor: PeerActor) -> None:
    owner, pem = await stored(process, actor.key_id) or ("", "")
    assert owner == actor.id
    assert load_public_key(pem) == load_public_key(actor.public_pem)


@pytest.mark.parametrize("how", ["actor document", "Update"])
async def test_another_server_cannot_rebind_a_known_key(
    two: tuple[Running, Running], victim: FakePeer, attacker: FakePeer, how: str
) -> None:
    first, second = two
    bob, mallory = victim.actor("bob"), attacker.actor("mallory")
    assert await post(first, *signed_post(bob, INBOX, follow(bob))) == 202
    await first.settle()
    await assert_keeps(first, bob)
    if how == "actor document":
        # mallory's document is fetched when his Follow is processed.
        attacker.actor_document = listing(bob.key_id)
        assert await post(first, *signed_post(mallory, INBOX, follow(mallory))) == 202
    else:
        document = listing(bob.key_id)(mallory)
        assert await post(first, *signed_post(mallory, INBOX, update_of(mallory, document))) == 202
    await first.settle()
    await forgery_refused((first, second), bob, mallory)
    await assert_keeps(first, bob)
    # bob himself is still believed, by both.
    assert await post(second, *signed_post(bob, INBOX, follow(bob))) == 202
    assert await post(first, *signed_post(bob, INBOX, follow(bob))) == 202


async def test_a_key_unknown_yet_is_not_taken_from_another_server(
    two: tuple[Running, Running], victim: FakePeer, attacker: FakePeer
) -> None:
    first, second = two
    bob, mallory = victim.actor("bob"), attacker.actor("mallory")
    attacker.actor_document = listing(bob.key_id)
    assert await post(first, *signed_post(mallory, INBOX, follow(mallory))) == 202
    await first.settle()
    assert await stored(first, bob.key_id) is None
    await forgery_refused((second, first), bob, mallory)
    await assert_keeps(first, bob)  # fetched from bob's server by the refused requests
    assert await post(first, *signed_post(bob, INBOX, follow(bob))) == 202


async def test_an_actor_cannot_rebind_a_neighbours_key(
    two: tuple[Running, Running], victim: FakePeer
) -> None:
    """On one server (one origin), mallory lists bob's key id as his own, in his
    document and in an Update he signs: bob's key stays bob's. carol's, which we do not
    hold yet, is not taken from mallory either: it is fetched from its own URL when
    carol signs."""
    first, second = two
    bob, carol, mallory = victim.actor("bob"), victim.actor("carol"), victim.actor("mallory")
    assert await post(first, *signed_post(bob, INBOX, follow(bob))) == 202
    await first.settle()

    def claiming(actor: PeerActor) -> dict[str, Any]:
        document = listing(bob.key_id)(actor)
        document["publicKey"].append(
            {"id": carol.key_id, "owner": actor.id, "publicKeyPem": actor.public_pem}
        )
        return document

    victim.actor_document = lambda actor: claiming(actor) if actor is mallory else actor.document()
    assert await post(first, *signed_post(mallory, INBOX, follow(mallory))) == 202
    assert (
        await post(first, *signed_post(mallory, INBOX, update_of(mallory, claiming(mallory))))
        == 202
    )
    await first.settle()
    await forgery_refused((first, second), bob, mallory)
    await assert_keeps(first, bob)
    assert await stored(first, carol.key_id) is None
    assert await post(second, *signed_post(carol, INBOX, follow(carol))) == 202
    await assert_keeps(second, carol)
    await forgery_refused((second,), carol, mallory)


async def _revision(database_url: str, action: Callable[[Connection], None]) -> None:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(action)
    finally:
        await engine.dispose()


async def test_keys_stored_before_the_upgrade_are_learned_again(
    database_url: str, tmp_path: Path, victim: FakePeer, attacker: FakePeer
) -> None:
    """A database where the old code had already bound bob's key id to mallory's PEM:
    after the upgrade, the instance believes bob's server, not the row."""
    bob, mallory = victim.actor("bob"), attacker.actor("mallory")

    config = alembic_config()
    script = ScriptDirectory.from_config(config).get_revision("relearn_remote_keys")
    assert script is not None
    assert isinstance(script.down_revision, str)
    before = script.down_revision

    def to_before(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, before)
        connection.execute(
            text(
                "INSERT INTO remote_keys (key_id, owner, public_key_pem, fetched_at) "
                "VALUES (:k, :o, :p, CURRENT_TIMESTAMP)"
            ),
            {"k": bob.key_id, "o": bob.id, "p": mallory.public_pem},
        )

    await _revision(database_url, to_before)
    engine = create_engine(database_url, pool_size=1)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    network = Network()
    network.add(victim.origin, victim.app())
    async with running(make_settings(database_url), network=network) as a:
        await add_agent(a, "alice")
        await forgery_refused((a,), bob, mallory)
        assert await post(a, *signed_post(bob, INBOX, follow(bob))) == 202
        await assert_keeps(a, bob)
