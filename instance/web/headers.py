"""Security headers on every response, as one pure ASGI middleware.

Pages are rendered from our own templates and stylesheet, with no script at all, so the
policy can be strict: a page loads only its own origin's style, images and icons, runs
no inline script or style, cannot be framed (clickjacking), sends forms only to us and
sends no ``Referer`` to other origins. JSON responses get the same headers: harmless
there, and a browser that opens one directly (a stored post) is then held to the same
policy. A response that sets one of these headers itself keeps its own.

Pure ASGI rather than Starlette's ``BaseHTTPMiddleware``, which runs each request in a
task of its own and streams the body through a queue: here the only work is adding a
few header pairs to the start message (``python -m bench.inbox_ingest`` measures the
request path with and without it; docs/security.md has the figures).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_SECURITY_POLICY", "SECURITY_HEADERS", "SecurityHeaders"]

#: No inline script or style (templates link /static/oce.css; there is no script),
#: nothing from other origins, no framing, no <base>, forms to ourselves only.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    )
)

#: Header name -> value, added to every HTTP response that does not set its own.
SECURITY_HEADERS: dict[str, str] = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}

_RAW = [
    (name.encode("latin-1"), value.encode("latin-1")) for name, value in SECURITY_HEADERS.items()
]
_NAMES = frozenset(name for name, _ in _RAW)


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to the start of every HTTP response of ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if any(name.lower() in _NAMES for name, _ in headers):
                    own = {name.lower() for name, _ in headers}
                    headers.extend(pair for pair in _RAW if pair[0] not in own)
                else:
                    headers.extend(_RAW)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
