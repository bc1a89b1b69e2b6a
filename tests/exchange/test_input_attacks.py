"""Hostile input through real HTTP: JSON-LD aliases, JSON-LD work, numbers and text.

Each test is an attack issue 11 reproduced against a running instance (in-process, on
SQLite and PostgreSQL): what the attacker sends, what the instance answers, and that
nothing was stored or changed.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import func, select

from instance.inbox.store import NewInboxItem
from instance.store.models import InboxItem, Intent, Proposal, StoredObject
from tests.exchange.conftest import (
    BREAD,
    PUBLIC,
    Pair,
    activity,
    deliver,
    ledger_state,
)
from tests.exchange.steps import kg, quantity, raise_stock
from tests.fakepeer import AS, FakePeer, PeerActor, signed_post
from vocab import dumps

OCE = "https://a.test/ns/oce-v1.jsonld"


def peer_proposal(actor: PeerActor, uri: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": uri,
        "type": "Proposal",
        "purpose": "offer",
        "name": "Rye bread",
        "attributedTo": actor.id,
        "unitBased": True,
        "publishes": {
            "id": f"{uri}#primary",
            "type": "Intent",
            "action": "transfer",
            "resourceConformsTo": BREAD,
            "resourceQuantity": kg("5"),
        },
        "to": [PUBLIC],
        **extra,
    }


async def post_inbox(
    pair: Pair,
    actor: PeerActor,
    document: dict[str, Any] | bytes,
    content_type: str = "application/activity+json",
) -> Any:
    body, signed = signed_post(actor, "https://a.test/inbox", document, content_type=content_type)
    return await pair.a.client.post("/inbox", content=body, headers=signed)


async def proposals_on_a(pair: Pair) -> list[str]:
    async with pair.a.services.db.read() as session:
        uris = [*(await session.scalars(select(Proposal.uri))).all()]
        uris += (await session.scalars(select(Intent.uri))).all()
    return sorted(uris)


async def items_on_a(pair: Pair) -> list[tuple[str, str | None]]:
    async with pair.a.services.db.read() as session:
        rows = (await session.execute(select(InboxItem.state, InboxItem.error))).all()
    return [(state, error) for state, error in rows]


# 4. JSON-LD aliases get past origin checks -------------------------------------------


async def test_a_context_alias_for_id_is_refused_at_the_inbox(pair: Pair, peer: FakePeer) -> None:
    """``{"pid": "@id"}``: the raw object has no id, the normalized one b.test's."""
    mallory = peer.actor("mallory")
    stolen = "https://b.test/proposals/stolen"
    proposal = peer_proposal(mallory, stolen)
    proposal["pid"] = proposal.pop("id")
    create = activity(mallory, "Create", proposal, to=[PUBLIC])
    create["@context"] = [AS, OCE, {"pid": "@id"}]
    response = await post_inbox(pair, mallory, create)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "@context/pid"
    assert "second name for the keyword @id" in response.json()["detail"]
    await pair.settle()
    assert await proposals_on_a(pair) == []
    assert await items_on_a(pair) == []


async def test_an_alias_of_an_activitystreams_term_is_refused(pair: Pair, peer: FakePeer) -> None:
    mallory = peer.actor("mallory")
    proposal = peer_proposal(mallory, "https://b.test/proposals/stolen")
    create = activity(mallory, "Create", None, to=[PUBLIC])
    del create["object"]
    create["what"] = proposal
    create["@context"] = [AS, OCE, {"what": "https://www.w3.org/ns/activitystreams#object"}]
    response = await post_inbox(pair, mallory, create)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "@context/what"
    assert await proposals_on_a(pair) == []


async def test_a_client_cannot_alias_a_keyword_either(pair: Pair) -> None:
    before = await ledger_state(pair.a)
    refused = await pair.alice.post(
        {
            "@context": [AS, OCE, {"kind": "@type"}],
            "kind": "Note",
            "content": "hello",
            "to": [PUBLIC],
        },
        status=400,
    )
    assert refused["field"] == "@context/kind"
    assert await ledger_state(pair.a) == before


async def test_a_compact_iri_key_cannot_smuggle_an_object_in(pair: Pair, peer: FakePeer) -> None:
    """``"as:object"`` needs no inline context: the raw activity has no ``object`` for
    the inbox to check, the normalized one has a Proposal under b.test's URI. The
    origins are checked again on the normalized activity, before any handler."""
    mallory = peer.actor("mallory")
    create = activity(mallory, "Create", None, to=[PUBLIC])
    del create["object"]
    create["as:object"] = peer_proposal(mallory, "https://b.test/proposals/stolen")
    response = await post_inbox(pair, mallory, create)
    assert response.status_code == 202, response.text
    await pair.settle()
    assert await proposals_on_a(pair) == []
    [(state, error)] = await items_on_a(pair)
    assert state == "failed"
    assert "https://b.test/proposals/stolen" in (error or "")


async def test_a_peer_proposal_cannot_place_intents_on_another_origin(
    pair: Pair, peer: FakePeer
) -> None:
    mallory = peer.actor("mallory")
    proposal = peer_proposal(mallory, f"{peer.origin}/proposals/{uuid.uuid4()}")
    proposal["publishes"]["id"] = "https://b.test/proposals/1#primary"
    response = await post_inbox(pair, mallory, activity(mallory, "Create", proposal, to=[PUBLIC]))
    assert response.status_code == 202, response.text
    await pair.settle()
    assert await proposals_on_a(pair) == []
    [(state, error)] = await items_on_a(pair)
    assert state == "failed"
    assert "/publishes" in (error or "")


async def test_an_honest_peer_proposal_is_still_stored(pair: Pair, peer: FakePeer) -> None:
    mallory = peer.actor("mallory")
    uri = f"{peer.origin}/proposals/{uuid.uuid4()}"
    await deliver(pair, mallory, activity(mallory, "Create", peer_proposal(mallory, uri)))
    assert await proposals_on_a(pair) == [uri, f"{uri}#primary"]


# 5. JSON-LD work --------------------------------------------------------------------


def scoped_context_bomb(actor: PeerActor, terms: int, nodes: int) -> dict[str, Any]:
    """A type with a scoped context of ``terms`` terms, used by ``nodes`` objects: pyld
    processes the scoped context at every one (7 s for 45 KiB before the bounds)."""
    scoped = {f"t{i}": f"https://peer.test/ns#t{i}" for i in range(terms)}
    note = {
        "id": f"{actor.origin}/notes/{uuid.uuid4()}",
        "type": "Note",
        "attributedTo": actor.id,
        "content": "hello",
        "attachment": [{"type": "T", "t1": "x"} for _ in range(nodes)],
    }
    create = activity(actor, "Create", note, to=[PUBLIC])
    create["@context"] = [AS, {"T": {"@id": "https://peer.test/ns#T", "@context": scoped}}]
    return create


async def test_a_document_asking_for_too_much_jsonld_work_is_refused(
    pair: Pair, peer: FakePeer
) -> None:
    mallory = peer.actor("mallory")
    response = await post_inbox(pair, mallory, scoped_context_bomb(mallory, 120, 120))
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "@context"
    assert "JSON-LD work" in response.json()["detail"]
    assert await items_on_a(pair) == []


async def test_a_stored_item_beyond_the_bounds_is_finished_as_refused(
    pair: Pair, peer: FakePeer
) -> None:
    """An item received before the bounds existed (or by a process with wider ones) is
    refused when processed, once: never retried."""
    mallory = peer.actor("mallory")
    bomb = scoped_context_bomb(mallory, 120, 120)
    response = await post_inbox(pair, mallory, bomb)
    assert response.status_code == 400
    body = dumps(bomb).encode()
    await pair.a.services.inbox_store.store(
        NewInboxItem(
            activity_uri=bomb["id"],
            body=body,
            body_sha256="0" * 64,
            headers="[]",
            signer_key_id=mallory.key_id,
            signer=mallory.id,
            verified_by="draft-cavage",
            recipient_agent_id=None,
        )
    )
    await pair.settle()
    [(state, error)] = await items_on_a(pair)
    assert state == "failed"
    assert "JSON-LD work" in (error or "")
    async with pair.a.services.db.read() as session:
        stored = await session.scalar(select(func.count()).select_from(StoredObject))
    assert stored == 0


# 9. Quantities ------------------------------------------------------------------------


async def test_thirty_digit_quantities_are_stored_and_added_exactly(pair: Pair) -> None:
    alice = pair.alice
    amount = "123456789012345678.901234567891"  # 30 significant digits
    resource = await raise_stock(alice, amount)
    await alice.post(
        {
            "type": "EconomicEvent",
            "action": "raise",
            "provider": alice.id,
            "receiver": alice.id,
            "resourceInventoriedAs": resource,
            "resourceQuantity": kg(amount),
        }
    )
    assert quantity(await alice.get(resource)) == "246913578024691357.802469135782"


async def test_a_balance_past_thirty_digits_is_refused_and_changes_nothing(pair: Pair) -> None:
    """Each amount is within bounds; their sum is not (PostgreSQL's column failed: 500)."""
    alice = pair.alice
    most = "9" * 30
    resource = await raise_stock(alice, most)
    before = await ledger_state(pair.a)
    refused = await alice.post(
        {
            "type": "EconomicEvent",
            "action": "raise",
            "provider": alice.id,
            "receiver": alice.id,
            "resourceInventoriedAs": resource,
            "resourceQuantity": kg(most),
        },
        status=422,
    )
    assert "more than 30 digits" in refused["detail"]
    assert await ledger_state(pair.a) == before
    assert quantity(await alice.get(resource)) == most


async def test_too_many_digits_are_a_clear_400(pair: Pair) -> None:
    before = await ledger_state(pair.a)
    refused = await pair.alice.post(
        {
            "type": "EconomicEvent",
            "action": "raise",
            "provider": pair.alice.id,
            "receiver": pair.alice.id,
            "resourceConformsTo": BREAD,
            "resourceQuantity": kg("1234567890123456789012345678901"),
        },
        status=400,
    )
    assert "more than 30 digits" in refused["detail"]
    assert "resourceQuantity" in refused["field"]
    assert await ledger_state(pair.a) == before


RAISE_WITH_HUGE_EXPONENT = (
    b'{"type": "EconomicEvent", "action": "raise", "provider": "%s", "receiver": "%s",'
    b' "resourceConformsTo": "https://www.wikidata.org/wiki/Q7802",'
    b' "resourceQuantity": {"hasUnit": "kilogram", "hasNumericalValue": 1e99999999999}}'
)


async def test_a_huge_exponent_is_400_on_the_outbox(pair: Pair) -> None:
    alice = pair.alice
    before = await ledger_state(pair.a)
    body = RAISE_WITH_HUGE_EXPONENT % (alice.id.encode(), alice.id.encode())
    response = await pair.a.client.post(
        f"{alice.id}/outbox",
        content=body,
        headers={**alice.auth, "Content-Type": "application/activity+json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "/resourceQuantity/hasNumericalValue"
    assert "exponent" in response.json()["detail"]
    assert await ledger_state(pair.a) == before


async def test_a_huge_exponent_is_refused_by_the_inbox(pair: Pair, peer: FakePeer) -> None:
    mallory = peer.actor("mallory")
    event = (
        b'{"@context": ["%s", "%s"], "id": "%s/activities/1", "type": "Create", "actor": "%s",'
        b' "object": {"id": "%s/events/1", "type": "EconomicEvent", "action": "transfer",'
        b' "provider": "%s", "receiver": "%s",'
        b' "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": 1e99999999999}}}'
    ) % tuple(
        s.encode()
        for s in (AS, OCE, peer.origin, mallory.id, peer.origin, mallory.id, pair.alice.id)
    )
    response = await post_inbox(pair, mallory, event)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "/object/resourceQuantity/hasNumericalValue"
    await pair.settle()
    assert await items_on_a(pair) == []


# 10. Bad text and content types -------------------------------------------------------


async def test_nul_surrogates_and_a_byte_order_mark_are_400_on_the_outbox(pair: Pair) -> None:
    alice = pair.alice
    note = b'{"type": "Note", "content": "%s", "to": ["' + PUBLIC.encode() + b'"]}'
    cases = [
        (note % b"nul \\u0000 here", "/content", "NUL"),
        (note % b"lone \\ud800 surrogate", "/content", "surrogate"),
        (b"\xef\xbb\xbf" + note % b"fine", "", "byte-order mark"),
        ((note % b"fine").decode().encode("utf-16"), "", ""),
    ]
    for body, field, words in cases:
        response = await pair.a.client.post(
            f"{alice.id}/outbox",
            content=body,
            headers={**alice.auth, "Content-Type": "application/activity+json"},
        )
        assert response.status_code == 400, (body, response.text)
        assert response.json().get("field", "") == field
        assert words in response.json()["detail"]
    async with pair.a.services.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(StoredObject)) == 0


async def test_nul_surrogates_and_a_byte_order_mark_are_400_at_the_inbox(
    pair: Pair, peer: FakePeer
) -> None:
    mallory = peer.actor("mallory")
    for content, prefix in (("nul \x00", b""), ("lone \ud800", b""), ("fine", b"\xef\xbb\xbf")):
        note = {
            "id": f"{peer.origin}/notes/{uuid.uuid4()}",
            "type": "Note",
            "attributedTo": mallory.id,
            "content": content,
        }
        create = activity(mallory, "Create", note, to=[PUBLIC])
        # json.dumps writes both as \u escapes, as a peer's JSON library would.
        body = prefix + json.dumps(create).encode()
        response = await post_inbox(pair, mallory, body)
        assert response.status_code == 400, (content, response.text)
    assert await items_on_a(pair) == []


async def test_the_inbox_takes_only_activitystreams_media_types(pair: Pair, peer: FakePeer) -> None:
    mallory = peer.actor("mallory")

    def follow() -> dict[str, Any]:
        return activity(mallory, "Follow", pair.alice.id)

    for refused in ("text/plain", "application/json", "application/ld+json", "", "text/html"):
        response = await post_inbox(pair, mallory, follow(), refused)
        assert response.status_code == 415, (refused, response.text)
        assert "application/activity+json" in response.json()["detail"]
    for accepted in (
        "application/activity+json",
        "application/activity+json; charset=utf-8",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
    ):
        response = await post_inbox(pair, mallory, follow(), accepted)
        assert response.status_code == 202, (accepted, response.text)
    assert len(await items_on_a(pair)) == 3
