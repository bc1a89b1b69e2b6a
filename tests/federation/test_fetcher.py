"""The safe fetcher against real HTTP servers on loopback."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from federation.auth import HttpSignatureAuth
from federation.errors import AddressRefused, FetchBusy, FetchFailed, FetchRefused
from federation.fetcher import SafeFetcher, is_activitystreams_type, is_jrd_type
from federation.headers import Headers
from federation.keys import PublicKey
from federation.request import RequestParts
from federation.transport import (
    GuardedBackend,
    GuardedTransport,
    address_refusal,
    guarded_transport,
)
from federation.verify import signature_key_id, verify_request

from .conftest import ACTOR, KEY_ID
from .servers import serve

AS = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


def as_json(doc: dict[str, Any], media_type: str = AS, status: int = 200) -> Response:
    return Response(json.dumps(doc), status_code=status, media_type=media_type)


def own(request: Request, **extra: Any) -> dict[str, Any]:
    return {"id": str(request.url), "type": "Note", **extra}


Handler = Callable[[Request], Response | Awaitable[Response]]


def app(routes: Mapping[str, Handler]) -> Starlette:
    def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            result = handler(request)
            if isinstance(result, Response):
                return result
            return await result

        return run

    return Starlette(routes=[Route(path, endpoint(handler)) for path, handler in routes.items()])


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=guarded_transport(True)) as shared:
        yield shared


def fetcher(client: httpx.AsyncClient, **kw: Any) -> SafeFetcher:
    return SafeFetcher(client, None, allow_private_network=True, **kw)


async def test_fetch_object_returns_the_document(client: httpx.AsyncClient) -> None:
    routes = {
        "/note": lambda r: as_json(own(r, content="hi")),
        "/ld": lambda r: as_json(own(r), LD),
    }
    async with serve(app(routes)) as base:
        document = await fetcher(client).fetch_object(base + "/note#fragment")
        assert document == {"id": base + "/note", "type": "Note", "content": "hi"}
        assert (await fetcher(client).fetch_object(base + "/ld"))["type"] == "Note"


async def test_signed_get_verifies_on_the_server(
    client: httpx.AsyncClient, rsa_key: rsa.RSAPrivateKey
) -> None:
    seen: list[str] = []

    async def check(request: Request) -> Response:
        parts = RequestParts(
            request.method,
            request.url.path,
            request.headers["host"],
            Headers(request.headers.items()),
            await request.body(),
            scheme="http",
        )
        key = PublicKey(signature_key_id(parts.headers), ACTOR, rsa_key.public_key())
        verified = verify_request(
            parts, key, __import__("federation").clock.utc_now(), require_digest=False
        )
        seen.append(verified.scheme)
        assert "accept" in verified.covered
        return as_json(own(request))

    async with serve(app({"/private": check})) as base:
        signed = SafeFetcher(client, HttpSignatureAuth(KEY_ID, rsa_key), allow_private_network=True)
        await signed.fetch_object(base + "/private")
    assert seen == ["cavage-rsa-sha256"]


async def test_follows_up_to_three_redirects_each_signed(
    client: httpx.AsyncClient, rsa_key: rsa.RSAPrivateKey
) -> None:
    signatures: list[str] = []

    def hop(target: str) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            signatures.append(request.headers.get("signature", ""))
            return RedirectResponse(target, status_code=302)

        return handler

    routes = {
        "/1": hop("/2"),
        "/2": hop("/3"),
        "/3": hop("/final"),
        "/final": lambda r: as_json(own(r)),
    }
    async with serve(app(routes)) as base:
        signed = SafeFetcher(client, HttpSignatureAuth(KEY_ID, rsa_key), allow_private_network=True)
        document = await signed.fetch_object(base + "/1")
    assert document["id"] == base + "/final"
    assert len(signatures) == 3
    assert all(signatures)


async def test_more_than_three_redirects_are_refused(client: httpx.AsyncClient) -> None:
    def onward(request: Request) -> Response:
        return RedirectResponse(f"/{int(request.url.path[1:]) + 1}", 301)

    routes = {f"/{i}": onward for i in range(5)}
    async with serve(app(routes)) as base:
        with pytest.raises(FetchRefused, match="more than 3 redirects"):
            await fetcher(client).fetch_object(base + "/0")


async def test_redirect_loop_is_refused(client: httpx.AsyncClient) -> None:
    routes = {
        "/a": lambda r: RedirectResponse("/b", 307),
        "/b": lambda r: RedirectResponse("/a", 308),
    }
    async with serve(app(routes)) as base:
        with pytest.raises(FetchRefused, match="redirect loop"):
            await fetcher(client).fetch_object(base + "/a")


async def test_redirect_to_a_refused_address_is_checked_again() -> None:
    # 127.0.0.1 stands in for a public host here; every other address keeps its rule.
    def refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        return None if str(address) == "127.0.0.1" else address_refusal(address)

    backend = GuardedBackend(refusal=refusal)
    transport = GuardedTransport(allow_private_network=True, backend=backend)
    async with httpx.AsyncClient(transport=transport) as client:
        routes = {
            "/start": lambda r: RedirectResponse(f"http://127.0.0.2:{r.url.port}/x", 302),
            "/meta": lambda r: RedirectResponse("http://169.254.169.254/latest/meta-data", 302),
        }
        async with serve(app(routes)) as base:
            # A WebFinger answer may move to another host: its address is checked again.
            with pytest.raises(AddressRefused, match=r"127\.0\.0\.2.*loopback"):
                await fetcher(client).fetch_jrd(base + "/start")
            # An object never leaves its origin.
            with pytest.raises(FetchRefused, match="redirect to another origin"):
                await fetcher(client).fetch_object(base + "/start")
            # A never-a-peer literal is refused before asking, even under the switch.
            for fetch in (fetcher(client).fetch_jrd, fetcher(client).fetch_object):
                with pytest.raises(AddressRefused, match="link-local"):
                    await fetch(base + "/meta")


async def test_redirect_to_another_scheme_is_refused(client: httpx.AsyncClient) -> None:
    async with serve(app({"/ftp": lambda r: RedirectResponse("ftp://example.com/x", 302)})) as base:
        with pytest.raises(FetchRefused, match="scheme 'ftp'"):
            await fetcher(client).fetch_object(base + "/ftp")


async def test_redirect_without_location_fails(client: httpx.AsyncClient) -> None:
    async with serve(app({"/r": lambda r: Response(status_code=302)})) as base:
        with pytest.raises(FetchFailed, match="without a Location") as caught:
            await fetcher(client).fetch_object(base + "/r")
        assert caught.value.status == 302


@pytest.mark.parametrize(
    "media_type",
    [
        "text/html",
        "application/json",
        "application/ld+json",
        'application/ld+json; profile="https://example.com/other"',
    ],
)
async def test_wrong_content_type_is_refused(client: httpx.AsyncClient, media_type: str) -> None:
    async with serve(app({"/x": lambda r: as_json(own(r), media_type)})) as base:
        with pytest.raises(FetchRefused, match="content type"):
            await fetcher(client).fetch_object(base + "/x")


async def test_oversized_body_is_refused_declared_or_streamed(client: httpx.AsyncClient) -> None:
    big = b'{"id": "x", "pad": "' + b"a" * 5000 + b'"}'

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 1000):
            yield big[start : start + 1000]

    routes = {
        "/declared": lambda r: Response(big, media_type=AS),
        "/streamed": lambda r: StreamingResponse(chunks(), media_type=AS),
    }
    async with serve(app(routes)) as base:
        small = fetcher(client, max_bytes=4096)
        with pytest.raises(FetchRefused, match=r"5\d{3} bytes exceeds 4096"):
            await small.fetch_object(base + "/declared")
        with pytest.raises(FetchRefused, match="body exceeds 4096 bytes"):
            await small.fetch_object(base + "/streamed")


async def test_id_mismatch_is_refused(client: httpx.AsyncClient) -> None:
    routes = {
        "/other": lambda r: as_json({"id": "https://elsewhere.example/note", "type": "Note"}),
        "/none": lambda r: as_json({"type": "Note"}),
    }
    async with serve(app(routes)) as base:
        with pytest.raises(FetchRefused, match="is not the URL it was fetched from"):
            await fetcher(client).fetch_object(base + "/other")
        with pytest.raises(FetchRefused, match="None"):
            await fetcher(client).fetch_object(base + "/none")
        assert (await fetcher(client).fetch_object(base + "/none", check_id=False)) == {
            "type": "Note"
        }


async def test_body_must_be_a_json_object(client: httpx.AsyncClient) -> None:
    routes = {
        "/list": lambda r: Response("[1]", media_type=AS),
        "/bad": lambda r: Response("{", media_type=AS),
    }
    async with serve(app(routes)) as base:
        with pytest.raises(FetchRefused, match="not a JSON object"):
            await fetcher(client).fetch_object(base + "/list")
        with pytest.raises(FetchRefused, match="not valid JSON"):
            await fetcher(client).fetch_object(base + "/bad")


async def test_injected_parser_is_used(client: httpx.AsyncClient) -> None:
    class StrictError(Exception):
        pass

    def strict(body: bytes) -> Any:
        raise StrictError("duplicate key")

    async with serve(app({"/x": lambda r: as_json(own(r))})) as base:
        with pytest.raises(FetchRefused, match="duplicate key"):
            await fetcher(client, parse_json=strict).fetch_object(base + "/x")


@pytest.mark.parametrize("status", [404, 410, 500])
async def test_http_errors_carry_the_status(client: httpx.AsyncClient, status: int) -> None:
    async with serve(app({"/x": lambda r: as_json({}, status=status)})) as base:
        with pytest.raises(FetchFailed) as caught:
            await fetcher(client).fetch_object(base + "/x")
    assert caught.value.status == status


async def test_slow_answer_times_out(client: httpx.AsyncClient) -> None:
    async def slow(request: Request) -> Response:
        await asyncio.sleep(3)
        return as_json(own(request))

    async def trickle() -> AsyncIterator[bytes]:
        yield b'{"id": '
        await asyncio.sleep(3)
        yield b'"x"}'

    routes: dict[str, Handler] = {
        "/slow": slow,
        "/trickle": lambda r: StreamingResponse(trickle(), media_type=AS),
    }
    async with serve(app(routes)) as base:
        quick = fetcher(client, timeout=0.3)
        with pytest.raises(FetchFailed, match=r"within 0\.3 s|timed out"):
            await quick.fetch_object(base + "/slow")
        with pytest.raises(FetchFailed, match=r"within 0\.3 s|timed out"):
            await quick.fetch_object(base + "/trickle")


async def test_a_host_that_left_a_fetch_unanswered_is_not_asked_again_for_a_while(
    client: httpx.AsyncClient,
) -> None:
    calls: list[str] = []

    async def slow(request: Request) -> Response:
        calls.append(request.url.path)
        await asyncio.sleep(3)
        return as_json(own(request))

    now = [100.0]
    async with serve(app({"/slow": slow, "/quick": lambda r: as_json(own(r))})) as base:
        hushed = fetcher(client, timeout=0.3, quiet_after_timeout=30, clock=lambda: now[0])
        with pytest.raises(FetchFailed, match=r"within 0\.3 s|timed out"):
            await hushed.fetch_object(base + "/slow")
        # Another document of the same host: refused at once, without a request.
        with pytest.raises(FetchBusy, match="not asked again for 30 s") as caught:
            await hushed.fetch_object(base + "/quick")
        assert caught.value.retry_after == 30
        assert calls == ["/slow"]
        now[0] += 31
        assert (await hushed.fetch_object(base + "/quick"))["id"] == base + "/quick"


async def test_connection_refused_is_a_fetch_failure(
    client: httpx.AsyncClient, unused_tcp_port: int
) -> None:
    with pytest.raises(FetchFailed, match="network error: ConnectError"):
        await fetcher(client).fetch_object(f"http://127.0.0.1:{unused_tcp_port}/x")


async def test_without_the_switch_loopback_and_http_are_refused(unused_tcp_port: int) -> None:
    async with httpx.AsyncClient(transport=guarded_transport(False)) as client:
        strict = SafeFetcher(client, None)
        with pytest.raises(FetchRefused, match="scheme 'http'"):
            await strict.fetch_object(f"http://127.0.0.1:{unused_tcp_port}/x")
        with pytest.raises(AddressRefused, match="loopback"):
            await strict.fetch_object(f"https://127.0.0.1:{unused_tcp_port}/x")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://user:pw@a.example/x", "credentials"),
        ("https:///x", "no host"),
        ("http://a.example/x", "scheme 'http'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("https://a.example:x/", "not a valid URL"),
    ],
)
def test_check_url_refusals(url: str, why: str) -> None:
    with pytest.raises(FetchRefused, match=why):
        SafeFetcher(httpx.AsyncClient(), None).check_url(url)


async def test_fetch_jrd_accepts_jrd_and_json(client: httpx.AsyncClient) -> None:
    routes = {
        "/jrd": lambda r: JSONResponse({"subject": "acct:a@b"}, media_type="application/jrd+json"),
        "/json": lambda r: JSONResponse({"subject": "acct:a@b"}),
        "/html": lambda r: Response("<html>", media_type="text/html"),
    }
    async with serve(app(routes)) as base:
        assert (await fetcher(client).fetch_jrd(base + "/jrd"))["subject"] == "acct:a@b"
        assert (await fetcher(client).fetch_jrd(base + "/json"))["subject"] == "acct:a@b"
        with pytest.raises(FetchRefused, match="content type"):
            await fetcher(client).fetch_jrd(base + "/html")


@pytest.mark.parametrize(
    ("content_type", "ok"),
    [
        ("application/activity+json", True),
        ("Application/Activity+JSON; charset=utf-8", True),
        (LD, True),
        ('application/ld+json;profile="https://www.w3.org/ns/activitystreams https://x"', True),
        ("application/ld+json", False),
        ("application/json", False),
        ("", False),
    ],
)
def test_is_activitystreams_type(content_type: str, ok: bool) -> None:
    assert is_activitystreams_type(content_type) is ok


def test_is_jrd_type() -> None:
    assert is_jrd_type("application/jrd+json; charset=utf-8")
    assert is_jrd_type("application/json")
    assert not is_jrd_type("text/html")
