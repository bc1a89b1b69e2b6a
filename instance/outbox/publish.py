"""Sending activities: store ours, resolve who gets them, queue the deliveries.

:func:`publish` runs inside the caller's write transaction and does no network I/O:
remote actors named in the addressing must already be known (callers fetch them first
with :meth:`instance.peers.Peers.actor`). An activity is posted at most once to each
host: to its shared inbox when one is known, else to one recipient's inbox there.
Local recipients get the activity through our own inbox queue, as if it had arrived
over HTTP, so one code path processes every activity.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from instance.activities import (
    PUBLIC,
    addressees,
    drop_empty,
    first_type,
    id_of,
    is_public,
    object_of,
    without_blind_copies,
)
from instance.negotiation import dumps
from instance.outbox.servers import host_of, valueflows_hosts
from instance.store.models import (
    ActorBlock,
    Agent,
    Delivery,
    Follow,
    InboxItem,
    RemoteActor,
    StoredObject,
)
from instance.urls import Urls

__all__ = ["Outgoing", "answer", "now_iso", "publish", "store_local_object"]

log = logging.getLogger("oce.outbound")


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Outgoing:
    """What :func:`publish` queued: remote inboxes and whether local delivery happened."""

    def __init__(self, activity: StoredObject, inboxes: list[str], local: bool) -> None:
        self.activity = activity
        self.inboxes = inboxes
        self.local = local


async def store_local_object(
    session: AsyncSession, agent: Agent, document: Mapping[str, Any], *, activity: bool
) -> StoredObject:
    """Store one of our documents as it will be served and sent: without ``bto`` and
    ``bcc`` (they only say where it goes) and without empty arrays."""
    sent = drop_empty(without_blind_copies(document))
    row = StoredObject(
        uri=document["id"],
        type=first_type(document) or "Object",
        is_activity=activity,
        actor=document.get("actor") or document.get("attributedTo") or "",
        agent_id=agent.id,
        # An object row keeps the post it answers: its replies are listed by it.
        object_uri=id_of(object_of(document) if activity else document.get("inReplyTo")),
        public=is_public(document),
        body=dumps(sent),
    )
    session.add(row)
    await session.flush()
    return row


#: A target: (actor's host, its inbox, its shared inbox or None).
Target = tuple[str, str, str | None]


async def _follower_targets(session: AsyncSession, agent: Agent) -> tuple[list[Target], bool]:
    """Remote followers' inboxes, one per shared inbox, and whether local agents follow.

    The database collapses followers to inboxes: 10,000 followers on 500 servers are
    500 rows, not 10,000.
    """
    accepted = (Follow.followee_agent_id == agent.id, Follow.state == "accepted")
    rows = await session.execute(
        select(RemoteActor.host, RemoteActor.inbox, RemoteActor.shared_inbox)
        .distinct()
        .select_from(Follow)
        .join(RemoteActor, RemoteActor.uri == Follow.follower)
        .where(*accepted, RemoteActor.shared_inbox.is_(None))
    )
    shared = await session.execute(
        select(RemoteActor.host, RemoteActor.shared_inbox)
        .distinct()
        .select_from(Follow)
        .join(RemoteActor, RemoteActor.uri == Follow.follower)
        .where(*accepted, RemoteActor.shared_inbox.is_not(None))
    )
    remote: list[Target] = [(host, inbox, None) for host, inbox, _ in rows]
    remote.extend((host, inbox, inbox) for host, inbox in shared if inbox is not None)
    local = await session.scalar(
        select(Follow.id).where(*accepted, Follow.follower_agent_id.is_not(None)).limit(1)
    )
    return remote, local is not None


async def _actor_targets(session: AsyncSession, uris: Iterable[str]) -> list[Target]:
    wanted = list(uris)
    if not wanted:
        return []
    rows = await session.execute(
        select(
            RemoteActor.uri, RemoteActor.host, RemoteActor.inbox, RemoteActor.shared_inbox
        ).where(RemoteActor.uri.in_(wanted))
    )
    found = {uri: (host, inbox, shared) for uri, host, inbox, shared in rows}
    for missing in set(wanted) - set(found):
        log.warning("not delivering to %s: actor unknown (fetch it before publishing)", missing)
    return list(found.values())


def one_per_host(targets: Iterable[Target]) -> list[str]:
    """The inboxes to post to: at most one per host, its shared inbox when one is known.

    An inbox on another host than its actor is skipped (an actor stored before such
    documents were refused): one post must never turn into many signed POSTs aimed at
    a third party.
    """
    chosen: dict[str, str] = {}
    for actor_host, inbox, shared in sorted(targets, key=lambda t: (t[2] is None, t[1])):
        usable = [url for url in (shared, inbox) if url is not None and host_of(url) == actor_host]
        if not usable:
            log.warning("not delivering to %s: not on its actor's host %s", inbox, actor_host)
            continue
        chosen.setdefault(actor_host, usable[0])
    return sorted(chosen.values())


async def publish(
    session: AsyncSession,
    urls: Urls,
    agent: Agent,
    activity: Mapping[str, Any],
    *,
    also_to: Iterable[str] = (),
    plain: Mapping[str, Any] | None = None,
) -> Outgoing:
    """Store ``activity`` (sent by ``agent``) and queue a delivery to each recipient.

    ``also_to`` names extra actors that get it without being in its addressing (e.g.
    the follower an ``Accept`` answers).

    ``plain`` is the same news for servers that do not speak ValueFlows: the ``Create``,
    ``Update`` or ``Delete`` of the Note that stands for a proposal there
    (:mod:`instance.outbox.fediverse`). Then inboxes on hosts known to speak ValueFlows
    (:func:`instance.outbox.servers.valueflows_hosts`) and local agents get ``activity``, and
    every other inbox gets ``plain`` instead: each inbox gets exactly one of the two.
    Both are stored (and listed in the outbox).
    """
    row = await store_local_object(session, agent, activity, activity=True)
    followers = urls.followers(agent.username)
    remote_actors: set[str] = set()
    local = False
    targets: list[Target] = []
    for address in [*addressees(activity), *also_to]:
        if address == PUBLIC or address == agent_uri(urls, agent):
            continue
        if address == followers:
            remote, has_local = await _follower_targets(session, agent)
            targets.extend(remote)
            local = local or has_local
        elif urls.is_local(address):
            local = local or urls.username_of(address) is not None
        else:
            remote_actors.add(address)
    if remote_actors:
        # Nothing goes to an actor the agent blocks (ActivityPub 6.9).
        remote_actors -= set(
            (
                await session.scalars(
                    select(ActorBlock.blocked).where(
                        ActorBlock.agent_id == agent.id, ActorBlock.blocked.in_(remote_actors)
                    )
                )
            ).all()
        )
    targets.extend(await _actor_targets(session, remote_actors))
    # One delivery per host; followers on one server share its shared inbox.
    inboxes = one_per_host(targets)
    if plain is not None:
        valueflows = await valueflows_hosts(session, {host_of(inbox) for inbox in inboxes})
        plain_inboxes = [inbox for inbox in inboxes if host_of(inbox) not in valueflows]
        inboxes = [inbox for inbox in inboxes if host_of(inbox) in valueflows]
        plain_row = await store_local_object(session, agent, plain, activity=True)
        if plain_inboxes:
            await _queue(session, plain_row.id, agent.id, plain_inboxes)
    if inboxes:
        await _queue(session, row.id, agent.id, inboxes)
    if local:
        # Our own inbox processing still needs the blind addressees to file the activity
        # with them; what they read is the stored row, without them.
        await _deliver_locally(session, agent, row, dumps(drop_empty(activity)))
    return Outgoing(row, inboxes, local)


async def answer(
    session: AsyncSession,
    urls: Urls,
    agent: Agent,
    verb: str,
    answered: str,
    to: str,
    **extra: Any,
) -> None:
    """Publish ``Accept``/``Reject`` (``verb``) of ``answered`` from ``agent`` to ``to``."""
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": urls.new_activity(),
        "type": verb,
        "actor": urls.actor(agent.username),
        "object": answered,
        "to": [to],
        "published": now_iso(),
        **extra,
    }
    await publish(session, urls, agent, activity)


def agent_uri(urls: Urls, agent: Agent) -> str:
    return urls.actor(agent.username)


async def _queue(session: AsyncSession, object_id: int, agent_id: int, inboxes: list[str]) -> None:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    values = [
        {
            "object_id": object_id,
            "sender_agent_id": agent_id,
            "inbox": inbox,
            "host": urlsplit(inbox).netloc.lower(),
        }
        for inbox in inboxes
    ]
    # Rows as parameters, not one VALUES list: SQLAlchemy batches them itself (within
    # SQLite's bound-parameter limit) and the statement compiles once, not per fan-out:
    # 500 rows take ~15 ms instead of ~110 ms on SQLite, ~50 ms instead of ~220 on PG.
    await session.execute(
        insert(Delivery).on_conflict_do_nothing(index_elements=["object_id", "inbox"]), values
    )


async def _deliver_locally(
    session: AsyncSession, agent: Agent, row: StoredObject, document: str
) -> None:
    body = document.encode()
    session.add(
        InboxItem(
            activity_uri=row.uri,
            body=body,
            body_sha256=hashlib.sha256(body).hexdigest(),
            headers="[]",
            signer_key_id=f"{row.actor}#main-key",
            signer=row.actor,
            verified_by="local",
        )
    )
