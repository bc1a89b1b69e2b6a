"""Outgoing requests are signed here, and only here: an `httpx.Auth`."""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime

import httpx

from federation.clock import utc_now
from federation.httpsig import sign_request
from federation.keys import PrivateKeyType

__all__ = ["HttpSignatureAuth"]


class HttpSignatureAuth(httpx.Auth):
    """Sign every request (GET or POST) with draft-cavage HTTP Signatures.

    Pass it as `auth=` on each federation request; redirects followed by hand are new
    requests and are signed afresh. The body is read first so its Digest can be signed.
    """

    requires_request_body = True

    def __init__(
        self,
        key_id: str,
        private_key: PrivateKeyType,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.key_id = key_id
        self._private_key = private_key
        self._clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        added = sign_request(
            request.method,
            str(request.url),
            request.headers.multi_items(),
            request.content,
            self.key_id,
            self._private_key,
            self._clock(),
        )
        request.headers.update(added)
        yield request

    def __repr__(self) -> str:
        return f"HttpSignatureAuth(key_id={self.key_id!r})"
