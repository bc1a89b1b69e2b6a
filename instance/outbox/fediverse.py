"""How a proposal looks to servers that do not speak ValueFlows: a Note.

Mastodon shows Notes (and a few media types) and drops everything else, so each
proposal also exists as a Note of its own, at ``{proposal}/note``: attributed to the
proposer, with the same addressing, a short HTML summary (what is offered or requested,
how much, what is asked in return, where, and a link to the proposal's page) reduced
to the HTML Mastodon keeps, ``url`` pointing at the proposal's page, and the proposal
itself linked as an ``attachment`` (a ``Link`` whose ``rel`` names ``vf:Proposal``, as
FEP-0837 links proposals), so a reader that knows ValueFlows can find it.

A new proposal goes out as ``Create{Note}``, an edit as ``Update{Note}`` and a
withdrawal as ``Delete`` of the Note, each only to servers that do not speak ValueFlows
(:mod:`instance.outbox.servers` decides; :func:`instance.outbox.publish.publish` delivers).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import nh3
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.activities import is_public
from instance.describe import ProposalWords
from instance.negotiation import dumps
from instance.outbox.publish import store_local_object
from instance.sanitize import clean_html
from instance.store.models import Agent, StoredObject, utcnow
from instance.urls import Urls
from vocab import AS_CONTEXT, VF, Proposal, outgoing_context

__all__ = [
    "PROPOSAL_LINK_REL",
    "delete_note",
    "note_id",
    "note_tombstone",
    "plain_activity",
    "proposal_note",
    "save_note",
]

#: The ``rel`` FEP-0837 gives a link to a proposal.
PROPOSAL_LINK_REL = VF + "Proposal"
_AS_MEDIA = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
_NOTE_SUFFIX = "/note"
#: A proposal's own description goes into its Note up to this many characters of HTML;
#: a longer one is cut to :data:`_SHORT_TEXT` characters of text (the page has it all).
_MAX_CONTENT = 3000
_SHORT_TEXT = 500


def note_id(proposal_uri: str) -> str:
    """The id of the Note standing for the proposal ``proposal_uri``."""
    return proposal_uri + _NOTE_SUFFIX


def _description(text: str | None) -> str:
    """The proposal's own HTML, cleaned, or a short text version when it is long."""
    if not text:
        return ""
    cleaned = clean_html(text)
    if len(cleaned) <= _MAX_CONTENT:
        return cleaned if cleaned.lstrip().startswith("<p") else f"<p>{cleaned}</p>"
    plain = " ".join(nh3.clean(text, tags=set()).split())
    return f"<p>{plain[:_SHORT_TEXT].rstrip()}…</p>"


def note_html(proposal: Proposal, words: ProposalWords) -> str:
    """The Note's content: the proposal in a few lines of Mastodon-safe HTML."""
    esc = html.escape
    parts = [f"<p>{esc(words.kind)}: {esc(words.title)}</p>"]
    parts.append(_description(proposal.content or proposal.summary))
    lines = [f"{words.primary_heading}: {esc(w.sentence)}" for w in words.primary]
    if words.reciprocal:
        lines.extend(f"In return: {esc(w.sentence)}" for w in words.reciprocal)
    elif words.purpose == "offer":
        lines.append("Nothing is asked in return.")
    parts.append("<p>" + "<br>".join(lines) + "</p>")
    if words.location:
        parts.append(f"<p>Where: {esc(words.location)}</p>")
    kind = words.kind.lower()
    parts.append(
        f'<p><a href="{esc(proposal.id or "")}">See the whole {kind} and answer it</a></p>'
    )
    return clean_html("".join(parts))


def proposal_note(
    proposal: Proposal, words: ProposalWords, *, updated: str | None = None
) -> dict[str, Any]:
    """The Note standing for ``proposal`` (written without ``@context``)."""
    assert proposal.id is not None
    published = proposal.published.strftime("%Y-%m-%dT%H:%M:%SZ") if proposal.published else None
    note: dict[str, Any] = {
        "id": note_id(proposal.id),
        "type": "Note",
        "attributedTo": proposal.attributed_to,
        "content": note_html(proposal, words),
        "url": proposal.id,
        "to": list(proposal.to),
        "cc": list(proposal.cc),
        "attachment": [
            {
                "type": "Link",
                "name": words.title,
                "href": proposal.id,
                "mediaType": _AS_MEDIA,
                "rel": [PROPOSAL_LINK_REL],
            }
        ],
    }
    if published:
        note["published"] = published
    if updated:
        note["updated"] = updated
    return note


def note_tombstone(proposal_uri: str) -> dict[str, Any]:
    """What a withdrawn proposal's Note becomes (and what its ``Delete`` names)."""
    return {"id": note_id(proposal_uri), "type": "Tombstone", "formerType": "Note"}


def plain_activity(
    urls: Urls, kind: str, activity: Mapping[str, Any], obj: dict[str, Any]
) -> dict[str, Any]:
    """``kind`` (Create, Update, Delete) of the Note, mirroring the ValueFlows
    ``activity``: same actor, time and addressing, an id of its own."""
    plain: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": urls.new_activity(),
        "type": kind,
        "actor": activity["actor"],
        "published": activity["published"],
        "object": obj,
    }
    for name in ("to", "cc"):
        if name in activity:
            plain[name] = activity[name]
    return plain


async def save_note(session: AsyncSession, urls: Urls, agent: Agent, note: dict[str, Any]) -> None:
    """Store a proposal's Note as it is served (with our context, as everything we
    serve), replacing an earlier version."""
    document = {"@context": outgoing_context(urls.base), **note}
    row = await session.scalar(select(StoredObject).where(StoredObject.uri == note["id"]))
    if row is None:
        await store_local_object(session, agent, document, activity=False)
    else:
        row.body, row.public = dumps(document), is_public(note)


async def delete_note(session: AsyncSession, proposal_uri: str) -> None:
    """A withdrawn proposal's Note becomes a Tombstone (its id then answers 410)."""
    row = await session.scalar(
        select(StoredObject).where(StoredObject.uri == note_id(proposal_uri))
    )
    if row is not None and row.deleted_at is None:
        row.deleted_at = utcnow()
        row.body = dumps(note_tombstone(proposal_uri))
