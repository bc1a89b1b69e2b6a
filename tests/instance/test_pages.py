"""Pages for people, in-process: the same URLs give HTML to browsers, JSON to the rest."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from instance.agents import get_agent
from instance.tokens import create_token
from tests.harness import Running
from tests.instance.conftest import add_agent

ALICE = "https://a.test/agents/alice"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def text(page: str) -> str:
    """A page's text as a reader sees it: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def client_of(instance: Running, username: str) -> dict[str, str]:
    async with instance.services.db.write() as session:
        agent = await get_agent(session, username)
        assert agent is not None
        return {"Authorization": f"Bearer {await create_token(session, agent)}"}


async def publish(instance: Running, auth: dict[str, str], **proposal: Any) -> str:
    document = {
        "type": "Proposal",
        "purpose": "offer",
        "publishes": {
            "type": "Intent",
            "action": "transfer",
            "resourceConformsTo": "https://a.test/specs/bread",
            "resourceQuantity": {"hasUnit": "kilogram", "hasNumericalValue": "2"},
        },
        **proposal,
    }
    response = await instance.client.post(f"{ALICE}/outbox", json=document, headers=auth)
    assert response.status_code == 201, response.text
    uri: str = response.json()["object"]["id"]
    return uri


@pytest.mark.parametrize(
    "path", ["/agents/nobody", "/proposals/nope", "/objects/nope", "/agents/alice/nope/x"]
)
async def test_a_browser_gets_a_404_page_and_clients_a_json_problem(
    instance: Running, path: str
) -> None:
    await add_agent(instance, "alice")
    page = await instance.client.get(path, headers={"Accept": BROWSER})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Not found" in page.text
    assert "<h1" in page.text
    for accept in ("application/activity+json", "application/json", "*/*", None):
        headers = {"Accept": accept} if accept else {}
        problem = await instance.client.get(path, headers=headers)
        assert problem.status_code == 404
        assert problem.headers["content-type"] == "application/problem+json"
        assert problem.json()["status"] == 404


async def test_refusals_of_posts_stay_json_even_for_browsers(instance: Running) -> None:
    await add_agent(instance, "alice")
    response = await instance.client.post(
        f"{ALICE}/outbox", json={"type": "Note"}, headers={"Accept": BROWSER}
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_the_profile_lists_open_offers_and_requests(instance: Running) -> None:
    await add_agent(instance, "alice", name="Alice")
    auth = await client_of(instance, "alice")
    bread = await publish(instance, auth, name="Bread")
    gone = await publish(instance, auth, name="Old cake")
    hidden = await publish(instance, auth, name="Secret", to=["https://a.test/agents/alice"])
    await publish(
        instance,
        auth,
        purpose="request",
        name="Help baking",
        publishes={
            "type": "Intent",
            "action": "work",
            "effortQuantity": {"hasUnit": "hour", "hasNumericalValue": "3"},
        },
        location={"type": "Place", "name": "The bakery"},
    )
    withdrawn = await instance.client.post(
        f"{ALICE}/outbox", json={"type": "Delete", "object": gone}, headers=auth
    )
    assert withdrawn.status_code == 201
    page = await instance.client.get(ALICE, headers={"Accept": BROWSER})
    assert page.status_code == 200
    words = text(page.text)
    assert "Offers Bread 2 kilogram of bread" in words
    assert "Requests Help baking work: 3 hour · The bakery" in words
    assert "Old cake" not in words
    assert "Secret" not in words
    assert f'href="{bread}"' in page.text
    assert hidden not in page.text
    assert "0 followers · 0 following" in words


async def test_the_proposal_page_says_what_how_much_for_what_where_who_and_if_open(
    instance: Running,
) -> None:
    await add_agent(instance, "alice", name="Alice's Bakery")
    auth = await client_of(instance, "alice")
    uri = await publish(
        instance,
        auth,
        name="Rye <bread>",
        content="<p>Fresh <em>today</em><script>x()</script></p>",
        location={"type": "Place", "name": "Market square"},
        reciprocal={
            "type": "Intent",
            "action": "transfer",
            "resourceConformsTo": "https://a.test/specs/credit",
            "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "4"},
        },
    )
    page = await instance.client.get(uri, headers={"Accept": BROWSER})
    assert page.status_code == 200
    source = page.text
    words = text(source)
    assert "Rye &lt;bread&gt;" in source  # escaped
    assert "<script" not in source
    for expected in (
        "Offer · Open",
        "Offered 2 kilogram of bread",
        "In return 4 credit",
        "Where Market square",
        "By Alice's Bakery @alice@a.test",
        "Fresh today",
    ):
        assert expected in words, (expected, words)
    assert f'href="{ALICE}"' in source
    assert f'href="{uri}/note"' in source
    assert '<meta property="og:title" content="Offer: Rye &lt;bread&gt;">' in source
    # The same URL gives the Proposal to ActivityPub clients.
    document = await instance.client.get(uri, headers={"Accept": "application/activity+json"})
    assert document.json()["type"] == "Proposal"

    await instance.client.post(
        f"{ALICE}/outbox", json={"type": "Delete", "object": uri}, headers=auth
    )
    closed = text((await instance.client.get(uri, headers={"Accept": BROWSER})).text)
    assert "Offer · Closed (withdrawn)" in closed


async def test_a_proposal_note_has_a_page_and_says_when_it_is_deleted(instance: Running) -> None:
    await add_agent(instance, "alice", name="Alice")
    auth = await client_of(instance, "alice")
    uri = await publish(instance, auth, name="Plums")
    page = await instance.client.get(f"{uri}/note", headers={"Accept": BROWSER})
    assert page.status_code == 200
    assert "Note by Alice" in text(page.text)
    assert "Offer: Plums" in text(page.text)
    await instance.client.post(
        f"{ALICE}/outbox", json={"type": "Delete", "object": uri}, headers=auth
    )
    gone = await instance.client.get(f"{uri}/note", headers={"Accept": BROWSER})
    assert gone.status_code == 410
    assert "Deleted" in text(gone.text)
    json_gone = await instance.client.get(f"{uri}/note")
    assert json_gone.status_code == 410
    assert json_gone.json()["type"] == "Tombstone"


async def test_collections_have_pages_for_browsers(instance: Running) -> None:
    await add_agent(instance, "alice", name="Alice")
    auth = await client_of(instance, "alice")
    await publish(instance, auth, name="Pears")
    followers = await instance.client.get(f"{ALICE}/followers", headers={"Accept": BROWSER})
    assert followers.status_code == 200
    assert "Following Alice" in text(followers.text)
    outbox = await instance.client.get(f"{ALICE}/outbox", headers={"Accept": BROWSER})
    assert outbox.status_code == 200
    assert "Create" in text(outbox.text)
    # JSON clients still get the collection itself.
    collection = await instance.client.get(f"{ALICE}/followers")
    assert collection.json()["type"] == "OrderedCollection"
