"""The shared inbox's own route: ``POST /inbox`` as a plain ASGI app.

Peers send most of an instance's requests here, and each is cheap to refuse or store
(:mod:`instance.inbox.receive`); what Starlette adds around a route (matching the
request against every route in turn, the exception middlewares, a ``Request`` and a
``Response`` object, the headers decoded into a second list) cost as much as the checks
themselves. :class:`SharedInbox` sits inside the app's outer middleware (security
headers, the NUL check, the turns per client, the access log, which all still apply)
and answers ``POST /inbox`` itself: the headers are decoded once, the body is read
from ``receive`` with its size bound, and the checks run as they do on every other
inbox. Any other request goes on to the app. Refusals are the same problem documents;
an unexpected error gets the app's own answer (:func:`instance.problems.error_response`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from federation.headers import Headers
from instance.inbox.receive import (
    accept_activity,
    check_content_type,
    check_rate_headers,
    read_asgi_body,
    request_target,
)
from instance.problems import Problem, error_response, problem_response
from instance.services import Services

__all__ = ["SharedInbox"]

_LENGTH_0 = (b"content-length", b"0")
_EMPTY = {"type": "http.response.body", "body": b""}


class SharedInbox:
    """Answers ``POST /inbox``; passes everything else to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/inbox" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        try:
            svc: Services = scope["state"]["services"]
            headers = Headers.from_raw(scope["headers"])
            check_rate_headers(svc, headers)
            check_content_type(headers.get("content-type"))
            body = await read_asgi_body(headers, receive, svc.settings.max_body_bytes)
            await accept_activity(svc, headers, body, request_target(scope), None)
        except Problem as problem:
            await problem_response(problem)(scope, receive, send)
            return
        except Exception as exc:
            response = await error_response(Request(scope, receive), exc)
            await response(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 202, "headers": [_LENGTH_0]})
        await send(_EMPTY)
