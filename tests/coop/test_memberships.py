"""Joining, answering, leaving and inviting across instances; acting for an organization."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from instance.agents import require_agent
from instance.coop.memberships import change_settings
from instance.coop.shares import ensure_share_proposal
from instance.store.models import Agreement as AgreementRow
from instance.store.models import CoopAct, EconomicResource, StoredObject
from tests.coop.conftest import Three, collection, membership
from tests.harness import Running


async def test_open_joining_accepts_a_remote_person_at_once(three: Three) -> None:
    org = await three.organization("garden", "open")
    bob = await three.agent(three.b, "bob")
    await bob.post({"type": "Join", "object": org.id})
    await three.settle()
    for instance in (three.a, three.b):
        row = await membership(instance, org.id, bob.id)
        assert row is not None
        assert row.state == "accepted"
    actor = await org.get(org.id)
    assert actor["members"] == f"{org.id}/members"
    assert bob.id in await collection(org, f"{org.id}/members")


async def test_moderated_joins_wait_for_a_coordinator_who_accepts_or_rejects(
    three: Three,
) -> None:
    org = await three.organization("bakery", "moderated")
    ann = await three.agent(three.a, "ann")
    await three.make_member(org, ann, "coordinator")
    carol = await three.agent(three.b, "carol")
    dan = await three.agent(three.c, "dan")
    carol_join = await carol.post({"type": "Join", "object": org.id})
    dan_join = await dan.post({"type": "Join", "object": org.id})
    await three.settle()
    row = await membership(three.a, org.id, carol.id)
    assert row is not None
    assert row.state == "pending"

    # Ann's own token publishes as the bakery.
    as_org = type(org)(three.a, "bakery", ann.token)
    accepted = await as_org.post({"type": "Accept", "object": carol_join["id"]})
    assert accepted["actor"] == org.id
    refusal = await as_org.post({"type": "Reject", "object": dan_join["id"]}, status=400)
    assert refusal["field"] == "content"
    await as_org.post(
        {"type": "Reject", "object": dan_join["id"], "content": "we only take bakers from town"}
    )
    await three.settle()
    carol_row = await membership(three.b, org.id, carol.id)
    dan_row = await membership(three.c, org.id, dan.id)
    assert carol_row is not None
    assert carol_row.state == "accepted"
    assert dan_row is not None
    assert (dan_row.state, dan_row.reason) == ("rejected", "we only take bakers from town")
    async with three.a.services.db.read() as session:
        acts = (await session.scalars(select(CoopAct))).all()
    assert len(acts) == 2
    assert accepted["id"] in {act.activity_uri for act in acts}
    assert {act.person_agent_id for act in acts} == {await three.agent_id(three.a, "ann")}


async def test_someone_not_a_coordinator_cannot_act_for_the_organization(three: Three) -> None:
    org = await three.organization("mill", "open")
    eve = await three.agent(three.a, "eve")
    await three.make_member(org, eve)  # a member, not a coordinator
    async with three.a.services.db.read() as session:
        before = await session.scalar(select(func.count()).select_from(StoredObject))
    response = await three.a.client.post(
        f"{org.id}/outbox",
        json={"type": "Note", "content": "I speak for the mill"},
        headers=eve.auth,
    )
    assert response.status_code == 403
    problem = response.json()
    assert "eve, who cannot act for mill" in problem["detail"]
    async with three.a.services.db.read() as session:
        after = await session.scalar(select(func.count()).select_from(StoredObject))
    assert after == before


async def test_a_member_leaves_and_an_invited_person_joins_at_once(three: Three) -> None:
    org = await three.organization("choir", "moderated", members_public=False)
    ann = await three.agent(three.a, "ann")
    await three.make_member(org, ann, "coordinator")
    bob = await three.agent(three.b, "bob")
    as_org = type(org)(three.a, "choir", ann.token)
    await as_org.post({"type": "Invite", "object": org.id, "target": bob.id})
    await three.settle()
    invited = await membership(three.b, org.id, bob.id)
    assert invited is not None
    assert invited.state == "invited"
    await bob.post({"type": "Join", "object": org.id})
    await three.settle()
    joined = await membership(three.b, org.id, bob.id)
    assert joined is not None
    assert joined.state == "accepted"

    # Members only: an anonymous reader is refused, a member reads it.
    anonymous = await three.a.client.get(
        f"{org.id}/members", headers={"Accept": "application/activity+json"}
    )
    assert anonymous.status_code == 403
    assert bob.id in await collection(ann, f"{org.id}/members")

    await bob.post({"type": "Leave", "object": org.id})
    await three.settle()
    for instance in (three.a, three.b):
        row = await membership(instance, org.id, bob.id)
        assert row is not None
        assert row.state == "left"


async def test_joining_by_shares_starts_when_the_share_agreement_is_fulfilled(
    three: Three,
) -> None:
    """eve (on B) buys the shop's share (on A) through an agreement like any other: the
    shop's share proposal, eve's offer (refused before she asks to join, accepted after),
    her payment fulfilling the commitment. A plain transfer makes nobody a member."""
    shop = await three.agent(three.a, "shop", "organization")
    spec = (
        await shop.post(
            {
                "type": "ResourceSpecification",
                "name": "Shop credit",
                "defaultUnitOfResource": "one",
                "resourceClassifiedAs": ["https://w3id.org/oce/ns#MutualCredit"],
            }
        )
    )["object"]["id"]
    async with three.a.services.db.write() as session:
        org = await require_agent(session, "shop")
        await change_settings(
            session, org, joining="shares", share_price=Decimal(50), share_conforms_to=spec
        )
    proposal = await ensure_share_proposal(three.a.services, org)
    assert proposal is not None
    assert await ensure_share_proposal(three.a.services, org) == proposal  # only one
    published = await shop.get(proposal)
    assert published["purpose"] == "request"
    assert published["publishes"]["resourceQuantity"]["hasNumericalValue"] == "50"
    eve = await three.agent(three.b, "eve")
    offer = {
        "type": "Offer",
        "object": {
            "type": "Agreement",
            "stipulates": {
                "type": "Commitment",
                "satisfies": f"{proposal}#primary",
                "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "50"},
            },
        },
    }

    early = await eve.post(offer)  # before asking to join: refused, saying why
    await three.settle()
    refused = await agreement(three.b, early["id"])
    assert refused.state == "rejected"
    assert refused.reason is not None
    assert "before buying its share" in refused.reason

    await eve.post({"type": "Join", "object": shop.id})
    await three.settle()
    waiting = await membership(three.a, shop.id, eve.id)
    assert waiting is not None
    assert waiting.state == "awaiting-shares"

    plain = {
        "type": "EconomicEvent",
        "action": "transfer",
        "provider": eve.id,
        "receiver": shop.id,
        "resourceConformsTo": spec,
        "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "50"},
    }
    await eve.post(plain)  # no agreement: held for the shop, and no membership
    await three.settle()
    still = await membership(three.a, shop.id, eve.id)
    assert still is not None
    assert still.state == "awaiting-shares"

    accepted = await eve.post(offer)
    await three.settle()
    bought = await agreement(three.b, accepted["id"])
    assert bought.state == "agreed"
    assert bought.uri is not None
    assert bought.uri.startswith("https://a.test/agreements/")
    await eve.post({**plain, "fulfills": f"{bought.uri}#primary"})
    await three.settle()
    for instance in (three.a, three.b):
        row = await membership(instance, shop.id, eve.id)
        assert row is not None
        assert row.state == "accepted"
    async with three.a.services.db.read() as session:
        account = await session.scalar(
            select(EconomicResource).where(EconomicResource.conforms_to == spec)
        )
    assert account is not None
    assert account.accounting_quantity == Decimal(50)  # the share; the plain 50 waits


async def agreement(instance: Running, offer: str) -> AgreementRow:
    async with instance.services.db.read() as session:
        found = await session.scalar(select(AgreementRow).where(AgreementRow.offer_uri == offer))
    assert found is not None
    return found
