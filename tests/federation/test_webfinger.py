from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation.errors import FetchFailed, WebFingerError
from federation.fetcher import SafeFetcher
from federation.transport import guarded_transport
from federation.webfinger import (
    actor_id_from_jrd,
    build_host_meta,
    build_jrd,
    parse_resource,
    resolve,
    webfinger_url,
)

from .servers import serve


@pytest.mark.parametrize(
    "resource",
    [
        "acct:alice@Social.Example",
        "@alice@social.example",
        "alice@social.example",
        "ACCT:alice@social.example",
    ],
)
def test_parse_resource_forms(resource: str) -> None:
    assert parse_resource(resource) == ("alice", "social.example")


def test_parse_resource_with_port_and_ip() -> None:
    assert parse_resource("acct:bob@127.0.0.1:8000") == ("bob", "127.0.0.1:8000")
    assert parse_resource("bob@[::1]:8000") == ("bob", "[::1]:8000")


@pytest.mark.parametrize(
    ("resource", "why"),
    [
        ("alice", "expected user@host"),
        ("@alice", "expected user@host"),
        ("acct:@social.example", "user part"),
        ("a b@social.example", "user part"),
        ("alice@", "not a valid host"),
        ("alice@social.example/path", "not a valid host"),
        ("alice@-bad.example", "not a valid host"),
    ],
)
def test_parse_resource_errors(resource: str, why: str) -> None:
    with pytest.raises(WebFingerError, match=why) as caught:
        parse_resource(resource)
    assert caught.value.resource == resource


def test_webfinger_url() -> None:
    assert webfinger_url("alice", "social.example") == (
        "https://social.example/.well-known/webfinger?resource=acct:alice@social.example"
    )
    assert webfinger_url("a+b", "h:8000", scheme="http").startswith("http://h:8000/")


def test_build_jrd() -> None:
    jrd = build_jrd(
        "acct:alice@social.example",
        "https://social.example/agents/alice",
        profile_url="https://social.example/@alice",
        subscribe_template="https://social.example/follow?uri={uri}",
    )
    assert jrd["subject"] == "acct:alice@social.example"
    assert jrd["aliases"] == [
        "https://social.example/agents/alice",
        "https://social.example/@alice",
    ]
    assert {
        "rel": "self",
        "type": "application/activity+json",
        "href": "https://social.example/agents/alice",
    } in jrd["links"]
    assert any(link["rel"] == "http://webfinger.net/rel/profile-page" for link in jrd["links"])
    assert actor_id_from_jrd(jrd, "alice@social.example") == "https://social.example/agents/alice"
    json.dumps(jrd)


def test_build_host_meta_is_xrd() -> None:
    root = ET.fromstring(build_host_meta("social.example"))
    link = root.find("{http://docs.oasis-open.org/ns/xri/xrd-1.0}Link")
    assert link is not None
    assert link.get("template") == "https://social.example/.well-known/webfinger?resource={uri}"


@pytest.mark.parametrize(
    ("jrd", "why"),
    [
        ({}, "no links"),
        (
            {"links": [{"rel": "self", "type": "text/html", "href": "https://a/x"}]},
            "no ActivityStreams self link",
        ),
        (
            {
                "links": [
                    {"rel": "self", "type": "application/activity+json", "href": "javascript:x"}
                ]
            },
            "not an http",
        ),
    ],
)
def test_actor_id_from_jrd_errors(jrd: dict[str, object], why: str) -> None:
    with pytest.raises(WebFingerError, match=why):
        actor_id_from_jrd(jrd, "a@b")


def test_actor_id_from_jrd_accepts_ld_json_profile() -> None:
    link = {
        "rel": "self",
        "type": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        "href": "https://a.example/u",
    }
    assert actor_id_from_jrd({"links": [link]}, "u@a.example") == "https://a.example/u"


async def test_resolve_against_a_loopback_server() -> None:
    async def webfinger(request: Request) -> Response:
        resource = request.query_params["resource"]
        if resource != f"acct:alice@{request.url.netloc}":
            return Response(status_code=404)
        return JSONResponse(
            build_jrd(resource, f"http://{request.url.netloc}/agents/alice"),
            media_type="application/jrd+json",
        )

    app = Starlette(routes=[Route("/.well-known/webfinger", webfinger)])
    async with serve(app) as base, httpx.AsyncClient(transport=guarded_transport(True)) as client:
        fetcher = SafeFetcher(client, None, allow_private_network=True)
        host = base.removeprefix("http://")
        assert await resolve(fetcher, f"@alice@{host}", scheme="http") == f"{base}/agents/alice"
        with pytest.raises(FetchFailed) as caught:
            await resolve(fetcher, f"bob@{host}", scheme="http")
        assert caught.value.status == 404


async def test_an_answer_naming_another_servers_actor_needs_that_servers_word() -> None:
    """mallory's host answers for `bob@` with an actor on the victim's server: refused
    unless the victim's server gives the same actor for that account (as a domain that
    delegates its accounts to a server elsewhere does)."""
    victim_accounts: dict[str, str] = {}

    async def victim_webfinger(request: Request) -> Response:
        actor = victim_accounts.get(request.query_params["resource"])
        if actor is None:
            return Response(status_code=404)
        return JSONResponse(
            build_jrd(request.query_params["resource"], actor), media_type="application/jrd+json"
        )

    victim = Starlette(routes=[Route("/.well-known/webfinger", victim_webfinger)])
    async with serve(victim) as victim_base:
        victim_actor = f"{victim_base}/agents/alice"

        async def pointing(request: Request) -> Response:
            return JSONResponse(
                build_jrd(request.query_params["resource"], victim_actor),
                media_type="application/jrd+json",
            )

        pointer = Starlette(routes=[Route("/.well-known/webfinger", pointing)])
        async with (
            serve(pointer) as base,
            httpx.AsyncClient(transport=guarded_transport(True)) as client,
        ):
            fetcher = SafeFetcher(client, None, allow_private_network=True)
            handle = f"bob@{base.removeprefix('http://')}"
            with pytest.raises(FetchFailed) as caught:
                await resolve(fetcher, handle, scheme="http")
            assert caught.value.status == 404  # the victim's server knows no such account
            victim_accounts[f"acct:{handle}"] = f"{victim_base}/agents/carol"
            with pytest.raises(WebFingerError, match="does not confirm"):
                await resolve(fetcher, handle, scheme="http")
            # The server does hold that account for the domain: a delegation, accepted.
            victim_accounts[f"acct:{handle}"] = victim_actor
            assert await resolve(fetcher, handle, scheme="http") == victim_actor
