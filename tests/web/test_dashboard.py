"""The dashboard and the record pages, after a real exchange between two instances."""

from __future__ import annotations

import re

from tests.exchange.conftest import Pair
from tests.exchange.steps import agreed, kg
from tests.web.signing import sign_in

HTML = {"Accept": "text/html"}


def _text(page: str) -> str:
    """The page's words, without tags, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


async def test_the_dashboard_shows_balances_commitments_and_events(pair: Pair) -> None:
    _proposal, bread, agreement, _currency = await agreed(pair)
    await pair.alice.post(
        {
            "type": "EconomicEvent",
            "action": "transfer",
            "resourceInventoriedAs": bread,
            "receiver": pair.bob.id,
            "resourceQuantity": kg("4.5"),
            "fulfills": agreement["stipulates"]["id"],
            "realizationOf": agreement["id"],
        }
    )
    await pair.settle()
    assert (await sign_in(pair.a.client, "alice")).status_code == 303
    page = await pair.a.client.get("/dashboard", headers=HTML)
    assert page.status_code == 200
    text = _text(page.text)
    # 50 kg raised, 4.5 delivered: exact, with the unit's symbol and name.
    assert "Accounting 45.5 kg (kilogram)" in text
    assert "On hand 45.5 kg" in text
    assert page.text.count('<svg class="chart"') == 1
    assert "from 0 kg to 45.5 kg" in page.text  # the chart's text alternative
    assert "transfer 10 kg Q7802 (Wikidata) to bob@b.test : 4.5 kg done" in text
    assert "transfer 20 Coop credit from bob@b.test : 0 done" in text
    assert "With bob@b.test agreed" in text
    assert "transfer 4.5 kg Q7802 (Wikidata) alice → bob@b.test" in text

    # The commitment's page, by content negotiation on its id, for its party only.
    commitment = agreement["stipulates"]["id"]
    own = await pair.a.client.get(commitment, headers=HTML)
    assert own.status_code == 200
    assert "Record a delivery or a payment" in own.text
    # The agreement's page: its commitments, how much of each is done, what is left.
    assert "Agreement with bob@b.test" in own.text
    assert "transfer 10 kg (4.5 kg done)" in _text(own.text)
    assert "(5.5 kg still to do)" in own.text
    resource_page = await pair.a.client.get(bread, headers=HTML)
    assert resource_page.status_code == 200
    assert "45.5 kg" in resource_page.text
    # JSON clients still get JSON (and need their token); strangers get a 404.
    json_answer = await pair.a.client.get(commitment, headers={"Accept": "application/json"})
    assert json_answer.status_code == 404
    await pair.a.client.post("/logout", data={"csrf": _token(own.text)})
    assert (await pair.a.client.get(commitment, headers=HTML)).status_code == 404


def _token(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found[1]


async def test_offers_from_others_wait_for_an_answer(pair: Pair) -> None:
    from tests.exchange.steps import credit_currency, offer_for, publish_bread_offer, raise_stock

    currency = await credit_currency(pair.alice)
    await raise_stock(pair.alice, "50")
    proposal = await publish_bread_offer(pair.alice, currency)
    await pair.bob.post(offer_for(proposal, "10", "20"))
    await pair.settle()
    await sign_in(pair.a.client, "alice")
    text = _text((await pair.a.client.get("/dashboard", headers=HTML)).text)
    assert "Offer from bob@b.test: 10 kg for 20" in text
    assert "Rye bread offer" in text
