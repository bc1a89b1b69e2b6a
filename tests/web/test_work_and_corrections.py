"""Logging hours of work and correcting an event through the app's forms."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
from sqlalchemy import select

from instance.agents import create_agent
from instance.store.models import CoopMembership, EconomicEvent
from tests.exchange.conftest import Pair
from tests.exchange.steps import credit_currency, units
from tests.web.signing import form_token, sign_in

HTML = {"Accept": "text/html"}
ALICE = "https://a.test/agents/alice"


async def _post(client: httpx.AsyncClient, page: str, action: str, **fields: str) -> httpx.Response:
    token = form_token((await client.get(page, headers=HTML)).text)
    return await client.post(action, data={"csrf": token, **fields})


async def _events(pair: Pair) -> list[EconomicEvent]:
    async with pair.a.services.db.read() as session:
        return list((await session.scalars(select(EconomicEvent).order_by(EconomicEvent.id))).all())


async def test_logging_hours_for_an_organization_and_the_refusals(pair: Pair) -> None:
    async with pair.a.services.db.write() as session:
        await create_agent(session, "bakery", kind="organization")
        session.add(
            CoopMembership(
                organization="https://a.test/agents/bakery", member=ALICE, state="accepted"
            )
        )
    alice = pair.a.client
    await sign_in(alice, "alice")
    page = (await alice.get("/app/work", headers=HTML)).text
    assert '<option value="https://a.test/agents/bakery">bakery</option>' in page

    logged = await _post(
        alice,
        "/app/work",
        "/app/work",
        hours="2,5",
        organization="https://a.test/agents/bakery",
        note="Kneading",
    )
    assert logged.status_code == 303, logged.text
    (event,) = await _events(pair)
    assert event.action == "work"
    assert event.effort_quantity == Decimal("2.5")
    assert event.effort_unit == "hour"
    assert event.receiver == "https://a.test/agents/bakery"
    assert json.loads(event.body)["inScopeOf"] == "https://a.test/agents/bakery"

    for fields, field, detail in (
        ({"hours": "two"}, "hours", "&#39;two&#39; is not a number"),
        ({"hours": "-1"}, "hours", "the quantity must be more than zero"),
        ({"hours": "1", "organization": "https://a.test/agents/other"}, "organization",
         "you are not a member of that organization"),
        ({"hours": "1", "commitment": "https://a.test/commitments/x"}, "commitment",
         "that is not one of your open commitments"),
    ):  # fmt: skip
        refused = await _post(alice, "/app/work", "/app/work", **fields)
        assert refused.status_code == 400
        assert f'<span class="error" id="{field}-error">{detail}' in refused.text
    assert len(await _events(pair)) == 1


async def test_correcting_a_payment_from_its_page(pair: Pair) -> None:
    currency = await credit_currency(pair.alice)
    carol = "https://a.test/agents/carol"
    async with pair.a.services.db.write() as session:
        await create_agent(session, "carol")
    paid = await pair.alice.post(
        {
            "type": "EconomicEvent",
            "action": "transfer",
            "receiver": carol,
            "resourceConformsTo": currency,
            "resourceQuantity": units("5"),
        }
    )
    uri = paid["object"]["id"]
    alice = pair.a.client
    await sign_in(alice, "alice")
    page = (await alice.get(uri, headers=HTML)).text
    assert "Correct this event" in page

    too_much = await _post(alice, uri, "/app/correct", event=uri, quantity="6")
    assert too_much.status_code == 422
    assert '<span class="error" id="quantity-error">' in too_much.text
    assert "never exceeds" in too_much.text
    corrected = await _post(alice, uri, "/app/correct", event=uri, quantity="2")
    assert corrected.status_code == 303, corrected.text
    correction = (await _events(pair))[-1]
    assert correction.corrects == uri
    assert correction.resource_quantity == Decimal("-2")
    # Lowering carol's balance waits for her acceptance.
    assert correction.state == "claimed"
