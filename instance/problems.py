"""Errors as HTTP answers: every refusal is a JSON problem body (RFC 9457).

Domain code raises :class:`Problem` (or a subclass) with the status, a short title,
a detail sentence and, where one field was wrong, which field. The app's exception
handlers are the only place that turns errors into responses; an unexpected error is
logged and answered with a generic 500 body that never carries a traceback.

A browser (a GET that prefers HTML, see :func:`instance.negotiation.negotiate`) gets the
same problem as a readable page instead; every other client keeps the JSON body.
"""

from __future__ import annotations

import errno
import logging
from typing import Any

import sqlalchemy.exc
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from instance.negotiation import negotiate

__all__ = [
    "Problem",
    "database_unavailable",
    "error_response",
    "exception_handlers",
    "problem_response",
]

log = logging.getLogger("oce.http")

_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    410: "Gone",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class Problem(Exception):
    """A refusal with everything the client needs to know why."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        field: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field
        self.title = title or _TITLES.get(status, "Error")
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.field is not None:
            body["field"] = self.field
        return body


def problem_response(problem: Problem, request: Request | None = None) -> Response:
    """The problem as JSON, or as a page when ``request`` comes from a browser."""
    if request is not None and request.method in ("GET", "HEAD") and negotiate(request) == "html":
        page = _problem_page(request, problem)
        if page is not None:
            return page
    return JSONResponse(
        problem.body(),
        status_code=problem.status,
        headers={**problem.headers, "Vary": "Accept"},
        media_type="application/problem+json",
    )


def _problem_page(request: Request, problem: Problem) -> Response | None:
    """The problem page, when the app's services (its templates) are running."""
    svc = getattr(request.state, "services", None)
    if svc is None:
        return None
    try:
        page = svc.templates.get_template("problem.html").render(
            instance_name=svc.settings.instance_name, problem=problem
        )
    except Exception:
        log.exception("the problem page failed; answering with JSON")
        return None
    return HTMLResponse(
        page, status_code=problem.status, headers={**problem.headers, "Vary": "Accept"}
    )


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc, request)


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        detail = f"nothing at {request.url.path}"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    else:
        detail = exc.detail or _TITLES.get(exc.status_code, "error")
    problem = Problem(exc.status_code, detail, headers=dict(exc.headers or {}))
    return problem_response(problem, request)


#: What a database that is down, restarting or out of disk raises: the request may be
#: tried again once it is back, and nothing of it was committed.
_UNAVAILABLE = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    ConnectionError,
)


#: PostgreSQL's SQLSTATE classes for "not now": connection exceptions (08), operator
#: intervention (57P: shutting down, starting up) and insufficient resources (53: disk
#: full, out of memory, too many connections).
_UNAVAILABLE_STATES = ("08", "57P", "53")


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be used right now (down, restarting,
    its disk full, its pool exhausted), rather than that the request was wrong."""
    if isinstance(exc, _UNAVAILABLE):
        return True
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        # The driver's error, and what it wraps: PostgreSQL says why in its SQLSTATE.
        cause: BaseException | None = exc.orig
        while cause is not None:
            state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
            if isinstance(state, str) and state.startswith(_UNAVAILABLE_STATES):
                return True
            if isinstance(cause, ConnectionError | TimeoutError):
                return True
            cause = cause.__cause__
        return False
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


async def _on_database_error(request: Request, exc: Exception) -> Response:
    """503 for a database that is unavailable (the request may be tried again); any
    other database error is unexpected. Handled here, inside Starlette's error
    middleware, which would otherwise re-raise it to the server after answering: uvicorn
    then closes the connection, and a client's next request on it fails."""
    if not database_unavailable(exc):
        raise exc
    first = (str(exc).splitlines() or [type(exc).__name__])[0]
    log.warning("database unavailable answering %s %s: %s", request.method, request.url.path, first)
    return problem_response(
        Problem(
            503,
            "the database is unavailable for a moment; nothing was stored, try again",
            headers={"Retry-After": "5"},
        ),
        request,
    )


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error answering %s %s", request.method, request.url.path)
    return problem_response(
        Problem(500, "the server failed to answer; the error is logged"), request
    )


exception_handlers: dict[Any, Any] = {
    Problem: _on_problem,
    sqlalchemy.exc.DBAPIError: _on_database_error,
    sqlalchemy.exc.TimeoutError: _on_database_error,
    ConnectionError: _on_database_error,
    HTTPException: _on_http_exception,
    Exception: _on_unexpected,
}


async def error_response(request: Request, exc: Exception) -> Response:
    """What the app answers for ``exc`` (the handler of its nearest class above), for a
    route that runs outside Starlette's exception middleware (the shared inbox's)."""
    for kind in type(exc).__mro__:
        handler = exception_handlers.get(kind)
        if handler is not None:
            try:
                response: Response = await handler(request, exc)
            except Exception:
                return await _on_unexpected(request, exc)
            return response
    return await _on_unexpected(request, exc)  # pragma: no cover - Exception has one
