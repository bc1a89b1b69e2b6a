"""Content negotiation: the same URL gives ActivityStreams JSON or an HTML page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response

from vocab import jsontext

__all__ = ["AS_JSON", "LD_JSON", "activity_response", "dumps", "negotiate"]

AS_JSON = "application/activity+json"
LD_JSON = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'

Representation = Literal["html", "activity", "ld"]


def _accept_entries(header: str) -> list[tuple[str, dict[str, str], float]]:
    entries = []
    for part in header.split(",")[:32]:
        media, *params = (p.strip() for p in part.split(";"))
        values: dict[str, str] = {}
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            key, value = key.strip().lower(), value.strip().strip('"')
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
            else:
                values[key] = value
        if media:
            entries.append((media.lower(), values, quality))
    return entries


def negotiate(request: Request) -> Representation:
    """Which representation the client prefers: an HTML page or ActivityStreams JSON.

    Without an Accept header, or with ``*/*``, the answer is JSON: federation clients
    are the ones that do not say what they want; browsers always ask for HTML.
    """
    best: tuple[float, int, Representation] = (0.0, 0, "activity")
    for media, _params, quality in _accept_entries(request.headers.get("accept", "")):
        if quality <= 0:
            continue
        if media == "application/activity+json" or media == "application/json":
            candidate: tuple[float, int, Representation] = (quality, 3, "activity")
        elif media == "application/ld+json":
            candidate = (quality, 3, "ld")
        elif media in ("text/html", "application/xhtml+xml"):
            candidate = (quality, 2, "html")
        else:
            continue
        if candidate[:2] > best[:2]:
            best = candidate
    return best[2]


def dumps(document: Any) -> str:
    """The one JSON encoding we send and store: compact, UTF-8, no NaN.

    Numbers stay exact: a peer's ``Decimal`` (a Place's latitude, read by
    :func:`vocab.jsontext.loads`) is written as sent, and a ``float`` from a body we
    stored and parsed again is written by its shortest repr.
    """
    return jsontext.dumps(_exact(document))


def _exact(value: Any) -> Any:
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value} is not a number JSON allows")
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {key: _exact(child) for key, child in value.items()}
    if isinstance(value, list | tuple):
        return [_exact(child) for child in value]
    return value


def activity_response(
    request: Request, document: dict[str, Any] | str, *, status: int = 200
) -> Response:
    """ActivityStreams JSON with the content type the client asked for."""
    media = LD_JSON if negotiate(request) == "ld" else AS_JSON
    body = document if isinstance(document, str) else dumps(document)
    return Response(body, status_code=status, media_type=media, headers={"Vary": "Accept"})
