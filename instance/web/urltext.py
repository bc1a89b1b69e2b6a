"""A NUL in a URL's path or query is refused before any route sees it.

Path parameters and query values reach database lookups (an agent's name, a record's
id, a WebFinger resource). PostgreSQL cannot hold a NUL in text: a lookup with one
failed with a 500 there, and was a plain 404 on SQLite. The JSON bodies are guarded
by the strict reader (:mod:`vocab.jsontext`); this does the same for URLs, for every
route at once. Lone surrogates cannot arrive this way: percent-decoding replaces
invalid UTF-8.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from instance.problems import Problem, problem_response

__all__ = ["RefuseNulInUrls"]


class RefuseNulInUrls:
    """Pure ASGI middleware: a 400 for a NUL anywhere in the path or the query."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query: bytes = scope.get("query_string", b"")
            where = None
            if "\x00" in scope.get("path", ""):
                where = "path"
            elif b"\x00" in query or b"%00" in query:
                where = "query"
            if where is not None:
                problem = Problem(400, f"the URL's {where} contains a NUL character", field=where)
                await problem_response(problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)
