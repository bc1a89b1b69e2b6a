"""Value equations posted through the organization's outbox (a coordinator acting)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from instance.store.models import CoopEquation
from tests.coop.conftest import Three

EQUATION = {
    "type": "ValueEquation",
    "name": "default",
    "buckets": [
        {"name": "w", "percentage": "60", "rules": [{"action": "work", "rate": "hours * 3"}]}
    ],
}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_create_update_and_refusals(three: Three) -> None:
    org = await three.organization("bakery", "open")
    ann = await three.agent(three.a, "ann")
    await three.make_member(org, ann, "coordinator")
    as_org = type(org)(three.a, "bakery", ann.token)
    created = await as_org.post({"type": "Create", "object": EQUATION})
    assert created["object"]["attributedTo"] == org.id
    again = await as_org.post({"type": "Create", "object": EQUATION}, status=409)
    assert again["field"] == "name"
    changed = {**EQUATION, "percentageBehavior": "remaining"}
    await as_org.post({"type": "Update", "object": changed})
    wrong = {**EQUATION, "buckets": [{"name": "w", "percentage": "60", "rules": [
        {"action": "work", "rate": "hours ** 2"}]}]}  # fmt: skip
    refused = await as_org.post({"type": "Update", "object": wrong}, status=422)
    assert refused["field"] == "buckets[0].rules[0].rate"
    unknown = await as_org.post(
        {"type": "Update", "object": {**EQUATION, "name": "other"}}, status=404
    )
    assert unknown["field"] == "name"
    person = await ann.post({"type": "Create", "object": EQUATION}, status=422)
    assert "belong to organizations" in person["detail"]
    async with three.a.services.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(CoopEquation)) == 1
        stored = await session.scalar(select(CoopEquation.body))
    assert stored is not None
    assert json.loads(stored)["percentageBehavior"] == "remaining"
