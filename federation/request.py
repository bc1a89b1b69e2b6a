"""The parts of an HTTP request that signature verification reads, and URL origins."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

from federation.headers import Headers

__all__ = [
    "RequestParts",
    "authority_of",
    "normal_authority",
    "origin_of",
    "request_target_of",
    "same_authority",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class RequestParts:
    """What an inbox or a signed GET hands the verifier; nothing here does I/O.

    `target` is the path and query exactly as received ("/inbox", "/o?page=2").
    `host` is the authority the request must have been signed for: the receiving
    server's own, from its public base URL. A signed `host` or `@authority` is checked
    against it, never against the Host header alone, so a request signed for another
    server does not verify here (`verify_request`). `body` is the raw body,
    byte for byte, before any parsing. `scheme` is the public scheme (https behind a
    TLS-terminating proxy), used for RFC 9421 `@target-uri`.
    """

    method: str
    target: str
    host: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    scheme: str = "https"

    @property
    def path(self) -> str:
        """The target without its query ("/" when empty)."""
        return self.target.partition("?")[0] or "/"

    @property
    def query(self) -> str | None:
        """The query without "?", or None when the target has none."""
        _, sep, query = self.target.partition("?")
        return query if sep else None

    @property
    def target_uri(self) -> str:
        """The absolute URI the request was sent to."""
        return f"{self.scheme.lower()}://{self.host.lower()}{self.target}"


def authority_of(url: str) -> str:
    """The Host value for `url`: lower-cased host, and the port when not the default."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        return f"{host}:{port}"
    return host


def normal_authority(authority: str, scheme: str) -> str:
    """`authority` lower-cased, without the port when it is `scheme`'s default."""
    host = authority.strip().lower()
    default = _DEFAULT_PORTS.get(scheme.lower())
    if default is not None and host.endswith(f":{default}"):
        return host[: -len(f":{default}")]
    return host


def same_authority(left: str, right: str, scheme: str) -> bool:
    """Whether two Host values name the same authority (case and default port aside)."""
    return normal_authority(left, scheme) == normal_authority(right, scheme)


def request_target_of(url: str) -> str:
    """The path and query of `url` as sent on the request line ("/" for an empty path)."""
    parts = urlsplit(url)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


@lru_cache(maxsize=4096)
def origin_of(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the default port made explicit; compare these, not text.

    Pure, and asked several times for each inbound activity, mostly for the same few
    actors: the last few thousand answers are kept."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)
