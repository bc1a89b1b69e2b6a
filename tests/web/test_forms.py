"""A whole exchange between two instances through the app's forms, and its refusals.

Everything after the setup (a currency and some stock, made with a token) is done by
posting the forms a browser would post, with the token each page carries.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
from sqlalchemy import func, select

from instance.store.models import EconomicResource, Proposal
from tests.exchange.conftest import BREAD, Pair, ledger_state
from tests.exchange.steps import credit_currency, raise_stock
from tests.web.signing import form_token, sign_in
from vocab import canonical_decimal

HTML = {"Accept": "text/html"}


def _text(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


async def _post(client: httpx.AsyncClient, page: str, action: str, **fields: str) -> httpx.Response:
    token = form_token((await client.get(page, headers=HTML)).text)
    return await client.post(action, data={"csrf": token, **fields})


async def _balances(pair: Pair) -> dict[str, str]:
    found = {}
    for instance in (pair.a, pair.b):
        async with instance.services.db.read() as session:
            for row in (await session.scalars(select(EconomicResource))).all():
                found[f"{instance.settings.base_url} {row.unit}"] = canonical_decimal(
                    row.accounting_quantity
                )
    return found


async def test_a_whole_exchange_through_the_forms(pair: Pair) -> None:
    await credit_currency(pair.alice)
    await raise_stock(pair.alice, "50")
    alice, bob = pair.a.client, pair.b.client
    await sign_in(alice, "alice")
    await sign_in(bob, "bob")

    published = await _post(
        alice,
        "/app/publish",
        "/app/publish",
        purpose="offer",
        name="Rye bread",
        kind=BREAD,
        quantity="5",
        unit="kg",
        available="30",
        unit_based="1",
        return_kind="Coop credit",  # a known specification, by its name
        return_quantity="10",
        return_unit="one",
    )
    assert published.status_code == 303, published.text
    dashboard = (await alice.get("/dashboard?done=published", headers=HTML)).text
    assert "Published." in dashboard
    proposal = re.search(r'<a href="(https://a\.test/proposals/[^"]+)">Rye bread</a>', dashboard)
    assert proposal

    look = await bob.get(f"/app/answer?proposal={quote(proposal[1])}", headers=HTML)
    assert "5 kg for 10" in _text(look.text)
    answered = await _post(
        bob,
        f"/app/answer?proposal={quote(proposal[1])}",
        "/app/answer",
        proposal=proposal[1],
        quantity="10",
    )
    assert answered.status_code == 303, answered.text
    await pair.settle()

    dashboard = (await alice.get("/dashboard", headers=HTML)).text
    assert "Offer from bob@b.test: 10 kg for 20" in _text(dashboard)
    offer = re.search(r'name="object" value="(https://b\.test/[^"]+)"', dashboard)
    assert offer
    accepted = await _post(alice, "/dashboard", "/app/decide", object=offer[1], decision="accept")
    assert accepted.status_code == 303, accepted.text
    await pair.settle()

    # Alice delivers from her agreement's page, Bob pays from his.
    dashboard = (await alice.get("/dashboard", headers=HTML)).text
    owed = re.search(r'<a href="(https://a\.test/agreements/[^"#]+)#primary">', dashboard)
    assert owed
    delivered = await _post(
        alice, owed[1], "/app/fulfil", commitment=f"{owed[1]}#primary", quantity="10"
    )
    assert delivered.status_code == 303, delivered.text
    await pair.settle()
    bob_dashboard = (await bob.get("/dashboard", headers=HTML)).text
    theirs = re.search(r'<a href="(/app/record\?id=[^"]+)">transfer 20', bob_dashboard)
    assert theirs
    paid = await _post(
        bob,
        theirs[1].replace("&amp;", "&"),
        "/app/fulfil",
        commitment=f"{owed[1]}#reciprocal",
        quantity="20",
    )
    assert paid.status_code == 303, paid.text
    await pair.settle()

    balances = await _balances(pair)
    assert balances == {
        "https://a.test kilogram": "40",
        "https://a.test one": "20",
        "https://b.test kilogram": "10",
        "https://b.test one": "-20",
    }
    bob_page = _text((await bob.get("/dashboard", headers=HTML)).text)
    assert "Accounting 10 kg (kilogram)" in bob_page
    assert "Accounting -20" in bob_page


async def test_refusals_show_next_to_their_field_and_store_nothing(pair: Pair) -> None:
    await sign_in(pair.a.client, "alice")
    before = await ledger_state(pair.a)
    refused = await _post(
        pair.a.client,
        "/app/publish",
        "/app/publish",
        purpose="offer",
        name="Rye bread",
        kind=BREAD,
        quantity="5",
        unit="furlongs per fortnight",
    )
    assert refused.status_code == 400
    assert (
        '<span class="error" id="unit-error">&#39;furlongs per fortnight&#39; is not a unit '
        "of the OM2 list</span>" in refused.text
    )
    assert 'aria-describedby="unit-error"' in refused.text
    assert 'value="Rye bread"' in refused.text  # what was typed is kept
    bad_number = await _post(
        pair.a.client,
        "/app/publish",
        "/app/publish",
        purpose="offer",
        name="Rye bread",
        quantity="five",
        unit="kg",
    )
    assert bad_number.status_code == 400
    assert 'id="quantity-error">&#39;five&#39; is not a number' in bad_number.text
    assert await ledger_state(pair.a) == before
    async with pair.a.services.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Proposal)) == 0

    # Without the form's token nothing is published.
    forged = await pair.a.client.post(
        "/app/publish", data={"purpose": "offer", "name": "x", "quantity": "1", "unit": "kg"}
    )
    assert forged.status_code == 403
    assert await ledger_state(pair.a) == before
