"""The token every form carries, so that another site cannot post as a signed-in person.

A signed-in session has a token of its own (stored with it: the synchronizer-token
pattern). The sign-in form, shown before any session exists, uses a random value in a
short-lived cookie that the form must repeat (double submit): a page on another
origin can neither read that cookie nor set it on our origin. A POST whose token is
missing or wrong is refused with 403 before anything is read or changed.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from instance.problems import Problem
from instance.services import Services

__all__ = [
    "FIELD",
    "LOGIN_COOKIE",
    "check_login_token",
    "check_token",
    "login_token",
    "set_login_cookie",
]

FIELD = "csrf"
LOGIN_COOKIE = "oce_login_csrf"


def _refused() -> Problem:
    return Problem(
        403,
        "this form has expired or did not come from this site: reload the page and try again",
        field=FIELD,
    )


def check_token(expected: str, sent: str) -> None:
    """403 unless ``sent`` is the session's token."""
    if not expected or not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise _refused()


def login_token(request: Request) -> str:
    """The sign-in form's token: the browser's current one, or a new one."""
    current = request.cookies.get(LOGIN_COOKIE, "")
    return current if 20 <= len(current) <= 100 else secrets.token_urlsafe(32)


def set_login_cookie(svc: Services, response: Response, token: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=svc.urls.base.startswith("https://"),
    )


def check_login_token(request: Request, sent: str) -> None:
    check_token(request.cookies.get(LOGIN_COOKIE, ""), sent)
