"""Work logged for an organization from other instances, validated or rejected with a
reason; only approved contributions count."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from instance.store.models import CoopContribution
from tests.coop.conftest import Three
from tests.exchange.conftest import Client


def work(member: Client, org: Client, hours: str) -> dict[str, Any]:
    return {
        "type": "EconomicEvent",
        "action": "work",
        "provider": member.id,
        "receiver": org.id,
        "inScopeOf": org.id,
        "effortQuantity": {"hasUnit": "hour", "hasNumericalValue": hours},
        "requestDistribution": True,
    }


async def state(three: Three, instance_name: str, event: str) -> tuple[str, str] | None:
    instance = getattr(three, instance_name)
    async with instance.services.db.read() as session:
        row = await session.scalar(
            select(CoopContribution).where(CoopContribution.event_uri == event)
        )
    return None if row is None else (row.state, row.reason)


async def test_remote_work_is_validated_remotely_and_rejected_with_a_reason(three: Three) -> None:
    org = await three.organization("bakery", "open")
    ann = await three.agent(three.a, "ann")
    bob = await three.agent(three.b, "bob")
    val = await three.agent(three.c, "val")
    await three.make_member(org, ann, "coordinator")
    for person in (bob, val):
        await person.post({"type": "Join", "object": org.id})
    await three.settle()
    await three.make_member(org, val, "validator")

    first = (await bob.post(work(bob, org, "10")))["object"]["id"]
    second = (await bob.post(work(bob, org, "3")))["object"]["id"]
    await three.settle()
    assert await state(three, "a", first) == ("pending", "")
    assert await state(three, "b", first) == ("pending", "")

    # The validator on c.test approves; the bakery tells bob's instance.
    await val.post({"type": "Accept", "object": first, "context": org.id})
    # The coordinator on the bakery's own instance rejects the other, saying why.
    as_ann = ann  # ann validates as herself (coordinators validate)
    no_reason = await as_ann.post({"type": "Reject", "object": second}, status=400)
    assert no_reason["field"] == "content"
    await as_ann.post({"type": "Reject", "object": second, "content": "that was a holiday"})
    await three.settle()
    assert await state(three, "a", first) == ("approved", "")
    assert await state(three, "b", first) == ("approved", "")
    assert await state(three, "a", second) == ("rejected", "that was a holiday")
    assert await state(three, "b", second) == ("rejected", "that was a holiday")


async def test_nobody_validates_their_own_work_and_non_members_are_not_counted(
    three: Three,
) -> None:
    org = await three.organization("mill", "moderated")
    ann = await three.agent(three.a, "ann")
    await three.make_member(org, ann, "coordinator", "validator")
    own = (await ann.post(work(ann, org, "2")))["object"]["id"]
    refused = await ann.post({"type": "Accept", "object": own}, status=403)
    assert "never validates their own" in refused["detail"]
    assert await state(three, "a", own) == ("pending", "")

    stranger = await three.agent(three.b, "stranger")
    event = (await stranger.post(work(stranger, org, "5")))["object"]["id"]
    await three.settle()
    assert await state(three, "a", event) is None  # refused at the mill: not a member
