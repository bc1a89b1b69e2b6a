"""The address guard: a pure classifier, and the backend that applies it on connect."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from federation.delivery import post_activity
from federation.errors import AddressRefused, FetchRefused
from federation.transport import (
    GuardedBackend,
    GuardedTransport,
    address_refusal,
    guarded_transport,
)

from .servers import serve


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "private"),
        ("100.64.0.1", "carrier-grade"),
        ("192.0.2.1", "private"),
        ("198.18.0.1", "private"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved|private"),
        ("255.255.255.255", "private|reserved"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("fec0::1", "site-local|reserved"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "IPv4-mapped.*loopback"),
        ("::ffff:10.0.0.1", "IPv4-mapped.*private"),
        ("::ffff:169.254.169.254", "IPv4-mapped.*link-local"),
        ("::127.0.0.1", "IPv4-compatible"),
        ("::10.0.0.1", "IPv4-compatible"),
        ("2002:7f00:1::1", "6to4.*loopback"),
        ("2002:a00:1::1", "6to4.*private"),
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo.*private"),
        ("64:ff9b::7f00:1", "NAT64.*loopback"),
        ("64:ff9b::a00:1", "NAT64.*private"),
        ("64:ff9b:1::1", "local-use NAT64"),
        ("2001:db8::1", "private|not a global"),
    ],
)
def test_refused_addresses(address: str, why: str) -> None:
    reason = address_refusal(ipaddress.ip_address(address))
    assert reason is not None
    assert re.search(why, reason), reason


@pytest.mark.parametrize(
    "address",
    [
        "93.184.215.14",
        "1.1.1.1",
        "8.8.8.8",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "2002:808:808::1",
        "64:ff9b::808:808",
    ],
)
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


def resolver(answers: dict[str, list[str]]) -> Callable[[str, int], Awaitable[list[str]]]:
    async def resolve(host: str, port: int) -> list[str]:
        return answers[host]

    return resolve


async def test_backend_refuses_a_name_resolving_only_to_private_addresses() -> None:
    backend = GuardedBackend(resolve=resolver({"evil.example": ["10.0.0.5", "127.0.0.1"]}))
    with pytest.raises(AddressRefused) as caught:
        await backend.connect_tcp("evil.example", 443)
    assert caught.value.host == "evil.example"
    assert caught.value.address == "10.0.0.5"
    assert "private" in caught.value.why


async def test_backend_keeps_only_public_addresses() -> None:
    backend = GuardedBackend(
        resolve=resolver({"mixed.example": ["127.0.0.1", "93.184.215.14", "::1"]})
    )
    assert await backend.checked_addresses("mixed.example", 443, None) == ["93.184.215.14"]


async def test_backend_checks_ip_literals_without_resolving() -> None:
    backend = GuardedBackend(resolve=resolver({}))
    with pytest.raises(AddressRefused, match="IPv4-mapped"):
        await backend.connect_tcp("::ffff:127.0.0.1", 443)


async def test_development_switch_lets_loopback_and_private_networks_through() -> None:
    answers = ["127.0.0.1", "10.1.2.3", "192.168.0.9", "172.20.0.1", "100.64.1.1", "fd00::5"]
    answers += ["::1", "::ffff:7f00:1"]
    backend = GuardedBackend(allow_private_network=True, resolve=resolver({"dev.test": answers}))
    assert await backend.checked_addresses("dev.test", 80, None) == answers


NEVER_PEERS = [
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "private"),
    ("::", "unspecified"),
    ("::ffff:0.0.0.0", "unspecified"),
    ("169.254.169.254", "link-local"),
    ("::ffff:169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("255.255.255.255", "private|reserved"),
    ("240.0.0.1", "reserved|private"),
    ("192.0.2.1", "private"),
    ("2001:db8::1", "private|not a global"),
    ("fec0::1", "site-local|reserved"),
    ("::127.0.0.1", "IPv4-compatible"),
    ("64:ff9b::7f00:1", "NAT64"),
]


@pytest.mark.parametrize(("address", "why"), NEVER_PEERS)
def test_addresses_that_are_never_peers_stay_refused_under_the_switch(
    address: str, why: str
) -> None:
    reason = address_refusal(ipaddress.ip_address(address), allow_private_network=True)
    assert reason is not None
    assert re.search(why, reason), reason


@pytest.mark.parametrize(("address", "why"), NEVER_PEERS)
async def test_the_switch_never_connects_to_them_by_literal_or_by_name(
    address: str, why: str
) -> None:
    backend = GuardedBackend(
        allow_private_network=True, resolve=resolver({"rebind.test": [address]})
    )
    for host in (address, f"[{address}]" if ":" in address else address, "rebind.test"):
        with pytest.raises(AddressRefused) as caught:
            await backend.connect_tcp(host, 80)
        assert re.search(why, caught.value.why), caught.value.why


async def test_resolution_failure_is_a_connect_error() -> None:
    import httpcore

    async def failing(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    with pytest.raises(httpcore.ConnectError, match="cannot resolve"):
        await GuardedBackend(resolve=failing).connect_tcp("nowhere.invalid", 443)


def _app() -> Starlette:
    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"hello {request.headers['host']}")

    return Starlette(routes=[Route("/", hello)])


async def test_loopback_server_is_refused_on_connect_without_the_switch() -> None:
    async with serve(_app()) as base:
        port = base.rsplit(":", 1)[1]
        async with httpx.AsyncClient(transport=guarded_transport(False)) as client:
            for url in (
                f"https://127.0.0.1:{port}/",
                f"https://localhost:{port}/",
                f"https://[::1]:{port}/",
            ):
                with pytest.raises(AddressRefused, match="loopback"):
                    await client.get(url)


async def test_plain_http_needs_the_switch() -> None:
    async with serve(_app()) as base:
        async with httpx.AsyncClient(transport=guarded_transport(False)) as client:
            with pytest.raises(FetchRefused, match="scheme 'http'"):
                await client.get(base)
        async with httpx.AsyncClient(transport=guarded_transport(True)) as client:
            response = await client.get(base + "/")
            assert response.status_code == 200
            assert response.text == f"hello {base.removeprefix('http://')}"


async def test_connection_errors_are_httpx_errors(unused_tcp_port: int) -> None:
    async with httpx.AsyncClient(transport=GuardedTransport(allow_private_network=True)) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{unused_tcp_port}/")


async def test_httpcore_finds_sniffio() -> None:
    # Without sniffio, httpcore retries the import (a full sys.path scan) for every lock
    # and event of every request: that alone made fan-out to 500 hosts ~40% slower.
    import sniffio  # a dependency: see pyproject.toml
    from httpcore._synchronization import current_async_library

    assert sniffio.current_async_library() == current_async_library() == "asyncio"


def _inbox(connections: list[tuple[str, int]]) -> Starlette:
    async def inbox(request: Request) -> PlainTextResponse:
        assert request.client is not None
        connections.append((request.headers["host"], request.client.port))
        await request.body()
        return PlainTextResponse("accepted", status_code=202)

    return Starlette(routes=[Route("/inbox", inbox, methods=["POST"])])


async def test_deliveries_reuse_each_hosts_connection_in_a_bounded_pool_per_host() -> None:
    connections: list[tuple[str, int]] = []
    transport = GuardedTransport(allow_private_network=True, max_hosts=2)
    async with (
        serve(_inbox(connections)) as one,
        serve(_inbox(connections)) as two,
        serve(_inbox(connections)) as three,
        httpx.AsyncClient(transport=transport) as client,
    ):
        for base in (one, two, one, two):
            outcome = await post_activity(client, f"{base}/inbox", b"{}", httpx.Auth())
            assert outcome.kind == "done"
        # Each host's second POST came on its first one's connection (the answer was
        # read, so the connection went back to its host's pool).
        assert connections[0] == connections[2]
        assert connections[1] == connections[3]
        assert len(transport) == 2
        # A third host: the least recently used idle pool makes room.
        await post_activity(client, f"{three}/inbox", b"{}", httpx.Auth())
        assert len(transport) == 2
        await post_activity(client, f"{one}/inbox", b"{}", httpx.Auth())
        assert connections[-1][1] != connections[2][1]  # its pool was closed: a new one
