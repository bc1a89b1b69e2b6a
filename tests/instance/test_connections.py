"""Deadlines and a header cap on every connection, and turns per client, over real
sockets: uvicorn with the instance's protocol, on loopback, with short limits."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from instance.settings import Settings
from instance.web.connections import GuardedProtocol
from instance.web.fairness import ClientTurns, client_of

LIMITS = Settings(header_timeout=1, body_timeout=1, max_header_bytes=2048)


async def echo(request: Request) -> Response:
    return JSONResponse({"size": len(await request.body())})


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[int]:
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        http=cast(Any, functools.partial(GuardedProtocol, settings=LIMITS)),
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(5):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await task


async def answer_to(port: int, *parts: bytes, pause: float = 0.0) -> tuple[bytes, float]:
    """Send ``parts`` with ``pause`` between them, reading meanwhile; the first line of
    the answer and when it came (seconds after connecting)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()

    async def send() -> None:
        with contextlib.suppress(ConnectionError):
            for part in parts:
                writer.write(part)
                await writer.drain()
                await asyncio.sleep(pause)

    sending = asyncio.create_task(send())
    try:
        async with asyncio.timeout(10):
            line = await reader.readline()
    finally:
        sending.cancel()
        writer.close()
    return line.strip(), time.monotonic() - started


async def test_slow_headers_are_cut_off_with_408() -> None:
    app = Starlette(routes=[Route("/", echo, methods=["GET", "POST"])])
    async with serving(app) as port:
        # A byte every 0.3 s: never done within the 1 s deadline.
        line, after = await answer_to(port, b"GET / HTTP/1.1\r\n", *[b"X"] * 20, pause=0.3)
        assert line == b"HTTP/1.1 408 Request Timeout"
        assert 0.9 < after < 2.5
        # Nothing at all after connecting counts the same.
        line, after = await answer_to(port)
        assert line == b"HTTP/1.1 408 Request Timeout"


async def test_a_trickled_body_is_cut_off_and_the_app_sees_the_client_gone() -> None:
    seen: list[str] = []

    async def reading(request: Request) -> Response:
        try:
            body = await request.body()
        except Exception as exc:
            seen.append(type(exc).__name__)
            raise
        return JSONResponse({"size": len(body)})

    app = Starlette(routes=[Route("/", reading, methods=["POST"])])
    async with serving(app) as port:
        head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
        line, after = await answer_to(port, head, *[b"a"] * 20, pause=0.2)
        assert line == b"HTTP/1.1 408 Request Timeout"
        assert after < 2.5
        await asyncio.sleep(0.1)
        assert seen == ["ClientDisconnect"]


async def test_headers_over_the_cap_get_431() -> None:
    app = Starlette(routes=[Route("/", echo)])
    async with serving(app) as port:
        big = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 4000 + b"\r\n\r\n"
        line, _ = await answer_to(port, big)
        assert line == b"HTTP/1.1 431 Request Header Fields Too Large"


async def test_prompt_requests_on_a_kept_alive_connection_are_served() -> None:
    app = Starlette(routes=[Route("/", echo, methods=["GET", "POST"])])
    async with serving(app) as port, httpx.AsyncClient() as client:
        for n in range(3):
            # Each request gets its own deadline, whatever the connection's age.
            response = await client.post(f"http://127.0.0.1:{port}/", content=b"x" * n)
            assert response.json() == {"size": n}
            await asyncio.sleep(0.6)


async def test_a_client_gets_its_turns_and_others_are_not_held_up() -> None:
    running: dict[str, int] = {}
    most: dict[str, int] = {}

    async def work(request: Request) -> Response:
        who = request.headers.get("authorization", "anonymous")
        running[who] = running.get(who, 0) + 1
        most[who] = max(most.get(who, 0), running[who])
        await asyncio.sleep(0.2)
        running[who] -= 1
        return JSONResponse({})

    app = ClientTurns(Starlette(routes=[Route("/", work)]), 2, wait=5)
    async with serving(app) as port, httpx.AsyncClient(timeout=10) as client:
        url = f"http://127.0.0.1:{port}/"
        busy = {"Authorization": "Bearer oce_busy"}
        burst = [asyncio.create_task(client.get(url, headers=busy)) for _ in range(10)]
        await asyncio.sleep(0.05)
        started = time.monotonic()
        other = await client.get(url, headers={"Authorization": "Bearer oce_other"})
        assert other.status_code == 200
        assert time.monotonic() - started < 0.6  # not behind the burst's 10 x 0.2 s / 2
        assert all(r.status_code == 200 for r in await asyncio.gather(*burst))
    assert most["Bearer oce_busy"] == 2


def test_who_a_request_comes_from() -> None:
    token = client_of([(b"authorization", b"Bearer oce_abc")])
    assert token is not None
    assert token.startswith(b"token:")
    assert token == client_of([(b"authorization", b"bearer  oce_abc")])
    signed = client_of(
        [(b"signature", b'keyId="https://Peer.example/users/a#main-key",headers="date"')]
    )
    assert signed == b"server:peer.example"
    assert client_of([(b"signature-input", b'sig1=("@method");keyid="https://p.example/k"')]) == (
        b"server:p.example"
    )
    assert client_of([(b"accept", b"text/html")]) is None
