"""Two oce instances: a ValueFlows peer gets the Proposal, its edits and its withdrawal,
and never the Note that stands for it on Mastodon."""

from __future__ import annotations

from sqlalchemy import select

from instance.store.models import Proposal, RemoteServer
from tests.exchange.conftest import BREAD, Pair


async def test_a_vf_follower_gets_the_proposal_and_no_note(pair: Pair) -> None:
    alice, bob = pair.alice, pair.bob
    await bob.post({"type": "Follow", "object": alice.id})
    await pair.settle()
    created = await alice.post(
        {
            "type": "Proposal",
            "purpose": "offer",
            "name": "Rye bread",
            "publishes": {
                "type": "Intent",
                "action": "transfer",
                "resourceConformsTo": BREAD,
                "resourceQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "5"},
                "availableQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "20"},
            },
        }
    )
    proposal = created["object"]["id"]
    await pair.settle()
    async with pair.a.services.db.read() as session:
        server = await session.get(RemoteServer, "b.test")
        assert server is not None
        assert (server.software, server.valueflows) == ("oce", True)

    creates = [i for i in await bob.items("inbox") if i["type"] == "Create"]
    assert [c["object"]["type"] for c in creates] == ["Proposal"]
    assert creates[0]["object"]["id"] == proposal

    await alice.post(
        {
            "type": "Update",
            "object": {
                "id": proposal,
                "type": "Proposal",
                "name": "Rye bread, sliced",
                "publishes": {
                    "id": f"{proposal}#primary",
                    "availableQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "15"},
                },
            },
        }
    )
    await pair.settle()
    updates = [i for i in await bob.items("inbox") if i["type"] == "Update"]
    assert [u["object"]["type"] for u in updates] == ["Proposal"]
    async with pair.b.services.db.read() as session:
        copy = await session.scalar(select(Proposal).where(Proposal.uri == proposal))
        assert copy is not None
        assert copy.name == "Rye bread, sliced"

    await alice.post({"type": "Delete", "object": proposal})
    await pair.settle()
    deletes = [i for i in await bob.items("inbox") if i["type"] == "Delete"]
    assert [d["object"] for d in deletes] == [proposal]
    async with pair.b.services.db.read() as session:
        copy = await session.scalar(select(Proposal).where(Proposal.uri == proposal))
        assert copy is not None
        assert copy.state == "withdrawn"
