"""WebFinger, host-meta and NodeInfo, as a Fediverse server asks for them."""

from __future__ import annotations

import pytest

from tests.harness import Running
from tests.instance.conftest import add_agent


async def test_webfinger_resolves_an_agent_to_its_actor(instance: Running) -> None:
    await add_agent(instance, "alice")
    response = await instance.client.get(
        "/.well-known/webfinger", params={"resource": "acct:alice@a.test"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jrd+json")
    jrd = response.json()
    assert jrd["subject"] == "acct:alice@a.test"
    selves = [link for link in jrd["links"] if link["rel"] == "self"]
    assert selves == [
        {"rel": "self", "type": "application/activity+json", "href": "https://a.test/agents/alice"}
    ]
    # The round trip a Mastodon search makes: the actor's username and host give back the
    # same actor id.
    actor = (await instance.client.get(selves[0]["href"])).json()
    assert f"acct:{actor['preferredUsername']}@a.test" == jrd["subject"]


async def test_webfinger_accepts_the_actor_url_as_resource(instance: Running) -> None:
    await add_agent(instance, "alice")
    response = await instance.client.get(
        "/.well-known/webfinger", params={"resource": "https://a.test/agents/alice"}
    )
    assert response.status_code == 200
    assert response.json()["subject"] == "acct:alice@a.test"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({}, 400),
        ({"resource": ""}, 400),
        ({"resource": "alice@a.test"}, 400),
        ({"resource": "acct:alice"}, 400),
        ({"resource": "acct:@a.test"}, 400),
        ({"resource": "acct:" + "a" * 600 + "@a.test"}, 400),
        ({"resource": "acct:nobody@a.test"}, 404),
        ({"resource": "acct:alice@b.test"}, 404),
    ],
)
async def test_webfinger_refusals(instance: Running, params: dict[str, str], status: int) -> None:
    await add_agent(instance, "alice")
    response = await instance.client.get("/.well-known/webfinger", params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert problem["detail"]


async def test_host_meta_points_to_webfinger(instance: Running) -> None:
    response = await instance.client.get("/.well-known/host-meta")
    assert response.status_code == 200
    assert "application/xrd+xml" in response.headers["content-type"]
    assert 'template="https://a.test/.well-known/webfinger?resource={uri}"' in response.text


async def test_nodeinfo_says_what_is_spoken(instance: Running) -> None:
    await add_agent(instance, "alice")
    await add_agent(instance, "coop", kind="organization")
    links = (await instance.client.get("/.well-known/nodeinfo")).json()["links"]
    assert links[0]["rel"] == "http://nodeinfo.diaspora.software/ns/schema/2.1"
    href = links[0]["href"]
    assert href == "https://a.test/nodeinfo/2.1"
    info = (await instance.client.get(href)).json()
    assert info["version"] == "2.1"
    assert info["software"]["name"] == "oce"
    assert info["protocols"] == ["activitypub"]
    assert info["usage"]["users"]["total"] == 2
    assert info["metadata"]["valueflows"]["version"] == "1.0.0"
    assert "0837" in info["metadata"]["federation"]["feps"]
