"""Posts an agent's client creates and deletes: every property the post's type allows,
each checked and sanitized, instead of a fixed few.

The server owns ``id``, ``attributedTo``, ``published`` and the ``likes`` and
``shares`` collections; the client owns the rest of what ActivityStreams 2.0 gives the
type (Object's properties, a Question's choices, an Event's times…). A property the
type does not have is dropped; a property with the wrong shape is a 400 naming it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.activities import ADDRESS_FIELDS, PUBLIC, first_type, id_of, object_of
from instance.negotiation import dumps
from instance.outbox.c2s import Posted, Submission, outbox_handler, prefetch_addressees
from instance.problems import Problem
from instance.sanitize import clean_html
from instance.store.models import FeaturedItem, StoredObject, utcnow
from vocab import outgoing_context

__all__ = ["POST_TYPES", "clean_properties", "likes_of", "shares_of"]

#: The object types a client may create as posts.
POST_TYPES = (
    "Note", "Article", "Page", "Question", "Image", "Video", "Audio", "Document", "Event",
)  # fmt: skip

MAX_TEXT = 50_000
MAX_SHORT = 2_000
MAX_LIST = 50
MAX_URL = 2_048
#: Keys kept on embedded objects (attachments, tags, icons, places, choices).
_EMBEDDED_KEYS = frozenset(
    {
        "type", "id", "href", "name", "url", "mediaType", "width", "height", "blurhash",
        "summary", "content", "latitude", "longitude", "altitude", "radius", "units",
        "icon", "replies", "totalItems", "focalPoint",
    }
)  # fmt: skip


def likes_of(uri: str) -> str:
    return f"{uri}/likes"


def shares_of(uri: str) -> str:
    return f"{uri}/shares"


def replies_of(uri: str) -> str:
    return f"{uri}/replies"


def _url(value: Any, where: str) -> str:
    if (
        not isinstance(value, str)
        or not value.startswith(("https://", "http://"))
        or len(value) > MAX_URL
    ):
        raise Problem(400, f"{where} must be an http(s) URL", field=where)
    return value


def _text(limit: int, html: bool) -> Callable[[Any, str], Any]:
    def check(value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise Problem(400, f"{where} must be text", field=where)
        if len(value) > limit:
            raise Problem(400, f"{where} is longer than {limit} characters", field=where)
        return clean_html(value) if html else value

    return check


def _language_map(inner: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    def check(value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict) or len(value) > MAX_LIST:
            raise Problem(400, f"{where} must map language tags to text", field=where)
        return {str(k)[:35]: inner(v, f"{where}.{k}") for k, v in value.items()}

    return check


def _boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise Problem(400, f"{where} must be true or false", field=where)
    return value


def _reference(value: Any, where: str) -> str:
    return _url(id_of(value), where)


def _embedded(value: Any, where: str) -> Any:
    """A link or small object: its known keys kept, HTML cleaned, nesting bounded."""
    if isinstance(value, str):
        return _url(value, where)
    if not isinstance(value, dict):
        raise Problem(400, f"{where} must be a URL or an object", field=where)
    kept: dict[str, Any] = {}
    for key, item in value.items():
        if key not in _EMBEDDED_KEYS:
            continue
        at = f"{where}.{key}"
        if key in ("href", "id"):
            kept[key] = _url(item, at)
        elif key in ("url", "icon"):
            kept[key] = _one_or_many(_embedded)(item, at)
        elif key in ("content", "summary"):
            kept[key] = _text(MAX_TEXT, True)(item, at)
        elif isinstance(item, str):
            kept[key] = _text(MAX_SHORT, False)(item, at)
        elif isinstance(item, bool | int | float) or item is None:
            kept[key] = item
        elif key == "focalPoint" and isinstance(item, list) and len(item) <= 2:
            kept[key] = [v for v in item if isinstance(v, int | float)]
        elif key == "replies" and isinstance(item, dict):
            kept[key] = {"type": "Collection", "totalItems": 0}
        else:
            raise Problem(400, f"{at} has an unexpected shape", field=at)
    return kept


def _one_or_many(inner: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    def check(value: Any, where: str) -> Any:
        if isinstance(value, list):
            if len(value) > MAX_LIST:
                raise Problem(400, f"{where} has more than {MAX_LIST} entries", field=where)
            return [inner(item, f"{where}[{n}]") for n, item in enumerate(value)]
        return inner(value, where)

    return check


_TIME = _text(64, False)
_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "content": _text(MAX_TEXT, True),
    "contentMap": _language_map(_text(MAX_TEXT, True)),
    "summary": _text(MAX_SHORT * 5, True),
    "summaryMap": _language_map(_text(MAX_SHORT * 5, True)),
    "name": _text(MAX_SHORT, False),
    "nameMap": _language_map(_text(MAX_SHORT, False)),
    "mediaType": _text(255, False),
    "sensitive": _boolean,
    "inReplyTo": _reference,
    "context": _reference,
    "conversation": _reference,
    "attachment": _one_or_many(_embedded),
    "tag": _one_or_many(_embedded),
    "icon": _one_or_many(_embedded),
    "image": _one_or_many(_embedded),
    "preview": _embedded,
    "location": _one_or_many(_embedded),
    "generator": _embedded,
    "startTime": _TIME,
    "endTime": _TIME,
    "duration": _TIME,
    "quoteUrl": _reference,
    "url": _one_or_many(_embedded),
}
#: What each type adds to Object's properties.
_TYPE_EXTRAS: dict[str, dict[str, Callable[[Any, str], Any]]] = {
    "Question": {
        "oneOf": _one_or_many(_embedded),
        "anyOf": _one_or_many(_embedded),
        "closed": _TIME,
        "votersCount": lambda value, where: value if isinstance(value, int) else 0,
    },
    "Image": {"width": lambda v, w: v if isinstance(v, int) else None},
    "Video": {"width": lambda v, w: v if isinstance(v, int) else None},
}


def clean_properties(kind: str, sent: dict[str, Any], where: str = "object") -> dict[str, Any]:
    """The properties of ``sent`` that a ``kind`` may carry, each checked and cleaned."""
    checks = {**_CHECKS, **_TYPE_EXTRAS.get(kind, {})}
    kept: dict[str, Any] = {}
    for name, value in sent.items():
        check = checks.get(name)
        if check is not None and value is not None:
            kept[name] = check(value, f"{where}.{name}")
    return kept


def _merge_addressing(activity: dict[str, Any], post: dict[str, Any]) -> None:
    """The activity and its object carry the same recipients (ActivityPub 7.1.1)."""
    for name in ADDRESS_FIELDS:
        values: list[str] = []
        for source in (activity.get(name), post.get(name)):
            for value in source if isinstance(source, list) else [source]:
                found = id_of(value)
                if found is not None and found not in values:
                    values.append(found)
        if values:
            activity[name] = post[name] = values


async def post_object(sub: Submission) -> Posted:
    """A client's ``Create`` of a post, with what the type allows of what it sent."""
    sent = object_of(sub.activity)
    assert isinstance(sent, dict)
    kind = first_type(sent) or "Note"
    uri = sub.svc.urls.new_object()
    post: dict[str, Any] = {
        "id": uri,
        "type": kind,
        "attributedTo": sub.actor,
        **clean_properties(kind, sent),
        "published": sub.activity["published"],
        "likes": likes_of(uri),
        "shares": shares_of(uri),
        "replies": replies_of(uri),
    }
    post.setdefault("url", uri)
    if kind == "Note" and "content" not in post:
        post["content"] = ""
    for name in ADDRESS_FIELDS:
        if name in sent:
            post[name] = sent[name]
    _merge_addressing(sub.activity, post)
    sub.activity["object"] = post
    await prefetch_addressees(sub)
    return Posted(sub.activity, objects=[post])


async def own_post(sub: Submission, uri: str | None, verb: str) -> StoredObject:
    """The agent's own live post named ``uri``, or a 404 saying so."""
    async with sub.svc.db.read() as session:
        row = await session.scalar(select(StoredObject).where(StoredObject.uri == uri))
    if row is None or row.agent_id != sub.agent.id or row.is_activity:
        raise Problem(
            404, f"{uri} is not a post of this agent: it cannot {verb} it", field="object"
        )
    if row.deleted_at is not None:
        raise Problem(410, f"{uri} is already deleted", field="object")
    return row


async def delete_post(sub: Submission) -> Posted:
    """A client deletes its own post: a ``Tombstone`` stays at its id, which answers 410."""
    uri = id_of(object_of(sub.activity))
    row = await own_post(sub, uri, "delete")
    post = json.loads(row.body)
    tombstone = {
        "id": row.uri,
        "type": "Tombstone",
        "formerType": row.type,
        "deleted": sub.activity["published"],
    }
    sub.activity["object"] = tombstone
    for name in ("to", "cc"):
        if name in post:
            sub.activity[name] = post[name]
    if "to" not in sub.activity:
        sub.activity["to"] = [PUBLIC] if row.public else []
    if row.public:
        # Whoever may hold a copy of a public post: its addressees and the followers.
        followers = sub.svc.urls.followers(sub.agent.username)
        cc = sub.activity.get("cc", [])
        sub.activity["cc"] = [*cc, followers] if followers not in cc else cc
    row_id = row.id
    agent_id = sub.agent.id
    body = dumps({"@context": outgoing_context(sub.svc.urls.base), **tombstone})

    async def bury(session: AsyncSession) -> None:
        found = await session.get(StoredObject, row_id)
        if found is None or found.deleted_at is not None:
            raise Problem(410, f"{uri} was deleted meanwhile", field="object")
        found.deleted_at = utcnow()
        found.body = body
        await session.execute(
            delete(FeaturedItem).where(
                FeaturedItem.agent_id == agent_id, FeaturedItem.object_uri == uri
            )
        )

    return Posted(sub.activity, effects=bury)


for _kind in POST_TYPES:
    outbox_handler("Create", _kind)(post_object)
    outbox_handler("Delete", _kind)(delete_post)


#: What a client does instead of undoing these (ActivityPub 6.10 leaves it to the server).
_INSTEAD = {
    "Create": "Delete the object it created",
    "Update": "Update the object again",
    "Delete": "a deleted object stays a Tombstone",
    "Add": "Remove the object from the collection",
    "Remove": "Add the object again",
    "Move": "a move is final; move back by importing the agent where it was",
    "Offer": "an offer is withdrawn by its answer, or by a new agreement",
    "Accept": "an accepted agreement ends by its commitments, not by an Undo",
    "Reject": "make a new offer instead",
}


async def refuse_undo(sub: Submission) -> Posted:
    """An Undo of an activity that cannot be undone, saying what to do instead."""
    undone = id_of(object_of(sub.activity))
    async with sub.svc.db.read() as session:
        row = await session.scalar(select(StoredObject).where(StoredObject.uri == undone))
    kind = row.type if row is not None else "this"
    raise Problem(
        422, f"{kind} activities cannot be undone: {_INSTEAD.get(kind, '')}", field="object"
    )


for _kind in _INSTEAD:
    outbox_handler("Undo", _kind)(refuse_undo)
