"""Receiving activities: the inbox's checks, in the order that costs least first.

0. the claimed sender's rate (429, spending nothing: :mod:`instance.inbox.ratelimit`),
1. content type (415), 2. body size (413), 3. strict bounded JSON (400), 4. the JSON-LD
work it asks for and its contexts (400: too much work, or a context giving a keyword or
an ActivityStreams/ValueFlows term a second name), 5. signature (401), 6. blocked
domain (403), 7. origins (403), 8. the verified sender's rate (429), 9. durable
storage, then 202.

The origin checks run again on the normalized activity before any handler reads it
(:mod:`instance.inbox.origins`).

Processing happens afterwards, in the background (:mod:`instance.inbox.processing`). A
blocked domain is refused as soon as its key id is read: we never fetch anything from
a blocked domain, not even the key that would let us check its signature.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope

from federation import (
    OriginError,
    SignatureError,
    Verified,
    actor_id_of,
    check_actor_matches_signer,
    check_same_origin,
    signature_key_id,
)
from federation.headers import Headers
from federation.request import RequestParts
from instance.activities import first_type, id_of, object_of
from instance.auth import request_headers, verified_request
from instance.inbox.origins import OWN_OBJECT_TYPES
from instance.inbox.store import NewInboxItem
from instance.problems import Problem
from instance.services import Services
from vocab import jsontext, screen
from vocab.errors import AliasError, ContextError, JsonError, LimitError

__all__ = [
    "ACCEPTED_CONTENT_TYPES",
    "accept_activity",
    "check_content_type",
    "check_rate",
    "check_rate_headers",
    "read_asgi_body",
    "read_body",
    "receive_activity",
    "request_target",
]

log = logging.getLogger("oce.inbox")

_AS_PROFILE = "https://www.w3.org/ns/activitystreams"
#: What an inbox accepts: ActivityPub's two media types (section 7). Mastodon, Pleroma,
#: Misskey, GoToSocial and oce itself send ``application/activity+json``.
ACCEPTED_CONTENT_TYPES = (
    "application/activity+json",
    f'application/ld+json; profile="{_AS_PROFILE}"',
)


def check_content_type(value: str | None) -> None:
    """415 unless ``value`` is ``application/activity+json`` or ``application/ld+json``
    with the ActivityStreams profile (parameters such as ``charset=utf-8`` are fine)."""
    media_type, *params = (value or "").split(";")
    media_type = media_type.strip().lower()
    if media_type == "application/activity+json":
        return
    if media_type == "application/ld+json":
        for param in params:
            name, _eq, profile = param.partition("=")
            if name.strip().lower() == "profile" and _AS_PROFILE in profile.strip().strip(
                '"'
            ).split(" "):
                return
    raise Problem(
        415,
        f"an inbox accepts {' or '.join(ACCEPTED_CONTENT_TYPES)}, not {value or 'no type'}",
        field="Content-Type",
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise Problem(413, f"the body is larger than {limit} bytes", field="body")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Problem(413, f"the body is larger than {limit} bytes", field="body")
            chunks.append(chunk)
    except ClientDisconnect:
        raise Problem(400, "the client went away before sending the whole body") from None
    return b"".join(chunks)


def parse_json_object(body: bytes) -> dict[str, Any]:
    """Strict, bounded JSON that must be an object, whose JSON-LD is within bounds and
    gives nothing a second name; 400 naming the problem otherwise."""
    try:
        document = jsontext.loads(body)
    except JsonError as exc:
        raise Problem(400, str(exc), field=exc.field) from None
    if not isinstance(document, dict):
        raise Problem(400, "the body must be a JSON object", field="/")
    try:
        screen(document)
    except (LimitError, AliasError) as exc:
        raise Problem(400, str(exc), field=exc.field) from None
    except ContextError:
        pass  # a context we cannot read: processing reads plain JSON or refuses
    return document


def _check_origins(svc: Services, activity: Mapping[str, Any], verified: Verified) -> str:
    try:
        actor = check_actor_matches_signer(activity, verified)
        if first_type(activity) in OWN_OBJECT_TYPES:
            target = object_of(activity)
            target_id = id_of(target)
            if target_id is not None and target_id != actor:
                check_same_origin(target_id, actor)
    except OriginError as exc:
        raise Problem(403, f"origin check failed: {exc}", field="actor") from None
    activity_id = activity.get("id")
    assert isinstance(activity_id, str)
    if svc.urls.is_local(activity_id) or svc.urls.is_local(actor):
        raise Problem(403, "a peer cannot send ids in this instance's namespace", field="id")
    return actor


def check_rate(svc: Services, request: Request) -> None:
    """Refuse (429) a sender already over its rate, before its body is even read.
    Spends nothing: only a verified request does (:mod:`instance.inbox.ratelimit`)."""
    check_rate_headers(svc, request_headers(request))


def check_rate_headers(svc: Services, headers: Headers) -> None:
    """:func:`check_rate` for headers already read."""
    with contextlib.suppress(SignatureError):
        svc.inbox_limits.check(signature_key_id(headers))


def _is_delete_of_self(activity: Mapping[str, Any]) -> bool:
    try:
        actor = actor_id_of(activity)
    except OriginError:
        return False
    return first_type(activity) == "Delete" and id_of(object_of(activity)) == actor


async def receive_activity(
    svc: Services, request: Request, recipient_agent_id: int | None
) -> Response:
    """Check, verify and durably store one inbound activity; answer 202."""
    headers = request_headers(request)
    check_rate_headers(svc, headers)
    check_content_type(headers.get("content-type"))
    body = await read_body(request, svc.settings.max_body_bytes)
    await accept_activity(svc, headers, body, request_target(request.scope), recipient_agent_id)
    return Response(status_code=202)


def request_target(scope: Scope) -> str:
    """The path and query as received (what ``(request-target)`` covers)."""
    target: str = scope.get("raw_path", b"").decode("latin-1") or scope["path"]
    if query := scope.get("query_string", b""):
        target += "?" + query.decode("latin-1")
    return target


async def read_asgi_body(headers: Headers, receive: Receive, limit: int) -> bytes:
    """:func:`read_body` straight from the ASGI ``receive``, for the inbox's own route."""
    declared = headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise Problem(413, f"the body is larger than {limit} bytes", field="body")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise Problem(400, "the client went away before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Problem(413, f"the body is larger than {limit} bytes", field="body")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def accept_activity(
    svc: Services, headers: Headers, body: bytes, target: str, recipient_agent_id: int | None
) -> None:
    """Steps 3 to 9 for a body already read: returns once the activity is durably
    stored (the caller answers 202); raises :class:`Problem` for every refusal."""
    activity = parse_json_object(body)
    activity_id = activity.get("id")
    if not isinstance(activity_id, str) or not activity_id or len(activity_id) > 2048:
        raise Problem(
            400, "the activity needs an id (a URL of at most 2048 characters)", field="id"
        )
    if first_type(activity) is None:
        raise Problem(400, "the activity needs a type", field="type")

    try:
        key_id = signature_key_id(headers)
    except SignatureError as exc:
        raise Problem(401, f"signature refused: {exc.reason}", field="signature") from None
    if await svc.blocklist.is_blocked(key_id) or await svc.blocklist.is_blocked(activity_id):
        raise Problem(403, "this instance does not accept requests from that domain")

    if _is_delete_of_self(activity) and not await svc.peers.known_key(key_id):
        # An actor we never knew was deleted: nothing of it to remove, and its key is
        # gone from its server, so acknowledge without fetching or storing anything.
        return

    parts = RequestParts(
        method="POST",
        target=target,
        host=svc.urls.authority,
        headers=headers,
        body=body,
        scheme=svc.urls.scheme,
    )
    verified = await verified_request(svc, parts, require_digest=True)
    actor = _check_origins(svc, activity, verified)
    if await svc.blocklist.is_blocked(actor):
        raise Problem(403, "this instance does not accept requests from that domain")
    svc.inbox_limits.charge(verified.key_id, actor)

    result = await svc.inbox_store.store(
        NewInboxItem(
            activity_uri=activity_id,
            body=body,
            body_sha256=hashlib.sha256(body).hexdigest(),
            headers=json.dumps(list(headers)),
            signer_key_id=verified.key_id,
            signer=verified.actor_id,
            verified_by=verified.scheme,
            recipient_agent_id=recipient_agent_id,
        )
    )
    if result == "conflict":
        raise Problem(409, f"{activity_id} was already received with other content", field="id")
