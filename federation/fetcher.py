"""The one way we read remote documents: signed, bounded, and checked.

Every fetch is a signed GET; redirects are followed by hand (at most `max_redirects`,
each hop checked again, loops refused); the answer must be 2xx with an ActivityStreams
content type (a JRD type for WebFinger); the body is read as a stream and abandoned past
`max_bytes`; the whole exchange, redirects included, must finish within `timeout`
seconds. With `quiet_after_timeout`, a host that left a fetch unanswered that long is
not asked again for that many seconds (`FetchBusy`): a peer whose server hangs costs
one wait, not one per request it makes us fetch for.

An ActivityStreams object is followed through redirects on its own origin only (a
server speaks for its own origin, never for another's), and its `id` must equal the URL
it was finally served from. A caller that asked for a specific id compares it with the
returned document's id. Addresses and schemes are checked by the client's transport
(`guarded_transport`); a URL whose host is a literal address that is never a peer's
(`0.0.0.0`, link-local, ...) is refused before any request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from federation.errors import AddressRefused, FetchBusy, FetchFailed, FetchRefused
from federation.request import origin_of
from federation.transport import address_refusal, literal_address

__all__ = [
    "ACCEPT_ACTIVITY",
    "ACCEPT_JRD",
    "SafeFetcher",
    "Served",
    "is_activitystreams_type",
    "is_jrd_type",
    "same_url",
]

AS_PROFILE = "https://www.w3.org/ns/activitystreams"
ACCEPT_ACTIVITY = f'application/activity+json, application/ld+json; profile="{AS_PROFILE}"'
ACCEPT_JRD = "application/jrd+json, application/json"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _media_type(content_type: str) -> tuple[str, dict[str, str]]:
    kind, *raw_params = content_type.split(";")
    params = {}
    for raw in raw_params:
        name, _, value = raw.partition("=")
        params[name.strip().lower()] = value.strip().strip('"')
    return kind.strip().lower(), params


def is_activitystreams_type(content_type: str) -> bool:
    """application/activity+json, or application/ld+json with the ActivityStreams profile."""
    kind, params = _media_type(content_type)
    if kind == "application/activity+json":
        return True
    return kind == "application/ld+json" and AS_PROFILE in params.get("profile", "").split()


def is_jrd_type(content_type: str) -> bool:
    """application/jrd+json or application/json (what WebFinger servers answer)."""
    return _media_type(content_type)[0] in ("application/jrd+json", "application/json")


@dataclass(frozen=True)
class Served:
    """A fetched ActivityStreams document and the URL that finally served it."""

    url: str
    document: dict[str, Any]


class SafeFetcher:
    """Signed, bounded GETs of ActivityStreams objects and WebFinger documents.

    `client` is the shared federation client (built on `guarded_transport`); `auth`
    signs each request (`HttpSignatureAuth`); `parse_json` turns the body into Python
    (inject the strict parser; its errors become FetchRefused).
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        auth: httpx.Auth | None,
        *,
        allow_private_network: bool = False,
        max_bytes: int = 1_048_576,
        timeout: float = 10.0,
        max_redirects: int = 3,
        parse_json: Callable[[bytes], Any] = json.loads,
        quiet_after_timeout: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._auth = auth
        self.allow_private_network = allow_private_network
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.max_redirects = max_redirects
        self._parse_json = parse_json
        self.quiet_after_timeout = quiet_after_timeout
        self._clock = clock
        #: Hosts that left a fetch unanswered, and until when they are not asked again.
        self._quiet_until: dict[str, float] = {}

    async def fetch_object(self, url: str, *, check_id: bool = True) -> dict[str, Any]:
        """Fetch an ActivityStreams object; its `id` must equal the URL it came from.

        Redirects are followed on `url`'s origin only. `check_id=False` is for callers
        that check the document another way (a record that has no id of its own); such
        a caller trusts nothing in it beyond what `url`'s origin may say. Raises
        FetchRefused or FetchFailed.
        """
        served = await self.fetch_served(url)
        if check_id:
            found = served.document.get("id")
            if not isinstance(found, str) or not same_url(found, served.url):
                raise FetchRefused(
                    served.url, f"document id {found!r} is not the URL it was fetched from"
                )
        return served.document

    async def fetch_served(self, url: str) -> Served:
        """An ActivityStreams document and the URL that served it, its id unchecked.

        Redirects stay on `url`'s origin. For callers that must judge the document's id
        themselves (a key document may point at its owner). Raises FetchRefused or
        FetchFailed.
        """
        final_url, body = await self._get(
            url, ACCEPT_ACTIVITY, is_activitystreams_type, same_origin=True
        )
        return Served(final_url, self._parse_object(final_url, body))

    async def fetch_jrd(self, url: str) -> dict[str, Any]:
        """Fetch a WebFinger JRD (application/jrd+json or application/json).

        Redirects may lead to another origin (a domain delegating WebFinger to its
        server's host is common); a JRD only points at an actor, which is then fetched
        and checked on its own origin.
        """
        final_url, body = await self._get(url, ACCEPT_JRD, is_jrd_type, same_origin=False)
        return self._parse_object(final_url, body)

    def check_url(self, url: str) -> str:
        """`url` without its fragment if we may request it; FetchRefused otherwise."""
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise FetchRefused(url, f"not a valid URL: {exc}") from exc
        allowed = ("https", "http") if self.allow_private_network else ("https",)
        if parsed.scheme not in allowed:
            raise FetchRefused(url, f"scheme {parsed.scheme!r} is not allowed; use https")
        if not parsed.host:
            raise FetchRefused(url, "URL has no host")
        if parsed.userinfo:
            raise FetchRefused(url, "URL carries credentials")
        literal = literal_address(parsed.host)
        if literal is not None:
            why = address_refusal(literal, allow_private_network=self.allow_private_network)
            if why is not None:
                raise AddressRefused(parsed.host, str(literal), why)
        return str(parsed.copy_with(fragment=None))

    async def _get(
        self, url: str, accept: str, type_ok: Callable[[str], bool], *, same_origin: bool
    ) -> tuple[str, bytes]:
        current = self.check_url(url)
        origin = "{}://{}:{}".format(*origin_of(current))
        self._check_quiet(url, origin)
        try:
            with anyio.fail_after(self.timeout):
                return await self._follow(current, accept, type_ok, same_origin=same_origin)
        except TimeoutError:
            self._hush(origin)
            raise FetchFailed(url, f"no complete answer within {self.timeout:g} s") from None
        except httpx.TimeoutException as exc:
            self._hush(origin)
            raise FetchFailed(url, f"timed out: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise FetchFailed(url, f"network error: {type(exc).__name__}: {exc}") from exc

    def _check_quiet(self, url: str, origin: str) -> None:
        until = self._quiet_until.get(origin)
        if until is None:
            return
        left = until - self._clock()
        if left <= 0:
            del self._quiet_until[origin]
            return
        raise FetchBusy(
            url,
            f"{origin} left a request unanswered for {self.timeout:g} s; "
            f"not asked again for {left:.0f} s",
            retry_after=max(1, round(left)),
        )

    def _hush(self, origin: str) -> None:
        if self.quiet_after_timeout <= 0:
            return
        now = self._clock()
        if len(self._quiet_until) > 4096:
            self._quiet_until = {o: t for o, t in self._quiet_until.items() if t > now}
        self._quiet_until[origin] = now + self.quiet_after_timeout

    async def _follow(
        self, url: str, accept: str, type_ok: Callable[[str], bool], *, same_origin: bool
    ) -> tuple[str, bytes]:
        current, seen, hops = url, {url}, 0
        while True:
            # Uncompressed answers keep the size cap exact; a server that compresses
            # anyway is still bounded, since the cap counts decoded bytes.
            headers = {"Accept": accept, "Accept-Encoding": "identity"}
            request = self._client.build_request(
                "GET", current, headers=headers, timeout=self.timeout
            )
            if self._auth is None:
                response = await self._client.send(request, stream=True)
            else:
                response = await self._client.send(request, auth=self._auth, stream=True)
            try:
                status = response.status_code
                if status in _REDIRECTS:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchFailed(current, f"HTTP {status} without a Location", status)
                    target = self.check_url(str(response.url.join(location)))
                    if same_origin and origin_of(target) != origin_of(url):
                        raise FetchRefused(
                            url,
                            f"redirect to another origin ({current} -> {target}): a server "
                            "answers only for its own documents",
                        )
                    hops += 1
                    if target in seen:
                        raise FetchRefused(url, f"redirect loop: {current} -> {target}")
                    if hops > self.max_redirects:
                        raise FetchRefused(url, f"more than {self.max_redirects} redirects")
                    seen.add(target)
                    current = target
                    continue
                if not 200 <= status < 300:
                    raise FetchFailed(current, f"HTTP {status}", status)
                content_type = response.headers.get("content-type", "")
                if not type_ok(content_type):
                    raise FetchRefused(current, f"content type {content_type!r} is not accepted")
                return current, await self._read(current, response)
            finally:
                await response.aclose()

    async def _read(self, url: str, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchRefused(url, f"body of {declared} bytes exceeds {self.max_bytes}")
        chunks: list[bytes] = []
        size = 0
        # Counting decoded bytes bounds what a compressed answer can expand into.
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchRefused(url, f"body exceeds {self.max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _parse_object(self, url: str, body: bytes) -> dict[str, Any]:
        try:
            document = self._parse_json(body)
        except Exception as exc:
            # The parser is injected, so its error type is unknown here: any failure
            # means the same thing, a body we refuse.
            raise FetchRefused(url, f"body is not valid JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise FetchRefused(url, "body is not a JSON object")
        return document


def same_url(left: str, right: str) -> bool:
    """Whether two URLs are the same once normalized (case of scheme and host, ports)."""
    try:
        return httpx.URL(left) == httpx.URL(right)
    except httpx.InvalidURL:
        return False
