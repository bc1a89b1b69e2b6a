"""Auditing an agreement: both instances' records compared, any difference named."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import quote

import pytest
from sqlalchemy import update

from federation import load_private_key, sign_request
from instance.agents import get_agent
from instance.ledger.audit import audit
from instance.problems import Problem
from instance.store.models import Commitment
from tests.exchange.conftest import Pair, client
from tests.exchange.steps import agreed, kg


async def test_both_instances_hold_the_same_agreement_until_one_drifts(pair: Pair) -> None:
    _proposal, bread, agreement, _currency = await agreed(pair)
    await pair.alice.post(
        {
            "type": "EconomicEvent",
            "action": "transfer",
            "resourceInventoriedAs": bread,
            "receiver": pair.bob.id,
            "resourceQuantity": kg("4"),
            "fulfills": agreement["stipulates"]["id"],
        }
    )
    await pair.settle()
    for instance, name in ((pair.a, "alice"), (pair.b, "bob")):
        async with instance.services.db.read() as session:
            agent = await get_agent(session, name)
        assert agent is not None
        report = await audit(instance.services, agent, agreement["id"])
        assert report.same, report.differences
        assert report.digest_here == report.digest_there

    # B's copy drifts (as a bug or tampering would make it): the audit names the field.
    async with pair.b.services.db.write() as session:
        await session.execute(
            update(Commitment)
            .where(Commitment.uri == agreement["stipulates"]["id"])
            .values(fulfilled=Decimal("6"))
        )
    async with pair.a.services.db.read() as session:
        alice = await get_agent(session, "alice")
    assert alice is not None
    report = await audit(pair.a.services, alice, agreement["id"])
    assert not report.same
    assert report.digest_here != report.digest_there
    assert report.differences == [
        f"{agreement['stipulates']['id']} fulfilledQuantity: "
        "{'hasUnit': 'kilogram', 'hasNumericalValue': '4'} here, "
        "{'hasUnit': 'kilogram', 'hasNumericalValue': '6'} there"
    ]


async def test_only_parties_read_or_audit_a_record(pair: Pair) -> None:
    _proposal, _bread, agreement, _currency = await agreed(pair)
    carol = await client(pair.b, "carol")
    records = f"https://b.test/records?id={agreement['id']}"
    assert (await pair.b.client.get(records)).status_code == 404
    assert (await pair.b.client.get(records, headers=carol.auth)).status_code == 404
    assert (await pair.b.client.get(records, headers=pair.bob.auth)).status_code == 200
    async with pair.b.services.db.read() as session:
        agent = await get_agent(session, "carol")
        assert agent is not None
    with pytest.raises(Problem, match="not a party"):
        await audit(pair.b.services, agent, agreement["id"])


async def test_a_signed_read_is_for_this_instance_only(pair: Pair) -> None:
    """alice's signed GET of B's record is answered; the same GET signed for another
    server and sent to B with that server's Host is refused, saying why (issue 11,
    defect 6: a signed request is bound to the instance it was signed for)."""
    _proposal, _bread, agreement, _currency = await agreed(pair)
    async with pair.a.services.db.read() as session:
        alice = await get_agent(session, "alice")
    assert alice is not None
    key = load_private_key(alice.private_key_pem)
    key_id = pair.a.services.urls.key("alice")
    path = f"/records?id={quote(agreement['id'], safe='')}"

    def signed_get(url: str) -> dict[str, str]:
        accept = {"Accept": "application/activity+json"}
        return accept | sign_request("GET", url, accept, None, key_id, key, datetime.now(UTC))

    response = await pair.b.client.get(
        f"https://b.test{path}", headers=signed_get(f"https://b.test{path}")
    )
    assert response.status_code == 200, response.text
    replayed = await pair.b.client.get(
        f"https://b.test{path}", headers=signed_get(f"https://c.test{path}")
    )
    assert replayed.status_code == 401, replayed.text
    assert "signed for the host c.test" in replayed.json()["detail"]
