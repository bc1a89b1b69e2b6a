"""Delivery policy (pure) and post_activity against loopback servers."""

from __future__ import annotations

import random
from datetime import timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation.auth import HttpSignatureAuth
from federation.clock import format_http_date
from federation.delivery import (
    BACKOFF_CAP,
    MAX_ATTEMPTS,
    MAX_RETRY_AFTER,
    Outcome,
    backoff_delay,
    classify_exception,
    classify_response,
    next_attempt_at,
    parse_retry_after,
    post_activity,
)
from federation.errors import AddressRefused, FetchRefused
from federation.headers import Headers
from federation.keys import PublicKey
from federation.request import RequestParts
from federation.transport import guarded_transport
from federation.verify import verify_request

from .conftest import ACTOR, KEY_ID, NOW
from .servers import serve


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_2xx_is_done(status: int) -> None:
    outcome = classify_response(status, {}, NOW)
    assert (outcome.kind, outcome.retry_at, outcome.status) == ("done", None, status)


@pytest.mark.parametrize("status", [400, 403, 404, 405, 410, 413, 422])
def test_other_4xx_are_permanent(status: int) -> None:
    assert classify_response(status, {}, NOW).kind == "permanent"


@pytest.mark.parametrize("status", [401, 408, 429, 500, 502, 503, 504])
def test_retryable_statuses(status: int) -> None:
    outcome = classify_response(status, {}, NOW)
    assert (outcome.kind, outcome.retry_at) == ("retry", None)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_permanent(status: int) -> None:
    outcome = classify_response(status, {"Location": "https://x/"}, NOW)
    assert outcome.kind == "permanent"
    assert "redirect" in outcome.reason


def test_odd_status_is_retried() -> None:
    assert classify_response(100, {}, NOW).kind == "retry"


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds(status: int) -> None:
    outcome = classify_response(status, {"Retry-After": "120"}, NOW)
    assert outcome.retry_at == NOW + timedelta(seconds=120)


def test_retry_after_http_date() -> None:
    later = NOW + timedelta(hours=3)
    outcome = classify_response(503, Headers([("retry-after", format_http_date(later))]), NOW)
    assert outcome.retry_at == later


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("soon", None),
        ("-5", None),
        ("0", NOW),
        (format_http_date(NOW - timedelta(days=1)), NOW),
        ("99999999999", NOW + MAX_RETRY_AFTER),
        (format_http_date(NOW + timedelta(days=90)), NOW + MAX_RETRY_AFTER),
    ],
)
def test_parse_retry_after_bounds(value: str | None, expected: object) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_retry_after_is_ignored_on_other_statuses() -> None:
    assert classify_response(500, {"Retry-After": "60"}, NOW).retry_at is None


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ConnectTimeout("t"), "retry"),
        (httpx.ReadTimeout("t"), "retry"),
        (httpx.ConnectError("refused"), "retry"),
        (httpx.RemoteProtocolError("eof"), "retry"),
        (httpx.UnsupportedProtocol("gopher"), "permanent"),
        (httpx.InvalidURL("bad"), "permanent"),
        (AddressRefused("h", "10.0.0.1", "a private address"), "permanent"),
        (FetchRefused("u", "scheme"), "permanent"),
        (RuntimeError("?"), "retry"),
    ],
)
def test_classify_exception(exc: BaseException, kind: str) -> None:
    assert classify_exception(exc).kind == kind


def test_host_failed_only_for_outages() -> None:
    assert classify_response(503, {}, NOW).host_failed
    assert classify_exception(httpx.ConnectError("x")).host_failed
    assert not classify_response(429, {}, NOW).host_failed
    assert not classify_response(404, {}, NOW).host_failed
    assert not classify_response(202, {}, NOW).host_failed


def test_backoff_grows_then_caps() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, rng) for n in range(1, 20)]
    assert timedelta(seconds=45) <= delays[0] <= timedelta(seconds=75)
    assert all(delay <= BACKOFF_CAP * 1.25 for delay in delays)
    assert delays[-1] >= BACKOFF_CAP * 0.75
    with pytest.raises(ValueError, match="from 1"):
        backoff_delay(0, rng)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_backoff_schedule_spans_at_least_two_days(seed: int) -> None:
    rng = random.Random(seed)
    total = sum((backoff_delay(n, rng) for n in range(1, MAX_ATTEMPTS)), timedelta())
    assert total >= timedelta(days=2)
    assert total <= timedelta(days=4)


def test_next_attempt_at() -> None:
    rng = random.Random(0)
    retry = Outcome("retry", "HTTP 500", status=500)
    assert next_attempt_at(Outcome("done", "ok"), 1, NOW, rng) is None
    assert next_attempt_at(Outcome("permanent", "gone"), 1, NOW, rng) is None
    assert next_attempt_at(retry, MAX_ATTEMPTS, NOW, rng) is None
    moment = next_attempt_at(retry, 1, NOW, rng)
    assert moment is not None
    assert NOW < moment <= NOW + timedelta(seconds=75)
    told = Outcome("retry", "HTTP 429", retry_at=NOW + timedelta(hours=5), status=429)
    assert next_attempt_at(told, 1, NOW, rng) == NOW + timedelta(hours=5)


# --- post_activity over real sockets -------------------------------------------------------


async def test_post_activity_signs_and_classifies(rsa_key: rsa.RSAPrivateKey) -> None:
    received: list[str] = []

    async def inbox(request: Request) -> Response:
        body = await request.body()
        parts = RequestParts(
            "POST",
            request.url.path,
            request.headers["host"],
            Headers(request.headers.items()),
            body,
            scheme="http",
        )
        verified = verify_request(
            parts, PublicKey(KEY_ID, ACTOR, rsa_key.public_key()), NOW, require_digest=True
        )
        received.append(request.headers["content-type"])
        assert verified.actor_id == ACTOR
        return Response(status_code=202)

    async def busy(request: Request) -> Response:
        return Response(status_code=503, headers={"Retry-After": "30"})

    async def gone(request: Request) -> Response:
        return Response("bye" * 1000, status_code=410)

    app = Starlette(
        routes=[
            Route("/inbox", inbox, methods=["POST"]),
            Route("/busy", busy, methods=["POST"]),
            Route("/gone", gone, methods=["POST"]),
        ]
    )
    auth = HttpSignatureAuth(KEY_ID, rsa_key, clock=lambda: NOW)
    async with serve(app) as base, httpx.AsyncClient(transport=guarded_transport(True)) as client:
        done = await post_activity(
            client, base + "/inbox", b'{"type":"Follow"}', auth, clock=lambda: NOW
        )
        busy_outcome = await post_activity(client, base + "/busy", b"{}", auth, clock=lambda: NOW)
        gone_outcome = await post_activity(client, base + "/gone", b"{}", auth)
    assert done.kind == "done"
    assert received == ["application/activity+json"]
    assert (busy_outcome.kind, busy_outcome.retry_at) == ("retry", NOW + timedelta(seconds=30))
    assert (gone_outcome.kind, gone_outcome.status) == ("permanent", 410)


async def test_post_activity_never_raises_for_network_failures(
    rsa_key: rsa.RSAPrivateKey, unused_tcp_port: int
) -> None:
    auth = HttpSignatureAuth(KEY_ID, rsa_key)
    async with httpx.AsyncClient(transport=guarded_transport(True)) as client:
        refused = await post_activity(
            client, f"http://127.0.0.1:{unused_tcp_port}/inbox", b"{}", auth
        )
        invalid = await post_activity(client, "http://a.example:x/inbox", b"{}", auth)
    async with httpx.AsyncClient(transport=guarded_transport(False)) as client:
        loopback = await post_activity(
            client, f"https://127.0.0.1:{unused_tcp_port}/inbox", b"{}", auth
        )
        plain = await post_activity(
            client, f"http://127.0.0.1:{unused_tcp_port}/inbox", b"{}", auth
        )
    assert refused.kind == "retry"
    assert refused.host_failed
    assert invalid.kind == "permanent"
    assert loopback.kind == "permanent"
    assert "loopback" in loopback.reason
    assert plain.kind == "permanent"
    assert "scheme" in plain.reason


async def test_post_activity_timeout_is_retried(rsa_key: rsa.RSAPrivateKey) -> None:
    import asyncio

    async def slow(request: Request) -> Response:
        await asyncio.sleep(2)
        return Response(status_code=202)

    app = Starlette(routes=[Route("/inbox", slow, methods=["POST"])])
    async with serve(app) as base, httpx.AsyncClient(transport=guarded_transport(True)) as client:
        outcome = await post_activity(
            client, base + "/inbox", b"{}", HttpSignatureAuth(KEY_ID, rsa_key), request_timeout=0.2
        )
    assert outcome.kind == "retry"
    assert "timeout" in outcome.reason
