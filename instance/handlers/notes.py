"""Posts from other servers: notes (and other plain objects) created, edited, deleted."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.activities import first_type, id_of, is_public, object_of
from instance.inbox.processing import Context, Refused, handles
from instance.negotiation import dumps
from instance.outbox.c2s import Posted, Submission, outbox_handler
from instance.problems import Problem
from instance.sanitize import clean_html
from instance.store.models import StoredObject, utcnow
from vocab import outgoing_context

__all__ = ["clean_post", "delete_remote_object"]

_POST_TYPES = ("Note", "Article", "Question", "Page", "Image", "Video", "Event")


async def _stored(session: AsyncSession, uri: str | None) -> StoredObject | None:
    if uri is None:
        return None
    return await session.scalar(select(StoredObject).where(StoredObject.uri == uri))


#: Post properties that hold HTML, and their per-language maps.
_HTML_FIELDS = ("content", "summary")
_HTML_MAPS = ("contentMap", "summaryMap")


def clean_post(post: dict[str, Any]) -> None:
    """Reduce a received post's HTML to what Mastodon keeps, in place: clients render it
    and our pages may show it. Text that is not a string is dropped."""
    for name in _HTML_FIELDS:
        if name in post:
            value = post[name]
            post[name] = clean_html(value) if isinstance(value, str) else ""
    for name in _HTML_MAPS:
        if name in post:
            values = post[name]
            post[name] = (
                {k: clean_html(v) for k, v in values.items() if isinstance(v, str)}
                if isinstance(values, dict)
                else {}
            )


async def on_create_post(ctx: Context) -> None:
    post = object_of(ctx.activity)
    if not isinstance(post, dict) or not isinstance(post.get("id"), str):
        raise Refused("Create needs the object itself, with an id")
    if id_of(post.get("attributedTo")) not in (None, ctx.actor):
        raise Refused("the post is attributed to someone other than its sender")
    clean_post(post)
    async with ctx.apply() as session:
        if await _stored(session, post["id"]) is None:
            session.add(
                StoredObject(
                    uri=post["id"],
                    type=first_type(post) or "Note",
                    actor=ctx.actor,
                    object_uri=id_of(post.get("inReplyTo")),
                    public=is_public(post) or is_public(ctx.activity),
                    body=dumps(post),
                )
            )


async def on_update_post(ctx: Context) -> None:
    post = object_of(ctx.activity)
    if not isinstance(post, dict):
        raise Refused("Update needs the object itself")
    clean_post(post)
    async with ctx.apply() as session:
        row = await _stored(session, id_of(post))
        if row is None or row.agent_id is not None:
            return  # never seen, or ours: nothing a peer may change here
        if row.actor != ctx.actor:
            raise Refused("only the author may update a post")
        row.body = dumps(post)


async def delete_remote_object(session: AsyncSession, ctx: Context, uri: str | None) -> None:
    """Tombstone a stored object of the sender's; ours and others' are left alone."""
    row = await _stored(session, uri)
    if row is None or row.agent_id is not None:
        return
    if row.actor != ctx.actor:
        raise Refused("only the author may delete an object")
    row.deleted_at = utcnow()
    row.body = dumps({"id": row.uri, "type": "Tombstone", "formerType": row.type})


for _kind in _POST_TYPES:
    handles("Create", _kind)(on_create_post)
    handles("Update", _kind)(on_update_post)


# Client-to-server (creating and deleting posts: instance/social/posts.py) ---------------


def _content(note: dict[str, Any]) -> str:
    content = note.get("content", "")
    if not isinstance(content, str):
        raise Problem(400, "content must be text (HTML)", field="object.content")
    if len(content) > 50_000:
        raise Problem(400, "content is longer than 50000 characters", field="object.content")
    return clean_html(content)


#: What a client may change when it edits a post.
_EDITABLE = ("content", "summary", "name", "sensitive", "tag")


@outbox_handler("Update", "Note")
async def post_edit(sub: Submission) -> Posted:
    changes = object_of(sub.activity)
    if not isinstance(changes, dict):
        raise Problem(400, "Update needs the changed object, with its id", field="object")
    uri = id_of(changes)
    async with sub.svc.db.read() as session:
        row = await _stored(session, uri)
    if row is None or row.agent_id != sub.agent.id or row.deleted_at is not None:
        raise Problem(404, f"{uri} is not a post of this agent", field="object.id")
    post = json.loads(row.body)
    for name in _EDITABLE:
        if name in changes:
            post[name] = _content(changes) if name == "content" else changes[name]
    post["updated"] = sub.activity["published"]
    post.pop("@context", None)
    sub.activity["object"] = post
    for name in ("to", "cc"):
        if name in post:
            sub.activity[name] = post[name]
    row_id, body = row.id, dumps({"@context": outgoing_context(sub.svc.urls.base), **post})

    async def store(session: AsyncSession) -> None:
        found = await session.get(StoredObject, row_id)
        assert found is not None
        found.body = body

    return Posted(sub.activity, effects=store)
