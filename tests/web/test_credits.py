"""Credits from another server wait on the dashboard; accepting counts them, declining
leaves every balance as it was and tells the provider."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from instance.store.models import EconomicEvent
from tests.exchange.conftest import Pair, activity, deliver, ledger_state
from tests.exchange.steps import credit_currency, units
from tests.fakepeer import FakePeer
from tests.web.signing import page_token, sign_in

HTML = {"Accept": "text/html"}
GIFT = "https://peer.test/events/gift"


async def _gift(pair: Pair, peer: FakePeer) -> None:
    currency = await credit_currency(pair.alice)
    mallory = peer.actor("mallory")
    event = {
        "id": GIFT,
        "type": "EconomicEvent",
        "action": "transfer",
        "provider": mallory.id,
        "receiver": pair.alice.id,
        "resourceConformsTo": currency,
        "resourceQuantity": units("5"),
    }
    await deliver(pair, mallory, activity(mallory, "Create", event, to=[pair.alice.id]))


@pytest.mark.parametrize(("decision", "state"), [("accept", "applied"), ("reject", "declined")])
async def test_a_waiting_credit_is_accepted_or_declined_from_the_dashboard(
    pair: Pair, peer: FakePeer, decision: str, state: str
) -> None:
    await _gift(pair, peer)
    before = await ledger_state(pair.a)
    await sign_in(pair.a.client, "alice")
    page = (await pair.a.client.get("/dashboard", headers=HTML)).text
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "mallory@peer.test credits you 5 Coop credit" in text
    answered = await pair.a.client.post(
        "/app/decide",
        data={"csrf": await page_token(pair.a.client), "object": GIFT, "decision": decision},
    )
    assert answered.status_code == 303, answered.text
    await pair.settle()
    async with pair.a.services.db.read() as session:
        row = await session.scalar(select(EconomicEvent).where(EconomicEvent.uri == GIFT))
    assert row is not None
    assert row.state == state
    after = await ledger_state(pair.a)
    if decision == "reject":
        assert after["resources"] == before["resources"]
        assert [a["object"] for a in peer.activities("Reject")] == [GIFT]
    else:
        assert [q for q, _ in after["resources"].values()] == [5]
        assert [a["object"] for a in peer.activities("Accept")] == [GIFT]
    again = await pair.a.client.post(
        "/app/decide",
        data={"csrf": await page_token(pair.a.client), "object": GIFT, "decision": "reject"},
    )
    assert again.status_code == 409
    assert f"is {state}, not waiting for acceptance" in again.text
