"""The address guard: federation traffic connects only to public unicast addresses.

The check happens on the address we actually connect to: `GuardedBackend` resolves the
host itself, drops every refused address, and hands the network backend the checked IP
(TLS still uses the host name for SNI and certificate checks, and the Host header is
unchanged). A host name that resolves to 127.0.0.1 when we check and elsewhere when we
connect (DNS rebinding) therefore cannot slip through.

`guarded_transport()` builds the one httpx transport all federation traffic uses, fetches
and deliveries alike. `allow_private_network=True` is a development switch: it lets
loopback and private networks through (RFC 1918, unique-local IPv6, carrier-grade NAT)
and allows plain http, so tests can talk to servers on loopback. Addresses that are
never a peer stay refused even then: the unspecified address (`0.0.0.0`, `::`, which
the kernel treats as "this host"), link-local (cloud metadata lives at 169.254.169.254),
multicast, broadcast, reserved and documentation ranges.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import anyio
import httpcore
import httpx

from federation.errors import AddressRefused, FetchRefused

__all__ = [
    "DEVELOPMENT_NETWORKS",
    "GuardedBackend",
    "GuardedTransport",
    "IPAddress",
    "address_refusal",
    "guarded_transport",
    "literal_address",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")

#: What the development switch (`allow_private_network`) lets through besides public
#: addresses: loopback and the private networks a test or a LAN runs on. Nothing else.
DEVELOPMENT_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
    ipaddress.IPv4Network("127.0.0.0/8"),
    ipaddress.IPv6Network("::1/128"),
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
    ipaddress.IPv6Network("fc00::/7"),
    _CGNAT,
)


def address_refusal(address: IPAddress, *, allow_private_network: bool = False) -> str | None:
    """Why we never connect to `address`, or None when we may.

    Without the development switch only public unicast addresses pass. With it, loopback
    and private networks (`DEVELOPMENT_NETWORKS`, also in their IPv4-mapped form) pass
    too; never the unspecified, link-local, multicast, reserved or documentation ones.
    IPv6 forms that carry an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64) are judged
    by the IPv4 address inside them; IPv4-compatible (::a.b.c.d) is refused outright.
    """
    why = _public_refusal(address)
    if why is not None and allow_private_network and _in_development_network(address):
        return None
    return why


def _in_development_network(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in DEVELOPMENT_NETWORKS)


def literal_address(host: str) -> IPAddress | None:
    """The IP address a URL's host spells literally (`[::1]` included), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _public_refusal(address: IPAddress) -> str | None:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            kind, inner = embedded
            if inner is None:
                return kind
            why = _public_refusal(inner)
            return f"{kind} of {inner}, which is {why}" if why else None
    for test, why in (
        (address.is_unspecified, "the unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_private, "a private or special-purpose address"),
        (address.is_reserved, "a reserved address"),
    ):
        if test:
            return why
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a shared (carrier-grade NAT) address"
    if isinstance(address, ipaddress.IPv6Address) and address in _SITE_LOCAL:
        return "a site-local address"
    if not address.is_global:
        return "not a global unicast address"
    return None


def _embedded_ipv4(
    address: ipaddress.IPv6Address,
) -> tuple[str, ipaddress.IPv4Address | None] | None:
    if address.ipv4_mapped is not None:
        return "an IPv4-mapped address", address.ipv4_mapped
    if address.sixtofour is not None:
        return "a 6to4 address", address.sixtofour
    if address.teredo is not None:
        server, client = address.teredo
        # Either end of a Teredo tunnel being private is enough to refuse it.
        worse = client if _public_refusal(client) else server
        return "a Teredo address", worse
    if address in _NAT64:
        return "a NAT64 address", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _NAT64_LOCAL:
        return "a local-use NAT64 address", None
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return "an IPv4-compatible IPv6 address (deprecated)", None
    return None


async def _system_resolve(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses that pass the guard.

    `resolve` and `refusal` are injectable for tests (a fake DNS, a stricter rule); the
    default rule is `address_refusal` with this backend's `allow_private_network`.
    """

    def __init__(
        self,
        *,
        allow_private_network: bool = False,
        inner: httpcore.AsyncNetworkBackend | None = None,
        resolve: Resolver = _system_resolve,
        refusal: Callable[[IPAddress], str | None] | None = None,
    ) -> None:
        self.allow_private_network = allow_private_network
        self._inner = inner or httpcore.AnyIOBackend()
        self._resolve = resolve
        self._refusal = refusal or functools.partial(
            address_refusal, allow_private_network=allow_private_network
        )

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.checked_addresses(host, port, timeout)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def checked_addresses(self, host: str, port: int, limit: float | None) -> list[str]:
        """The addresses of `host` we may connect to; AddressRefused when there are none.

        Every DNS answer is checked, with or without the development switch: a name
        that resolves to 0.0.0.0 or a link-local address is refused like the literal.
        """
        literal = literal_address(host)
        if literal is not None:
            candidates = [str(literal)]
        else:
            try:
                with anyio.fail_after(limit):
                    candidates = await self._resolve(host, port)
            except TimeoutError as exc:
                raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not candidates:
            raise httpcore.ConnectError(f"{host} has no address")
        allowed: list[str] = []
        refused: tuple[str, str] | None = None
        for candidate in dict.fromkeys(candidates):
            address = ipaddress.ip_address(candidate)
            why = self._refusal(address)
            if why is None:
                allowed.append(str(address))
            elif refused is None:
                refused = (str(address), why)
        if not allowed:
            assert refused is not None
            raise AddressRefused(host, *refused)
        return allowed

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("federation traffic never uses unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# httpcore's exceptions, most specific first, and the httpx exception each becomes.
_EXCEPTIONS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


def _to_httpx(exc: Exception) -> Exception:
    for source, target in _EXCEPTIONS:
        if isinstance(exc, source):
            return target(str(exc) or type(exc).__name__)
    return exc


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(
        self, stream: AsyncIterator[bytes] | Any, closed: Callable[[], None] | None = None
    ) -> None:
        self._stream = stream
        self._closed = closed

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except Exception as exc:
            mapped = _to_httpx(exc)
            if mapped is exc:
                raise
            raise mapped from exc

    async def aclose(self) -> None:
        try:
            if hasattr(self._stream, "aclose"):
                await self._stream.aclose()
        finally:
            if self._closed is not None:
                closed, self._closed = self._closed, None
                closed()


#: Idle connections kept open to one host (a host with more sends at once opens more,
#: up to the pool's limit, and closes them after use).
KEEPALIVE_PER_HOST = 2
#: Hosts with a pool of their own at most; past it, the least recently used idle one
#: is closed.
MAX_HOSTS = 1024


class _HostPool:
    __slots__ = ("in_flight", "last_used", "pool")

    def __init__(self, pool: httpcore.AsyncConnectionPool) -> None:
        self.pool = pool
        self.in_flight = 0
        self.last_used = 0.0


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over httpcore pools whose connections pass the guard.

    One pool per host (scheme, host, port), each of at most ``per_host`` connections,
    ``KEEPALIVE_PER_HOST`` of them kept open between requests: a delivery worker
    sending to hundreds of hosts reuses each host's connection without a shared pool's
    scan of every connection it holds for each request (httpcore assigns requests to
    connections in time that grows with the product of both). At most ``max_hosts``
    pools: the least recently used one with nothing in flight is closed to make room,
    and pools idle longer than the keep-alive expiry are closed as new ones open, so
    idle sockets stay bounded by both.
    """

    def __init__(
        self,
        *,
        allow_private_network: bool = False,
        limits: httpx.Limits | None = None,
        ssl_context: ssl.SSLContext | None = None,
        backend: httpcore.AsyncNetworkBackend | None = None,
        per_host: int = 8,
        max_hosts: int = MAX_HOSTS,
    ) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self.allow_private_network = allow_private_network
        self.per_host = min(per_host, limits.max_connections or per_host)
        self.keepalive = min(KEEPALIVE_PER_HOST, limits.max_keepalive_connections or 0)
        self.keepalive_expiry = limits.keepalive_expiry or 0.0
        self.max_hosts = max_hosts
        self._ssl_context = ssl_context or httpx.create_ssl_context()
        self._backend = backend or GuardedBackend(allow_private_network=allow_private_network)
        self._pools: OrderedDict[tuple[bytes, bytes, int | None], _HostPool] = OrderedDict()

    def _new_pool(self) -> httpcore.AsyncConnectionPool:
        return httpcore.AsyncConnectionPool(
            ssl_context=self._ssl_context,
            max_connections=self.per_host,
            max_keepalive_connections=self.keepalive,
            keepalive_expiry=self.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=self._backend,
        )

    def _take(self, key: tuple[bytes, bytes, int | None]) -> tuple[_HostPool, list[_HostPool]]:
        """The host's pool, counted in flight, and the pools to close (already out of
        the table). Synchronous: no other request can see a pool half made or closing."""
        now = time.monotonic()
        found = self._pools.get(key)
        closing: list[_HostPool] = []
        if found is not None:
            self._pools.move_to_end(key)
        else:
            idle = [k for k, p in self._pools.items() if p.in_flight == 0]
            expired = [k for k in idle if now - self._pools[k].last_used > self.keepalive_expiry]
            excess = len(self._pools) - len(expired) + 1 - self.max_hosts
            if excess > 0:
                expired += [k for k in idle if k not in expired][:excess]
            closing = [self._pools.pop(k) for k in expired]
            found = self._pools[key] = _HostPool(self._new_pool())
        found.in_flight += 1
        found.last_used = now
        return found, closing

    def __len__(self) -> int:
        """Hosts with a pool open."""
        return len(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        scheme = request.url.scheme
        allowed = ("https", "http") if self.allow_private_network else ("https",)
        if scheme not in allowed:
            raise FetchRefused(str(request.url), f"scheme {scheme!r} is not allowed; use https")
        assert isinstance(request.stream, httpx.AsyncByteStream)
        url = httpcore.URL(
            scheme=request.url.raw_scheme,
            host=request.url.raw_host,
            port=request.url.port,
            target=request.url.raw_path,
        )
        core_request = httpcore.Request(
            method=request.method,
            url=url,
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        host, closing = self._take((url.scheme, url.host, url.port))
        try:
            for old in closing:
                await old.pool.aclose()
            response = await host.pool.handle_async_request(core_request)
        except Exception as exc:
            host.in_flight -= 1
            host.last_used = time.monotonic()
            mapped = _to_httpx(exc)
            if mapped is exc:
                raise
            raise mapped from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream, functools.partial(self._done, host)),
            extensions=response.extensions,
        )

    @staticmethod
    def _done(host: _HostPool) -> None:
        host.in_flight -= 1
        host.last_used = time.monotonic()

    async def aclose(self) -> None:
        pools = list(self._pools.values())
        self._pools.clear()
        for host in pools:
            await host.pool.aclose()


def guarded_transport(
    allow_private_network: bool,
    *,
    limits: httpx.Limits | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncBaseTransport:
    """The transport for the one federation `httpx.AsyncClient` the lifespan creates.

    Refuses schemes other than https and every non-public address, unless
    `allow_private_network` (development and tests only: it allows http, loopback and
    private networks, never the addresses that are no peer's, see `address_refusal`).
    """
    return GuardedTransport(
        allow_private_network=allow_private_network, limits=limits, ssl_context=ssl_context
    )
