"""Pages for people: readable HTML for the ids browsers open.

The same URL gives ActivityStreams JSON to federation clients (see
:mod:`instance.negotiation`); these functions build the page a browser gets instead.
Every page is rendered from our own templates and stylesheet: nothing on them is loaded
from another origin.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, Response

from instance.describe import ProposalWords, describe_proposal, resource_labels
from instance.ledger.exchange import intents_of, proposal_document
from instance.outbox.fediverse import note_id
from instance.sanitize import clean_html
from instance.services import Services
from instance.store.models import Agent, Intent, Proposal, Reaction, StoredObject
from instance.web.app.locales import translations
from vocab import Proposal as TypedProposal
from vocab import VocabError, parse_object

__all__ = [
    "ProposalListing",
    "agent_proposals",
    "proposal_page",
    "render_page",
    "stored_page",
]

#: Open offers (and requests) listed on a profile, newest first.
PROFILE_PROPOSALS = 50


def render_page(
    svc: Services,
    template: str,
    status: int = 200,
    *,
    language: str | None = None,
    **context: Any,
) -> Response:
    """The page, in ``language`` (one of :data:`instance.web.app.locales.LANGUAGES`,
    chosen from the request's Accept-Language; None: English, not negotiated).

    The catalogue is installed for this render only: rendering is synchronous, so no
    other request renders in between, and English is put back after.
    """
    environment = svc.templates
    environment.install_gettext_translations(  # type: ignore[attr-defined]
        translations(language or "en"), newstyle=True
    )
    try:
        page = environment.get_template(template).render(
            instance_name=svc.settings.instance_name,
            host=svc.urls.host,
            urls=svc.urls,
            lang=language or "en",
            **context,
        )
    finally:
        environment.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    vary = "Accept" if language is None else "Accept, Accept-Language"
    return HTMLResponse(page, status_code=status, headers={"Vary": vary})


def _typed(row: Proposal, intents: Sequence[Intent]) -> TypedProposal | None:
    """The proposal as published, with its live availability (None if unreadable)."""
    try:
        found = parse_object(proposal_document(row, intents))
    except VocabError:
        return None
    return found if isinstance(found, TypedProposal) else None


@dataclass(frozen=True, slots=True)
class ProposalListing:
    """One line of a profile's list of offers or requests."""

    uri: str
    words: ProposalWords


async def agent_proposals(session: AsyncSession, agent: Agent) -> dict[str, list[ProposalListing]]:
    """The agent's open, public proposals by purpose (``offer``, ``request``)."""
    rows = await session.scalars(
        select(Proposal)
        .where(Proposal.agent_id == agent.id, Proposal.state == "open", Proposal.public)
        .order_by(Proposal.id.desc())
        .limit(PROFILE_PROPOSALS)
    )
    listed: dict[str, list[ProposalListing]] = {"offer": [], "request": []}
    for row in rows.all():
        proposal = _typed(row, await intents_of(session, row))
        if proposal is None:
            continue
        words = describe_proposal(proposal, await resource_labels(session, proposal))
        listed[proposal.purpose].append(ProposalListing(row.uri, words))
    return listed


async def proposal_page(
    svc: Services, session: AsyncSession, proposal: Proposal, intents: Sequence[Intent]
) -> Response:
    """What, how much, in return for what, where, by whom, and whether it is open."""
    typed = _typed(proposal, intents)
    document = json.loads(proposal.body)
    proposer = await session.get(Agent, proposal.agent_id) if proposal.agent_id else None
    words = describe_proposal(typed, await resource_labels(session, typed)) if typed else None
    content = document.get("content")
    return render_page(
        svc,
        "proposal.html",
        proposal=proposal,
        words=words,
        content_html=clean_html(content) if isinstance(content, str) else "",
        proposer=proposer,
        note=note_id(proposal.uri),
        published=(typed.published if typed else None),
        description=_description(words),
    )


def _description(words: ProposalWords | None) -> str:
    """One line for link previews (Mastodon shows it on the card of the post's link)."""
    if words is None:
        return ""
    parts = [f"{words.primary_heading}: " + "; ".join(w.sentence for w in words.primary)]
    if words.reciprocal:
        parts.append("In return: " + "; ".join(w.phrase for w in words.reciprocal))
    if words.location:
        parts.append(f"Where: {words.location}")
    return ". ".join(parts)


async def stored_page(svc: Services, session: AsyncSession, row: StoredObject) -> Response:
    """One of our posts or activities as a page (a deleted post's page says so, 410)."""
    document = json.loads(row.body)
    author = await session.get(Agent, row.agent_id) if row.agent_id else None
    kind = str(document.get("type") or row.type)
    target = document.get("object")
    content = document.get("content")
    counts = dict.fromkeys(("Like", "Announce"), 0)
    counts.update(
        (kind, int(n))
        for kind, n in await session.execute(
            select(Reaction.kind, func.count())
            .where(Reaction.object_uri == row.uri)
            .group_by(Reaction.kind)
        )
    )
    return render_page(
        svc,
        "object.html",
        likes=counts["Like"],
        boosts=counts["Announce"],
        status=410 if row.deleted_at is not None else 200,
        row=row,
        kind=kind,
        deleted=row.deleted_at is not None,
        author=author,
        content_html=clean_html(content) if isinstance(content, str) else "",
        in_reply_to=_link(document.get("inReplyTo")),
        url=_link(document.get("url")) if _link(document.get("url")) != row.uri else None,
        target=_link(target),
        target_kind=target.get("type") if isinstance(target, dict) else None,
        published=document.get("published"),
    )


def _link(value: Any) -> str | None:
    """An http(s) id or href from a reference, a Link or an embedded object."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("href") or value.get("id")
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else None
