"""Processing stored inbound activities: a registry of handlers and the worker step.

Each stored :class:`~instance.store.models.InboxItem` is processed once. Its handler is
found by ``(activity type, object type)`` (then ``(activity type, None)``); activities
no handler knows are filed into their recipients' inboxes and otherwise ignored. A
handler may first do network work (fetch an actor) and then applies its effects in
:meth:`Context.apply`, the one transaction that also marks the item done, so a crash
either loses the whole effect (and the item is processed again) or none of it.

A handler raises :class:`Later` when the activity refers to something we do not know
yet (it is retried for a bounded time) and :class:`Refused` when it must not take
effect (recorded on the item, with the reason). Whatever is refused, an activity that
cannot be read or waited too long included, is answered with a ``Reject`` to its
sender saying why (:mod:`instance.inbox.refusals`).

Items are claimed with a lease (:mod:`instance.store.queue`), so several worker processes
share them. Should two ever hold one item (a lease lapsed while its worker was stalled),
only the transaction that still finds it ``pending`` commits; the other is rolled back
(:class:`Superseded`), so an activity's effects are applied exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from federation import CRYPTOSUITE, OriginError, ProofError
from instance.activities import PUBLIC, addressees, first_type, id_of, is_public, object_of
from instance.inbox.origins import check_normalized
from instance.inbox.reading import PLAIN_READABLE, read_activity
from instance.inbox.refusals import answer_refusal, sender_known
from instance.ledger.integrity import verify_peer_object
from instance.negotiation import dumps
from instance.notices.derive import record_notifications
from instance.outbox.delivery import resume_host
from instance.peers import ActorUnavailable
from instance.problems import Problem, database_unavailable
from instance.references import reference_type
from instance.services import Services
from instance.store.grouping import WriteGroup
from instance.store.models import (
    ActorBlock,
    Agent,
    Follow,
    InboxEntry,
    InboxItem,
    Proposal,
    RemoteActor,
    StoredObject,
    utcnow,
)
from instance.store.queue import Renewing, claim
from vocab.errors import VocabError

__all__ = [
    "Context",
    "Later",
    "Refused",
    "Superseded",
    "dispatch_key",
    "handles",
    "mentioned",
    "process_due",
]

log = logging.getLogger("oce.processing")

#: Mentions read from one post.
MAX_TAGS = 100

#: How long an activity may wait for something it refers to.
WAIT_LIMIT = timedelta(hours=1)
LEASE = timedelta(seconds=30)


class Later(Exception):
    """The activity refers to something not known yet: try again later."""


class Refused(Exception):
    """The activity must not take effect; ``str()`` says why. ``answered``: the handler
    already told the sender (else the processor sends a ``Reject`` with the reason)."""

    def __init__(self, reason: str, *, answered: bool = False) -> None:
        super().__init__(reason)
        self.answered = answered


@dataclass
class Context:
    """What a handler gets: the activity (normalized), who signed it, and the services."""

    svc: Services
    item_id: int
    activity: dict[str, Any]
    signer: str
    verified_by: str
    recipient_agent_id: int | None
    #: Set by :meth:`apply`; the processor marks the item done itself when unset.
    applied: bool = field(default=False)
    #: Local agents given a notification by this activity (woken after the commit).
    notified: set[int] = field(default_factory=set)

    @property
    def actor(self) -> str:
        return self.signer

    @asynccontextmanager
    async def apply(self) -> AsyncIterator[AsyncSession]:
        """The write transaction for the handler's effects; it also marks the item done."""
        async with self.svc.db.write() as session:
            yield session
            await _finish(session, self)
        self.applied = True
        self.svc.wake()
        self.svc.notices.signal(self.notified)


Handler = Callable[[Context], Awaitable[None]]
_HANDLERS: dict[tuple[str, str | None], Handler] = {}


def handles(activity_type: str, object_type: str | None = None) -> Callable[[Handler], Handler]:
    """Register a handler for an activity type (and optionally its object's type)."""

    def register(handler: Handler) -> Handler:
        key = (activity_type, object_type)
        if key in _HANDLERS:
            raise RuntimeError(f"two handlers for {key}")
        _HANDLERS[key] = handler
        return handler

    return register


async def dispatch_key(svc: Services, activity: dict[str, Any]) -> tuple[str, str | None]:
    """``(activity type, object type)``; a bare reference (``Accept`` of our Follow, say)
    is typed by what we recorded under that id."""
    kind = first_type(activity) or ""
    target = object_of(activity)
    target_type = first_type(target)
    if isinstance(target, str):
        async with svc.db.read() as session:
            target_type = await reference_type(session, target)
    return kind, target_type


async def handler_for(svc: Services, activity: dict[str, Any]) -> Handler | None:
    """The handler for ``(type, object type)``, else for ``(type, None)``."""
    kind, target_type = await dispatch_key(svc, activity)
    return _HANDLERS.get((kind, target_type)) or _HANDLERS.get((kind, None))


class Superseded(Exception):
    """Another worker finished this item first (this one's lease had lapsed): the
    transaction that would have applied it again is rolled back."""


async def _mark(session: AsyncSession, item_id: int, state: str, error: str | None) -> bool:
    """Finish a still pending item; False when it was already finished."""
    result = await session.execute(
        update(InboxItem)
        .where(InboxItem.id == item_id, InboxItem.state == "pending")
        .values(state=state, error=error, processed_at=utcnow(), lease_until=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _finish(session: AsyncSession, ctx: Context) -> None:
    """File the activity into the inboxes of the local agents it reached; mark it done."""
    agent_ids = await _recipients(session, ctx)
    if agent_ids and ctx.verified_by != "local":
        # Agents that block the sender get nothing from it; an activity only they would
        # get is refused, its effects undone with this transaction.
        blocking = set(
            (
                await session.scalars(
                    select(ActorBlock.agent_id).where(
                        ActorBlock.blocked == ctx.actor, ActorBlock.agent_id.in_(agent_ids)
                    )
                )
            ).all()
        )
        if blocking and blocking == agent_ids:
            raise Refused(f"{ctx.actor} is blocked by the agents it addresses")
        agent_ids -= blocking
    if agent_ids:
        uri = ctx.activity["id"]
        row_id = await session.scalar(select(StoredObject.id).where(StoredObject.uri == uri))
        existing: set[int] = set()
        if row_id is None:
            row = StoredObject(
                uri=uri,
                type=first_type(ctx.activity) or "Activity",
                is_activity=True,
                actor=ctx.actor,
                object_uri=id_of(object_of(ctx.activity)),
                public=is_public(ctx.activity),
                body=dumps(ctx.activity),
            )
            session.add(row)
            await session.flush()
            row_id = row.id
        else:
            # Only an activity stored before can have been filed already.
            existing = set(
                (
                    await session.scalars(
                        select(InboxEntry.agent_id).where(InboxEntry.object_id == row_id)
                    )
                ).all()
            )
        session.add_all(
            InboxEntry(agent_id=agent_id, object_id=row_id) for agent_id in agent_ids - existing
        )
        ctx.notified = await record_notifications(
            session,
            ctx.svc.urls,
            ctx.activity,
            ctx.actor,
            agent_ids - existing,
            mentioned(object_of(ctx.activity)),
        )
    if ctx.verified_by != "local":
        # A validly signed request shows the sender's server is up again.
        await resume_host(session, urlsplit(ctx.signer).netloc.lower())
    # Last, so the row lock it takes (PostgreSQL) is held only until the commit; a
    # second worker's transaction waits for it here, then finds the item done.
    if not await _mark(session, ctx.item_id, "done", None):
        raise Superseded(ctx.activity.get("id"))


async def _recipients(session: AsyncSession, ctx: Context) -> set[int]:
    """Local agents this activity was sent to: by personal inbox, by address, as its
    object, by mention, as authors of the post it answers or acts on, or as followers
    of its actor (when it is public or addressed to them)."""
    urls = ctx.svc.urls
    found: set[int] = set()
    if ctx.recipient_agent_id is not None:
        found.add(ctx.recipient_agent_id)
    addressed = set(addressees(ctx.activity))
    # An activity about a local agent reaches it even when not addressed to it: a Follow
    # names the followee only as its object, an Accept names our Follow, a post may
    # mention an agent only in its tags.
    target = object_of(ctx.activity)
    concerned = {id_of(target), id_of(target.get("actor")) if isinstance(target, dict) else None}
    concerned.update(mentioned(target))
    usernames = [
        name
        for a in addressed | {c for c in concerned if c is not None}
        if (name := urls.username_of(a)) is not None
    ]
    if usernames:
        found.update(
            (await session.scalars(select(Agent.id).where(Agent.username.in_(usernames)))).all()
        )
    # A reply to an agent's post (or its proposal), a Like or an Announce of it, reaches
    # the agent.
    about = {id_of(target), id_of(target.get("inReplyTo")) if isinstance(target, dict) else None}
    ours = sorted(uri for uri in about if uri is not None and urls.is_local(uri))
    if ours:
        for column, author in (
            (StoredObject.uri, StoredObject.agent_id),
            (Proposal.uri, Proposal.agent_id),
        ):
            authors = await session.scalars(
                select(author).where(column.in_(ours), author.is_not(None))
            )
            found.update(agent_id for agent_id in authors if agent_id is not None)
    followers_uri = await session.scalar(
        select(RemoteActor.followers).where(RemoteActor.uri == ctx.actor)
    )
    if urls.is_local(ctx.actor) and (name := urls.username_of(ctx.actor)):
        followers_uri = urls.followers(name)
    if PUBLIC in addressed or (followers_uri is not None and followers_uri in addressed):
        followers = await session.scalars(
            select(Follow.follower_agent_id).where(
                Follow.followee == ctx.actor,
                Follow.state == "accepted",
                Follow.follower_agent_id.is_not(None),
            )
        )
        found.update(agent_id for agent_id in followers if agent_id is not None)
    return found


def mentioned(post: Any) -> set[str]:
    """The actors a post mentions in its ``tag`` (Mastodon's ``Mention`` entries)."""
    if not isinstance(post, dict):
        return set()
    tags = post.get("tag")
    found: set[str] = set()
    for tag in (tags if isinstance(tags, list) else [tags])[:MAX_TAGS]:
        if (
            isinstance(tag, dict)
            and first_type(tag) == "Mention"
            and (href := id_of(tag.get("href"))) is not None
        ):
            found.add(href)
    return found


async def _with_proofs(svc: Services, item: InboxItem) -> str:
    """How the item was verified, with its object's integrity proof when it has one.

    The proof is checked over the object exactly as received (the raw bytes we stored),
    with a key the HTTP signer owns; a proof that fails refuses the whole activity.
    """
    if item.verified_by == "local":
        return item.verified_by
    raw = json.loads(item.body)
    proofs: list[str] = []
    for key in ("object", "result"):
        value = raw.get(key) if isinstance(raw, dict) else None
        if isinstance(value, dict) and await verify_peer_object(svc.peers, value, item.signer):
            proofs.append(CRYPTOSUITE)
    return "+".join([item.verified_by, *dict.fromkeys(proofs)])


async def _process(svc: Services, item: InboxItem) -> None:
    try:
        activity, plain = await read_activity(item.body)
    except VocabError as exc:
        await _fail(svc, item, json.loads(item.body), f"cannot read it: {exc}")
        return
    if item.verified_by != "local":
        try:
            check_normalized(activity, item.signer, item.activity_uri)
        except OriginError as exc:
            log.info("refused %s from %s: %s", item.activity_uri, item.signer, exc)
            async with svc.db.write() as session:
                await _mark(session, item.id, "failed", f"origin check failed: {exc}")
            return
    if plain and (key := await dispatch_key(svc, activity)) not in PLAIN_READABLE:
        await _fail(
            svc,
            item,
            activity,
            f"cannot read its JSON-LD context, and {key[0]} of {key[1] or 'a reference'} "
            "is not read from plain JSON",
        )
        return
    try:
        verified_by = await _with_proofs(svc, item)
    except ProofError as exc:
        await _fail(svc, item, activity, f"integrity proof refused: {exc.reason}")
        return
    context = Context(svc, item.id, activity, item.signer, verified_by, item.recipient_agent_id)
    if item.verified_by != "local":
        # Answers go back to the sender: know where its inbox is before any transaction.
        try:
            await svc.peers.actor(item.signer)
        except ActorUnavailable as exc:
            log.info("the sender of %s is unreachable: %s", item.activity_uri, exc.detail)
    handler = await handler_for(svc, activity)
    try:
        if handler is None:
            log.info("ignoring %s %s from %s", first_type(activity), item.activity_uri, item.signer)
        else:
            await handler(context)
    except Later as exc:
        if utcnow() - item.received_at > WAIT_LIMIT:
            await _fail(svc, item, activity, f"gave up waiting: {exc}")
            return
        delay = timedelta(seconds=min(2 ** (item.attempts + 1), 300))
        async with svc.db.write() as session:
            await session.execute(
                update(InboxItem)
                .where(InboxItem.id == item.id, InboxItem.state == "pending")
                .values(next_attempt_at=utcnow() + delay, lease_until=None, error=str(exc))
            )
        return
    except (Refused, Problem) as exc:
        reason = exc.detail if isinstance(exc, Problem) else str(exc)
        log.info("refused %s from %s: %s", item.activity_uri, item.signer, reason)
        answered = isinstance(exc, Refused) and exc.answered
        await _fail(svc, item, activity, reason, answered=answered)
        return
    if not context.applied:
        try:
            async with svc.db.write() as session:
                await _finish(session, context)
            svc.notices.signal(context.notified)
        except Refused as exc:
            async with svc.db.write() as session:
                await _mark(session, item.id, "failed", str(exc))


async def _fail(
    svc: Services, item: InboxItem, activity: Any, reason: str, *, answered: bool = False
) -> None:
    """Mark the item failed with ``reason`` and, in the same transaction, send the
    sender a ``Reject`` saying so (unless it was answered already)."""
    if not answered and item.verified_by != "local":
        await sender_known(svc, item.signer)
    async with svc.db.write() as session:
        if await _mark(session, item.id, "failed", reason) and not answered:
            await answer_refusal(
                session,
                svc,
                activity,
                signer=item.signer,
                recipient_agent_id=item.recipient_agent_id,
                reason=reason,
            )
    svc.wake()


async def process_due(
    svc: Services,
    *,
    limit: int = 100,
    lanes: int = 1,
    pause: Callable[[], Awaitable[None]] | None = None,
    batch: int = 1,
) -> int:
    """Claim and process the inbox items that are due; returns how many were claimed.

    With ``lanes`` > 1, the items of up to that many senders are processed at once, each
    sender's in the order received. A worker that also sends deliveries shares its event
    loop with dozens of sends at a time; one lane alone would get a small share of it.

    With ``batch`` > 1, the items of up to ``batch`` senders are processed at once (each
    sender's in order) and their transactions are grouped
    (:class:`~instance.store.grouping.WriteGroup`): each item's effects are a savepoint
    of a transaction shared with the others, so one commit serves many items and an
    item that fails undoes only its own effects. An item's effects and the mark that
    it is done still commit together, so a crash loses either both or neither. On
    SQLite only: on PostgreSQL ``batch`` is ignored.

    ``pause``, when given, is awaited before the claim and before each item: the
    workers pass :meth:`InboxStore.quiet`, so a burst of incoming activities is
    answered first and processed in its lulls.
    """
    if not svc.db.is_sqlite:
        # Grouping pays where one writer holds the whole database (SQLite: a commit, an
        # fsync, per group instead of per item). On PostgreSQL, workers in several
        # processes would hold their groups' row locks at once, in no common order, and
        # deadlock one another (seen in tests/e2e/test_scaleout.py): one transaction an
        # item there.
        batch = 1
    if pause is not None:
        await pause()
    items = await claim(svc.db, InboxItem, limit=limit, lease=LEASE)
    async with Renewing(svc.db, InboxItem, {item.id for item in items}, LEASE) as leases:

        async def in_order(batch: list[InboxItem]) -> None:
            for item in batch:
                if pause is not None:
                    await pause()
                await _process_safely(svc, item)
                leases.finished(item.id)

        if lanes <= 1 and batch <= 1:
            await in_order(items)
            return len(items)
        by_sender: dict[str, list[InboxItem]] = {}
        for item in items:
            by_sender.setdefault(item.signer, []).append(item)
        free = asyncio.Semaphore(max(lanes, batch))
        async with contextlib.AsyncExitStack() as stack:
            group = await stack.enter_async_context(WriteGroup(svc.db)) if batch > 1 else None

            async def lane(items: list[InboxItem]) -> None:
                async with free:
                    if group is None:
                        await in_order(items)
                        return
                    async with group.joined():
                        await in_order(items)

            # A task group: should a lane fail, the others stop too, within the leases.
            async with asyncio.TaskGroup() as tasks:
                for sent in by_sender.values():
                    tasks.create_task(lane(sent))
    return len(items)


async def _process_safely(svc: Services, item: InboxItem) -> None:
    """Process one item; an unexpected error leaves it to be retried (a few times)."""
    try:
        await _process(svc, item)
    except Superseded:
        log.info("%s was processed by another worker meanwhile", item.activity_uri)
    except Exception as exc:
        if database_unavailable(exc):
            # Not the activity's fault: the database is down, restarting or out of disk.
            # Hand it back without counting the attempt (when that write works at all;
            # otherwise its lease runs out and it is claimed again), and stop this lane.
            log.warning("processing %s paused: the database is unavailable", item.activity_uri)
            with contextlib.suppress(Exception):
                async with svc.db.write() as session:
                    await session.execute(
                        update(InboxItem)
                        .where(InboxItem.id == item.id, InboxItem.state == "pending")
                        .values(
                            lease_until=None,
                            attempts=InboxItem.attempts - 1,
                            next_attempt_at=utcnow() + timedelta(seconds=2),
                        )
                    )
            raise

        log.exception("processing %s failed; it will be retried", item.activity_uri)
        async with svc.db.write() as session:
            if item.attempts >= 5:
                await _mark(session, item.id, "failed", "processing kept failing")
            else:
                await session.execute(
                    update(InboxItem)
                    .where(InboxItem.id == item.id, InboxItem.state == "pending")
                    .values(lease_until=None, next_attempt_at=utcnow() + timedelta(seconds=30))
                )
