"""Integrity proofs on economic records: signed here, verified there, checkable later."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import func, select

from federation import (
    add_proof,
    decode_ed25519_multikey,
    generate_ed25519_keypair,
    load_private_key,
)
from federation.proofs import verify_proof
from instance.agents import get_agent
from instance.ledger.integrity import sign
from instance.store.db import Database
from instance.store.models import EconomicEvent, InboxItem
from instance.urls import Urls
from tests.exchange.conftest import Pair, activity, deliver
from tests.exchange.steps import agreed, kg
from tests.fakepeer import FakePeer
from tests.processes import oce


async def test_events_and_agreements_travel_signed_and_are_verified(pair: Pair) -> None:
    _proposal, bread, agreement, _currency = await agreed(pair)
    assert agreement["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    assert agreement["proof"]["verificationMethod"] == f"{pair.alice.id}#ed25519-key"
    sent = await pair.alice.post(
        {
            "type": "EconomicEvent",
            "action": "transfer",
            "resourceInventoriedAs": bread,
            "receiver": pair.bob.id,
            "resourceQuantity": kg("10"),
            "fulfills": agreement["stipulates"]["id"],
        }
    )
    await pair.settle()
    event = sent["object"]
    # B verified the proof with the key Alice's actor publishes, and says so.
    async with pair.b.services.db.read() as session:
        row = await session.scalar(select(EconomicEvent).where(EconomicEvent.uri == event["id"]))
    assert row is not None
    assert row.verified_by.endswith("+eddsa-jcs-2022")

    # Anyone can check it again, away from the transport: the actor's Multikey suffices.
    actor = (await pair.a.client.get(pair.alice.id)).json()
    (method,) = actor["assertionMethod"]
    assert method["type"] == "Multikey"
    assert method["id"] == event["proof"]["verificationMethod"]
    verify_proof(event, decode_ed25519_multikey(method["publicKeyMultibase"]))


async def test_a_forged_proof_refuses_the_whole_activity(pair: Pair, peer: FakePeer) -> None:
    mallory = peer.actor("mallory")
    # Signed with a key Mallory's actor does not publish (nobody's, in fact).
    stranger = load_private_key(generate_ed25519_keypair().private_pem)
    assert isinstance(stranger, ed25519.Ed25519PrivateKey)
    gift = {
        "id": f"{peer.origin}/events/{uuid.uuid4()}",
        "type": "EconomicEvent",
        "action": "transfer",
        "provider": mallory.id,
        "receiver": pair.alice.id,
        "resourceQuantity": kg("1"),
    }
    signed = add_proof(gift, stranger, f"{mallory.id}#main-key")
    await deliver(pair, mallory, activity(mallory, "Create", signed, to=[pair.alice.id]))
    async with pair.a.services.db.read() as session:
        item = await session.scalar(select(InboxItem))
        events = await session.scalar(select(func.count()).select_from(EconomicEvent))
    assert item is not None
    assert item.state == "failed"
    assert item.error is not None
    assert item.error.startswith("integrity proof refused")
    assert events == 0


def test_oce_proof_verify_checks_a_saved_document(tmp_path: Path) -> None:
    """Offline: the key is the local agent's, from the database; nothing is fetched."""
    database = f"sqlite+aiosqlite:///{tmp_path / 'oce.sqlite3'}"
    env = {"OCE_DATABASE_URL": database, "OCE_BASE_URL": "https://coop.example"}
    oce("agent", "create", "alice", env=env)

    async def signed() -> dict[str, object]:
        db = Database.from_url(database)
        try:
            async with db.write() as session:
                alice = await get_agent(session, "alice")
                assert alice is not None
                return await sign(
                    session,
                    Urls("https://coop.example"),
                    alice,
                    {
                        "id": "https://coop.example/events/1",
                        "type": "EconomicEvent",
                        "action": "raise",
                        "resourceQuantity": kg("3"),
                    },
                )
        finally:
            await db.dispose()

    document = asyncio.run(signed())
    good = tmp_path / "event.json"
    good.write_text(json.dumps(document))
    result = oce("proof", "verify", str(good), env=env)
    assert "/: signed by https://coop.example/agents/alice#ed25519-key" in result.stdout
    assert result.stdout.strip().endswith(": valid")
    document["resourceQuantity"] = kg("30")
    bad = tmp_path / "changed.json"
    bad.write_text(json.dumps(document))
    refused = oce("proof", "verify", str(bad), env=env, check=False)
    assert refused.returncode == 1
    assert "not verified: the proof by" in refused.stderr
