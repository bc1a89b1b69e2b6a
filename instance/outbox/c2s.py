"""ActivityPub client-to-server: what an agent's client may post to its outbox.

The server mints every id (a client cannot choose ids in our namespace), sets the actor
and attribution to the agent the token belongs to, and fills ``published``. A bare
object is wrapped in a ``Create``. Each accepted form has a builder in a registry keyed
by ``(activity type, object type)``; the builder checks the request, may fetch remote
actors first (no transaction is open then), and returns what to publish.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from instance.activities import PUBLIC, addressees, first_type, id_of, object_of
from instance.ledger.integrity import SIGNED_TYPES, sign
from instance.outbox.publish import now_iso, publish, store_local_object
from instance.outbox.servers import learn_servers, recipient_inboxes
from instance.peers import ActorUnavailable
from instance.problems import Problem
from instance.references import reference_type
from instance.services import Services
from instance.store.models import Agent, AgentMove, CoopAct, StoredObject
from vocab import outgoing_context

log = logging.getLogger("oce.c2s")

__all__ = ["ACTIVITY_TYPES", "Posted", "Submission", "outbox_handler", "post_to_outbox"]

ACTIVITY_TYPES = frozenset(
    {
        "Accept", "Add", "Announce", "Block", "Create", "Delete", "Follow", "Like", "Offer",
        "Reject", "Remove", "Undo", "Update", "Join", "Leave", "Invite", "TentativeAccept",
        "TentativeReject", "Move", "Arrive", "Dislike", "Flag", "Ignore",
        "Listen", "Read", "Travel", "View",
    }
)  # fmt: skip
# A Question is an activity by type, but clients (and Mastodon) post polls as objects of
# a Create: a bare Question is wrapped like any other post.


@dataclass
class Submission:
    """A client's activity, after wrapping, with the agent that posts it."""

    svc: Services
    agent: Agent
    activity: dict[str, Any]

    @property
    def actor(self) -> str:
        return self.svc.urls.actor(self.agent.username)


@dataclass
class Posted:
    """What to publish: the activity, and actors to deliver to outside its addressing."""

    activity: dict[str, Any]
    also_to: list[str] = field(default_factory=list)
    #: Extra objects of ours to store alongside (e.g. a Note the activity creates).
    objects: list[dict[str, Any]] = field(default_factory=list)
    #: Runs inside the publishing transaction, before the activity is stored: local
    #: side effects (a follow row, a ledger entry). It may still complete the activity
    #: (e.g. with the id of a resource it created); a Problem it raises undoes it all.
    effects: Callable[[AsyncSession], Awaitable[None]] | None = None
    #: The same news for servers that do not speak ValueFlows (the Create, Update or
    #: Delete of a proposal's Note, see :mod:`instance.outbox.fediverse`): they get this
    #: instead of ``activity``.
    plain: dict[str, Any] | None = None


Builder = Callable[[Submission], Awaitable[Posted]]
_BUILDERS: dict[tuple[str, str | None], Builder] = {}


def outbox_handler(
    activity_type: str, object_type: str | None = None
) -> Callable[[Builder], Builder]:
    """Register what the outbox does with an activity type (and object type)."""

    def register(builder: Builder) -> Builder:
        _BUILDERS[(activity_type, object_type)] = builder
        return builder

    return register


def _wrap(document: dict[str, Any], actor: str) -> dict[str, Any]:
    kind = first_type(document)
    if kind is None:
        raise Problem(400, "the posted document needs a type", field="type")
    if kind in ACTIVITY_TYPES:
        return dict(document)
    # A bare object: wrap it in a Create carrying the object's addressing.
    wrapped: dict[str, Any] = {"type": "Create", "actor": actor, "object": document}
    for name in ("to", "cc", "bto", "bcc", "audience"):
        if name in document:
            wrapped[name] = document[name]
    return wrapped


async def post_to_outbox(
    svc: Services, agent: Agent, document: dict[str, Any], *, acted_by: Agent | None = None
) -> StoredObject:
    """Accept a client's activity: build it, store it, queue its deliveries.

    ``acted_by`` is the coordinator who posts for an organization: the activity is the
    organization's, and the organization's records keep who published it.
    """
    actor = svc.urls.actor(agent.username)
    activity = _wrap(document, actor)
    claimed_actor = id_of(activity.get("actor"))
    if claimed_actor not in (None, actor):
        raise Problem(403, f"this token posts as {actor}, not {claimed_actor}", field="actor")
    kind = first_type(activity) or ""
    if kind != "Move":  # a moved agent may still point its move elsewhere
        async with svc.db.read() as session:
            moved_to = await session.scalar(
                select(AgentMove.moved_to).where(AgentMove.agent_id == agent.id)
            )
        if moved_to:
            raise Problem(
                403,
                f"{actor} has moved to {moved_to}: post from the new actor there",
                field="actor",
            )
    target = object_of(activity)
    target_type = first_type(target)
    if target_type is None and (target_id := id_of(target)) is not None:
        if target_id == actor:
            target_type = agent.kind  # the agent's own actor (Update, Delete)
        else:
            async with svc.db.read() as session:
                target_type = await reference_type(session, target_id)
    builder = _BUILDERS.get((kind, target_type)) or _BUILDERS.get((kind, None))
    if builder is None:
        raise _unhandled(kind, target, target_type)
    activity.pop("@context", None)
    activity["id"] = svc.urls.new_activity()
    activity["actor"] = actor
    activity.setdefault("published", now_iso())
    submission = Submission(svc, agent, activity)
    posted = await builder(submission)
    await prefetch_addressees(submission, *posted.also_to)
    if posted.plain is not None:
        # Which recipients' servers speak ValueFlows is network work: done now, so the
        # transaction below only reads what was learnt.
        await learn_servers(svc, await recipient_inboxes(svc, agent, posted.activity))
    async with svc.db.write() as session:
        if posted.effects is not None:
            await posted.effects(session)  # may still complete the activity
        # Our context on everything we send: ActivityStreams plus the ValueFlows terms,
        # so a JSON-LD reader sees every property we write under the IRI we mean.
        context = outgoing_context(svc.urls.base)
        document = {"@context": context, **_without_context(posted.activity)}
        # Economic records travel signed by their author (FEP-8b32), verifiable on their
        # own long after; the stored activity keeps them exactly as sent.
        for key in ("object", "result"):
            value = document.get(key)
            if isinstance(value, dict) and first_type(value) in SIGNED_TYPES:
                document[key] = await sign(session, svc.urls, agent, value)
        for extra in posted.objects:
            await store_local_object(
                session, agent, {"@context": context, **_without_context(extra)}, activity=False
            )
        outgoing = await publish(
            session, svc.urls, agent, document, also_to=posted.also_to, plain=posted.plain
        )
        if acted_by is not None:
            session.add(
                CoopAct(
                    activity_uri=document["id"],
                    organization_agent_id=agent.id,
                    person_agent_id=acted_by.id,
                )
            )
    svc.wake()
    return outgoing.activity


def _unhandled(kind: str, target: Any, target_type: str | None) -> Problem:
    """The refusal that names the real problem: the activity, the object's type, or an
    object this instance does not know."""
    handled = sorted(object_type for verb, object_type in _BUILDERS if verb == kind and object_type)
    if not any(verb == kind for verb, _ in _BUILDERS):
        return Problem(422, f"the outbox does not handle {kind} activities", field="type")
    if target_type is None:
        target_id = id_of(target)
        if target_id is None:
            return Problem(400, f"{kind} needs an object", field="object")
        return Problem(
            422,
            f"{kind} of {target_id}: that object is not known here, and its type is not given",
            field="object",
        )
    return Problem(
        422,
        f"the outbox does not handle {kind} of {target_type} objects"
        + (f" (it handles {kind} of {', '.join(handled)})" if handled else ""),
        field="object.type",
    )


def _without_context(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "@context"}


async def prefetch_addressees(sub: Submission, *required: str) -> None:
    """Fetch the remote actors an activity goes to, before publishing it.

    A ``required`` actor that cannot be fetched is a 502 naming it (the client learns at
    once that it cannot be reached). Other addressees are best effort: an address that is
    not a reachable actor (a remote collection, say) gets nothing.
    """
    urls = sub.svc.urls
    for address in required:
        if not urls.is_local(address):
            await sub.svc.peers.actor(address)
    for address in set(addressees(sub.activity)) - set(required):
        if address == PUBLIC or urls.is_local(address):
            continue
        try:
            await sub.svc.peers.actor(address)
        except ActorUnavailable as exc:
            log.info("not delivering to %s: %s", address, exc.detail)
