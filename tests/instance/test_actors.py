"""Actor documents, content negotiation, collections and paging, 404s."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from instance.store.models import Follow
from tests.harness import Running
from tests.instance.conftest import add_agent

AS = "https://www.w3.org/ns/activitystreams"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


async def test_actor_document_has_everything_fediverse_servers_read(instance: Running) -> None:
    await add_agent(instance, "coop", kind="organization", name="The Coop", summary="We bake.")
    response = await instance.client.get(
        "/agents/coop", headers={"Accept": "application/activity+json"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/activity+json"
    actor = response.json()
    assert actor["@context"][:2] == [AS, "https://w3id.org/security/v1"]
    assert actor["id"] == "https://a.test/agents/coop"
    assert actor["type"] == "Organization"
    assert actor["preferredUsername"] == "coop"
    assert actor["name"] == "The Coop"
    assert actor["summary"] == "<p>We bake.</p>"
    for name in ("inbox", "outbox", "followers", "following"):
        assert actor[name] == f"https://a.test/agents/coop/{name}"
    assert actor["url"] == "https://a.test/agents/coop"
    assert actor["endpoints"] == {"sharedInbox": "https://a.test/inbox"}
    assert actor["manuallyApprovesFollowers"] is False
    key = actor["publicKey"]
    assert key["id"] == "https://a.test/agents/coop#main-key"
    assert key["owner"] == actor["id"]
    public = load_pem_public_key(key["publicKeyPem"].encode())
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == 2048


async def test_each_agent_has_its_own_key(instance: Running) -> None:
    await add_agent(instance, "alice")
    await add_agent(instance, "bob")
    alice = (await instance.client.get("/agents/alice")).json()
    bob = (await instance.client.get("/agents/bob")).json()
    assert alice["publicKey"]["publicKeyPem"] != bob["publicKey"]["publicKeyPem"]


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        ("application/activity+json", "application/activity+json"),
        (LD, LD),
        ("application/json", "application/activity+json"),
        ("*/*", "application/activity+json"),
        ("", "application/activity+json"),
    ],
)
async def test_json_representations(instance: Running, accept: str, content_type: str) -> None:
    await add_agent(instance, "alice")
    response = await instance.client.get("/agents/alice", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.json()["id"] == "https://a.test/agents/alice"


async def test_browsers_get_a_profile_page(instance: Running) -> None:
    await add_agent(instance, "alice", name="Alice <b>Baker</b>", summary="Bread & more")
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = await instance.client.get("/agents/alice", headers={"Accept": browser})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "Alice &lt;b&gt;Baker&lt;/b&gt;" in page  # escaped, never markup
    assert "Bread &amp; more" in page
    assert "@alice@a.test" in page


async def test_instance_actor_is_readable_without_a_signature(instance: Running) -> None:
    response = await instance.client.get("/actor", headers={"Accept": "application/activity+json"})
    assert response.status_code == 200
    actor = response.json()
    assert actor["type"] == "Application"
    assert actor["id"] == "https://a.test/actor"
    assert actor["publicKey"]["owner"] == "https://a.test/actor"
    assert "BEGIN PUBLIC KEY" in actor["publicKey"]["publicKeyPem"]


@pytest.mark.parametrize(
    "path", ["/agents/nobody", "/agents/nobody/followers", "/agents/nobody/outbox", "/nope"]
)
async def test_unknown_things_are_404_problems(instance: Running, path: str) -> None:
    response = await instance.client.get(path, headers={"Accept": "application/activity+json"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


async def test_followers_collection_pages_through_thousands(instance: Running) -> None:
    alice = await add_agent(instance, "alice")
    total = 2345
    async with instance.services.db.write() as session:
        session.add_all(
            Follow(
                activity_uri=f"https://r{i % 7}.test/follows/{i}",
                follower=f"https://r{i % 7}.test/users/u{i}",
                followee="https://a.test/agents/alice",
                followee_agent_id=alice.id,
                state="accepted" if i % 10 else "pending",
            )
            for i in range(total)
        )
    accepted = {f"https://r{i % 7}.test/users/u{i}" for i in range(total) if i % 10}
    collection = (await instance.client.get("/agents/alice/followers")).json()
    assert collection["type"] == "OrderedCollection"
    assert collection["totalItems"] == len(accepted)
    seen: list[str] = []
    url: str | None = collection["first"]
    pages = 0
    while url:
        page = (await instance.client.get(url)).json()
        assert page["type"] == "OrderedCollectionPage"
        assert page["partOf"] == "https://a.test/agents/alice/followers"
        seen.extend(page.get("orderedItems", []))
        url = page.get("next")
        pages += 1
    assert len(seen) == len(set(seen)) == len(accepted)
    assert set(seen) == accepted
    assert pages == -(-len(accepted) // 50)


async def test_bad_page_cursor_is_a_400_naming_it(instance: Running) -> None:
    await add_agent(instance, "alice")
    response = await instance.client.get("/agents/alice/followers?page=1&before=abc")
    assert response.status_code == 400
    assert response.json()["field"] == "before"
